/* erasure.c - see erasure.h. Personal rows are read and written only
 * through the store (store_row_load, store_update, store_delete), so the
 * change log routes the deletes to devices and the encrypted store can
 * decrypt; the SQL here touches ids, times and statuses only. Never writes
 * a personal value into the erasure tables or the erasure's audit entry. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include "db/audit.h"
#include "domain/erasure.h"
#include "domain/feedback.h"
#include "domain/revoke.h"

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int64_t erasure_due_at(int64_t requested_at)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	time_t t = (time_t)(requested_at / 1000);
	struct tm tm;
	if (requested_at < 0 || !gmtime_r(&t, &tm))
		return requested_at;
	int64_t y = tm.tm_year + 1900, y2 = y + (tm.tm_mon == 11);
	int m = tm.tm_mon + 1, m2 = m % 12 + 1, d2 = tm.tm_mday;
	int last = mdays[m2 - 1] + (m2 == 2 && ((y2 % 4 == 0 && y2 % 100 != 0) || y2 % 400 == 0));
	if (d2 > last)
		d2 = last;
	return requested_at + (days_from_civil(y2, m2, d2) - days_from_civil(y, m, tm.tm_mday)) * 86400000LL;
}

#define PLACEHOLDER_NAME "Erased client"

/* What is deleted with a client, in this order (a review points to a
 * visit): (synced table, column naming the client). A table another branch
 * adds is one line; one this build does not have is skipped. */
static const struct {
	const char *table, *client_col;
} erase_tables[] = {
	{"review", "client_id"},
	{"consent", "client_id"},
	{"visit", "client_id"},
};

/* Server-internal rows of the client, deleted without a change-log entry
 * (devices never had them): (table, column). One line per table; a table
 * this build does not have is skipped (setup_token and outbox come with the
 * portal: password-setup tokens and queued mail to the client). */
static const struct {
	const char *table, *col;
} erase_private[] = {
	{"auth_session", "principal_id"},
	{"setup_token", "client_id"},
	{"outbox", "client_id"},
	{"email_change", "client_id"},
	{"link_token", "client_id"},
};

static const char *spool_dir_set;

void erasure_set_spool_dir(const char *dir)
{
	spool_dir_set = dir;
}

/* The ids of the client's mail, before their outbox rows go: the spool's
 * files are named after them. *ids is malloc'd. */
static int mail_ids(kt_store *st, const char *client_id, int64_t **ids, int *n)
{
	sqlite3_stmt *q = store_prepare(st, "SELECT id FROM outbox WHERE client_id = ?");
	*ids = NULL;
	*n = 0;
	if (!q)
		return KT_OK; /* a build without the outbox */
	sqlite3_bind_text(q, 1, client_id, -1, SQLITE_STATIC);
	while (sqlite3_step(q) == SQLITE_ROW) {
		void *more = realloc(*ids, (size_t)(*n + 1) * sizeof **ids);
		if (!more) {
			store_finish(st, q);
			return KT_ENOMEM;
		}
		*ids = more;
		(*ids)[(*n)++] = sqlite3_column_int64(q, 0);
	}
	store_finish(st, q);
	return KT_OK;
}

/* Delete the spool's files of these mails ("<id>-<purpose>.eml" or
 * ".sms" for a text message, and a ".tmp" being written). The spool is
 * spool_dir, or <db>.spool as the portal's default. Returns how many went. */
static int delete_spool_files(kt_store *st, const int64_t *ids, int n)
{
	char dir[4200], path[4500];
	const char *db = sqlite3_db_filename(store_db(st), "main");
	DIR *d;
	struct dirent *e;
	int gone = 0;
	if (!n)
		return 0;
	if (spool_dir_set)
		snprintf(dir, sizeof dir, "%s", spool_dir_set);
	else if (db && *db)
		snprintf(dir, sizeof dir, "%s.spool", db);
	else
		return 0;
	if (!(d = opendir(dir)))
		return 0;
	while ((e = readdir(d))) {
		char *end;
		long long id = strtoll(e->d_name, &end, 10);
		if (end == e->d_name || *end != '-' || (!strstr(end, ".eml") && !strstr(end, ".sms")))
			continue;
		for (int i = 0; i < n; i++)
			if (ids[i] == id) {
				snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
				if (unlink(path) == 0)
					gone++;
				else
					kt_warn("erasure: spool file %s not deleted", path);
				break;
			}
	}
	closedir(d);
	return gone;
}

