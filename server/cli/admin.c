/* admin.c - `kartoteka-server admin --db FILE ...` (see admin.h). Writes go
 * through ops.c, so the change log (and through it every connected device)
 * sees them even while a server is serving the same file. Arguments are
 * parsed strictly: an unknown or repeated option is a usage error, never
 * silently ignored. Never prints password hashes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli/admin.h"
#include "domain/ops.h"
#include "cli/say.h"
#include "cli/table.h"
#include "domain/resolve.h"
#include "domain/revoke.h"
#include "domain/staff.h"
#include "kt_text.h"

enum { ADMIN_OK = 0, ADMIN_FAIL = 1, ADMIN_USAGE = 2 };

#define ADMIN_MAX_POS 4


static void admin_usage(void)
{
	admin_usage_print(stderr);
}

/* Said on stderr: a failure (1); a value that cannot be used (a time the
 * clocks skip, a bad date: 2 like a usage error, without burying the
 * reason under the whole usage); a usage error (2, then the usage). */
#define admin_fail(...) cli_say("admin", ADMIN_FAIL, NULL, __VA_ARGS__)
#define admin_input_error(...) cli_say("admin", ADMIN_USAGE, NULL, __VA_ARGS__)
#define admin_usage_error(...) cli_say("admin", ADMIN_USAGE, admin_usage_print, __VA_ARGS__)

/* ---- arguments ---- */


/* A whole decimal number in [min, max]. */
static bool parse_int(const char *s, long long min, long long max, long long *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}



/* ---- list ---- */

static const char *col_text(sqlite3_stmt *s, int c)
{
	return (const char *)sqlite3_column_text(s, c);
}

static void list_row(kt_store *st, const char *what, sqlite3_stmt *s, cli_table *t)
{
	if (!strcmp(what, "locations")) {
		for (int c = 0; c < 5; c++)
			cli_table_str(t, col_text(s, c));
	} else if (!strcmp(what, "staff")) {
		for (int c = 0; c < 5; c++)
			cli_table_str(t, col_text(s, c));
		cli_table_bool(t, sqlite3_column_int(s, 5));
	} else if (!strcmp(what, "clients")) {
		/* name and e-mail are sealed (keyring.h): read from the decrypted row */
		kt_row row = {0};
		bool card = store_row_load(st, kt_table_find("client", 6), col_text(s, 0), &row) == KT_OK;
		const kt_table *ct = kt_table_find("client", 6);
		const kt_val *name = card ? &row.v[kt_col_index(ct, "name")] : NULL;
		const kt_val *email = card ? &row.v[kt_col_index(ct, "email")] : NULL;
		const kt_val *phone = card ? &row.v[kt_col_index(ct, "phone")] : NULL;
		cli_table_str(t, col_text(s, 0));
		cli_table_str(t, name && !name->null ? name->s : NULL);
		cli_table_str(t, email && !email->null ? email->s : NULL);
		cli_table_str(t, phone && !phone->null ? phone->s : NULL);
		cli_table_str(t, col_text(s, 1));
		kt_row_free(&row);
	} else if (!strcmp(what, "services")) {
		cli_table_str(t, col_text(s, 0));
		cli_table_str(t, col_text(s, 1));
		cli_table_int(t, sqlite3_column_int64(s, 2));
		cli_table_str(t, col_text(s, 3));
		cli_table_str(t, col_text(s, 4));
	} else { /* appointments: local time at their location */
		char client[256];
		resolve_name(st, RESOLVE_CLIENT, col_text(s, 5), client, sizeof client);
		cli_table_str(t, col_text(s, 0));
		cli_table_time(t, col_text(s, 1), sqlite3_column_int64(s, 2));
		cli_table_int(t, sqlite3_column_int64(s, 3));
		cli_table_str(t, col_text(s, 4));
		cli_table_str(t, col_text(s, 6));
		cli_table_str(t, client);
		cli_table_str(t, col_text(s, 7));
	}
	cli_table_row_end(t);
}

