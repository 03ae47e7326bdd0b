/* table_export.c - see table_export.h. Rows are read through the store (the
 * sealed columns decrypted with each client's key), one row at a time, and
 * written as they come: CSV through libcsv's quoting, JSON through jansson. */
#include <csv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <jansson.h>
#include <unicode/ucal.h>
#include <unicode/ustring.h>
#include "db/audit.h"
#include "domain/consent.h"
#include "domain/table_export.h"
#include "kt_util.h"

int table_export_local_time(int64_t ms, const char *zone, char out[32])
{
	UChar uz[80];
	UErrorCode e = U_ZERO_ERROR;
	UCalendar *cal;
	int32_t zl = 0;
	u_strFromUTF8(uz, 80, &zl, zone, -1, &e);
	if (U_FAILURE(e))
		return KT_EINVALID;
	cal = ucal_open(uz, zl, "en_GB", UCAL_GREGORIAN, &e);
	if (U_FAILURE(e))
		return KT_EINVALID;
	/* ICU falls back to GMT for a zone it does not know: refuse that */
	UChar got[80];
	UErrorCode e2 = U_ZERO_ERROR;
	int32_t gl = ucal_getTimeZoneID(cal, got, 80, &e2);
	if (U_FAILURE(e2) || (gl != zl || u_strncmp(got, uz, zl) != 0)) {
		ucal_close(cal);
		return KT_EINVALID;
	}
	ucal_setMillis(cal, (UDate)ms, &e);
	snprintf(out, 32, "%04d-%02d-%02d %02d:%02d", ucal_get(cal, UCAL_YEAR, &e), ucal_get(cal, UCAL_MONTH, &e) + 1,
		 ucal_get(cal, UCAL_DATE, &e), ucal_get(cal, UCAL_HOUR_OF_DAY, &e), ucal_get(cal, UCAL_MINUTE, &e));
	ucal_close(cal);
	return U_FAILURE(e) ? KT_EINVALID : KT_OK;
}

/* ---- one writer for both formats ---- */

typedef struct sink {
	int format;
	FILE *out;
	const char *const *cols;
	int ncols;
	json_t *arr;  /* JSON: the rows so far */
	json_t *cur;  /* JSON: the row being written */
	int col;      /* CSV: cells written in this row */
	bool failed;
} sink;

static void sink_begin_row(sink *k)
{
	k->col = 0;
	if (k->format == TABLE_EXPORT_JSON)
		k->cur = json_object();
}

static void sink_cell(sink *k, const char *v)
{
	if (k->format == TABLE_EXPORT_JSON) {
		if (!k->cur || json_object_set_new(k->cur, k->cols[k->col], v ? json_string(v) : json_null()))
			k->failed = true;
	} else {
		if (k->col && fputc(',', k->out) == EOF)
			k->failed = true;
		if (v && *v && csv_fwrite(k->out, v, strlen(v)))
			k->failed = true;
	}
	k->col++;
}

/* A whole number: a number in JSON, its digits in CSV. */
static void sink_int(sink *k, int64_t v)
{
	char t[KT_I64_TEXT];
	if (k->format == TABLE_EXPORT_JSON) {
		if (!k->cur || json_object_set_new(k->cur, k->cols[k->col], json_integer(v)))
			k->failed = true;
		k->col++;
		return;
	}
	kt_i64_text(t, v);
	sink_cell(k, t);
}

static void sink_end_row(sink *k)
{
	if (k->format == TABLE_EXPORT_JSON) {
		if (!k->cur || json_array_append_new(k->arr, k->cur))
			k->failed = true;
		k->cur = NULL;
	} else if (fputs("\r\n", k->out) == EOF)
		k->failed = true;
}

static void sink_header(sink *k)
{
	if (k->format == TABLE_EXPORT_JSON)
		return;
	for (int i = 0; i < k->ncols; i++) {
		if (i)
			fputc(',', k->out);
		fputs(k->cols[i], k->out); /* plain names: no quoting needed */
	}
	if (fputs("\r\n", k->out) == EOF)
		k->failed = true;
}

static const char *text(const kt_row *r, const char *col)
{
	int i = kt_col_index(r->t, col);
	return i >= 0 && !r->v[i].null ? r->v[i].s : NULL;
}

/* ---- clients ---- */

static const char *const client_cols[] = {
	"id", "name", "email", "phone", "birthday", "address", "allergies", "conditions", "medications",
	"skin_hair_type", "patch_tests", "preferences", "notes", "locations", "consent:marketing_email",
	"consent:marketing_sms", "consent:birthday_greetings", "consent:review_requests", "consent:photo_use",
	"consent:health_data",
};

