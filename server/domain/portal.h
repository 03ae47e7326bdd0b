/* portal.h - client portal accounts (proto/PROTOCOL.md §10):
 * password-setup links (single-use, short-lived, stored as a keyed hash, sent through the
 * outbox), the configuration of the portal and of outgoing mail, and the
 * pieces the protocol handlers (handle_portal.c) and the admin command
 * (admin_portal.c) share. Never logs tokens, passwords, e-mail addresses
 * or mail bodies. */
#ifndef KT_PORTAL_H
#define KT_PORTAL_H

#include <stdbool.h>
#include <stdint.h>
#include "db/store.h"

/* The gateway's JSON when the config gives no sms_body. */
#define KT_SMS_BODY_DEFAULT "{\"to\":\"{to}\",\"text\":\"{text}\",\"from\":\"{from}\"}"

/* Serve config keys (main.c reads the file, portal_config_set applies). */
typedef struct kt_portal_config {
	char portal_url[1024];   /* portal_url: the web app's base address ("" = the one serve recorded);
				    links are this + "/setup#token=" + token; a trailing "/setup" is cut */
	double setup_token_hours;/* setup_token_hours: link lifetime (default 72; fractions allowed) */
	char smtp_url[512];      /* smtp_url: e.g. smtp://127.0.0.1:2525; "" = write to spool_dir */
	char smtp_from[256];     /* smtp_from: envelope and From: address */
	char smtp_user[256];     /* smtp_user / smtp_password: optional; never logged */
	char smtp_password[256];
	char spool_dir[4096];    /* spool_dir: .eml files when no smtp_url (default <db>.spool) */
	double mail_retry_s;     /* mail_retry_seconds: first retry delay, doubling (default 60) */
	int mail_max_attempts;   /* mail_max_attempts: then the message is 'failed' (default 8) */
	double email_hold_days;  /* email_change_hold_days: after a client's e-mail changes, only owners
				    and managers send setup links to it for this long (default 14) */
	/* SMS through an HTTP gateway (domain/sms.h); "" sms_url = write .sms files to spool_dir */
	char sms_url[1024];      /* sms_url: http(s):// address the JSON is POSTed to */
	char sms_auth_header[1024]; /* sms_auth_header: one header line, e.g. "Authorization: Bearer ..."; never logged */
	char sms_body[2048];     /* sms_body: JSON template with {to} {text} {from} {ref} (JSON-escaped in) */
	char sms_from[64];       /* sms_from: sender name or number ({from}) */
} kt_portal_config;

void portal_config_defaults(kt_portal_config *c);
/* Apply one key of the serve config. 0 = applied, 1 = not a portal key,
 * -1 = a bad value (*why says what is expected). */
int portal_config_set(kt_portal_config *c, const char *key, const char *value, const char **why);
/* Fill what depends on the database path (spool_dir). */
void portal_config_finish(kt_portal_config *c, const char *db_path);

/* The web app's base address that links start with: cfg->portal_url when
 * configured, else the one `serve` recorded in the database at its start.
 * KT_OK, or KT_ENOT_FOUND when there is neither (KT_PORTAL_NO_URL says so). */
int portal_base_url(kt_store *st, const kt_portal_config *cfg, char *out, size_t cap) KT_MUST_CHECK;
/* serve, once bound: record the address links point at, so that admin
 * commands in other processes mail the same one: the configured
 * portal_url, else its own http(s)://HOST:PORT. */
int portal_record_url(kt_store *st, const kt_portal_config *cfg, bool tls, const char *host, int port) KT_MUST_CHECK;
#define KT_META_PORTAL_URL "portal_url"
#define KT_PORTAL_NO_URL                                                                                    \
	"no portal address for the link: set portal_url in the --config file, or start "                  \
	"`kartoteka-server serve` on this database once (it records its own address)"

#define KT_SETUP_TOKEN_BYTES 32

/* What the link is for: staff invitation, or "forgot password". */
typedef enum kt_setup_kind { KT_SETUP_INVITE, KT_SETUP_RESET } kt_setup_kind;

/* May staff `by` send this client a setup link? Reception, managers and
 * owners; not owners: only for a client linked to one of their locations.
 * KT_OK, KT_EDENIED, or KT_ENOT_FOUND (no such client in by's organisation). */
int portal_may_invite(kt_store *st, const kt_principal *by, const char *client_id) KT_MUST_CHECK;

/* Issue a new setup link for client_id in one transaction: older unused
 * links of the client are marked replaced (their queued mails dropped),
 * the new token's keyed hash is stored, the mail is queued and an audit
 * entry written (actor: the store's current actor). token_key keys the
 * hash (the server's token_key). KT_ENO_EMAIL when the client has no
 * e-mail, KT_EINVALID when it is not one plain address, KT_ECONFLICT
 * when another account already signs in with it.
 * *expires_at and *mail_id may be NULL. */