static int admin_list(kt_store *st, int argc, char **argv)
{
	static const char *const loc_cols[] = {"id", "name", "time_zone", "address", "phone"};
	static const char *const staff_cols[] = {"id", "role", "locations", "name", "email", "active"};
	static const char *const client_cols[] = {"id", "name", "email", "phone", "locations"};
	static const char *const service_cols[] = {"id", "name", "duration_min", "locations", "price"};
	static const char *const appt_cols[] = {"id",       "start",  "duration_min", "status",
						"location", "client", "specialist"};
	static const struct {
		const char *what, *sql;
		const char *const *cols;
		int ncols;
	} q[] = {
		{"locations",
		 "SELECT id, name, time_zone, address, phone FROM location WHERE ?2 IS NULL OR id = ?2 "
		 "ORDER BY name, id LIMIT ?1",
		 loc_cols, 5},
		{"staff",
		 "SELECT s.id, s.role, CASE s.role WHEN 'owner' THEN '*' ELSE coalesce((SELECT "
		 "group_concat(name, ',') FROM (SELECT l.name FROM staff_location sl JOIN location l ON "
		 "l.id = sl.location_id WHERE sl.staff_id = s.id ORDER BY l.name)), '') END AS locs, "
		 "s.display_name, s.email, s.active FROM staff s WHERE ?2 IS NULL OR s.role = 'owner' OR EXISTS "
		 "(SELECT 1 FROM staff_location sl WHERE sl.staff_id = s.id AND sl.location_id = ?2) "
		 "ORDER BY CASE s.role WHEN 'owner' THEN 0 WHEN "
		 "'manager' THEN 1 WHEN 'reception' THEN 2 ELSE 3 END, locs, s.display_name, s.id LIMIT ?1",
		 staff_cols, 6},
		{"clients",
		 "SELECT c.id, coalesce((SELECT group_concat(name, ',') FROM (SELECT "
		 "l.name FROM client_location cl JOIN location l ON l.id = cl.location_id WHERE "
		 "cl.client_id = c.id ORDER BY l.name)), '') FROM client c WHERE ?2 IS NULL OR EXISTS (SELECT 1 "
		 "FROM client_location cl WHERE cl.client_id = c.id AND cl.location_id = ?2) ORDER BY c.id LIMIT ?1",
		 client_cols, 5},
		{"services",
		 /* where it is offered is location_ids (the booking rules' list), not the old location_id */
		 "SELECT s.id, s.name, s.duration_min, coalesce((SELECT group_concat(name, ',') FROM (SELECT l.name "
		 "FROM location l WHERE instr(',' || s.location_ids || ',', ',' || l.id || ',') ORDER BY l.name)), "
		 "'*'), (s.price_cents / 100) || '.' || substr('0' || (s.price_cents % 100), -2) || coalesce(' ' || (SELECT currency "
		 "FROM organisation o WHERE o.id = s.org_id), '') FROM service s WHERE ?2 IS NULL OR "
		 "coalesce(s.location_ids, '') = '' OR "
		 "instr(',' || s.location_ids || ',', ',' || ?2 || ',') ORDER BY s.name, s.id LIMIT ?1",
		 service_cols, 5},
		{"appointments",
		 "SELECT a.id, l.time_zone, a.start_at, a.duration_min, a.status, a.client_id, l.name, "
		 "coalesce(sp.display_name, '?') FROM appointment a JOIN location l ON l.id = a.location_id "
		 "LEFT JOIN staff sp ON sp.id = a.specialist_id WHERE (?2 IS NULL OR a.location_id = ?2) "
		 "AND a.start_at >= ?3 AND a.start_at < ?4 ORDER BY a.start_at, a.id LIMIT ?1",
		 appt_cols, 7},
	};
	enum { LIMIT, JSON, LOC, FROM, TO };
	admin_opt opts[] = {{"--limit", false}, {"--json", true}, {"--location", false}, {"--from", false}, {"--to", false}};
	const char *pos[1];
	char loc[KT_UUID_LEN + 1] = "", zone[RESOLVE_ZONE] = "", err[256];
	long long limit = -1;
	int64_t from = INT64_MIN, to = INT64_MAX;
	sqlite3_stmt *s = NULL;
	cli_table t;
	int npos, rc;

	if ((rc = admin_parse(argc, argv, opts, 5, pos, 1, &npos)))
		return rc;
	if (npos != 1)
		return admin_usage_error("list what? locations, staff, clients, services or appointments");
	if (opts[LIMIT].value && !parse_int(opts[LIMIT].value, 0, 1000000000, &limit))
		return admin_usage_error("--limit wants a number");
	if ((opts[FROM].value || opts[TO].value) && strcmp(pos[0], "appointments"))
		return admin_usage_error("--from and --to filter appointments");
	if (opts[LOC].value) {
		if ((rc = admin_want(st, RESOLVE_LOCATION, NULL, "--location", opts[LOC].value, loc)))
			return rc;
		resolve_location_zone(st, loc, zone);
	} else
		resolve_org_zone(st, NULL, zone);
	/* dates are local to the location asked for, else to the first one */
	if ((opts[FROM].value && kt_text_bound_arg("--from", zone, opts[FROM].value, 0, &from, err, sizeof err)) ||
	    (opts[TO].value && kt_text_bound_arg("--to", zone, opts[TO].value, 1, &to, err, sizeof err)))
		return admin_input_error("%s", err);
	for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
		if (strcmp(pos[0], q[i].what))
			continue;
		if (sqlite3_prepare_v2(store_db(st), q[i].sql, -1, &s, NULL) != SQLITE_OK)
			return admin_fail("%s", sqlite3_errmsg(store_db(st)));
		sqlite3_bind_int64(s, 1, limit);
		if (*loc)
			sqlite3_bind_text(s, 2, loc, -1, SQLITE_STATIC);
		if (!strcmp(q[i].what, "appointments")) {
			sqlite3_bind_int64(s, 3, from);
			sqlite3_bind_int64(s, 4, to);
		}
		if (cli_table_begin(&t, opts[JSON].seen, q[i].cols, q[i].ncols)) {
			sqlite3_finalize(s);
			return admin_fail("out of memory");
		}
		while ((rc = sqlite3_step(s)) == SQLITE_ROW)
			list_row(st, q[i].what, s, &t);
		sqlite3_finalize(s);
		if (cli_table_end(&t))
			return admin_fail("out of memory");
		if (rc != SQLITE_DONE)
			return admin_fail("cannot read %s: %s", pos[0], sqlite3_errstr(rc));
		return ADMIN_OK;
	}
	return admin_usage_error("cannot list '%.40s': locations, staff, clients, services or appointments", pos[0]);
}