static int step_done(kt_store *st, sqlite3_stmt *q)
{
	int rc = sqlite3_step(q);
	store_finish(st, q);
	if (rc == SQLITE_DONE)
		return KT_OK;
	return (rc & 0xff) == SQLITE_CONSTRAINT ? KT_ECONFLICT : KT_EIO;
}

bool erasure_is_placeholder(kt_store *st, const char *client_id)
{
	sqlite3_stmt *q = store_prepare(st, "SELECT 1 FROM erasure_placeholder WHERE client_id = ?");
	bool r = false;
	if (!q)
		return false;
	sqlite3_bind_text(q, 1, client_id, -1, SQLITE_STATIC);
	r = sqlite3_step(q) == SQLITE_ROW;
	store_finish(st, q);
	return r;
}

/* Org of an existing client (not the placeholder): KT_ENOT_FOUND,
 * KT_ECONFLICT when it was erased already, KT_EINVALID for the placeholder. */
static int client_org(kt_store *st, const char *client_id, char org[KT_UUID_LEN + 1])
{
	kt_row row;
	int rc;
	if (!client_id || !kt_uuid_valid(client_id, strlen(client_id)))
		return KT_EINVALID;
	if (erasure_is_placeholder(st, client_id))
		return KT_EINVALID;
	rc = store_row_load(st, kt_table_find("client", 6), client_id, &row);
	if (rc == KT_ENOT_FOUND) {
		sqlite3_stmt *q = store_prepare(st, "SELECT 1 FROM erasure WHERE client_id = ? AND status = 'done'");
		if (!q)
			return KT_EIO;
		sqlite3_bind_text(q, 1, client_id, -1, SQLITE_STATIC);
		if (sqlite3_step(q) == SQLITE_ROW)
			rc = KT_ECONFLICT;
		store_finish(st, q);
		return rc;
	}
	if (rc)
		return rc;
	snprintf(org, KT_UUID_LEN + 1, "%s", row.org);
	kt_row_free(&row);
	return KT_OK;
}

int erasure_request(kt_store *st, const char *client_id, const char *by, int64_t *requested_at)
{
	char org[KT_UUID_LEN + 1];
	int64_t now = kt_now_ms();
	sqlite3_stmt *q;
	int rc;

	if ((rc = store_begin(st)))
		return rc;
	if ((rc = client_org(st, client_id, org)))
		goto out;
	if (!(q = store_prepare(st, "SELECT requested_at FROM erasure WHERE client_id = ? AND status = 'pending'"))) {
		rc = KT_EIO;
		goto out;
	}
	sqlite3_bind_text(q, 1, client_id, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW) { /* asked before: the open request stands */
		now = sqlite3_column_int64(q, 0);
		store_finish(st, q);
		goto out;
	}
	store_finish(st, q);
	if (!(q = store_prepare(st, "INSERT INTO erasure(client_id, org_id, status, requested_at, requested_by) "
				    "VALUES(?1, ?2, 'pending', ?3, ?4)"))) {
		rc = KT_EIO;
		goto out;
	}
	sqlite3_bind_text(q, 1, client_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, org, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, now);
	sqlite3_bind_text(q, 4, by, -1, SQLITE_STATIC);
	if ((rc = step_done(st, q)))
		goto out;
	kt_audit_entry e = {org, "erasure_requested", "client", client_id, client_id, NULL, NULL, NULL, NULL};
	rc = audit_append(st, &e);
out:
	if (rc) {
		store_rollback(st);
		return rc;
	}
	if ((rc = store_commit(st)))
		return rc;
	if (requested_at)
		*requested_at = now;
	return KT_OK;
}

/* The organisation's placeholder client, created on first use: kept
 * appointments point to it (client_id is NOT NULL and a foreign key).
 * Its name says what it is; it has no locations, so only owners see it. */
