/* portal.c - see portal.h. Setup tokens: 32 random bytes, sent only in the
 * mail; the table holds a keyed BLAKE2b hash. A client has at most one
 * usable token: issuing a new one marks the older ones replaced. All SQL
 * of setup_token lives here; client rows are read and written through the
 * store (their personal columns become ciphertext). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>
#include "db/audit.h"
#include "domain/mail.h"
#include "domain/outbox.h"
#include "domain/policy.h"
#include "domain/portal.h"
#include "domain/resolve.h"
#include "domain/revoke.h"
#include "db/validate.h"
#include "kt_text.h"

void portal_config_defaults(kt_portal_config *c)
{
	memset(c, 0, sizeof *c);
	/* portal_url stays empty: links then point at the address serve recorded (portal_base_url) */
	c->setup_token_hours = 72;
	snprintf(c->smtp_from, sizeof c->smtp_from, "kartoteka@localhost");
	c->mail_retry_s = 60;
	c->mail_max_attempts = 8;
	c->email_hold_days = 14;
	snprintf(c->sms_body, sizeof c->sms_body, "%s", KT_SMS_BODY_DEFAULT);
}

static int set_str(char *dst, size_t cap, const char *v, const char **why)
{
	if (strlen(v) >= cap || strpbrk(v, "\r\n")) {
		*why = "value too long";
		return -1;
	}
	snprintf(dst, cap, "%s", v);
	return 0;
}

/* Older configs named the setup page itself (".../setup"): the base is
 * what comes before it. Trailing slashes go too, as links add "/setup". */
static void portal_url_trim(char *u)
{
	size_t n = strlen(u);
	while (n > 0 && u[n - 1] == '/')
		u[--n] = 0;
	if (n >= 6 && !strcmp(u + n - 6, "/setup"))
		u[n -= 6] = 0;
	while (n > 0 && u[n - 1] == '/')
		u[--n] = 0;
}

int portal_base_url(kt_store *st, const kt_portal_config *cfg, char *out, size_t cap)
{
	size_t len = 0;
	if (cfg && cfg->portal_url[0]) {
		snprintf(out, cap, "%s", cfg->portal_url);
		return KT_OK;
	}
	if (cap < 2 || store_meta_get(st, KT_META_PORTAL_URL, out, cap - 1, &len) || !len)
		return KT_ENOT_FOUND;
	out[len] = 0;
	return KT_OK;
}

int portal_record_url(kt_store *st, const kt_portal_config *cfg, bool tls, const char *host, int port)
{
	char own[1100], name[256];
	const char *base = cfg && cfg->portal_url[0] ? cfg->portal_url : own;
	/* a wildcard listen address is no place to send a browser: the machine's name is */
	if (!*host || !strcmp(host, "0.0.0.0") || !strcmp(host, "::")) {
		if (gethostname(name, sizeof name - 1))
			snprintf(name, sizeof name, "localhost");
		name[sizeof name - 1] = 0;
		host = name;
	}
	snprintf(own, sizeof own, strchr(host, ':') ? "%s://[%s]:%d" : "%s://%s:%d", tls ? "https" : "http", host,
		 port);
	return store_meta_set(st, KT_META_PORTAL_URL, base, strlen(base));
}

static int set_num(double *dst, const char *v, double min, double max, const char **why)
{
	char *end;
	double d = strtod(v, &end);
	if (end == v || *end || !(d >= min && d <= max)) {
		*why = "expected a positive number";
		return -1;
	}
	*dst = d;
	return 0;
}

