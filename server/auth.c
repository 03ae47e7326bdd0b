/* auth.c - sign-in. Password checks (Argon2id, ~0.1 s and 64 MiB each) run
 * on KT_AUTH_WORKERS threads with their own database connection, so a login
 * never stalls the event loop; finished checks are handed back through a
 * queue and lws_cancel_service(). Tokens are 32 random bytes; only a keyed
 * BLAKE2b hash of them is stored. Failed attempts are throttled per account
 * and per address (throttle.c). Never logs passwords, tokens or e-mail
 * addresses. */
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "portal.h"
#include "server.h"

typedef struct auth_job {
	struct auth_job *next;
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
	pthread_mutex_t mu;
	pthread_cond_t cv;
	auth_job *todo_head, *todo_tail, *done;
	int queued;
	/* loop thread only: logins waiting for attempts in flight for their
	 * account or address to be answered (such an attempt may yet fail) */
	auth_job *wait_head, *wait_tail;
	int waiting;
	bool stop;
	pthread_t th[KT_AUTH_WORKERS];
	int nthreads;
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

static void *worker(void *arg)
{
	kt_auth *a = arg;
	kt_store *st = NULL;
	const char *msg;
	pthread_setname_np(pthread_self(), "kt-signin"); /* shown by top -H and ps -L */

	if (store_open(a->srv->db_path, 0, &st, &msg)) {
		kt_err_log("auth worker: cannot open database: %s", msg);
		st = NULL;
	}
	pthread_mutex_lock(&a->mu);
	for (;;) {
		while (!a->stop && !a->todo_head)
			pthread_cond_wait(&a->cv, &a->mu);
		if (a->stop)
			break;
		auth_job *j = a->todo_head;
		a->todo_head = j->next;
		if (!a->todo_head)
			a->todo_tail = NULL;
		pthread_mutex_unlock(&a->mu);

		if (st)
			check_password(a, st, j);
		else
			j->rc = KT_EIO;
		sodium_memzero(j->password, sizeof j->password);

		pthread_mutex_lock(&a->mu);
		a->queued--;
		j->next = a->done;
		a->done = j;
		atomic_store(&a->srv->wake_auth, 1);
		lws_cancel_service(a->srv->ctx);
	}
	pthread_mutex_unlock(&a->mu);
	store_close(st);
	return NULL;
}

int auth_start(kt_server *srv)
{
	kt_auth *a = calloc(1, sizeof *a);
	static const char dummy_pw[] = "not a password of anyone";
	if (!a)
		return KT_ENOMEM;
	a->srv = srv;
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cv, NULL);
	if (crypto_pwhash_str(a->dummy_hash, dummy_pw, sizeof dummy_pw - 1, crypto_pwhash_OPSLIMIT_INTERACTIVE,
			      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
		free(a);
		return KT_ENOMEM;
	}
	if (throttle_open(srv, &a->thr)) {
		free(a);
		return KT_ENOMEM;
	}
	srv->auth = a;
	for (int i = 0; i < KT_AUTH_WORKERS; i++) {
		if (pthread_create(&a->th[i], NULL, worker, a) != 0)
			return KT_ENOMEM;
		a->nthreads++;
	}
	return KT_OK;
}

static void free_jobs(auth_job *j)
{
	while (j) {
		auth_job *n = j->next;
		sodium_memzero(j, sizeof *j);
		free(j);
		j = n;
	}
}

void auth_stop(kt_server *srv)
{
	kt_auth *a = srv->auth;
	if (!a)
		return;
	pthread_mutex_lock(&a->mu);
	a->stop = true;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
	for (int i = 0; i < a->nthreads; i++)
		pthread_join(a->th[i], NULL);
	free_jobs(a->todo_head);
	free_jobs(a->done);
	free_jobs(a->wait_head);
	pthread_mutex_destroy(&a->mu);
	pthread_cond_destroy(&a->cv);
	throttle_close(a->thr);
	free(a);
	srv->auth = NULL;
}

/* Hand a job to the workers (loop thread; takes j). */
static void enqueue(kt_auth *a, auth_job *j)
{
	pthread_mutex_lock(&a->mu);
	{
		/* fair between addresses: a job goes behind every job of a round no
		 * later than its own, so a guessing loop that queues many checks
		 * from one address waits behind one check of every other address
		 * instead of keeping everyone else waiting behind its backlog */
		auth_job *after = NULL;
		j->round = 0;
		for (auth_job *q = a->todo_head; q; q = q->next)
			j->round += strcmp(q->addr, j->addr) == 0;
		for (auth_job *q = a->todo_head; q && q->round <= j->round; q = q->next)
			after = q;
		if (!after) {
			j->next = a->todo_head;
			a->todo_head = j;
		} else {
			j->next = after->next;
			after->next = j;
		}
		if (!j->next)
			a->todo_tail = j;
	}
	a->queued++;
	pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mu);
}

static void free_job(auth_job *j)
{
	sodium_memzero(j, sizeof *j);
	free(j);
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
	if (wait ? a->waiting >= KT_AUTH_QUEUE : a->queued >= KT_AUTH_QUEUE) {
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
	auth_job *list;

	pthread_mutex_lock(&a->mu);
	list = a->done;
	a->done = NULL;
	pthread_mutex_unlock(&a->mu);
	while (list) {
		auth_job *j = list;
		kt_session *s = session_find(srv, j->session_id);
		list = j->next;
		/* counted whether or not the peer is still there to hear it */
		throttle_login_done(a->thr, &j->keys, j->rc);
		if (s && s->state == KT_SS_AUTH_PENDING) {
			if (j->rc == KT_OK) {
				session_signed_in(s, j->is_client, j->principal_id, j->token, j->expires_at);
			} else {
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
