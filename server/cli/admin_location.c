/* admin_location.c - `kartoteka-server admin --db F location ...`: list,
 * create, edit and close the salon's locations through domain/org.c (the
 * same functions the manage message calls). Each change says what it did.
 * A location is named across the database; one is created in --org's
 * organisation, or the only one. */
#include <stdio.h>
#include <string.h>
#include "cli/admin.h"
#include "cli/table.h"
#include "domain/org.h"
#include "kt_time.h"

static int list(kt_store *st, const char *org)
{
	static const char *const cols[] = {"name", "time_zone", "address", "phone", "state", "organisation", "id"};
	sqlite3_stmt *q = store_prepare(st, "SELECT l.id, l.name, l.time_zone, coalesce(l.address, ''), "
					    "coalesce(l.phone, ''), l.closed_at, o.name FROM location l JOIN organisation o "
					    "ON o.id = l.org_id WHERE ?1 IS NULL OR l.org_id = ?1 "
					    "ORDER BY l.closed_at IS NOT NULL, l.name, o.name");
	cli_table t;
	int rc;
	if (!q)
		return admin_say_fail("location list", "cannot read the locations");
	if (org)
		sqlite3_bind_text(q, 1, org, -1, SQLITE_STATIC);
	if (cli_table_begin(&t, false, cols, 7)) {
		store_finish(st, q);
		return admin_say_fail("location list", "out of memory");
	}
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		char state[40] = "open";
		if (sqlite3_column_type(q, 5) != SQLITE_NULL) { /* the day it closed, there */
			char day[24];
			(void)kt_date_format((const char *)sqlite3_column_text(q, 2), sqlite3_column_int64(q, 5), day,
					     sizeof day);
			snprintf(state, sizeof state, "closed %s", day);
		}
		for (int c = 1; c <= 4; c++)
			cli_table_str(&t, (const char *)sqlite3_column_text(q, c));
		cli_table_str(&t, state);
		cli_table_str(&t, (const char *)sqlite3_column_text(q, 6));
		cli_table_str(&t, (const char *)sqlite3_column_text(q, 0));
		cli_table_row_end(&t);
	}
	store_finish(st, q);
	if (cli_table_end(&t))
		return admin_say_fail("location list", "out of memory");
	return rc == SQLITE_DONE ? 0 : admin_say_fail("location list", "cannot read the locations");
}

int admin_location(kt_store *st, int argc, char **argv)
{
	enum { NAME, ZONE, ADDRESS, PHONE, ORG };
	admin_opt o[] = {{"--name"}, {"--time-zone"}, {"--address"}, {"--phone"}, {"--org"}};
	const char *pos[1];
	char org[KT_UUID_LEN + 1], id[KT_UUID_LEN + 1], err[256];
	const char *sub = argc > 0 ? argv[0] : "";
	bool list_ = !strcmp(sub, "list"), create = !strcmp(sub, "create"), close_ = !strcmp(sub, "close");
	int npos, rc;

	if (!list_ && !create && !close_ && strcmp(sub, "edit")) {
		fprintf(stderr, "kartoteka-server admin: location list, create, edit or close?\n");
		return 2;
	}
	/* list and create take --org; edit and close find the location in any */
	if ((rc = admin_parse(argc - 1, argv + 1, list_ ? o + ORG : o, list_ ? 1 : create ? 5 : close_ ? 0 : 4, pos,
			      list_ || create ? 0 : 1, &npos)))
		return rc;
	if (list_) {
		if (o[ORG].value && (rc = admin_want_org(st, o[ORG].value, org)))
			return rc;
		return list(st, o[ORG].value ? org : NULL);
	}
	kt_location_args a = {o[NAME].value, o[ADDRESS].value, o[PHONE].value, o[ZONE].value};
	if (create) {
		if (!a.name || !a.time_zone) {
			fprintf(stderr, "kartoteka-server admin: location create needs --name and --time-zone\n");
			return 2;
		}
		if ((rc = admin_want_org(st, o[ORG].value, org)))
			return rc;
		if ((rc = location_create(st, NULL, org, &a, id, err, sizeof err)))
			return admin_say_fail("location create", err);
		printf("created location %s (%s) %s\n", a.name, a.time_zone, id);
		return 0;
	}
	if (npos != 1) {
		fprintf(stderr, "kartoteka-server admin: location %s needs the location (name or id)\n", sub);
		return 2;
	}
	if ((rc = admin_want(st, RESOLVE_LOCATION, NULL, "location", pos[0], id)))
		return rc;
	if (resolve_org_of(st, "location", id, org))
		return admin_say_fail(sub, "cannot read the location");
	char name[256];
	resolve_name(st, RESOLVE_LOCATION, id, name, sizeof name); /* as it was: an edit may rename it */
	if (close_) {
		if ((rc = location_close(st, NULL, org, id, err, sizeof err)))
			return admin_say_fail("location close", err);
		printf("closed location %s: it takes no new bookings\n", name);
		return 0;
	}
	if ((rc = location_edit(st, NULL, org, id, &a, err, sizeof err)))
		return admin_say_fail("location edit", err);
	printf("changed location %s:%s%s%s%s%s%s%s%s\n", name, a.name ? " name " : "", a.name ? a.name : "",
	       a.time_zone ? " time zone " : "", a.time_zone ? a.time_zone : "", a.address ? " address " : "",
	       a.address ? a.address : "", a.phone ? " phone " : "", a.phone ? a.phone : "");
	return 0;
}