int portal_config_set(kt_portal_config *c, const char *k, const char *v, const char **why)
{
	if (!strcmp(k, "portal_url")) {
		if (!*v) { /* empty: unset, the address serve records */
			c->portal_url[0] = 0;
			return 0;
		}
		if (strncmp(v, "http://", 7) && strncmp(v, "https://", 8)) {
			*why = "portal_url starts with https:// or http://";
			return -1;
		}
		if (strpbrk(v, "?# ")) {
			*why = "portal_url is the web app's base address, without '?', '#' or spaces";
			return -1;
		}
		if (set_str(c->portal_url, sizeof c->portal_url, v, why))
			return -1;
		portal_url_trim(c->portal_url);
		return 0;
	}
	if (!strcmp(k, "setup_token_hours"))
		return set_num(&c->setup_token_hours, v, 1e-6, 24 * 365, why);
	if (!strcmp(k, "smtp_url")) {
		if (*v && strncmp(v, "smtp://", 7) && strncmp(v, "smtps://", 8)) {
			*why = "smtp_url starts with smtp:// or smtps://";
			return -1;
		}
		return set_str(c->smtp_url, sizeof c->smtp_url, v, why);
	}
	if (!strcmp(k, "smtp_from")) {
		if (!strchr(v, '@')) {
			*why = "smtp_from is an e-mail address";
			return -1;
		}
		return set_str(c->smtp_from, sizeof c->smtp_from, v, why);
	}
	if (!strcmp(k, "smtp_user"))
		return set_str(c->smtp_user, sizeof c->smtp_user, v, why);
	if (!strcmp(k, "smtp_password"))
		return set_str(c->smtp_password, sizeof c->smtp_password, v, why);
	if (!strcmp(k, "spool_dir"))
		return set_str(c->spool_dir, sizeof c->spool_dir, v, why);
	if (!strcmp(k, "email_change_hold_days"))
		return set_num(&c->email_hold_days, v, 0, 3650, why);
	if (!strcmp(k, "mail_retry_seconds"))
		return set_num(&c->mail_retry_s, v, 1e-3, 86400, why);
	if (!strcmp(k, "sms_url")) {
		if (*v && strncmp(v, "http://", 7) && strncmp(v, "https://", 8)) {
			*why = "sms_url starts with https:// or http://";
			return -1;
		}
		return set_str(c->sms_url, sizeof c->sms_url, v, why);
	}
	if (!strcmp(k, "sms_auth_header")) {
		const char *colon = strchr(v, ':');
		if (*v && (!colon || colon == v || strcspn(v, " \t") < (size_t)(colon - v))) {
			*why = "sms_auth_header is one header line 'Name: value', e.g. 'Authorization: Bearer KEY'";
			return -1;
		}
		return set_str(c->sms_auth_header, sizeof c->sms_auth_header, v, why);
	}
	if (!strcmp(k, "sms_body")) {
		if (!strstr(v, "{to}") || !strstr(v, "{text}")) {
			*why = "sms_body is a JSON template with {to} and {text} (and optionally {from}, {ref})";
			return -1;
		}
		return set_str(c->sms_body, sizeof c->sms_body, v, why);
	}
	if (!strcmp(k, "sms_from"))
		return set_str(c->sms_from, sizeof c->sms_from, v, why);
	if (!strcmp(k, "mail_max_attempts")) {
		double d;
		if (set_num(&d, v, 1, 100, why) || d != (int)d) {
			*why = "mail_max_attempts is a whole number 1..100";
			return -1;
		}
		c->mail_max_attempts = (int)d;
		return 0;
	}
	return 1;
}

void portal_config_finish(kt_portal_config *c, const char *db_path)
{
	if (!c->spool_dir[0] && db_path)
		snprintf(c->spool_dir, sizeof c->spool_dir, "%s.spool", db_path);
}

/* ---- who may send a link ---- */

static const char *row_text(const kt_row *r, const char *col)
{
	int i = kt_col_index(r->t, col);
	return i >= 0 && !r->v[i].null && r->v[i].s ? r->v[i].s : NULL;
}

int portal_may_invite(kt_store *st, const kt_principal *by, const char *client_id)
{
	kt_row row = {0};
	int rc;
	if (!by)
		return KT_OK;
	if (!policy_may(by, KT_ACT_PORTAL_INVITE))
		return KT_EDENIED;
	if ((rc = store_row_load(st, kt_table_find("client", 6), client_id, &row)))
		return rc;
	if (strcmp(row.org, by->org))
		rc = KT_ENOT_FOUND;
	else if (policy_may_on(by, KT_ACT_PORTAL_INVITE, &(kt_target){client_id, KT_ROLE_CLIENT, row.locs}))
		rc = KT_OK;
	else
		rc = KT_EDENIED;
	kt_row_free(&row);
	return rc;
}

/* ---- issuing a link ---- */

static int exec_text(kt_store *st, const char *sql, const char *a, int64_t b)
{
	sqlite3_stmt *q = store_prepare(st, sql);
	int rc;
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, a, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, b);
	rc = sqlite3_step(q) == SQLITE_DONE ? KT_OK : KT_EIO;
	store_finish(st, q);
	return rc;
}

