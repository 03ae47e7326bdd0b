/* outbox.c - see outbox.h. Every statement about the outbox table is here. */
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "db/keyring.h"
#include "domain/outbox.h"

/* Data minimisation: once a message is sent, given up or dropped, its
 * address and body (personal data; a setup mail's body holds a live token)
 * are wiped. The row stays, with client, purpose, state and times, as the
 * record that it went out. */

static void wipe_free(char *s)
{
	if (s) {
		sodium_memzero(s, strlen(s));
		free(s);
	}
}

void kt_mail_free(kt_mail *m)
{
	if (!m)
		return;
	wipe_free(m->to_addr);
	wipe_free(m->subject);
	wipe_free(m->body);
	wipe_free(m->extra_headers);
	m->to_addr = m->subject = m->body = m->extra_headers = NULL;
}

static int step_done(kt_store *st, sqlite3_stmt *q)
{
	int rc = sqlite3_step(q) == SQLITE_DONE ? KT_OK : KT_EIO;
	store_finish(st, q);
	return rc;
}

/* A client's address and mail text are sealed with the client's key like
 * the card (keyring.h; associated data: table and column): erasing the
 * client makes a copy of the outbox in a backup unreadable too. */
static int bind_personal(kt_store *st, sqlite3_stmt *q, int i, const char *client, const char *col, const char *v)
{
	uint8_t *b;
	size_t n;
	int rc;
	if (!client) {
		sqlite3_bind_text(q, i, v, -1, SQLITE_TRANSIENT);
		return KT_OK;
	}
	if ((rc = keyring_seal(store_keyring(st), client, "outbox", col, "", v, strlen(v), &b, &n)))
		return rc;
	sqlite3_bind_blob(q, i, b, (int)n, free);
	return KT_OK;
}

static char *open_personal(kt_store *st, sqlite3_stmt *q, int i, const char *col)
{
	const void *b = sqlite3_column_blob(q, i);
	size_t n = (size_t)sqlite3_column_bytes(q, i), plen;
	char *out = NULL;
	if (!keyring_is_sealed(b, n))
		return strdup(b ? (const char *)sqlite3_column_text(q, i) : "");
	if (keyring_unseal(store_keyring(st), "outbox", col, "", b, n, &out, &plen) == KT_ENOT_FOUND)
		return strdup(""); /* the client was erased: nothing to send */
	return out;
}


static const char *or_null(const char *s)
{
	return s && *s ? s : NULL;
}

static void bind_opt(sqlite3_stmt *q, int i, const char *v)
{
	if (or_null(v))
		sqlite3_bind_text(q, i, v, -1, SQLITE_STATIC);
}

int outbox_enqueue(kt_store *st, const char *org, const char *client, const char *purpose, const char *to_addr,
		   const char *subject, const char *body, int64_t *id_out)
{
	sqlite3_stmt *q = store_prepare(st, "INSERT INTO outbox(org_id, client_id, purpose, channel, to_addr, subject, "
					    "body, state, attempts, next_at, created_at) VALUES(?1, ?2, ?3, 'email', ?4, ?5, "
					    "?6, 'queued', 0, ?7, ?7)");
	int rc;
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, org, -1, SQLITE_STATIC);
	bind_opt(q, 2, client);
	sqlite3_bind_text(q, 3, purpose, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 7, kt_now_ms());
	client = or_null(client);
	if ((rc = bind_personal(st, q, 4, client, "to_addr", to_addr)) ||
	    (rc = bind_personal(st, q, 5, client, "subject", subject)) ||
	    (rc = bind_personal(st, q, 6, client, "body", body))) {
		store_finish(st, q);
		return rc;
	}
	rc = sqlite3_step(q) == SQLITE_DONE ? KT_OK : KT_EIO;
	if (!rc && id_out)
		*id_out = sqlite3_last_insert_rowid(store_db(st));
	store_finish(st, q);
	return rc;
}

static void col_copy(sqlite3_stmt *q, int i, char *out, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(q, i);
	snprintf(out, cap, "%s", t ? (const char *)t : "");
}

