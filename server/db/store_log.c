/* store_log.c - the change log: appending entries, reading them after a
 * cursor (never past a commit that is not yet durable), and the snapshot
 * and rights-diff pages a device gets instead of the log. */
#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "db/store_internal.h"

int st_log_change(kt_store *st, const char *org, const kt_table *t, const char *id, bool deleted,
		  const char *loc_old, const char *client_old, const char *loc_new,
		  const char *client_new)
{
	static const char sql[] =
		"INSERT INTO changelog(org_id, tbl, row_id, op, loc_old, loc_new, client_old, client_new, at)"
		" VALUES(?, ?, ?, ?, ?, ?, nullif(?, ''), nullif(?, ''), ?)";
	return st_run(st, sql, "tttttttti", org, t->name, id, deleted ? "delete" : "put", loc_old ? loc_old : "",
		      loc_new ? loc_new : "", client_old ? client_old : "", client_new ? client_new : "",
		      kt_now_ms());
}

void kt_log_entry_free(kt_log_entry *e)
{
	if (!e)
		return;
	free(e->loc_old);
	free(e->loc_new);
	e->loc_old = e->loc_new = NULL;
}

static int64_t scalar64(kt_store *st, const char *sql)
{
	sqlite3_stmt *s = st_prep(st, sql);
	int64_t v = 0;
	if (s && sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	if (s)
		st_finish(st, s);
	return v;
}

int64_t store_max_seq(kt_store *st)
{
	static const char sql[] = "SELECT coalesce(max(seq), 0) FROM changelog";
	return scalar64(st, sql);
}

int64_t store_min_seq(kt_store *st)
{
	static const char sql[] = "SELECT coalesce(min(seq), 0) FROM changelog";
	return scalar64(st, sql);
}

/* The first change log seq of a commit that is published but not yet
 * durable (the push writer's pipelined sync, writer.c), INT64_MAX when
 * there is none: no reader in this process passes it on before it is. */
static _Atomic int64_t log_hold = INT64_MAX;

void store_log_hold(int64_t from)
{
	atomic_store(&log_hold, from);
}

void store_log_release(int64_t from)
{
	int64_t want = from;
	atomic_compare_exchange_strong(&log_hold, &want, INT64_MAX);
}

/* Commits that may have been published before their fsync, counted: a
 * read transaction whose snapshot was taken when pub_gen was G holds
 * nothing unsynced once synced_gen >= G (the writer publishes the next
 * commit only after the last one's fsync, so the counts stay in order). */
static _Atomic uint64_t pub_gen, synced_gen;
static atomic_bool sync_failed;
static pthread_mutex_t synced_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t synced_cv = PTHREAD_COND_INITIALIZER;

uint64_t store_publish_unsynced(void)
{
	return atomic_fetch_add(&pub_gen, 1) + 1;
}

void store_published_synced(uint64_t gen)
{
	pthread_mutex_lock(&synced_mu);
	if (gen > atomic_load(&synced_gen))
		atomic_store(&synced_gen, gen);
	atomic_store(&sync_failed, false);
	pthread_cond_broadcast(&synced_cv);
	pthread_mutex_unlock(&synced_mu);
}

void store_published_failed(void)
{
	pthread_mutex_lock(&synced_mu);
	atomic_store(&sync_failed, true);
	pthread_cond_broadcast(&synced_cv);
	pthread_mutex_unlock(&synced_mu);
}

int store_read_durable(kt_store *st, int wait_ms)
{
	static const char begin[] = "BEGIN", pin[] = "SELECT 1 FROM changelog LIMIT 1";
	if (st->reading++)
		return KT_OK;
	sqlite3_stmt *s = st_prep(st, begin);
	int rc = s ? sqlite3_step(s) : SQLITE_NOMEM;
	st_finish(st, s);
	/* a deferred BEGIN takes its snapshot at the first read */
	if (rc == SQLITE_DONE && (s = st_prep(st, pin))) {
		rc = sqlite3_step(s);
		st_finish(st, s);
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		store_read_end(st);
		return st_sql_err(st, rc);
	}
	/* read after the snapshot: every commit in it was counted by now */
	uint64_t need = atomic_load(&pub_gen);
	if (atomic_load(&synced_gen) >= need)
		return KT_OK;
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	until.tv_sec += wait_ms / 1000 + until.tv_nsec / 1000000000L;
	until.tv_nsec %= 1000000000L;
	rc = 0;
	pthread_mutex_lock(&synced_mu);
	while (atomic_load(&synced_gen) < need && !atomic_load(&sync_failed) && rc == 0)
		rc = pthread_cond_timedwait(&synced_cv, &synced_mu, &until);
	bool ok = atomic_load(&synced_gen) >= need;
	pthread_mutex_unlock(&synced_mu);
	if (ok)
		return KT_OK;
	store_read_end(st);
	return KT_EBUSY;
}

void store_read_end(kt_store *st)
{
	static const char end[] = "COMMIT";
	if (st->reading <= 0 || --st->reading)
		return;
	if (!sqlite3_get_autocommit(st->db)) {
		sqlite3_stmt *s = st_prep(st, end);
		if (s)
			(void)sqlite3_step(s);
		st_finish(st, s);
	}
}

int store_log_read(kt_store *st, int64_t after, kt_log_entry *out, int max, int *n)
{
	static const char sql[] =
		"SELECT seq, org_id, tbl, row_id, op, loc_old, loc_new, client_old, client_new, at "
		"FROM changelog WHERE seq > ? AND seq < ? ORDER BY seq LIMIT ?";
	sqlite3_stmt *s = st_prep(st, sql);
	int rc;

	*n = 0;
	if (!s)
		return KT_EIO;
	sqlite3_bind_int64(s, 1, after);
	sqlite3_bind_int64(s, 2, atomic_load(&log_hold));
	sqlite3_bind_int(s, 3, max);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		kt_log_entry *e = &out[*n];
		const unsigned char *tbl = sqlite3_column_text(s, 2);
		memset(e, 0, sizeof *e);
		e->seq = sqlite3_column_int64(s, 0);
		kt_strcpy_cut(e->org, sizeof e->org, (const char *)sqlite3_column_text(s, 1));
		e->t = kt_table_find((const char *)tbl, (size_t)sqlite3_column_bytes(s, 2));
		kt_strcpy_cut(e->id, sizeof e->id, (const char *)sqlite3_column_text(s, 3));
		e->deleted = strcmp((const char *)sqlite3_column_text(s, 4), "delete") == 0;
		e->loc_old = st_dup_text(sqlite3_column_text(s, 5));
		e->loc_new = st_dup_text(sqlite3_column_text(s, 6));
		kt_strcpy_cut(e->client_old, sizeof e->client_old, (const char *)sqlite3_column_text(s, 7));
		kt_strcpy_cut(e->client_new, sizeof e->client_new, (const char *)sqlite3_column_text(s, 8));
		e->at = sqlite3_column_int64(s, 9);
		if (!e->loc_old || !e->loc_new) {
			kt_log_entry_free(e);
			rc = SQLITE_NOMEM; /* an entry skipped here would never reach a device */
			break;
		}
		if (!e->t) {
			kt_log_entry_free(e);
			continue; /* a table this build does not sync: skip, never guess */
		}
		(*n)++;
	}
	st_finish(st, s);
	if (rc == SQLITE_DONE)
		return KT_OK;
	/* all or nothing: callers give up on an error without freeing */
	for (int i = 0; i < *n; i++)
		kt_log_entry_free(&out[i]);
	*n = 0;
	return rc == SQLITE_NOMEM ? KT_ENOMEM : st_sql_err(st, rc);
}

