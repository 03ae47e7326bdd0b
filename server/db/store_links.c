/* store_links.c - routing links (client and staff to location): each change
 * logs a put of the routed row with its old and new locations, so devices
 * that gain or lose sight of it are told. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "db/audit.h"
#include "db/schema.h"
#include "db/store_internal.h"

static char *locs_json(kt_store *st, const char *locs)
{
	static const char sql[] = "SELECT json_object('locations', ?)";
	sqlite3_stmt *s = st_prep(st, sql);
	char *out = NULL;
	if (!s)
		return NULL;
	sqlite3_bind_text(s, 1, locs ? locs : "", -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		out = strdup((const char *)sqlite3_column_text(s, 0));
	st_finish(st, s);
	return out;
}

/* A staff row carries its locations (staff.location_ids, schema.h): the
 * copy follows every link change in its transaction, and the new version
 * makes a device that holds the row take it again. */
static const char staff_locs_sql[] = "UPDATE staff SET location_ids = " KT_SQL_STAFF_LOCATION_IDS(
	"staff") ", version = version + 1, updated_at = ?2 WHERE id = ?1";

/* Change a routing link and log a put of the routed row with old/new sets. */
static int link_change(kt_store *st, const kt_table *t, const char *row_id, const char *sql,
		       const char *location_id)
{
	char *loc_old = NULL, *loc_new = NULL, c_old[KT_UUID_LEN + 1], c_new[KT_UUID_LEN + 1];
	char org[KT_UUID_LEN + 1];
	bool own = false;
	int rc;

	if (!row_id || !location_id)
		return KT_EINVALID;
	if ((rc = st_in_tx_begin(st, &own)))
		return rc;
	if ((rc = st_row_org(st, t, row_id, org)) || (rc = store_row_routing(st, t, row_id, &loc_old, c_old)))
		goto out;
	if ((rc = st_run(st, sql, "tt", row_id, location_id)))
		goto out;
	if (sqlite3_changes(st->db) == 0) {
		/* nothing changed: fine when already linked (or already unlinked),
		 * an error when the location is missing or of another organisation */
		static const char linked[] = "SELECT 1 FROM location WHERE id = ?1 AND org_id = ?2";
		sqlite3_stmt *q = st_prep(st, linked);
		if (!q) {
			rc = KT_EIO;
			goto out;
		}
		sqlite3_bind_text(q, 1, location_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, org, -1, SQLITE_STATIC);
		if (sqlite3_step(q) != SQLITE_ROW)
			rc = KT_ENOT_FOUND;
		st_finish(st, q);
		goto out;
	}
	if (t->route == KT_ROUTE_STAFF_LOCS && (rc = st_run(st, staff_locs_sql, "ti", row_id, kt_now_ms())))
		goto out;
	if ((rc = store_row_routing(st, t, row_id, &loc_new, c_new)))
		goto out;
	rc = st_log_change(st, org, t, row_id, false, loc_old, c_old, loc_new, c_new);
	if (!rc && t->route == KT_ROUTE_CLIENT_LOCS)
		rc = st_relog_rows(st, org, KT_ROUTE_VIA_CLIENT, row_id, loc_old, loc_new);
	if (!rc && t->route == KT_ROUTE_STAFF_LOCS)
		rc = st_relog_rows(st, org, KT_ROUTE_VIA_STAFF, row_id, loc_old, loc_new);
	if (!rc) {
		char *before = locs_json(st, loc_old), *after = locs_json(st, loc_new);
		rc = st_audit_row(st, org, strlen(loc_new) > strlen(loc_old) ? "link" : "unlink", t, row_id, c_new,
			       location_id, "locations", before, after);
		free(before);
		free(after);
	}
out:
	free(loc_old);
	free(loc_new);
	return st_in_tx_end(st, own, rc);
}

int store_link_client_location(kt_store *st, const char *client_id, const char *location_id)
{
	static const char sql[] =
		"INSERT OR IGNORE INTO client_location(client_id, location_id) SELECT ?1, ?2 "
		"WHERE EXISTS (SELECT 1 FROM location l JOIN client c ON c.org_id = l.org_id "
		"WHERE l.id = ?2 AND c.id = ?1)";
	return link_change(st, kt_table_find("client", 6), client_id, sql, location_id);
}

int store_link_staff_location(kt_store *st, const char *staff_id, const char *location_id, bool add)
{
	static const char add_sql[] =
		"INSERT OR IGNORE INTO staff_location(staff_id, location_id) SELECT ?1, ?2 "
		"WHERE EXISTS (SELECT 1 FROM location l JOIN staff s ON s.org_id = l.org_id "
		"WHERE l.id = ?2 AND s.id = ?1)";
	static const char del_sql[] = "DELETE FROM staff_location WHERE staff_id = ?1 AND location_id = ?2";
	return link_change(st, kt_table_find("staff", 5), staff_id, add ? add_sql : del_sql, location_id);
}