/* The mail text. Plain, short, with the one link in it. */
static char *mail_body(const char *base, kt_setup_kind kind, const char *name, const char *salon,
		       const char *token_hex, const char *until)
{
	char *out = NULL;
	int n = kind == KT_SETUP_INVITE
			? asprintf(&out,
				   "Hello %s,\n\n%s invites you to its client portal, where you can see your "
				   "appointments and visits.\n\nChoose your password here:\n%s/setup#token=%s\n\n"
				   "The link works once, until %s.\nIf you did not expect this e-mail, you can "
				   "ignore it.\n",
				   name, salon, base, token_hex, until)
			: asprintf(&out,
				   "Hello %s,\n\nsomeone (we hope you) asked to reset your password for the client "
				   "portal of %s.\n\nChoose a new password here:\n%s/setup#token=%s\n\n"
				   "The link works once, until %s.\nIf you did not ask for this, ignore this "
				   "e-mail: your password stays as it is.\n",
				   name, salon, base, token_hex, until);
	return n < 0 ? NULL : out;
}

static int load_row(kt_store *st, const char *tbl, const char *id, kt_row *row)
{
	return store_row_load(st, kt_table_find(tbl, strlen(tbl)), id, row);
}

/* A link's token, its hex form and the mail that carries it leave no copy
 * in memory once the link is issued. */
static void forget_link(uint8_t tok[KT_SETUP_TOKEN_BYTES], char hex[2 * KT_SETUP_TOKEN_BYTES + 1], char *body)
{
	sodium_memzero(tok, KT_SETUP_TOKEN_BYTES);
	sodium_memzero(hex, 2 * KT_SETUP_TOKEN_BYTES + 1);
	if (body) {
		sodium_memzero(body, strlen(body));
		free(body);
	}
}

/* A link's token (its keyed hash) for client_id, good until exp, for one
 * purpose (KT_TOKEN_SETUP or KT_TOKEN_CONFIRM). */
int portal_token_insert(kt_store *st, const uint8_t th[32], const char *client_id, const char *org, int64_t now,
			int64_t exp, const char *purpose)
{
	sqlite3_stmt *q = store_prepare(st, "INSERT INTO setup_token(token_hash, client_id, org_id, created_at, "
					    "expires_at, purpose) VALUES(?1, ?2, ?3, ?4, ?5, ?6)");
	if (!q)
		return KT_EIO;
	sqlite3_bind_blob(q, 1, th, 32, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, client_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, org, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, now);
	sqlite3_bind_int64(q, 5, exp);
	sqlite3_bind_text(q, 6, purpose, -1, SQLITE_STATIC);
	int rc = sqlite3_step(q) == SQLITE_DONE ? KT_OK : KT_EIO;
	store_finish(st, q);
	return rc;
}