bool store_data_changed(kt_store *st)
{
	static const char sql[] = "PRAGMA data_version";
	int64_t v = scalar64(st, sql);
	bool changed = v != st->data_version;
	st->data_version = v;
	return changed;
}

/* ---- snapshots ---- */

static int rows_page(kt_store *st, const kt_table *t, const char *where, const char *principal_id,
		     const char *org, const char *p5, const char *p6, uint64_t open, const char *after_id,
		     int limit, kt_row_cb cb, void *user, char last_id[KT_UUID_LEN + 1], int *n);

int store_snapshot_page(kt_store *st, const kt_table *t, const char *where, const char *principal_id,
			const char *org, const char *after_id, int limit, kt_row_cb cb, void *user,
			char last_id[KT_UUID_LEN + 1], int *n)
{
	return rows_page(st, t, where, principal_id, org, NULL, NULL, ~0ull, after_id, limit, cb, user, last_id, n);
}

int store_diff_page(kt_store *st, const kt_table *t, const char *where, const char *principal_id,
		    const char *org, const char *p5, const char *p6, bool open, const char *after_id, int limit,
		    kt_row_cb cb, void *user, char last_id[KT_UUID_LEN + 1], int *n)
{
	return rows_page(st, t, where, principal_id, org, p5, p6, open ? ~0ull : 0, after_id, limit, cb, user,
			 last_id, n);
}

