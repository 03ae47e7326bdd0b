/* auth_workers.c - sign-in. Password checks (Argon2id, ~0.1 s and 64 MiB each) run
 * on KT_AUTH_WORKERS threads with their own database connection, so a login
 * never stalls the event loop; finished checks are handed back through the
 * worker queue (kt_workq.h), which wakes the loop. Tokens are 32 random
 * bytes; only a keyed BLAKE2b hash of them is stored. Failed attempts are throttled per account
 * and per address (throttle.c). Never logs passwords, tokens or e-mail
 * addresses. */
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "domain/portal.h"
#include "kt_metrics.h"
#include "server.h"
#include "domain/throttle.h"
#include "handlers/auth_workers.h"
#include "handlers/handlers.h"
#include "conn/conn.h"

typedef struct auth_job {
	kt_wq_item item; /* first: the queue's link */
	struct auth_job *next; /* the loop's list of logins that wait */
	uint64_t session_id;
	char email[KT_MAX_EMAIL + 1];
	char password[KT_MAX_PASSWORD + 1];
	char device[KT_UUID_LEN + 1];
	char app[KT_MAX_APP + 1];
	/* result */
	int rc;
	bool is_client;
	char principal_id[KT_UUID_LEN + 1];
	char token[65];
	int64_t expires_at;
	char addr[64]; /* the peer's address: the queue is fair between addresses */
	int round;     /* jobs of the same address queued ahead of this one when it came */
	kt_signin_keys keys; /* its entries in the throttle, where it is in flight */
} auth_job;

struct kt_auth {
	kt_server *srv;
	kt_workq *q; /* to the KT_AUTH_WORKERS threads and back */
	/* loop thread only: logins waiting for attempts in flight for their
	 * account or address to be answered (such an attempt may yet fail) */
	auth_job *wait_head, *wait_tail;
	int waiting;
	kt_throttle *thr; /* throttle.c */
	char dummy_hash[crypto_pwhash_STRBYTES];
};

void auth_token_hash(const kt_server *srv, const uint8_t *token, size_t len, uint8_t out[32])
{
	crypto_generichash(out, 32, token, len, srv->token_key, sizeof srv->token_key);
}

static void check_password(kt_auth *a, kt_store *st, auth_job *j)
{
	char *hash = NULL;
	uint8_t tok[32], th[32];
	int rc;

	rc = store_credentials_find(st, j->email, &j->is_client, j->principal_id, &hash);
	if (rc == KT_ENOT_FOUND) {
		/* same work as a real check, so timing does not reveal accounts */
		if (crypto_pwhash_str_verify(a->dummy_hash, j->password, strlen(j->password)) == 0)
			kt_warn("auth: dummy hash matched"); /* cannot happen; keeps the result used */
		j->rc = KT_EAUTH_FAILED;
		return;
	}
	if (rc) {
		j->rc = rc;
		return;
	}
	if (crypto_pwhash_str_verify(hash, j->password, strlen(j->password)) != 0) {
		j->rc = KT_EAUTH_FAILED;
		goto out;
	}
	/* told only to someone who knows the password: whether an account
	 * exists stays as hidden as before */
	if (j->is_client && portal_suspended(st, j->principal_id)) {
		j->rc = KT_EACCOUNT_SUSPENDED;
		goto out;
	}
	randombytes_buf(tok, sizeof tok);
	kt_hex(j->token, tok, sizeof tok);
	auth_token_hash(a->srv, tok, sizeof tok, th);
	j->expires_at = kt_now_ms() + (int64_t)KT_SESSION_TTL_S * 1000;
	/* the device first: an id that is another person's gets no session */
	j->rc = store_device_seen(st, j->device, j->is_client, j->principal_id, j->app);
	if (!j->rc)
		j->rc = store_session_create(st, th, sizeof th, j->is_client, j->principal_id, j->device, j->expires_at);
	sodium_memzero(tok, sizeof tok);
out:
	free(hash);
}