/* ---- appointment ---- */

/* --allow-overlap needs --reason and the other way round: a double booking
 * on purpose is always explained in the audit log. --override RULES is
 * the same for any booking rule (ops.h); it stands for --allow-overlap. */
static int override_opts(admin_opt *allow, const admin_opt *rules, unsigned *out)
{
	*out = 0;
	if (!rules->seen)
		return ADMIN_OK;
	if (!(*out = ops_rules_parse(rules->value, rules->value ? strlen(rules->value) : 0)))
		return admin_usage_error("--override wants booking rules joined by commas: %s", ops_rule_names());
	allow->seen = true;
	return ADMIN_OK;
}

static int overlap_opts(const admin_opt *allow, const admin_opt *reason, const char **out)
{
	*out = NULL;
	if (allow->seen != reason->seen)
		return admin_usage_error("--allow-overlap (or --override) and --reason TEXT go together");
	if (reason->value && !reason->value[0])
		return admin_usage_error("--reason wants a text: why is the specialist double-booked?");
	*out = reason->value;
	return ADMIN_OK;
}

/* One sentence about an appointment as it is now, for the operator:
 * "booked Ana Novak with Nina Kranjc at Lepota Maribor, 2027-01-15 09:30 CET
 * (45 min)". The id follows when with_id (creates: scripts take the last
 * word). */
static void say_appt(kt_store *st, const char *verb, const char *id, bool with_id)
{
	sqlite3_stmt *q;
	char client[256] = "?", spec[256] = "?", loc[256] = "?", when[KT_TEXT_TIME] = "?";
	long long minutes = 0;
	if (sqlite3_prepare_v2(store_db(st),
			       "SELECT a.client_id, a.specialist_id, a.location_id, l.time_zone, a.start_at, "
			       "a.duration_min FROM appointment a JOIN location l ON l.id = a.location_id WHERE a.id = ?",
			       -1, &q, NULL) == SQLITE_OK) {
		sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
		if (sqlite3_step(q) == SQLITE_ROW) {
			resolve_name(st, RESOLVE_CLIENT, col_text(q, 0), client, sizeof client);
			resolve_name(st, RESOLVE_STAFF, col_text(q, 1), spec, sizeof spec);
			resolve_name(st, RESOLVE_LOCATION, col_text(q, 2), loc, sizeof loc);
			kt_text_time(col_text(q, 3), sqlite3_column_int64(q, 4), when);
			minutes = sqlite3_column_int64(q, 5);
		}
		sqlite3_finalize(q);
	}
	printf("%s %s with %s at %s, %s (%lld min)%s%s\n", verb, client, spec, loc, when, minutes,
	       with_id ? ": appointment " : "", with_id ? id : "");
}

