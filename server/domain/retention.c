/* retention.c - see retention.h. Deletes only what devices can do without:
 * change log entries older than the window (a device that needs them gets a
 * snapshot instead) and stored push answers older than it (a replay gets
 * mutation_expired, never a second application). Never touches the audit
 * log, and never deletes the newest change log entry: seq is a plain
 * INTEGER PRIMARY KEY and would be reused after it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "kt_util.h"
#include "domain/hourly.h"
#include "domain/retention.h"

/* set by main before any thread starts */
static int changelog_days = KT_CHANGELOG_DAYS_DEFAULT, outbox_days = KT_OUTBOX_DAYS_DEFAULT;

int retention_config_set(const char *k, const char *v, const char **why)
{
	if (strcmp(k, "changelog_days") && strcmp(k, "outbox_days"))
		return 1;
	if (!kt_parse_int(v, 1, 3650, strcmp(k, "outbox_days") ? &changelog_days : &outbox_days)) {
		*why = "a whole number of days, 1 to 3650";
		return -1;
	}
	return 0;
}

int retention_outbox_days(void)
{
	return outbox_days;
}

int retention_days(void)
{
	return changelog_days;
}

static int64_t cutoff_of(int64_t now, int days)
{
	return now - (int64_t)days * 86400000LL;
}

/* One value of a one-row query with up to two int64 parameters; *null
 * when it is NULL. */
static int scalar(kt_store *st, const char *sql, int64_t a, int64_t b, int64_t *out, bool *null)
{
	sqlite3_stmt *q = store_prepare(st, sql);
	int rc = KT_EIO;
	*out = 0;
	if (null)
		*null = true;
	if (!q)
		return KT_EIO;
	if (sqlite3_bind_parameter_count(q) >= 1)
		sqlite3_bind_int64(q, 1, a);
	if (sqlite3_bind_parameter_count(q) >= 2)
		sqlite3_bind_int64(q, 2, b);
	if (sqlite3_step(q) == SQLITE_ROW) {
		if (null)
			*null = sqlite3_column_type(q, 0) == SQLITE_NULL;
		*out = sqlite3_column_int64(q, 0);
		rc = KT_OK;
	}
	store_finish(st, q);
	return rc;
}

/* The change log: entries are deleted as a prefix by seq, so that "older
 * than the oldest kept entry" (cursor.c) is exactly "something is missing". */
static int prune_changelog(kt_store *st, int64_t cutoff, int64_t *removed)
{
	int64_t bound;
	bool none;
	int rc;
	/* the first entry young enough to keep (entries are in time order; the
	 * scan from the lowest seq costs what is deleted), else the newest */
	rc = scalar(st,
		    "SELECT coalesce((SELECT seq FROM changelog WHERE at >= ?1 ORDER BY seq LIMIT 1),"
		    " (SELECT max(seq) FROM changelog))",
		    cutoff, 0, &bound, &none);
	if (rc || none)
		return rc;
	for (;;) {
		if ((rc = store_begin(st)))
			return rc;
		sqlite3_stmt *q = store_prepare(st, "DELETE FROM changelog WHERE seq < min(?1, (SELECT min(seq) FROM "
						    "changelog) + ?2)");
		if (!q) {
			store_rollback(st);
			return KT_EIO;
		}
		sqlite3_bind_int64(q, 1, bound);
		sqlite3_bind_int64(q, 2, KT_RETENTION_BATCH);
		rc = sqlite3_step(q) == SQLITE_DONE ? KT_OK : KT_EIO;
		int64_t n = rc ? 0 : sqlite3_changes(store_db(st));
		store_finish(st, q);
		if ((rc = store_end(st, rc, NULL, 0)))
			return rc;
		*removed += n;
		if (n < KT_RETENTION_BATCH)
			return KT_OK;
	}
}

typedef struct pair {
	char principal[64], device[160];
	int64_t max_mid;
} pair;

/* The (person, device) pairs with answers older than cutoff, and the
 * highest such mid of each. *out malloc'd. */
static int old_pairs(kt_store *st, int64_t cutoff, pair **out, int *n)
{
	sqlite3_stmt *q = store_prepare(st, "SELECT principal_id, device_id, max(mid) FROM mutation WHERE at < ?1 "
					    "GROUP BY principal_id, device_id");
	pair *v = NULL;
	int cap = 0, rc;
	*out = NULL;
	*n = 0;
	if (!q)
		return KT_EIO;
	sqlite3_bind_int64(q, 1, cutoff);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (*n == cap) {
			pair *nv = realloc(v, sizeof *v * (size_t)(cap = cap ? cap * 2 : 16));
			if (!nv) {
				rc = SQLITE_NOMEM;
				break;
			}
			v = nv;
		}
		pair *p = &v[*n];
		const char *pr = (const char *)sqlite3_column_text(q, 0), *dv = (const char *)sqlite3_column_text(q, 1);
		if (!pr || !dv || strlen(pr) >= sizeof p->principal || strlen(dv) >= sizeof p->device)
			continue; /* cannot be written by a push (limits): leave it */
		snprintf(p->principal, sizeof p->principal, "%s", pr);
		snprintf(p->device, sizeof p->device, "%s", dv);
		p->max_mid = sqlite3_column_int64(q, 2);
		(*n)++;
	}
	store_finish(st, q);
	if (rc != SQLITE_DONE) {
		free(v);
		*n = 0;
		return rc == SQLITE_NOMEM ? KT_ENOMEM : KT_EIO;
	}
	*out = v;
	return KT_OK;
}

