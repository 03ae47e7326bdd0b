/* cli.c - kartoteka-client: sign in, sync, watch, edit offline and read the
 * local cache from a terminal; a thin shell over libkartoteka-client (the
 * library does the work, this file only parses arguments and prints). It
 * never prints a password or a session token, and never takes a password
 * from argv. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>
#include <sqlite3.h>
#include "kartoteka_client.h"
#include "kt_err.h"
#include "kt_limits.h"
#include "kt_text.h"
#include "kt_util.h"

#define PROG "kartoteka-client"
#define EXIT_USAGE 2
#define EXIT_AUTH 3

static kc_client *g_client; /* for the signal handlers only */
static struct termios g_tty_saved;
static volatile sig_atomic_t g_tty_raw;

static struct {
	bool quiet, progress, watch, progress_open;
} ui;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " [--dir DIR] [--server ws://HOST:PORT | wss://HOST:PORT [--ca FILE]] [--quiet]\n"
		"       COMMAND [ARGS]\n"
		"\n"
		"  login EMAIL                sign in; the password is read from stdin (first line,\n"
		"                             not echoed on a terminal), never from the command line\n"
		"  sync [--progress] [--timeout S]\n"
		"                             push queued edits, bring the cache up to date, exit\n"
		"  watch [--max-seconds N]    stream changes, one line per change (put/delete/evict,\n"
		"                             and `synced`); reconnects with backoff; Ctrl-C stops\n"
		"  ls TABLE [--json]          rows in the cache, a header first; TABLE: appointments\n"
		"                             clients visits locations staff services; --json: one\n"
		"                             array of objects keyed by the header, ISO 8601 instants\n"
		"     appointments [--from D] [--to D] [--location L] [--specialist P] [--client C]\n"
		"                  [--status S]   sorted by start, local times with the zone;\n"
		"                             D: a date (a whole day, local to each appointment's\n"
		"                             location) or a time; L, P, C: an id, a name or its start\n"
		"                             (\"Maribor\", \"Nina\"), looked up in this device's cache\n"
		"  show TABLE ID              one row, a field per line (a client also lists their\n"
		"                             appointments and visits); noted for the audit log\n"
		"  status                     who is signed in, server, cursor, rows per table, queued edits\n"
		"  logout [--discard]         forget the session token AND wipe the cached data, so a\n"
		"                             shared device keeps nothing (the device id stays); queued\n"
		"                             edits and views are pushed first, or dropped with --discard\n"
		"\n"
		"offline edits (applied to the cache at once, pushed in order by sync/watch):\n"
		"  client set ID FIELD VALUE | client clear ID FIELD\n"
		"  appointment create --location L --client C --specialist P --start TIME\n"
		"                     [--duration MIN] [--services S,S] [--note TEXT]   prints the new id;\n"
		"                     no --duration: the services' durations added up\n"
		"  appointment move ID [--start TIME] [--location L] [--specialist P]\n"
		"                     create and move: [--allow-overlap --reason TEXT] books the\n"
		"                     specialist twice on purpose (owner, manager, reception; audited)\n"
		"  appointment cancel ID [--reason TEXT]   TEXT: why (staff see it, the client does not)\n"
		"  visit add --appointment ID [--notes TEXT] [--formulas TEXT]  prints the new id\n"
		"  batch                      edit commands from stdin, one per line, arguments separated by tabs\n"
		"  rejections                 edits the server refused (rolled back in the cache)\n"
		"L, C, P, S: an id, or a name or its start looked up in this device's cache\n"
		"TIME: local at the appointment's location, 2027-01-15 09:30 (the location must be in\n"
		"  the cache), or with an offset, 2027-01-15T09:30:00Z; from 2000 to 2099; MIN: 1 to 1440\n"
		"Edits are checked before they are queued (ids, times, minutes, client fields and\n"
		"birthdays YYYY-MM-DD); the server checks them again.\n"
		"--help (or -h) after any command prints this text.\n"
		"\n"
		"DIR defaults to $KARTOTEKA_DIR, else ./kartoteka-client-data. The server is\n"
		"remembered in DIR; without --server the stored one is used, else $KARTOTEKA_SERVER.\n"
		"wss:// is WebSocket over TLS: the server's certificate must be for HOST, unexpired,\n"
		"and signed by a CA the system trusts, or by the CA in --ca FILE (PEM; then that CA\n"
		"only). A refused certificate ends the command with the reason; there is no fallback\n"
		"to ws://. --ca is remembered with the server; --server without --ca forgets it.\n"
		"--quiet drops progress and informational lines. --progress (sync) shows the\n"
		"snapshot progress line even when stderr is not a terminal.\n"
		"Exit codes: 0 ok, 1 error, 2 usage, 3 sign-in refused or not signed in.\n");
}

__attribute__((format(printf, 1, 2))) static int complain(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static int usage_error(const char *what)
{
	fprintf(stderr, PROG ": %s (see " PROG " --help)\n", what);
	return EXIT_USAGE;
}

/* Exit code and message for a library result. */
static int finish(kc_client *c, int rc)
{
	const char *msg;
	if (rc == KT_OK)
		return 0;
	msg = kc_last_error(c)[0] ? kc_last_error(c) : kt_strerror(rc);
	if (rc == KT_EDEVICE_REVOKED || rc == KT_EREVOKED) {
		fprintf(stderr, PROG ": %s\n", msg);
		return EXIT_AUTH;
	}
	if (rc == KT_EAUTH_FAILED || rc == KT_ETHROTTLED || rc == KT_EUNAUTH) {
		fprintf(stderr, PROG ": sign-in refused: %s\n", msg);
		return EXIT_AUTH;
	}
	fprintf(stderr, PROG ": %s\n", msg);
	return 1;
}

static void on_stop_signal(int sig)
{
	(void)sig;
	if (g_client)
		kc_stop(g_client); /* async-signal-safe */
}

static void on_signal_in_password(int sig)
{
	if (g_tty_raw)
		tcsetattr(0, TCSANOW, &g_tty_saved);
	_exit(128 + sig);
}

static void set_signals(void (*fn)(int))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = fn;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* ---- callbacks ---- */

static void end_progress_line(void)
{
	if (ui.progress_open) {
		fputc('\n', stderr);
		ui.progress_open = false;
	}
}

static void on_progress(void *user, int64_t done, int64_t total)
{
	(void)user;
	if (ui.quiet || !(ui.progress || isatty(2)) || total <= 0)
		return;
	fprintf(stderr, "\rsnapshot %lld/%lld rows (%d%%)", (long long)done, (long long)total,
		done >= total ? 100 : (int)(done * 100 / total));
	ui.progress_open = true;
	if (done >= total)
		end_progress_line();
}

static void on_op(void *user, int op, const char *tbl, const char *id, int64_t v)
{
	(void)user;
	if (op == KC_OP_PUT)
		printf("put %s %s v%lld\n", tbl, id, (long long)v);
	else
		printf("%s %s %s\n", op == KC_OP_DELETE ? "delete" : "evict", tbl, id);
	fflush(stdout);
}

static void on_state(void *user, int state, const char *code, const char *msg)
{
	(void)user;
	if (state == KC_ST_SYNCED) {
		end_progress_line();
		if (ui.watch) {
			printf("synced\n");
			fflush(stdout);
		}
		return;
	}
	if (ui.quiet)
		return;
	if (state == KC_ST_ERROR && code && strcmp(code, "bad_cursor") == 0) {
		end_progress_line();
		fprintf(stderr, PROG ": the server refused the stored cursor; a full snapshot follows\n");
	} else if (ui.watch && state == KC_ST_ERROR &&
		   (!code || (strcmp(code, "revoked") && strcmp(code, "device_revoked")))) {
		/* (an ended session or a revoked device: the closing message says it all) */
		end_progress_line();
		fprintf(stderr, PROG ": %s (%s)\n", msg ? msg : "error", code ? code : "?");
	} else if (ui.watch && state == KC_ST_DISCONNECTED && msg) {
		end_progress_line();
		fprintf(stderr, PROG ": %s; reconnecting\n", msg);
	}
}

/* ---- commands that talk to the server ---- */

static int read_password(char *buf, size_t cap, const char *email)
{
	bool tty = isatty(0);
	char *ok;
	if (tty) {
		struct termios t;
		fprintf(stderr, "password for %s: ", email);
		if (tcgetattr(0, &g_tty_saved) == 0) {
			t = g_tty_saved;
			t.c_lflag &= ~(tcflag_t)ECHO;
			set_signals(on_signal_in_password);
			g_tty_raw = 1;
			tcsetattr(0, TCSANOW, &t);
		}
	}
	ok = fgets(buf, (int)cap, stdin);
	if (g_tty_raw) {
		tcsetattr(0, TCSANOW, &g_tty_saved);
		g_tty_raw = 0;
		fputc('\n', stderr);
	}
	if (!ok || !buf[0]) {
		complain("%s", "no password on stdin");
		return -1;
	}
	if (!strchr(buf, '\n') && !feof(stdin)) {
		complain("%s", "password too long");
		return -1;
	}
	buf[strcspn(buf, "\r\n")] = 0;
	return 0;
}

static int cmd_login(kc_client *c, int argc, char **argv)
{
	char pw[KT_MAX_PASSWORD + 4];
	kc_info info;
	int rc;
	if (argc != 1 || argv[0][0] == '-')
		return usage_error("login needs exactly one EMAIL");
	if (read_password(pw, sizeof pw, argv[0]))
		return 1;
	set_signals(on_stop_signal);
	rc = kc_login(c, argv[0], pw, 30000);
	sodium_memzero(pw, sizeof pw);
	if (rc)
		return finish(c, rc);
	if (kc_info_get(c, &info))
		return finish(c, KT_EIO);
	if (!ui.quiet)
		printf("signed in as %s (%s)\n", info.principal_name, info.principal_role);
	return 0;
}

static bool parse_seconds(const char *s, int *out)
{
	char *end;
	long v;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > INT_MAX / 1000)
		return false;
	*out = (int)v;
	return true;
}