int portal_issue(kt_store *st, const kt_portal_config *cfg, const uint8_t token_key[32], const char *client_id,
		 kt_setup_kind kind, int64_t *expires_at, int64_t *mail_id)
{
	kt_row client = {0}, org = {0};
	uint8_t tok[KT_SETUP_TOKEN_BYTES], th[32];
	char hex[2 * KT_SETUP_TOKEN_BYTES + 1], owner[KT_UUID_LEN + 1], after[96];
	char *body = NULL;
	const char *email, *name, *salon;
	bool is_staff = false, tx = false;
	int64_t now = kt_now_ms(), exp = now + (int64_t)(cfg->setup_token_hours * 3600.0 * 1000.0);
	int rc;

	if ((rc = load_row(st, "client", client_id, &client)))
		goto out;
	email = row_text(&client, "email");
	name = row_text(&client, "name");
	if (!email || !*email) {
		rc = KT_ENO_EMAIL;
		goto out;
	}
	if (!validate_mail_address(email)) {
		rc = KT_EINVALID; /* e.g. two addresses in one field: fix the card first */
		goto out;
	}
	rc = store_portal_email_owner(st, email, &is_staff, owner);
	if (rc == KT_OK && (is_staff || strcmp(owner, client_id))) {
		rc = KT_ECONFLICT; /* the unique portal e-mail would refuse the password later */
		goto out;
	}
	if (rc != KT_OK && rc != KT_ENOT_FOUND)
		goto out;
	if ((rc = load_row(st, "organisation", client.org, &org)))
		goto out;
	salon = row_text(&org, "name");

	randombytes_buf(tok, sizeof tok);
	kt_hex(hex, tok, sizeof tok);
	crypto_generichash(th, sizeof th, tok, sizeof tok, token_key, 32);
	char until[80], base[sizeof cfg->portal_url];
	if ((rc = portal_base_url(st, cfg, base, sizeof base)))
		goto out;
	resolve_time_text(st, client.org, exp, until, sizeof until);
	if (!(body = mail_body(base, kind, name ? name : "", salon ? salon : "your salon", hex, until))) {
		rc = KT_ENOMEM;
		goto out;
	}
	if ((rc = store_begin(st)))
		goto out;
	tx = true;
	if ((rc = exec_text(st, "UPDATE setup_token SET replaced_at = ?2 WHERE client_id = ?1 AND used_at IS NULL "
				"AND replaced_at IS NULL AND purpose = 'setup'", client_id, now)))
		goto out;
	if ((rc = outbox_drop_client(st, client_id, "portal_setup", NULL)))
		goto out;
	if ((rc = portal_token_insert(st, th, client_id, client.org, now, exp, KT_TOKEN_SETUP)))
		goto out;
	if ((rc = outbox_enqueue(st, client.org, client_id, "portal_setup", email,
				 kind == KT_SETUP_INVITE ? "Your client portal: choose a password"
							 : "Your client portal: reset your password",
				 body, mail_id)))
		goto out;
	snprintf(after, sizeof after, "{\"expires_at\":%lld}", (long long)exp);
	{
		kt_audit_entry e = {client.org, kind == KT_SETUP_INVITE ? "portal_invite" : "portal_reset_link",
				    "client", client_id, client_id, NULL, NULL, NULL, after};
		rc = audit_append(st, &e);
	}
out:
	if (tx) {
		if (rc)
			store_rollback(st);
		else
			rc = store_commit(st);
	}
	if (!rc && expires_at)
		*expires_at = exp;
	forget_link(tok, hex, body);
	kt_row_free(&client);
	kt_row_free(&org);
	return rc;
}

int portal_tokens_replace(kt_store *st, const char *person, const char *purpose)
{
	sqlite3_stmt *q = store_prepare(st, "UPDATE setup_token SET replaced_at = ?3 WHERE client_id = ?1 AND "
					    "purpose = ?2 AND used_at IS NULL AND replaced_at IS NULL");
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, person, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, purpose, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, kt_now_ms());
	int rc = sqlite3_step(q) == SQLITE_DONE ? KT_OK : KT_EIO;
	store_finish(st, q);
	return rc;
}

int portal_forgot_target(kt_store *st, const char *email, char id[KT_UUID_LEN + 1])
{
	char ids[8][KT_UUID_LEN + 1];
	bool is_staff = false;
	int n = 0, found = 0;
	int rc = store_portal_email_owner(st, email, &is_staff, id);
	if (rc == KT_OK)
		return is_staff ? KT_ENOT_FOUND : KT_OK;
	if (rc != KT_ENOT_FOUND)
		return rc;
	if ((rc = store_clients_by_email(st, email, ids, 8, &n)))
		return rc;
	sqlite3_stmt *q = store_prepare(st, "SELECT EXISTS(SELECT 1 FROM setup_token WHERE client_id = ?1)");
	if (!q)
		return KT_EIO;
	for (int i = 0; i < n; i++) {
		sqlite3_reset(q);
		sqlite3_bind_text(q, 1, ids[i], -1, SQLITE_STATIC);
		if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_int(q, 0)) {
			if (found++)
				break; /* two invited clients share it: whose password is meant is unclear */
			memcpy(id, ids[i], KT_UUID_LEN + 1);
		}
	}
	store_finish(st, q);
	return found == 1 ? KT_OK : KT_ENOT_FOUND;
}

/* ---- a client's e-mail changes ---- */

static int finish_tx(kt_store *st, int rc)
{
	if (rc) {
		store_rollback(st);
		return rc;
	}
	return store_commit(st);
}


static bool same_address(const char *a, const char *b)
{
	if (!a || !b)
		return !a && !b;
	return strcasecmp(a, b) == 0;
}

