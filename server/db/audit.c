/* audit.c - see audit.h. The hash covers the previous entry's hash and
 * every column of the entry (length-prefixed, NULL distinct from empty),
 * so no field can be changed, and no entry removed or reordered, without
 * breaking the chain from that entry on. Never stores password hashes. */
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <sodium.h>
#include "db/audit.h"
#include "db/keyring.h"
#include "kt_text.h"

#define HASH_LEN 32

/* The bytes an entry's hash covers are gathered in one buffer and hashed
 * with one call: BLAKE2b of the same bytes either way, and cheaper on the
 * push writer than thirty small updates per entry. */
typedef struct hbuf {
	uint8_t *p;
	size_t len;
} hbuf;

static void put_field(hbuf *h, const void *p, size_t n, bool null)
{
	uint32_t v = null ? 0xffffffffu : (uint32_t)n;
	uint8_t *o = h->p + h->len; /* big-endian, as before */
	o[0] = (uint8_t)(v >> 24);
	o[1] = (uint8_t)(v >> 16);
	o[2] = (uint8_t)(v >> 8);
	o[3] = (uint8_t)v;
	h->len += 4;
	if (!null && n) {
		memcpy(h->p + h->len, p, n);
		h->len += n;
	}
}

static void put_int(hbuf *h, int64_t v, bool null)
{
	uint8_t b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)((uint64_t)v >> (56 - 8 * i));
	put_field(h, b, 8, null);
}

/* A client's entries, oldest first, through the index audit_client_block
 * (schema.c, migration 10): one index search per block of 1,024 entries.
 * The expression must stay the index's, word for word. Use as
 * "SELECT ... FROM " CLIENT_BLOCKS " audit a ... WHERE " CLIENT_IN_BLOCK
 * " AND a.client_id = ?1 ORDER BY a.seq". */
#define CLIENT_BLOCKS                                                                              \
	"(WITH RECURSIVE blk(b) AS (SELECT 0 UNION ALL SELECT b + 1 FROM blk "                     \
	"WHERE b < (SELECT coalesce(max(seq), 0) FROM audit) >> 10) SELECT b FROM blk) blk CROSS JOIN"
#define CLIENT_IN_BLOCK "a.seq >> 10 = blk.b"

/* The columns in hash order; the same list serves append and verify. */
#define AUDIT_COLS                                                                                 \
	"seq, org_id, actor_kind, actor_id, device_id, action, entity, entity_id, client_id, "      \
	"location_id, fields, before, after, device_time, server_time"

typedef struct entry_vals {
	int64_t seq;
	const char *text[12]; /* org_id .. after; NULL = SQL NULL */
	size_t len[12];       /* before/after are sealed bytes (may hold NULs) */
	int64_t device_time, server_time;
	bool device_time_null;
} entry_vals;

/* An entry as read back with AUDIT_COLS first: the values point into the
 * statement's row and live until its next step. */
static void entry_from_row(sqlite3_stmt *s, entry_vals *v)
{
	v->seq = sqlite3_column_int64(s, 0);
	for (int i = 0; i < 12; i++) {
		bool null = sqlite3_column_type(s, 1 + i) == SQLITE_NULL;
		v->text[i] = null ? NULL : (const char *)sqlite3_column_blob(s, 1 + i);
		v->len[i] = null ? 0 : (size_t)sqlite3_column_bytes(s, 1 + i);
		if (!null && !v->text[i])
			v->text[i] = ""; /* an empty value, not NULL */
	}
	v->device_time_null = sqlite3_column_type(s, 13) == SQLITE_NULL;
	v->device_time = sqlite3_column_int64(s, 13);
	v->server_time = sqlite3_column_int64(s, 14);
}

