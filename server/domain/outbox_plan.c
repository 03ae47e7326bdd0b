/* outbox_plan.c - see outbox_plan.h. The planner's half of the outbox's
 * SQL; outbox.c (the sender's) claims, marks and drops by client. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "db/keyring.h"
#include "domain/outbox_plan.h"

/* Sealed like outbox.c's bind_personal: the same associated data, so the
 * sender opens what the planner sealed. */
static int bind_sealed(kt_store *st, sqlite3_stmt *q, int i, const char *client, const char *col, const char *v)
{
	uint8_t *b;
	size_t n;
	int rc;
	if (!v) {
		sqlite3_bind_null(q, i);
		return KT_OK;
	}
	if ((rc = keyring_seal(store_keyring(st), client, "outbox", col, "", v, strlen(v), &b, &n)))
		return rc;
	sqlite3_bind_blob(q, i, b, (int)n, free);
	return KT_OK;
}

static void bind_opt(sqlite3_stmt *q, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(q, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(q, i);
}

int outbox_plan(kt_store *st, const kt_plan_msg *m, bool *inserted)
{
	sqlite3_stmt *q = store_prepare(st, "INSERT INTO outbox(org_id, client_id, purpose, channel, to_addr, subject, body, "
					    "state, attempts, next_at, created_at, idem_key, appointment_id, visit_id, "
					    "location_id, consent_purpose, extra_headers) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, "
					    "'queued', 0, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) "
					    "ON CONFLICT(idem_key) DO NOTHING");
	int rc;
	if (inserted)
		*inserted = false;
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, m->org, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, m->client, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, m->kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, m->channel, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 8, m->next_at);
	sqlite3_bind_int64(q, 9, kt_now_ms());
	sqlite3_bind_text(q, 10, m->idem_key, -1, SQLITE_STATIC);
	bind_opt(q, 11, m->appointment);
	bind_opt(q, 12, m->visit);
	bind_opt(q, 13, m->location);
	bind_opt(q, 14, m->consent_purpose);
	if ((rc = bind_sealed(st, q, 5, m->client, "to_addr", m->to_addr)) ||
	    (rc = bind_sealed(st, q, 6, m->client, "subject", m->subject ? m->subject : "")) ||
	    (rc = bind_sealed(st, q, 7, m->client, "body", m->body)) ||
	    (rc = bind_sealed(st, q, 15, m->client, "extra_headers", m->extra_headers))) {
		store_finish(st, q);
		return rc;
	}
	rc = sqlite3_step(q) == SQLITE_DONE ? KT_OK : KT_EIO;
	if (!rc && inserted)
		*inserted = sqlite3_changes(store_db(st)) > 0;
	store_finish(st, q);
	return rc;
}

bool outbox_planned(kt_store *st, const char *idem_key)
{
	sqlite3_stmt *q = store_prepare(st, "SELECT 1 FROM outbox WHERE idem_key = ?1");
	bool found;
	if (!q)
		return false;
	sqlite3_bind_text(q, 1, idem_key, -1, SQLITE_STATIC);
	found = sqlite3_step(q) == SQLITE_ROW;
	store_finish(st, q);
	return found;
}

/* kinds is a comma list: matched with instr on ',' || kinds || ',' */
int outbox_drop_appointment(kt_store *st, const char *appointment, const char *kinds, const char *reason, int *n)
{
	sqlite3_stmt *q = store_prepare(st, "UPDATE outbox SET state = 'dropped', drop_reason = ?3, to_addr = '', "
					    "subject = '', body = '', extra_headers = NULL, "
					    "idem_key = idem_key || ':dropped:' || id WHERE appointment_id = ?1 AND "
					    "state = 'queued' AND instr(',' || ?2 || ',', ',' || purpose || ',') > 0");
	int rc;
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, appointment, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, kinds, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, reason, -1, SQLITE_STATIC);
	rc = sqlite3_step(q) == SQLITE_DONE ? KT_OK : KT_EIO;
	if (!rc && n)
		*n = sqlite3_changes(store_db(st));
	store_finish(st, q);
	return rc;
}

