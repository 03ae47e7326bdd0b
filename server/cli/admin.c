/* admin.c - `kartoteka-server admin --db FILE ...` (see admin.h). Writes go
 * through ops.c, so the change log (and through it every connected device)
 * sees them even while a server is serving the same file. Arguments are
 * parsed strictly: an unknown or repeated option is a usage error, never
 * silently ignored. Never prints password hashes. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli/admin.h"
#include "domain/ops.h"
#include "domain/revoke.h"

static const kt_portal_config *portal_cfg;

void admin_set_portal_config(const kt_portal_config *cfg)
{
	portal_cfg = cfg;
}

const kt_portal_config *admin_portal_config(void)
{
	return portal_cfg;
}

enum { ADMIN_OK = 0, ADMIN_FAIL = 1, ADMIN_USAGE = 2 };

#define ADMIN_MAX_POS 4

void admin_usage_print(FILE *f)
{
	fprintf(f, "usage: kartoteka-server admin --db FILE SUBCOMMAND\n"
			"  appointment create --location ID --client ID --specialist ID --start TIME\n"
			"                     [--duration MIN] [--services ID,ID] [--status S]\n"
			"                     [--note TEXT] [--internal-note TEXT]      prints the new id\n"
			"                     [--allow-overlap --reason TEXT]\n"
			"  appointment move ID [--location ID] [--specialist ID] [--start TIME]\n"
			"                     [--allow-overlap --reason TEXT]\n"
			"  appointment cancel ID\n"
			"  client set ID FIELD VALUE | client set ID FIELD --clear\n"
			"  client create --name NAME [--email E] [--phone P] [--location L]   a new card\n"
			"  client edit CLIENT [--name N] [--email E] [--phone P] [--birthday YYYY-MM-DD] [--address A]\n"
			"  client merge KEEP DUPLICATE    the duplicate's appointments, visits and consents move\n"
			"                              to KEEP; the duplicate card is removed (audited)\n"
			"  client find TEXT [--limit N]  by name, phone or e-mail; names and ids\n"
			"  location list               with time zones; closed ones say so\n"
			"  location create --name N --time-zone ZONE [--address A] [--phone P]\n"
			"  location edit LOCATION [--name N] [--time-zone ZONE] [--address A] [--phone P]\n"
			"  location close LOCATION     it keeps its history and takes no new bookings\n"
			"  staff invite --name N --email E --role ROLE [--location L,L] [--phone P]\n"
			"                              mails a link to choose a password [--config FILE]\n"
			"  staff reset-password STAFF  mails a new password link [--config FILE]\n"
			"  list locations|staff|clients|services [--limit N]     tab-separated, id first\n"
			"  device list                 the device register, tab-separated, newest first\n"
			"  device sign-out ID          end the device's sessions (it may sign in again)\n"
			"  device revoke ID            a lost device: sessions end, it must wipe its data\n"
			"  device lost ID              revoke it and record that it will never come back:\n"
			"                              erasures stop waiting for its purge receipt\n"
			"  staff deactivate ID         the person can no longer sign in; sessions end\n"
			"  staff location ID add|remove LOCATION    where the person works\n"
			"  staff role ID ROLE          owner, manager, reception or specialist\n"
			"  consent CLIENT_ID PURPOSE grant|withdraw --text-version V [--source in_salon|email_link]\n"
			"                              [--at MS]                prints the new id\n"
			"  consent show CLIENT_ID      history and state, tab-separated\n"
			"  portal invite CLIENT_ID [--config FILE]   send a portal password-setup link\n"
			"  portal outbox [--limit N]   outgoing mail and its delivery state\n"
			"  help                        this text (also --help after any subcommand)\n"
			"TIME: milliseconds since 1970 (UTC) or 2026-12-01T09:30:00Z\n"
			"LOCATION, STAFF, CLIENT (location, staff invite|reset-password, client create|edit|merge):\n"
			"  an id, a unique id prefix or a name (staff also by e-mail)\n"
			"S: booked (default), confirmed, cancelled, no_show, done\n"
			"--allow-overlap: book the specialist even when busy then (the reason is audited)\n"
			"exit status: 0 done, 1 failed, 2 usage\n");
}

static void admin_usage(void)
{
	admin_usage_print(stderr);
}

static int admin_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int admin_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int admin_fail(const char *fmt, ...)
{
	va_list ap;
	fputs("kartoteka-server admin: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return ADMIN_FAIL;
}

static int admin_usage_error(const char *fmt, ...)
{
	va_list ap;
	fputs("kartoteka-server admin: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	admin_usage();
	return ADMIN_USAGE;
}

/* ---- arguments ---- */