static int entry_hash(const uint8_t prev[HASH_LEN], const entry_vals *v, uint8_t out[HASH_LEN])
{
	uint8_t stack[2048];
	size_t cap = HASH_LEN + 3 * 12;
	for (int i = 0; i < 12; i++)
		cap += 4 + (v->text[i] ? v->len[i] : 0);
	hbuf h = {cap <= sizeof stack ? stack : malloc(cap), 0};
	if (!h.p)
		return KT_ENOMEM;
	memcpy(h.p, prev, HASH_LEN);
	h.len = HASH_LEN;
	put_int(&h, v->seq, false);
	for (int i = 0; i < 12; i++)
		put_field(&h, v->text[i], v->len[i], v->text[i] == NULL);
	put_int(&h, v->device_time, v->device_time_null);
	put_int(&h, v->server_time, false);
	crypto_generichash(out, HASH_LEN, h.p, h.len, NULL, 0);
	if (h.p != stack)
		free(h.p);
	return KT_OK;
}

static int last_hash(kt_store *st, const char *org, uint8_t out[HASH_LEN], int64_t *max_seq)
{
	sqlite3_stmt *s;
	int rc = KT_OK;
	const kt_chain_head *h = store_chain_head(st);
	uint64_t tx = store_tx_id(st);
	if (tx && h->tx == tx && !strcmp(h->org, org)) { /* we wrote it ourselves in this transaction */
		memcpy(out, h->hash, HASH_LEN);
		*max_seq = h->seq;
		return KT_OK;
	}
	memset(out, 0, HASH_LEN);
	if (!(s = store_prepare(st, "SELECT (SELECT hash FROM audit WHERE org_id = ? ORDER BY seq DESC LIMIT 1), "
				    "(SELECT coalesce(max(seq), 0) FROM audit)")))
		return KT_EIO;
	sqlite3_bind_text(s, 1, org, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW) {
		if (sqlite3_column_bytes(s, 0) == HASH_LEN)
			memcpy(out, sqlite3_column_blob(s, 0), HASH_LEN);
		*max_seq = sqlite3_column_int64(s, 1);
	} else
		rc = KT_EIO;
	store_finish(st, s);
	return rc;
}