static int cmd_sync(kc_client *c, int argc, char **argv)
{
	int timeout = 0, rc;
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--progress"))
			ui.progress = true;
		else if (!strcmp(argv[i], "--timeout") && i + 1 < argc && parse_seconds(argv[i + 1], &timeout))
			i++;
		else
			return usage_error("sync takes --progress and --timeout SECONDS");
	}
	kc_callbacks cb = {NULL, on_progress, on_state, NULL};
	kc_set_callbacks(c, &cb);
	rc = kc_run(c, KC_UNTIL_SYNCED, timeout * 1000);
	end_progress_line();
	if (rc)
		return finish(c, rc);
	if (!ui.quiet)
		printf("synced: %lld rows in cache\n", (long long)kc_count(c, NULL));
	return 0;
}

static int cmd_watch(kc_client *c, int argc, char **argv)
{
	int max = 0, rc;
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--max-seconds") && i + 1 < argc && parse_seconds(argv[i + 1], &max))
			i++;
		else if (!strcmp(argv[i], "--progress"))
			ui.progress = true;
		else
			return usage_error("watch takes --max-seconds N");
	}
	ui.watch = true;
	kc_callbacks cb = {on_op, on_progress, on_state, NULL};
	kc_set_callbacks(c, &cb);
	rc = kc_run(c, KC_FOREVER, max * 1000);
	end_progress_line();
	return rc == KT_ETIMEOUT ? 0 : finish(c, rc);
}

/* ---- commands that read the cache ---- */

/* Print one TSV cell: tabs, newlines and other control characters become
 * spaces so that one row stays one line. */
static void put_cell(const unsigned char *s)
{
	for (; s && *s; s++)
		putchar(*s < ' ' || *s == 0x7f ? ' ' : *s);
}

/* The name of a referenced row in the cache, as SQL: empty when the column
 * is missing, the id itself when the row is not in the cache. */
#define REF(tbl, field, col)                                                                                         \
	"coalesce((SELECT json_extract(x.data, '$." field "') FROM rows x WHERE x.tbl = '" tbl                        \
	"' AND x.id = json_extract(r.data, '$." col "')), json_extract(r.data, '$." col "'))"
#define SERVICES                                                                                                   \
	"(SELECT group_concat(coalesce((SELECT json_extract(x.data, '$.name') FROM rows x WHERE x.tbl = 'service' "    \
	"AND x.id = j.value), j.value), ', ') FROM json_each(r.data, '$.services') j)"
#define F(name) "json_extract(r.data, '$." name "')"

/* A column of `ls`: its header (also the key in --json) and its SQL; a
 * column with a zone is an instant, shown local to that zone's expression
 * (kt_local) or, in --json, as an ISO 8601 instant (kt_iso). */
typedef struct vcol {
	const char *head, *expr, *zone;
} vcol;

#define VIEW_COLS 10
static const struct view {
	const char *name, *tbl, *order;
	vcol cols[VIEW_COLS];
} views[] = {
	{"appointments", "appointment", F("start_at") ", r.id",
	 {{"start", F("start_at"), REF("location", "time_zone", "location_id")},
	  {"status", F("status"), NULL},
	  {"duration", F("duration_min") " || ' min'", NULL},
	  {"location", REF("location", "name", "location_id"), NULL},
	  {"client", REF("client", "name", "client_id"), NULL},
	  {"specialist", REF("staff", "display_name", "specialist_id"), NULL},
	  {"services", SERVICES, NULL},
	  {"note", F("client_note"), NULL}}},
	{"clients", "client", F("name") ", r.id",
	 {{"name", F("name"), NULL},
	  {"email", F("email"), NULL},
	  {"phone", F("phone"), NULL},
	  {"birthday", F("birthday"), NULL},
	  {"allergies", "coalesce(" F("allergies") ", iif(" F("allergy_alert") ", 'ALLERGY', NULL))", NULL},
	  {"preferences", F("preferences"), NULL}}},
	{"visits", "visit", F("visit_date") ", r.id",
	 {{"date", F("visit_date"), NULL},
	  {"location", REF("location", "name", "location_id"), NULL},
	  {"client", REF("client", "name", "client_id"), NULL},
	  {"specialist", REF("staff", "display_name", "specialist_id"), NULL},
	  {"services", SERVICES, NULL},
	  {"products_formulas", F("products_formulas"), NULL}}},
	{"locations", "location", F("name") ", r.id",
	 {{"name", F("name"), NULL},
	  {"address", F("address"), NULL},
	  {"phone", F("phone"), NULL},
	  {"time_zone", F("time_zone"), NULL}}},
	{"staff", "staff", F("display_name") ", r.id",
	 {{"name", F("display_name"), NULL},
	  {"role", F("role"), NULL},
	  {"email", F("email"), NULL},
	  {"phone", F("phone"), NULL},
	  {"active", "CASE json_type(r.data, '$.active') WHEN 'true' THEN 'active' WHEN 'false' THEN 'inactive' END",
	   NULL}}},
	{"services", "service", F("name") ", r.id",
	 {{"name", F("name"), NULL},
	  {"duration", F("duration_min") " || ' min'", NULL},
	  {"price", "printf('%.2f', " F("price_cents") " / 100.0)", NULL},
	  /* where it is offered: location_ids, the list the booking rules read; the older
	   * single location_id only when there is no list */
	  {"locations", "coalesce((SELECT group_concat(coalesce((SELECT json_extract(x.data, '$.name') FROM rows x "
	   "WHERE x.tbl = 'location' AND x.id = j.value), j.value), ', ') FROM json_each(r.data, '$.location_ids') j), "
	   "CASE json_type(r.data, '$.location_id') WHEN 'text' THEN " REF("location", "name", "location_id") " END, "
	   "'all locations')", NULL}}},
	{"organisations", "organisation", F("name") ", r.id", {{"name", F("name"), NULL}}},
};

