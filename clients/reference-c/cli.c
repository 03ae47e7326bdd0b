/* cli.c - kartoteka-client: sign in, sync, watch and look at the local
 * cache from a terminal. A thin shell over libkartoteka-client. */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <sqlite3.h>
#include "kartoteka_client.h"
#include "kt_err.h"

static kc_client *g_client;
static bool quiet, progress_always;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: kartoteka-client [--dir DIR] [--server ws://HOST:PORT] [--quiet] COMMAND\n"
		"  login EMAIL          sign in (password read from stdin); stores a session token\n"
		"  sync [--progress]    bring the cache up to date, then exit\n"
		"  watch [--max-seconds N]  stream changes, one line per change; reconnects\n"
		"  ls appointments|clients|visits|locations|staff|services [--json]\n"
		"  show client|appointment|visit|... ID\n"
		"  status               who is signed in, rows per table, queued edits\n"
		"offline edits (applied to the cache at once, pushed in order by sync/watch):\n"
		"  client set ID FIELD VALUE | client clear ID FIELD\n"
		"  appointment create --location ID --client ID --specialist ID --start TIME --duration MIN\n"
		"                     [--services ID,ID] [--note TEXT]      prints the new id\n"
		"  appointment move ID [--start TIME] [--location ID] [--specialist ID]\n"
		"  appointment cancel ID\n"
		"  visit add --appointment ID [--notes TEXT] [--formulas TEXT]  prints the new id\n"
		"  rejections           edits the server refused (rolled back in the cache)\n"
		"  batch                edit commands from stdin, one per line, arguments separated by tabs\n"
		"TIME: ms since 1970 (UTC) or 2027-01-15T09:30:00Z\n"
		"  logout               forget the token and wipe the cache\n"
		"DIR defaults to $KARTOTEKA_DIR or ./kartoteka-client-data; the server to the\n"
		"stored one or $KARTOTEKA_SERVER. Exit codes: 0 ok, 1 error, 2 usage, 3 sign-in refused.\n");
}

static int die(const char *msg)
{
	fprintf(stderr, "kartoteka-client: %s\n", msg);
	return 1;
}

static void on_stop(int sig)
{
	(void)sig;
	if (g_client)
		kc_stop(g_client);
}

static void on_progress(void *user, int64_t done, int64_t total)
{
	(void)user;
	if (quiet || (!progress_always && !isatty(2)))
		return;
	fprintf(stderr, "\rsnapshot %lld/%lld rows (%d%%)", (long long)done, (long long)total,
		total > 0 ? (int)(done * 100 / total) : 100);
	if (done >= total)
		fputc('\n', stderr);
}

static void on_op_print(void *user, int op, const char *tbl, const char *id, int64_t v)
{
	(void)user;
	if (op == KC_OP_PUT)
		printf("put %s %s v%lld\n", tbl, id, (long long)v);
	else
		printf("%s %s %s\n", op == KC_OP_DELETE ? "delete" : "evict", tbl, id);
	fflush(stdout);
}

static void on_state_print(void *user, int state, const char *code, const char *msg)
{
	bool watch = user != NULL;
	if (state == KC_ST_SYNCED && watch) {
		printf("synced\n");
		fflush(stdout);
	} else if (state == KC_ST_ERROR && !quiet)
		fprintf(stderr, "kartoteka-client: server says %s: %s\n", code, msg);
	else if (state == KC_ST_DISCONNECTED && watch && !quiet)
		fprintf(stderr, "kartoteka-client: disconnected; reconnecting\n");
}

static int read_password(char *buf, size_t cap)
{
	struct termios old, t;
	bool tty = isatty(0);
	if (tty) {
		fprintf(stderr, "password: ");
		tcgetattr(0, &old);
		t = old;
		t.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(0, TCSANOW, &t);
	}
	char *ok = fgets(buf, (int)cap, stdin);
	if (tty) {
		tcsetattr(0, TCSANOW, &old);
		fputc('\n', stderr);
	}
	if (!ok)
		return -1;
	buf[strcspn(buf, "\r\n")] = 0;
	return 0;
}

