/* setup.c - `kartoteka-server setup --db FILE`: a salon from zero. Asks
 * for what the flags did not give (when stdin is a terminal), creates the
 * organisation, its first location and the owner (domain/org.c), and then
 * either sets the owner's password typed without echo (or read from stdin
 * with --password-stdin) or queues a setup link by mail (domain/staff.c).
 * A database that holds an organisation already is left as it is. The
 * password never comes from argv. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>
#include "kt_limits.h"
#include "cli/args.h"
#include "cli/say.h"
#include "kt_text.h"
#include "cli/setup.h"
#include "domain/org.h"
#include "domain/password.h"
#include "domain/resolve.h"
#include "domain/staff.h"

enum { F_DB, F_BUSINESS, F_COUNTRY, F_CURRENCY, F_LANGUAGE, F_LOCATION, F_ADDRESS, F_PHONE, F_TZ, F_OWNER,
       F_EMAIL, F_COUNT };

static const struct {
	const char *flag, *prompt, *example;
	bool optional;
} fields[F_COUNT] = {
	{"--db", NULL, NULL, false},
	{"--business", "Business name", "Studio Lepota d.o.o.", false},
	{"--country", "Country (ISO 3166 code)", "SI", false},
	{"--currency", "Currency (ISO 4217 code)", "EUR", false},
	{"--language", "Default language (ISO 639 code)", "sl", false},
	{"--location", "First location's name", "Maribor", false},
	{"--address", "Its address (may be empty)", "Glavni trg 1, 2000 Maribor", true},
	{"--phone", "Its phone (may be empty)", "+386 2 123 45 67", true},
	{"--time-zone", "Its time zone (IANA)", "Europe/Ljubljana", false},
	{"--owner-name", "Owner's name", "Ana Novak", false},
	{"--owner-email", "Owner's e-mail", "ana@lepota.si", false},
};

void setup_usage(FILE *f)
{
	fprintf(f, "usage: kartoteka-server setup --db FILE [--business NAME] [--country CC] [--currency CUR]\n"
		   "         [--language LANG] [--location NAME] [--address TEXT] [--phone TEXT]\n"
		   "         [--time-zone ZONE] [--owner-name NAME] [--owner-email ADDRESS]\n"
		   "         [--password-stdin] [--config FILE]\n"
		   "Creates the organisation, its first location and the owner in a database made by\n"
		   "`init` (without --demo). What the flags leave out is asked for when stdin is a\n"
		   "terminal. The owner's password: typed at the prompt (not shown), read from stdin\n"
		   "with --password-stdin, or else chosen through a link mailed to the owner (the\n"
		   "server sends it; portal_url and smtp_* in the --config file; without portal_url the\n"
		   "link points at the address `serve` recorded, and before any serve ran setup says so\n"
		   "and changes nothing). It also writes a starting privacy notice for the owner to\n"
		   "edit (admin org privacy-notice). On a database that is set up already, nothing\n"
		   "changes (exit 1).\n"
		   "CC: ISO 3166 alpha-2 (SI, AT, DE, PL, FI); CUR: ISO 4217 (EUR, PLN, CHF);\n"
		   "LANG: ISO 639 (sl, en, de, pl, fi); ZONE: IANA (Europe/Ljubljana)\n"
		   "exit status: 0 done, 1 failed or set up already, 2 usage\n");
}

#define usage_error(...) cli_say("setup", 2, setup_usage, __VA_ARGS__)

/* One line from stdin without its newline; NULL at end of input. */
static char *read_line(char *buf, size_t cap)
{
	if (!fgets(buf, (int)cap, stdin))
		return NULL;
	buf[strcspn(buf, "\r\n")] = 0;
	return buf;
}

/* Ask until the check passes (interactive only). */
static char *ask(int i, char *buf, size_t cap, int (*check)(const char *, char *, size_t))
{
	char err[256];
	for (;;) {
		printf("%s [e.g. %s]: ", fields[i].prompt, fields[i].example);
		fflush(stdout);
		if (!read_line(buf, cap))
			return NULL;
		if (!buf[0] && !fields[i].optional) {
			printf("  this one is needed\n");
			continue;
		}
		if (buf[0] && check && check(buf, err, sizeof err)) {
			printf("  %s\n", err);
			continue;
		}
		return buf;
	}
}