static const struct view *find_view(const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < sizeof views / sizeof views[0]; i++)
		if (!strcmp(name, views[i].name) || !strcmp(name, views[i].tbl) ||
		    (n + 1 == strlen(views[i].name) && !strncmp(name, views[i].name, n))) /* singular */
			return &views[i];
	return NULL;
}

/* SQL functions over the cache, so the queries below stay declarative and
 * every time goes through kt_text (one form for both CLIs):
 *   kt_local(ms, zone)   "2027-01-15 09:30 CET"
 *   kt_iso(ms)           "2027-01-15T08:30:00Z"
 *   kt_bound(text, zone, end_of_day)  the instant a --from/--to means at
 *                        that zone (dates local to each appointment's place) */
static void sql_kt_local(sqlite3_context *cx, int n, sqlite3_value **v)
{
	char buf[KT_TEXT_TIME];
	(void)n;
	if (sqlite3_value_type(v[0]) == SQLITE_NULL)
		return;
	kt_text_time((const char *)sqlite3_value_text(v[1]), sqlite3_value_int64(v[0]), buf);
	sqlite3_result_text(cx, buf, -1, SQLITE_TRANSIENT);
}

static void sql_kt_iso(sqlite3_context *cx, int n, sqlite3_value **v)
{
	char buf[KT_TEXT_TIME];
	(void)n;
	if (sqlite3_value_type(v[0]) == SQLITE_NULL)
		return;
	kt_text_iso(sqlite3_value_int64(v[0]), buf);
	sqlite3_result_text(cx, buf, -1, SQLITE_TRANSIENT);
}

static void sql_kt_bound(sqlite3_context *cx, int n, sqlite3_value **v)
{
	int64_t ms;
	char err[8];
	(void)n;
	if (sqlite3_value_type(v[0]) == SQLITE_NULL)
		return;
	if (kt_text_bound_arg("", (const char *)sqlite3_value_text(v[1]), (const char *)sqlite3_value_text(v[0]),
			      sqlite3_value_int(v[2]), &ms, err, sizeof err) == KT_OK)
		sqlite3_result_int64(cx, ms);
}

static int register_sql_functions(sqlite3 *db)
{
	int f = SQLITE_UTF8 | SQLITE_DETERMINISTIC;
	if (sqlite3_create_function(db, "kt_local", 2, f, NULL, sql_kt_local, NULL, NULL) != SQLITE_OK ||
	    sqlite3_create_function(db, "kt_iso", 1, f, NULL, sql_kt_iso, NULL, NULL) != SQLITE_OK ||
	    sqlite3_create_function(db, "kt_bound", 3, f, NULL, sql_kt_bound, NULL, NULL) != SQLITE_OK)
		return complain("cache: %s", sqlite3_errmsg(db));
	return 0;
}

/* A location, staff member or client named as people type it, looked up in
 * the cache by the same rules as the server's (kt_text_row_match): an
 * exact id, an exact name (staff: or e-mail), a unique start of the name,
 * of a word in it or of the id. */
static int cache_resolve(sqlite3 *db, const char *tbl, const char *field, const char *nouns, const char *opt,
			 const char *typed, char id[KT_UUID_LEN + 1])
{
	char folded[1536], sql[1024];
	sqlite3_stmt *s;
	int best = 0, n = 0, step;
	struct {
		char id[KT_UUID_LEN + 1];
		char name[200], extra[200];
	} cand[10];

	if ((size_t)snprintf(sql, sizeof sql,
		 "SELECT id, json_extract(data, '$.%s'), json_extract(data, '$.email'), json_extract(data, '$.phone'), "
		 "CASE tbl WHEN 'staff' THEN json_extract(data, '$.role') WHEN 'location' THEN "
		 "json_extract(data, '$.address') END FROM rows WHERE tbl = ? "
		 "ORDER BY 2, id",
		 field) >= sizeof sql || sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		return complain("cache: %s", sqlite3_errmsg(db));
	sqlite3_bind_text(s, 1, tbl, -1, SQLITE_STATIC);
	if (kt_text_fold(typed, folded, sizeof folded) != KT_OK) {
		sqlite3_finalize(s);
		fprintf(stderr, PROG ": %s '%.40s' is not a name\n", opt, typed);
		return EXIT_USAGE;
	}
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		const char *rid = (const char *)sqlite3_column_text(s, 0), *name = (const char *)sqlite3_column_text(s, 1);
		int m = !strcmp(rid, typed) ? 3
			: kt_text_row_match(rid, name,
					    !strcmp(tbl, "staff") ? (const char *)sqlite3_column_text(s, 2) : NULL, folded);
		if (!m || m < best)
			continue;
		if (m > best)
			best = m, n = 0;
		if (n < (int)(sizeof cand / sizeof cand[0])) {
			char e[128] = "", p[64] = "";
			kt_text_mask_email((const char *)sqlite3_column_text(s, 2), e, sizeof e);
			kt_text_mask_phone((const char *)sqlite3_column_text(s, 3), p, sizeof p);
			kt_strcpy_cut(cand[n].id, sizeof cand[n].id, rid);
			kt_strcpy_cut(cand[n].name, sizeof cand[n].name, name ? name : "?");
			snprintf(cand[n].extra, sizeof cand[n].extra, "%s%s%s%s%s", e, *e && *p ? ", " : "", p,
				 (*e || *p) && sqlite3_column_text(s, 4) ? "; " : "",
				 sqlite3_column_text(s, 4) ? (const char *)sqlite3_column_text(s, 4) : "");
		}
		n++;
	}
	sqlite3_finalize(s);
	if (step != SQLITE_DONE)
		return complain("cache: %s", sqlite3_errmsg(db));
	if (n == 1) {
		kt_strcpy_cut(id, KT_UUID_LEN + 1, cand[0].id);
		return 0;
	}
	if (!n) {
		fprintf(stderr, PROG ": %s '%.60s': nothing in this device's cache has this name or a name that starts so\n",
			opt, typed);
		return EXIT_USAGE;
	}
	fprintf(stderr, PROG ": %s '%.60s': %d %s %s; give more of the name or the id:\n", opt, typed, n, nouns,
		best == 2 ? "have this name" : "have a name that starts so");
	for (int i = 0; i < n && i < (int)(sizeof cand / sizeof cand[0]); i++)
		fprintf(stderr, "  %s  %s  %s\n", cand[i].name, cand[i].id, cand[i].extra);
	if (n > (int)(sizeof cand / sizeof cand[0]))
		fprintf(stderr, "  ... and %d more\n", n - (int)(sizeof cand / sizeof cand[0]));
	return EXIT_USAGE;
}

/* The zone a --from/--to time (not a date) is read in: the --location's, or
 * the first location in the cache. */