static int64_t min_due(kt_store *st)
{
	sqlite3_stmt *q = store_prepare(st, "SELECT min(next_at) FROM outbox WHERE state = 'queued'");
	int64_t v = 0;
	if (q && sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int64(q, 0);
	if (q)
		store_finish(st, q);
	return v;
}

#define CLAIM_COLS                                                                                                \
	"id, org_id, coalesce(client_id, ''), coalesce(location_id, ''), purpose, channel, "                     \
	"coalesce(consent_purpose, ''), coalesce(idem_key, ''), attempts, created_at, next_at"

static void meta_from(sqlite3_stmt *q, kt_mail *m)
{
	memset(m, 0, sizeof *m);
	m->id = sqlite3_column_int64(q, 0);
	col_copy(q, 1, m->org, sizeof m->org);
	col_copy(q, 2, m->client, sizeof m->client);
	col_copy(q, 3, m->location, sizeof m->location);
	col_copy(q, 4, m->purpose, sizeof m->purpose);
	col_copy(q, 5, m->channel, sizeof m->channel);
	col_copy(q, 6, m->consent_purpose, sizeof m->consent_purpose);
	col_copy(q, 7, m->idem_key, sizeof m->idem_key);
	m->attempts = sqlite3_column_int(q, 8);
	m->created_at = sqlite3_column_int64(q, 9);
	m->next_at = sqlite3_column_int64(q, 10);
}

/* The sealed fields of row id, opened. */
static int open_row(kt_store *st, kt_mail *m)
{
	sqlite3_stmt *q = store_prepare(st, "SELECT to_addr, subject, body, coalesce(extra_headers, '') FROM outbox "
					    "WHERE id = ?1");
	int rc = KT_EIO;
	if (!q)
		return KT_EIO;
	sqlite3_bind_int64(q, 1, m->id);
	if (sqlite3_step(q) == SQLITE_ROW) {
		m->to_addr = open_personal(st, q, 0, "to_addr");
		m->subject = open_personal(st, q, 1, "subject");
		m->body = open_personal(st, q, 2, "body");
		m->extra_headers = open_personal(st, q, 3, "extra_headers");
		rc = m->to_addr && m->subject && m->body && m->extra_headers ? KT_OK : KT_ENOMEM;
	}
	store_finish(st, q);
	return rc;
}

static int set_state(kt_store *st, const char *sql, int64_t id, const char *s1, int64_t v)
{
	sqlite3_stmt *q = store_prepare(st, sql);
	if (!q)
		return KT_EIO;
	sqlite3_bind_int64(q, 1, id);
	if (s1)
		sqlite3_bind_text(q, 2, s1, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, v);
	return step_done(st, q);
}

#define SQL_DROP                                                                                                  \
	"UPDATE outbox SET state = 'dropped', drop_reason = ?2, to_addr = '', body = '', extra_headers = NULL, "    \
	"claimed_by = NULL WHERE id = ?1 AND ?3 = ?3"
#define SQL_DEFER "UPDATE outbox SET next_at = ?3, last_error = ?2 WHERE id = ?1 AND state = 'queued'"

int outbox_claim_batch(kt_store *st, const char *worker, int64_t now, int max, kt_outbox_gate gate, void *user,
		       kt_mail *out, int *n, int64_t *next_due)
{
	sqlite3_stmt *q = NULL;
	kt_mail *cand = NULL;
	int nc = 0, rc;

	*n = 0;
	*next_due = 0;
	if (max < 1)
		return KT_EINVALID;
	/* look without the write lock first: the worker polls every second and
	 * must not contend with the push writer when nothing is due */
	*next_due = min_due(st);
	if (!*next_due || *next_due > now)
		return KT_ENOT_FOUND;
	*next_due = 0;
	if (!(cand = calloc((size_t)max, sizeof *cand)))
		return KT_ENOMEM;
	/* BEGIN IMMEDIATE: one writer at a time, so two processes never read
	 * the same row as queued and both take it */
	if ((rc = store_begin(st))) {
		free(cand);
		return rc;
	}
	if (!(q = store_prepare(st, "SELECT " CLAIM_COLS " FROM outbox WHERE state = 'queued' AND next_at <= ?1 "
				    "ORDER BY next_at, id LIMIT ?2"))) {
		rc = KT_EIO;
		goto out;
	}
	sqlite3_bind_int64(q, 1, now);
	sqlite3_bind_int(q, 2, max);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW)
		meta_from(q, &cand[nc++]);
	store_finish(st, q);
	if (rc != SQLITE_DONE) {
		rc = KT_EIO;
		goto out;
	}
	rc = KT_OK;
	for (int i = 0; i < nc && !rc; i++) {
		kt_mail *m = &cand[i];
		const char *reason = "";
		int64_t later = now;
		kt_outbox_verdict v = gate ? gate(user, st, m, now, &reason, &later) : KT_OUTBOX_SEND;
		if (v == KT_OUTBOX_DROP) {
			rc = set_state(st, SQL_DROP, m->id, reason, 0);
			continue;
		}
		if (v == KT_OUTBOX_DEFER) {
			rc = set_state(st, SQL_DEFER, m->id, reason, later > now ? later : now + 1000);
			continue;
		}
		if (!(q = store_prepare(st, "UPDATE outbox SET state = 'sending', claimed_by = ?2, claimed_at = ?3 "
					    "WHERE id = ?1 AND state = 'queued'"))) {
			rc = KT_EIO;
			break;
		}
		sqlite3_bind_int64(q, 1, m->id);
		sqlite3_bind_text(q, 2, worker ? worker : "", -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 3, now);
		if ((rc = step_done(st, q)))
			break;
		if ((rc = open_row(st, m)))
			break;
		out[*n] = *m;
		memset(m, 0, sizeof *m);
		(*n)++;
	}
	if (!rc && !*n)
		*next_due = min_due(st);
out:
	for (int i = 0; i < nc; i++)
		kt_mail_free(&cand[i]);
	free(cand);
	if (rc) {
		store_rollback(st);
		for (int i = 0; i < *n; i++)
			kt_mail_free(&out[i]);
		*n = 0;
		return rc;
	}
	if ((rc = store_commit(st))) {
		for (int i = 0; i < *n; i++)
			kt_mail_free(&out[i]);
		*n = 0;
		return rc;
	}
	return *n ? KT_OK : KT_ENOT_FOUND;
}