static int cmd_login(kc_client *c, const char *email)
{
	char pw[512], name[256] = "", role[32] = "";
	int rc;
	if (read_password(pw, sizeof pw))
		return die("no password on stdin");
	rc = kc_login(c, email, pw, 30000);
	memset(pw, 0, sizeof pw);
	if (rc == KT_EAUTH_FAILED || rc == KT_ETHROTTLED || rc == KT_EUNAUTH) {
		fprintf(stderr, "kartoteka-client: sign-in refused: %s\n", kc_last_error(c));
		return 3;
	}
	if (rc)
		return die(kc_last_error(c)[0] ? kc_last_error(c) : kt_strerror(rc));
	kc_meta(c, "principal_name", name, sizeof name);
	kc_meta(c, "principal_role", role, sizeof role);
	printf("signed in as %s (%s)\n", name, role);
	return 0;
}

static int cmd_sync(kc_client *c)
{
	int rc = kc_run(c, KC_UNTIL_SYNCED, 0);
	if (rc == KT_EAUTH_FAILED || rc == KT_EUNAUTH) {
		fprintf(stderr, "kartoteka-client: %s\n", kc_last_error(c));
		return 3;
	}
	if (rc)
		return die(kc_last_error(c)[0] ? kc_last_error(c) : kt_strerror(rc));
	if (!quiet)
		printf("synced: %lld rows in cache\n", (long long)kc_count(c, NULL));
	return 0;
}

static int cmd_watch(kc_client *c, int max_seconds)
{
	kc_callbacks cb = {on_op_print, on_progress, on_state_print, c};
	kc_set_callbacks(c, &cb);
	int rc = kc_run(c, KC_FOREVER, max_seconds > 0 ? max_seconds * 1000 : 0);
	if (rc == KT_EAUTH_FAILED || rc == KT_EUNAUTH)
		return 3;
	return rc == KT_OK || rc == KT_ETIMEOUT ? 0 : die(kc_last_error(c));
}

/* ls: the main fields per table, read with SQLite's JSON functions. */
static int cmd_ls(kc_client *c, const char *what, bool json)
{
	static const struct {
		const char *cmd, *tbl, *cols;
	} views[] = {
		{"appointments", "appointment",
		 "strftime('%Y-%m-%d %H:%M', json_extract(data, '$.start_at') / 1000, 'unixepoch') || 'Z', "
		 "json_extract(data, '$.status'), json_extract(data, '$.duration_min') || ' min', "
		 "json_extract(data, '$.location_id'), json_extract(data, '$.client_id'), "
		 "json_extract(data, '$.specialist_id')"},
		{"clients", "client",
		 "json_extract(data, '$.name'), json_extract(data, '$.email'), json_extract(data, '$.phone'), "
		 "coalesce(json_extract(data, '$.allergies'), iif(json_extract(data, '$.allergy_alert'), 'ALLERGY', ''))"},
		{"visits", "visit",
		 "json_extract(data, '$.visit_date'), json_extract(data, '$.client_id'), "
		 "json_extract(data, '$.specialist_id'), json_extract(data, '$.products_formulas')"},
		{"locations", "location", "json_extract(data, '$.name'), json_extract(data, '$.address')"},
		{"staff", "staff", "json_extract(data, '$.display_name'), json_extract(data, '$.role')"},
		{"services", "service", "json_extract(data, '$.name'), json_extract(data, '$.duration_min') || ' min'"},
	};
	for (size_t i = 0; i < sizeof views / sizeof views[0]; i++) {
		char sql[1024];
		sqlite3_stmt *s;
		if (strcmp(what, views[i].cmd) != 0)
			continue;
		if (json)
			snprintf(sql, sizeof sql,
				 "SELECT json_object('id', id, 'v', v, 'data', json(data)) FROM rows WHERE tbl = ? "
				 "ORDER BY id");
		else
			snprintf(sql, sizeof sql, "SELECT id, %s FROM rows WHERE tbl = ? ORDER BY id", views[i].cols);
		if (sqlite3_prepare_v2(kc_db(c), sql, -1, &s, NULL) != SQLITE_OK)
			return die(sqlite3_errmsg(kc_db(c)));
		sqlite3_bind_text(s, 1, views[i].tbl, -1, SQLITE_STATIC);
		while (sqlite3_step(s) == SQLITE_ROW) {
			for (int k = 0; k < sqlite3_column_count(s); k++) {
				const unsigned char *t = sqlite3_column_text(s, k);
				printf("%s%s", k ? "\t" : "", t ? (const char *)t : "");
			}
			putchar('\n');
		}
		sqlite3_finalize(s);
		return 0;
	}
	usage(stderr);
	return 2;
}