static int rows_page(kt_store *st, const kt_table *t, const char *where, const char *principal_id,
		     const char *org, const char *p5, const char *p6, uint64_t open, const char *after_id,
		     int limit, kt_row_cb cb, void *user, char last_id[KT_UUID_LEN + 1], int *n)
{
	sqlite3_stmt *s;
	int rc = KT_OK;

	*n = 0;
	last_id[0] = 0;
	if (!(s = st_page_prep(st, t, where, principal_id, org, after_id, limit, &rc)))
		return rc;
	if (p5)
		sqlite3_bind_text(s, 5, p5, -1, SQLITE_STATIC);
	if (p6)
		sqlite3_bind_text(s, 6, p6, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		kt_row row;
		if ((rc = st_read_row_some(st, s, t, open, &row)))
			goto out;
		snprintf(last_id, KT_UUID_LEN + 1, "%s", row.v[0].s ? row.v[0].s : "");
		rc = cb(user, &row);
		kt_row_free(&row);
		(*n)++;
		if (rc)
			goto out;
	}
	rc = rc == SQLITE_DONE ? KT_OK : st_sql_err(st, rc);
out:
	st_finish(st, s);
	return rc;
}

int64_t store_snapshot_count(kt_store *st, const kt_table *t, const char *where,
			     const char *principal_id, const char *org)
{
	char sql[1024];
	sqlite3_stmt *s;
	int64_t n = 0;
	snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE (%s)", t->name, where);
	if (!(s = st_prep(st, sql)))
		return 0;
	sqlite3_bind_text(s, 1, principal_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, org, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	st_finish(st, s);
	return n;
}

/* The rows that go where another row goes move with it: consents with
 * their client (KT_ROUTE_VIA_CLIENT), time off with its staff member
 * (KT_ROUTE_VIA_STAFF). Log a put of each with the owner's old and new
 * locations, so devices that gain the owner get them and devices that lose
 * it get evictions. No audit entry: the link's own entry records the move. */
int st_relog_rows(kt_store *st, const char *org, kt_route route, const char *owner_id, const char *loc_old,
		  const char *loc_new)
{
	const char *col = route == KT_ROUTE_VIA_CLIENT ? "client_id" : "staff_id";
	const char *client = route == KT_ROUTE_VIA_CLIENT ? owner_id : NULL;
	for (int i = 0; i < kt_table_count; i++) {
		const kt_table *t = &kt_tables[i];
		char sql[128];
		sqlite3_stmt *s;
		int rc = SQLITE_DONE;
		if (t->route != route)
			continue;
		snprintf(sql, sizeof sql, "SELECT id FROM %s WHERE %s = ? ORDER BY id", t->name, col);
		if (!(s = st_prep(st, sql)))
			return KT_EIO;
		sqlite3_bind_text(s, 1, owner_id, -1, SQLITE_STATIC);
		/* st_log_change uses another statement: this one stays valid while it runs */
		while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
			char id[KT_UUID_LEN + 1];
			snprintf(id, sizeof id, "%s", (const char *)sqlite3_column_text(s, 0));
			int lrc = st_log_change(st, org, t, id, false, loc_old, client, loc_new, client);
			if (lrc) {
				st_finish(st, s);
				return lrc;
			}
		}
		st_finish(st, s);
		if (rc != SQLITE_DONE)
			return st_sql_err(st, rc);
	}
	return KT_OK;
}
