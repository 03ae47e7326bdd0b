/* admin_schedule.c - `kartoteka-server admin --db F hours|closed|service ...`
 * and `staff hours|time-off`: what the booking rules use, set by the
 * operator through the same domain functions and store writes as a device
 * (schedule.c: validated, audited, change-logged). Takes names where a
 * person types (a location, a staff member, a service: its id, its name or
 * a unique start of it) and says what it changed in the location's local
 * time with its zone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "cli/admin.h"
#include "db/validate.h"
#include "domain/schedule.h"
#include "kt_time.h"
#include "kt_util.h"

static const char *const day_names[] = {"", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
					"Sunday"};

static int usage(const char *what)
{
	fprintf(stderr,
		"kartoteka-server admin: %s\n"
		"usage: kartoteka-server admin --db FILE hours set LOCATION DAYS INTERVALS|closed\n"
		"       kartoteka-server admin --db FILE hours show LOCATION\n"
		"       kartoteka-server admin --db FILE closed add LOCATION YYYY-MM-DD [--reason TEXT]\n"
		"       kartoteka-server admin --db FILE staff hours set STAFF LOCATION DAYS INTERVALS|off\n"
		"       kartoteka-server admin --db FILE staff time-off add STAFF --from TIME --to TIME [--reason TEXT]\n"
		"       kartoteka-server admin --db FILE service create --name N --duration MIN --price 25.00\n"
		"                          [--locations L,L] [--specialists S,S] [--buffer MIN]\n"
		"       kartoteka-server admin --db FILE service edit SERVICE [the same options]\n"
		"DAYS: mon..sun, a range (mon-sat) or a list (mon,wed); INTERVALS: local times,\n"
		"  09:00-12:00,13:00-19:00 (a lunch break is two intervals)\n"
		"TIME: local to the staff member's first location (\"2027-08-01 00:00\"), or with an\n"
		"  offset (\"2027-08-01 00:00+02:00\", \"2027-07-31T22:00:00Z\")\n"
		"LOCATION, STAFF, SERVICE: an id, a name, or a unique start of a name\n",
		what);
	return 2;
}

static int fail(const char *what, const char *detail)
{
	fprintf(stderr, "kartoteka-server admin: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
	return 1;
}

/* ---- names ---- */

/* The id of the one row of tbl whose id is what, or whose name column is
 * what (case-insensitive), or starts with it. KT_OK, KT_ENOT_FOUND, or
 * KT_ECONFLICT (several; they are listed on stderr). */
static int find(kt_store *st, const char *tbl, const char *col, const char *what, char id[KT_UUID_LEN + 1],
		char name[128])
{
	char sql[256];
	sqlite3_stmt *s;
	int n = 0, exact = 0, rc;
	snprintf(sql, sizeof sql,
		 "SELECT id, %s, id = ?1 OR lower(%s) = lower(?1) FROM %s WHERE id = ?1 OR lower(%s) = lower(?1) OR "
		 "(length(?1) > 0 AND lower(substr(%s, 1, length(?1))) = lower(?1)) ORDER BY 3 DESC, %s",
		 col, col, tbl, col, col, col);
	if (!(s = store_prepare(st, sql)))
		return KT_EIO;
	sqlite3_bind_text(s, 1, what, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		bool is_exact = sqlite3_column_int(s, 2) != 0;
		if (n == 0 || (is_exact && exact == 0)) {
			kt_strcpy_cut(id, KT_UUID_LEN + 1, (const char *)sqlite3_column_text(s, 0));
			kt_strcpy_cut(name, 128, (const char *)sqlite3_column_text(s, 1));
		}
		exact += is_exact;
		n++;
	}
	store_finish(st, s);
	if (rc != SQLITE_DONE)
		return KT_EIO;
	if (n == 0)
		return KT_ENOT_FOUND;
	if (exact == 1 || n == 1)
		return KT_OK;
	/* ambiguous: say which */
	fprintf(stderr, "kartoteka-server admin: '%s' could be any of:\n", what);
	if ((s = store_prepare(st, sql))) {
		sqlite3_bind_text(s, 1, what, -1, SQLITE_STATIC);
		while (sqlite3_step(s) == SQLITE_ROW)
			fprintf(stderr, "  %s\t%s\n", sqlite3_column_text(s, 1), sqlite3_column_text(s, 0));
		store_finish(st, s);
	}
	return KT_ECONFLICT;
}