static void cache_zone(sqlite3 *db, const char *location_id, char zone[64])
{
	sqlite3_stmt *s;
	zone[0] = 0;
	if (sqlite3_prepare_v2(db,
			       "SELECT json_extract(data, '$.time_zone') FROM rows WHERE tbl = 'location' AND "
			       "(?1 IS NULL OR id = ?1) ORDER BY id LIMIT 1",
			       -1, &s, NULL) != SQLITE_OK)
		return;
	if (location_id)
		sqlite3_bind_text(s, 1, location_id, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
		kt_strcpy_cut(zone, 64, (const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
}

static int ls_usage(void)
{
	return usage_error("ls TABLE [--json]; TABLE: appointments clients visits locations staff services; "
			   "appointments also [--from D] [--to D] [--location L] [--specialist P] [--client C] "
			   "[--status S]");
}

static int cmd_ls(kc_client *c, int argc, char **argv)
{
	enum { FROM, TO, LOC, SPEC, CLIENT, STATUS, NF };
	static const char *const fopt[NF] = {"--from", "--to", "--location", "--specialist", "--client", "--status"};
	const char *fval[NF] = {0};
	char ids[3][KT_UUID_LEN + 1], zone[64], err[256], *sql = NULL;
	const struct view *v;
	sqlite3 *db = kc_db(c);
	sqlite3_stmt *s;
	bool json = false;
	int rc, step;

	if (argc < 1 || !(v = find_view(argv[0])))
		return ls_usage();
	for (int i = 1; i < argc; i++) {
		int k = 0;
		if (!strcmp(argv[i], "--json")) {
			json = true;
			continue;
		}
		while (k < NF && strcmp(argv[i], fopt[k]))
			k++;
		if (k == NF || i + 1 >= argc || fval[k] || strcmp(v->tbl, "appointment"))
			return ls_usage();
		fval[k] = argv[++i];
	}
	if ((rc = register_sql_functions(db)))
		return rc;
	/* names against this device's own cache: what it may see is what it can name */
	if ((fval[LOC] && (rc = cache_resolve(db, "location", "name", "locations", "--location", fval[LOC], ids[0]))) ||
	    (fval[SPEC] && (rc = cache_resolve(db, "staff", "display_name", "staff members", "--specialist", fval[SPEC], ids[1]))) ||
	    (fval[CLIENT] && (rc = cache_resolve(db, "client", "name", "clients", "--client", fval[CLIENT], ids[2]))))
		return rc;
	/* a date is checked here once; the query reads it local to each row's place */
	cache_zone(db, fval[LOC] ? ids[0] : NULL, zone);
	for (int k = FROM; k <= TO; k++) {
		int64_t ms;
		if (fval[k] && kt_text_bound_arg(fopt[k], zone, fval[k], k == TO, &ms, err, sizeof err))
			return usage_error(err);
	}
	if (fval[STATUS] && strcmp(fval[STATUS], "booked") && strcmp(fval[STATUS], "confirmed") &&
	    strcmp(fval[STATUS], "cancelled") && strcmp(fval[STATUS], "no_show") && strcmp(fval[STATUS], "done"))
		return usage_error("--status is booked, confirmed, cancelled, no_show or done");

	/* SELECT r.id, col... (TSV) or json_group_array(json_object('id', r.id, head, col...)) */
	size_t cap = 16384, len = 0;
	if (!(sql = malloc(cap)))
		return complain("out of memory");
	len += (size_t)snprintf(sql + len, cap - len, json ? "SELECT json_group_array(json_object('id', id" : "SELECT id");
	for (int k = 0; k < VIEW_COLS && v->cols[k].head; k++) {
		if (json)
			len += (size_t)snprintf(sql + len, cap - len, ", '%s', c%d", v->cols[k].head, k);
		else
			len += (size_t)snprintf(sql + len, cap - len, ", c%d", k);
	}
	len += (size_t)snprintf(sql + len, cap - len, "%s FROM (SELECT r.id AS id", json ? "))" : "");
	for (int k = 0; k < VIEW_COLS && v->cols[k].head; k++) {
		const vcol *col = &v->cols[k];
		if (col->zone && json)
			len += (size_t)snprintf(sql + len, cap - len, ", kt_iso(%s) AS c%d", col->expr, k);
		else if (col->zone)
			len += (size_t)snprintf(sql + len, cap - len, ", kt_local(%s, %s) AS c%d", col->expr, col->zone, k);
		else
			len += (size_t)snprintf(sql + len, cap - len, ", %s AS c%d", col->expr, k);
	}
	len += (size_t)snprintf(sql + len, cap - len, " FROM rows r WHERE r.tbl = ?1");
	if (!strcmp(v->tbl, "appointment"))
		len += (size_t)snprintf(
			sql + len, cap - len,
			" AND (?2 IS NULL OR " F("start_at") " >= kt_bound(?2, " REF("location", "time_zone", "location_id")
			", 0)) AND (?3 IS NULL OR " F("start_at") " < kt_bound(?3, " REF("location", "time_zone", "location_id")
			", 1)) AND (?4 IS NULL OR " F("location_id") " = ?4) AND (?5 IS NULL OR " F("specialist_id")
			" = ?5) AND (?6 IS NULL OR " F("client_id") " = ?6) AND (?7 IS NULL OR " F("status") " = ?7)");
	len += (size_t)snprintf(sql + len, cap - len, " ORDER BY %s)", v->order);
	if (len >= cap) {
		free(sql);
		return complain("ls: query too long");
	}
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
		rc = complain("cache: %s", sqlite3_errmsg(db));
		free(sql);
		return rc;
	}
	free(sql);
	sqlite3_bind_text(s, 1, v->tbl, -1, SQLITE_STATIC);
	for (int k = FROM; k <= TO; k++)
		if (fval[k])
			sqlite3_bind_text(s, 2 + k, fval[k], -1, SQLITE_STATIC);
	for (int k = LOC; k <= CLIENT; k++)
		if (fval[k])
			sqlite3_bind_text(s, 4 + k - LOC, ids[k - LOC], -1, SQLITE_STATIC);
	if (fval[STATUS])
		sqlite3_bind_text(s, 7, fval[STATUS], -1, SQLITE_STATIC);
	if (!json) {
		fputs("id", stdout);
		for (int k = 0; k < VIEW_COLS && v->cols[k].head; k++)
			printf("\t%s", v->cols[k].head);
		putchar('\n');
	}
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		for (int k = 0; k < sqlite3_column_count(s); k++) {
			if (k)
				putchar('\t');
			put_cell(sqlite3_column_text(s, k));
		}
		putchar('\n');
	}
	sqlite3_finalize(s);
	return step == SQLITE_DONE ? 0 : complain("cache: %s", sqlite3_errmsg(db));
}

/* One value of `show`, made readable: names for references the cache can
 * resolve, local times for *_at (in zone: the row's location's), lists
 * joined by commas. */
static void show_value(sqlite3 *db, const char *zone, const char *key, const char *type, const char *text)
{
	static const struct {
		const char *key, *tbl, *field;
	} refs[] = {
		{"client_id", "client", "name"},         {"specialist_id", "staff", "display_name"},
		{"location_id", "location", "name"},     {"appointment_id", "appointment", "start_at"},
	};
	sqlite3_stmt *s;
	size_t kl = strlen(key);

	if (!strcmp(type, "true") || !strcmp(type, "false")) {
		fputs(type, stdout);
		return;
	}
	if (!strcmp(type, "null") || !text)
		return;
	if (!strcmp(type, "array")) {
		bool services = !strcmp(key, "services");
		if (sqlite3_prepare_v2(db,
				       "SELECT group_concat(coalesce((SELECT json_extract(x.data, '$.name') FROM rows x "
				       "WHERE ?2 AND x.tbl = 'service' AND x.id = j.value), j.value), ', ') "
				       "FROM json_each(?1) j",
				       -1, &s, NULL) == SQLITE_OK) {
			sqlite3_bind_text(s, 1, text, -1, SQLITE_STATIC);
			sqlite3_bind_int(s, 2, services);
			if (sqlite3_step(s) == SQLITE_ROW)
				put_cell(sqlite3_column_text(s, 0));
			sqlite3_finalize(s);
		}
		return;
	}
	if (kl > 3 && !strcmp(key + kl - 3, "_at") && !strcmp(type, "integer")) {
		char buf[KT_TEXT_TIME]; /* people read the local time, not the instant */
		kt_text_time(zone, strtoll(text, NULL, 10), buf);
		fputs(buf, stdout);
		return;
	}
	put_cell((const unsigned char *)text);
	for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++) {
		if (strcmp(key, refs[i].key) != 0)
			continue;
		if (sqlite3_prepare_v2(db,
				       "SELECT CASE WHEN ?3 = 'start_at' THEN kt_local(json_extract(data, '$.start_at'), "
				       "(SELECT json_extract(l.data, '$.time_zone') FROM rows l WHERE l.tbl = 'location' AND "
				       "l.id = json_extract(rows.data, '$.location_id'))) "
				       "ELSE json_extract(data, '$.' || ?3) END FROM rows WHERE tbl = ?1 AND id = ?2",
				       -1, &s, NULL) == SQLITE_OK) {
			sqlite3_bind_text(s, 1, refs[i].tbl, -1, SQLITE_STATIC);
			sqlite3_bind_text(s, 2, text, -1, SQLITE_STATIC);
			sqlite3_bind_text(s, 3, refs[i].field, -1, SQLITE_STATIC);
			if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0)) {
				fputs(" (", stdout);
				put_cell(sqlite3_column_text(s, 0));
				putchar(')');
			}
			sqlite3_finalize(s);
		}
	}
}