int audit_append(kt_store *st, const kt_audit_entry *e)
{
	const kt_actor *a = store_actor(st);
	uint8_t prev[HASH_LEN], hash[HASH_LEN];
	entry_vals v = {0};
	sqlite3_stmt *s;
	int rc;

	if ((rc = last_hash(st, e->org, prev, &v.seq)))
		return rc;
	v.seq++;
	const char *text[12] = {e->org, a->kind, a->id[0] ? a->id : NULL, a->device[0] ? a->device : NULL,
				e->action, e->entity, e->entity_id, e->client_id, e->location_id, e->fields,
				e->before, e->after};
	memcpy(v.text, text, sizeof text);
	for (int i = 0; i < 12; i++)
		v.len[i] = text[i] ? strlen(text[i]) : 0;
	/* what the entry says about a client is sealed with the client's key:
	 * erasing the client makes it unreadable, and the chain still verifies */
	uint8_t *sealed[2] = {NULL, NULL};
	if (e->client_id) {
		char seq[KT_I64_TEXT];
		kt_i64_text(seq, v.seq);
		for (int i = 0; i < 2; i++) {
			const char *plain = i ? e->after : e->before;
			if (plain && (rc = keyring_seal(store_keyring(st), e->client_id, "audit", i ? "after" : "before",
							seq, plain, strlen(plain), &sealed[i], &v.len[10 + i]))) {
				if (rc == KT_ENOT_FOUND && keyring_erased(store_keyring(st), e->client_id)) {
					/* erased (a restored copy erased again): nothing can be
					 * sealed for them, and nothing is written in the clear */
					v.text[10 + i] = NULL;
					v.len[10 + i] = 0;
					continue;
				}
				free(sealed[0]);
				return rc;
			}
			if (plain)
				v.text[10 + i] = (const char *)sealed[i];
		}
	}
	v.device_time = a->device_time;
	v.device_time_null = a->device_time == 0;
	v.server_time = kt_now_ms();
	if ((rc = entry_hash(prev, &v, hash)) ||
	    !(s = store_prepare(st, "INSERT INTO audit(" AUDIT_COLS ", prev_hash, hash) "
				    "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"))) {
		free(sealed[0]);
		free(sealed[1]);
		return rc ? rc : KT_EIO;
	}
	sqlite3_bind_int64(s, 1, v.seq);
	for (int i = 0; i < 12; i++)
		if (i >= 10 && sealed[i - 10])
			sqlite3_bind_blob(s, 2 + i, v.text[i], (int)v.len[i], SQLITE_STATIC);
		else
			sqlite3_bind_text(s, 2 + i, v.text[i], (int)v.len[i], SQLITE_STATIC);
	if (v.device_time_null)
		sqlite3_bind_null(s, 14);
	else
		sqlite3_bind_int64(s, 14, v.device_time);
	sqlite3_bind_int64(s, 15, v.server_time);
	sqlite3_bind_blob(s, 16, prev, HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(s, 17, hash, HASH_LEN, SQLITE_STATIC);
	rc = sqlite3_step(s) == SQLITE_DONE ? KT_OK : KT_EIO;
	store_finish(st, s);
	free(sealed[0]);
	free(sealed[1]);
	kt_chain_head *h = store_chain_head(st);
	h->tx = rc == KT_OK ? store_tx_id(st) : 0; /* the next append in this transaction needs no query */
	if (h->tx) {
		kt_strcpy_cut(h->org, sizeof h->org, e->org);
		h->seq = v.seq;
		memcpy(h->hash, hash, HASH_LEN);
	}
	return rc;
}

/* Chain heads per organisation while verifying (few organisations). */
typedef struct head {
	char org[KT_UUID_LEN + 1];
	uint8_t hash[HASH_LEN];
} head;

int audit_verify(kt_store *st, FILE *out)
{
	sqlite3_stmt *s;
	head *heads = NULL;
	int nheads = 0, rc = KT_OK;
	int64_t n = 0;

	if (sqlite3_prepare_v2(store_db(st), "SELECT " AUDIT_COLS ", prev_hash, hash FROM audit ORDER BY seq", -1,
			       &s, NULL) != SQLITE_OK)
		return KT_EIO;
	while (sqlite3_step(s) == SQLITE_ROW) {
		entry_vals v = {0};
		uint8_t want[HASH_LEN];
		head *h = NULL;
		entry_from_row(s, &v);
		const char *org = v.text[0] ? v.text[0] : "";
		for (int i = 0; i < nheads; i++)
			if (strcmp(heads[i].org, org) == 0)
				h = &heads[i];
		if (!h) {
			head *nh = realloc(heads, (size_t)(nheads + 1) * sizeof *heads);
			if (!nh) {
				rc = KT_ENOMEM;
				break;
			}
			heads = nh;
			h = &heads[nheads++];
			snprintf(h->org, sizeof h->org, "%s", org);
			memset(h->hash, 0, HASH_LEN);
		}
		if (entry_hash(h->hash, &v, want)) {
			rc = KT_ENOMEM;
			break;
		}
		if (sqlite3_column_bytes(s, 15) != HASH_LEN || sqlite3_column_bytes(s, 16) != HASH_LEN ||
		    sodium_memcmp(sqlite3_column_blob(s, 15), h->hash, HASH_LEN) != 0 ||
		    sodium_memcmp(sqlite3_column_blob(s, 16), want, HASH_LEN) != 0) {
			fprintf(out, "audit log BROKEN at entry %lld (organisation %s, %s %s %s): its hash does not "
				     "match its contents and the entry before it\n",
				(long long)v.seq, org, v.text[4] ? v.text[4] : "?", v.text[5] ? v.text[5] : "?",
				v.text[6] ? v.text[6] : "?");
			rc = KT_ECONFLICT;
			break;
		}
		memcpy(h->hash, want, HASH_LEN);
		n++;
	}
	sqlite3_finalize(s);
	free(heads);
	if (!rc)
		fprintf(out, "audit log ok: %lld entries\n", (long long)n);
	return rc;
}

int audit_value(kt_store *st, sqlite3_stmt *s, int col, int64_t seq, const char *which, char **out)
{
	const void *b;
	size_t n, plen;
	char seqs[24];
	int rc;
	*out = NULL;
	if (sqlite3_column_type(s, col) == SQLITE_NULL)
		return KT_OK;
	b = sqlite3_column_blob(s, col);
	n = (size_t)sqlite3_column_bytes(s, col);
	if (!keyring_is_sealed(b, n)) /* written before encryption at rest, or not about a client */
		return (*out = kt_strndup(b ? (const char *)b : "", n)) ? KT_OK : KT_ENOMEM;
	snprintf(seqs, sizeof seqs, "%lld", (long long)seq);
	rc = keyring_unseal(store_keyring(st), "audit", which, seqs, b, n, out, &plen);
	return rc == KT_EINVALID ? KT_ENOT_FOUND : rc;
}

/* Why the values about client_id cannot be opened here: erased (the key is
 * destroyed for good) is not the same as a key that is merely not at hand
 * (a backup read without the keyring that belongs to it). */
static const char *unreadable_why(kt_store *st, const char *client_id)
{
	sqlite3_stmt *q;
	bool erased = false;
	switch (keyring_key_state(store_keyring(st), client_id)) {
	case KT_KEY_ERASED: return "(unreadable: the client was erased, their key is destroyed)";
	case KT_KEY_PRESENT: return "(unreadable: does not decrypt with the client's key; altered?)";
	default: break;
	}
	if (sqlite3_prepare_v2(store_db(st), "SELECT 1 FROM erasure WHERE client_id = ? AND status = 'done'", -1, &q,
			       NULL) == SQLITE_OK) {
		sqlite3_bind_text(q, 1, client_id, -1, SQLITE_STATIC);
		erased = sqlite3_step(q) == SQLITE_ROW;
		sqlite3_finalize(q);
	}
	if (erased)
		return "(unreadable: the client was erased, their key is destroyed)";
	if (keyring_key_state(store_keyring(st), client_id) == KT_KEY_NO_KEYRING)
		return "(not readable here: no keyring for this database; for a backup give the keyring "
		       "copied with it, --keys FILE, and the master key, --key FILE)";
	return "(not readable here: this keyring has no key for the client; is it the keyring of this "
	       "database? --keys FILE)";
}

/* A before/after value as people read it: instants ("start_at", "at",
 * "expires_at": milliseconds since 1970 in the row) become local times in
 * zone. Anything that is not a JSON object comes back as it was. *text is
 * replaced (malloc'd) or left alone. */
static void readable_times(char **text, const char *zone)
{
	json_t *doc = *text ? json_loads(*text, 0, NULL) : NULL;
	const char *key;
	json_t *v;
	bool changed = false;
	if (!json_is_object(doc)) {
		json_decref(doc);
		return;
	}
	json_object_foreach(doc, key, v)
	{
		size_t n = strlen(key);
		if (json_is_integer(v) && (!strcmp(key, "at") || (n > 3 && !strcmp(key + n - 3, "_at")))) {
			char buf[KT_TEXT_TIME];
			kt_text_time(zone, json_integer_value(v), buf);
			json_object_set_new(doc, key, json_string(buf));
			changed = true;
		}
	}
	char *out = changed ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(doc);
	if (out) {
		free(*text);
		*text = out;
	}
}

int audit_show_client(kt_store *st, const char *client_id, const char *zone, FILE *out)
{
	sqlite3_stmt *s;
	int n = 0;
	const char *why = NULL;
	/* each entry's times are local to its location, else to zone */
	if (sqlite3_prepare_v2(store_db(st),
			       "SELECT a.server_time, coalesce(l.time_zone, ?2), "
			       "a.actor_kind, coalesce(st.display_name, a.actor_id, ''), coalesce(a.device_id, '-'), "
			       "a.action, a.entity, a.entity_id, coalesce(a.fields, ''), a.before, a.after, a.seq "
			       "FROM " CLIENT_BLOCKS " audit a LEFT JOIN staff st ON st.id = a.actor_id "
			       "LEFT JOIN location l ON l.id = a.location_id "
			       "WHERE " CLIENT_IN_BLOCK " AND a.client_id = ?1 ORDER BY a.seq",
			       -1, &s, NULL) != SQLITE_OK)
		return KT_EIO;
	sqlite3_bind_text(s, 1, client_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, zone ? zone : "", -1, SQLITE_STATIC);
	while (sqlite3_step(s) == SQLITE_ROW) {
		const char *c[9];
		char *ba[2], when[KT_TEXT_TIME];
		int rc[2];
		for (int i = 1; i < 9; i++)
			c[i] = (const char *)sqlite3_column_text(s, i);
		kt_text_time(c[1], sqlite3_column_int64(s, 0), when);
		for (int i = 0; i < 2; i++) {
			rc[i] = audit_value(st, s, 9 + i, sqlite3_column_int64(s, 11), i ? "after" : "before", &ba[i]);
			if (!rc[i])
				readable_times(&ba[i], c[1]);
		}
		if ((rc[0] || rc[1]) && !why)
			why = unreadable_why(st, client_id);
		fprintf(out, "%s  %s %s  device %s  %s %s %s  fields: %s\n    before: %s\n    after:  %s\n", when, c[2],
			c[3], c[4], c[5], c[6], c[7], c[8], rc[0] ? why : ba[0] ? ba[0] : "-",
			rc[1] ? why : ba[1] ? ba[1] : "-");
		free(ba[0]);
		free(ba[1]);
		n++;
	}
	sqlite3_finalize(s);
	if (!n)
		fprintf(out, "no audit entries for client %s\n", client_id);
	return KT_OK;
}

int audit_client_entries(kt_store *st, const char *client_id, kt_audit_row_cb cb, void *user)
{
	static const char sql[] =
		"SELECT a.seq, a.server_time, coalesce(a.device_time, 0), a.actor_kind, a.actor_id, "
		"coalesce(s.display_name, ''), coalesce(s.role, ''), a.device_id, a.action, a.entity, a.entity_id, "
		"a.client_id, a.location_id, a.fields, a.before, a.after "
		"FROM " CLIENT_BLOCKS " audit a LEFT JOIN staff s ON a.actor_kind = 'staff' AND s.id = a.actor_id "
		"WHERE " CLIENT_IN_BLOCK " AND a.client_id = ?1 ORDER BY a.seq";
	sqlite3_stmt *q = store_prepare(st, sql);
	int rc;
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, client_id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *t[13];
		char *ba[2] = {NULL, NULL};
		int64_t seq = sqlite3_column_int64(q, 0);
		for (int i = 0; i < 11; i++)
			t[i] = (const char *)sqlite3_column_text(q, 3 + i);
		for (int i = 0; i < 2; i++) /* sealed with the client's key; NULL once erased */
			if (audit_value(st, q, 14 + i, seq, i ? "after" : "before", &ba[i]) == KT_ENOMEM) {
				free(ba[0]);
				store_finish(st, q);
				return KT_ENOMEM;
			}
		t[11] = ba[0];
		t[12] = ba[1];
		kt_audit_row r = {seq, sqlite3_column_int64(q, 1), sqlite3_column_int64(q, 2),
				  t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], t[8], t[9], t[10], t[11], t[12]};
		int crc = cb(user, &r);
		free(ba[0]);
		free(ba[1]);
		if (crc) {
			store_finish(st, q);
			return crc;
		}
	}
	store_finish(st, q);
	return rc == SQLITE_DONE ? KT_OK : KT_EIO;
}