static int placeholder(kt_store *st, const char *org, char id[KT_UUID_LEN + 1])
{
	sqlite3_stmt *q = store_prepare(st, "SELECT client_id FROM erasure_placeholder WHERE org_id = ?");
	kt_field f = {"name", PLACEHOLDER_NAME};
	int rc;
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, org, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW) {
		snprintf(id, KT_UUID_LEN + 1, "%s", (const char *)sqlite3_column_text(q, 0));
		store_finish(st, q);
		return KT_OK;
	}
	store_finish(st, q);
	kt_uuid7(id);
	if ((rc = store_insert(st, "client", id, org, &f, 1, NULL)))
		return rc;
	if (!(q = store_prepare(st, "INSERT INTO erasure_placeholder(org_id, client_id) VALUES(?, ?)")))
		return KT_EIO;
	sqlite3_bind_text(q, 1, org, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, id, -1, SQLITE_STATIC);
	return step_done(st, q);
}

struct erase_ctx {
	kt_store *st;
	const char *tbl;
	const char *placeholder;
	int64_t now;
	int n;
};

static int delete_row(void *user, const char *id)
{
	struct erase_ctx *c = user;
	c->n++;
	return store_delete(c->st, c->tbl, id);
}

/* An appointment stays for the accounts (date, location, specialist,
 * services, duration, status): its notes go, it points to the placeholder,
 * and one still to come is cancelled (nobody can be expected any more). */
static int keep_appointment(void *user, const char *id)
{
	struct erase_ctx *c = user;
	kt_row row;
	int rc = store_row_load(c->st, kt_table_find("appointment", 11), id, &row);
	if (rc)
		return rc;
	int si = kt_col_index(row.t, "status"), ti = kt_col_index(row.t, "start_at");
	const char *status = row.v[si].s ? row.v[si].s : "";
	bool cancel = row.v[ti].i > c->now && (!strcmp(status, "booked") || !strcmp(status, "confirmed"));
	kt_row_free(&row);
	kt_field f[5] = {{"client_id", c->placeholder}, {"client_note", NULL}, {"internal_note", NULL},
			 {"status_reason", NULL}, {"status", "cancelled"}};
	c->n++;
	return store_update(c->st, "appointment", id, f, cancel ? 5 : 4, NULL);
}

/* The devices that must purge: every device of the organisation's staff
 * that is not revoked (a revoked one was told to wipe everything), whether
 * or not its person may see the client now - a safe superset, since rights
 * change and an offline device may hold what it could see before - and
 * the client's own devices (revoked just after, without receipts). */
static int record_devices(kt_store *st, int64_t erasure_id, const char *org, const char *client_id, int64_t seq,
			  int *n)
{
	sqlite3_stmt *q = store_prepare(
		st, "INSERT INTO erasure_device(erasure_id, device_id, kind, principal_id, role, seq) "
		    "SELECT ?1, d.id, d.kind, d.principal_id, s.role, ?4 FROM device d JOIN staff s ON d.kind = 'staff' "
		    "AND s.id = d.principal_id WHERE s.org_id = ?2 AND d.revoked = 0 "
		    "UNION ALL SELECT ?1, d.id, d.kind, d.principal_id, 'client', ?4 FROM device d "
		    "WHERE d.kind = 'client' AND d.principal_id = ?3 AND d.revoked = 0");
	int rc;
	if (!q)
		return KT_EIO;
	sqlite3_bind_int64(q, 1, erasure_id);
	sqlite3_bind_text(q, 2, org, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, client_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, seq);
	rc = sqlite3_step(q);
	*n = sqlite3_changes(store_db(st));
	store_finish(st, q);
	return rc == SQLITE_DONE ? KT_OK : KT_EIO;
}

/* The erasure row: the pending request becomes done, or a new one is. */
static int record_erasure(kt_store *st, const char *client_id, const char *org, const char *by, int64_t now,
			  int64_t seq, int64_t *id)
{
	sqlite3_stmt *q = store_prepare(st, "UPDATE erasure SET status = 'done', confirmed_by = ?2, done_at = ?3, seq = ?4 "
					    "WHERE client_id = ?1 AND status = 'pending' RETURNING id");
	int rc;
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, client_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, by, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, now);
	sqlite3_bind_int64(q, 4, seq);
	rc = sqlite3_step(q);
	*id = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
	if (rc == SQLITE_ROW)
		rc = sqlite3_step(q);
	store_finish(st, q);
	if (rc != SQLITE_DONE)
		return KT_EIO;
	if (*id)
		return KT_OK;
	if (!(q = store_prepare(st, "INSERT INTO erasure(client_id, org_id, status, requested_at, requested_by, "
				    "confirmed_by, done_at, seq) VALUES(?1, ?2, 'done', ?3, ?4, ?4, ?3, ?5)")))
		return KT_EIO;
	sqlite3_bind_text(q, 1, client_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, org, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, now);
	sqlite3_bind_text(q, 4, by, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 5, seq);
	if ((rc = step_done(st, q)))
		return rc;
	*id = sqlite3_last_insert_rowid(store_db(st));
	return KT_OK;
}