static int show_related(sqlite3 *db, const char *client_id)
{
	static const struct {
		const char *title, *sql;
	} parts[] = {
		{"appointments",
		 "SELECT kt_local(" F("start_at") ", " REF("location", "time_zone", "location_id") "), " F("status") ", "
		 REF("staff", "display_name", "specialist_id") ", "
		 SERVICES ", r.id FROM rows r WHERE r.tbl = 'appointment' AND " F("client_id") " = ? "
		 "ORDER BY " F("start_at") ", r.id"},
		{"visits",
		 "SELECT " F("visit_date") ", " REF("staff", "display_name", "specialist_id") ", " SERVICES
		 ", r.id FROM rows r WHERE r.tbl = 'visit' AND " F("client_id") " = ? ORDER BY " F("visit_date") ", r.id"},
	};
	for (size_t p = 0; p < sizeof parts / sizeof parts[0]; p++) {
		sqlite3_stmt *s;
		int step;
		printf("\n%s:\n", parts[p].title);
		if (sqlite3_prepare_v2(db, parts[p].sql, -1, &s, NULL) != SQLITE_OK)
			return complain("cache: %s", sqlite3_errmsg(db));
		sqlite3_bind_text(s, 1, client_id, -1, SQLITE_STATIC);
		while ((step = sqlite3_step(s)) == SQLITE_ROW) {
			fputs(" ", stdout);
			for (int k = 0; k < sqlite3_column_count(s); k++) {
				fputs("  ", stdout);
				put_cell(sqlite3_column_text(s, k));
			}
			putchar('\n');
		}
		sqlite3_finalize(s);
		if (step != SQLITE_DONE)
			return complain("cache: %s", sqlite3_errmsg(db));
	}
	return 0;
}

static int cmd_show(kc_client *c, int argc, char **argv)
{
	sqlite3 *db = kc_db(c);
	const struct view *v;
	sqlite3_stmt *s;
	char *json = NULL;
	int step;

	if (argc != 2 || !(v = find_view(argv[0])))
		return usage_error("show takes a TABLE (client, appointment, visit, location, staff, service) and an ID");
	if (kc_get(c, v->tbl, argv[1], &json) != KT_OK)
		return complain("no such row in the cache: %s", argv[1]);
	free(json);
	if (kc_record_view(c, v->tbl, argv[1])) /* "who saw this card" goes to the audit log with the next push */
		complain("%s", "could not note the view for the audit log");
	if (register_sql_functions(db))
		return 1;
	char zone[64], loc[KT_UUID_LEN + 1] = "";
	if (sqlite3_prepare_v2(db, "SELECT json_extract(data, '$.location_id') FROM rows WHERE tbl = ? AND id = ?", -1,
			       &s, NULL) == SQLITE_OK) {
		sqlite3_bind_text(s, 1, v->tbl, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, argv[1], -1, SQLITE_STATIC);
		if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
			kt_strcpy_cut(loc, sizeof loc, (const char *)sqlite3_column_text(s, 0));
		sqlite3_finalize(s);
	}
	cache_zone(db, loc[0] ? loc : NULL, zone); /* no place of its own: the first location's */
	if (sqlite3_prepare_v2(db,
			       "SELECT j.key, j.type, j.value, r.v FROM rows r, json_each(r.data) j "
			       "WHERE r.tbl = ? AND r.id = ?",
			       -1, &s, NULL) != SQLITE_OK)
		return complain("cache: %s", sqlite3_errmsg(db));
	sqlite3_bind_text(s, 1, v->tbl, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, argv[1], -1, SQLITE_STATIC);
	printf("%s %s\n", v->tbl, argv[1]);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		printf("%s: ", (const char *)sqlite3_column_text(s, 0));
		show_value(db, zone, (const char *)sqlite3_column_text(s, 0), (const char *)sqlite3_column_text(s, 1),
			   (const char *)sqlite3_column_text(s, 2));
		putchar('\n');
	}
	sqlite3_finalize(s);
	if (step != SQLITE_DONE)
		return complain("cache: %s", sqlite3_errmsg(db));
	return !strcmp(v->tbl, "client") ? show_related(db, argv[1]) : 0;
}

static int cmd_status(kc_client *c, int argc, char **argv)
{
	static const char *const tables[] = {"organisation", "location", "staff", "service",
					     "client", "appointment", "visit", "consent"};
	kc_info in;
	(void)argv;
	if (argc)
		return usage_error("status takes no arguments");
	if (kc_info_get(c, &in))
		return finish(c, KT_EIO);
#define LINE(label, val) printf("%s: %s\n", label, (val)[0] ? (val) : "-")
	LINE("server", in.server);
	if (!strncmp(in.server, "wss://", 6))
		printf("ca: %s\n", in.ca_file[0] ? in.ca_file : "the system's CAs");
	LINE("device", in.device_id);
	printf("signed in: %s\n", in.signed_in ? "yes" : "no");
	LINE("principal_name", in.principal_name);
	LINE("principal_role", in.principal_role);
	LINE("principal_kind", in.principal_kind);
	LINE("principal_id", in.principal_id);
	LINE("org", in.org);
#undef LINE
	printf("cursor: %s\n", in.has_cursor ? "stored (the next sync resumes)" : "none (the next sync is a full snapshot)");
	for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
		printf("rows %s: %lld\n", tables[i], (long long)kc_count(c, tables[i]));
	printf("rows total: %lld\n", (long long)kc_count(c, NULL));
	printf("queued edits: %lld\n", (long long)kc_queue_count(c));
	return 0;
}

/* ---- offline edits (kc_mutate) ---- */

static const char *opt(int argc, char **argv, const char *name)
{
	for (int i = 0; i < argc - 1; i++)
		if (!strcmp(argv[i], name))
			return argv[i + 1];
	return NULL;
}

static bool flag(int argc, char **argv, const char *name)
{
	for (int i = 0; i < argc; i++)
		if (!strcmp(argv[i], name))
			return true;
	return false;
}

/* ---- what the server would refuse, refused here before it is queued ----
 * (the rules of server/domain/validate.c; each message names the option and the rule) */

#define TIME_MIN 946684800000LL  /* 2000-01-01T00:00:00Z */
#define TIME_MAX 4102444800000LL /* 2100-01-01T00:00:00Z */

static int bad_value(const char *what, const char *rule, const char *got)
{
	fprintf(stderr, PROG ": %s %s, not '%.80s'\n", what, rule, got);
	return EXIT_USAGE;
}

/* YYYY-MM-DD that exists (no February 30th rolled over into March). */
static bool real_date(int y, int m, int d)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return false;
	return m != 2 || d < 29 || (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0));
}

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

/* ms since 1970, or YYYY-MM-DDTHH:MM:SSZ (UTC) naming a real moment, from
 * 2000 to 2099. -1 when it is not one. */
static int64_t parse_time(const char *s)
{
	int y, mo, d, h, mi, sec;
	char *end;
	long long v;
	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (!*end && s[0] >= '0' && s[0] <= '9')
		return !errno && v >= TIME_MIN && v < TIME_MAX ? v : -1;
	if (strlen(s) != 20 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
	    !digits(s + 8, 2, &d) || s[10] != 'T' || !digits(s + 11, 2, &h) || s[13] != ':' ||
	    !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &sec) || s[19] != 'Z')
		return -1;
	if (!real_date(y, mo, d) || h > 23 || mi > 59 || sec > 59 || y < 2000 || y > 2099)
		return -1;
	struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = sec};
	return (int64_t)timegm(&tm) * 1000;
}

static int bad_time(const char *opt, const char *got)
{
	return bad_value(opt, "wants a time from 2000 to 2099: local at the location, such as 2027-01-15 09:30 "
			      "(the location must be in this device's cache: sync first), or with an offset, such as "
			      "2027-01-15T09:30:00Z", got);
}