/* One batch of a pair: the mark first (in the same transaction), then the
 * old answers at or below it. Answers written since the cutoff stay, also
 * below the mark (a mid that came late): a replay of them gets its answer. */
static int prune_pair_batch(kt_store *st, const pair *p, int64_t cutoff, int64_t now, int64_t *n)
{
	sqlite3_stmt *q;
	int rc;
	*n = 0;
	q = store_prepare(st, "INSERT INTO mutation_pruned(principal_id, device_id, max_mid, at) VALUES(?1, ?2, ?3, ?4)"
			      " ON CONFLICT(principal_id, device_id) DO UPDATE SET"
			      " max_mid = max(max_mid, excluded.max_mid), at = excluded.at");
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, p->principal, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, p->device, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, p->max_mid);
	sqlite3_bind_int64(q, 4, now);
	rc = sqlite3_step(q) == SQLITE_DONE ? KT_OK : KT_EIO;
	store_finish(st, q);
	if (rc)
		return rc;
	q = store_prepare(st, "DELETE FROM mutation WHERE principal_id = ?1 AND device_id = ?2 AND mid IN (SELECT mid "
			      "FROM mutation WHERE principal_id = ?1 AND device_id = ?2 AND mid <= ?3 AND at < ?4 "
			      "ORDER BY mid LIMIT ?5)");
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, p->principal, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, p->device, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, p->max_mid);
	sqlite3_bind_int64(q, 4, cutoff);
	sqlite3_bind_int64(q, 5, KT_RETENTION_BATCH);
	rc = sqlite3_step(q) == SQLITE_DONE ? KT_OK : KT_EIO;
	if (!rc)
		*n = sqlite3_changes(store_db(st));
	store_finish(st, q);
	return rc;
}

static int prune_mutations(kt_store *st, int64_t cutoff, int64_t now, int64_t *removed, int64_t *devices)
{
	pair *v;
	int n, rc;
	if ((rc = old_pairs(st, cutoff, &v, &n)))
		return rc;
	for (int i = 0; i < n && !rc; i++) {
		int64_t got;
		do {
			if ((rc = store_begin(st)))
				break;
			rc = prune_pair_batch(st, &v[i], cutoff, now, &got);
			if ((rc = store_end(st, rc, NULL, 0)))
				break;
			*removed += got;
		} while (got == KT_RETENTION_BATCH);
		if (!rc)
			(*devices)++;
	}
	free(v);
	return rc;
}

int retention_run(kt_store *st, int64_t now, int days, kt_retention_counts *removed)
{
	kt_retention_counts r = {0, 0, 0, 0, 0};
	int64_t cutoff = cutoff_of(now, days);
	int rc = prune_changelog(st, cutoff, &r.changelog);
	if (!rc)
		rc = prune_mutations(st, cutoff, now, &r.mutations, &r.devices);
	if (removed)
		*removed = r;
	return rc;
}

/* One batch of the outbox: the ids into a temporary table, their counts
 * into the tally, then the rows. */
static int prune_outbox_batch(kt_store *st, int64_t cutoff, int64_t *n)
{
	static const char *const steps[] = {
		"CREATE TEMP TABLE IF NOT EXISTS retention_outbox(id INTEGER PRIMARY KEY)",
		"DELETE FROM retention_outbox",
		"INSERT INTO retention_outbox SELECT o.id FROM outbox o LEFT JOIN appointment a ON a.id = o.appointment_id"
		" WHERE o.state IN ('sent', 'dropped', 'failed') AND o.purpose IN ('confirmation', 'change',"
		" 'cancellation', 'reminder', 'reminder2') AND o.created_at < ?1 AND coalesce(o.sent_at, o.next_at) < ?1"
		" AND (a.id IS NULL OR a.start_at < ?1) ORDER BY o.id LIMIT ?2",
		"INSERT INTO outbox_tally(org_id, location_id, hour, purpose, channel, state, n)"
		" SELECT org_id, coalesce(location_id, ''), created_at - created_at % 3600000, purpose, channel, state,"
		" count(*) FROM outbox WHERE id IN (SELECT id FROM retention_outbox)"
		" GROUP BY 1, 2, 3, 4, 5, 6 ON CONFLICT DO UPDATE SET n = n + excluded.n",
		"DELETE FROM outbox WHERE id IN (SELECT id FROM retention_outbox)",
	};
	*n = 0;
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		sqlite3_stmt *q = store_prepare(st, steps[i]);
		if (!q)
			return KT_EIO;
		if (sqlite3_bind_parameter_count(q) >= 2) {
			sqlite3_bind_int64(q, 1, cutoff);
			sqlite3_bind_int64(q, 2, KT_RETENTION_BATCH);
		}
		int rc = sqlite3_step(q) == SQLITE_DONE ? KT_OK : KT_EIO;
		if (!rc && i == sizeof steps / sizeof steps[0] - 1)
			*n = sqlite3_changes(store_db(st));
		store_finish(st, q);
		if (rc)
			return rc;
	}
	return KT_OK;
}

