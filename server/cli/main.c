/* main.c - the kartoteka-server command line: init, serve, admin, policy.
 * Parses arguments and hands over; holds no logic of its own. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include "kt_util.h"
#include "cli/admin.h"
#include "db/audit.h"
#include "cli/backup.h"
#include "cli/export.h"
#include "cli/import.h"
#include "net/client_addr.h"
#include "db/keyring.h"
#include "cli/init_demo.h"
#include "domain/erasure.h"
#include "domain/link_actions.h"
#include "domain/resolve.h"
#include "domain/retention.h"
#ifdef KT_TEST_SHIMS
#include "testing/faultvfs.h"
#include "testing/powerloss.h"
#endif
#include "db/walbuf.h"
#include "cli/privacy.h"
#include "cli/stats.h"
#include "domain/feedback.h"
#include "cli/setup.h"
#include "domain/messages.h"
#include "domain/portal.h"
#include "server.h"
#include "net/listener.h"
#include "net/web.h"
#include "net/keepalive.h"
#include "net/ops_http.h"
#include "net/tls.h"
#include "net/lifecycle.h"
#include "net/sendpool.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: kartoteka-server COMMAND [options]\n"
		"\n"
		"commands:\n"
		"  init  --db FILE [--demo] [--seed N]   create or upgrade a database; --demo adds a demo\n"
		"                                          salon and prints its sign-ins (TSV)\n"
		"        [--organisations 2]              with --demo: a second, independent salon business too\n"
		"  setup --db FILE [--business NAME ...]  the organisation, its first location and its owner\n"
		"                                          (asks what the flags leave out; see setup --help)\n"
		"  serve --db FILE --listen HOST:PORT     serve devices over WebSocket and the web app over\n"
		"        [--config FILE] [--verbose]      HTTP (port 0 = any free port; the chosen one is printed)\n"
		"        [--web-root DIR]                 serve the web app from DIR (clients/web) instead of\n"
		"                                         the copy built into the binary: edit, reload\n"
		"        [--trusted-proxy ADDR[/PREFIX]]  a TLS proxy in front (repeatable): connections from\n"
		"        [--proxy-header NAME]            it count as the client address in its header\n"
		"                                         (x-forwarded-for, the default, or x-real-ip)\n"
		"        [--log-format text|json]         log lines for people (text) or JSON lines\n"
		"        [--tls-cert FILE --tls-key FILE] TLS (wss:// and https://) with this PEM certificate\n"
		"                                         chain and unencrypted key; SIGHUP reloads both\n"
		"  admin --db FILE SUBCOMMAND ...         server-side edits (see: kartoteka-server admin --db F help)\n"
		"  admin --db FILE portal invite CLIENT [--config FILE]\n"
		"                                         send a client a portal password-setup link\n"
		"  admin --db FILE portal outbox [--limit N] [--json]  outgoing mail and its delivery state\n"
		"  admin --db FILE outbox list|resend ID  messages (e-mail, SMS) and their delivery\n"
		"  audit verify --db FILE                 check the audit log's hash chain\n"
		"  audit show --db FILE --client CLIENT   a client card's change history, local times\n"
		"                                         (CLIENT: id, name or the start of the name)\n"
		"  keys rotate --db FILE                  new master key; every client key is re-wrapped\n"
		"  backup --db FILE --to FILE             online copy of the database (the server may run);\n"
		"         [--keys-to FILE]                --keys-to also copies the keyring, to keep elsewhere\n"
		"  restore --db FILE --from FILE          put a backup in place (server stopped); clients\n"
		"          [--keys-from KEYS]             erased since the backup are erased again; --keys-from\n"
		"                                         also puts a keyring copy (backup --keys-to) in place\n"
		"  import clients --db FILE --location L FILE.csv [--map COL=FIELD ...] [--dry-run]\n"
		"                 [--skip-invalid] [--country CC] [--encoding E] [--date-format DMY|MDY]\n"
		"                                         a client list from other salon software (see:\n"
		"                                         kartoteka-server import --help)\n"
		"  export clients|appointments --db FILE --format csv|json [--location L] [--out FILE]\n"
		"                                         the salon's data to take anywhere (see:\n"
		"                                         kartoteka-server export --help)\n"
		"  stats --db FILE --from DATE --to DATE [--by location|specialist|service] [--group week|month]\n"
		"        [--location L] [--json]          ratings, CSAT, NPS, CES and response rates (see:\n"
		"                                         kartoteka-server stats --help)\n"
		"  policy                                 print the access policy matrix (Markdown)\n"
		"  privacy SUBCOMMAND --db FILE ...       export, erase, pending, erasure-status, retention\n"
		"                                          (see: kartoteka-server privacy help)\n"
		"  help                                   this text\n"
		"\n"
		"every command: --key FILE  the master key file (default: the database path + .key)\n"
		"               --keys FILE the keyring (default: the database path + .keys), e.g. the\n"
		"                           copy made with backup --keys-to, to read that backup\n"
		"\n"
		"config file (serve --config FILE): lines 'key = value', keys: db, listen, key_file,\n"
		"log_level (error, warn, info, debug), log_format (text: lines for people, the default;\n"
		"json: one JSON object a line; under systemd: the journal), retention_months (default 36; privacy retention),\n"
		"changelog_days (90: the change log and stored push answers kept; older cursors get a snapshot),\n"
		"outbox_days (90: sent appointment messages kept, their counts stay; other messages' texts),\n"
		"ping_idle_s (30: ping a device silent this long), idle_timeout_s (120: then close it),\n"
		"trusted_proxy (addresses or ADDR/PREFIX, comma-separated, repeatable), proxy_header,\n"
		"tls_cert, tls_key (PEM files, as --tls-cert and --tls-key), drain_timeout_s (10: at\n"
		"SIGTERM or SIGINT, stop accepting, answer the pushes in flight, close every device with\n"
		"1001, and exit 0 within this many seconds), send_threads (auto: one less than the CPUs,\n"
		"at most 3; 0 to 8: threads that share with the loop the sends of a change to\n"
		"send_threads_min_devices (128) devices or more),\n"
		"metrics_token (a bearer token for GET /metrics, 16-256 characters), metrics_allow\n"
		"(addresses or ADDR/PREFIX, comma-separated, that may read /metrics without it;\n"
		"default: loopback only; none: nobody). /healthz and /readyz need neither.\n"
		"Command-line options win over the file.\n"
		"SIGHUP reads the file again without dropping a connection: log_level, tls_cert and\n"
		"tls_key (the certificate is read again in any case), and the smtp_*, mail_* and sms_*\n"
		"keys change live; other keys that changed are logged as needing a restart.\n"
		"Portal and mail keys: portal_url (the web app's base address; default: this server's\n"
		"own http(s)://HOST:PORT), setup_token_hours (72), smtp_url (none: write .eml\n"
		"files to spool_dir, default DB.spool), smtp_from, smtp_user, smtp_password,\n"
		"mail_retry_seconds (60, doubling), mail_max_attempts (8).\n"
		"SMS keys: sms_url (an HTTP gateway the message is POSTed to as JSON; none: write\n"
		".sms files to spool_dir), sms_auth_header (one header line, e.g. 'Authorization:\n"
		"Bearer KEY'; never logged), sms_body (JSON template with {to} {text} {from} {ref};\n"
		"default {\"to\":\"{to}\",\"text\":\"{text}\",\"from\":\"{from}\"}), sms_from.\n");
}

static int ensure_keys(kt_store *st)
{
	static const char *const names[] = {"cursor_key", "token_key"};
	uint8_t key[32];
	size_t len;
	for (int i = 0; i < 2; i++) {
		if (store_meta_get(st, names[i], key, sizeof key, &len) == KT_OK && len == sizeof key)
			continue;
		randombytes_buf(key, sizeof key);
		if (store_meta_set(st, names[i], key, sizeof key))
			return KT_EIO;
	}
	sodium_memzero(key, sizeof key);
	return KT_OK;
}

static int cmd_init(int argc, char **argv)
{
	const char *db = kt_arg_value(argc, argv, "--db"), *seed_s = kt_arg_value(argc, argv, "--seed"), *msg = NULL;
	const char *orgs_s = kt_arg_value(argc, argv, "--organisations");
	bool demo = kt_arg_flag(argc, argv, "--demo");
	uint64_t seed = 1;
	/* a demo salon's made-up history sets off no messages to its made-up clients */
	store_on_row_written(NULL);
	int norgs = 1;
	kt_store *st = NULL;
	int rc;

	if (!db) {
		fprintf(stderr, "kartoteka-server init: --db FILE is required\n");
		return 2;
	}
	if (seed_s) {
		char *end;
		errno = 0;
		seed = strtoull(seed_s, &end, 10);
		if (errno || *end || end == seed_s) {
			fprintf(stderr, "kartoteka-server init: --seed wants a number\n");
			return 2;
		}
	}
	if (orgs_s) {
		char *end;
		long n = strtol(orgs_s, &end, 10);
		if (!demo || *end || end == orgs_s || n < 1 || n > DEMO_MAX_ORGS) {
			fprintf(stderr, "kartoteka-server init: --organisations wants --demo and a number from 1 to %d\n",
				DEMO_MAX_ORGS);
			return 2;
		}
		norgs = (int)n;
	}
	if ((rc = store_open(db, KT_STORE_CREATE, &st, &msg))) {
		fprintf(stderr, "kartoteka-server init: %s: %s\n", db, msg);
		return 1;
	}
	if (ensure_keys(st)) {
		fprintf(stderr, "kartoteka-server init: cannot store server keys\n");
		store_close(st);
		return 1;
	}
	if (demo) {
		if (store_max_seq(st) > 0) {
			fprintf(stderr, "kartoteka-server init: %s already holds data; --demo wants a new file\n", db);
			store_close(st);
			return 1;
		}
		if ((rc = demo_populate_orgs(st, seed, norgs, stdout))) {
			fprintf(stderr, "kartoteka-server init: demo data failed: %s\n", kt_strerror(rc));
			store_close(st);
			return 1;
		}
	}
	fprintf(stderr, "kartoteka-server: %s ready (schema version %d)\n", db, store_schema_version(st));
	store_close(st);
	return 0;
}