static void print_fields(kc_client *c, const char *tbl, const char *id)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(kc_db(c),
			       "SELECT j.key, j.value FROM rows r, json_each(r.data) j WHERE r.tbl = ? AND r.id = ?", -1,
			       &s, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_text(s, 1, tbl, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, id, -1, SQLITE_STATIC);
	while (sqlite3_step(s) == SQLITE_ROW) {
		const unsigned char *v = sqlite3_column_text(s, 1);
		printf("%s: %s\n", (const char *)sqlite3_column_text(s, 0), v ? (const char *)v : "");
	}
	sqlite3_finalize(s);
}

static int cmd_show(kc_client *c, const char *tbl, const char *id)
{
	char *json = NULL;
	if (kc_get(c, tbl, id, &json) != KT_OK) {
		fprintf(stderr, "kartoteka-client: no %s %s in the cache\n", tbl, id);
		return 1;
	}
	free(json);
	if (kc_record_view(c, tbl, id)) /* "who saw this card" goes to the audit log with the next push */
		fprintf(stderr, "kartoteka-client: could not note the view\n");
	printf("%s %s\n", tbl, id);
	print_fields(c, tbl, id);
	if (strcmp(tbl, "client") == 0) {
		static const char *const related[] = {"appointment", "visit"};
		for (int r = 0; r < 2; r++) {
			sqlite3_stmt *s;
			printf("\n%ss:\n", related[r]);
			if (sqlite3_prepare_v2(kc_db(c),
					       "SELECT id, coalesce(strftime('%Y-%m-%d %H:%M', json_extract(data, '$.start_at') "
					       "/ 1000, 'unixepoch') || 'Z', json_extract(data, '$.visit_date')), "
					       "coalesce(json_extract(data, '$.status'), '') FROM rows WHERE tbl = ? AND "
					       "json_extract(data, '$.client_id') = ? ORDER BY 2",
					       -1, &s, NULL) != SQLITE_OK)
				continue;
			sqlite3_bind_text(s, 1, related[r], -1, SQLITE_STATIC);
			sqlite3_bind_text(s, 2, id, -1, SQLITE_STATIC);
			while (sqlite3_step(s) == SQLITE_ROW)
				printf("  %s  %s  %s\n", (const char *)sqlite3_column_text(s, 1),
				       (const char *)sqlite3_column_text(s, 2), (const char *)sqlite3_column_text(s, 0));
			sqlite3_finalize(s);
		}
	}
	return 0;
}

static const char *opt(int argc, char **argv, const char *name)
{
	for (int i = 0; i < argc - 1; i++)
		if (!strcmp(argv[i], name))
			return argv[i + 1];
	return NULL;
}

static int64_t parse_time(const char *s)
{
	struct tm tm;
	char *end;
	if (!s)
		return -1;
	long long v = strtoll(s, &end, 10);
	if (!*end && end != s)
		return v;
	memset(&tm, 0, sizeof tm);
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return end && !*end ? (int64_t)timegm(&tm) * 1000 : -1;
}

/* JSON is built by SQLite: json_set on an object, one field at a time. */
typedef struct jbuild {
	sqlite3 *db;
	char *json;
} jbuild;