/* The audit entry: counts and ids only. Not "about" the client
 * (client_id NULL): its data key is gone, nothing can be encrypted with it. */
static int audit_erasure(kt_store *st, const char *org, const char *client_id, const kt_erasure_result *r,
			 const char *by)
{
	json_t *after = json_pack("{s:I, s:I, s:s, s:i, s:i, s:i, s:i}", "erasure", (json_int_t)r->id, "seq",
				  (json_int_t)r->seq, "confirmed_by", by, "visits_deleted", r->visits,
				  "appointments_kept", r->appointments, "other_rows_deleted", r->other_rows,
				  "devices_to_purge", r->devices);
	char *text = after ? json_dumps(after, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	int rc = KT_ENOMEM;
	if (text) {
		kt_audit_entry e = {org, "erased", "client", client_id, NULL, NULL, NULL, NULL, text};
		rc = audit_append(st, &e);
	}
	free(text);
	json_decref(after);
	return rc;
}

static int erase_in_tx(kt_store *st, const char *client_id, const char *by, kt_erasure_result *r, int64_t **mail,
		       int *nmail)
{
	char org[KT_UUID_LEN + 1], ph[KT_UUID_LEN + 1];
	struct erase_ctx c = {st, NULL, ph, kt_now_ms(), 0};
	int rc, n;

	if ((rc = client_org(st, client_id, org)) || (rc = placeholder(st, org, ph)))
		return rc;
	/* their ratings stay in the statistics only as anonymous counts */
	if ((rc = feedback_erase_client(st, client_id, &n)))
		return rc;
	for (size_t i = 0; i < sizeof erase_tables / sizeof erase_tables[0]; i++) {
		c.tbl = erase_tables[i].table;
		c.n = 0;
		rc = store_client_rows(st, c.tbl, erase_tables[i].client_col, client_id, delete_row, &c);
		if (rc == KT_ENOT_FOUND && c.n == 0)
			rc = KT_OK; /* a table this build does not have */
		if (rc)
			return rc;
		if (!strcmp(c.tbl, "visit"))
			r->visits = c.n;
		else
			r->other_rows += c.n;
	}
	c.n = 0;
	if ((rc = store_client_rows(st, "appointment", "client_id", client_id, keep_appointment, &c)))
		return rc;
	r->appointments = c.n;
	/* the card last: the log entry keeps its routing, so every device that
	 * may hold it gets the delete (its location links go with it) */
	if ((rc = store_delete(st, "client", client_id)))
		return rc;
	r->seq = store_max_seq(st); /* our own last entry: we hold the write lock */
	if ((rc = record_erasure(st, client_id, org, by, c.now, r->seq, &r->id)) ||
	    (rc = record_devices(st, r->id, org, client_id, r->seq, &r->devices)))
		return rc;
	if ((rc = revoke_client_in_tx(st, client_id)) || (rc = mail_ids(st, client_id, mail, nmail)))
		return rc;
	for (size_t i = 0; i < sizeof erase_private / sizeof erase_private[0]; i++) {
		if ((rc = store_private_delete(st, erase_private[i].table, erase_private[i].col, client_id, &n)))
			return rc;
		r->other_rows += n;
	}
	return audit_erasure(st, org, client_id, r, by);
}

int erasure_erase(kt_store *st, const char *client_id, const char *by, kt_erasure_result *res)
{
	kt_erasure_result r = {0};
	int64_t *mail = NULL;
	int nmail = 0, rc = store_begin(st);
	if (rc)
		return rc;
	if ((rc = erase_in_tx(st, client_id, by, &r, &mail, &nmail))) {
		store_rollback(st);
		free(mail);
		return rc;
	}
	if ((rc = store_commit(st))) {
		free(mail);
		return rc;
	}
	/* their mail's rows are gone; the copies written to the spool go too
	 * (a file the mail worker writes while this runs is removed by it,
	 * when it finds the row gone) */
	r.spool_files = delete_spool_files(st, mail, nmail);
	free(mail);
	/* the key goes only once the erasure is committed: a failed erasure
	 * leaves the client readable, not half gone. Nothing after the commit
	 * seals with it (the erasure's own audit entry names no client). A
	 * failure here is reported; erasing again destroys it then. */
	if ((rc = store_client_key_destroy(st, client_id))) {
		kt_log_code(KT_LOG_ERR, rc, "erasure of %s committed but its key could not be destroyed: %s",
			    client_id, kt_strerror(rc));
		return rc;
	}
	if (res)
		*res = r;
	return KT_OK;
}

static const char *col_text(sqlite3_stmt *q, int i)
{
	const char *s = (const char *)sqlite3_column_text(q, i);
	return s ? s : "";
}

#define ERASURE_COLS "id, requested_at, coalesce(done_at, 0), coalesce(seq, 0), client_id, org_id, status, " \
		     "requested_by, coalesce(confirmed_by, '')"

static kt_erasure_info info_from(sqlite3_stmt *q)
{
	kt_erasure_info e = {sqlite3_column_int64(q, 0), sqlite3_column_int64(q, 1), sqlite3_column_int64(q, 2),
			     sqlite3_column_int64(q, 3), col_text(q, 4), col_text(q, 5), col_text(q, 6),
			     col_text(q, 7), col_text(q, 8)};
	return e;
}

int erasure_list_pending(kt_store *st, const char *org, kt_erasure_cb cb, void *user)
{
	sqlite3_stmt *q = store_prepare(st, "SELECT " ERASURE_COLS " FROM erasure WHERE status = 'pending' "
					    "AND (?1 IS NULL OR org_id = ?1) ORDER BY id");
	int rc;
	if (!q)
		return KT_EIO;
	if (org)
		sqlite3_bind_text(q, 1, org, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		kt_erasure_info e = info_from(q);
		int crc = cb(user, &e);
		if (crc) {
			store_finish(st, q);
			return crc;
		}
	}
	store_finish(st, q);
	return rc == SQLITE_DONE ? KT_OK : KT_EIO;
}

#define STATUS_DEVICES(lost)                                                                                   \
	"SELECT ed.device_id, ed.kind, ed.principal_id, coalesce(s.display_name, ''), ed.role, "                  \
	"coalesce(d.app, ''), coalesce(ed.purged_at, 0), coalesce(d.last_seen, 0), "                              \
	"coalesce(d.last_ack_seq, 0), coalesce(d.revoked, 1), " lost " FROM erasure_device ed "                   \
	"LEFT JOIN device d ON d.id = ed.device_id "                                                              \
	"LEFT JOIN staff s ON ed.kind = 'staff' AND s.id = ed.principal_id "                                      \
	"WHERE ed.erasure_id = ? ORDER BY ed.kind DESC, 4, ed.device_id"

int erasure_status(kt_store *st, const char *client_id, const char *org, kt_erasure_cb info_cb,
		   kt_erasure_device_cb dev_cb, void *user)
{
	sqlite3_stmt *q = store_prepare(st, "SELECT " ERASURE_COLS " FROM erasure WHERE client_id = ?1 "
					    "AND (?2 IS NULL OR org_id = ?2) ORDER BY id DESC LIMIT 1");
	int64_t id;
	bool done;
	int rc;

	if (!client_id || !kt_uuid_valid(client_id, strlen(client_id)))
		return KT_EINVALID;
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, client_id, -1, SQLITE_STATIC);
	if (org)
		sqlite3_bind_text(q, 2, org, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_ROW) {
		store_finish(st, q);
		return KT_ENOT_FOUND;
	}
	kt_erasure_info e = info_from(q);
	id = e.id;
	done = !strcmp(e.status, "done");
	rc = info_cb(user, &e);
	store_finish(st, q);
	if (rc || !done)
		return rc;
	/* a backup read read-only may be from before devices could be marked lost */
	if (!(q = store_prepare(st, "SELECT 1 FROM pragma_table_info('device') WHERE name = 'lost_at'")))
		return KT_EIO;
	bool lost_cols = sqlite3_step(q) == SQLITE_ROW;
	store_finish(st, q);
	if (!(q = store_prepare(st, lost_cols ? STATUS_DEVICES("coalesce(d.lost_at, 0), coalesce((SELECT ls.display_name "
							       "FROM staff ls WHERE 'staff:' || ls.id = d.lost_by), d.lost_by, '')")
					      : STATUS_DEVICES("0, ''"))))
		return KT_EIO;
	sqlite3_bind_int64(q, 1, id);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		kt_erasure_device d = {col_text(q, 0), col_text(q, 1), col_text(q, 2), col_text(q, 3), col_text(q, 4),
				       col_text(q, 5), sqlite3_column_int64(q, 6), sqlite3_column_int64(q, 7),
				       sqlite3_column_int64(q, 8), sqlite3_column_int(q, 9) != 0,
				       sqlite3_column_int64(q, 10), col_text(q, 11)};
		int crc = dev_cb(user, &d);
		if (crc) {
			store_finish(st, q);
			return crc;
		}
	}
	store_finish(st, q);
	return rc == SQLITE_DONE ? KT_OK : KT_EIO;
}

