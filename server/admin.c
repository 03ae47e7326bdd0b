/* admin.c - `kartoteka-server admin --db FILE ...`: server-side edits for
 * operators and tests. Writes go through ops.c/store.c (so the change log,
 * and through it every connected device, sees them) while a server may be
 * serving the same file. Prints results on stdout, errors on stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "admin.h"
#include "ops.h"

static void admin_usage(void)
{
	fprintf(stderr,
		"usage: kartoteka-server admin --db FILE SUBCOMMAND\n"
		"  appointment create --location ID --client ID --specialist ID --start TIME\n"
		"                     [--duration MIN] [--services ID,ID] [--status S] [--note TEXT]\n"
		"                     [--internal-note TEXT]          prints the new id\n"
		"  appointment move ID [--location ID] [--specialist ID] [--start TIME]\n"
		"  appointment cancel ID\n"
		"  client set ID FIELD VALUE | client clear ID FIELD\n"
		"  list locations|staff|clients|services [--limit N]\n"
		"TIME: milliseconds since 1970 (UTC) or 2026-12-01T09:30:00Z\n");
}

static const char *opt(int argc, char **argv, const char *name)
{
	for (int i = 0; i < argc - 1; i++)
		if (strcmp(argv[i], name) == 0)
			return argv[i + 1];
	return NULL;
}

/* ms since the epoch, or -1 */
static int64_t parse_time(const char *s)
{
	struct tm tm;
	char *end;
	if (!s)
		return -1;
	long long v = strtoll(s, &end, 10);
	if (*end == 0 && end != s)
		return v;
	memset(&tm, 0, sizeof tm);
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!end || *end)
		return -1;
	return (int64_t)timegm(&tm) * 1000;
}

static int fail(const char *msg)
{
	fprintf(stderr, "kartoteka-server admin: %s\n", msg);
	return 1;
}

static int list(kt_store *st, const char *what, int limit)
{
	static const struct {
		const char *name, *sql;
	} q[] = {
		{"locations", "SELECT id, name, time_zone, address FROM location ORDER BY name LIMIT ?"},
		{"staff", "SELECT s.id, s.role, coalesce((SELECT group_concat(l.name, ',') FROM staff_location sl "
			  "JOIN location l ON l.id = sl.location_id WHERE sl.staff_id = s.id), '*'), s.display_name, "
			  "s.email FROM staff s ORDER BY s.role, s.display_name LIMIT ?"},
		{"clients", "SELECT c.id, c.name, coalesce(c.email, ''), coalesce((SELECT group_concat(l.name, ',') "
			    "FROM client_location cl JOIN location l ON l.id = cl.location_id WHERE cl.client_id = c.id), "
			    "'') FROM client c ORDER BY c.name LIMIT ?"},
		{"services", "SELECT s.id, s.name, s.duration_min, coalesce(l.name, '*') FROM service s LEFT JOIN "
			     "location l ON l.id = s.location_id ORDER BY s.name LIMIT ?"},
	};
	for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
		sqlite3_stmt *s;
		if (strcmp(what, q[i].name) != 0)
			continue;
		if (sqlite3_prepare_v2(store_db(st), q[i].sql, -1, &s, NULL) != SQLITE_OK)
			return fail(sqlite3_errmsg(store_db(st)));
		sqlite3_bind_int(s, 1, limit);
		while (sqlite3_step(s) == SQLITE_ROW) {
			for (int c = 0; c < sqlite3_column_count(s); c++)
				printf("%s%s", c ? "\t" : "", (const char *)sqlite3_column_text(s, c));
			putchar('\n');
		}
		sqlite3_finalize(s);
		return 0;
	}
	admin_usage();
	return 2;
}

static int appointment(kt_store *st, int argc, char **argv)
{
	char err[256] = "", id[KT_UUID_LEN + 1];
	int rc;

	if (argc >= 1 && !strcmp(argv[0], "create")) {
		kt_appt_args a = {0};
		a.location_id = opt(argc, argv, "--location");
		a.client_id = opt(argc, argv, "--client");
		a.specialist_id = opt(argc, argv, "--specialist");
		a.start_at = parse_time(opt(argc, argv, "--start"));
		a.duration_min = opt(argc, argv, "--duration") ? atoi(opt(argc, argv, "--duration")) : 0;
		a.services = opt(argc, argv, "--services");
		a.status = opt(argc, argv, "--status");
		a.client_note = opt(argc, argv, "--note");
		a.internal_note = opt(argc, argv, "--internal-note");
		if (a.start_at < 0)
			return fail("--start wants ms since 1970 or 2026-12-01T09:30:00Z");
		if ((rc = ops_appointment_create(st, &a, id, err, sizeof err)))
			return fail(err);
		printf("%s\n", id);
		return 0;
	}
	if (argc >= 2 && !strcmp(argv[0], "move")) {
		const char *start = opt(argc, argv, "--start");
		int64_t t = start ? parse_time(start) : -1;
		if (start && t < 0)
			return fail("--start wants ms since 1970 or 2026-12-01T09:30:00Z");
		if ((rc = ops_appointment_move(st, argv[1], opt(argc, argv, "--location"),
					       opt(argc, argv, "--specialist"), t, err, sizeof err)))
			return fail(err);
		return 0;
	}
	if (argc >= 2 && !strcmp(argv[0], "cancel"))
		return ops_appointment_cancel(st, argv[1], err, sizeof err) ? fail(err) : 0;
	admin_usage();
	return 2;
}

int admin_main(const char *db_path, int argc, char **argv)
{
	kt_store *st = NULL;
	const char *msg = NULL;
	char err[256] = "";
	int rc;

	if (argc < 1 || !strcmp(argv[0], "help")) {
		admin_usage();
		return 2;
	}
	if (store_open(db_path, 0, &st, &msg)) {
		fprintf(stderr, "kartoteka-server admin: %s: %s\n", db_path, msg);
		return 1;
	}
	if (!strcmp(argv[0], "appointment"))
		rc = appointment(st, argc - 1, argv + 1);
	else if (!strcmp(argv[0], "client") && argc == 5 && !strcmp(argv[1], "set"))
		rc = ops_client_set(st, argv[2], argv[3], argv[4], err, sizeof err) ? fail(err) : 0;
	else if (!strcmp(argv[0], "client") && argc == 4 && !strcmp(argv[1], "clear"))
		rc = ops_client_set(st, argv[2], argv[3], NULL, err, sizeof err) ? fail(err) : 0;
	else if (!strcmp(argv[0], "list") && argc >= 2)
		rc = list(st, argv[1], opt(argc, argv, "--limit") ? atoi(opt(argc, argv, "--limit")) : -1);
	else {
		admin_usage();
		rc = 2;
	}
	store_close(st);
	return rc;
}