/* The password at the terminal, twice, not echoed. */
static int ask_password(char *pw, size_t cap)
{
	struct termios old, quiet;
	char again[KT_MAX_PASSWORD + 2];
	int rc;
	if (tcgetattr(STDIN_FILENO, &old))
		return -1;
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	for (;;) {
		/* echo off before the prompt shows: what is typed once it shows is never echoed, nor flushed */
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
		printf("Owner's password (not shown; empty: mail a link to choose it): ");
		fflush(stdout);
		char *got = read_line(pw, cap);
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		printf("\n");
		if (!got)
			return -1;
		if (!pw[0])
			return 0;
		if ((rc = password_check(pw, strlen(pw)))) {
			printf("  %s\n", password_rule_text(rc));
			continue;
		}
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
		printf("Again: ");
		fflush(stdout);
		got = read_line(again, sizeof again);
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		printf("\n");
		bool same = got && !strcmp(again, pw);
		sodium_memzero(again, sizeof again);
		if (same)
			return 1;
		printf("  the two did not match; again\n");
	}
}

static int check_tz(const char *s, char *e, size_t n) { return org_check_time_zone(s, e, n); }
static int check_cc(const char *s, char *e, size_t n) { return org_check_country(s, e, n); }
static int check_cur(const char *s, char *e, size_t n) { return org_check_currency(s, e, n); }
static int check_lang(const char *s, char *e, size_t n) { return org_check_language(s, e, n); }
static int check_mail(const char *s, char *e, size_t n) { return org_check_email(s, e, n); }