typedef struct admin_opt {
	const char *name;  /* "--start" */
	bool flag;         /* takes no value */
	const char *value; /* set by admin_parse */
	bool seen;
} admin_opt;

/* Sort argv into the options of opts and at most max positionals. "--" ends
 * the options (for values that start with "--"). */
static int admin_parse(int argc, char **argv, admin_opt *opts, int nopts, const char **pos, int max,
		       int *npos)
{
	bool only_pos = false;
	*npos = 0;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		admin_opt *o = NULL;
		if (!only_pos && !strcmp(a, "--")) {
			only_pos = true;
			continue;
		}
		if (only_pos || strncmp(a, "--", 2) != 0) {
			if (*npos == max)
				return admin_usage_error("unexpected argument '%.60s'", a);
			pos[(*npos)++] = a;
			continue;
		}
		for (int k = 0; k < nopts && !o; k++)
			if (!strcmp(a, opts[k].name))
				o = &opts[k];
		if (!o)
			return admin_usage_error("unknown option %.60s", a);
		if (o->seen)
			return admin_usage_error("%s given twice", o->name);
		o->seen = true;
		if (o->flag)
			continue;
		if (i + 1 >= argc)
			return admin_usage_error("%s needs a value", o->name);
		o->value = argv[++i];
	}
	return ADMIN_OK;
}

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

/* Exactly n decimal digits at s. */
static bool digits(const char *s, int n, int *out)
{
	*out = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		*out = *out * 10 + (s[i] - '0');
	}
	return true;
}

/* ms since 1970 from "1764581400000" or "YYYY-MM-DDTHH:MM[:SS[.fff]]Z"
 * (UTC only: a local time here would be a guess); -1 when neither. */
static int64_t parse_time(const char *s)
{
	struct tm tm = {0}, back;
	int y, mo, d, h, mi, sec = 0, ms = 0;
	long long v;
	time_t t;

	if (parse_int(s, 1, 253402300799999LL, &v))
		return v;
	if (strnlen(s, 32) > 30 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
	    s[7] != '-' || !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
	    !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi))
		return -1;
	s += 16;
	if (*s == ':') {
		if (!digits(s + 1, 2, &sec))
			return -1;
		s += 3;
		if (*s == '.') {
			int n = 0;
			for (s++; *s >= '0' && *s <= '9'; s++, n++)
				if (n < 3)
					ms = ms * 10 + (*s - '0');
			if (n == 0)
				return -1;
			for (; n < 3; n++)
				ms *= 10;
		}
	}
	if ((*s != 'Z' && *s != 'z') || s[1] || h > 23 || mi > 59 || sec > 59)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	/* timegm rolls 2026-02-30 over into March: a round trip catches it */
	if (t <= 0 || !gmtime_r(&t, &back) || back.tm_mday != d || back.tm_mon != mo - 1)
		return -1;
	return (int64_t)t * 1000 + ms;
}

/* ---- list ---- */

/* Tabs and line breaks inside values would break the columns. */
static void print_cell(const unsigned char *v)
{
	for (const unsigned char *p = v; p && *p; p++)
		putchar(*p == '\t' || *p == '\n' || *p == '\r' ? ' ' : *p);
}

