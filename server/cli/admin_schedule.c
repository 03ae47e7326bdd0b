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
#include "kt_text.h"
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
		"                          [--locations L,L] [--specialists S,S] [--buffer MIN] [--org O]\n"
		"       kartoteka-server admin --db FILE service edit SERVICE [the same options]\n"
		"DAYS: mon..sun, a range (mon-sat) or a list (mon,wed); INTERVALS: local times,\n"
		"  09:00-12:00,13:00-19:00 (a lunch break is two intervals)\n"
		"TIME: local to the staff member's first location (\"2027-08-01 00:00\"), or with an\n"
		"  offset (\"2027-08-01 00:00+02:00\", \"2027-07-31T22:00:00Z\")\n"
		"LOCATION, STAFF, SERVICE: an id, a name, or a unique start of a name (see admin help)\n",
		what);
	return 2;
}

#define fail admin_say_fail

/* A location named as everywhere (resolve.h), with its name and zone for
 * what the command says; 0, or the exit status (the reason printed). */
static int want_location(kt_store *st, const char *text, char id[KT_UUID_LEN + 1], char name[128],
			 char zone[RESOLVE_ZONE])
{
	int rc = admin_want(st, RESOLVE_LOCATION, NULL, "location", text, id);
	if (rc)
		return rc;
	resolve_name(st, RESOLVE_LOCATION, id, name, 128);
	resolve_location_zone(st, id, zone);
	if (!*zone)
		kt_strcpy_cut(zone, RESOLVE_ZONE, "UTC");
	return 0;
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
	char loc_id[KT_UUID_LEN + 1], loc_name[128], staff_id[KT_UUID_LEN + 1], staff_name[128], zone[RESOLVE_ZONE];
	char was[200], err[256], org[KT_UUID_LEN + 1];
	int rc;
	unsigned days = parse_days(days_text);
	const char *iv = !strcasecmp(iv_text, "closed") || !strcasecmp(iv_text, "off") ? "" : iv_text;
	if (!days)
		return usage("DAYS: mon..sun, a range such as mon-sat, or a list such as mon,wed");
	if ((rc = want_location(st, loc, loc_id, loc_name, zone)))
		return rc;
	if (resolve_org_of(st, "location", loc_id, org))
		return fail("cannot read the location", NULL);
	resolve_scope sc = {org, NULL}; /* the person is one of the location's organisation */
	if (staff && (rc = admin_want(st, RESOLVE_STAFF, &sc, "staff", staff, staff_id)))
		return rc;
	if (staff)
		resolve_name(st, RESOLVE_STAFF, staff_id, staff_name, sizeof staff_name);
	for (int d = 1; d <= 7; d++) {
		if (!(days & (1u << d)))
			continue;
		rc = schedule_set_hours(st, loc_id, staff ? staff_id : NULL, d, iv, was, sizeof was, err, sizeof err);
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
	char loc_id[KT_UUID_LEN + 1], loc_name[128], zone[RESOLVE_ZONE];
	sqlite3_stmt *s;
	int rc;
	if ((rc = want_location(st, loc, loc_id, loc_name, zone)))
		return rc;
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
	admin_opt o[] = {{"--reason"}};
	const char *pos[3], *reason;
	char loc_id[KT_UUID_LEN + 1], loc_name[128], zone[RESOLVE_ZONE], err[256];
	int npos, rc;
	if ((rc = admin_parse(argc, argv, o, 1, pos, 3, &npos)))
		return rc;
	if (npos != 3 || strcmp(pos[0], "add"))
		return usage("closed add LOCATION YYYY-MM-DD [--reason TEXT]");
	reason = o[0].value;
	if ((rc = want_location(st, pos[1], loc_id, loc_name, zone)))
		return rc;
	if (schedule_add_closed(st, loc_id, pos[2], reason, err, sizeof err))
		return fail(err, NULL);
	printf("%s (%s) is closed on %s%s%s%s\n", loc_name, zone, pos[2], reason ? " (" : "", reason ? reason : "",
	       reason ? ")" : "");
	return 0;
}

/* ---- staff hours and time off ---- */


/* Print a comma list of ids as the names of what they are. */
static void say_names(kt_store *st, resolve_kind kind, const char *ids)
{
	for (const char *p = ids; *p;) {
		size_t n = strcspn(p, ",");
		char id[KT_UUID_LEN + 1], name[256];
		snprintf(id, sizeof id, "%.*s", (int)(n < KT_UUID_LEN ? n : KT_UUID_LEN), p);
		resolve_name(st, kind, id, name, sizeof name);
		printf("%s%s", p == ids ? "" : ",", name);
		p += n + (p[n] == ',');
	}
}

static int time_off_add(kt_store *st, int argc, char **argv)
{
	enum { FROM, TO, REASON };
	admin_opt o[] = {{"--from"}, {"--to"}, {"--reason"}};
	const char *pos[1];
	char staff_id[KT_UUID_LEN + 1], staff_name[128], zone[RESOLVE_ZONE] = "UTC", err[256], id[KT_UUID_LEN + 1];
	char a[KT_TEXT_TIME], b[KT_TEXT_TIME];
	int64_t f, t;
	int npos, rc;
	if ((rc = admin_parse(argc, argv, o, 3, pos, 1, &npos)))
		return rc;
	if (npos != 1 || !o[FROM].value || !o[TO].value)
		return usage("staff time-off add needs STAFF, --from and --to");
	if ((rc = admin_want(st, RESOLVE_STAFF, NULL, "staff", pos[0], staff_id)))
		return rc;
	resolve_name(st, RESOLVE_STAFF, staff_id, staff_name, sizeof staff_name);
	/* times are local to the person's first location */
	sqlite3_stmt *s = store_prepare(st, "SELECT l.time_zone FROM staff_location sl JOIN location l ON l.id = "
					    "sl.location_id WHERE sl.staff_id = ?1 ORDER BY l.name LIMIT 1");
	if (s) {
		sqlite3_bind_text(s, 1, staff_id, -1, SQLITE_STATIC);
		if (sqlite3_step(s) == SQLITE_ROW)
			kt_strcpy_cut(zone, sizeof zone, (const char *)sqlite3_column_text(s, 0));
		store_finish(st, s);
	}
	if (kt_text_time_arg("--from", zone, o[FROM].value, &f, err, sizeof err) ||
	    kt_text_time_arg("--to", zone, o[TO].value, &t, err, sizeof err)) {
		fprintf(stderr, "kartoteka-server admin: %s\n", err);
		return 2;
	}
	if (schedule_add_time_off(st, staff_id, f, t, o[REASON].value, id, err, sizeof err))
		return fail(err, NULL);
	kt_text_time(zone, f, a);
	kt_text_time(zone, t, b);
	printf("%s is off from %s to %s (%s)%s%s\n%s\n", staff_name, a, b, zone, o[REASON].value ? ": " : "",
	       o[REASON].value ? o[REASON].value : "", id);
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
	enum { NAME, DURATION, PRICE, LOCS, SPECS, BUFFER, ORG, NOPT };
	static const char *const col[ORG] = {"name", "duration_min", "price_cents", "location_ids", "specialist_ids",
					     "buffer_min"};
	admin_opt o[NOPT] = {{"--name"}, {"--duration"}, {"--price"}, {"--locations"}, {"--specialists"},
			     {"--buffer"}, {"--org"}};
	const char *val[ORG], *pos[1], *target = NULL;
	char cents[24], locs[4096], specs[4096], err[256], id[KT_UUID_LEN + 1], svc_id[KT_UUID_LEN + 1], name[128];
	char org[KT_UUID_LEN + 1] = "";
	kt_field f[ORG];
	int n = 0, npos, rc;
	bool create = argc >= 1 && !strcmp(argv[0], "create"), edit = argc >= 1 && !strcmp(argv[0], "edit");

	if (!create && !edit)
		return usage("service create --name N --duration MIN --price P ..., or service edit SERVICE ...");
	if ((rc = admin_parse(argc - 1, argv + 1, o, create ? NOPT : ORG, pos, edit ? 1 : 0, &npos)))
		return rc;
	if (edit && npos != 1)
		return usage("service edit needs the service (its id or name)");
	for (int k = 0; k < ORG; k++)
		val[k] = o[k].value;
	if (val[PRICE]) {
		long long c = parse_price(val[PRICE]);
		if (c < 0)
			return usage("--price wants an amount such as 25.00 (in the organisation's currency)");
		snprintf(cents, sizeof cents, "%lld", c);
		val[PRICE] = cents;
	}
	/* the organisation: the service's (edit); --org's, the first location's or the only one (create) */
	if (edit) {
		if ((rc = admin_want(st, RESOLVE_SERVICE, NULL, "service", pos[0], svc_id)))
			return rc;
		resolve_name(st, RESOLVE_SERVICE, svc_id, name, sizeof name);
		target = svc_id;
		if (resolve_org_of(st, "service", svc_id, org))
			return fail("cannot read the service", NULL);
	} else if (o[ORG].value && (rc = admin_want_org(st, o[ORG].value, org)))
		return rc;
	resolve_scope sc = {*org ? org : NULL, NULL};
	if (val[LOCS] && (rc = admin_want_list(st, RESOLVE_LOCATION, &sc, "--locations", val[LOCS], locs, sizeof locs)))
		return rc;
	if (!*org) {
		char first[KT_UUID_LEN + 1];
		kt_strcpy_cut(first, sizeof first, val[LOCS] ? locs : "");
		if (*first ? resolve_org_of(st, "location", first, org) : (rc = admin_want_org(st, NULL, org)))
			return rc ? rc : fail("cannot read the location", NULL);
		sc.org = org;
	}
	if (val[SPECS] && (rc = admin_want_list(st, RESOLVE_STAFF, &sc, "--specialists", val[SPECS], specs, sizeof specs)))
		return rc;
	if (val[LOCS])
		val[LOCS] = locs;
	if (val[SPECS])
		val[SPECS] = specs;
	for (int k = 0; k < ORG; k++)
		if (val[k])
			f[n++] = (kt_field){col[k], val[k]};
	if (schedule_service_put(st, org, target, f, n, id, err, sizeof err))
		return fail(err, NULL);
	printf("%s service %s:", create ? "created" : "changed", create ? val[NAME] : name);
	for (int k = 0; k < ORG; k++) {
		if (!val[k])
			continue;
		if ((k == LOCS || k == SPECS) && *val[k]) { /* the names as found ("Nina Zupan"), not as typed */
			printf(" %s=", o[k].name + 2);
			say_names(st, k == LOCS ? RESOLVE_LOCATION : RESOLVE_STAFF, val[k]);
		} else
			printf(" %s=%s", o[k].name + 2, (k == LOCS || k == SPECS) ? "(all)" : o[k].value);
	}
	printf("\n");
	if (create)
		printf("%s\n", id);
	return 0;
}