int outbox_drop_consent(kt_store *st, const char *client, const char *consent_purpose, int *n)
{
	sqlite3_stmt *q = store_prepare(st, "UPDATE outbox SET state = 'dropped', drop_reason = 'consent_withdrawn', "
					    "to_addr = '', subject = '', body = '', extra_headers = NULL "
					    "WHERE client_id = ?1 AND state = 'queued' AND consent_purpose = ?2");
	int rc;
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, client, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, consent_purpose, -1, SQLITE_STATIC);
	rc = sqlite3_step(q) == SQLITE_DONE ? KT_OK : KT_EIO;
	if (!rc && n)
		*n = sqlite3_changes(store_db(st));
	store_finish(st, q);
	return rc;
}

bool outbox_recent(kt_store *st, const char *client, const char *prefix, int64_t since)
{
	sqlite3_stmt *q = store_prepare(st, "SELECT 1 FROM outbox WHERE client_id = ?1 AND created_at >= ?3 AND "
					    "substr(idem_key, 1, length(?2)) = ?2 AND state <> 'dropped' LIMIT 1");
	bool found;
	if (!q)
		return false;
	sqlite3_bind_text(q, 1, client, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, prefix, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, since);
	found = sqlite3_step(q) == SQLITE_ROW;
	store_finish(st, q);
	return found;
}

static const char *text_or(sqlite3_stmt *q, int i)
{
	const unsigned char *t = sqlite3_column_text(q, i);
	return t ? (const char *)t : "";
}

int outbox_client_messages(kt_store *st, const char *client, int limit, kt_msg_row_cb cb, void *user)
{
	sqlite3_stmt *q = store_prepare(st, "SELECT id, purpose, channel, state, coalesce(drop_reason, ''), "
					    "coalesce(location_id, ''), created_at, next_at, coalesce(sent_at, 0), "
					    "coalesce(last_error, '') FROM outbox WHERE client_id = ?1 "
					    "ORDER BY created_at DESC, id DESC LIMIT ?2");
	int rc;
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, client, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 2, limit);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		kt_msg_row r = {sqlite3_column_int64(q, 0), text_or(q, 1), text_or(q, 2), text_or(q, 3), text_or(q, 4),
				text_or(q, 5), sqlite3_column_int64(q, 6), sqlite3_column_int64(q, 7),
				sqlite3_column_int64(q, 8), text_or(q, 9)};
		int crc = cb(user, &r);
		if (crc) {
			store_finish(st, q);
			return crc;
		}
	}
	store_finish(st, q);
	return rc == SQLITE_DONE ? KT_OK : KT_EIO;
}

int outbox_counts(kt_store *st, const char *org, const char *location, int64_t from, int64_t to, kt_msg_count_cb cb,
		  void *user)
{
	/* with the tally of messages retention deleted (domain/retention.c), by hour of creation */
	sqlite3_stmt *q = store_prepare(st, "SELECT purpose, channel, state, sum(n) FROM (SELECT purpose, channel, state, "
					    "1 AS n FROM outbox WHERE org_id = ?1 AND created_at >= ?2 AND created_at < ?3 "
					    "AND (?4 IS NULL OR location_id = ?4) UNION ALL SELECT purpose, channel, state, n "
					    "FROM outbox_tally WHERE org_id = ?1 AND hour >= ?2 AND hour < ?3 AND "
					    "(?4 IS NULL OR location_id = ?4)) "
					    "GROUP BY purpose, channel, state ORDER BY purpose, channel, state");
	int rc;
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, org, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, from);
	sqlite3_bind_int64(q, 3, to);
	bind_opt(q, 4, location);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		int crc = cb(user, text_or(q, 0), text_or(q, 1), text_or(q, 2), sqlite3_column_int64(q, 3));
		if (crc) {
			store_finish(st, q);
			return crc;
		}
	}
	store_finish(st, q);
	return rc == SQLITE_DONE ? KT_OK : KT_EIO;
}

void outbox_reminder_state(kt_store *st, const char *appointment, char out[16])
{
	sqlite3_stmt *q = store_prepare(st, "SELECT state FROM outbox WHERE appointment_id = ?1 AND purpose IN "
					    "('reminder', 'reminder2') ORDER BY (state = 'dropped'), created_at DESC, id DESC "
					    "LIMIT 1");
	snprintf(out, 16, "none");
	if (!q)
		return;
	sqlite3_bind_text(q, 1, appointment, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW)
		snprintf(out, 16, "%s", text_or(q, 0));
	store_finish(st, q);
}