static int admin_list(kt_store *st, int argc, char **argv)
{
	static const struct {
		const char *what, *sql;
	} q[] = {
		{"locations",
		 "SELECT id, name, time_zone, address, phone FROM location ORDER BY name, id LIMIT ?"},
		{"staff",
		 "SELECT s.id, s.role, CASE s.role WHEN 'owner' THEN '*' ELSE coalesce((SELECT "
		 "group_concat(name, ',') FROM (SELECT l.name FROM staff_location sl JOIN location l ON "
		 "l.id = sl.location_id WHERE sl.staff_id = s.id ORDER BY l.name)), '') END AS locs, "
		 "s.display_name, s.email FROM staff s ORDER BY CASE s.role WHEN 'owner' THEN 0 WHEN "
		 "'manager' THEN 1 WHEN 'reception' THEN 2 ELSE 3 END, locs, s.display_name, s.id LIMIT ?"},
		{"clients",
		 /* name and e-mail are sealed (keyring.h): filled in from the decrypted row */
		 "SELECT c.id, NULL, NULL, coalesce((SELECT group_concat(name, ',') FROM (SELECT "
		 "l.name FROM client_location cl JOIN location l ON l.id = cl.location_id WHERE "
		 "cl.client_id = c.id ORDER BY l.name)), '') FROM client c ORDER BY c.id LIMIT ?"},
		{"services",
		 "SELECT s.id, s.name, s.duration_min, coalesce(l.name, '*'), s.price_cents FROM service s "
		 "LEFT JOIN location l ON l.id = s.location_id ORDER BY s.name, s.id LIMIT ?"},
	};
	admin_opt opts[] = {{"--limit", false}};
	const char *pos[1];
	long long limit = -1;
	sqlite3_stmt *s = NULL;
	int npos, rc;

	if ((rc = admin_parse(argc, argv, opts, 1, pos, 1, &npos)))
		return rc;
	if (npos != 1)
		return admin_usage_error("list what? locations, staff, clients or services");
	if (opts[0].value && !parse_int(opts[0].value, 0, 1000000000, &limit))
		return admin_usage_error("--limit wants a number");
	for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
		if (strcmp(pos[0], q[i].what))
			continue;
		if (sqlite3_prepare_v2(store_db(st), q[i].sql, -1, &s, NULL) != SQLITE_OK)
			return admin_fail("%s", sqlite3_errmsg(store_db(st)));
		sqlite3_bind_int64(s, 1, limit);
		while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
			kt_row row = {0};
			bool card = !strcmp(q[i].what, "clients") &&
				    store_row_load(st, kt_table_find("client", 6), (const char *)sqlite3_column_text(s, 0),
						   &row) == KT_OK;
			for (int c = 0; c < sqlite3_column_count(s); c++) {
				if (c)
					putchar('\t');
				if (card && (c == 1 || c == 2)) {
					const kt_val *v = &row.v[c == 1 ? 2 : 3]; /* client name, email */
					print_cell((const unsigned char *)(v->null ? "" : v->s));
				} else
					print_cell(sqlite3_column_text(s, c));
			}
			putchar('\n');
			kt_row_free(&row);
		}
		sqlite3_finalize(s);
		if (rc != SQLITE_DONE)
			return admin_fail("cannot read %s: %s", pos[0], sqlite3_errstr(rc));
		return ADMIN_OK;
	}
	return admin_usage_error("cannot list '%.40s': locations, staff, clients or services", pos[0]);
}

/* ---- appointment ---- */

/* --allow-overlap needs --reason and the other way round: a double booking
 * on purpose is always explained in the audit log. */
static int overlap_opts(const admin_opt *allow, const admin_opt *reason, const char **out)
{
	*out = NULL;
	if (allow->seen != reason->seen)
		return admin_usage_error("--allow-overlap and --reason TEXT go together");
	if (reason->value && !reason->value[0])
		return admin_usage_error("--reason wants a text: why is the specialist double-booked?");
	*out = reason->value;
	return ADMIN_OK;
}

static int admin_appt_create(kt_store *st, int argc, char **argv)
{
	enum { LOC, CLIENT, SPEC, START, DURATION, SERVICES, STATUS, NOTE, INTERNAL, ALLOW, REASON };
	admin_opt o[] = {{"--location"},      {"--client"},        {"--specialist"}, {"--start"},
			 {"--duration"},      {"--services"},      {"--status"},     {"--note"},
			 {"--internal-note"}, {"--allow-overlap", true}, {"--reason"}};
	kt_appt_args a = {0};
	char id[KT_UUID_LEN + 1], err[256];
	const char *pos[1];
	long long minutes = 0;
	int npos, rc;

	if ((rc = admin_parse(argc, argv, o, (int)(sizeof o / sizeof o[0]), pos, 0, &npos)))
		return rc;
	if (!o[LOC].value || !o[CLIENT].value || !o[SPEC].value || !o[START].value)
		return admin_usage_error(
			"appointment create needs --location, --client, --specialist and --start");
	if ((a.start_at = parse_time(o[START].value)) < 0)
		return admin_usage_error(
			"--start wants ms since 1970 or a UTC time like 2026-12-01T09:30:00Z");
	if (o[DURATION].value && !parse_int(o[DURATION].value, 1, 24 * 60, &minutes))
		return admin_usage_error("--duration wants minutes, 1 to 1440");
	a.location_id = o[LOC].value;
	a.client_id = o[CLIENT].value;
	a.specialist_id = o[SPEC].value;
	a.duration_min = (int)minutes;
	a.services = o[SERVICES].value;
	a.status = o[STATUS].value;
	a.client_note = o[NOTE].value;
	a.internal_note = o[INTERNAL].value;
	if ((rc = overlap_opts(&o[ALLOW], &o[REASON], &a.overlap_reason)))
		return rc;
	if ((rc = ops_appointment_create(st, &a, id, err, sizeof err)))
		return admin_fail("%s", err);
	printf("%s\n", id);
	return ADMIN_OK;
}

