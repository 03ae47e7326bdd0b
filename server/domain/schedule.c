/* schedule.c - see schedule.h. Validation reads go to SQL through
 * store_prepare; every change goes through store_insert/store_update so the
 * change log, the audit log and every device see it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "db/validate.h"
#include "domain/schedule.h"
#include "kt_util.h"

/* One text column of one row (?1 = a): KT_OK, KT_ENOT_FOUND, KT_EIO. */
static int one_text(kt_store *st, const char *sql, const char *a, const char *b, char *out, size_t cap)
{
	sqlite3_stmt *s = store_prepare(st, sql);
	int rc;
	if (!s)
		return KT_EIO;
	sqlite3_bind_text(s, 1, a, -1, SQLITE_STATIC);
	if (b)
		sqlite3_bind_text(s, 2, b, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		kt_strcpy_cut(out, cap, sqlite3_column_text(s, 0) ? (const char *)sqlite3_column_text(s, 0) : "");
	store_finish(st, s);
	return rc == SQLITE_ROW ? KT_OK : rc == SQLITE_DONE ? KT_ENOT_FOUND : KT_EIO;
}

static int begin(kt_store *st, char *err, size_t errlen)
{
	int rc = store_begin(st);
	return rc ? kt_fail(err, errlen, rc, "the database is busy or failed (%s); try again", kt_strerror(rc)) : KT_OK;
}

static int saved(int rc, char *err, size_t errlen)
{
	return rc ? kt_fail(err, errlen, rc, "could not save (%s)", kt_strerror(rc)) : KT_OK;
}

int schedule_set_hours(kt_store *st, const char *location_id, const char *staff_id, int weekday,
		       const char *intervals, char *was, size_t cap, char *err, size_t errlen)
{
	const char *tbl = staff_id ? "working_hours" : "opening_hours";
	const kt_table *t = kt_table_find(tbl, strlen(tbl));
	char org[KT_UUID_LEN + 1], sorg[KT_UUID_LEN + 1], wd[4], id[KT_UUID_LEN + 1], cur[200];
	int rc;

	snprintf(wd, sizeof wd, "%d", weekday);
	if ((rc = validate_field(t, "weekday", wd, err, errlen)) ||
	    (rc = validate_field(t, "intervals", intervals, err, errlen)))
		return rc;
	if ((rc = begin(st, err, errlen)))
		return rc;
	rc = one_text(st, "SELECT org_id FROM location WHERE id = ?1", location_id, NULL, org, sizeof org);
	if (rc) {
		rc = rc == KT_ENOT_FOUND ? kt_fail(err, errlen, rc, "no location %s", location_id) : saved(rc, err, errlen);
		return store_end(st, rc, err, errlen);
	}
	if (staff_id) {
		rc = one_text(st, "SELECT s.org_id FROM staff s JOIN staff_location sl ON sl.staff_id = s.id "
				  "WHERE s.id = ?1 AND sl.location_id = ?2",
			      staff_id, location_id, sorg, sizeof sorg);
		if (rc == KT_ENOT_FOUND)
			rc = kt_fail(err, errlen, rc, "staff member %s does not work at location %s (staff location ID add "
						   "LOCATION first)", staff_id, location_id);
		if (rc)
			return store_end(st, rc, err, errlen);
	}
	sqlite3_stmt *s = store_prepare(st, staff_id ? "SELECT id, intervals FROM working_hours WHERE location_id = ?1 "
						       "AND weekday = ?2 AND staff_id = ?3"
						     : "SELECT id, intervals FROM opening_hours WHERE location_id = ?1 "
						       "AND weekday = ?2");
	if (!s)
		return store_end(st, saved(KT_EIO, err, errlen), err, errlen);
	sqlite3_bind_text(s, 1, location_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, weekday);
	if (staff_id)
		sqlite3_bind_text(s, 3, staff_id, -1, SQLITE_STATIC);
	id[0] = 0;
	kt_strcpy_cut(cur, sizeof cur, "not set");
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		kt_strcpy_cut(id, sizeof id, (const char *)sqlite3_column_text(s, 0));
		kt_strcpy_cut(cur, sizeof cur, sqlite3_column_text(s, 1) && *sqlite3_column_text(s, 1)
						       ? (const char *)sqlite3_column_text(s, 1)
						       : "closed");
	}
	store_finish(st, s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_end(st, saved(KT_EIO, err, errlen), err, errlen);
	if (was)
		kt_strcpy_cut(was, cap, cur);
	kt_field iv = {"intervals", intervals};
	if (id[0])
		rc = saved(store_update(st, tbl, id, &iv, 1, NULL), err, errlen);
	else {
		kt_field f[] = {{"location_id", location_id}, {"weekday", wd}, iv, {"staff_id", staff_id}};
		kt_uuid7(id);
		rc = saved(store_insert(st, tbl, id, org, f, staff_id ? 4 : 3, NULL), err, errlen);
	}
	return store_end(st, rc, err, errlen);
}

int schedule_add_closed(kt_store *st, const char *location_id, const char *day, const char *reason, char *err,
			size_t errlen)
{
	const kt_table *t = kt_table_find("closed_day", 10);
	char org[KT_UUID_LEN + 1], id[KT_UUID_LEN + 1];
	kt_field f[] = {{"location_id", location_id}, {"day", day}, {"reason", reason}};
	int rc;

	if ((rc = validate_fields(t, f, 3, err, errlen)))
		return rc;
	if ((rc = begin(st, err, errlen)))
		return rc;
	rc = one_text(st, "SELECT org_id FROM location WHERE id = ?1", location_id, NULL, org, sizeof org);
	if (rc)
		return store_end(st, rc == KT_ENOT_FOUND ? kt_fail(err, errlen, rc, "no location %s", location_id)
						    : saved(rc, err, errlen),
			    err, errlen);
	rc = one_text(st, "SELECT id FROM closed_day WHERE location_id = ?1 AND day = ?2", location_id, day, id,
		      sizeof id);
	if (rc == KT_OK)
		rc = saved(store_update(st, "closed_day", id, &f[2], 1, NULL), err, errlen);
	else if (rc == KT_ENOT_FOUND) {
		kt_uuid7(id);
		rc = saved(store_insert(st, "closed_day", id, org, f, 3, NULL), err, errlen);
	} else
		rc = saved(rc, err, errlen);
	return store_end(st, rc, err, errlen);
}

int schedule_add_time_off(kt_store *st, const char *staff_id, int64_t from_at, int64_t to_at, const char *reason,
			  char id_out[KT_UUID_LEN + 1], char *err, size_t errlen)
{
	const kt_table *t = kt_table_find("time_off", 8);
	char org[KT_UUID_LEN + 1], from[24], to[24];
	int rc;

	snprintf(from, sizeof from, "%lld", (long long)from_at);
	snprintf(to, sizeof to, "%lld", (long long)to_at);
	kt_field f[] = {{"staff_id", staff_id}, {"from_at", from}, {"to_at", to}, {"reason", reason}};
	id_out[0] = 0;
	if ((rc = validate_fields(t, f, 4, err, errlen)))
		return rc;
	if ((rc = begin(st, err, errlen)))
		return rc;
	rc = one_text(st, "SELECT org_id FROM staff WHERE id = ?1", staff_id, NULL, org, sizeof org);
	if (rc)
		return store_end(st, rc == KT_ENOT_FOUND ? kt_fail(err, errlen, rc, "no staff member %s", staff_id)
						    : saved(rc, err, errlen),
			    err, errlen);
	kt_uuid7(id_out);
	rc = saved(store_insert(st, "time_off", id_out, org, f, 4, NULL), err, errlen);
	if (rc)
		id_out[0] = 0;
	return store_end(st, rc, err, errlen);
}

/* Every element of a comma list is a row of tbl in org. */
static int ids_of_org(kt_store *st, const char *tbl, const char *list, const char *org, const char *field, char *err,
		      size_t errlen)
{
	char sql[96], id[KT_UUID_LEN + 1], got[KT_UUID_LEN + 1];
	snprintf(sql, sizeof sql, "SELECT org_id FROM %s WHERE id = ?1", tbl);
	for (const char *p = list; p && *p;) {
		size_t n = strcspn(p, ",");
		snprintf(id, sizeof id, "%.*s", (int)(n < KT_UUID_LEN ? n : KT_UUID_LEN), p);
		int rc = one_text(st, sql, id, NULL, got, sizeof got);
		if (rc == KT_ENOT_FOUND || (!rc && strcmp(got, org)))
			return kt_fail(err, errlen, KT_ENOT_FOUND, "%s: no %s %s in this organisation", field,
				    !strcmp(tbl, "staff") ? "staff member" : tbl, id);
		if (rc)
			return saved(rc, err, errlen);
		p += n + (p[n] == ',');
	}
	return KT_OK;
}

int schedule_service_put(kt_store *st, const char *org, const char *id, const kt_field *f, int n,
			 char id_out[KT_UUID_LEN + 1], char *err, size_t errlen)
{
	const kt_table *t = kt_table_find("service", 7);
	char sorg[KT_UUID_LEN + 1];
	int rc;

	id_out[0] = 0;
	if (n < 1)
		return kt_fail(err, errlen, KT_EINVALID, "nothing to change: give --name, --duration, --price, --locations, "
						      "--specialists or --buffer");
	if ((rc = validate_fields(t, f, n, err, errlen)))
		return rc;
	if ((rc = begin(st, err, errlen)))
		return rc;
	if (id) {
		rc = one_text(st, "SELECT org_id FROM service WHERE id = ?1", id, NULL, sorg, sizeof sorg);
		if (rc)
			return store_end(st, rc == KT_ENOT_FOUND ? kt_fail(err, errlen, rc, "no service %s", id)
							    : saved(rc, err, errlen),
				    err, errlen);
		org = sorg;
	}
	for (int i = 0; i < n && !rc; i++) {
		if (!strcmp(f[i].name, "location_ids"))
			rc = ids_of_org(st, "location", f[i].text, org, "--locations", err, errlen);
		else if (!strcmp(f[i].name, "specialist_ids"))
			rc = ids_of_org(st, "staff", f[i].text, org, "--specialists", err, errlen);
	}
	if (!rc && id)
		rc = saved(store_update(st, "service", id, f, n, NULL), err, errlen);
	else if (!rc) {
		const char *need[] = {"name", "duration_min", "price_cents"};
		for (size_t k = 0; k < 3 && !rc; k++) {
			bool has = false;
			for (int i = 0; i < n; i++)
				has |= !strcmp(f[i].name, need[k]) && f[i].text;
			if (!has)
				rc = kt_fail(err, errlen, KT_EINVALID, "a new service needs --name, --duration and --price");
		}
		if (!rc) {
			kt_uuid7(id_out);
			rc = saved(store_insert(st, "service", id_out, org, f, n, NULL), err, errlen);
		}
	}
	if (rc)
		id_out[0] = 0;
	return store_end(st, rc, err, errlen);
}