int outbox_claim(kt_store *st, int64_t now, kt_mail *out, int64_t *next_due)
{
	int n = 0;
	memset(out, 0, sizeof *out);
	return outbox_claim_batch(st, "", now, 1, NULL, NULL, out, &n, next_due);
}

int outbox_mark_sent(kt_store *st, int64_t id)
{
	sqlite3_stmt *q = store_prepare(st, "UPDATE outbox SET state = 'sent', sent_at = ?2, attempts = attempts + 1, "
					    "last_error = NULL, to_addr = '', body = '', extra_headers = NULL WHERE id = ?1");
	if (!q)
		return KT_EIO;
	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_int64(q, 2, kt_now_ms());
	int rc = step_done(st, q);
	return rc ? rc : sqlite3_changes(store_db(st)) ? KT_OK : KT_ENOT_FOUND;
}

int outbox_mark_retry(kt_store *st, int64_t id, int64_t next_at, bool final, const char *err)
{
	sqlite3_stmt *q = store_prepare(st, "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, next_at = ?3, "
					    "claimed_by = NULL, state = CASE WHEN ?4 THEN 'failed' ELSE 'queued' END, "
					    "to_addr = CASE WHEN ?4 THEN '' ELSE to_addr END, "
					    "extra_headers = CASE WHEN ?4 THEN NULL ELSE extra_headers END, "
					    "body = CASE WHEN ?4 THEN '' ELSE body END WHERE id = ?1");
	if (!q)
		return KT_EIO;
	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_text(q, 2, err ? err : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 3, next_at);
	sqlite3_bind_int(q, 4, final);
	return step_done(st, q);
}

int outbox_mark_dropped(kt_store *st, int64_t id, const char *reason)
{
	return set_state(st, SQL_DROP, id, reason, 0);
}

int outbox_sending_workers(kt_store *st, int (*cb)(void *user, const char *worker), void *user)
{
	sqlite3_stmt *q = store_prepare(st, "SELECT DISTINCT coalesce(claimed_by, '') FROM outbox WHERE state = "
					    "'sending'");
	char w[KT_OUTBOX_WORKER_LEN + 1];
	int rc;
	if (!q)
		return KT_EIO;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		col_copy(q, 0, w, sizeof w);
		int crc = cb(user, w);
		if (crc) {
			store_finish(st, q);
			return crc;
		}
	}
	store_finish(st, q);
	return rc == SQLITE_DONE ? KT_OK : KT_EIO;
}