/* The notice to the old address: what happened, that nothing else changes
 * until the new address is confirmed, and how to object. */
static char *notice_body(const char *name, const char *salon, const char *when)
{
	char *out = NULL;
	if (asprintf(&out,
		     "Hello %s,\n\nthe e-mail address of your client portal account at %s was changed on %s.\n\n"
		     "Your account is paused: nobody can sign in to it until the new address is confirmed "
		     "from a link sent to it, together with your password. Until then nothing else changes.\n\n"
		     "If you did not ask for this change, do not confirm anything and tell %s: the salon can "
		     "put your own address back, and your account then works again as before.\n",
		     name, salon, when, salon) < 0)
		return NULL;
	return out;
}

int portal_email_changed(kt_store *st, const char *org, const char *client_id, const char *old_email,
			 const char *new_email)
{
	kt_row org_row = {0};
	char old_hash[65] = "", prev_hash[65] = "", *body = NULL;
	bool account = false, was_suspended = false, had_row = false;
	int64_t now = kt_now_ms();
	sqlite3_stmt *q;
	int rc = KT_OK;

	if (same_address(old_email, new_email))
		return KT_OK;
	if (!(q = store_prepare(st, "SELECT portal_enabled = 1 AND password_hash IS NOT NULL FROM client WHERE id = ?1")))
		return KT_EIO;
	sqlite3_bind_text(q, 1, client_id, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW)
		account = sqlite3_column_int(q, 0) != 0;
	store_finish(st, q);
	if (!(q = store_prepare(st, "SELECT suspended, old_email_hash FROM email_change WHERE client_id = ?1")))
		return KT_EIO;
	sqlite3_bind_text(q, 1, client_id, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW) {
		had_row = true;
		was_suspended = sqlite3_column_int(q, 0) != 0;
		if (sqlite3_column_type(q, 1) == SQLITE_TEXT)
			snprintf(prev_hash, sizeof prev_hash, "%s", (const char *)sqlite3_column_text(q, 1));
	}
	store_finish(st, q);
	(void)had_row;
	/* while suspended, the address the account really signed in with stays
	 * the one a sign-in is recognised by */
	if (was_suspended)
		memcpy(old_hash, prev_hash, sizeof old_hash);
	else if (account && old_email && (rc = store_email_hash(st, old_email, old_hash)))
		return rc;
	bool suspend = account || was_suspended;
	if (!(q = store_prepare(st, "INSERT INTO email_change(client_id, org_id, changed_at, old_email_hash, suspended, "
				    "confirm_queued_at, confirmed_at) VALUES(?1, ?2, ?3, ?4, ?5, NULL, NULL) "
				    "ON CONFLICT(client_id) DO UPDATE SET changed_at = excluded.changed_at, "
				    "old_email_hash = excluded.old_email_hash, suspended = excluded.suspended, "
				    "confirm_queued_at = NULL, confirmed_at = NULL")))
		return KT_EIO;
	sqlite3_bind_text(q, 1, client_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, org, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, now);
	if (old_hash[0])
		sqlite3_bind_text(q, 4, old_hash, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(q, 4);
	sqlite3_bind_int(q, 5, suspend);
	rc = sqlite3_step(q) == SQLITE_DONE ? KT_OK : KT_EIO;
	store_finish(st, q);
	/* links already mailed went to the old address: none of them may
	 * set a password or confirm anything any more */
	if (!rc)
		rc = exec_text(st, "UPDATE setup_token SET replaced_at = ?2 WHERE client_id = ?1 AND used_at IS NULL "
				   "AND replaced_at IS NULL", client_id, now);
	if (!rc)
		rc = outbox_drop_client(st, client_id, "portal_setup", NULL);
	if (!rc)
		rc = outbox_drop_client(st, client_id, "portal_confirm", NULL);
	if (rc || !suspend)
		goto out;
	if ((rc = revoke_principal_sessions(st, client_id, NULL, 0)))
		goto out;
	if (old_email && validate_mail_address(old_email)) {
		kt_row client = {0};
		const char *salon, *name = NULL;
		if ((rc = load_row(st, "organisation", org, &org_row)))
			goto out;
		salon = row_text(&org_row, "name");
		if (store_row_load(st, kt_table_find("client", 6), client_id, &client) == KT_OK)
			name = row_text(&client, "name");
		char when[80];
		resolve_time_text(st, org, now, when, sizeof when);
		body = notice_body(name ? name : "", salon ? salon : "your salon", when);
		kt_row_free(&client);
		if (!body) {
			rc = KT_ENOMEM;
			goto out;
		}
		if ((rc = outbox_enqueue(st, org, client_id, "portal_email_changed", old_email,
					 "Your client portal: your e-mail address was changed", body, NULL)))
			goto out;
	}
	{
		kt_audit_entry e = {org, "portal_suspended", "client", client_id, client_id, NULL, NULL, NULL,
				    "{\"reason\":\"email_changed\"}"};
		rc = audit_append(st, &e);
	}
out:
	if (body) {
		sodium_memzero(body, strlen(body));
		free(body);
	}
	kt_row_free(&org_row);
	return rc;
}

static char *confirm_body(const char *base, const char *name, const char *salon, const char *token_hex,
			  const char *until)
{
	char *out = NULL;
	if (asprintf(&out,
		     "Hello %s,\n\nthis address was entered as your e-mail address at %s. Your client portal "
		     "account is paused until you confirm it: open this link and enter your current portal "
		     "password:\n%s/confirm-email#token=%s\n\nThe link works once, until %s.\nIf this is not your "
		     "account, ignore this e-mail.\n",
		     name, salon, base, token_hex, until) < 0)
		return NULL;
	return out;
}

/* One suspended account's confirmation link, in its own transaction. */
static int plan_one(kt_store *st, const kt_portal_config *cfg, const uint8_t key[32], const char *client_id)
{
	kt_row client = {0}, org = {0};
	uint8_t tok[KT_SETUP_TOKEN_BYTES], th[32];
	char hex[2 * KT_SETUP_TOKEN_BYTES + 1], *body = NULL;
	const char *email, *salon, *name;
	int64_t now = kt_now_ms(), exp = now + (int64_t)(cfg->setup_token_hours * 3600.0 * 1000.0);
	int rc = store_begin(st);

	if (rc)
		return rc;
	if ((rc = load_row(st, "client", client_id, &client)))
		goto out;
	email = row_text(&client, "email");
	name = row_text(&client, "name");
	if (email && validate_mail_address(email)) {
		if ((rc = load_row(st, "organisation", client.org, &org)))
			goto out;
		salon = row_text(&org, "name");
		randombytes_buf(tok, sizeof tok);
		kt_hex(hex, tok, sizeof tok);
		crypto_generichash(th, sizeof th, tok, sizeof tok, key, 32);
		char until[80], base[sizeof cfg->portal_url];
		if ((rc = portal_base_url(st, cfg, base, sizeof base)))
			goto out;
		resolve_time_text(st, client.org, exp, until, sizeof until);
		if (!(body = confirm_body(base, name ? name : "", salon ? salon : "your salon", hex, until))) {
			rc = KT_ENOMEM;
			goto out;
		}
		rc = portal_token_insert(st, th, client_id, client.org, now, exp, KT_TOKEN_CONFIRM);
		if (!rc)
			rc = outbox_enqueue(st, client.org, client_id, "portal_confirm", email,
					    "Your client portal: confirm your new e-mail address", body, NULL);
	}
	/* without a usable address there is nothing to send: the account
	 * stays suspended until staff enter one (a new change, a new plan) */
	if (!rc)
		rc = exec_text(st, "UPDATE email_change SET confirm_queued_at = ?2 WHERE client_id = ?1", client_id, now);
out:
	rc = finish_tx(st, rc);
	forget_link(tok, hex, body);
	kt_row_free(&client);
	kt_row_free(&org);
	return rc;
}

int portal_plan_confirmations(kt_store *st, const kt_portal_config *cfg)
{
	char ids[16][KT_UUID_LEN + 1];
	uint8_t key[32];
	size_t klen = 0;
	int n = 0, done = 0, rc;
	sqlite3_stmt *q = store_prepare(st, "SELECT client_id FROM email_change WHERE suspended = 1 "
					    "AND confirm_queued_at IS NULL LIMIT 16");
	if (!q)
		return -KT_EIO;
	while (n < 16 && sqlite3_step(q) == SQLITE_ROW)
		snprintf(ids[n++], KT_UUID_LEN + 1, "%s", (const char *)sqlite3_column_text(q, 0));
	store_finish(st, q);
	if (!n)
		return 0;
	if (store_meta_get(st, "token_key", key, sizeof key, &klen) || klen != sizeof key)
		return -KT_EIO;
	store_set_actor(st, "system", NULL, NULL, 0);
	for (int i = 0; i < n; i++) {
		if ((rc = plan_one(st, cfg, key, ids[i]))) {
			kt_log_code(KT_LOG_WARN, rc, "portal: confirmation link not queued: %s", kt_strerror(rc));
			break;
		}
		done++;
	}
	sodium_memzero(key, sizeof key);
	return done;
}

int portal_email_hold(kt_store *st, const kt_portal_config *cfg, const char *client_id, int64_t now,
		      int64_t *changed_at)
{
	sqlite3_stmt *q = store_prepare(st, "SELECT changed_at, suspended FROM email_change WHERE client_id = ?1");
	int rc = KT_OK;
	if (changed_at)
		*changed_at = 0;
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, client_id, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW) {
		int64_t at = sqlite3_column_int64(q, 0);
		if (changed_at)
			*changed_at = at;
		if (sqlite3_column_int(q, 1) || now - at < (int64_t)(cfg->email_hold_days * 86400.0 * 1000.0))
			rc = KT_EEMAIL_RECENT;
	}
	store_finish(st, q);
	return rc;
}

