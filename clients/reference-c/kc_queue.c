/* kc_queue.c - offline edits: applied to the cache at once (optimistic),
 * queued in the same local transaction, pushed in order in batches when
 * connected, and resolved by the server's answers: applied ones leave the
 * queue, rejected ones are rolled back and kept in a visible list. JSON is
 * read and written by SQLite's JSON functions only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kc_internal.h"

#define PUSH_BATCH 500

int64_t kc_scalar(kc_client *c, const char *sql)
{
	sqlite3_stmt *s;
	int64_t v = 0;
	if (sqlite3_prepare_v2(c->db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

int kc_queue_open(kc_client *c)
{
	c->queue_len = kc_scalar(c, "SELECT count(*) FROM queue");
	return KT_OK;
}

int64_t kc_queue_count(kc_client *c)
{
	return c->queue_len = kc_scalar(c, "SELECT count(*) FROM queue");
}

static bool valid_key(const char *k)
{
	if (!*k)
		return false;
	for (; *k; k++)
		if (!((*k >= 'a' && *k <= 'z') || *k == '_' || (*k >= '0' && *k <= '9')))
			return false;
	return true;
}

/* data = data with every field of fields_json set (null sets null). */
static int patch_row(kc_client *c, const char *tbl, const char *id, const char *fields_json)
{
	sqlite3_stmt *keys, *up;
	int rc = KT_OK;
	if (sqlite3_prepare_v2(c->db, "SELECT key FROM json_each(?)", -1, &keys, NULL) != SQLITE_OK)
		return KT_EIO;
	if (sqlite3_prepare_v2(c->db,
			       "UPDATE rows SET data = json_set(data, '$.' || ?1, json(?2 -> ('$.' || ?1))) "
			       "WHERE tbl = ?3 AND id = ?4",
			       -1, &up, NULL) != SQLITE_OK) {
		sqlite3_finalize(keys);
		return KT_EIO;
	}
	sqlite3_bind_text(keys, 1, fields_json, -1, SQLITE_STATIC);
	while (!rc && sqlite3_step(keys) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(keys, 0);
		if (!k || !valid_key(k)) {
			rc = KT_EINVALID;
			break;
		}
		sqlite3_reset(up);
		sqlite3_bind_text(up, 1, k, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(up, 2, fields_json, -1, SQLITE_STATIC);
		sqlite3_bind_text(up, 3, tbl, -1, SQLITE_STATIC);
		sqlite3_bind_text(up, 4, id, -1, SQLITE_STATIC);
		if (sqlite3_step(up) != SQLITE_DONE)
			rc = KT_EIO;
	}
	sqlite3_finalize(keys);
	sqlite3_finalize(up);
	return rc;
}

int kc_mutate(kc_client *c, const char *tbl, const char *id, const char *fields_json, char id_out[37])
{
	return kc_mutate_overlap(c, tbl, id, fields_json, NULL, id_out);
}

int kc_mutate_overlap(kc_client *c, const char *tbl, const char *id, const char *fields_json,
		      const char *overlap_reason, char id_out[37])
{
	sqlite3_stmt *s = NULL;
	char newid[KT_UUID_LEN + 1], last[32];
	int64_t base = 0, mid;
	int rc;

	if (overlap_reason && !*overlap_reason) {
		kc_set_err(c, "a double booking on purpose needs a reason");
		return KT_EINVALID;
	}
	if (kc_tx(c, "BEGIN IMMEDIATE"))
		return KT_EIO;
	if (sqlite3_prepare_v2(c->db, "SELECT json_valid(?1) AND json_type(?1) = 'object'", -1, &s, NULL) ||
	    (sqlite3_bind_text(s, 1, fields_json, -1, SQLITE_STATIC), sqlite3_step(s) != SQLITE_ROW) ||
	    !sqlite3_column_int(s, 0)) {
		kc_set_err(c, "fields must be a JSON object");
		rc = KT_EINVALID;
		goto fail;
	}
	sqlite3_finalize(s);
	s = NULL;
	mid = (kc_meta_get(c, "last_mid", last, sizeof last) == KT_OK ? atoll(last) : 0) + 1;
	snprintf(last, sizeof last, "%lld", (long long)mid);
	if (!id) {
		kt_uuid7(newid);
		id = newid;
		if (sqlite3_prepare_v2(c->db, "INSERT INTO rows(tbl, id, v, gen, data) VALUES(?, ?, 0, ?, json(?))", -1, &s,
				       NULL) != SQLITE_OK) {
			rc = KT_EIO;
			goto fail;
		}
		sqlite3_bind_text(s, 1, tbl, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 3, c->gen);
		sqlite3_bind_text(s, 4, fields_json, -1, SQLITE_STATIC);
		rc = sqlite3_step(s) == SQLITE_DONE ? KT_OK : KT_EIO;
		sqlite3_finalize(s);
		s = NULL;
	} else {
		/* the base is the version the device saw, not counting its own queued edits */
		if (sqlite3_prepare_v2(c->db, "SELECT v FROM rows WHERE tbl = ? AND id = ?", -1, &s, NULL) != SQLITE_OK) {
			rc = KT_EIO;
			goto fail;
		}
		sqlite3_bind_text(s, 1, tbl, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, id, -1, SQLITE_STATIC);
		if (sqlite3_step(s) != SQLITE_ROW) {
			kc_set_err(c, "no %s %s in the cache", tbl, id);
			rc = KT_ENOT_FOUND;
			goto fail;
		}
		/* v 0: a row this device created and has not had back from the
		 * server yet; what it saw is the create, which the server saves as
		 * version 1 (base 0 would claim it saw none and conflict) */
		base = sqlite3_column_int64(s, 0);
		if (base == 0)
			base = KC_CREATED_VERSION;
		sqlite3_finalize(s);
		s = NULL;
		rc = KT_OK;
	}
	if (!rc && sqlite3_prepare_v2(c->db,
				      "INSERT INTO queue(mid, tbl, id, op, base, fields, before, at, overlap_reason) "
				      "VALUES(?, ?, ?, ?, ?, json(?), "
				      "(SELECT data FROM rows WHERE tbl = ?2 AND id = ?3 AND ?4 = 'update'), ?, ?)",
				      -1, &s, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(s, 1, mid);
		sqlite3_bind_text(s, 2, tbl, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 4, id == newid ? "create" : "update", -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 5, base);
		sqlite3_bind_text(s, 6, fields_json, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 7, kt_now_ms());
		sqlite3_bind_text(s, 8, overlap_reason, -1, SQLITE_STATIC);
		rc = sqlite3_step(s) == SQLITE_DONE ? KT_OK : KT_EIO;
		sqlite3_finalize(s);
		s = NULL;
	}
	if (!rc && id != newid)
		rc = patch_row(c, tbl, id, fields_json);
	if (!rc)
		rc = kc_meta_set(c, "last_mid", last, strlen(last));
	if (rc)
		goto fail;
	if ((rc = kc_tx(c, "COMMIT")))
		return rc;
	c->queue_len++;
	if (id_out)
		snprintf(id_out, KT_UUID_LEN + 1, "%s", id);
	return KT_OK;
fail:
	sqlite3_finalize(s);
	kc_rollback(c);
	return rc;
}

int kc_queue_rebase(kc_client *c, const char *tbl, size_t tlen, const char *id, size_t ilen)
{
	sqlite3_stmt *s;
	char t[64], i[64];
	int rc = KT_OK;
	snprintf(t, sizeof t, "%.*s", (int)tlen, tbl);
	snprintf(i, sizeof i, "%.*s", (int)ilen, id);
	if (sqlite3_prepare_v2(c->db, "SELECT fields FROM queue WHERE tbl = ? AND id = ? AND op = 'update' ORDER BY mid",
			       -1, &s, NULL) != SQLITE_OK)
		return KT_EIO;
	sqlite3_bind_text(s, 1, t, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, i, -1, SQLITE_STATIC);
	while (!rc && sqlite3_step(s) == SQLITE_ROW)
		rc = patch_row(c, t, i, (const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	return rc;
}

/* One JSON value of the queued fields as MessagePack (SQLite reads the JSON). */
static void pack_json_fields(kc_client *c, kt_mpw *w, const char *fields_json)
{
	sqlite3_stmt *s, *arr;
	uint32_t n = 0;
	if (sqlite3_prepare_v2(c->db, "SELECT count(*) FROM json_each(?)", -1, &s, NULL) == SQLITE_OK) {
		sqlite3_bind_text(s, 1, fields_json, -1, SQLITE_STATIC);
		if (sqlite3_step(s) == SQLITE_ROW)
			n = (uint32_t)sqlite3_column_int(s, 0);
		sqlite3_finalize(s);
	}
	kt_mpw_map(w, n);
	if (sqlite3_prepare_v2(c->db, "SELECT key, type, value FROM json_each(?)", -1, &s, NULL) != SQLITE_OK)
		return;
	sqlite3_prepare_v2(c->db, "SELECT value FROM json_each(?)", -1, &arr, NULL);
	sqlite3_bind_text(s, 1, fields_json, -1, SQLITE_STATIC);
	while (sqlite3_step(s) == SQLITE_ROW) {
		const char *type = (const char *)sqlite3_column_text(s, 1);
		kt_mpw_str(w, (const char *)sqlite3_column_text(s, 0));
		if (!strcmp(type, "null"))
			kt_mpw_nil(w);
		else if (!strcmp(type, "true") || !strcmp(type, "false"))
			kt_mpw_bool(w, type[0] == 't');
		else if (!strcmp(type, "integer"))
			kt_mpw_int(w, sqlite3_column_int64(s, 2));
		else if (!strcmp(type, "real"))
			kt_mpw_double(w, sqlite3_column_double(s, 2));
		else if (!strcmp(type, "array")) {
			uint32_t k = 0;
			sqlite3_reset(arr);
			sqlite3_bind_text(arr, 1, (const char *)sqlite3_column_text(s, 2), -1, SQLITE_TRANSIENT);
			while (sqlite3_step(arr) == SQLITE_ROW)
				k++;
			kt_mpw_array(w, k);
			sqlite3_reset(arr);
			while (sqlite3_step(arr) == SQLITE_ROW)
				kt_mpw_str(w, (const char *)sqlite3_column_text(arr, 0));
		} else
			kt_mpw_str(w, (const char *)sqlite3_column_text(s, 2));
	}
	sqlite3_finalize(arr);
	sqlite3_finalize(s);
}

int kc_record_view(kc_client *c, const char *tbl, const char *id)
{
	sqlite3_stmt *s;
	int rc;
	if (sqlite3_prepare_v2(c->db, "INSERT INTO events(kind, tbl, id, at) VALUES('viewed', ?, ?, ?)", -1, &s, NULL))
		return KT_EIO;
	sqlite3_bind_text(s, 1, tbl, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, kt_now_ms());
	rc = sqlite3_step(s) == SQLITE_DONE ? KT_OK : KT_EIO;
	sqlite3_finalize(s);
	return rc;
}

/* Append the waiting view events (at most a batch) to a push. */
static uint32_t pack_events(kc_client *c, kt_mpw *w)
{
	sqlite3_stmt *s;
	uint32_t n = (uint32_t)kc_scalar(c, "SELECT min(count(*), 500) FROM events");
	proto_push_events_begin(w, n);
	c->events_sent = 0;
	if (!n || sqlite3_prepare_v2(c->db, "SELECT n, kind, tbl, id, at FROM events ORDER BY n LIMIT 500", -1, &s, NULL))
		return n;
	while (sqlite3_step(s) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(s, 1), *t = (const char *)sqlite3_column_text(s, 2);
		const char *i = (const char *)sqlite3_column_text(s, 3);
		kt_event e = {{k, strlen(k)}, {t, strlen(t)}, {i, strlen(i)}, sqlite3_column_int64(s, 4)};
		proto_event_encode(w, &e);
		c->events_sent = sqlite3_column_int64(s, 0);
	}
	sqlite3_finalize(s);
	return n;
}

int kc_queue_push(kc_client *c, bool *sent)
{
	sqlite3_stmt *s;
	kt_mpw w, body;
	uint32_t n = 0;
	int rc;

	*sent = false;
	if (c->pushing || (kc_queue_count(c) == 0 && kc_scalar(c, "SELECT count(*) FROM events") == 0))
		return KT_OK;
	kt_mpw_init(&body);
	if (sqlite3_prepare_v2(c->db, "SELECT mid, tbl, id, op, CASE WHEN op = 'update' AND base = 0 THEN "
			       KC_CREATED_VERSION_SQL " ELSE base END, fields, at, overlap_reason FROM queue ORDER BY mid LIMIT ?", -1,
			       &s, NULL) != SQLITE_OK) {
		kt_mpw_free(&body);
		return KT_EIO;
	}
	/* (base 0 on an update: queued by an older version of this library for a
	 * row created here; what it saw is the create) */
	sqlite3_bind_int(s, 1, PUSH_BATCH);
	while (sqlite3_step(s) == SQLITE_ROW) {
		kt_mpw fw;
		const char *tbl = (const char *)sqlite3_column_text(s, 1), *id = (const char *)sqlite3_column_text(s, 2);
		const char *op = (const char *)sqlite3_column_text(s, 3);
		kt_mpw_init(&fw);
		pack_json_fields(c, &fw, (const char *)sqlite3_column_text(s, 5));
		kt_mut m = {sqlite3_column_int64(s, 0), {tbl, strlen(tbl)}, {id, strlen(id)}, {op, strlen(op)},
			    sqlite3_column_int64(s, 4), (const uint8_t *)fw.sb.data, fw.sb.size, sqlite3_column_int64(s, 6)};
		const char *why = (const char *)sqlite3_column_text(s, 7);
		if (why) {
			m.ovr_rule = (kt_str){"overlap", 7};
			m.ovr_reason = (kt_str){why, strlen(why)};
		}
		proto_mut_encode(&body, &m);
		kt_mpw_free(&fw);
		n++;
	}
	sqlite3_finalize(s);
	kt_mpw_init(&w);
	proto_push_begin(&w, n, true);
	kt_mpw_raw(&w, body.sb.data, body.sb.size);
	pack_events(c, &w);
	rc = kc_send(c, &w);
	kt_mpw_free(&w);
	kt_mpw_free(&body);
	if (!rc) {
		c->pushing = true;
		*sent = true;
	}
	return rc;
}

/* ---- answers ---- */

typedef struct result {
	int64_t mid, v;
	kt_str status, code, msg;
	const uint8_t *current, *conflicts, *first;
	size_t current_len, conflicts_len, first_len;
} result;

static int result_decode(const uint8_t *map, size_t len, result *r)
{
	kt_mp m;
	uint32_t n;
	memset(r, 0, sizeof *r);
	kt_mp_init(&m, map, len);
	if (kt_mp_read_map(&m, &n))
		return KT_EMALFORMED;
	for (uint32_t i = 0; i < n; i++) {
		const char *k;
		size_t kl;
		int rc = KT_OK;
		if (kt_mp_read_str(&m, &k, &kl, 32))
			return KT_EMALFORMED;
		if (kt_mp_str_eq(k, kl, "mid"))
			rc = kt_mp_read_int(&m, &r->mid);
		else if (kt_mp_str_eq(k, kl, "v"))
			rc = kt_mp_read_int(&m, &r->v);
		else if (kt_mp_str_eq(k, kl, "status"))
			rc = kt_mp_read_str(&m, &r->status.s, &r->status.len, 32);
		else if (kt_mp_str_eq(k, kl, "code"))
			rc = kt_mp_read_str(&m, &r->code.s, &r->code.len, 64);
		else if (kt_mp_str_eq(k, kl, "msg"))
			rc = kt_mp_read_str(&m, &r->msg.s, &r->msg.len, KT_MAX_STR);
		else if (kt_mp_str_eq(k, kl, "current") || kt_mp_str_eq(k, kl, "conflicts") ||
			 kt_mp_str_eq(k, kl, "first")) {
			size_t start = m.pos;
			if (kt_mp_peek(&m) != KT_MP_MAP || kt_mp_skip(&m, KT_MAX_DEPTH))
				return KT_EMALFORMED;
			const uint8_t **p = k[0] == 'c' && k[1] == 'u' ? &r->current : k[0] == 'c' ? &r->conflicts : &r->first;
			size_t *pl = p == &r->current ? &r->current_len : p == &r->conflicts ? &r->conflicts_len : &r->first_len;
			*p = m.buf + start;
			*pl = m.pos - start;
		} else
			rc = kt_mp_skip(&m, KT_MAX_DEPTH);
		if (rc)
			return KT_EMALFORMED;
	}
	return r->mid > 0 && r->status.len ? KT_OK : KT_EMALFORMED;
}

static int resolve(kc_client *c, const result *r)
{
	sqlite3_stmt *q;
	char tbl[64] = "", id[64] = "", op[16] = "", *fields = NULL, *before = NULL;
	int rc = KT_OK;

	if (sqlite3_prepare_v2(c->db, "SELECT tbl, id, op, fields, before FROM queue WHERE mid = ?", -1, &q, NULL))
		return KT_EIO;
	sqlite3_bind_int64(q, 1, r->mid);
	if (sqlite3_step(q) != SQLITE_ROW) {
		sqlite3_finalize(q);
		return KT_OK; /* answered before (a retried push): nothing left to do */
	}
	snprintf(tbl, sizeof tbl, "%s", (const char *)sqlite3_column_text(q, 0));
	snprintf(id, sizeof id, "%s", (const char *)sqlite3_column_text(q, 1));
	snprintf(op, sizeof op, "%s", (const char *)sqlite3_column_text(q, 2));
	fields = strdup((const char *)sqlite3_column_text(q, 3));
	before = sqlite3_column_text(q, 4) ? strdup((const char *)sqlite3_column_text(q, 4)) : NULL;
	sqlite3_finalize(q);

	if (kt_mp_str_eq(r->status.s, r->status.len, "duplicate") && r->first) {
		result first;
		if (result_decode(r->first, r->first_len, &first) == KT_OK && !kt_mp_str_eq(first.status.s, first.status.len, "duplicate")) {
			first.mid = r->mid;
			free(fields);
			free(before);
			return resolve(c, &first);
		}
	}
	if (kt_mp_str_eq(r->status.s, r->status.len, "applied")) {
		if (r->conflicts) { /* someone else's values win for these fields */
			char *cur = kc_map_json(c, r->conflicts, r->conflicts_len);
			if (cur)
				rc = patch_row(c, tbl, id, cur);
			free(cur);
		}
	} else {
		/* rejected: undo it in the cache and keep it visible */
		char *cur = r->current ? kc_map_json(c, r->current, r->current_len) : NULL;
		sqlite3_stmt *u;
		if (!strcmp(op, "create"))
			rc = sqlite3_prepare_v2(c->db, "DELETE FROM rows WHERE tbl = ? AND id = ?", -1, &u, NULL);
		else
			rc = sqlite3_prepare_v2(c->db, "UPDATE rows SET data = ?3 WHERE tbl = ?1 AND id = ?2", -1, &u, NULL);
		if (rc == SQLITE_OK) {
			sqlite3_bind_text(u, 1, tbl, -1, SQLITE_STATIC);
			sqlite3_bind_text(u, 2, id, -1, SQLITE_STATIC);
			if (strcmp(op, "create"))
				sqlite3_bind_text(u, 3, before ? before : "{}", -1, SQLITE_STATIC);
			rc = sqlite3_step(u) == SQLITE_DONE ? KT_OK : KT_EIO;
			sqlite3_finalize(u);
		} else
			rc = KT_EIO;
		if (!rc && cur && strcmp(op, "create"))
			rc = patch_row(c, tbl, id, cur);
		if (!rc && sqlite3_prepare_v2(c->db,
					      "INSERT OR REPLACE INTO rejections(mid, tbl, id, op, fields, code, msg, current, at) "
					      "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)",
					      -1, &u, NULL) == SQLITE_OK) {
			sqlite3_bind_int64(u, 1, r->mid);
			sqlite3_bind_text(u, 2, tbl, -1, SQLITE_STATIC);
			sqlite3_bind_text(u, 3, id, -1, SQLITE_STATIC);
			sqlite3_bind_text(u, 4, op, -1, SQLITE_STATIC);
			sqlite3_bind_text(u, 5, fields, -1, SQLITE_STATIC);
			sqlite3_bind_text(u, 6, r->code.s ? r->code.s : "rejected", r->code.s ? (int)r->code.len : -1,
					  SQLITE_STATIC);
			sqlite3_bind_text(u, 7, r->msg.s ? r->msg.s : "", r->msg.s ? (int)r->msg.len : -1, SQLITE_STATIC);
			sqlite3_bind_text(u, 8, cur, -1, SQLITE_STATIC);
			sqlite3_bind_int64(u, 9, kt_now_ms());
			rc = sqlite3_step(u) == SQLITE_DONE ? KT_OK : KT_EIO;
			sqlite3_finalize(u);
		}
		free(cur);
	}
	if (!rc && sqlite3_prepare_v2(c->db, "DELETE FROM queue WHERE mid = ?", -1, &q, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(q, 1, r->mid);
		rc = sqlite3_step(q) == SQLITE_DONE ? KT_OK : KT_EIO;
		sqlite3_finalize(q);
	}
	/* later edits of the same row stay on top of whatever this left (an
	 * applied edit without conflicts left the row as the cache shows it:
	 * rebasing then would cost a pass over the queue per answer) */
	bool changed = !kt_mp_str_eq(r->status.s, r->status.len, "applied") || r->conflicts;
	if (!rc && changed && strcmp(op, "create"))
		rc = kc_queue_rebase(c, tbl, strlen(tbl), id, strlen(id));
	free(fields);
	free(before);
	return rc;
}

static int one_result(void *user, const uint8_t *map, size_t len)
{
	kc_client *c = user;
	result r;
	int rc = result_decode(map, len, &r);
	return rc ? rc : resolve(c, &r);
}

int kc_queue_results(kc_client *c, const unsigned char *buf, size_t len)
{
	int rc;
	c->pushing = false;
	if ((rc = kc_tx(c, "BEGIN IMMEDIATE")))
		return rc;
	rc = proto_push_result_decode(buf, len, one_result, c);
	if (!rc && c->events_sent) { /* the server committed them with the push */
		sqlite3_stmt *d;
		if (sqlite3_prepare_v2(c->db, "DELETE FROM events WHERE n <= ?", -1, &d, NULL) == SQLITE_OK) {
			sqlite3_bind_int64(d, 1, c->events_sent);
			rc = sqlite3_step(d) == SQLITE_DONE ? KT_OK : KT_EIO;
			sqlite3_finalize(d);
		}
		c->events_sent = 0;
	}
	if (rc) {
		kc_rollback(c);
		return rc;
	}
	rc = kc_tx(c, "COMMIT");
	kc_queue_count(c);
	return rc;
}

int kc_rejections(kc_client *c, kc_rejection_cb cb, void *user)
{
	sqlite3_stmt *s;
	int rc = KT_OK;
	if (sqlite3_prepare_v2(c->db, "SELECT mid, tbl, id, code, msg, fields, current FROM rejections ORDER BY mid", -1,
			       &s, NULL) != SQLITE_OK)
		return KT_EIO;
	while (!rc && sqlite3_step(s) == SQLITE_ROW)
		rc = cb(user, sqlite3_column_int64(s, 0), (const char *)sqlite3_column_text(s, 1),
			(const char *)sqlite3_column_text(s, 2), (const char *)sqlite3_column_text(s, 3),
			(const char *)sqlite3_column_text(s, 4), (const char *)sqlite3_column_text(s, 5),
			(const char *)sqlite3_column_text(s, 6));
	sqlite3_finalize(s);
	return rc;
}