static int admin_appt_create(kt_store *st, int argc, char **argv)
{
	enum { LOC, CLIENT, SPEC, START, DURATION, SERVICES, STATUS, NOTE, INTERNAL, ALLOW, REASON, OVERRIDE };
	admin_opt o[] = {{"--location"},      {"--client"},        {"--specialist"}, {"--start"},
			 {"--duration"},      {"--services"},      {"--status"},     {"--note"},
			 {"--internal-note"}, {"--allow-overlap", true}, {"--reason"}, {"--override"}};
	kt_appt_args a = {0};
	char id[KT_UUID_LEN + 1], err[256], org[KT_UUID_LEN + 1], zone[RESOLVE_ZONE];
	char loc[KT_UUID_LEN + 1], client[KT_UUID_LEN + 1], spec[KT_UUID_LEN + 1], services[2048];
	const char *pos[1];
	long long minutes = 0;
	int npos, rc;

	if ((rc = admin_parse(argc, argv, o, (int)(sizeof o / sizeof o[0]), pos, 0, &npos)))
		return rc;
	if (!o[LOC].value || !o[CLIENT].value || !o[SPEC].value || !o[START].value)
		return admin_usage_error(
			"appointment create needs --location, --client, --specialist and --start");
	if (o[DURATION].value && !parse_int(o[DURATION].value, 1, 24 * 60, &minutes))
		return admin_usage_error("--duration wants minutes, 1 to 1440");
	/* the location first: the others are looked up in its organisation */
	if ((rc = admin_want(st, RESOLVE_LOCATION, NULL, "--location", o[LOC].value, loc)))
		return rc;
	if (resolve_org_of(st, "location", loc, org))
		return admin_fail("cannot read the location");
	resolve_scope sc = {org, loc};
	if ((rc = admin_want(st, RESOLVE_CLIENT, &sc, "--client", o[CLIENT].value, client)) ||
	    (rc = admin_want(st, RESOLVE_STAFF, &sc, "--specialist", o[SPEC].value, spec)) ||
	    (o[SERVICES].value && (rc = admin_want_list(st, RESOLVE_SERVICE, &sc, "--services", o[SERVICES].value, services,
							sizeof services))))
		return rc;
	/* --start is local to the appointment's location */
	resolve_location_zone(st, loc, zone);
	if (kt_text_time_arg("--start", zone, o[START].value, &a.start_at, err, sizeof err))
		return admin_input_error("%s", err);
	a.location_id = loc;
	a.client_id = client;
	a.specialist_id = spec;
	a.duration_min = (int)minutes;
	a.services = o[SERVICES].value ? services : NULL;
	a.status = o[STATUS].value;
	a.client_note = o[NOTE].value;
	a.internal_note = o[INTERNAL].value;
	if ((rc = override_opts(&o[ALLOW], &o[OVERRIDE], &a.override)) ||
	    (rc = overlap_opts(&o[ALLOW], &o[REASON], &a.overlap_reason)))
		return rc;
	if ((rc = ops_appointment_create(st, &a, id, err, sizeof err)))
		return admin_fail("%s", err);
	say_appt(st, "booked", id, true);
	return ADMIN_OK;
}

static int admin_appt_move(kt_store *st, int argc, char **argv)
{
	admin_opt o[] = {{"--location"}, {"--specialist"}, {"--start"}, {"--allow-overlap", true}, {"--reason"},
			 {"--override"}};
	const char *pos[1], *reason;
	char err[256], org[KT_UUID_LEN + 1], zone[RESOLVE_ZONE], loc[KT_UUID_LEN + 1] = "", spec[KT_UUID_LEN + 1] = "";
	char old_loc[KT_UUID_LEN + 1] = "";
	int64_t start = -1;
	unsigned override;
	int npos, rc;

	if ((rc = admin_parse(argc, argv, o, 6, pos, 1, &npos)) || (rc = override_opts(&o[3], &o[5], &override)) ||
	    (rc = overlap_opts(&o[3], &o[4], &reason)))
		return rc;
	if (npos != 1)
		return admin_usage_error("appointment move needs the appointment id");
	if (!o[0].value && !o[1].value && !o[2].value)
		return admin_usage_error("appointment move needs --location, --specialist or --start");
	if (!kt_uuid_valid(pos[0], strlen(pos[0])) || resolve_org_of(st, "appointment", pos[0], org))
		return admin_fail("no appointment %.40s", pos[0]);
	resolve_scope sc = {org, NULL};
	if ((o[0].value && (rc = admin_want(st, RESOLVE_LOCATION, &sc, "--location", o[0].value, loc))) ||
	    (o[1].value && (rc = admin_want(st, RESOLVE_STAFF, &sc, "--specialist", o[1].value, spec))))
		return rc;
	if (o[2].value) {
		/* local to where the appointment will be: the new location, if any */
		if (!*loc) {
			sqlite3_stmt *q;
			if (sqlite3_prepare_v2(store_db(st), "SELECT location_id FROM appointment WHERE id = ?", -1, &q,
					       NULL) == SQLITE_OK) {
				sqlite3_bind_text(q, 1, pos[0], -1, SQLITE_STATIC);
				if (sqlite3_step(q) == SQLITE_ROW)
					kt_strcpy_cut(old_loc, sizeof old_loc, col_text(q, 0));
				sqlite3_finalize(q);
			}
		}
		resolve_location_zone(st, *loc ? loc : old_loc, zone);
		if (kt_text_time_arg("--start", zone, o[2].value, &start, err, sizeof err))
			return admin_input_error("%s", err);
	}
	if ((rc = ops_appointment_move(st, pos[0], *loc ? loc : NULL, *spec ? spec : NULL, start, reason, override,
				       err, sizeof err)))
		return admin_fail("%s", err);
	say_appt(st, "moved: now", pos[0], false);
	return ADMIN_OK;
}