bool portal_suspended(kt_store *st, const char *client_id)
{
	sqlite3_stmt *q = store_prepare(st, "SELECT suspended FROM email_change WHERE client_id = ?1");
	bool yes = false;
	if (!q)
		return true; /* fails closed */
	sqlite3_bind_text(q, 1, client_id, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW)
		yes = sqlite3_column_int(q, 0) != 0;
	store_finish(st, q);
	return yes;
}

/* In the caller's transaction: the account works again. how: "confirmed"
 * (the client's link and password) or "setup_link" (a link that only an
 * owner, manager or the operator could send). */
static int lift_suspension(kt_store *st, const char *org, const char *client, const char *how)
{
	char after[64];
	int rc = exec_text(st, "UPDATE email_change SET suspended = 0, confirmed_at = ?2 WHERE client_id = ?1 "
			       "AND suspended = 1", client, kt_now_ms());
	if (rc || !sqlite3_changes(store_db(st)))
		return rc;
	if ((rc = exec_text(st, "UPDATE setup_token SET replaced_at = ?2 WHERE client_id = ?1 AND used_at IS NULL "
				"AND replaced_at IS NULL AND purpose = 'confirm_email'", client, kt_now_ms())))
		return rc;
	snprintf(after, sizeof after, "{\"how\":\"%s\"}", how);
	kt_audit_entry e = {org, "portal_resumed", "client", client, client, NULL, NULL, NULL, after};
	return audit_append(st, &e);
}