static void *worker_init(void *arg)
{
	kt_auth *a = arg;
	kt_store *st = NULL;
	const char *msg;
	if (store_open(a->srv->db_path, 0, &st, &msg)) {
		kt_err_log("auth worker: cannot open database: %s", msg);
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
	auth_job *j = (auth_job *)it;
	if (st)
		check_password(arg, st, j);
	else
		j->rc = KT_EIO;
	sodium_memzero(j->password, sizeof j->password);
}

static void free_job(auth_job *j)
{
	sodium_memzero(j, sizeof *j);
	free(j);
}

static void free_item(kt_wq_item *it)
{
	free_job((auth_job *)it);
}

int auth_start(kt_server *srv)
{
	kt_auth *a = calloc(1, sizeof *a);
	static const char dummy_pw[] = "not a password of anyone";
	if (!a)
		return KT_ENOMEM;
	a->srv = srv;
	if (crypto_pwhash_str(a->dummy_hash, dummy_pw, sizeof dummy_pw - 1, crypto_pwhash_OPSLIMIT_INTERACTIVE,
			      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
		free(a);
		return KT_ENOMEM;
	}
	if (throttle_open(srv->st, srv->token_key, &a->thr)) {
		free(a);
		return KT_ENOMEM;
	}
	srv->auth = a;
	kt_workq_cfg cfg = {
		.thread_name = "kt-signin",
		.nthreads = KT_AUTH_WORKERS,
		.bound = KT_AUTH_QUEUE,
		.thread_init = worker_init,
		.thread_fini = worker_fini,
		.run = worker_run,
		.free_job = free_item,
		.arg = a,
		.wake = &srv->wake,
		.wake_bit = KT_WAKE_AUTH,
	};
	return kt_workq_new(&cfg, &a->q);
}

static void free_jobs(auth_job *j)
{
	while (j) {
		auth_job *n = j->next;
		free_job(j);
		j = n;
	}
}

void auth_stop(kt_server *srv)
{
	kt_auth *a = srv->auth;
	if (!a)
		return;
	kt_workq_free(a->q); /* the jobs queued and finished with it */
	free_jobs(a->wait_head);
	throttle_close(a->thr);
	free(a);
	srv->auth = NULL;
}

/* Fair between addresses: a job goes behind every job of a round no later
 * than its own, so a guessing loop that queues many checks from one address
 * waits behind one check of every other address instead of keeping everyone
 * else waiting behind its backlog. (Under the queue's lock.) */
static kt_wq_item *fair_place(kt_wq_item *queued, const kt_wq_item *it, void *u)
{
	auth_job *j = (auth_job *)it;
	kt_wq_item *after = NULL;
	j->round = 0;
	for (kt_wq_item *q = queued; q; q = q->next)
		j->round += strcmp(((auth_job *)q)->addr, j->addr) == 0;
	for (kt_wq_item *q = queued; q && ((auth_job *)q)->round <= j->round; q = q->next)
		after = q;
	return after;
}

/* Hand a job to the workers (loop thread; takes j). It was counted against
 * the bound when it was accepted, also if it waited since. */
static void enqueue(kt_auth *a, auth_job *j)
{
	if (kt_workq_submit_at(a->q, &j->item, fair_place, NULL, true))
		free_job(j); /* cannot happen: over_bound never refuses */
}

int auth_submit_login(kt_server *srv, kt_session *s, const char *email, size_t elen, const char *pw,
		      size_t plen)
{
	kt_auth *a = srv->auth;
	kt_signin_keys keys;
	bool wait = false;
	auth_job *j;
	int rc;

	throttle_keys(a->thr, email, elen, s->addr, &keys);
	if ((rc = throttle_login_begin(a->thr, &keys, &wait))) /* unless wait: it counts as a failure from now */
		return rc;
	if (wait ? a->waiting >= KT_AUTH_QUEUE : kt_workq_count(a->q) >= KT_AUTH_QUEUE) {
		if (!wait)
			throttle_login_done(a->thr, &keys, KT_EBUSY); /* not attempted: not counted */
		return wait ? KT_ETHROTTLED : KT_EBUSY;
	}
	if (!(j = calloc(1, sizeof *j))) {
		if (!wait)
			throttle_login_done(a->thr, &keys, KT_EBUSY);
		return KT_ENOMEM;
	}
	j->keys = keys;
	j->session_id = s->id;
	memcpy(j->email, email, elen);
	memcpy(j->password, pw, plen);
	memcpy(j->device, s->device, sizeof j->device);
	memcpy(j->app, s->app, sizeof j->app);
	memcpy(j->addr, s->addr, sizeof j->addr);
	if (wait) { /* until the attempts in flight for its account or address are answered */
		if (a->wait_tail)
			a->wait_tail->next = j;
		else
			a->wait_head = j;
		a->wait_tail = j;
		a->waiting++;
		return KT_OK;
	}
	enqueue(a, j);
	return KT_OK;
}

/* Logins that waited for attempts in flight: each goes to the workers now,
 * is refused (a lock-out came of those attempts), or waits on. */
static void retry_waiting(kt_server *srv)
{
	kt_auth *a = srv->auth;
	auth_job *list = a->wait_head, *keep = NULL, **tail = &keep;
	a->wait_head = a->wait_tail = NULL;
	while (list) {
		auth_job *j = list;
		kt_session *s = session_find(srv, j->session_id);
		bool wait = false;
		int rc = KT_OK;
		list = j->next;
		j->next = NULL;
		if (!s || s->state != KT_SS_AUTH_PENDING || (rc = throttle_login_begin(a->thr, &j->keys, &wait))) {
			a->waiting--;
			if (s && s->state == KT_SS_AUTH_PENDING)
				login_tarpit(s, rc);
			free_job(j);
		} else if (wait) {
			*tail = j;
			tail = &j->next;
			a->wait_tail = j;
		} else {
			a->waiting--;
			enqueue(a, j);
		}
	}
	a->wait_head = keep;
}

void auth_deliver(kt_server *srv)
{
	kt_auth *a = srv->auth;
	kt_wq_item *list = kt_workq_take_done(a->q);

	while (list) {
		auth_job *j = (auth_job *)list;
		kt_session *s = session_find(srv, j->session_id);
		list = list->next;
		/* counted whether or not the peer is still there to hear it */
		throttle_login_done(a->thr, &j->keys, j->rc);
		if (s && s->state == KT_SS_AUTH_PENDING) {
			if (j->rc == KT_OK) {
				session_signed_in(s, j->is_client, j->principal_id, j->token, j->expires_at);
			} else {
				kt_metric_signin(j->rc);
				s->state = KT_SS_AUTH;
				if (j->rc == KT_EAUTH_FAILED)
					s->auth_fails++;
				session_error(s, j->rc, j->rc == KT_EDEVICE_TAKEN ? KT_DEVICE_TAKEN_MSG : NULL, "login",
					      j->rc == KT_EAUTH_FAILED && s->auth_fails >= KT_MAX_AUTH_FAILS_PER_CONN);
			}
		}
		free_job(j);
	}
	retry_waiting(srv);
}

int auth_resume(kt_server *srv, kt_session *s, const char *token, size_t len, bool *is_client,
		char principal_id[KT_UUID_LEN + 1], int64_t *expires_at)
{
	uint8_t tok[32], th[32];
	int rc;

	if (throttle_resume_check(srv->auth->thr, s->addr))
		return KT_ETHROTTLED;
	if (!kt_unhex(tok, sizeof tok, token, len)) {
		throttle_resume_failed(srv->auth->thr, s->addr);
		return KT_EAUTH_FAILED;
	}
	auth_token_hash(srv, tok, sizeof tok, th);
	sodium_memzero(tok, sizeof tok);
	rc = store_session_find(srv->st, th, sizeof th, s->device, is_client, principal_id, expires_at);
	if (rc == KT_ENOT_FOUND) {
		throttle_resume_failed(srv->auth->thr, s->addr);
		return KT_EAUTH_FAILED;
	}
	if (!rc)
		rc = store_device_seen(srv->st, s->device, *is_client, principal_id, s->app);
	return rc;
}

void session_signed_in(kt_session *s, bool is_client, const char *principal_id, const char *token,
		       int64_t expires_at)
{
	kt_server *srv = s->srv;
	kt_auth_ok ok = {0};
	int rc;

	kt_principal_free(&s->principal);
	s->rights_gen = store_rights_gen(srv->st); /* first: a change in between is read again */
	rc = store_principal_load(srv->st, is_client, principal_id, &s->principal);
	if (rc || !s->principal.active) {
		kt_metric_signin(KT_EAUTH_FAILED);
		s->state = KT_SS_AUTH;
		session_error(s, rc ? rc : KT_EAUTH_FAILED, NULL, "login", false);
		return;
	}
	s->signed_in = true;
	s->state = KT_SS_READY;
	kt_metric_signin(KT_OK);
	if (s->metric_role >= 0)
		kt_metric_add(KT_M_DEVICES, s->metric_role, -1);
	s->metric_role = s->principal.role;
	kt_metric_inc(KT_M_DEVICES, s->metric_role);
	{
		uint8_t raw[32];
		s->has_token = kt_unhex(raw, sizeof raw, token, strlen(token));
		if (s->has_token)
			auth_token_hash(srv, raw, sizeof raw, s->token_hash);
		sodium_memzero(raw, sizeof raw);
	}
	conn_deadline_leave(s);
	ok.kind.s = is_client ? "client" : "staff";
	ok.kind.len = strlen(ok.kind.s);
	ok.id.s = s->principal.id;
	ok.id.len = strlen(s->principal.id);
	ok.role.s = kt_role_name(s->principal.role);
	ok.role.len = strlen(ok.role.s);
	ok.name.s = s->principal.name;
	ok.name.len = strlen(s->principal.name);
	ok.org.s = s->principal.org;
	ok.org.len = strlen(s->principal.org);
	ok.token.s = token;
	ok.token.len = strlen(token);
	ok.expires_at = expires_at;
	frame_begin(srv);
	proto_auth_ok_encode(&srv->frame, &ok);
	(void)session_queue_frame(s, false);
	/* the frame copy holds the token now; wipe the scratch buffer */
	sodium_memzero(srv->frame.sb.data, srv->frame.sb.size);
	kt_log_ctx saved;
	session_log_ctx(s, &saved);
	kt_info("session %llu: signed in as %s %s", (unsigned long long)s->id, kt_role_name(s->principal.role),
		s->principal.id);
	kt_log_ctx_restore(&saved);
}