static int admin_appt_cancel(kt_store *st, int argc, char **argv)
{
	admin_opt o[] = {{"--reason"}}; /* why (the appointment's status_reason) */
	const char *pos[1];
	char err[256];
	int npos, rc;

	if ((rc = admin_parse(argc, argv, o, 1, pos, 1, &npos)))
		return rc;
	if (npos != 1)
		return admin_usage_error("appointment cancel needs the appointment id");
	if ((rc = ops_appointment_cancel(st, pos[0], o[0].value, err, sizeof err)))
		return admin_fail("%s", err);
	say_appt(st, "cancelled", pos[0], false);
	return ADMIN_OK;
}

static int admin_appointment(kt_store *st, int argc, char **argv)
{
	if (argc >= 1 && !strcmp(argv[0], "create"))
		return admin_appt_create(st, argc - 1, argv + 1);
	if (argc >= 1 && !strcmp(argv[0], "move"))
		return admin_appt_move(st, argc - 1, argv + 1);
	if (argc >= 1 && !strcmp(argv[0], "cancel"))
		return admin_appt_cancel(st, argc - 1, argv + 1);
	return admin_usage_error("appointment create, move or cancel?");
}

/* ---- client ---- */

/* client set ID FIELD VALUE | client set ID FIELD --clear; also the older
 * spelling client clear ID FIELD. */
static long long client_version(kt_store *st, const char *id)
{
	sqlite3_stmt *q;
	long long v = -1;
	if (sqlite3_prepare_v2(store_db(st), "SELECT version FROM client WHERE id = ?", -1, &q, NULL) == SQLITE_OK) {
		sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
		if (sqlite3_step(q) == SQLITE_ROW)
			v = sqlite3_column_int64(q, 0);
		sqlite3_finalize(q);
	}
	return v;
}

static int admin_client(kt_store *st, int argc, char **argv)
{
	admin_opt o[] = {{"--clear", true}};
	const char *pos[3];
	char err[256], id[KT_UUID_LEN + 1], name[256];
	bool set = argc >= 1 && !strcmp(argv[0], "set"), clear = argc >= 1 && !strcmp(argv[0], "clear");
	int npos, rc;

	if (!set && !clear)
		return admin_usage_error("client set CLIENT FIELD VALUE, or client set CLIENT FIELD --clear");
	if ((rc = admin_parse(argc - 1, argv + 1, o, 1, pos, 3, &npos)))
		return rc;
	clear |= o[0].seen;
	if (npos != (clear ? 2 : 3) || (o[0].seen && !set))
		return admin_usage_error("client set CLIENT FIELD VALUE, or client set CLIENT FIELD --clear");
	if ((rc = admin_want(st, RESOLVE_CLIENT, NULL, "client", pos[0], id)))
		return rc;
	long long before = client_version(st, id);
	if ((rc = ops_client_set(st, id, pos[1], clear ? NULL : pos[2], err, sizeof err)))
		return admin_fail("%s", err);
	resolve_name(st, RESOLVE_CLIENT, id, name, sizeof name);
	if (client_version(st, id) == before)
		printf("%s's %s already %s: nothing changed\n", name, pos[1], clear ? "was empty" : "had this value");
	else
		printf("%s %s's %s\n", clear ? "cleared" : "set", name, pos[1]);
	return ADMIN_OK;
}

/* ---- device register, revocation ---- */