/* ---- using a link ---- */

int portal_token_check(kt_store *st, const uint8_t hash[32], const char *purpose, int64_t now,
		       char client[KT_UUID_LEN + 1], char org[KT_UUID_LEN + 1])
{
	/* a confirmation link never sets a password, nor the other way round */
	sqlite3_stmt *q = store_prepare(st, "SELECT client_id, org_id, expires_at, used_at IS NOT NULL, "
					    "replaced_at IS NOT NULL FROM setup_token WHERE token_hash = ?1 "
					    "AND purpose = ?2");
	int rc;
	if (!q)
		return KT_EIO;
	sqlite3_bind_blob(q, 1, hash, 32, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, purpose, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		snprintf(client, KT_UUID_LEN + 1, "%s", (const char *)sqlite3_column_text(q, 0));
		snprintf(org, KT_UUID_LEN + 1, "%s", (const char *)sqlite3_column_text(q, 1));
		if (sqlite3_column_int(q, 3))
			rc = KT_ETOKEN_USED;
		else if (sqlite3_column_int(q, 4))
			rc = KT_ETOKEN_REPLACED;
		else if (sqlite3_column_int64(q, 2) <= now)
			rc = KT_ETOKEN_EXPIRED;
		else
			rc = KT_OK;
	} else
		rc = rc == SQLITE_DONE ? KT_ETOKEN_INVALID : KT_EIO;
	store_finish(st, q);
	return rc;
}