static int find_or_say(kt_store *st, const char *tbl, const char *col, const char *what, char id[KT_UUID_LEN + 1],
		       char name[128])
{
	int rc = find(st, tbl, col, what, id, name);
	if (rc == KT_ENOT_FOUND)
		fprintf(stderr, "kartoteka-server admin: no %s '%s'\n", !strcmp(tbl, "staff") ? "staff member" : tbl, what);
	else if (rc == KT_EIO)
		fprintf(stderr, "kartoteka-server admin: cannot read %s\n", tbl);
	return rc;
}

/* A comma list of names or ids to a comma list of ids, and of the full names
 * they were found as (names, ncap: for saying what changed). */
static int find_list(kt_store *st, const char *tbl, const char *col, const char *list, char *out, size_t cap,
		     char *names, size_t ncap)
{
	size_t o = 0, no = 0;
	out[0] = 0;
	names[0] = 0;
	for (const char *p = list; *p;) {
		size_t n = strcspn(p, ",");
		char one[128], id[KT_UUID_LEN + 1], name[128];
		snprintf(one, sizeof one, "%.*s", (int)(n < sizeof one - 1 ? n : sizeof one - 1), p);
		if (find_or_say(st, tbl, col, one, id, name))
			return 1;
		if (o + KT_UUID_LEN + 2 > cap)
			return fail("too many names in the list", tbl);
		o += (size_t)snprintf(out + o, cap - o, "%s%s", o ? "," : "", id);
		if (no < ncap)
			no += (size_t)snprintf(names + no, ncap - no, "%s%s", no ? "," : "", name);
		p += n + (p[n] == ',');
	}
	return 0;
}

