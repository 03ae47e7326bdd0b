/* handle_portal.c - the portal messages: portal_invite (staff),
 * portal_forgot and portal_set_password (before sign-in), change_password
 * (signed in). Argon2id hashing and verification run on one portal worker
 * thread with its own database connection, like sign-ins (auth_workers.c); results
 * come back through the worker queue (kt_workq.h). Never logs tokens,
 * passwords or e-mail addresses. */
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "sync/after_commit.h"
#include "domain/mail.h"
#include "domain/messages.h"
#include "domain/password.h"
#include "domain/portal.h"
#include "domain/staff.h"
#include "server.h"
#include "handlers/auth_workers.h"
#include "handlers/handlers.h"
#include "conn/conn.h"

#define RATE_SLOTS 1024 /* rate-limit entries (limits: kt_limits.h) */

enum { JOB_SET, JOB_CHANGE, JOB_FORGOT, JOB_CONFIRM };

typedef struct portal_job {
	kt_wq_item item; /* first: the queue's link */
	int kind;
	uint64_t session_id;
	uint8_t hash[32];   /* JOB_SET/CONFIRM: the link's token hash; JOB_CHANGE: current session token hash */
	bool is_client;
	char principal[KT_UUID_LEN + 1], org[KT_UUID_LEN + 1], device[KT_UUID_LEN + 1];
	char old_pw[KT_MAX_PASSWORD + 1], new_pw[KT_MAX_PASSWORD + 1];
	char email[KT_MAX_EMAIL + 1]; /* JOB_FORGOT */
	int rc;
	char client[KT_UUID_LEN + 1];
} portal_job;

typedef struct rate_slot {
	uint8_t key[16];
	int count;
	int64_t start;
} rate_slot;

struct kt_portal_rt {
	kt_server *srv;
	kt_workq *q; /* to the portal thread and back */
	rate_slot slots[RATE_SLOTS]; /* loop thread only */
};

/* ---- the worker ---- */