static int settle_step(kt_store *st, const char *sql, const char *worker, int64_t id, int *count)
{
	sqlite3_stmt *q = store_prepare(st, sql);
	int rc;
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, worker, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, id);
	rc = sqlite3_step(q) == SQLITE_DONE ? KT_OK : KT_EIO;
	if (!rc)
		*count += sqlite3_changes(store_db(st));
	store_finish(st, q);
	return rc;
}

int outbox_settle_worker(kt_store *st, const char *worker, const int64_t *attempted, int na, bool journal_ok,
			 int *unknown, int *requeued)
{
	static const char unk[] = "UPDATE outbox SET state = 'unknown', last_error = 'the server stopped during the "
				  "attempt' WHERE state = 'sending' AND coalesce(claimed_by, '') = ?1 AND (?2 = 0 OR id = ?2)";
	static const char req[] = "UPDATE outbox SET state = 'queued', claimed_by = NULL WHERE state = 'sending' "
				  "AND coalesce(claimed_by, '') = ?1 AND ?2 = 0";
	int u = 0, r = 0, rc;
	if ((rc = store_begin(st)))
		return rc;
	if (journal_ok) {
		for (int i = 0; i < na && !rc; i++)
			if (attempted[i] > 0)
				rc = settle_step(st, unk, worker, attempted[i], &u);
		if (!rc)
			rc = settle_step(st, req, worker, 0, &r);
	} else
		rc = settle_step(st, unk, worker, 0, &u);
	if (rc) {
		store_rollback(st);
		return rc;
	}
	if ((rc = store_commit(st)))
		return rc;
	if (unknown)
		*unknown = u;
	if (requeued)
		*requeued = r;
	return KT_OK;
}

int outbox_resend(kt_store *st, int64_t id, char state[16])
{
	sqlite3_stmt *q;
	int rc;
	if ((rc = store_begin(st)))
		return rc;
	if (!(q = store_prepare(st, "SELECT state FROM outbox WHERE id = ?1"))) {
		store_rollback(st);
		return KT_EIO;
	}
	sqlite3_bind_int64(q, 1, id);
	rc = sqlite3_step(q) == SQLITE_ROW ? KT_OK : KT_ENOT_FOUND;
	if (!rc)
		col_copy(q, 0, state, 16);
	store_finish(st, q);
	if (!rc && strcmp(state, "unknown"))
		rc = KT_ECONFLICT;
	if (!rc)
		rc = set_state(st, "UPDATE outbox SET state = 'queued', claimed_by = NULL, next_at = ?3, last_error = "
				   "'resent by the operator' WHERE id = ?1 AND ?2 IS NULL",
			       id, NULL, kt_now_ms());
	if (rc) {
		store_rollback(st);
		return rc;
	}
	return store_commit(st);
}

int outbox_drop_client(kt_store *st, const char *client, const char *purpose, int *n)
{
	sqlite3_stmt *q = store_prepare(st, "UPDATE outbox SET state = 'dropped', to_addr = '', body = '', "
					    "extra_headers = NULL, drop_reason = CASE WHEN consent_purpose = ?2 THEN "
					    "'consent_withdrawn' ELSE drop_reason END WHERE client_id = ?1 AND state = "
					    "'queued' AND (?2 IS NULL OR purpose = ?2 OR consent_purpose = ?2)");
	int rc;
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, client, -1, SQLITE_STATIC);
	if (purpose)
		sqlite3_bind_text(q, 2, purpose, -1, SQLITE_STATIC);
	rc = sqlite3_step(q) == SQLITE_DONE ? KT_OK : KT_EIO;
	if (!rc && n)
		*n = sqlite3_changes(store_db(st));
	store_finish(st, q);
	return rc;
}

static int hhmm(const char *s, int dflt)
{
	int h, m;
	char tail;
	if (!s || sscanf(s, "%d:%d%c", &h, &m, &tail) != 2 || h < 0 || h > 24 || m < 0 || m > 59 || h * 60 + m > 1440)
		return dflt;
	return h * 60 + m;
}