int portal_issue(kt_store *st, const kt_portal_config *cfg, const uint8_t token_key[32], const char *client_id,
		 kt_setup_kind kind, int64_t *expires_at, int64_t *mail_id) KT_MUST_CHECK;

/* ---- a client's e-mail address changes (the portal sign-in) ----
 * Called by the store in the transaction of every update that changes a
 * client's email, whichever path made it (device push, admin command):
 * the change is recorded (it starts the hold below); live setup and
 * confirmation links of the client are replaced; and if the client has a
 * portal account it is suspended: its sessions end, sign-in is refused
 * with account_suspended, the old address gets a notice, and the mail
 * worker sends a confirmation link to the new address
 * (portal_plan_confirmations). old_email/new_email may be NULL. */
int portal_email_changed(kt_store *st, const char *org, const char *client_id, const char *old_email,
			 const char *new_email) KT_MUST_CHECK;

/* Mail worker: queue the confirmation link of every suspended account
 * that has none yet (one transaction each). Returns how many were
 * queued, or a negative kt_err. */
int portal_plan_confirmations(kt_store *st, const kt_portal_config *cfg) KT_MUST_CHECK;

/* KT_EEMAIL_RECENT when the client's e-mail changed less than
 * cfg->email_hold_days ago or its account waits for confirmation (then
 * only owners, managers and the operator send setup links), else KT_OK.
 * *changed_at (may be NULL) gets the time of the change. */
int portal_email_hold(kt_store *st, const kt_portal_config *cfg, const char *client_id, int64_t now,
		      int64_t *changed_at) KT_MUST_CHECK;

/* Is this client's portal account suspended (waiting for confirmation)? */
bool portal_suspended(kt_store *st, const char *client_id);

/* The confirmation link was used with the client's password (verified by
 * the caller against the hash it read): the token is re-checked and used
 * up, the suspension lifted, audited; one transaction. */
int portal_apply_confirm(kt_store *st, const uint8_t hash[32], const char *device, char client[KT_UUID_LEN + 1])
	KT_MUST_CHECK;

/* Whose password "forgot password" for this e-mail resets: a
 * portal-enabled client with it, else the one client with it who was sent
 * a setup link before and never used one. KT_ENOT_FOUND otherwise (also
 * when the e-mail is a staff member's). */
int portal_forgot_target(kt_store *st, const char *email, char id[KT_UUID_LEN + 1]) KT_MUST_CHECK;

/* What a token in a link is for (setup_token.purpose). */
#define KT_TOKEN_SETUP "setup"
#define KT_TOKEN_CONFIRM "confirm_email"
#define KT_TOKEN_STAFF "staff_setup" /* a staff member's password link (staff.h); client_id holds the staff id */

/* In the caller's transaction: store a link's keyed hash for person (a
 * client, or staff for KT_TOKEN_STAFF), good until exp; mark a link used;
 * mark every unused link of person for purpose replaced. */
int portal_token_insert(kt_store *st, const uint8_t th[32], const char *person, const char *org, int64_t now,
			int64_t exp, const char *purpose) KT_MUST_CHECK;
int portal_token_use(kt_store *st, const uint8_t hash[32]) KT_MUST_CHECK;
int portal_tokens_replace(kt_store *st, const char *person, const char *purpose) KT_MUST_CHECK;

/* The state of a token of this purpose (by its hash): KT_OK with its client, or
 * KT_ETOKEN_INVALID / KT_ETOKEN_USED / KT_ETOKEN_REPLACED / KT_ETOKEN_EXPIRED. */
int portal_token_check(kt_store *st, const uint8_t hash[32], const char *purpose, int64_t now,
		       char client[KT_UUID_LEN + 1], char org[KT_UUID_LEN + 1]) KT_MUST_CHECK;

/* Set the password of the client that token `hash` belongs to (the hash
 * string is a crypto_pwhash_str result): the token is re-checked and used
 * up, password_hash and portal_enabled = 1 written through store_update,
 * every session of the client ended, the change audited; one transaction.
 * device may be NULL. */
int portal_apply_setup(kt_store *st, const uint8_t hash[32], const char *pw_hash, const char *device,
		       char client[KT_UUID_LEN + 1]) KT_MUST_CHECK;

/* A signed-in principal's stored password hash (owned by the caller). */
int portal_password_hash_get(kt_store *st, bool is_client, const char *id, char **hash) KT_MUST_CHECK;
/* Write a new password hash for a principal and end its other sessions
 * (keep_hash: the current session's token hash), audited; one transaction. */
int portal_apply_change(kt_store *st, bool is_client, const char *id, const char *org, const char *pw_hash,
			const char *device, const uint8_t keep_hash[32]) KT_MUST_CHECK;

/* The `admin --db FILE portal ...` command (admin_portal.c). */
int portal_admin_main(const char *db, const kt_portal_config *cfg, int argc, char **argv);

#endif