static int print_device(void *user, const kt_device_info *d)
{
	struct {
		kt_store *st;
		cli_table *t;
	} *c = user;
	char org[KT_UUID_LEN + 1], zone[RESOLVE_ZONE] = "", person[256];
	bool client = !strcmp(d->kind, "client");
	/* a device has no place: its person's organisation's first location */
	if (resolve_org_of(c->st, client ? "client" : "staff", d->principal_id, org) == KT_OK)
		resolve_org_zone(c->st, org, zone);
	resolve_name(c->st, client ? RESOLVE_CLIENT : RESOLVE_STAFF, d->principal_id, person, sizeof person);
	cli_table_str(c->t, d->id);
	cli_table_str(c->t, d->kind);
	cli_table_str(c->t, d->role);
	cli_table_str(c->t, person);
	cli_table_str(c->t, d->principal_id);
	cli_table_str(c->t, d->app);
	cli_table_time(c->t, zone, d->last_seen);
	cli_table_int(c->t, d->last_ack_seq);
	cli_table_str(c->t, d->revoked ? "revoked" : d->signed_in ? "signed-in" : "signed-out");
	cli_table_row_end(c->t);
	return 0;
}

/* "the tablet of Nina Korošec (staff, specialist)": which device, for people. */
static void device_words(kt_store *st, const char *id, char *buf, size_t cap)
{
	sqlite3_stmt *q;
	snprintf(buf, cap, "device %s", id);
	if (sqlite3_prepare_v2(store_db(st), "SELECT kind, principal_id, coalesce(app, '') FROM device WHERE id = ?", -1,
			       &q, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW) {
		char person[256];
		bool client = !strcmp(col_text(q, 0), "client");
		resolve_name(st, client ? RESOLVE_CLIENT : RESOLVE_STAFF, col_text(q, 1), person, sizeof person);
		snprintf(buf, cap, "device %s (%s%s%s, %s)", id, *col_text(q, 2) ? col_text(q, 2) : "",
			 *col_text(q, 2) ? " of " : "", person, client ? "client" : "staff");
	}
	sqlite3_finalize(q);
}

static int admin_device(kt_store *st, int argc, char **argv)
{
	static const char *const cols[] = {"id",  "kind",      "role",         "name", "principal_id",
					   "app", "last_seen", "last_ack_seq", "state"};
	admin_opt o[] = {{"--json", true}};
	const char *pos[1];
	char what[400];
	int npos, rc;
	bool list = argc >= 1 && !strcmp(argv[0], "list");
	bool sign_out = argc >= 1 && !strcmp(argv[0], "sign-out"), revoke = argc >= 1 && !strcmp(argv[0], "revoke");
	bool lost = argc >= 1 && !strcmp(argv[0], "lost");

	if (!list && !sign_out && !revoke && !lost)
		return admin_usage_error("device list, sign-out ID, revoke ID or lost ID?");
	if ((rc = admin_parse(argc - 1, argv + 1, o, list ? 1 : 0, pos, 1, &npos)))
		return rc;
	if (list) {
		cli_table t;
		struct {
			kt_store *st;
			cli_table *t;
		} c = {st, &t};
		if (npos)
			return admin_usage_error("device list takes no arguments");
		if (cli_table_begin(&t, o[0].seen, cols, 9))
			return admin_fail("out of memory");
		rc = revoke_list_devices(st, NULL, print_device, &c);
		if (cli_table_end(&t) || rc)
			return admin_fail("cannot read the devices");
		return ADMIN_OK;
	}
	if (npos != 1)
		return admin_usage_error("device %s needs the device id", argv[0]);
	kt_action a = lost ? KT_ACT_MARK_DEVICE_LOST : revoke ? KT_ACT_REVOKE_DEVICE : KT_ACT_SIGN_OUT_DEVICE;
	if ((rc = revoke_may_device(st, NULL, a, pos[0])))
		return admin_fail("no device %s", pos[0]);
	device_words(st, pos[0], what, sizeof what);
	rc = lost ? revoke_mark_lost(st, pos[0]) : revoke ? revoke_device(st, pos[0]) : revoke_sign_out_device(st, pos[0]);
	if (rc)
		return admin_fail("not saved: %s", kt_strerror(rc));
	printf("%s %s%s\n", lost ? "marked lost:" : revoke ? "revoked" : "signed out", what,
	       lost ? "; erasures no longer wait for its purge receipt"
	       : revoke ? "; its sessions ended and it must wipe its data"
			: "; it may sign in again");
	return ADMIN_OK;
}

/* staff location P add|remove L, staff role P ROLE: rights changes;
 * connected devices of that person get what they may see now. */
static int admin_staff_rights(kt_store *st, int argc, char **argv)
{
	const char *pos[3];
	char id[KT_UUID_LEN + 1], loc[KT_UUID_LEN + 1], org[KT_UUID_LEN + 1], name[256], lname[256], err[256] = "";
	int npos, rc;
	bool is_loc = !strcmp(argv[0], "location");

	if ((rc = admin_parse(argc - 1, argv + 1, NULL, 0, pos, 3, &npos)))
		return rc;
	if (is_loc ? npos != 3 || (strcmp(pos[1], "add") && strcmp(pos[1], "remove")) : npos != 2)
		return admin_usage_error(is_loc ? "staff location STAFF add|remove LOCATION" : "staff role STAFF ROLE");
	if ((rc = admin_want(st, RESOLVE_STAFF, NULL, "staff", pos[0], id)))
		return rc;
	if (resolve_org_of(st, "staff", id, org))
		return admin_fail("no staff member %s", pos[0]);
	resolve_scope sc = {org, NULL};
	if (is_loc && (rc = admin_want(st, RESOLVE_LOCATION, &sc, "location", pos[2], loc)))
		return rc;
	/* the same change as the manage message's (domain/staff.c): one list
	 * with the location added or taken out */
	if (is_loc) {
		char now[4096], want[4096 + KT_UUID_LEN + 2] = "";
		size_t n = 0;
		if ((rc = staff_locations(st, id, now, sizeof now)))
			return admin_fail("not saved: %s", kt_strerror(rc));
		for (const char *p = now; *p; p = p[KT_UUID_LEN] ? p + KT_UUID_LEN + 1 : "")
			if (strncmp(p, loc, KT_UUID_LEN))
				n += (size_t)snprintf(want + n, sizeof want - n, "%s%.*s", n ? "," : "", KT_UUID_LEN, p);
		if (!strcmp(pos[1], "add"))
			snprintf(want + n, sizeof want - n, "%s%s", n ? "," : "", loc);
		rc = staff_set_locations(st, NULL, id, want, err, sizeof err);
	} else
		rc = staff_set_role(st, NULL, id, pos[1], err, sizeof err);
	if (rc)
		return admin_fail("not saved: %s", err[0] ? err : kt_strerror(rc));
	resolve_name(st, RESOLVE_STAFF, id, name, sizeof name);
	if (is_loc) {
		resolve_name(st, RESOLVE_LOCATION, loc, lname, sizeof lname);
		printf("%s %s at %s\n", name, !strcmp(pos[1], "add") ? "now works" : "no longer works", lname);
	} else
		printf("%s is now %s\n", name, pos[1]);
	return ADMIN_OK;
}

static int admin_staff(kt_store *st, int argc, char **argv)
{
	const char *pos[1];
	char id[KT_UUID_LEN + 1], name[256];
	int npos, rc;

	if (argc >= 1 && (!strcmp(argv[0], "location") || !strcmp(argv[0], "role")))
		return admin_staff_rights(st, argc, argv);
	if (argc >= 1 && (!strcmp(argv[0], "hours") || !strcmp(argv[0], "time-off")))
		return admin_staff_schedule(st, argc, argv);
	if (argc < 1 || strcmp(argv[0], "deactivate"))
		return admin_usage_error("staff deactivate STAFF, location STAFF add|remove LOCATION, or role STAFF ROLE?");
	if ((rc = admin_parse(argc - 1, argv + 1, NULL, 0, pos, 1, &npos)))
		return rc;
	if (npos != 1)
		return admin_usage_error("staff deactivate needs the staff member's name or id");
	if ((rc = admin_want(st, RESOLVE_STAFF, NULL, "staff", pos[0], id)))
		return rc;
	if ((rc = revoke_may_staff(st, NULL, id)))
		return admin_fail("no staff member %s", pos[0]);
	if ((rc = revoke_deactivate_staff(st, id)))
		return admin_fail("not saved: %s", kt_strerror(rc));
	resolve_name(st, RESOLVE_STAFF, id, name, sizeof name);
	printf("deactivated %s: they can no longer sign in, their sessions ended\n", name);
	return ADMIN_OK;
}

int admin_main(const char *db_path, int argc, char **argv)
{
	kt_store *st = NULL;
	const char *msg = NULL;
	int rc;

	if (argc < 1) {
		admin_usage();
		return ADMIN_USAGE;
	}
	if (!strcmp(argv[0], "help") || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")) {
		admin_usage_print(stdout); /* asked for: the answer, not an error */
		return ADMIN_OK;
	}
	if (strcmp(argv[0], "appointment") && strcmp(argv[0], "client") && strcmp(argv[0], "list") &&
	    strcmp(argv[0], "device") && strcmp(argv[0], "staff") && strcmp(argv[0], "consent") &&
	    strcmp(argv[0], "hours") && strcmp(argv[0], "closed") && strcmp(argv[0], "service") &&
	    strcmp(argv[0], "location") && strcmp(argv[0], "org") && strcmp(argv[0], "review") &&
	    strcmp(argv[0], "link") && strcmp(argv[0], "message") && strcmp(argv[0], "outbox") &&
	    strcmp(argv[0], "retention"))
		return admin_usage_error("unknown subcommand '%.40s'", argv[0]);
	if (!db_path)
		return admin_usage_error("--db FILE is required");
	/* listings only read: they may be pointed at a backup (--keys for its keyring) */
	bool reads = !strcmp(argv[0], "list") || (argc > 1 && !strcmp(argv[0], "device") && !strcmp(argv[1], "list")) ||
		     (argc > 1 && !strcmp(argv[0], "consent") && !strcmp(argv[1], "show")) ||
		     (argc > 1 && !strcmp(argv[0], "hours") && !strcmp(argv[1], "show")) ||
		     (argc > 1 && !strcmp(argv[0], "location") && !strcmp(argv[1], "list")) ||
		     (argc > 1 && !strcmp(argv[0], "review") && !strcmp(argv[1], "list")) ||
		     (argc > 1 && !strcmp(argv[0], "outbox") && !strcmp(argv[1], "list")) ||
		     (argc > 1 && !strcmp(argv[0], "retention") && !strcmp(argv[1], "show")) ||
		     (!strcmp(argv[0], "org") && kt_arg_flag(argc, argv, "--show"));
	if (store_open(db_path, reads ? KT_STORE_READONLY : 0, &st, &msg))
		return admin_fail("%s: %s", db_path, msg ? msg : "cannot open");
	/* the audit log names who changed what: edits made here are the operator's */
	store_set_actor(st, "operator", NULL, NULL, 0);
	if (!strcmp(argv[0], "appointment"))
		rc = admin_appointment(st, argc - 1, argv + 1);
	else if (!strcmp(argv[0], "client") && argc > 1 && strcmp(argv[1], "set") && strcmp(argv[1], "clear"))
		rc = admin_client_more(st, argc - 1, argv + 1);
	else if (!strcmp(argv[0], "client"))
		rc = admin_client(st, argc - 1, argv + 1);
	else if (!strcmp(argv[0], "location"))
		rc = admin_location(st, argc - 1, argv + 1);
	else if (!strcmp(argv[0], "org"))
		rc = admin_org(st, argc - 1, argv + 1);
	else if (!strcmp(argv[0], "staff") && argc > 1 && (!strcmp(argv[1], "invite") || !strcmp(argv[1], "reset-password")))
		rc = admin_staff_more(st, argc - 1, argv + 1);
	else if (!strcmp(argv[0], "device"))
		rc = admin_device(st, argc - 1, argv + 1);
	else if (!strcmp(argv[0], "staff"))
		rc = admin_staff(st, argc - 1, argv + 1);
	else if (!strcmp(argv[0], "consent"))
		rc = admin_consent(st, argc - 1, argv + 1);
	else if (!strcmp(argv[0], "hours"))
		rc = admin_hours(st, argc - 1, argv + 1);
	else if (!strcmp(argv[0], "closed"))
		rc = admin_closed(st, argc - 1, argv + 1);
	else if (!strcmp(argv[0], "service"))
		rc = admin_service(st, argc - 1, argv + 1);
	else if (!strcmp(argv[0], "review"))
		rc = admin_review(st, argc - 1, argv + 1);
	else if (!strcmp(argv[0], "link"))
		rc = admin_link(st, argc - 1, argv + 1);
	else if (!strcmp(argv[0], "outbox"))
		rc = admin_outbox(st, argc - 1, argv + 1);
	else if (!strcmp(argv[0], "retention"))
		rc = admin_retention(st, argc - 1, argv + 1);
	else if (!strcmp(argv[0], "message"))
		rc = admin_message(st, argc - 1, argv + 1);
	else
		rc = admin_list(st, argc - 1, argv + 1);
	store_close(st);
	if (fflush(stdout) != 0 && rc == ADMIN_OK)
		rc = admin_fail("cannot write the output");
	return rc;
}