int outbox_limits(kt_store *st, const char *org, kt_outbox_limits *out)
{
	sqlite3_stmt *q = store_prepare(st, "SELECT quiet_from, quiet_to, daily_cap FROM message_settings WHERE "
					    "org_id = ?1");
	int rc;
	out->quiet_from = 21 * 60;
	out->quiet_to = 8 * 60;
	out->daily_cap = 3;
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, org, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		out->quiet_from = hhmm((const char *)sqlite3_column_text(q, 0), out->quiet_from);
		out->quiet_to = hhmm((const char *)sqlite3_column_text(q, 1), out->quiet_to);
		out->daily_cap = sqlite3_column_int(q, 2);
	}
	store_finish(st, q);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? KT_OK : KT_EIO;
}

/* The kinds of planned messages: the ones a daily cap counts. */
#define SQL_MESSAGE_KINDS                                                                                          \
	"('confirmation','change','cancellation','reminder','reminder2','review_request','birthday','campaign',"  \
	"'reconsent','survey')"

int outbox_client_sent(kt_store *st, const char *client, int64_t from, int64_t to, int64_t except_id, int *n)
{
	sqlite3_stmt *q = store_prepare(st, "SELECT count(*) FROM outbox WHERE client_id = ?1 AND id <> ?4 AND "
					    "purpose IN " SQL_MESSAGE_KINDS " AND state IN ('sending','sent','unknown') "
					    "AND coalesce(sent_at, claimed_at) >= ?2 AND coalesce(sent_at, claimed_at) < ?3");
	int rc;
	*n = 0;
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, client, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, from);
	sqlite3_bind_int64(q, 3, to);
	sqlite3_bind_int64(q, 4, except_id);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		*n = sqlite3_column_int(q, 0);
	store_finish(st, q);
	return rc == SQLITE_ROW ? KT_OK : KT_EIO;
}

int outbox_list(kt_store *st, int limit, kt_outbox_cb cb, void *user)
{
	sqlite3_stmt *q = store_prepare(st, "SELECT id, purpose, state, attempts, created_at, coalesce(sent_at, 0), "
					    "coalesce(last_error, '') FROM outbox ORDER BY id DESC LIMIT ?1");
	int rc;
	if (!q)
		return KT_EIO;
	sqlite3_bind_int(q, 1, limit);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		int crc = cb(user, sqlite3_column_int64(q, 0), (const char *)sqlite3_column_text(q, 1),
			     (const char *)sqlite3_column_text(q, 2), sqlite3_column_int(q, 3),
			     sqlite3_column_int64(q, 4), sqlite3_column_int64(q, 5),
			     (const char *)sqlite3_column_text(q, 6));
		if (crc) {
			store_finish(st, q);
			return crc;
		}
	}
	store_finish(st, q);
	return rc == SQLITE_DONE ? KT_OK : KT_EIO;
}

static const char *ctext(sqlite3_stmt *q, int i)
{
	const char *s = (const char *)sqlite3_column_text(q, i);
	return s ? s : "";
}

int outbox_list_rows(kt_store *st, const char *state, int limit, int (*cb)(void *user, const kt_outbox_row *r),
		     void *user)
{
	sqlite3_stmt *q = store_prepare(st, "SELECT id, created_at, next_at, coalesce(sent_at, 0), purpose, channel, "
					    "state, coalesce(drop_reason, ''), coalesce(last_error, ''), "
					    "coalesce(location_id, ''), org_id, attempts FROM outbox WHERE ?2 IS NULL OR "
					    "state = ?2 ORDER BY id DESC LIMIT ?1");
	int rc;
	if (!q)
		return KT_EIO;
	sqlite3_bind_int(q, 1, limit);
	if (state)
		sqlite3_bind_text(q, 2, state, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		kt_outbox_row r = {sqlite3_column_int64(q, 0), sqlite3_column_int64(q, 1), sqlite3_column_int64(q, 2),
				   sqlite3_column_int64(q, 3), ctext(q, 4), ctext(q, 5), ctext(q, 6), ctext(q, 7),
				   ctext(q, 8), ctext(q, 9), ctext(q, 10), sqlite3_column_int(q, 11)};
		int crc = cb(user, &r);
		if (crc) {
			store_finish(st, q);
			return crc;
		}
	}
	store_finish(st, q);
	return rc == SQLITE_DONE ? KT_OK : KT_EIO;
}