int setup_main(const kt_portal_config *cfg, int argc, char **argv)
{
	static char answers[F_COUNT][256];
	const char *v[F_COUNT] = {0};
	char pw[KT_MAX_PASSWORD + 2] = "", err[256] = "", org[KT_UUID_LEN + 1];
	bool pw_stdin = false, tty = isatty(STDIN_FILENO);
	int (*checks[F_COUNT])(const char *, char *, size_t) = {
		[F_COUNTRY] = check_cc, [F_CURRENCY] = check_cur, [F_LANGUAGE] = check_lang,
		[F_TZ] = check_tz, [F_EMAIL] = check_mail};
	kt_store *st = NULL;
	const char *msg = NULL;
	int have_pw = 0, rc;

	cli_opt opt[F_COUNT + 1];
	const char *pos[1];
	int npos;
	for (int f = 0; f < F_COUNT; f++)
		opt[f] = (cli_opt){fields[f].flag};
	opt[F_COUNT] = (cli_opt){"--password-stdin", true};
	if ((rc = cli_args("setup", setup_usage, argc, argv, opt, F_COUNT + 1, pos, 0, &npos)))
		return rc;
	for (int f = 0; f < F_COUNT; f++)
		v[f] = opt[f].value;
	pw_stdin = opt[F_COUNT].seen;
	if (!v[F_DB])
		return usage_error("%s", "--db FILE is required");
	if (store_open(v[F_DB], 0, &st, &msg)) {
		fprintf(stderr, "kartoteka-server setup: %s: %s (make it with kartoteka-server init --db FILE)\n",
			v[F_DB], msg ? msg : "cannot open");
		return 1;
	}
	/* before asking anything: a set-up database stays as it is */
	if ((rc = resolve_org_arg(st, "--org", NULL, org, err, sizeof err)) != KT_ENOT_FOUND) {
		if (!rc || rc == KT_ECONFLICT)
			fprintf(stderr, "kartoteka-server setup: %s is set up already; nothing was changed\n", v[F_DB]);
		else
			fprintf(stderr, "kartoteka-server setup: %s\n", err);
		store_close(st);
		return 1;
	}
	for (int i = 1; i < F_COUNT; i++) {
		if (v[i]) {
			if (checks[i] && (rc = checks[i](v[i], err, sizeof err))) {
				store_close(st);
				return usage_error("%s", err);
			}
			continue;
		}
		if (!tty) {
			if (fields[i].optional)
				continue;
			store_close(st);
			return usage_error("%s is required (stdin is not a terminal to ask at)", fields[i].flag);
		}
		if (!(v[i] = ask(i, answers[i], sizeof answers[i], checks[i]))) {
			store_close(st);
			fprintf(stderr, "kartoteka-server setup: input ended; nothing was changed\n");
			return 1;
		}
		if (!v[i][0])
			v[i] = NULL;
	}
	if (pw_stdin) {
		if (!read_line(pw, sizeof pw) || !pw[0]) {
			store_close(st);
			return usage_error("%s", "--password-stdin: no password on stdin");
		}
		if ((rc = password_check(pw, strlen(pw)))) {
			sodium_memzero(pw, sizeof pw);
			store_close(st);
			fprintf(stderr, "kartoteka-server setup: password: %s; nothing was changed\n", password_rule_text(rc));
			return 1;
		}
		have_pw = 1;
	} else if (tty && (have_pw = ask_password(pw, sizeof pw)) < 0) {
		store_close(st);
		fprintf(stderr, "kartoteka-server setup: input ended; nothing was changed\n");
		return 1;
	}

	/* the owner's link needs an address to point at: say so before anything is made */
	char base[sizeof cfg->portal_url];
	if (!have_pw && portal_base_url(st, cfg, base, sizeof base)) {
		store_close(st);
		fprintf(stderr, "kartoteka-server setup: %s (or give the owner's password with --password-stdin); "
				"nothing was changed\n", KT_PORTAL_NO_URL);
		return 1;
	}

	kt_setup_args a = {v[F_BUSINESS], v[F_COUNTRY], v[F_CURRENCY], v[F_LANGUAGE],
			   {v[F_LOCATION], v[F_ADDRESS], v[F_PHONE], v[F_TZ]}, v[F_OWNER], v[F_EMAIL]};
	kt_setup_ids ids;
	store_set_actor(st, "operator", NULL, NULL, 0);
	if ((rc = org_setup(st, &a, &ids, err, sizeof err))) {
		sodium_memzero(pw, sizeof pw);
		store_close(st);
		fprintf(stderr, "kartoteka-server setup: %s\n", err);
		return rc == KT_EINVALID ? 2 : 1;
	}
	printf("created organisation %s (%s, %s, %s)\n", a.business, a.country, a.currency, a.language);
	printf("created location %s (%s)\n", a.location.name, a.location.time_zone);
	printf("created owner %s <%s>\n", a.owner_name, a.owner_email);
	if (have_pw) {
		char h[crypto_pwhash_STRBYTES];
		rc = crypto_pwhash_str(h, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
				       crypto_pwhash_MEMLIMIT_INTERACTIVE)
			     ? KT_ENOMEM
			     : staff_set_password(st, ids.owner, h);
		sodium_memzero(h, sizeof h);
		sodium_memzero(pw, sizeof pw);
		if (rc) {
			fprintf(stderr, "kartoteka-server setup: the password was not saved (%s); send a link with: "
					"kartoteka-server admin --db %s staff reset-password %s\n",
				kt_strerror(rc), v[F_DB], a.owner_email);
			store_close(st);
			return 1;
		}
		printf("set the owner's password; sign in as %s\n", a.owner_email);
	} else {
		uint8_t key[32];
		size_t klen = 0;
		int64_t exp = 0;
		char until[64] = "";
		if (store_meta_get(st, "token_key", key, sizeof key, &klen) || klen != sizeof key)
			rc = KT_EIO;
		else
			rc = staff_send_link(st, NULL, cfg, key, ids.owner, KT_SETUP_INVITE, &exp, err, sizeof err);
		sodium_memzero(key, sizeof key);
		if (rc) {
			fprintf(stderr, "kartoteka-server setup: the setup link was not queued: %s\n",
				err[0] ? err : kt_strerror(rc));
			store_close(st);
			return 1;
		}
		kt_text_time(a.location.time_zone, exp, until); /* local at the first location */
		printf("queued a setup link for %s (valid until %s); the server mails it when it runs\n", a.owner_email,
		       until);
	}
	store_close(st);
	return 0;
}