static void location_zone(kt_store *st, const char *loc, char *zone, size_t cap)
{
	sqlite3_stmt *s = store_prepare(st, "SELECT time_zone FROM location WHERE id = ?1");
	kt_strcpy_cut(zone, cap, "UTC");
	if (!s)
		return;
	sqlite3_bind_text(s, 1, loc, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		kt_strcpy_cut(zone, cap, (const char *)sqlite3_column_text(s, 0));
	store_finish(st, s);
}

/* "mon", "mon-sat", "mon,wed,fri" to a bit set of weekdays (bit 1..7); 0 when not. */
static unsigned parse_days(const char *text)
{
	unsigned days = 0;
	char buf[64];
	kt_strcpy_cut(buf, sizeof buf, text);
	for (char *save = NULL, *p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		char *dash = strchr(p, '-');
		int a, b;
		if (dash) {
			*dash = 0;
			a = validate_weekday(p);
			b = validate_weekday(dash + 1);
		} else
			a = b = validate_weekday(p);
		if (!a || !b || b < a)
			return 0;
		for (int d = a; d <= b; d++)
			days |= 1u << d;
	}
	return days;
}

/* ---- hours ---- */

static int set_hours(kt_store *st, const char *staff, const char *loc, const char *days_text, const char *iv_text)
{
	char loc_id[KT_UUID_LEN + 1], loc_name[128], staff_id[KT_UUID_LEN + 1], staff_name[128], zone[72];
	char was[200], err[256];
	unsigned days = parse_days(days_text);
	const char *iv = !strcasecmp(iv_text, "closed") || !strcasecmp(iv_text, "off") ? "" : iv_text;
	if (!days)
		return usage("DAYS: mon..sun, a range such as mon-sat, or a list such as mon,wed");
	if (find_or_say(st, "location", "name", loc, loc_id, loc_name) ||
	    (staff && find_or_say(st, "staff", "display_name", staff, staff_id, staff_name)))
		return 1;
	location_zone(st, loc_id, zone, sizeof zone);
	for (int d = 1; d <= 7; d++) {
		if (!(days & (1u << d)))
			continue;
		int rc = schedule_set_hours(st, loc_id, staff ? staff_id : NULL, d, iv, was, sizeof was, err, sizeof err);
		if (rc)
			return fail(err, NULL);
		if (staff)
			printf("%s at %s (%s), %ss: %s (was: %s)\n", staff_name, loc_name, zone, day_names[d],
			       iv[0] ? iv : "off", was);
		else
			printf("%s (%s), %ss: %s (was: %s)\n", loc_name, zone, day_names[d], iv[0] ? iv : "closed", was);
	}
	return 0;
}

static int show_hours(kt_store *st, const char *loc)
{
	char loc_id[KT_UUID_LEN + 1], loc_name[128], zone[72];
	sqlite3_stmt *s;
	if (find_or_say(st, "location", "name", loc, loc_id, loc_name))
		return 1;
	location_zone(st, loc_id, zone, sizeof zone);
	printf("%s (%s)\n", loc_name, zone);
	printf("%-10s %-30s %s\n", "weekday", "opening hours", "working hours");
	for (int d = 1; d <= 7; d++) {
		char open[200] = "", work[1024] = "";
		bool any = false;
		if (!(s = store_prepare(st, "SELECT intervals, (SELECT count(*) FROM opening_hours WHERE location_id = ?1) "
					    "FROM opening_hours WHERE location_id = ?1 AND weekday = ?2")))
			return fail("cannot read the hours", NULL);
		sqlite3_bind_text(s, 1, loc_id, -1, SQLITE_STATIC);
		sqlite3_bind_int(s, 2, d);
		if (sqlite3_step(s) == SQLITE_ROW) {
			kt_strcpy_cut(open, sizeof open, (const char *)sqlite3_column_text(s, 0));
			any = true;
		}
		store_finish(st, s);
		if (!any) { /* none for this day: closed, or no hours set at all */
			if (!(s = store_prepare(st, "SELECT count(*) FROM opening_hours WHERE location_id = ?1")))
				return fail("cannot read the hours", NULL);
			sqlite3_bind_text(s, 1, loc_id, -1, SQLITE_STATIC);
			any = sqlite3_step(s) == SQLITE_ROW && sqlite3_column_int(s, 0) > 0;
			store_finish(st, s);
			kt_strcpy_cut(open, sizeof open, any ? "closed" : "not set (nothing refused)");
		} else if (!open[0])
			kt_strcpy_cut(open, sizeof open, "closed");
		if (!(s = store_prepare(st, "SELECT s.display_name, w.intervals FROM working_hours w JOIN staff s ON "
					    "s.id = w.staff_id WHERE w.location_id = ?1 AND w.weekday = ?2 ORDER BY "
					    "s.display_name")))
			return fail("cannot read the hours", NULL);
		sqlite3_bind_text(s, 1, loc_id, -1, SQLITE_STATIC);
		sqlite3_bind_int(s, 2, d);
		while (sqlite3_step(s) == SQLITE_ROW) {
			size_t o = strlen(work);
			const char *w = (const char *)sqlite3_column_text(s, 1);
			snprintf(work + o, sizeof work - o, "%s%s %s", o ? "; " : "", sqlite3_column_text(s, 0),
				 w && *w ? w : "off");
		}
		store_finish(st, s);
		printf("%-10s %-30s %s\n", day_names[d], open, work[0] ? work : "-");
	}
	return 0;
}

int admin_hours(kt_store *st, int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[0], "set"))
		return set_hours(st, NULL, argv[1], argv[2], argv[3]);
	if (argc == 2 && !strcmp(argv[0], "show"))
		return show_hours(st, argv[1]);
	return usage("hours set LOCATION DAYS INTERVALS, or hours show LOCATION");
}

/* ---- closed days ---- */

int admin_closed(kt_store *st, int argc, char **argv)
{
	char loc_id[KT_UUID_LEN + 1], loc_name[128], zone[72], err[256];
	const char *reason = NULL;
	if (argc == 5 && !strcmp(argv[3], "--reason"))
		reason = argv[4];
	else if (argc != 3)
		return usage("closed add LOCATION YYYY-MM-DD [--reason TEXT]");
	if (strcmp(argv[0], "add"))
		return usage("closed add LOCATION YYYY-MM-DD [--reason TEXT]");
	if (find_or_say(st, "location", "name", argv[1], loc_id, loc_name))
		return 1;
	location_zone(st, loc_id, zone, sizeof zone);
	if (schedule_add_closed(st, loc_id, argv[2], reason, err, sizeof err))
		return fail(err, NULL);
	printf("%s (%s) is closed on %s%s%s%s\n", loc_name, zone, argv[2], reason ? " (" : "", reason ? reason : "",
	       reason ? ")" : "");
	return 0;
}