static void jset(jbuild *j, const char *key, const char *text, int64_t num, int kind /* 0 text, 1 int, 2 list, 3 null */)
{
	sqlite3_stmt *s;
	char path[80];
	snprintf(path, sizeof path, "$.%s", key);
	const char *sql = kind == 2 ? "SELECT json_set(?1, ?2, json('[]'))" : "SELECT json_set(?1, ?2, ?3)";
	if (sqlite3_prepare_v2(j->db, sql, -1, &s, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_text(s, 1, j->json ? j->json : "{}", -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, path, -1, SQLITE_STATIC);
	if (kind == 0)
		sqlite3_bind_text(s, 3, text, -1, SQLITE_STATIC);
	else if (kind == 1)
		sqlite3_bind_int64(s, 3, num);
	else if (kind == 3)
		sqlite3_bind_null(s, 3);
	if (sqlite3_step(s) == SQLITE_ROW) {
		free(j->json);
		j->json = strdup((const char *)sqlite3_column_text(s, 0));
	}
	sqlite3_finalize(s);
	if (kind == 2 && text) { /* append each list element: '$.key[#]' */
		snprintf(path, sizeof path, "$.%s[#]", key);
		for (const char *p = text; *p;) {
			size_t n = strcspn(p, ",");
			if (n && sqlite3_prepare_v2(j->db, "SELECT json_insert(?1, ?2, ?3)", -1, &s, NULL) == SQLITE_OK) {
				sqlite3_bind_text(s, 1, j->json, -1, SQLITE_TRANSIENT);
				sqlite3_bind_text(s, 2, path, -1, SQLITE_STATIC);
				sqlite3_bind_text(s, 3, p, (int)n, SQLITE_STATIC);
				if (sqlite3_step(s) == SQLITE_ROW) {
					free(j->json);
					j->json = strdup((const char *)sqlite3_column_text(s, 0));
				}
				sqlite3_finalize(s);
			}
			p += n + (p[n] == ',');
		}
	}
}

static int mutate(kc_client *c, const char *tbl, const char *id, jbuild *j, bool print_id)
{
	char out[37];
	int rc = kc_mutate(c, tbl, id, j->json ? j->json : "{}", out);
	free(j->json);
	if (rc)
		return die(kc_last_error(c)[0] ? kc_last_error(c) : kt_strerror(rc));
	if (print_id)
		printf("%s\n", out);
	if (!quiet)
		fprintf(stderr, "queued (%lld waiting); it is pushed on the next sync\n", (long long)kc_queue_count(c));
	return 0;
}

static int cmd_client(kc_client *c, int argc, char **argv)
{
	jbuild j = {kc_db(c), NULL};
	if (argc == 4 && !strcmp(argv[0], "set"))
		jset(&j, argv[2], argv[3], 0, 0);
	else if (argc == 3 && !strcmp(argv[0], "clear"))
		jset(&j, argv[2], NULL, 0, 3);
	else {
		usage(stderr);
		return 2;
	}
	return mutate(c, "client", argv[1], &j, false);
}

static int cmd_appointment(kc_client *c, int argc, char **argv)
{
	jbuild j = {kc_db(c), NULL};
	const char *v;
	if (argc >= 1 && !strcmp(argv[0], "create")) {
		int64_t start = parse_time(opt(argc, argv, "--start"));
		if (!opt(argc, argv, "--location") || !opt(argc, argv, "--client") || !opt(argc, argv, "--specialist") ||
		    start <= 0 || !opt(argc, argv, "--duration")) {
			usage(stderr);
			return 2;
		}
		jset(&j, "location_id", opt(argc, argv, "--location"), 0, 0);
		jset(&j, "client_id", opt(argc, argv, "--client"), 0, 0);
		jset(&j, "specialist_id", opt(argc, argv, "--specialist"), 0, 0);
		jset(&j, "start_at", NULL, start, 1);
		jset(&j, "duration_min", NULL, atoll(opt(argc, argv, "--duration")), 1);
		jset(&j, "services", opt(argc, argv, "--services") ? opt(argc, argv, "--services") : "", 0, 2);
		jset(&j, "status", "booked", 0, 0);
		if ((v = opt(argc, argv, "--note")))
			jset(&j, "client_note", v, 0, 0);
		return mutate(c, "appointment", NULL, &j, true);
	}
	if (argc >= 2 && !strcmp(argv[0], "move")) {
		if ((v = opt(argc, argv, "--start"))) {
			int64_t t = parse_time(v);
			if (t <= 0)
				return die("--start wants ms or 2027-01-15T09:30:00Z");
			jset(&j, "start_at", NULL, t, 1);
		}
		if ((v = opt(argc, argv, "--location")))
			jset(&j, "location_id", v, 0, 0);
		if ((v = opt(argc, argv, "--specialist")))
			jset(&j, "specialist_id", v, 0, 0);
		if (!j.json)
			return die("nothing to move: give --start, --location or --specialist");
		return mutate(c, "appointment", argv[1], &j, false);
	}
	if (argc == 2 && !strcmp(argv[0], "cancel")) {
		jset(&j, "status", "cancelled", 0, 0);
		return mutate(c, "appointment", argv[1], &j, false);
	}
	usage(stderr);
	return 2;
}

static int cmd_visit(kc_client *c, int argc, char **argv)
{
	const char *appt = opt(argc, argv, "--appointment");
	sqlite3_stmt *s;
	jbuild j = {kc_db(c), NULL};
	if (argc < 1 || strcmp(argv[0], "add") || !appt) {
		usage(stderr);
		return 2;
	}
	/* the visit takes its place, people and services from the appointment */
	if (sqlite3_prepare_v2(kc_db(c),
			       "SELECT json_object('location_id', json_extract(data, '$.location_id'), 'client_id', "
			       "json_extract(data, '$.client_id'), 'specialist_id', json_extract(data, '$.specialist_id'), "
			       "'appointment_id', id, 'visit_date', date(json_extract(data, '$.start_at') / 1000, 'unixepoch'), "
			       "'services', json_extract(data, '$.services')) FROM rows WHERE tbl = 'appointment' AND id = ?",
			       -1, &s, NULL) != SQLITE_OK)
		return die(sqlite3_errmsg(kc_db(c)));
	sqlite3_bind_text(s, 1, appt, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		j.json = strdup((const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	if (!j.json)
		return die("no such appointment in the cache");
	if (opt(argc, argv, "--notes"))
		jset(&j, "treatment_notes", opt(argc, argv, "--notes"), 0, 0);
	if (opt(argc, argv, "--formulas"))
		jset(&j, "products_formulas", opt(argc, argv, "--formulas"), 0, 0);
	return mutate(c, "visit", NULL, &j, true);
}

static int print_rejection(void *user, int64_t mid, const char *tbl, const char *id, const char *code,
			   const char *msg, const char *fields, const char *current)
{
	(void)user;
	printf("#%lld %s %s: %s: %s\n  your edit: %s\n  now: %s\n", (long long)mid, tbl, id, code, msg, fields,
	       current ? current : "-");
	return 0;
}

/* Many offline edits in one process: "client\tset\tID\tphone\t+386 ..." per line. */
static int cmd_batch(kc_client *c)
{
	char line[8192];
	int rc = 0, n = 0;
	while (fgets(line, sizeof line, stdin)) {
		char *argv[32];
		int argc = 0;
		line[strcspn(line, "\r\n")] = 0;
		if (!line[0])
			continue;
		for (char *p = line; p && argc < 32;) {
			argv[argc++] = p;
			if ((p = strchr(p, '\t')))
				*p++ = 0;
		}
		n++;
		if (!strcmp(argv[0], "client"))
			rc |= cmd_client(c, argc - 1, argv + 1);
		else if (!strcmp(argv[0], "appointment"))
			rc |= cmd_appointment(c, argc - 1, argv + 1);
		else if (!strcmp(argv[0], "visit"))
			rc |= cmd_visit(c, argc - 1, argv + 1);
		else {
			fprintf(stderr, "kartoteka-client: line %d: unknown command '%s'\n", n, argv[0]);
			rc = 1;
		}
	}
	return rc ? 1 : 0;
}

static int cmd_status(kc_client *c)
{
	static const char *const keys[] = {"server", "principal_name", "principal_role", "principal_id", "device_id"};
	static const char *const tables[] = {"organisation", "location", "staff", "service", "client", "appointment", "visit"};
	char v[256];
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		printf("%s: %s\n", keys[i], kc_meta(c, keys[i], v, sizeof v) == KT_OK ? v : "-");
	printf("signed in: %s\n", kc_meta(c, "token", v, sizeof v) == KT_OK ? "yes" : "no");
	printf("cursor: %s\n", kc_meta(c, "cursor", v, sizeof v) == KT_OK ? "stored" : "none (next sync is a snapshot)");
	for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
		printf("rows %s: %lld\n", tables[i], (long long)kc_count(c, tables[i]));
	printf("queued edits: %lld\n", (long long)kc_queue_count(c));
	return 0;
}

int main(int argc, char **argv)
{
	const char *dir = getenv("KARTOTEKA_DIR"), *server = getenv("KARTOTEKA_SERVER");
	char err[512];
	int i = 1, rc;

	if (!dir)
		dir = "./kartoteka-client-data";
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--dir") && i + 1 < argc)
			dir = argv[++i];
		else if (!strcmp(argv[i], "--server") && i + 1 < argc)
			server = argv[++i];
		else if (!strcmp(argv[i], "--quiet"))
			quiet = true;
		else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[i++];
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	kc_client *c = kc_open(dir, err, sizeof err);
	if (!c)
		return die(err);
	g_client = c;
	signal(SIGINT, on_stop);
	signal(SIGTERM, on_stop);
	signal(SIGPIPE, SIG_IGN);
	kc_callbacks cb = {NULL, on_progress, on_state_print, NULL};
	kc_set_callbacks(c, &cb);
	if (server && kc_set_server(c, server)) {
		kc_close(c);
		return die(kc_last_error(c));
	}
	for (int k = i; k < argc; k++)
		if (!strcmp(argv[k], "--progress"))
			progress_always = true;
	if (!strcmp(cmd, "login") && i < argc)
		rc = cmd_login(c, argv[i]);
	else if (!strcmp(cmd, "sync"))
		rc = cmd_sync(c);
	else if (!strcmp(cmd, "watch")) {
		int max = 0;
		for (int k = i; k + 1 < argc; k++)
			if (!strcmp(argv[k], "--max-seconds"))
				max = atoi(argv[k + 1]);
		rc = cmd_watch(c, max);
	} else if (!strcmp(cmd, "ls") && i < argc)
		rc = cmd_ls(c, argv[i], i + 1 < argc && !strcmp(argv[i + 1], "--json"));
	else if (!strcmp(cmd, "show") && i + 1 < argc)
		rc = cmd_show(c, argv[i], argv[i + 1]);
	else if (!strcmp(cmd, "status"))
		rc = cmd_status(c);
	else if (!strcmp(cmd, "client"))
		rc = cmd_client(c, argc - i, argv + i);
	else if (!strcmp(cmd, "appointment"))
		rc = cmd_appointment(c, argc - i, argv + i);
	else if (!strcmp(cmd, "visit"))
		rc = cmd_visit(c, argc - i, argv + i);
	else if (!strcmp(cmd, "batch"))
		rc = cmd_batch(c);
	else if (!strcmp(cmd, "rejections"))
		rc = kc_rejections(c, print_rejection, NULL) ? die("cannot read the cache") : 0;
	else if (!strcmp(cmd, "logout"))
		rc = kc_logout(c) ? die("could not wipe the cache") : 0;
	else {
		usage(stderr);
		rc = 2;
	}
	g_client = NULL;
	kc_close(c);
	return rc;
}
