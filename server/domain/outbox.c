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
	m->to_addr = m->subject = m->body = NULL;
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

int outbox_enqueue(kt_store *st, const char *org, const char *client, const char *purpose, const char *to_addr,
		   const char *subject, const char *body, int64_t *id_out)
{
	sqlite3_stmt *q = store_prepare(st, "INSERT INTO outbox(org_id, client_id, purpose, to_addr, subject, body, "
					    "state, attempts, next_at, created_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, "
					    "'queued', 0, ?7, ?7)");
	int rc;
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, org, -1, SQLITE_STATIC);
	if (client)
		sqlite3_bind_text(q, 2, client, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, purpose, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 5, subject, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 7, kt_now_ms());
	if ((rc = bind_personal(st, q, 4, client, "to_addr", to_addr)) ||
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

static char *col_dup(sqlite3_stmt *q, int i)
{
	const unsigned char *t = sqlite3_column_text(q, i);
	return strdup(t ? (const char *)t : "");
}

int outbox_claim(kt_store *st, int64_t now, kt_mail *out, int64_t *next_due)
{
	sqlite3_stmt *q;
	int rc;

	memset(out, 0, sizeof *out);
	*next_due = 0;
	/* look without the write lock first: the worker polls every second and
	 * must not contend with the push writer when nothing is due */
	if (!(q = store_prepare(st, "SELECT min(next_at) FROM outbox WHERE state = 'queued'")))
		return KT_EIO;
	if (sqlite3_step(q) == SQLITE_ROW)
		*next_due = sqlite3_column_int64(q, 0);
	store_finish(st, q);
	if (!*next_due || *next_due > now)
		return KT_ENOT_FOUND;
	*next_due = 0;
	if ((rc = store_begin(st)))
		return rc;
	q = store_prepare(st, "SELECT id, org_id, coalesce(client_id, ''), purpose, to_addr, subject, body, attempts, "
			      "created_at FROM outbox WHERE state = 'queued' AND next_at <= ?1 ORDER BY next_at, id LIMIT 1");
	if (!q) {
		rc = KT_EIO;
		goto out;
	}
	sqlite3_bind_int64(q, 1, now);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		out->id = sqlite3_column_int64(q, 0);
		snprintf(out->org, sizeof out->org, "%s", (const char *)sqlite3_column_text(q, 1));
		snprintf(out->client, sizeof out->client, "%s", (const char *)sqlite3_column_text(q, 2));
		snprintf(out->purpose, sizeof out->purpose, "%s", (const char *)sqlite3_column_text(q, 3));
		out->to_addr = open_personal(st, q, 4, "to_addr");
		out->subject = col_dup(q, 5);
		out->body = open_personal(st, q, 6, "body");
		out->attempts = sqlite3_column_int(q, 7);
		out->created_at = sqlite3_column_int64(q, 8);
		rc = out->to_addr && out->subject && out->body ? KT_OK : KT_ENOMEM;
	} else
		rc = rc == SQLITE_DONE ? KT_ENOT_FOUND : KT_EIO;
	store_finish(st, q);
	if (rc == KT_OK) {
		if (!(q = store_prepare(st, "UPDATE outbox SET state = 'sending' WHERE id = ?1")))
			rc = KT_EIO;
		else {
			sqlite3_bind_int64(q, 1, out->id);
			rc = step_done(st, q);
		}
	} else if (rc == KT_ENOT_FOUND) {
		sqlite3_stmt *n = store_prepare(st, "SELECT min(next_at) FROM outbox WHERE state = 'queued'");
		if (n && sqlite3_step(n) == SQLITE_ROW)
			*next_due = sqlite3_column_int64(n, 0);
		if (n)
			store_finish(st, n);
	}
out:
	if (rc && rc != KT_ENOT_FOUND) {
		store_rollback(st);
		kt_mail_free(out);
		return rc;
	}
	{
		int crc = store_commit(st);
		if (crc) {
			kt_mail_free(out);
			return crc;
		}
	}
	return rc;
}

int outbox_mark_sent(kt_store *st, int64_t id)
{
	sqlite3_stmt *q = store_prepare(st, "UPDATE outbox SET state = 'sent', sent_at = ?2, attempts = attempts + 1, "
					    "last_error = NULL, to_addr = '', body = '' WHERE id = ?1");
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
					    "state = CASE WHEN ?4 THEN 'failed' ELSE 'queued' END, "
					    "to_addr = CASE WHEN ?4 THEN '' ELSE to_addr END, "
					    "body = CASE WHEN ?4 THEN '' ELSE body END WHERE id = ?1");
	if (!q)
		return KT_EIO;
	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_text(q, 2, err ? err : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 3, next_at);
	sqlite3_bind_int(q, 4, final);
	return step_done(st, q);
}

int outbox_requeue_stale(kt_store *st)
{
	sqlite3_stmt *q = store_prepare(st, "UPDATE outbox SET state = 'queued' WHERE state = 'sending'");
	if (!q)
		return KT_EIO;
	return step_done(st, q);
}

int outbox_drop_client(kt_store *st, const char *client, const char *purpose, int *n)
{
	sqlite3_stmt *q = store_prepare(st, "UPDATE outbox SET state = 'dropped', to_addr = '', body = '' WHERE client_id = ?1 "
					    "AND state = 'queued' AND (?2 IS NULL OR purpose = ?2)");
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