/* Whole minutes, 1 to 1440; -1 otherwise. */
static int parse_minutes(const char *s)
{
	char *end;
	long v;
	errno = 0;
	v = s ? strtol(s, &end, 10) : 0;
	return s && !errno && end != s && !*end && s[0] >= '0' && s[0] <= '9' && v >= 1 && v <= 1440 ? (int)v : -1;
}

static bool is_id(const char *s)
{
	return s && kt_uuid_valid(s, strlen(s));
}

static int bad_id(const char *what, const char *got)
{
	return bad_value(what, "wants an id (a UUID such as 01941f29-7c1e-7c3a-8b5e-2f0a1b2c3d4e)", got);
}

static const char *const client_fields[] = {"name",       "email",          "phone",       "birthday",
					    "address",    "allergies",      "conditions",  "medications",
					    "skin_hair_type", "patch_tests", "preferences", "internal_notes"};

/* The value of a client card field as the server would take it; 0 or EXIT_USAGE. */
static int check_client_field(const char *field, const char *value)
{
	bool known = false;
	for (size_t i = 0; i < sizeof client_fields / sizeof client_fields[0]; i++)
		known |= !strcmp(field, client_fields[i]);
	if (!known) {
		fprintf(stderr,
			PROG ": clients have no field '%.40s'; the fields are name, email, phone, birthday, address, "
			     "allergies, conditions, medications, skin_hair_type, patch_tests, preferences, internal_notes\n",
			field);
		return EXIT_USAGE;
	}
	if (!strcmp(field, "name") && (!value || !value[0])) {
		fprintf(stderr, PROG ": a client's name cannot be empty or cleared\n");
		return EXIT_USAGE;
	}
	if (value && !strcmp(field, "birthday")) {
		int y, m, d;
		char today[16];
		time_t now = time(NULL) + 24 * 3600; /* a birthday today east of UTC */
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(today, sizeof today, "%Y-%m-%d", &tm);
		if (strlen(value) != 10 || !digits(value, 4, &y) || value[4] != '-' || !digits(value + 5, 2, &m) ||
		    value[7] != '-' || !digits(value + 8, 2, &d) || y < 1900 || !real_date(y, m, d) ||
		    strcmp(value, today) > 0)
			return bad_value("birthday", "must be YYYY-MM-DD (a real date, from 1900 until today)", value);
	}
	return 0;
}

/* JSON is built by SQLite: json_set on an object, one field at a time. */
typedef struct jbuild {
	sqlite3 *db;
	char *json;
} jbuild;

enum { J_TEXT, J_INT, J_LIST, J_NULL };