static char *trim(char *s)
{
	char *e;
	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = 0;
	return s;
}

/* What serve's SIGHUP needs from a reading of the file besides the
 * values applied: the text of every key a running server keeps (to tell
 * which changed), and the TLS files (tls.c's own copies are not touched
 * again). */
typedef struct config_text {
	char fixed[8192];   /* "key=value\n" per line of such a key, in file order */
	char tls_cert[4096], tls_key[4096];
} config_text;

/* Keys of modules whose settings a running server keeps: read again at a
 * SIGHUP only to say "needs a restart" when they changed. A new key in the
 * chain below belongs here unless net/lifecycle.c applies it live. */
static bool restart_key(const char *k)
{
	static const char *const keys[] = {"db", "listen", "key_file", "retention_months", "ping_idle_s",
					   "idle_timeout_s", "trusted_proxy", "proxy_header", "drain_timeout_s", "changelog_days", "outbox_days",
					   "send_threads", "send_threads_min_devices",
					   /* monitoring and log format */
					   "metrics_token", "metrics_allow", "log_format"};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (!strcmp(k, keys[i]))
			return true;
	return false;
}

static void text_add(config_text *t, const char *k, const char *v)
{
	size_t n = strlen(t->fixed);
	if (n < sizeof t->fixed)
		snprintf(t->fixed + n, sizeof t->fixed - n, "%s=%s\n", k, v);
}