/* Does the client still exist (and was not erased)? Only then may its
 * old plain values be sealed under its key; otherwise they are dropped. */
static bool client_alive(kt_store *st, const char *client_id)
{
	sqlite3_stmt *q;
	bool alive = false;
	if (keyring_erased(store_keyring(st), client_id))
		return false;
	if (!(q = store_prepare(st, "SELECT 1 FROM client WHERE id = ?")))
		return false;
	sqlite3_bind_text(q, 1, client_id, -1, SQLITE_STATIC);
	alive = sqlite3_step(q) == SQLITE_ROW;
	store_finish(st, q);
	return alive;
}

/* Re-seal one organisation's chain from entry `first` on: plain values
 * about a client are sealed (or dropped), and every hash from there is
 * computed again, since each covers the one before. */
static int reseal_org(kt_store *st, const char *org, int64_t first, int *sealed, int *purged, uint8_t old_head[HASH_LEN])
{
	sqlite3_stmt *s = NULL, *u = NULL;
	uint8_t prev[HASH_LEN];
	bool have_prev = false;
	int rc = KT_OK, nrc;
	if (sqlite3_prepare_v2(store_db(st), "SELECT " AUDIT_COLS ", prev_hash, hash FROM audit WHERE org_id = ? AND "
			       "seq >= ? ORDER BY seq", -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(store_db(st), "UPDATE audit SET before = ?2, after = ?3, prev_hash = ?4, hash = ?5 "
			       "WHERE seq = ?1", -1, &u, NULL) != SQLITE_OK) {
		rc = KT_EIO;
		goto out;
	}
	sqlite3_bind_text(s, 1, org, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, first);
	while (!rc && (nrc = sqlite3_step(s)) == SQLITE_ROW) {
		entry_vals v = {0};
		uint8_t hash[HASH_LEN], *sealed_v[2] = {NULL, NULL};
		char seq[KT_I64_TEXT];
		entry_from_row(s, &v);
		if (!have_prev) {
			if (sqlite3_column_bytes(s, 15) != HASH_LEN) {
				rc = KT_EINVALID;
				break;
			}
			memcpy(prev, sqlite3_column_blob(s, 15), HASH_LEN);
			have_prev = true;
		}
		if (sqlite3_column_bytes(s, 16) == HASH_LEN)
			memcpy(old_head, sqlite3_column_blob(s, 16), HASH_LEN);
		const char *client = v.text[7];
		bool plain = client && ((v.text[10] && sqlite3_column_type(s, 11) == SQLITE_TEXT) ||
					(v.text[11] && sqlite3_column_type(s, 12) == SQLITE_TEXT));
		if (plain) {
			bool alive = client_alive(st, client);
			kt_i64_text(seq, v.seq);
			for (int i = 0; i < 2 && !rc; i++) {
				if (!v.text[10 + i] || keyring_is_sealed(v.text[10 + i], v.len[10 + i]))
					continue;
				if (alive && (rc = keyring_seal(store_keyring(st), client, "audit", i ? "after" : "before", seq,
								v.text[10 + i], v.len[10 + i], &sealed_v[i],
								&v.len[10 + i])))
					break;
				v.text[10 + i] = alive ? (const char *)sealed_v[i] : NULL;
				if (!alive)
					v.len[10 + i] = 0;
			}
			*(alive ? sealed : purged) += 1;
		}
		if (!rc && !(rc = entry_hash(prev, &v, hash))) {
			sqlite3_reset(u);
			sqlite3_bind_int64(u, 1, v.seq);
			for (int i = 0; i < 2; i++) {
				if (!v.text[10 + i])
					sqlite3_bind_null(u, 2 + i);
				else if (sealed_v[i])
					sqlite3_bind_blob(u, 2 + i, v.text[10 + i], (int)v.len[10 + i], SQLITE_STATIC);
				else
					sqlite3_bind_text(u, 2 + i, v.text[10 + i], (int)v.len[10 + i], SQLITE_TRANSIENT);
			}
			sqlite3_bind_blob(u, 4, prev, HASH_LEN, SQLITE_TRANSIENT);
			sqlite3_bind_blob(u, 5, hash, HASH_LEN, SQLITE_TRANSIENT);
			if (sqlite3_step(u) != SQLITE_DONE)
				rc = KT_EIO;
			memcpy(prev, hash, HASH_LEN);
		}
		free(sealed_v[0]);
		free(sealed_v[1]);
	}
out:
	sqlite3_finalize(s);
	sqlite3_finalize(u);
	return rc;
}

int audit_seal_legacy(kt_store *st)
{
	sqlite3_stmt *q = NULL;
	char *trigger = NULL;
	struct org_first {
		char org[KT_UUID_LEN + 1];
		int64_t first;
	} *orgs = NULL;
	int n = 0, rc = KT_OK;
	if (sqlite3_prepare_v2(store_db(st), "SELECT org_id, min(seq) FROM audit WHERE client_id IS NOT NULL AND "
			       "(typeof(before) = 'text' OR typeof(after) = 'text') GROUP BY org_id", -1, &q,
			       NULL) != SQLITE_OK)
		return KT_EIO;
	while (sqlite3_step(q) == SQLITE_ROW) {
		void *more = realloc(orgs, (size_t)(n + 1) * sizeof *orgs);
		if (!more) {
			rc = KT_ENOMEM;
			break;
		}
		orgs = more;
		snprintf(orgs[n].org, sizeof orgs[n].org, "%s", (const char *)sqlite3_column_text(q, 0));
		orgs[n++].first = sqlite3_column_int64(q, 1);
	}
	sqlite3_finalize(q);
	if (rc || !n)
		goto out;
	/* entries are append-only through a trigger; the upgrade itself is the
	 * one writer allowed to rewrite them, in this transaction only */
	if (sqlite3_prepare_v2(store_db(st), "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND "
			       "name = 'audit_no_update'", -1, &q, NULL) != SQLITE_OK) {
		rc = KT_EIO;
		goto out;
	}
	if (sqlite3_step(q) == SQLITE_ROW)
		trigger = strdup((const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	if (trigger && sqlite3_exec(store_db(st), "DROP TRIGGER audit_no_update", NULL, NULL, NULL) != SQLITE_OK) {
		rc = KT_EIO;
		goto out;
	}
	for (int i = 0; i < n && !rc; i++) {
		int sealed = 0, purged = 0;
		uint8_t old_head[HASH_LEN] = {0};
		char hex[2 * HASH_LEN + 1], after[320];
		if ((rc = reseal_org(st, orgs[i].org, orgs[i].first, &sealed, &purged, old_head)))
			break;
		sodium_bin2hex(hex, sizeof hex, old_head, HASH_LEN);
		/* the rewrite itself is on the record, with the head it replaced */
		snprintf(after, sizeof after,
			 "{\"entries_sealed\":%d,\"entries_purged\":%d,\"from_seq\":%lld,\"previous_head\":\"%s\"}",
			 sealed, purged, (long long)orgs[i].first, hex);
		kt_audit_entry e = {orgs[i].org, "sealed_at_upgrade", "audit", orgs[i].org, NULL, NULL, NULL, NULL, after};
		if (!(rc = audit_append(st, &e)))
			kt_info("audit: %d entries written before encryption at rest sealed, %d of erased clients "
				"emptied (organisation %s; chain re-hashed from entry %lld)",
				sealed, purged, orgs[i].org, (long long)orgs[i].first);
	}
	if (!rc && trigger && sqlite3_exec(store_db(st), trigger, NULL, NULL, NULL) != SQLITE_OK)
		rc = KT_EIO;
out:
	free(trigger);
	free(orgs);
	return rc;
}
