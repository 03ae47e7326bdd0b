/* admin_location.c - `kartoteka-server admin --db F location ...`: list,
 * create, edit and close the salon's locations through domain/org.c (the
 * same functions the manage message calls). Each change says what it did. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "cli/admin.h"
#include "domain/org.h"

int admin_opts(int argc, char **argv, const char *const *names, const char **vals, int n, const char **pos,
	       int maxpos, int *npos)
{
	*npos = 0;
	for (int k = 0; k < n; k++)
		vals[k] = NULL;
	for (int i = 0; i < argc; i++) {
		int k = -1;
		if (strncmp(argv[i], "--", 2)) {
			if (*npos == maxpos) {
				fprintf(stderr, "kartoteka-server admin: unexpected argument '%.60s'\n", argv[i]);
				return 2;
			}
			pos[(*npos)++] = argv[i];
			continue;
		}
		for (int j = 0; j < n && k < 0; j++) {
			size_t len = strlen(names[j]);
			bool flag = names[j][len - 1] == '!';
			if (!strncmp(argv[i], names[j], flag ? len - 1 : len) && argv[i][flag ? len - 1 : len] == 0)
				k = j;
		}
		if (k < 0) {
			fprintf(stderr, "kartoteka-server admin: unknown option %.60s (see admin help)\n", argv[i]);
			return 2;
		}
		if (vals[k]) {
			fprintf(stderr, "kartoteka-server admin: %s given twice\n", argv[i]);
			return 2;
		}
		if (names[k][strlen(names[k]) - 1] == '!') {
			vals[k] = "1";
			continue;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "kartoteka-server admin: %s needs a value\n", argv[i]);
			return 2;
		}
		vals[k] = argv[++i];
	}
	return 0;
}

int admin_say_fail(const char *what, const char *err)
{
	fprintf(stderr, "kartoteka-server admin: %s: %s\n", what, err);
	return 1;
}

static int list(kt_store *st, const char *org)
{
	sqlite3_stmt *q = store_prepare(st, "SELECT id, name, time_zone, coalesce(address, ''), coalesce(phone, ''), "
					    "closed_at FROM location WHERE org_id = ?1 ORDER BY closed_at IS NOT NULL, name");
	int rc;
	if (!q)
		return admin_say_fail("location list", "cannot read the locations");
	sqlite3_bind_text(q, 1, org, -1, SQLITE_STATIC);
	printf("name\ttime_zone\taddress\tphone\tstate\tid\n");
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		char state[40] = "open";
		if (sqlite3_column_type(q, 5) != SQLITE_NULL) {
			time_t t = (time_t)(sqlite3_column_int64(q, 5) / 1000);
			struct tm tm;
			gmtime_r(&t, &tm);
			strftime(state, sizeof state, "closed %Y-%m-%d", &tm);
		}
		printf("%s\t%s\t%s\t%s\t%s\t%s\n", sqlite3_column_text(q, 1), sqlite3_column_text(q, 2),
		       sqlite3_column_text(q, 3), sqlite3_column_text(q, 4), state, sqlite3_column_text(q, 0));
	}
	store_finish(st, q);
	return rc == SQLITE_DONE ? 0 : admin_say_fail("location list", "cannot read the locations");
}

int admin_location(kt_store *st, int argc, char **argv)
{
	static const char *const names[] = {"--name", "--time-zone", "--address", "--phone"};
	const char *vals[4], *pos[1];
	char org[KT_UUID_LEN + 1], id[KT_UUID_LEN + 1], err[256];
	const char *sub = argc > 0 ? argv[0] : "";
	int npos, rc;

	if (strcmp(sub, "list") && strcmp(sub, "create") && strcmp(sub, "edit") && strcmp(sub, "close")) {
		fprintf(stderr, "kartoteka-server admin: location list, create, edit or close?\n");
		return 2;
	}
	if ((rc = admin_opts(argc - 1, argv + 1, names, vals, strcmp(sub, "close") && strcmp(sub, "list") ? 4 : 0, pos,
			     !strcmp(sub, "edit") || !strcmp(sub, "close") ? 1 : 0, &npos)))
		return rc;
	if (org_the_one(st, org, err, sizeof err))
		return admin_say_fail("location", err);
	if (!strcmp(sub, "list"))
		return list(st, org);
	kt_location_args a = {vals[0], vals[2], vals[3], vals[1]};
	if (!strcmp(sub, "create")) {
		if (!a.name || !a.time_zone) {
			fprintf(stderr, "kartoteka-server admin: location create needs --name and --time-zone\n");
			return 2;
		}
		if ((rc = location_create(st, NULL, org, &a, id, err, sizeof err)))
			return admin_say_fail("location create", err);
		printf("created location %s (%s) %s\n", a.name, a.time_zone, id);
		return 0;
	}
	if (npos != 1) {
		fprintf(stderr, "kartoteka-server admin: location %s needs the location (name or id)\n", sub);
		return 2;
	}
	if (location_resolve(st, org, pos[0], id, err, sizeof err))
		return admin_say_fail(sub, err);
	if (!strcmp(sub, "close")) {
		if ((rc = location_close(st, NULL, org, id, err, sizeof err)))
			return admin_say_fail("location close", err);
		printf("closed location %s: it takes no new bookings\n", pos[0]);
		return 0;
	}
	if ((rc = location_edit(st, NULL, org, id, &a, err, sizeof err)))
		return admin_say_fail("location edit", err);
	printf("changed location %s:%s%s%s%s%s%s%s%s\n", pos[0], a.name ? " name " : "", a.name ? a.name : "",
	       a.time_zone ? " time zone " : "", a.time_zone ? a.time_zone : "", a.address ? " address " : "",
	       a.address ? a.address : "", a.phone ? " phone " : "", a.phone ? a.phone : "");
	return 0;
}