/* One batch of the rest: finished messages the deletion above keeps (the
 * planner reads them back, the statistics count them) lose what only the
 * sending needed: the address and the text, the bulk of a row and the part
 * that is personal. */
static int clear_outbox_batch(kt_store *st, int64_t cutoff, int64_t *n)
{
	sqlite3_stmt *q = store_prepare(st,
		"UPDATE outbox SET to_addr = '', subject = '', body = '', extra_headers = NULL WHERE id IN (SELECT id"
		" FROM outbox WHERE state IN ('sent', 'dropped', 'failed') AND created_at < ?1 AND"
		" coalesce(sent_at, next_at) < ?1 AND (to_addr <> '' OR subject <> '' OR body <> '' OR"
		" extra_headers IS NOT NULL) ORDER BY id LIMIT ?2)");
	int rc;
	*n = 0;
	if (!q)
		return KT_EIO;
	sqlite3_bind_int64(q, 1, cutoff);
	sqlite3_bind_int64(q, 2, KT_RETENTION_BATCH);
	rc = sqlite3_step(q) == SQLITE_DONE ? KT_OK : KT_EIO;
	if (!rc)
		*n = sqlite3_changes(store_db(st));
	store_finish(st, q);
	return rc;
}

int retention_run_outbox(kt_store *st, int64_t now, int days, int64_t *removed, int64_t *cleared)
{
	int64_t cutoff = cutoff_of(now, days), n;
	int rc;
	*removed = *cleared = 0;
	for (int step = 0; step < 2; step++)
		do {
			if ((rc = store_begin(st)))
				return rc;
			rc = step ? clear_outbox_batch(st, cutoff, &n) : prune_outbox_batch(st, cutoff, &n);
			if ((rc = store_end(st, rc, NULL, 0)))
				return rc;
			*(step ? cleared : removed) += n;
		} while (n == KT_RETENTION_BATCH);
	return KT_OK;
}

int retention_state(kt_store *st, int64_t now, int days, kt_retention_state *out)
{
	int64_t cutoff = cutoff_of(now, days);
	int rc;
	memset(out, 0, sizeof *out);
	if ((rc = store_begin_read(st)))
		return rc;
	if (!rc)
		rc = scalar(st, "SELECT count(*) FROM changelog", 0, 0, &out->rows.changelog, NULL);
	if (!rc)
		rc = scalar(st, "SELECT coalesce(min(seq), 0) FROM changelog", 0, 0, &out->changelog_min_seq, NULL);
	if (!rc)
		rc = scalar(st, "SELECT coalesce((SELECT at FROM changelog ORDER BY seq LIMIT 1), 0)", 0, 0,
			    &out->changelog_oldest, NULL);
	if (!rc) /* what the next pass deletes: the prefix before the first young entry, never the newest */
		rc = scalar(st,
			    "SELECT count(*) FROM changelog WHERE seq < coalesce((SELECT seq FROM changelog WHERE at >= ?1"
			    " ORDER BY seq LIMIT 1), (SELECT max(seq) FROM changelog))",
			    cutoff, 0, &out->due.changelog, NULL);
	if (!rc)
		rc = scalar(st, "SELECT count(*) FROM mutation", 0, 0, &out->rows.mutations, NULL);
	if (!rc)
		rc = scalar(st, "SELECT count(*) FROM mutation WHERE at < ?1", cutoff, 0, &out->due.mutations, NULL);
	if (!rc)
		rc = scalar(st, "SELECT coalesce(min(at), 0) FROM mutation", 0, 0, &out->mutations_oldest, NULL);
	if (!rc)
		rc = scalar(st, "SELECT count(*) FROM mutation_pruned", 0, 0, &out->rows.devices, NULL);
	int erc = store_commit(st);
	return rc ? rc : erc;
}

/* ---- the hourly pass of serve ---- */

static void retention_pass(kt_store *st)
{
	kt_retention_counts r;
	int64_t now = kt_now_ms();
	if (retention_run(st, now, changelog_days, &r) ||
	    retention_run_outbox(st, now, outbox_days, &r.outbox, &r.cleared))
		kt_info("retention: the pass failed; it runs again in an hour");
	else if (r.changelog || r.mutations || r.outbox || r.cleared)
		kt_info("retention: removed %lld change log entries and %lld stored answers older than %d days, "
			"%lld sent messages older than %d days (counted); cleared the address and text of %lld more",
			(long long)r.changelog, (long long)r.mutations, changelog_days, (long long)r.outbox,
			outbox_days, (long long)r.cleared);
}

int retention_pass_start(const char *db_path, kt_retention_pass **out)
{
	return hourly_start(db_path, "kt-retention", retention_pass, out);
}

void retention_pass_stop(kt_retention_pass *p)
{
	hourly_stop(p);
}