/* The rows of org, of location loc only when not NULL: ?1 and ?2 of sql. */
static sqlite3_stmt *scoped(kt_store *st, const char *sql, const char *org, const char *loc)
{
	sqlite3_stmt *q = store_prepare(st, sql);
	if (q) {
		sqlite3_bind_text(q, 1, org, -1, SQLITE_STATIC);
		if (loc)
			sqlite3_bind_text(q, 2, loc, -1, SQLITE_STATIC);
	}
	return q;
}

static int export_clients(kt_store *st, const char *org, const char *loc, sink *k, int *rows)
{
	static const char *const fields[] = {"name", "email", "phone", "birthday", "address", "allergies", "conditions",
					     "medications", "skin_hair_type", "patch_tests", "preferences",
					     "internal_notes"};
	static const char *const purposes[] = {"marketing_email", "marketing_sms", "birthday_greetings",
					       "review_requests", "photo_use", "health_data"};
	const kt_table *ct = kt_table_find("client", 6);
	/* the placeholder that erased clients' kept appointments point to is nobody's card */
	sqlite3_stmt *q = scoped(st, "SELECT c.id, coalesce((SELECT group_concat(name, ', ') FROM (SELECT l.name "
					    "FROM client_location cl JOIN location l ON l.id = cl.location_id WHERE "
					    "cl.client_id = c.id ORDER BY l.name)), '') FROM client c WHERE c.org_id = ?1 "
					    "AND (?2 IS NULL OR c.id IN (SELECT client_id FROM client_location WHERE "
					    "location_id = ?2)) AND c.id NOT IN (SELECT client_id FROM erasure_placeholder) "
					    "ORDER BY c.id", org, loc);
	int rc = KT_OK, src;
	if (!q)
		return KT_EIO;
	while (!rc && !k->failed && (src = sqlite3_step(q)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(q, 0);
		kt_row r = {0};
		if ((rc = store_row_load(st, ct, id, &r)))
			break;
		sink_begin_row(k);
		sink_cell(k, id);
		for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
			sink_cell(k, text(&r, fields[i]));
		sink_cell(k, (const char *)sqlite3_column_text(q, 1));
		for (size_t i = 0; i < sizeof purposes / sizeof purposes[0]; i++) {
			bool granted = false;
			int c = consent_latest(st, id, purposes[i], &granted, NULL);
			if (c && c != KT_ENOT_FOUND)
				rc = c;
			sink_cell(k, c ? NULL : granted ? "yes" : "no");
		}
		sink_end_row(k);
		kt_row_free(&r);
		(*rows)++;
	}
	if (!rc && !k->failed && src != SQLITE_DONE)
		rc = KT_EIO;
	store_finish(st, q);
	return rc;
}

/* ---- appointments ---- */

static const char *const appt_cols[] = {
	"id", "location", "start", "zone", "duration_min", "status", "client", "client_id",
	"specialist", "specialist_id", "services", "note", "internal_note",
};

/* The service names an appointment was written with (a JSON array, the
 * store's KT_COL_NAMES), joined by ", " (malloc'd; "" when there are none). */
static char *names_joined(const char *names_json)
{
	json_t *a = names_json ? json_loads(names_json, 0, NULL) : NULL;
	size_t i, len = 0, cap = 1;
	json_t *v;
	char *out;
	json_array_foreach(a, i, v) cap += strlen(json_string_value(v) ? json_string_value(v) : "") + 2;
	if ((out = malloc(cap))) {
		out[0] = 0;
		json_array_foreach(a, i, v) len += (size_t)snprintf(out + len, cap - len, "%s%s", len ? ", " : "",
								     json_string_value(v) ? json_string_value(v) : "");
	}
	json_decref(a);
	return out;
}

static int export_appointments(kt_store *st, const char *org, const char *loc, sink *k, int *rows)
{
	const kt_table *at = kt_table_find("appointment", 11), *ct = kt_table_find("client", 6);
	const int name_col[] = {kt_col_index(ct, "name")};
	/* specialist and services by the names on the record, as the client's
	 * phone shows them: who did it then, not who has that id now */
	sqlite3_stmt *q = scoped(st, "SELECT a.id, l.name, l.time_zone FROM appointment a JOIN location l ON "
				     "l.id = a.location_id WHERE a.org_id = ?1 AND (?2 IS NULL OR a.location_id = ?2) "
				     "ORDER BY a.start_at, a.id", org, loc);
	int rc = KT_OK, src;
	if (!q)
		return KT_EIO;
	while (!rc && !k->failed && (src = sqlite3_step(q)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(q, 0), *zone = (const char *)sqlite3_column_text(q, 2);
		kt_row r = {0}, c = {0};
		char start[32], *services;
		if ((rc = store_row_load(st, at, id, &r)))
			break;
		int si = kt_col_index(at, "start_at"), di = kt_col_index(at, "duration_min");
		if (table_export_local_time(r.v[si].i, zone, start))
			snprintf(start, sizeof start, "?");
		const char *cid = text(&r, "client_id");
		bool have_client = cid && store_row_load_some(st, ct, cid, name_col, 1, &c) == KT_OK;
		services = names_joined(text(&r, "service_names"));
		sink_begin_row(k);
		sink_cell(k, id);
		sink_cell(k, (const char *)sqlite3_column_text(q, 1));
		sink_cell(k, start);
		sink_cell(k, zone);
		sink_int(k, r.v[di].i);
		sink_cell(k, text(&r, "status"));
		sink_cell(k, have_client ? text(&c, "name") : NULL);
		sink_cell(k, cid);
		sink_cell(k, text(&r, "specialist_name"));
		sink_cell(k, text(&r, "specialist_id"));
		sink_cell(k, services);
		sink_cell(k, text(&r, "client_note"));
		sink_cell(k, text(&r, "internal_note"));
		sink_end_row(k);
		free(services);
		if (have_client)
			kt_row_free(&c);
		kt_row_free(&r);
		(*rows)++;
	}
	if (!rc && !k->failed && src != SQLITE_DONE)
		rc = KT_EIO;
	store_finish(st, q);
	return rc;
}

int table_export(kt_store *st, int what, const char *org, const char *location_id, int format, FILE *out,
		 const char *label, int *rows, char *err, size_t cap)
{
	bool clients = what == TABLE_EXPORT_CLIENTS;
	sink k = {format, out, clients ? client_cols : appt_cols,
		  clients ? (int)(sizeof client_cols / sizeof client_cols[0]) : (int)(sizeof appt_cols / sizeof appt_cols[0])};
	char *after = NULL;
	json_t *a = NULL;
	bool open = true;
	int rc;
	*rows = 0;
	/* a read transaction: one consistent view, and a server serving the
	 * same file goes on writing meanwhile */
	if ((rc = store_begin_read(st))) {
		snprintf(err, cap, "cannot read the database: %s", kt_strerror(rc));
		return rc;
	}
	if (format == TABLE_EXPORT_JSON && !(k.arr = json_array())) {
		rc = KT_ENOMEM;
		goto out;
	}
	sink_header(&k);
	rc = clients ? export_clients(st, org, location_id, &k, rows) : export_appointments(st, org, location_id, &k, rows);
	if (rc) {
		snprintf(err, cap, "cannot read the %s: %s", clients ? "clients" : "appointments", kt_strerror(rc));
		goto out;
	}
	if (format == TABLE_EXPORT_JSON && !k.failed) {
		char oname[128] = "";
		sqlite3_stmt *q = store_prepare(st, "SELECT name FROM organisation WHERE id = ?1");
		if (q) {
			sqlite3_bind_text(q, 1, org, -1, SQLITE_STATIC);
			if (sqlite3_step(q) == SQLITE_ROW)
				snprintf(oname, sizeof oname, "%s", (const char *)sqlite3_column_text(q, 0));
			store_finish(st, q);
		}
		json_t *doc = json_pack("{s:s, s:s, s:O}", "organisation", oname, "organisation_id", org,
					clients ? "clients" : "appointments", k.arr);
		if (!doc || json_dumpf(doc, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER) || fputc('\n', out) == EOF)
			k.failed = true;
		json_decref(doc);
	}
	if (k.failed || fflush(out) || ferror(out)) {
		snprintf(err, cap, "cannot write %s", label);
		rc = KT_EIO;
		goto out;
	}
	if ((rc = store_commit(st))) { /* ends the read */
		open = false;
		snprintf(err, cap, "cannot read the database: %s", kt_strerror(rc));
		goto out;
	}
	open = false;
	/* recorded once the file is written whole (a file that was not is removed) */
	if (!(a = json_pack("{s:s, s:s, s:i, s:s, s:s?}", "what", clients ? "clients" : "appointments", "format",
			    format == TABLE_EXPORT_JSON ? "json" : "csv", "rows", *rows, "to", label, "location",
			    location_id)) ||
	    !(after = json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS))) {
		rc = KT_ENOMEM;
		goto out;
	}
	kt_audit_entry e = {org, "exported", "organisation", org, NULL, location_id, NULL, NULL, after};
	if ((rc = store_begin(st)) || (open = true, rc = audit_append(st, &e)) || (rc = store_commit(st))) {
		snprintf(err, cap, "the export was written but could not be recorded in the audit log: %s",
			 kt_strerror(rc));
		goto out;
	}
	open = false;
out:
	if (rc && open)
		store_rollback(st);
	json_decref(a);
	free(after);
	json_decref(k.arr);
	json_decref(k.cur);
	return rc;
}