/* A link is used once: mark it, inside the transaction that acts on it. */
int portal_token_use(kt_store *st, const uint8_t hash[32])
{
	sqlite3_stmt *q = store_prepare(st, "UPDATE setup_token SET used_at = ?2 WHERE token_hash = ?1");
	if (!q)
		return KT_EIO;
	sqlite3_bind_blob(q, 1, hash, 32, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, kt_now_ms());
	int rc = sqlite3_step(q) == SQLITE_DONE ? KT_OK : KT_EIO;
	store_finish(st, q);
	return rc;
}

int portal_apply_setup(kt_store *st, const uint8_t hash[32], const char *pw_hash, const char *device,
		       char client[KT_UUID_LEN + 1])
{
	char org[KT_UUID_LEN + 1];
	kt_field f[2] = {{"password_hash", pw_hash}, {"portal_enabled", "1"}};
	int rc = store_begin(st);
	if (rc)
		return rc;
	/* checked again inside the write transaction: two tabs racing with
	 * one link, or a new link sent meanwhile */
	if ((rc = portal_token_check(st, hash, KT_TOKEN_SETUP, kt_now_ms(), client, org)))
		return finish_tx(st, rc);
	rc = portal_token_use(st, hash);
	store_set_actor(st, "client", client, device, 0);
	if (!rc)
		rc = store_update(st, "client", client, f, 2, NULL);
	/* a clash with another portal e-mail comes back from the update as KT_ECONFLICT */
	if (!rc)
		rc = revoke_principal_sessions(st, client, NULL, 0);
	if (!rc) {
		kt_audit_entry e = {org, "portal_password_set", "client", client, client, NULL, NULL, NULL, NULL};
		rc = audit_append(st, &e);
	}
	/* while an address is held, setup links come only from owners,
	 * managers or the operator (portal_email_hold): using one vouches for
	 * the address as the client's confirmation would */
	if (!rc)
		rc = lift_suspension(st, org, client, "setup_link");
	rc = finish_tx(st, rc);
	store_set_actor(st, "system", NULL, NULL, 0);
	return rc;
}

int portal_apply_confirm(kt_store *st, const uint8_t hash[32], const char *device, char client[KT_UUID_LEN + 1])
{
	char org[KT_UUID_LEN + 1];
	int rc = store_begin(st);
	if (rc)
		return rc;
	if ((rc = portal_token_check(st, hash, KT_TOKEN_CONFIRM, kt_now_ms(), client, org)))
		return finish_tx(st, rc);
	rc = portal_token_use(st, hash);
	store_set_actor(st, "client", client, device, 0);
	if (!rc)
		rc = lift_suspension(st, org, client, "confirmed");
	rc = finish_tx(st, rc);
	store_set_actor(st, "system", NULL, NULL, 0);
	return rc;
}

int portal_password_hash_get(kt_store *st, bool is_client, const char *id, char **hash)
{
	sqlite3_stmt *q = store_prepare(st, is_client ? "SELECT password_hash FROM client WHERE id = ?1"
						      : "SELECT password_hash FROM staff WHERE id = ?1");
	int rc;
	*hash = NULL;
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL) {
		*hash = strdup((const char *)sqlite3_column_text(q, 0));
		rc = *hash ? KT_OK : KT_ENOMEM;
	} else
		rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? KT_ENOT_FOUND : KT_EIO;
	store_finish(st, q);
	return rc;
}

int portal_apply_change(kt_store *st, bool is_client, const char *id, const char *org, const char *pw_hash,
			const char *device, const uint8_t keep_hash[32])
{
	kt_field f = {"password_hash", pw_hash};
	int rc = store_begin(st);
	if (rc)
		return rc;
	store_set_actor(st, is_client ? "client" : "staff", id, device, 0);
	rc = store_update(st, is_client ? "client" : "staff", id, &f, 1, NULL);
	if (!rc)
		rc = revoke_principal_sessions(st, id, keep_hash, 32);
	if (!rc) {
		kt_audit_entry e = {org, "password_changed", is_client ? "client" : "staff", id, is_client ? id : NULL,
				    NULL, NULL, NULL, NULL};
		rc = audit_append(st, &e);
	}
	rc = finish_tx(st, rc);
	store_set_actor(st, "system", NULL, NULL, 0);
	return rc;
}