/* ---- staff hours and time off ---- */

static int time_off_add(kt_store *st, int argc, char **argv)
{
	const char *from = NULL, *to = NULL, *reason = NULL, *who = NULL;
	char staff_id[KT_UUID_LEN + 1], staff_name[128], zone[72] = "UTC", why[200], err[256], id[KT_UUID_LEN + 1];
	char a[64], b[64];
	int64_t f, t;
	for (int i = 0; i < argc; i++) {
		const char **slot = !strcmp(argv[i], "--from") ? &from : !strcmp(argv[i], "--to") ? &to
				    : !strcmp(argv[i], "--reason")                                 ? &reason
													   : NULL;
		if (slot && i + 1 < argc)
			*slot = argv[++i];
		else if (!slot && !who && strncmp(argv[i], "--", 2))
			who = argv[i];
		else
			return usage("staff time-off add STAFF --from TIME --to TIME [--reason TEXT]");
	}
	if (!who || !from || !to)
		return usage("staff time-off add needs STAFF, --from and --to");
	if (find_or_say(st, "staff", "display_name", who, staff_id, staff_name))
		return 1;
	sqlite3_stmt *s = store_prepare(st, "SELECT l.time_zone FROM staff_location sl JOIN location l ON l.id = "
					    "sl.location_id WHERE sl.staff_id = ?1 ORDER BY l.name LIMIT 1");
	if (s) {
		sqlite3_bind_text(s, 1, staff_id, -1, SQLITE_STATIC);
		if (sqlite3_step(s) == SQLITE_ROW)
			kt_strcpy_cut(zone, sizeof zone, (const char *)sqlite3_column_text(s, 0));
		store_finish(st, s);
	}
	if (kt_time_parse(zone, from, &f, why, sizeof why))
		return fail("--from", why);
	if (kt_time_parse(zone, to, &t, why, sizeof why))
		return fail("--to", why);
	if (schedule_add_time_off(st, staff_id, f, t, reason, id, err, sizeof err))
		return fail(err, NULL);
	(void)kt_time_format(zone, f, a, sizeof a);
	(void)kt_time_format(zone, t, b, sizeof b);
	printf("%s is off from %s to %s (%s)%s%s\n%s\n", staff_name, a, b, zone, reason ? ": " : "",
	       reason ? reason : "", id);
	return 0;
}

int admin_staff_schedule(kt_store *st, int argc, char **argv)
{
	if (argc == 6 && !strcmp(argv[0], "hours") && !strcmp(argv[1], "set"))
		return set_hours(st, argv[2], argv[3], argv[4], argv[5]);
	if (argc >= 2 && !strcmp(argv[0], "time-off") && !strcmp(argv[1], "add"))
		return time_off_add(st, argc - 2, argv + 2);
	return usage("staff hours set STAFF LOCATION DAYS INTERVALS, or staff time-off add STAFF --from T --to T");
}

/* ---- services ---- */

/* "25", "25.5", "25.00" (also with a comma) to cents; -1 when not. */
static long long parse_price(const char *s)
{
	long long whole = 0, cents = 0;
	int frac = 0;
	const char *p = s;
	if (!*p)
		return -1;
	for (; *p >= '0' && *p <= '9'; p++)
		if ((whole = whole * 10 + (*p - '0')) > 1000000)
			return -1;
	if (*p == '.' || *p == ',') {
		for (p++; *p >= '0' && *p <= '9' && frac < 2; p++, frac++)
			cents = cents * 10 + (*p - '0');
		if (frac == 0)
			return -1;
		if (frac == 1)
			cents *= 10;
	}
	return *p || p == s ? -1 : whole * 100 + cents;
}

