/* portal.c - see portal.h. Setup tokens: 32 random bytes, sent only in the
 * mail; the table holds a keyed BLAKE2b hash. A client has at most one
 * usable token: issuing a new one marks the older ones replaced. All SQL
 * of setup_token lives here; client rows are read and written through the
 * store (their personal columns become ciphertext). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>
#include "audit.h"
#include "mail.h"
#include "outbox.h"
#include "policy.h"
#include "portal.h"
#include "revoke.h"

void portal_config_defaults(kt_portal_config *c)
{
	memset(c, 0, sizeof *c);
	snprintf(c->portal_url, sizeof c->portal_url, "https://portal.example/setup");
	c->setup_token_hours = 72;
	snprintf(c->smtp_from, sizeof c->smtp_from, "kartoteka@localhost");
	c->mail_retry_s = 60;
	c->mail_max_attempts = 8;
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
	if (!strcmp(k, "portal_url"))
		return set_str(c->portal_url, sizeof c->portal_url, v, why);
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
	if (!strcmp(k, "mail_retry_seconds"))
		return set_num(&c->mail_retry_s, v, 1e-3, 86400, why);
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
	if (by->is_client || (by->role != KT_ROLE_OWNER && by->role != KT_ROLE_MANAGER && by->role != KT_ROLE_RECEPTION))
		return KT_EDENIED;
	if ((rc = store_row_load(st, kt_table_find("client", 6), client_id, &row)))
		return rc;
	if (strcmp(row.org, by->org))
		rc = KT_ENOT_FOUND;
	else if (by->role == KT_ROLE_OWNER || kt_locset_meets(by->locs ? by->locs : "", row.locs ? row.locs : ""))
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

static void utc_text(int64_t ms, char *out, size_t cap)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, cap, "%Y-%m-%d %H:%M UTC", &tm);
}

/* The mail text. Plain, short, with the one link in it. */
static char *mail_body(const kt_portal_config *cfg, kt_setup_kind kind, const char *name, const char *salon,
		       const char *token_hex, int64_t expires_at)
{
	char until[64], *out = NULL;
	const char *sep = strchr(cfg->portal_url, '?') ? "&" : "?";
	utc_text(expires_at, until, sizeof until);
	int n = kind == KT_SETUP_INVITE
			? asprintf(&out,
				   "Hello %s,\n\n%s invites you to its client portal, where you can see your "
				   "appointments and visits.\n\nChoose your password here:\n%s%stoken=%s\n\n"
				   "The link works once, until %s.\nIf you did not expect this e-mail, you can "
				   "ignore it.\n",
				   name, salon, cfg->portal_url, sep, token_hex, until)
			: asprintf(&out,
				   "Hello %s,\n\nsomeone (we hope you) asked to reset your password for the client "
				   "portal of %s.\n\nChoose a new password here:\n%s%stoken=%s\n\n"
				   "The link works once, until %s.\nIf you did not ask for this, ignore this "
				   "e-mail: your password stays as it is.\n",
				   name, salon, cfg->portal_url, sep, token_hex, until);
	return n < 0 ? NULL : out;
}

static int load_row(kt_store *st, const char *tbl, const char *id, kt_row *row)
{
	return store_row_load(st, kt_table_find(tbl, strlen(tbl)), id, row);
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
	sqlite3_stmt *q;
	int rc;

	if ((rc = load_row(st, "client", client_id, &client)))
		goto out;
	email = row_text(&client, "email");
	name = row_text(&client, "name");
	if (!email || !*email) {
		rc = KT_ENO_EMAIL;
		goto out;
	}
	if (!mail_address_ok(email)) {
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
	if (!(body = mail_body(cfg, kind, name ? name : "", salon ? salon : "your salon", hex, exp))) {
		rc = KT_ENOMEM;
		goto out;
	}
	if ((rc = store_begin(st)))
		goto out;
	tx = true;
	if ((rc = exec_text(st, "UPDATE setup_token SET replaced_at = ?2 WHERE client_id = ?1 AND used_at IS NULL "
				"AND replaced_at IS NULL", client_id, now)))
		goto out;
	if ((rc = outbox_drop_client(st, client_id, "portal_setup", NULL)))
		goto out;
	if (!(q = store_prepare(st, "INSERT INTO setup_token(token_hash, client_id, org_id, created_at, expires_at) "
				    "VALUES(?1, ?2, ?3, ?4, ?5)"))) {
		rc = KT_EIO;
		goto out;
	}
	sqlite3_bind_blob(q, 1, th, sizeof th, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, client_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, client.org, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, now);
	sqlite3_bind_int64(q, 5, exp);
	rc = sqlite3_step(q) == SQLITE_DONE ? KT_OK : KT_EIO;
	store_finish(st, q);
	if (rc)
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
	sodium_memzero(tok, sizeof tok);
	sodium_memzero(hex, sizeof hex);
	if (body) {
		sodium_memzero(body, strlen(body));
		free(body);
	}
	kt_row_free(&client);
	kt_row_free(&org);
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

/* ---- using a link ---- */

int portal_token_check(kt_store *st, const uint8_t hash[32], int64_t now, char client[KT_UUID_LEN + 1],
		       char org[KT_UUID_LEN + 1])
{
	sqlite3_stmt *q = store_prepare(st, "SELECT client_id, org_id, expires_at, used_at IS NOT NULL, "
					    "replaced_at IS NOT NULL FROM setup_token WHERE token_hash = ?1");
	int rc;
	if (!q)
		return KT_EIO;
	sqlite3_bind_blob(q, 1, hash, 32, SQLITE_STATIC);
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

static int finish_tx(kt_store *st, int rc)
{
	if (rc) {
		store_rollback(st);
		return rc;
	}
	return store_commit(st);
}

int portal_apply_setup(kt_store *st, const uint8_t hash[32], const char *pw_hash, const char *device,
		       char client[KT_UUID_LEN + 1])
{
	char org[KT_UUID_LEN + 1];
	kt_field f[2] = {{"password_hash", pw_hash}, {"portal_enabled", "1"}};
	sqlite3_stmt *q;
	int rc = store_begin(st);
	if (rc)
		return rc;
	/* checked again inside the write transaction: two tabs racing with
	 * one link, or a new link sent meanwhile */
	if ((rc = portal_token_check(st, hash, kt_now_ms(), client, org)))
		return finish_tx(st, rc);
	if (!(q = store_prepare(st, "UPDATE setup_token SET used_at = ?2 WHERE token_hash = ?1")))
		return finish_tx(st, KT_EIO);
	sqlite3_bind_blob(q, 1, hash, 32, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, kt_now_ms());
	rc = sqlite3_step(q) == SQLITE_DONE ? KT_OK : KT_EIO;
	store_finish(st, q);
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