const char *erasure_device_state(const kt_erasure_device *d)
{
	return d->purged_at ? "purged" : d->lost_at ? "lost" : d->revoked_now ? "wipe_ordered" : "not_purged";
}

/* Milliseconds of a UUIDv7's time field (its first 48 bits). */
static int64_t uuid7_ms(const char *id)
{
	int64_t ms = 0;
	for (int i = 0, k = 0; k < 12 && id[i]; i++) {
		char ch = id[i];
		if (ch == '-')
			continue;
		int v = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : ch - 'A' + 10;
		ms = ms * 16 + v;
		k++;
	}
	return ms;
}

int retention_list(kt_store *st, const char *org, int months, kt_retention_cb cb, void *user)
{
	/* ?1 months, ?2 now (ms), ?3 org or NULL. visit_date is a date, start_at ms. */
	sqlite3_stmt *q = store_prepare(
		st, "SELECT c.id, c.org_id, coalesce((SELECT max(v.visit_date) FROM visit v WHERE v.client_id = c.id), ''), "
		    "CAST((julianday(?2 / 1000, 'unixepoch', '-' || ?1 || ' months') - 2440587.5) * 86400000 AS INTEGER) "
		    "FROM client c WHERE (?3 IS NULL OR c.org_id = ?3) "
		    "AND c.id NOT IN (SELECT client_id FROM erasure_placeholder) "
		    "AND NOT EXISTS (SELECT 1 FROM visit v WHERE v.client_id = c.id AND "
		    " v.visit_date >= date(?2 / 1000, 'unixepoch', '-' || ?1 || ' months')) "
		    "AND NOT EXISTS (SELECT 1 FROM appointment a WHERE a.client_id = c.id AND a.start_at >= ?2 "
		    " AND a.status IN ('booked', 'confirmed')) ORDER BY c.id");
	int rc;
	if (months < 1)
		return KT_EINVALID;
	if (!q)
		return KT_EIO;
	sqlite3_bind_int(q, 1, months);
	sqlite3_bind_int64(q, 2, kt_now_ms());
	if (org)
		sqlite3_bind_text(q, 3, org, -1, SQLITE_STATIC);
	/* collect first: the callback may erase (write) */
	struct item {
		char id[KT_UUID_LEN + 1], org[KT_UUID_LEN + 1], last[16];
	} *items = NULL;
	size_t n = 0, cap = 0;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *id = col_text(q, 0);
		/* a client created within the period has had no chance to visit yet */
		if (strlen(id) != KT_UUID_LEN || uuid7_ms(id) >= sqlite3_column_int64(q, 3))
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			void *p = realloc(items, nc * sizeof *items);
			if (!p) {
				rc = SQLITE_NOMEM;
				break;
			}
			items = p;
			cap = nc;
		}
		snprintf(items[n].id, sizeof items[n].id, "%s", id);
		snprintf(items[n].org, sizeof items[n].org, "%s", col_text(q, 1));
		snprintf(items[n].last, sizeof items[n].last, "%s", col_text(q, 2));
		n++;
	}
	store_finish(st, q);
	rc = rc == SQLITE_DONE ? KT_OK : rc == SQLITE_NOMEM ? KT_ENOMEM : KT_EIO;
	for (size_t i = 0; !rc && i < n; i++)
		rc = cb(user, items[i].id, items[i].org, items[i].last);
	free(items);
	return rc;
}