static int hash_password(const char *pw, char out[crypto_pwhash_STRBYTES])
{
	return crypto_pwhash_str(out, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
				 crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0
		       ? KT_OK
		       : KT_ENOMEM;
}

/* "Forgot password" runs here, not on the loop: the answer goes out at
 * once and takes as long whether or not the account exists. */
static void run_forgot(kt_portal_rt *p, kt_store *st, portal_job *j)
{
	char id[KT_UUID_LEN + 1];
	j->rc = portal_forgot_target(st, j->email, id);
	if (j->rc)
		return;
	/* a new or unconfirmed address gets no self-service link: whoever
	 * entered it could be the one reading it */
	if ((j->rc = portal_email_hold(st, p->srv->portal_cfg, id, kt_now_ms(), NULL))) {
		kt_info("portal: no reset link: the address changed recently or waits for confirmation");
		return;
	}
	store_set_actor(st, "system", NULL, j->device, 0);
	j->rc = portal_issue(st, p->srv->portal_cfg, p->srv->token_key, id, KT_SETUP_RESET, NULL, NULL);
	store_set_actor(st, "system", NULL, NULL, 0);
	if (j->rc)
		kt_log_code(KT_LOG_WARN, j->rc, "portal: reset link not queued: %s", kt_strerror(j->rc));
	else
		mail_kick(p->srv->mail);
}

static void run_job(kt_portal_rt *p, kt_store *st, portal_job *j)
{
	char h[crypto_pwhash_STRBYTES], *old = NULL;
	if (j->kind == JOB_FORGOT) {
		run_forgot(p, st, j);
	} else if (j->kind == JOB_CONFIRM) {
		/* the link proves the address, the password proves the person */
		j->rc = portal_token_check(st, j->hash, KT_TOKEN_CONFIRM, kt_now_ms(), j->client, j->org);
		if (!j->rc)
			j->rc = portal_password_hash_get(st, true, j->client, &old);
		if (!j->rc && crypto_pwhash_str_verify(old, j->new_pw, strlen(j->new_pw)) != 0)
			j->rc = KT_EAUTH_FAILED;
		if (!j->rc)
			j->rc = portal_apply_confirm(st, j->hash, j->device, j->client);
		free(old);
	} else if (j->kind == JOB_SET) {
		/* one message sets a password from a client's link or a staff member's */
		if (!(j->rc = hash_password(j->new_pw, h)))
			j->rc = j->is_client ? portal_apply_setup(st, j->hash, h, j->device, j->client)
					     : staff_apply_setup(st, j->hash, h, j->device, j->client);
	} else {
		j->rc = portal_password_hash_get(st, j->is_client, j->principal, &old);
		if (!j->rc && crypto_pwhash_str_verify(old, j->old_pw, strlen(j->old_pw)) != 0)
			j->rc = KT_EAUTH_FAILED;
		if (!j->rc)
			j->rc = hash_password(j->new_pw, h);
		if (!j->rc)
			j->rc = portal_apply_change(st, j->is_client, j->principal, j->org, h, j->device, j->hash);
		free(old);
	}
	sodium_memzero(h, sizeof h);
}

static void *worker_init(void *arg)
{
	kt_portal_rt *p = arg;
	kt_store *st = NULL;
	const char *msg;
	if (store_open(p->srv->db_path, 0, &st, &msg)) {
		kt_err_log("portal worker: cannot open database: %s", msg);
		st = NULL;
	}
	return st;
}

static void worker_fini(void *arg, void *st)
{
	store_close(st);
}

static void worker_run(void *arg, void *st, kt_wq_item *it)
{
	portal_job *j = (portal_job *)it;
	if (st)
		run_job(arg, st, j);
	else
		j->rc = KT_EIO;
	sodium_memzero(j->old_pw, sizeof j->old_pw);
	sodium_memzero(j->new_pw, sizeof j->new_pw);
	sodium_memzero(j->email, sizeof j->email);
}

static void free_job(kt_wq_item *it)
{
	sodium_memzero(it, sizeof(portal_job));
	free(it);
}

/* the planner's daily pass (messages.h); one per server */
static kt_daily *daily;

int portal_start(kt_server *srv)
{
	kt_portal_rt *p = calloc(1, sizeof *p);
	int rc;
	if (!p)
		return KT_ENOMEM;
	p->srv = srv;
	srv->portal = p;
	kt_workq_cfg cfg = {
		.thread_name = "kt-portal",
		.nthreads = 1,
		.bound = KT_PORTAL_QUEUE,
		.thread_init = worker_init,
		.thread_fini = worker_fini,
		.run = worker_run,
		.free_job = free_job,
		.arg = p,
		.wake = &srv->wake,
		.wake_bit = KT_WAKE_PORTAL,
	};
	if ((rc = kt_workq_new(&cfg, &p->q)))
		return rc;
	if ((rc = mail_start(srv->db_path, srv->portal_cfg, &srv->mail)))
		return rc;
	/* birthday greetings: planned at start and every hour (idempotent) */
	if (messages_daily_start(srv->db_path, &daily))
		kt_info("messages: the daily pass did not start; no birthday greetings are planned");
	return KT_OK;
}

void portal_stop(kt_server *srv)
{
	kt_portal_rt *p = srv->portal;
	messages_daily_stop(daily);
	daily = NULL;
	mail_stop(srv->mail);
	srv->mail = NULL;
	if (!p)
		return;
	kt_workq_free(p->q);
	free(p);
	srv->portal = NULL;
}

static bool same_session(const kt_wq_item *it, void *u)
{
	return ((const portal_job *)it)->session_id == *(const uint64_t *)u;
}

/* A job of this session is queued or running. */
static bool job_pending(kt_portal_rt *p, uint64_t session_id)
{
	return kt_workq_any(p->q, same_session, &session_id);
}

/* KT_EBUSY when KT_PORTAL_QUEUE jobs wait or run; takes j on KT_OK. */
static int submit(kt_portal_rt *p, portal_job *j)
{
	return kt_workq_submit(p->q, &j->item);
}

/* ---- rate limits (loop thread) ---- */

static rate_slot *rate(kt_portal_rt *p, const char *kind, const char *key, size_t klen, int64_t now,
		       int64_t window)
{
	uint8_t h[16];
	crypto_generichash_state gs;
	rate_slot *oldest = NULL;
	crypto_generichash_init(&gs, NULL, 0, sizeof h);
	crypto_generichash_update(&gs, (const uint8_t *)kind, strlen(kind));
	for (size_t i = 0; i < klen; i++) {
		uint8_t c = (uint8_t)key[i];
		if (c >= 'A' && c <= 'Z')
			c = (uint8_t)(c + 32);
		crypto_generichash_update(&gs, &c, 1);
	}
	crypto_generichash_final(&gs, h, sizeof h);
	uint32_t start = ((uint32_t)h[0] << 8 | h[1]) % RATE_SLOTS;
	for (int i = 0; i < 16; i++) {
		rate_slot *r = &p->slots[(start + (uint32_t)i) % RATE_SLOTS];
		if (!memcmp(r->key, h, sizeof h)) {
			if (now - r->start >= window) {
				r->count = 0;
				r->start = now;
			}
			return r;
		}
		if (!oldest || r->start < oldest->start)
			oldest = r;
	}
	memset(oldest, 0, sizeof *oldest);
	memcpy(oldest->key, h, sizeof h);
	oldest->start = now;
	return oldest;
}

/* ---- answers ---- */

static void send_result(kt_session *s, const char *op, const char *client, int64_t expires_at)
{
	kt_portal_result r = {{op, strlen(op)}, {client, client ? strlen(client) : 0}, expires_at};
	frame_begin(s->srv);
	proto_portal_result_encode(&s->srv->frame, &r);
	if (session_queue_frame(s, false))
		session_error(s, KT_EBUSY, NULL, op, false);
}

static const char *rule_text(int rc)
{
	return password_rule_text(rc);
}

void portal_deliver(kt_server *srv)
{
	kt_portal_rt *p = srv->portal;
	kt_wq_item *list = kt_workq_take_done(p->q);
	bool revoked = false;

	while (list) {
		portal_job *j = (portal_job *)list;
		kt_session *s = session_find(srv, j->session_id);
		const char *op = j->kind == JOB_SET	? "portal_set_password"
				 : j->kind == JOB_CONFIRM ? "portal_confirm_email"
							  : "change_password";
		list = list->next;
		if (j->kind == JOB_FORGOT) { /* answered when it was asked */
			sodium_memzero(j, sizeof *j);
			free(j);
			continue;
		}
		revoked |= j->rc == KT_OK && j->kind != JOB_CONFIRM;
		if (j->kind == JOB_CONFIRM && j->rc == KT_EAUTH_FAILED) {
			rate_slot *r = rate(p, "c:", j->client, strlen(j->client), kt_now_ms(), KT_CHANGE_PW_WINDOW_MS);
			r->count++;
		}
		if (j->kind == JOB_CHANGE && j->rc == KT_EAUTH_FAILED) {
			rate_slot *r = rate(p, "c:", j->principal, strlen(j->principal), kt_now_ms(),
					    KT_CHANGE_PW_WINDOW_MS);
			r->count++;
		}
		if (s && s->state != KT_SS_CLOSING) {
			if ((j->kind == JOB_SET || j->kind == JOB_CONFIRM) && s->state == KT_SS_AUTH_PENDING)
				s->state = KT_SS_AUTH;
			if (j->rc == KT_OK) {
				kt_info("session %llu: %s done", (unsigned long long)s->id, op);
				send_result(s, j->kind == JOB_SET ? "set_password" : j->kind == JOB_CONFIRM ? "confirm_email"
												 : "change_password",
					    j->kind != JOB_CHANGE ? j->client : NULL, 0);
			} else if (j->rc == KT_EAUTH_FAILED && j->kind == JOB_CONFIRM) {
				s->auth_fails++;
				session_error(s, j->rc, "the password is not this account's password", op,
					      s->auth_fails >= KT_MAX_AUTH_FAILS_PER_CONN);
			} else if (j->rc == KT_EAUTH_FAILED) {
				session_error(s, j->rc, "the old password is wrong", op, false);
			} else if (j->rc == KT_EREVOKED && j->kind == JOB_SET) {
				session_error(s, j->rc, "this staff account is deactivated; its links no longer work", op,
					      false);
			} else if (j->rc == KT_ECONFLICT) {
				session_error(s, j->rc, "another account signs in with this e-mail; ask the salon", op,
					      false);
			} else {
				session_error(s, j->rc, NULL, op, false);
			}
		}
		sodium_memzero(j, sizeof *j);
		free(j);
	}
	if (revoked)
		revoke_poll(srv); /* close the sessions the password change ended, now */
}

/* ---- handlers ---- */

int handle_portal_invite(kt_session *s, const unsigned char *buf, size_t len)
{
	kt_server *srv = s->srv;
	kt_portal_invite m;
	char id[KT_UUID_LEN + 1];
	int64_t expires = 0;
	int rc = proto_portal_invite_decode(buf, len, &m);

	if (!srv->portal || !srv->portal_cfg) {
		session_error(s, KT_EINTERNAL, "portal accounts are not running", "portal_invite", false);
		return 0;
	}
	if (rc) {
		session_error(s, rc, "portal_invite needs client (a UUID string)", "portal_invite", false);
		return 0;
	}
	if (!kt_uuid_valid(m.client.s, m.client.len)) {
		session_error(s, KT_EINVALID, "client must be a UUID", "portal_invite", false);
		return 0;
	}
	memcpy(id, m.client.s, KT_UUID_LEN);
	id[KT_UUID_LEN] = 0;
	if ((rc = portal_may_invite(srv->st, &s->principal, id))) {
		session_error(s, rc,
			      rc == KT_EDENIED	   ? "only reception, managers and owners of the client's locations send setup links"
			      : rc == KT_ENOT_FOUND ? "no such client"
						    : NULL,
			      "portal_invite", false);
		return 0;
	}
	/* a just-entered address may be the writer's own: reception's edit of
	 * the e-mail plus reception's invite must not hand over an account, so
	 * who may not invite to a held address waits out the hold */
	int64_t changed = 0;
	if (!policy_may(&s->principal, KT_ACT_INVITE_HELD_EMAIL) &&
	    (rc = portal_email_hold(srv->st, srv->portal_cfg, id, kt_now_ms(), &changed))) {
		char why[256];
		if (rc == KT_EEMAIL_RECENT)
			snprintf(why, sizeof why,
				 "field email: the client's address was changed %lld days ago or waits for the client's "
				 "confirmation; for %g days after a change only an owner or manager sends setup links",
				 (long long)((kt_now_ms() - changed) / 86400000), srv->portal_cfg->email_hold_days);
		session_error(s, rc, rc == KT_EEMAIL_RECENT ? why : NULL, "portal_invite", false);
		return 0;
	}
	store_set_actor(srv->st, "staff", s->principal.id, s->device, 0);
	rc = portal_issue(srv->st, srv->portal_cfg, srv->token_key, id, KT_SETUP_INVITE, &expires, NULL);
	store_set_actor(srv->st, "system", NULL, NULL, 0);
	if (rc) {
		session_error(s, rc,
			      rc == KT_ENO_EMAIL   ? "the client has no e-mail address; add one first"
			      : rc == KT_EINVALID  ? "the client's e-mail address is not a single plain address; correct it first"
			      : rc == KT_ECONFLICT ? "another account already signs in with this client's e-mail"
						   : NULL,
			      "portal_invite", false);
		return 0;
	}
	kt_info("session %llu: setup link queued for client %s", (unsigned long long)s->id, id);
	mail_kick(srv->mail);
	send_result(s, "invite", id, expires);
	return 0;
}

int handle_portal_forgot(kt_session *s, const unsigned char *buf, size_t len)
{
	kt_server *srv = s->srv;
	kt_portal_rt *p = srv->portal;
	kt_portal_forgot m;
	portal_job *j;
	int64_t now = kt_now_ms();
	int rc = proto_portal_forgot_decode(buf, len, &m);

	if (!p || !srv->portal_cfg) {
		session_error(s, KT_EINTERNAL, "portal accounts are not running", "portal_forgot", false);
		return 0;
	}
	if (rc) {
		session_error(s, rc, "portal_forgot needs email", "portal_forgot", rc == KT_ETOO_LARGE);
		return 0;
	}
	rate_slot *ra = rate(p, "fa:", s->addr, strlen(s->addr), now, KT_PORTAL_ADDR_WINDOW_MS);
	if (ra->count >= KT_FORGOT_PER_ADDR) {
		session_error(s, KT_ETHROTTLED, "too many requests from this address; retry later", "portal_forgot",
			      false);
		return 0;
	}
	ra->count++;
	/* Whatever happens below, the answer is the same and comes at once:
	 * nobody learns from it whether an account exists. The lookup and the
	 * new link are the portal worker's. */
	rate_slot *re = rate(p, "fe:", m.email.s, m.email.len, now, KT_FORGOT_PER_EMAIL_MS);
	if (re->count++ == 0 && memchr(m.email.s, '@', m.email.len) && (j = calloc(1, sizeof *j))) {
		j->kind = JOB_FORGOT;
		j->session_id = s->id;
		memcpy(j->email, m.email.s, m.email.len);
		memcpy(j->device, s->device, sizeof j->device);
		if (submit(p, j)) {
			sodium_memzero(j, sizeof *j);
			free(j);
			kt_warn("session %llu: portal worker busy; reset link not queued", (unsigned long long)s->id);
		}
	}
	send_result(s, "forgot", NULL, 0);
	return 0;
}

/* A token from a link: 64 hex characters, hashed with the server key. */
static int token_hash(kt_server *srv, const kt_str *t, uint8_t out[32])
{
	uint8_t raw[KT_SETUP_TOKEN_BYTES];
	if (t->len != 2 * KT_SETUP_TOKEN_BYTES || !kt_unhex(raw, sizeof raw, t->s, t->len))
		return KT_ETOKEN_INVALID;
	auth_token_hash(srv, raw, sizeof raw, out);
	sodium_memzero(raw, sizeof raw);
	return KT_OK;
}

/* What portal_set_password and portal_confirm_email share: the portal is
 * running, the message decoded, the address within its budget of bad links,
 * and the token one the server issued for this purpose and still good. On
 * any failure the session is answered here (re names the message) and the
 * result is false; else th, client and org are the link's. */
static bool link_checked(kt_session *s, int decode_rc, const char *re, const kt_str *token, const char *purpose,
			 uint8_t th[32], char client[KT_UUID_LEN + 1], char org[KT_UUID_LEN + 1], bool *staff)
{
	kt_server *srv = s->srv;
	kt_portal_rt *p = srv->portal;
	int64_t now = kt_now_ms();
	char msg[96];
	int rc;

	if (!p || !srv->portal_cfg) {
		session_error(s, KT_EINTERNAL, "portal accounts are not running", re, false);
		return false;
	}
	if (decode_rc) {
		snprintf(msg, sizeof msg, "%s needs token and password strings", re);
		session_error(s, decode_rc, msg, re, decode_rc == KT_ETOO_LARGE);
		return false;
	}
	rate_slot *ra = rate(p, "st:", s->addr, strlen(s->addr), now, KT_PORTAL_ADDR_WINDOW_MS);
	if (ra->count >= KT_SETUP_BAD_TOKENS_PER_ADDR) {
		session_error(s, KT_ETHROTTLED, "too many bad links from this address; retry later", re, false);
		return false;
	}
	rc = token_hash(srv, token, th);
	if (!rc)
		rc = portal_token_check(srv->st, th, purpose, now, client, org);
	/* a password link may be a staff member's (staff.h): same message */
	if (rc == KT_ETOKEN_INVALID && staff && !(rc = portal_token_check(srv->st, th, KT_TOKEN_STAFF, now, client, org)))
		*staff = true;
	if (rc) {
		if (rc == KT_ETOKEN_INVALID) {
			ra->count++;
			s->auth_fails++;
		}
		session_error(s, rc, NULL, re, rc == KT_ETOKEN_INVALID && s->auth_fails >= KT_MAX_AUTH_FAILS_PER_CONN);
		return false;
	}
	return true;
}

/* Hand a checked link and its password to the portal worker; the session
 * waits for the answer (or is told why not, re naming the message). */
static void link_job(kt_session *s, kt_portal_rt *p, int kind, const uint8_t th[32], const kt_str *password,
		     const char *re, bool staff)
{
	portal_job *j = calloc(1, sizeof *j);
	int rc;
	if (!j) {
		session_error(s, KT_ENOMEM, NULL, re, false);
		return;
	}
	j->kind = kind;
	j->is_client = !staff;
	j->session_id = s->id;
	memcpy(j->hash, th, sizeof j->hash);
	memcpy(j->device, s->device, sizeof j->device);
	memcpy(j->new_pw, password->s, password->len);
	if ((rc = submit(p, j))) {
		sodium_memzero(j, sizeof *j);
		free(j);
		session_error(s, rc, NULL, re, false);
		return;
	}
	s->state = KT_SS_AUTH_PENDING;
}

int handle_portal_set_password(kt_session *s, const unsigned char *buf, size_t len)
{
	kt_portal_rt *p = s->srv->portal;
	kt_portal_set_password m;
	char client[KT_UUID_LEN + 1], org[KT_UUID_LEN + 1];
	uint8_t th[32];
	bool staff = false;
	int rc = proto_portal_set_password_decode(buf, len, &m);

	if (!link_checked(s, rc, "portal_set_password", &m.token, KT_TOKEN_SETUP, th, client, org, &staff))
		return 0;
	if ((rc = password_check(m.password.s, m.password.len))) {
		session_error(s, rc, rule_text(rc), "portal_set_password", false);
		return 0;
	}
	link_job(s, p, JOB_SET, th, &m.password, "portal_set_password", staff);
	return 0;
}

int handle_portal_confirm_email(kt_session *s, const unsigned char *buf, size_t len)
{
	kt_portal_rt *p = s->srv->portal;
	kt_portal_confirm_email m;
	char client[KT_UUID_LEN + 1], org[KT_UUID_LEN + 1];
	uint8_t th[32];
	int64_t now = kt_now_ms();
	int rc = proto_portal_confirm_email_decode(buf, len, &m);

	if (!link_checked(s, rc, "portal_confirm_email", &m.token, KT_TOKEN_CONFIRM, th, client, org, NULL))
		return 0;
	/* wrong passwords count like wrong old passwords in change_password */
	rate_slot *r = rate(p, "c:", client, strlen(client), now, KT_CHANGE_PW_WINDOW_MS);
	if (r->count >= KT_CHANGE_PW_FAILS) {
		session_error(s, KT_ETHROTTLED, "too many wrong passwords for this account; retry later",
			      "portal_confirm_email", false);
		return 0;
	}
	link_job(s, p, JOB_CONFIRM, th, &m.password, "portal_confirm_email", false);
	return 0;
}

int handle_change_password(kt_session *s, const unsigned char *buf, size_t len)
{
	kt_server *srv = s->srv;
	kt_portal_rt *p = srv->portal;
	kt_principal *pr = &s->principal;
	kt_change_password m;
	portal_job *j;
	int rc = proto_change_password_decode(buf, len, &m);

	if (!p || !srv->portal_cfg) {
		session_error(s, KT_EINTERNAL, "portal accounts are not running", "change_password", false);
		return 0;
	}
	if (rc) {
		session_error(s, rc, "change_password needs old and new strings", "change_password", false);
		return 0;
	}
	rate_slot *r = rate(p, "c:", pr->id, strlen(pr->id), kt_now_ms(), KT_CHANGE_PW_WINDOW_MS);
	if (r->count >= KT_CHANGE_PW_FAILS) {
		session_error(s, KT_ETHROTTLED, "too many wrong old passwords; retry later", "change_password", false);
		return 0;
	}
	if (job_pending(p, s->id)) {
		session_error(s, KT_EBUSY, "a password change is being checked", "change_password", false);
		return 0;
	}
	if ((rc = password_check(m.new_pw.s, m.new_pw.len))) {
		session_error(s, rc, rule_text(rc), "change_password", false);
		return 0;
	}
	if (m.new_pw.len == m.old_pw.len && sodium_memcmp(m.new_pw.s, m.old_pw.s, m.old_pw.len) == 0) {
		session_error(s, KT_EINVALID, "the new password is the old one", "change_password", false);
		return 0;
	}
	if (!(j = calloc(1, sizeof *j))) {
		session_error(s, KT_ENOMEM, NULL, "change_password", false);
		return 0;
	}
	j->kind = JOB_CHANGE;
	j->session_id = s->id;
	if (s->has_token)
		memcpy(j->hash, s->token_hash, sizeof j->hash);
	j->is_client = pr->is_client;
	snprintf(j->principal, sizeof j->principal, "%s", pr->id);
	snprintf(j->org, sizeof j->org, "%s", pr->org);
	memcpy(j->device, s->device, sizeof j->device);
	memcpy(j->old_pw, m.old_pw.s, m.old_pw.len);
	memcpy(j->new_pw, m.new_pw.s, m.new_pw.len);
	if ((rc = submit(p, j))) {
		sodium_memzero(j, sizeof *j);
		free(j);
		session_error(s, rc, NULL, "change_password", false);
	}
	return 0;
}