static int admin_appt_move(kt_store *st, int argc, char **argv)
{
	admin_opt o[] = {{"--location"}, {"--specialist"}, {"--start"}, {"--allow-overlap", true}, {"--reason"}};
	const char *pos[1], *reason;
	char err[256];
	int64_t start = -1;
	int npos, rc;

	if ((rc = admin_parse(argc, argv, o, 5, pos, 1, &npos)) || (rc = overlap_opts(&o[3], &o[4], &reason)))
		return rc;
	if (npos != 1)
		return admin_usage_error("appointment move needs the appointment id");
	if (!o[0].value && !o[1].value && !o[2].value)
		return admin_usage_error("appointment move needs --location, --specialist or --start");
	if (o[2].value && (start = parse_time(o[2].value)) < 0)
		return admin_usage_error(
			"--start wants ms since 1970 or a UTC time like 2026-12-01T09:30:00Z");
	if ((rc = ops_appointment_move(st, pos[0], o[0].value, o[1].value, start, reason, err, sizeof err)))
		return admin_fail("%s", err);
	return ADMIN_OK;
}

static int admin_appt_cancel(kt_store *st, int argc, char **argv)
{
	const char *pos[1];
	char err[256];
	int npos, rc;

	if ((rc = admin_parse(argc, argv, NULL, 0, pos, 1, &npos)))
		return rc;
	if (npos != 1)
		return admin_usage_error("appointment cancel needs the appointment id");
	if ((rc = ops_appointment_cancel(st, pos[0], err, sizeof err)))
		return admin_fail("%s", err);
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
static int admin_client(kt_store *st, int argc, char **argv)
{
	admin_opt o[] = {{"--clear", true}};
	const char *pos[3];
	char err[256];
	bool set = argc >= 1 && !strcmp(argv[0], "set"), clear = argc >= 1 && !strcmp(argv[0], "clear");
	int npos, rc;

	if (!set && !clear)
		return admin_usage_error("client set ID FIELD VALUE, or client set ID FIELD --clear");
	if ((rc = admin_parse(argc - 1, argv + 1, o, 1, pos, 3, &npos)))
		return rc;
	clear |= o[0].seen;
	if (npos != (clear ? 2 : 3) || (o[0].seen && !set))
		return admin_usage_error("client set ID FIELD VALUE, or client set ID FIELD --clear");
	if ((rc = ops_client_set(st, pos[0], pos[1], clear ? NULL : pos[2], err, sizeof err)))
		return admin_fail("%s", err);
	return ADMIN_OK;
}

/* ---- device register, revocation ---- */

static int print_device(void *user, const kt_device_info *d)
{
	char seen[32] = "-";
	time_t t = (time_t)(d->last_seen / 1000);
	struct tm tm;
	(void)user;
	if (d->last_seen > 0 && gmtime_r(&t, &tm))
		strftime(seen, sizeof seen, "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("%s\t%s\t%s\t%s\t%s\t%s\t%s\t%lld\t%s\n", d->id, d->kind, d->role, d->name, d->principal_id,
	       d->app, seen, (long long)d->last_ack_seq,
	       d->revoked ? "revoked" : d->signed_in ? "signed-in" : "signed-out");
	return 0;
}

static int admin_device(kt_store *st, int argc, char **argv)
{
	const char *pos[1];
	int npos, rc;
	bool list = argc >= 1 && !strcmp(argv[0], "list");
	bool sign_out = argc >= 1 && !strcmp(argv[0], "sign-out"), revoke = argc >= 1 && !strcmp(argv[0], "revoke");
	bool lost = argc >= 1 && !strcmp(argv[0], "lost");

	if (!list && !sign_out && !revoke && !lost)
		return admin_usage_error("device list, sign-out ID, revoke ID or lost ID?");
	if ((rc = admin_parse(argc - 1, argv + 1, NULL, 0, pos, 1, &npos)))
		return rc;
	if (list) {
		if (npos)
			return admin_usage_error("device list takes no arguments");
		printf("id\tkind\trole\tname\tprincipal\tapp\tlast_seen\tlast_ack_seq\tstate\n");
		return revoke_list_devices(st, NULL, print_device, NULL) ? admin_fail("cannot read the devices")
									   : ADMIN_OK;
	}
	if (npos != 1)
		return admin_usage_error("device %s needs the device id", argv[0]);
	kt_action a = lost ? KT_ACT_MARK_DEVICE_LOST : revoke ? KT_ACT_REVOKE_DEVICE : KT_ACT_SIGN_OUT_DEVICE;
	if ((rc = revoke_may_device(st, NULL, a, pos[0])))
		return admin_fail("no device %s", pos[0]);
	rc = lost ? revoke_mark_lost(st, pos[0]) : revoke ? revoke_device(st, pos[0]) : revoke_sign_out_device(st, pos[0]);
	return rc ? admin_fail("not saved: %s", kt_strerror(rc)) : ADMIN_OK;
}

/* staff location ID add|remove LOC, staff role ID ROLE: rights changes;
 * connected devices of that person get what they may see now. */
static int admin_staff_rights(kt_store *st, int argc, char **argv)
{
	const char *pos[3];
	int npos, rc;
	bool loc = !strcmp(argv[0], "location");

	if ((rc = admin_parse(argc - 1, argv + 1, NULL, 0, pos, 3, &npos)))
		return rc;
	if (loc ? npos != 3 || (strcmp(pos[1], "add") && strcmp(pos[1], "remove")) : npos != 2)
		return admin_usage_error(loc ? "staff location ID add|remove LOCATION" : "staff role ID ROLE");
	if ((rc = revoke_may_staff(st, NULL, pos[0])))
		return admin_fail("no staff member %s", pos[0]);
	if (loc)
		rc = store_link_staff_location(st, pos[0], pos[2], !strcmp(pos[1], "add"));
	else {
		kt_field f = {"role", pos[1]};
		rc = store_update(st, "staff", pos[0], &f, 1, NULL);
	}
	if (rc == KT_EINVALID || rc == KT_ENOT_FOUND)
		return admin_fail(loc ? "no such location (or already so)" : "role is owner, manager, reception or specialist");
	return rc ? admin_fail("not saved: %s", kt_strerror(rc)) : ADMIN_OK;
}

static int admin_staff(kt_store *st, int argc, char **argv)
{
	const char *pos[1];
	int npos, rc;

	if (argc >= 1 && (!strcmp(argv[0], "location") || !strcmp(argv[0], "role")))
		return admin_staff_rights(st, argc, argv);
	if (argc < 1 || strcmp(argv[0], "deactivate"))
		return admin_usage_error("staff deactivate ID, location ID add|remove LOCATION, or role ID ROLE?");
	if ((rc = admin_parse(argc - 1, argv + 1, NULL, 0, pos, 1, &npos)))
		return rc;
	if (npos != 1)
		return admin_usage_error("staff deactivate needs the staff id");
	if ((rc = revoke_may_staff(st, NULL, pos[0])))
		return admin_fail("no staff member %s", pos[0]);
	rc = revoke_deactivate_staff(st, pos[0]);
	return rc ? admin_fail("not saved: %s", kt_strerror(rc)) : ADMIN_OK;
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
	    strcmp(argv[0], "location"))
		return admin_usage_error("unknown subcommand '%.40s'", argv[0]);
	if (!db_path)
		return admin_usage_error("--db FILE is required");
	/* listings only read: they may be pointed at a backup (--keys for its keyring) */
	bool reads = !strcmp(argv[0], "list") || (argc > 1 && !strcmp(argv[0], "device") && !strcmp(argv[1], "list")) ||
		     (argc > 1 && !strcmp(argv[0], "consent") && !strcmp(argv[1], "show")) ||
		     (argc > 1 && !strcmp(argv[0], "location") && !strcmp(argv[1], "list"));
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
	else if (!strcmp(argv[0], "staff") && argc > 1 && (!strcmp(argv[1], "invite") || !strcmp(argv[1], "reset-password")))
		rc = admin_staff_more(st, argc - 1, argv + 1);
	else if (!strcmp(argv[0], "device"))
		rc = admin_device(st, argc - 1, argv + 1);
	else if (!strcmp(argv[0], "staff"))
		rc = admin_staff(st, argc - 1, argv + 1);
	else if (!strcmp(argv[0], "consent"))
		rc = admin_consent(st, argc - 1, argv + 1);
	else
		rc = admin_list(st, argc - 1, argv + 1);
	store_close(st);
	if (fflush(stdout) != 0 && rc == ADMIN_OK)
		rc = admin_fail("cannot write the output");
	return rc;
}