static void jset(jbuild *j, const char *key, const char *text, int64_t num, int kind)
{
	sqlite3_stmt *s;
	char path[80];
	snprintf(path, sizeof path, "$.%s", key);
	if (sqlite3_prepare_v2(j->db, kind == J_LIST ? "SELECT json_set(?1, ?2, json('[]'))" : "SELECT json_set(?1, ?2, ?3)",
			       -1, &s, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_text(s, 1, j->json ? j->json : "{}", -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, path, -1, SQLITE_STATIC);
	if (kind == J_TEXT)
		sqlite3_bind_text(s, 3, text, -1, SQLITE_STATIC);
	else if (kind == J_INT)
		sqlite3_bind_int64(s, 3, num);
	else if (kind == J_NULL)
		sqlite3_bind_null(s, 3);
	if (sqlite3_step(s) == SQLITE_ROW) {
		free(j->json);
		j->json = strdup((const char *)sqlite3_column_text(s, 0));
	}
	sqlite3_finalize(s);
	if (kind == J_LIST && text) { /* append each list element: '$.key[#]' */
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

/* overlap_reason: a double booking on purpose (--allow-overlap --reason TEXT), else NULL */
static int mutate(kc_client *c, const char *tbl, const char *id, jbuild *j, const char *overlap_reason,
		  bool print_id)
{
	char out[37];
	int rc = kc_mutate_overlap(c, tbl, id, j->json ? j->json : "{}", overlap_reason, out);
	free(j->json);
	if (rc)
		return finish(c, rc);
	if (print_id)
		printf("%s\n", out);
	if (!ui.quiet)
		fprintf(stderr, "queued (%lld waiting); the next sync, or a running watch, pushes it\n",
			(long long)kc_queue_count(c));
	return 0;
}

static int cmd_client(kc_client *c, int argc, char **argv)
{
	jbuild j = {kc_db(c), NULL};
	bool set = argc == 4 && !strcmp(argv[0], "set"), clear = argc == 3 && !strcmp(argv[0], "clear");
	int rc;
	if (!set && !clear)
		return usage_error("client set ID FIELD VALUE | client clear ID FIELD");
	if (!is_id(argv[1]))
		return bad_id("the client", argv[1]);
	if ((rc = check_client_field(argv[2], set ? argv[3] : NULL)))
		return rc;
	if (set)
		jset(&j, argv[2], argv[3], 0, J_TEXT);
	else
		jset(&j, argv[2], NULL, 0, J_NULL);
	return mutate(c, "client", argv[1], &j, NULL, false);
}

/* A location, client or staff member as typed: an id as given (the server
 * decides whether it may be used), else a name looked up in the cache. */
static int want_ref(sqlite3 *db, const char *tbl, const char *field, const char *nouns, const char *opt,
		    const char *typed, char id[KT_UUID_LEN + 1])
{
	if (is_id(typed)) {
		kt_strcpy_cut(id, KT_UUID_LEN + 1, typed);
		return 0;
	}
	return cache_resolve(db, tbl, field, nouns, opt, typed, id);
}

/* --services as people type it: ids, names or starts of names, separated
 * by commas, each looked up in the cache like --location; out gets the ids. */
static int want_services(sqlite3 *db, const char *typed, char *out, size_t cap)
{
	size_t used = 0;
	*out = 0;
	for (const char *p = typed; *p;) {
		size_t n = strcspn(p, ",");
		char one[200], id[KT_UUID_LEN + 1];
		int rc;
		if (!n || n >= sizeof one)
			return bad_value("--services", "wants service names or ids separated by commas", typed);
		memcpy(one, p, n);
		one[n] = 0;
		if ((rc = want_ref(db, "service", "name", "services", "--services", one, id)))
			return rc;
		if (used + KT_UUID_LEN + 2 > cap)
			return bad_value("--services", "names too many services", typed);
		used += (size_t)snprintf(out + used, cap - used, "%s%s", used ? "," : "", id);
		p += n + (p[n] == ',');
	}
	return 0;
}

/* The minutes a list of service ids takes, from the cache; 0 when unknown. */
static int services_minutes(sqlite3 *db, const char *ids)
{
	sqlite3_stmt *s;
	int m = 0;
	if (sqlite3_prepare_v2(db,
			       "SELECT coalesce(sum(json_extract(data, '$.duration_min')), 0) FROM rows WHERE "
			       "tbl = 'service' AND instr(',' || ?1 || ',', ',' || id || ',')",
			       -1, &s, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(s, 1, ids, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		m = sqlite3_column_int(s, 0) > 1440 ? 1441 : sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return m;
}

/* A time typed for an appointment at location loc: with an offset (or the
 * instant) as given, else local to that location's zone in the cache. */
static int appt_time(sqlite3 *db, const char *opt, const char *loc, const char *text, int64_t *ms)
{
	char zone[64], err[256];
	int64_t t = parse_time(text);
	if (t >= 0) {
		*ms = t;
		return 0;
	}
	cache_zone(db, loc, zone);
	if (!*zone || kt_text_time_arg(opt, zone, text, &t, err, sizeof err) || t < TIME_MIN || t >= TIME_MAX) {
		if (*zone && strstr(err, "the clocks skip it")) {
			fprintf(stderr, PROG ": %s\n", err);
			return EXIT_USAGE;
		}
		return bad_time(opt, text);
	}
	*ms = t;
	return 0;
}

static int cmd_appointment(kc_client *c, int argc, char **argv)
{
	jbuild j = {kc_db(c), NULL};
	const char *v, *overlap = NULL;
	bool allow = flag(argc, argv, "--allow-overlap");
	/* cancel's --reason says why it was cancelled; create's and move's, why the double booking */
	bool cancel = argc >= 1 && !strcmp(argv[0], "cancel");
	if (!cancel && allow != (opt(argc, argv, "--reason") != NULL))
		return usage_error("--allow-overlap and --reason TEXT go together (a double booking on purpose, and why)");
	if (allow && !*(overlap = opt(argc, argv, "--reason")))
		return bad_value("--reason", "wants a few words on why the specialist is booked twice", overlap);
	if (argc >= 1 && !strcmp(argv[0], "create")) {
		static const char *const need[] = {"--location", "--client", "--specialist", "--start", "--duration"};
		int64_t start;
		int minutes;
		for (size_t k = 0; k < sizeof need / sizeof need[0]; k++)
			if (!opt(argc, argv, need[k]) && (strcmp(need[k], "--duration") || !opt(argc, argv, "--services"))) {
				fprintf(stderr, PROG ": appointment create needs %s%s\n", need[k],
					strcmp(need[k], "--duration") ? "" : " (or --services: then their durations add up)");
				return EXIT_USAGE;
			}
		char ref[3][KT_UUID_LEN + 1];
		int rc;
		if ((rc = want_ref(j.db, "location", "name", "locations", "--location", opt(argc, argv, "--location"),
				   ref[0])) ||
		    (rc = want_ref(j.db, "client", "name", "clients", "--client", opt(argc, argv, "--client"), ref[1])) ||
		    (rc = want_ref(j.db, "staff", "display_name", "staff members", "--specialist",
				   opt(argc, argv, "--specialist"), ref[2])) ||
		    (rc = appt_time(j.db, "--start", ref[0], opt(argc, argv, "--start"), &start)))
			return rc;
		char services[32 * (KT_UUID_LEN + 1)] = "";
		if ((v = opt(argc, argv, "--services")) && (rc = want_services(j.db, v, services, sizeof services)))
			return rc;
		/* without --duration, as on the server: the services' durations added up */
		if (!opt(argc, argv, "--duration"))
			minutes = services_minutes(j.db, services);
		else if ((minutes = parse_minutes(opt(argc, argv, "--duration"))) < 0)
			return bad_value("--duration", "wants whole minutes from 1 to 1440", opt(argc, argv, "--duration"));
		if (minutes < 1 || minutes > 1440)
			return bad_value("--services", "add up to no duration from 1 to 1440 minutes; give --duration", v);
		jset(&j, "location_id", ref[0], 0, J_TEXT);
		jset(&j, "client_id", ref[1], 0, J_TEXT);
		jset(&j, "specialist_id", ref[2], 0, J_TEXT);
		jset(&j, "start_at", NULL, start, J_INT);
		jset(&j, "duration_min", NULL, minutes, J_INT);
		jset(&j, "services", services, 0, J_LIST);
		jset(&j, "status", "booked", 0, J_TEXT);
		if ((v = opt(argc, argv, "--note")))
			jset(&j, "client_note", v, 0, J_TEXT);
		return mutate(c, "appointment", NULL, &j, overlap, true);
	}
	if (argc >= 2 && !strcmp(argv[0], "move")) {
		char loc[KT_UUID_LEN + 1] = "", spec[KT_UUID_LEN + 1];
		int rc;
		if (!is_id(argv[1]))
			return bad_id("the appointment", argv[1]);
		if ((v = opt(argc, argv, "--location"))) {
			if ((rc = want_ref(j.db, "location", "name", "locations", "--location", v, loc)))
				return rc;
		} else { /* a new time is local to where the appointment is */
			sqlite3_stmt *q;
			if (sqlite3_prepare_v2(j.db, "SELECT json_extract(data, '$.location_id') FROM rows WHERE "
						     "tbl = 'appointment' AND id = ?", -1, &q, NULL) == SQLITE_OK) {
				sqlite3_bind_text(q, 1, argv[1], -1, SQLITE_STATIC);
				if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
					kt_strcpy_cut(loc, sizeof loc, (const char *)sqlite3_column_text(q, 0));
				sqlite3_finalize(q);
			}
		}
		if ((v = opt(argc, argv, "--start"))) {
			int64_t t;
			if ((rc = appt_time(j.db, "--start", loc, v, &t)))
				return rc;
			jset(&j, "start_at", NULL, t, J_INT);
		}
		if (opt(argc, argv, "--location"))
			jset(&j, "location_id", loc, 0, J_TEXT);
		if ((v = opt(argc, argv, "--specialist"))) {
			if ((rc = want_ref(j.db, "staff", "display_name", "staff members", "--specialist", v, spec)))
				return rc;
			jset(&j, "specialist_id", spec, 0, J_TEXT);
		}
		if (!j.json)
			return usage_error("nothing to move: give --start, --location or --specialist");
		return mutate(c, "appointment", argv[1], &j, overlap, false);
	}
	if ((argc == 2 || (argc == 4 && opt(argc, argv, "--reason"))) && !strcmp(argv[0], "cancel")) {
		if (!is_id(argv[1]))
			return bad_id("the appointment", argv[1]);
		jset(&j, "status", "cancelled", 0, J_TEXT);
		if ((v = opt(argc, argv, "--reason"))) /* why: staff see it, the client does not */
			jset(&j, "status_reason", v, 0, J_TEXT);
		return mutate(c, "appointment", argv[1], &j, NULL, false);
	}
	return usage_error("appointment create|move|cancel");
}

static int cmd_visit(kc_client *c, int argc, char **argv)
{
	const char *appt = opt(argc, argv, "--appointment");
	sqlite3_stmt *s;
	jbuild j = {kc_db(c), NULL};
	if (argc < 1 || strcmp(argv[0], "add") || !appt)
		return usage_error("visit add --appointment ID [--notes TEXT] [--formulas TEXT]");
	/* the visit takes its place, people and services from the appointment */
	if (sqlite3_prepare_v2(kc_db(c),
			       "SELECT json_object('location_id', json_extract(data, '$.location_id'), 'client_id', "
			       "json_extract(data, '$.client_id'), 'specialist_id', json_extract(data, '$.specialist_id'), "
			       "'appointment_id', id, 'visit_date', date(json_extract(data, '$.start_at') / 1000, 'unixepoch'), "
			       "'services', json_extract(data, '$.services')) FROM rows WHERE tbl = 'appointment' AND id = ?",
			       -1, &s, NULL) != SQLITE_OK)
		return complain("cache: %s", sqlite3_errmsg(kc_db(c)));
	sqlite3_bind_text(s, 1, appt, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		j.json = strdup((const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	if (!j.json)
		return complain("no such appointment in the cache: %s", appt);
	if (opt(argc, argv, "--notes"))
		jset(&j, "treatment_notes", opt(argc, argv, "--notes"), 0, J_TEXT);
	if (opt(argc, argv, "--formulas"))
		jset(&j, "products_formulas", opt(argc, argv, "--formulas"), 0, J_TEXT);
	return mutate(c, "visit", NULL, &j, NULL, true);
}

/* Many offline edits in one process: "client\tset\tID\tphone\t+386 ..." per line. */
static int cmd_batch(kc_client *c, int argc, char **argv)
{
	char line[8192];
	int rc = 0, n = 0;
	(void)argv;
	if (argc)
		return usage_error("batch reads its commands from stdin");
	while (fgets(line, sizeof line, stdin)) {
		char *args[32];
		int nargs = 0;
		line[strcspn(line, "\r\n")] = 0;
		if (!line[0])
			continue;
		for (char *p = line; p && nargs < 32;) {
			args[nargs++] = p;
			if ((p = strchr(p, '\t')))
				*p++ = 0;
		}
		n++;
		if (!strcmp(args[0], "client"))
			rc |= cmd_client(c, nargs - 1, args + 1);
		else if (!strcmp(args[0], "appointment"))
			rc |= cmd_appointment(c, nargs - 1, args + 1);
		else if (!strcmp(args[0], "visit"))
			rc |= cmd_visit(c, nargs - 1, args + 1);
		else {
			fprintf(stderr, PROG ": line %d: unknown command '%s'\n", n, args[0]);
			rc = 1;
		}
	}
	return rc ? 1 : 0;
}

/* A rejection's fields as people read them: instants ("start_at", "at")
 * become local times at the row's location (else the first location's), the
 * location, client and specialist their names.
 * Returns malloc'd text, or NULL (then the fields are shown as they are). */
static char *readable_fields(sqlite3 *db, const char *json, const char *loc_hint)
{
	sqlite3_stmt *s;
	char zone[64], loc[KT_UUID_LEN + 1] = "", *out = NULL;
	if (!json)
		return NULL;
	if (loc_hint && sqlite3_prepare_v2(db, "SELECT json_extract(?1, '$.location_id')", -1, &s, NULL) == SQLITE_OK) {
		sqlite3_bind_text(s, 1, loc_hint, -1, SQLITE_STATIC);
		if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) == SQLITE_TEXT)
			kt_strcpy_cut(loc, sizeof loc, (const char *)sqlite3_column_text(s, 0));
		sqlite3_finalize(s);
	}
	cache_zone(db, loc[0] ? loc : NULL, zone);
	if (!zone[0])
		cache_zone(db, NULL, zone);
	/* the people and the place by name where the cache knows them ("client": "Ana Novak"),
	 * else the id as it was */
	if (sqlite3_prepare_v2(db,
			       "SELECT json_group_object(CASE WHEN nm IS NULL THEN key ELSE substr(key, 1, length(key) - 3) "
			       "END, CASE WHEN nm IS NOT NULL THEN nm WHEN type = 'integer' AND (key = 'at' OR "
			       "substr(key, -3) = '_at') THEN kt_local(value, ?2) WHEN type IN ('array', 'object') "
			       "THEN json(value) ELSE value END) FROM (SELECT key, value, type, (SELECT "
			       "json_extract(r.data, CASE r.tbl WHEN 'staff' THEN '$.display_name' ELSE '$.name' END) "
			       "FROM rows r WHERE type = 'text' AND r.id = value AND r.tbl = CASE key WHEN 'location_id' "
			       "THEN 'location' WHEN 'client_id' THEN 'client' WHEN 'specialist_id' THEN 'staff' END) "
			       "AS nm FROM json_each(?1))",
			       -1, &s, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_text(s, 1, json, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, zone, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
		out = kt_strndup((const char *)sqlite3_column_text(s, 0), (size_t)sqlite3_column_bytes(s, 0));
	sqlite3_finalize(s);
	return out;
}

static int print_rejection(void *user, int64_t mid, const char *tbl, const char *id, const char *code,
			   const char *msg, const char *fields, const char *current)
{
	sqlite3 *db = user;
	char *f = readable_fields(db, fields, current ? current : fields);
	char *now = readable_fields(db, current, current ? current : fields);
	printf("#%lld %s %s: %s: %s\n  your edit: %s\n  now: %s\n", (long long)mid, tbl, id, code, msg,
	       f ? f : fields, now ? now : current ? current : "-");
	free(f);
	free(now);
	return 0;
}

static int cmd_rejections(kc_client *c, int argc, char **argv)
{
	int rc;
	(void)argv;
	if (argc)
		return usage_error("rejections takes no arguments");
	if ((rc = register_sql_functions(kc_db(c))))
		return rc;
	if ((rc = kc_rejections(c, print_rejection, kc_db(c))))
		return finish(c, rc);
	return 0;
}

static int cmd_logout(kc_client *c, int argc, char **argv)
{
	bool discard = argc == 1 && !strcmp(argv[0], "--discard");
	int rc;
	if (argc && !discard)
		return usage_error("logout takes only --discard");
	if (!discard && kc_waiting(c) != 0) {
		/* edits or view events still wait: deliver them first if the server answers */
		if (!ui.quiet)
			fprintf(stderr, PROG ": %lld edits or views not pushed yet; pushing them first\n",
				(long long)kc_waiting(c));
		if ((rc = kc_run(c, KC_UNTIL_SYNCED, 30000))) {
			fprintf(stderr, PROG ": could not push them (%s); run sync, or logout --discard\n",
				kc_last_error(c)[0] ? kc_last_error(c) : kt_strerror(rc));
			return finish(c, rc);
		}
	}
	/* end the session on the server, so the token is worthless */
	int so = kc_sign_out(c, 10000);
	if (so && !ui.quiet)
		fprintf(stderr, PROG ": the server was not reached (%s); the session ends when it expires\n",
			kc_last_error(c)[0] ? kc_last_error(c) : kt_strerror(so));
	if ((rc = kc_logout(c, discard)))
		return finish(c, rc);
	if (!ui.quiet)
		printf("signed out; the cache was wiped\n");
	return 0;
}

static const struct command {
	const char *name;
	int (*fn)(kc_client *c, int argc, char **argv);
	bool network, creates; /* talks to the server / may create DIR */
} commands[] = {
	{"login", cmd_login, true, true},         {"sync", cmd_sync, true, false},
	{"watch", cmd_watch, true, false},        {"ls", cmd_ls, false, false},
	{"show", cmd_show, false, false},         {"status", cmd_status, false, false},
	{"logout", cmd_logout, false, false},     {"client", cmd_client, false, false},
	{"appointment", cmd_appointment, false, false}, {"visit", cmd_visit, false, false},
	{"batch", cmd_batch, false, false},       {"rejections", cmd_rejections, false, false},
};

int main(int argc, char **argv)
{
	const char *dir = getenv("KARTOTEKA_DIR"), *server = NULL, *ca = NULL;
	const struct command *cmd = NULL;
	char err[600], path[PATH_MAX];
	struct stat st;
	kc_client *c;
	int i, rc;

	if (!dir || !*dir)
		dir = "./kartoteka-client-data";
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--dir") && i + 1 < argc)
			dir = argv[++i];
		else if (!strcmp(argv[i], "--server") && i + 1 < argc)
			server = argv[++i];
		else if (!strcmp(argv[i], "--ca") && i + 1 < argc)
			ca = argv[++i];
		else if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q"))
			ui.quiet = true;
		else if (!strcmp(argv[i], "--progress"))
			ui.progress = true;
		else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else {
			return usage_error("unknown option or missing value");
		}
	}
	if (i >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++)
		if (!strcmp(argv[i], commands[k].name))
			cmd = &commands[k];
	if (!cmd)
		return usage_error("unknown command");
	/* --help after a command or subcommand: the usage on stdout, exit 0,
	 * before anything is opened or created */
	for (int k = i + 1; k < argc; k++)
		if (!strcmp(argv[k], "--help") || !strcmp(argv[k], "-h")) {
			usage(stdout);
			return 0;
		}
	/* commands other than login never create an empty cache by accident */
	snprintf(path, sizeof path, "%s/cache.db", dir);
	if (!cmd->creates && stat(path, &st) != 0) {
		if (cmd->fn == cmd_logout)
			return 0; /* nothing to forget */
		return complain("no cache in %s (sign in first: " PROG " login EMAIL)", dir);
	}

	signal(SIGPIPE, SIG_IGN);
	if (!(c = kc_open(dir, err, sizeof err)))
		return complain("%s", err);
	g_client = c;
	set_signals(on_stop_signal);
	rc = 0;
	if (cmd->network && !server) {
		kc_info in;
		const char *env = getenv("KARTOTEKA_SERVER");
		if (env && *env && kc_info_get(c, &in) == KT_OK && !in.server[0])
			server = env;
	}
	if (server && kc_set_server(c, server))
		rc = finish(c, KT_EINVALID);
	/* the CA belongs to the server it was given with */
	if (rc == 0 && (ca || server) && kc_set_ca_file(c, ca))
		rc = finish(c, KT_EINVALID);
	if (rc == 0)
		rc = cmd->fn(c, argc - i - 1, argv + i + 1);
	fflush(stdout);
	g_client = NULL;
	kc_close(c);
	return rc;
}