int admin_service(kt_store *st, int argc, char **argv)
{
	enum { NAME, DURATION, PRICE, LOCS, SPECS, BUFFER, NOPT };
	static const char *const opt[NOPT] = {"--name", "--duration", "--price", "--locations", "--specialists",
					      "--buffer"};
	static const char *const col[NOPT] = {"name", "duration_min", "price_cents", "location_ids", "specialist_ids",
					      "buffer_min"};
	const char *val[NOPT] = {0}, *target = NULL;
	char cents[24], locs[4096], specs[4096], err[256], id[KT_UUID_LEN + 1], svc_id[KT_UUID_LEN + 1], name[128];
	char org[KT_UUID_LEN + 1] = "", loc_names[4096], spec_names[4096];
	kt_field f[NOPT];
	int n = 0, i0;
	bool create = argc >= 1 && !strcmp(argv[0], "create"), edit = argc >= 1 && !strcmp(argv[0], "edit");

	if (!create && !edit)
		return usage("service create --name N --duration MIN --price P ..., or service edit SERVICE ...");
	if (edit && (argc < 2 || !strncmp(argv[1], "--", 2)))
		return usage("service edit needs the service (its id or name)");
	i0 = edit ? 2 : 1;
	for (int i = i0; i < argc; i++) {
		int k = 0;
		while (k < NOPT && strcmp(argv[i], opt[k]))
			k++;
		if (k == NOPT || i + 1 >= argc || val[k])
			return usage("unknown, repeated or empty option");
		val[k] = argv[++i];
	}
	const char *typed[NOPT];
	memcpy(typed, val, sizeof typed);
	if (val[PRICE]) {
		long long c = parse_price(val[PRICE]);
		if (c < 0)
			return usage("--price wants an amount such as 25.00 (in the organisation's currency)");
		snprintf(cents, sizeof cents, "%lld", c);
		val[PRICE] = cents;
	}
	if (val[LOCS] && find_list(st, "location", "name", val[LOCS], locs, sizeof locs, loc_names, sizeof loc_names))
		return 1;
	if (val[SPECS] &&
	    find_list(st, "staff", "display_name", val[SPECS], specs, sizeof specs, spec_names, sizeof spec_names))
		return 1;
	/* say the names as found ("Nina Zupan"), not as typed ("Nina") */
	typed[LOCS] = val[LOCS] ? loc_names : NULL;
	typed[SPECS] = val[SPECS] ? spec_names : NULL;
	if (val[LOCS])
		val[LOCS] = locs;
	if (val[SPECS])
		val[SPECS] = specs;
	for (int k = 0; k < NOPT; k++)
		if (val[k])
			f[n++] = (kt_field){col[k], val[k]};
	if (edit) {
		if (find_or_say(st, "service", "name", argv[1], svc_id, name))
			return 1;
		target = svc_id;
	} else {
		/* the organisation: of the first location named, else the only one */
		sqlite3_stmt *s = store_prepare(st, val[LOCS] && *locs ? "SELECT org_id FROM location WHERE id = "
									 "substr(?1, 1, 36)"
								       : "SELECT id FROM organisation WHERE ?1 IS NOT NULL "
									 "AND (SELECT count(*) FROM organisation) = 1");
		if (s) {
			sqlite3_bind_text(s, 1, val[LOCS] ? locs : "", -1, SQLITE_STATIC);
			if (sqlite3_step(s) == SQLITE_ROW)
				kt_strcpy_cut(org, sizeof org, (const char *)sqlite3_column_text(s, 0));
			store_finish(st, s);
		}
		if (!org[0])
			return usage("several organisations: name the service's --locations");
	}
	if (schedule_service_put(st, org, target, f, n, id, err, sizeof err))
		return fail(err, NULL);
	printf("%s service %s:", create ? "created" : "changed", create ? val[NAME] : name);
	for (int k = 0; k < NOPT; k++)
		if (val[k])
			printf(" %s=%s", opt[k] + 2, (k == LOCS || k == SPECS) && !*typed[k] ? "(all)" : typed[k]);
	printf("\n");
	if (create)
		printf("%s\n", id);
	return 0;
}