/* A complaint about the file: on stderr, or into err when reading again */
static int bad_config(char *err, size_t errcap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad_config(char *err, size_t errcap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (err)
		vsnprintf(err, errcap, fmt, ap);
	else {
		fputs("kartoteka-server: ", stderr);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
	va_end(ap);
	return 1;
}

/* Read 'key = value' lines; '#' starts a comment. Values are copied into
 * the static buffers below (one config per process). text (may be NULL)
 * records what serve's SIGHUP compares. again (serve's SIGHUP, on the
 * loop thread): nothing any module runs with is changed; only *level and
 * *portal (the caller's fresh copies) are filled, the rest recorded in
 * text, and a complaint goes to err instead of stderr. */
static int read_config_ex(const char *path, const char **db, const char **listen, int *level, int *retention,
			  kt_portal_config *portal, config_text *text, bool again, char *err, size_t errcap)
{
	static char dbv[4096], listenv[256], keyv[4096];
	char line[4352];
	int lineno = 0;
	FILE *f = fopen(path, "r");
	if (!f)
		return bad_config(err, errcap, "config %s: %s", path, strerror(errno));
	while (fgets(line, sizeof line, f)) {
		char *eq, *k, *v;
		lineno++;
		if ((eq = strchr(line, '#')))
			*eq = 0;
		k = trim(line);
		if (!*k)
			continue;
		if (!(eq = strchr(k, '='))) {
			fclose(f);
			return bad_config(err, errcap, "%s:%d: expected 'key = value'", path, lineno);
		}
		*eq = 0;
		k = trim(k);
		v = trim(eq + 1);
		if (text && restart_key(k))
			text_add(text, k, v);
		if (again && (!strcmp(k, "tls_cert") || !strcmp(k, "tls_key"))) {
			char *dst = k[4] == 'c' ? text->tls_cert : text->tls_key;
			if (!*v || strlen(v) >= sizeof text->tls_cert) {
				fclose(f);
				return bad_config(err, errcap, "%s:%d: %s: a file name (PEM), not empty, under 4096 bytes", path,
						  lineno, k);
			}
			strcpy(dst, v);
		} else if (!strcmp(k, "db") || !strcmp(k, "listen")) {
			if (again)
				continue;
			if (!strcmp(k, "db") && !*db) {
				snprintf(dbv, sizeof dbv, "%s", v);
				*db = dbv;
			} else if (!strcmp(k, "listen") && !*listen) {
				snprintf(listenv, sizeof listenv, "%s", v);
				*listen = listenv;
			}
		} else if (!strcmp(k, "log_level")) {
			static const char *lv[] = {"error", "warn", "info", "debug"};
			int found = -1;
			for (int i = 0; i < 4; i++)
				if (!strcmp(v, lv[i]))
					found = i;
			if (found < 0) {
				fclose(f);
				return bad_config(err, errcap, "%s:%d: log_level is error|warn|info|debug", path, lineno);
			}
			*level = found;
		} else if (!strcmp(k, "key_file")) {
			if (!keyv[0] && !again) { /* --key on the command line wins */
				snprintf(keyv, sizeof keyv, "%s", v);
				keyring_set_key_file(keyv);
			}
		} else if (!strcmp(k, "retention_months")) {
			int m;
			if (!kt_parse_int(v, 1, 1200, &m)) {
				fclose(f);
				return bad_config(err, errcap, "%s:%d: retention_months is 1 to 1200", path, lineno);
			}
			if (!again)
				*retention = m;
		} else {
			/* portal and mail keys */
			const char *why = NULL;
			int prc = 1;
			if (again && restart_key(k))
				continue; /* recorded above; its module keeps the running value */
			if (!again)
				prc = keepalive_config_set(k, v, &why); /* ping_idle_s, idle_timeout_s */
			if (prc == 1 && !again) /* trusted_proxy, proxy_header */
				prc = client_addr_config_set(k, v, &why);
			if (prc == 1 && !again) /* metrics_token, metrics_allow */
				prc = ops_http_config_set(k, v, &why);
			if (prc == 1 && !again) /* tls_cert, tls_key */
				prc = tls_config_set(k, v, &why);
			if (prc == 1 && !again) /* drain_timeout_s */
				prc = lifecycle_config_set(k, v, &why);
			if (prc == 1 && !again) /* changelog_days, outbox_days */
				prc = retention_config_set(k, v, &why);
			if (prc == 1 && !again) /* send_threads, send_threads_min_devices */
				prc = sendpool_config_set(k, v, &why);
			if (prc == 1)
				prc = portal_config_set(portal, k, v, &why);
			if (prc == 1) /* log_format */
				prc = kt_log_config_set(k, v, &why);
			if (prc == 0)
				continue;
			fclose(f);
			if (prc < 0)
				return bad_config(err, errcap, "%s:%d: %s: %s", path, lineno, k, why);
			return bad_config(err, errcap, "%s:%d: unknown key '%s'", path, lineno, k);
		}
	}
	fclose(f);
	return 0;
}

static int read_config(const char *path, const char **db, const char **listen, int *level, int *retention,
		       kt_portal_config *portal)
{
	return read_config_ex(path, db, listen, level, retention, portal, NULL, false, NULL, 0);
}

/* serve's config as it started, for SIGHUP (serve_reload) */
static struct {
	const char *path, *db_path;
	int cli_level;                 /* --verbose's, when the file says nothing */
	const char *cli_cert, *cli_key; /* --tls-cert, --tls-key: they win over the file */
	config_text start;
} serve_conf;

/* The values of key in a config_text's lines, joined */
static void values_of(const char *fixed, const char *key, char *out, size_t cap)
{
	size_t kl = strlen(key), n = 0;
	out[0] = 0;
	for (const char *l = fixed; *l;) {
		const char *nl = strchr(l, '\n');
		size_t len = nl ? (size_t)(nl - l) : strlen(l);
		if (len > kl && !strncmp(l, key, kl) && l[kl] == '=' && n < cap)
			n += (size_t)snprintf(out + n, cap - n, "%.*s\n", (int)(len - kl - 1), l + kl + 1);
		l += len + (nl ? 1 : 0);
	}
}

/* Keys of a restart_key kind whose values differ between a and b */
static void changed_keys(const char *a, const char *b, char *out, size_t cap)
{
	char va[4400], vb[4400];
	const char *texts[2] = {a, b};
	out[0] = 0;
	for (int t = 0; t < 2; t++)
		for (const char *l = texts[t]; *l;) {
			const char *eq = strchr(l, '='), *nl = strchr(l, '\n');
			char key[64];
			if (!eq || !nl)
				break;
			snprintf(key, sizeof key, "%.*s", (int)(eq - l), l);
			l = nl + 1;
			values_of(a, key, va, sizeof va);
			values_of(b, key, vb, sizeof vb);
			char pat[70];
			snprintf(pat, sizeof pat, "%s, ", key);
			if (strcmp(va, vb) && !strstr(out, pat)) {
				size_t n = strlen(out);
				snprintf(out + n, cap - n, "%s, ", key);
			}
		}
	size_t n = strlen(out);
	if (n >= 2)
		out[n - 2] = 0;
}

/* kt_serve_opts.reload: the file again, nothing applied (net/lifecycle.c
 * applies what it can). Loop thread. */
static int serve_reload(kt_reload *r, char *why, size_t cap)
{
	config_text *now = calloc(1, sizeof *now);
	const char *db = serve_conf.db_path, *listen = NULL;
	int level = serve_conf.cli_level, retention = 0, rc = 1;
	if (!now) {
		snprintf(why, cap, "out of memory");
		return 1;
	}
	portal_config_defaults(&r->portal);
	if (read_config_ex(serve_conf.path, &db, &listen, &level, &retention, &r->portal, now, true, why, cap))
		goto out;
	portal_config_finish(&r->portal, serve_conf.db_path);
	r->log_level = level;
	snprintf(r->tls_cert, sizeof r->tls_cert, "%s", serve_conf.cli_cert ? serve_conf.cli_cert : now->tls_cert);
	snprintf(r->tls_key, sizeof r->tls_key, "%s", serve_conf.cli_key ? serve_conf.cli_key : now->tls_key);
	if (!r->tls_cert[0] != !r->tls_key[0]) {
		snprintf(why, cap, "%s: tls_cert and tls_key go together (both or neither)", serve_conf.path);
		goto out;
	}
	changed_keys(serve_conf.start.fixed, now->fixed, r->restart, sizeof r->restart);
	rc = 0;
out:
	free(now);
	return rc;
}

static int cmd_serve(int argc, char **argv)
{
	kt_serve_opts o = {0};
	static kt_portal_config portal;
	const char *config = kt_arg_value(argc, argv, "--config");
	int retention = KT_RETENTION_MONTHS_DEFAULT;
	o.db_path = kt_arg_value(argc, argv, "--db");
	o.listen = kt_arg_value(argc, argv, "--listen");
	o.log_level = kt_arg_flag(argc, argv, "--verbose") ? KT_LOG_DEBUG : KT_LOG_INFO;
	portal_config_defaults(&portal);
	serve_conf.cli_level = o.log_level;
	if (config && read_config_ex(config, &o.db_path, &o.listen, &o.log_level, &retention, &portal,
				     &serve_conf.start, false, NULL, 0))
		return 2;
	/* --log-format text|json wins over the file's log_format */
	const char *lf = kt_arg_value(argc, argv, "--log-format");
	if (lf && kt_log_config_set("log_format", lf, &(const char *){NULL})) {
		fprintf(stderr, "kartoteka-server serve: --log-format %s: log_format is text or json\n", lf);
		return 2;
	}
	/* --trusted-proxy ADDR[/PREFIX] (repeatable; added to the file's) and
	 * --proxy-header NAME (wins over the file's) */
	for (int i = 0; i < argc - 1; i++) {
		const char *why = NULL;
		if ((!strcmp(argv[i], "--trusted-proxy") && client_addr_trust(argv[i + 1], &why)) ||
		    (!strcmp(argv[i], "--proxy-header") && client_addr_config_set("proxy_header", argv[i + 1], &why))) {
			fprintf(stderr, "kartoteka-server serve: %s %s: %s\n", argv[i], argv[i + 1], why);
			return 2;
		}
	}
	if (keepalive_config_check()) {
		fprintf(stderr, "kartoteka-server: config %s: %s\n", config, keepalive_config_check());
		return 2;
	}
	if (!o.db_path) {
		fprintf(stderr, "kartoteka-server serve: --db FILE is required\n");
		return 2;
	}
	/* TLS: both files or neither; the command line wins over the file */
	o.tls_cert = serve_conf.cli_cert = kt_arg_value(argc, argv, "--tls-cert");
	o.tls_key = serve_conf.cli_key = kt_arg_value(argc, argv, "--tls-key");
	if (!o.tls_cert)
		o.tls_cert = tls_config_cert();
	if (!o.tls_key)
		o.tls_key = tls_config_key();
	if (!o.tls_cert != !o.tls_key) {
		fprintf(stderr,
			"kartoteka-server serve: %s FILE is missing: TLS needs both --tls-cert and --tls-key (or tls_cert "
			"and tls_key in the config file)\n",
			o.tls_cert ? "--tls-key" : "--tls-cert");
		return 2;
	}
	portal_config_finish(&portal, o.db_path);
	erasure_set_spool_dir(portal.spool_dir); /* an erasure deletes the client's spooled mail */
	/* SMS are planned only when a gateway is configured (sms_url) */
	messages_configure(portal.portal_url, portal.sms_url[0] != 0);
	o.portal = &portal;
	if (!o.listen)
		o.listen = "127.0.0.1:8080";
	if ((o.web_root = kt_arg_value(argc, argv, "--web-root"))) {
		const char *why = web_root_check(o.web_root);
		if (why) {
			fprintf(stderr, "kartoteka-server serve: --web-root %s: %s\n", o.web_root, why);
			return 2;
		}
	}
	kt_log_set_level(o.log_level);
	if (config) { /* SIGHUP reads it again (net/lifecycle.c) */
		serve_conf.path = config;
		serve_conf.db_path = o.db_path;
		o.reload = serve_reload;
	}
#ifdef KT_TEST_SHIMS
	/* kartoteka-server-faults only: a VFS that fails writes on purpose, when KT_FAULT asks for it */
	if (faultvfs_install_from_env())
		return 2;
	/* kartoteka-server-faults only: undo logs of unsynced writes, when KT_POWERLOSS_DIR asks for them */
	if (powerloss_install_from_env())
		return 2;
#endif
	/* after both: the push writer's WAL buffer wraps them, so they still see every write and sync */
	if (walbuf_register()) {
		fprintf(stderr, "kartoteka-server: cannot register the SQLite VFS %s\n", WALBUF_VFS_NAME);
		return 2;
	}
	return server_run(&o);
}

/* audit verify --db FILE | audit show --db FILE --client ID */
static int cmd_audit(int argc, char **argv)
{
	const char *db = kt_arg_value(argc, argv, "--db"), *client = kt_arg_value(argc, argv, "--client"), *msg = NULL;
	kt_store *st = NULL;
	int rc;
	bool verify = argc > 0 && !strcmp(argv[0], "verify"), show = argc > 0 && !strcmp(argv[0], "show");

	if (!db || (!verify && !show) || (show && !client)) {
		fprintf(stderr, "usage: kartoteka-server audit verify --db FILE\n"
				"       kartoteka-server audit show --db FILE --client CLIENT   (id or name)\n");
		return 2;
	}
	if (store_open(db, KT_STORE_READONLY, &st, &msg)) {
		fprintf(stderr, "kartoteka-server audit: %s: %s\n", db, msg);
		return 1;
	}
	if (verify)
		rc = audit_verify(st, stdout);
	else {
		char id[KT_UUID_LEN + 1], err[RESOLVE_ERR], org[KT_UUID_LEN + 1], zone[RESOLVE_ZONE] = "";
		/* an erased client's card is gone, but its history is still asked
		 * for by id: an id that names no card is taken as given */
		if (kt_uuid_valid(client, strlen(client)))
			snprintf(id, sizeof id, "%s", client);
		else if ((rc = resolve_id(st, RESOLVE_CLIENT, NULL, "--client", client, id, err, sizeof err))) {
			fprintf(stderr, "kartoteka-server audit: %s\n", err);
			store_close(st);
			return rc == KT_EIO ? 1 : 2;
		}
		/* entries about no location: the client's organisation's first one */
		if (resolve_org_of(st, "client", id, org) == KT_OK)
			resolve_org_zone(st, org, zone);
		else
			resolve_org_zone(st, NULL, zone);
		rc = audit_show_client(st, id, zone, stdout);
	}
	store_close(st);
	return rc ? 1 : 0;
}

/* keys rotate --db FILE */
static int cmd_keys(int argc, char **argv)
{
	const char *db = kt_arg_value(argc, argv, "--db");
	if (!db || argc < 1 || strcmp(argv[0], "rotate")) {
		fprintf(stderr, "usage: kartoteka-server keys rotate --db FILE [--key FILE]\n");
		return 2;
	}
	return keyring_rotate(db, stdout) ? 1 : 0;
}

/* privacy SUBCOMMAND --db FILE [--config FILE] ... (cli/privacy.c) */
static int cmd_privacy(int argc, char **argv)
{
	const char *config = kt_arg_value(argc, argv, "--config"), *db = kt_arg_value(argc, argv, "--db"), *listen = "";
	int retention = KT_RETENTION_MONTHS_DEFAULT, level = kt_log_level;
	static kt_portal_config portal; /* the same file serves; its portal keys are not used here */
	if (argc > 0 && (!strcmp(argv[0], "help") || !strcmp(argv[0], "--help"))) {
		privacy_usage(stdout);
		return 0;
	}
	portal_config_defaults(&portal);
	if (config && read_config(config, &db, &listen, &level, &retention, &portal))
		return 2;
	if (db) {
		portal_config_finish(&portal, db);
		erasure_set_spool_dir(portal.spool_dir);
	}
	return privacy_main(db, retention, argc, argv);
}

static bool is_command(const char *cmd)
{
	static const char *const known[] = {"init", "setup", "serve", "admin", "audit", "keys", "backup",
					    "restore", "privacy", "policy", "help", "import", "export", "stats"};
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (!strcmp(cmd, known[i]))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "help";
	/* before SQLite initialises: no memory statistics, so its allocations
	 * take no global mutex (a pushed edit makes a few hundred of them) */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	store_on_email_change(portal_email_changed); /* every command that writes follows the portal's rule */
	store_on_row_written(messages_on_row_written); /* and plans the messages its writes set off */
	if (sodium_init() < 0) {
		fprintf(stderr, "kartoteka-server: libsodium failed to initialise\n");
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	umask(077); /* the database, its WAL and anything we create hold personal data */
	/* --key FILE and --keys FILE work with every command: take them out here */
	for (int i = 2; i < argc - 1; i++)
		if (!strcmp(argv[i], "--key") || !strcmp(argv[i], "--keys")) {
			if (argv[i][5])
				keyring_set_keys_file(argv[i + 1]);
			else
				keyring_set_key_file(argv[i + 1]);
			memmove(&argv[i], &argv[i + 2], (size_t)(argc - i - 2 + 1) * sizeof *argv);
			argc -= 2;
			i--;
		}
	/* --help (or -h) after any command or subcommand: that command's usage
	 * on stdout, exit 0, nothing opened or created */
	for (int i = 2; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			if (!strcmp(cmd, "admin") && i > 4 && !strcmp(argv[4], "message"))
				admin_message_usage(stdout); /* admin --db F message ... --help */
			else if (!strcmp(cmd, "admin"))
				admin_usage_print(stdout);
			else if (!strcmp(cmd, "privacy"))
				privacy_usage(stdout);
			else if (!strcmp(cmd, "import"))
				import_usage(stdout);
			else if (!strcmp(cmd, "export"))
				export_usage(stdout);
			else if (!strcmp(cmd, "stats"))
				stats_usage(stdout);
			else if (!strcmp(cmd, "setup"))
				setup_usage(stdout);
			else if (is_command(cmd))
				usage(stdout);
			else
				break; /* an unknown command stays an error */
			return 0;
		}
	/* the kinds of one-purpose links this server answers (link_actions.h);
	 * other modules add theirs here, before anything serves */
	if (link_actions_register_builtin() || feedback_links_register()) {
		fprintf(stderr, "kartoteka-server: cannot install the link kinds\n");
		return 1;
	}
	if (!strcmp(cmd, "init"))
		return cmd_init(argc - 2, argv + 2);
	if (!strcmp(cmd, "setup") || !strcmp(cmd, "admin")) {
		/* mail settings (portal_url, smtp_*) for the links these queue:
		 * --config FILE is taken out here, like --key */
		static kt_portal_config portal;
		const char *config = NULL, *db = NULL, *listen = NULL;
		int level = KT_LOG_INFO, retention = KT_RETENTION_MONTHS_DEFAULT;
		for (int i = 2; i < argc - 1; i++)
			if (!strcmp(argv[i], "--config") && !(argc > 4 && !strcmp(argv[4], "portal"))) {
				config = argv[i + 1];
				memmove(&argv[i], &argv[i + 2], (size_t)(argc - i - 2 + 1) * sizeof *argv);
				argc -= 2;
				break;
			}
		for (int i = 2; i < argc - 1; i++)
			if (!strcmp(argv[i], "--db"))
				db = argv[i + 1];
		portal_config_defaults(&portal);
		if (config && read_config(config, &db, &listen, &level, &retention, &portal))
			return 2;
		portal_config_finish(&portal, db);
		admin_set_portal_config(&portal);
		/* links in what the commands' writes plan; SMS only with a gateway */
		messages_configure(portal.portal_url, portal.sms_url[0] != 0);
		if (!strcmp(cmd, "setup"))
			return setup_main(&portal, argc - 2, argv + 2);
	}
	if (!strcmp(cmd, "serve"))
		return cmd_serve(argc - 2, argv + 2);
	if (!strcmp(cmd, "admin")) {
		/* admin --db FILE sub ... */
		if (argc < 4 || strcmp(argv[2], "--db") != 0) {
			fprintf(stderr, "usage: kartoteka-server admin --db FILE SUBCOMMAND ...\n");
			return 2;
		}
		if (argc > 4 && !strcmp(argv[4], "portal")) { /* portal accounts */
			static kt_portal_config portal;
			const char *config = kt_arg_value(argc - 5, argv + 5, "--config"), *db = argv[3], *listen = NULL;
			int level = KT_LOG_INFO, retention = KT_RETENTION_MONTHS_DEFAULT;
			portal_config_defaults(&portal);
			if (config && read_config(config, &db, &listen, &level, &retention, &portal))
				return 2;
			portal_config_finish(&portal, argv[3]);
			return portal_admin_main(argv[3], &portal, argc - 5, argv + 5);
		}
		return admin_main(argv[3], argc - 4, argv + 4);
	}
	if (!strcmp(cmd, "audit"))
		return cmd_audit(argc - 2, argv + 2);
	if (!strcmp(cmd, "keys"))
		return cmd_keys(argc - 2, argv + 2);
	if (!strcmp(cmd, "backup"))
		return backup_main(kt_arg_value(argc, argv, "--db"), kt_arg_value(argc, argv, "--to"), kt_arg_value(argc, argv, "--keys-to"));
	if (!strcmp(cmd, "restore"))
		return restore_main(kt_arg_value(argc, argv, "--db"), kt_arg_value(argc, argv, "--from"),
				    kt_arg_value(argc, argv, "--keys-from"));
	if (!strcmp(cmd, "privacy"))
		return cmd_privacy(argc - 2, argv + 2);
	if (!strcmp(cmd, "import"))
		return import_main(argc - 2, argv + 2);
	if (!strcmp(cmd, "export"))
		return export_main(argc - 2, argv + 2);
	if (!strcmp(cmd, "stats"))
		return stats_main(argc - 2, argv + 2);
	if (!strcmp(cmd, "policy")) {
		policy_print_markdown(stdout);
		return 0;
	}
	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "kartoteka-server: unknown command '%s'\n\n", cmd);
	usage(stderr);
	return 2;
}
