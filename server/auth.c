/* auth.c - sign-in. Password checks (Argon2id, ~0.1 s and 64 MiB each) run
 * on KT_AUTH_WORKERS threads with their own database connection, so a login
 * never stalls the event loop; finished checks are handed back through a
 * queue and lws_cancel_service(). Tokens are 32 random bytes; only a keyed
 * BLAKE2b hash of them is stored. Failed attempts are throttled per account
 * and per address. Never logs passwords, tokens or e-mail addresses. */
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
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
} auth_job;

#define THROTTLE_SLOTS 4096

typedef struct throttle {
	uint8_t key[16]; /* keyed hash of "a:" + e-mail or "i:" + address */
	int fails;
	int64_t locked_until;
	int64_t last;
	bool stored;     /* a lock-out of it is in the database (lockout_save) */
} throttle;

struct kt_auth {
	kt_server *srv;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	auth_job *todo_head, *todo_tail, *done;
	int queued;
	bool stop;
	pthread_t th[KT_AUTH_WORKERS];
	int nthreads;
	throttle slots[THROTTLE_SLOTS];
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

static void lockout_load(kt_auth *a);

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
	srv->auth = a;
	lockout_load(a);
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
	pthread_mutex_destroy(&a->mu);
	pthread_cond_destroy(&a->cv);
	free(a);
	srv->auth = NULL;
}

/* ---- throttling (loop thread only) ---- */

static throttle *slot_of(kt_auth *a, const uint8_t h[16]);

static throttle *throttle_slot(kt_auth *a, const char *kind, const char *key, size_t klen)
{
	uint8_t h[16];
	crypto_generichash_state st;
	/* keyed: the lock-outs kept in the database name no e-mail or address */
	crypto_generichash_init(&st, a->srv->token_key, sizeof a->srv->token_key, sizeof h);
	crypto_generichash_update(&st, (const uint8_t *)kind, strlen(kind));
	for (size_t i = 0; i < klen; i++) {
		uint8_t c = (uint8_t)key[i];
		if (c >= 'A' && c <= 'Z')
			c = (uint8_t)(c + 32); /* e-mails compare case-insensitively */
		crypto_generichash_update(&st, &c, 1);
	}
	crypto_generichash_final(&st, h, sizeof h);
	return slot_of(a, h);
}

static throttle *slot_of(kt_auth *a, const uint8_t h[16])
{
	throttle *oldest = NULL;
	/* small open-addressed table; on overflow the least recent entry is reused */
	uint32_t start = ((uint32_t)h[0] << 8 | h[1]) % THROTTLE_SLOTS;
	for (int i = 0; i < 16; i++) {
		throttle *t = &a->slots[(start + (uint32_t)i) % THROTTLE_SLOTS];
		if (memcmp(t->key, h, sizeof t->key) == 0)
			return t;
		if (!oldest || t->last < oldest->last)
			oldest = t;
	}
	memset(oldest, 0, sizeof *oldest);
	memcpy(oldest->key, h, sizeof oldest->key);
	return oldest;
}

static bool locked(const throttle *t, int64_t now)
{
	return t->locked_until > now;
}

/* Lock-outs outlive a restart: each is kept in meta under "lockout:" + the
 * slot's hex key until a good sign-in clears it (small writes on the loop
 * thread, as for the device register; only when an account or address gets
 * locked, which a guesser reaches at most once a second per account). */
#define LOCKOUT_PREFIX "lockout:"
#define LOCKOUT_FORGET_MS (24LL * 3600 * 1000) /* an old, expired lock-out is dropped at start */

static void lockout_name(const throttle *t, char out[sizeof LOCKOUT_PREFIX + 32])
{
	memcpy(out, LOCKOUT_PREFIX, sizeof LOCKOUT_PREFIX - 1);
	kt_hex(out + sizeof LOCKOUT_PREFIX - 1, t->key, sizeof t->key);
}

static void lockout_save(kt_auth *a, throttle *t)
{
	char name[sizeof LOCKOUT_PREFIX + 32], val[64];
	int n = snprintf(val, sizeof val, "%d %lld %lld", t->fails, (long long)t->locked_until, (long long)t->last);
	lockout_name(t, name);
	if (store_meta_set(a->srv->st, name, val, (size_t)n) == KT_OK)
		t->stored = true;
	else
		kt_warn("auth: a lock-out was not saved; it ends if the server restarts");
}

static void lockout_clear(kt_auth *a, throttle *t)
{
	char name[sizeof LOCKOUT_PREFIX + 32];
	sqlite3_stmt *q;
	if (!t->stored)
		return;
	lockout_name(t, name);
	if (sqlite3_prepare_v2(store_db(a->srv->st), "DELETE FROM meta WHERE key = ?", -1, &q, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_DONE)
		t->stored = false;
	sqlite3_finalize(q);
}

/* The lock-outs a previous run left, back into the table. */
static void lockout_load(kt_auth *a)
{
	sqlite3 *db = store_db(a->srv->st);
	sqlite3_stmt *q;
	int64_t now = kt_now_ms();
	if (sqlite3_prepare_v2(db, "SELECT key, value FROM meta WHERE key >= '" LOCKOUT_PREFIX "' AND key < 'lockout;'",
			       -1, &q, NULL) != SQLITE_OK)
		return;
	while (sqlite3_step(q) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(q, 0), *v = (const char *)sqlite3_column_text(q, 1);
		uint8_t h[16];
		int fails;
		long long until, last;
		if (!k || !v || !kt_unhex(h, sizeof h, k + sizeof LOCKOUT_PREFIX - 1, strlen(k + sizeof LOCKOUT_PREFIX - 1)) ||
		    sscanf(v, "%d %lld %lld", &fails, &until, &last) != 3 || (until < now && last < now - LOCKOUT_FORGET_MS))
			continue; /* (left in place: cleared by the next good sign-in, or harmless) */
		throttle *t = slot_of(a, h);
		t->fails = fails;
		t->locked_until = until;
		t->last = last;
		t->stored = true;
	}
	sqlite3_finalize(q);
}

static void note_failure(kt_auth *a, throttle *t, int free_fails, int64_t now)
{
	t->fails++;
	t->last = now;
	if (t->fails >= free_fails) { /* the free failures are used up: lock, doubling each time */
		int shift = t->fails - free_fails;
		int64_t lock_s = shift >= 10 ? KT_THROTTLE_MAX_LOCK_S : (int64_t)1 << shift;
		if (lock_s > KT_THROTTLE_MAX_LOCK_S)
			lock_s = KT_THROTTLE_MAX_LOCK_S;
		t->locked_until = now + lock_s * 1000;
		lockout_save(a, t);
	}
}

int auth_submit_login(kt_server *srv, kt_session *s, const char *email, size_t elen, const char *pw,
		      size_t plen)
{
	kt_auth *a = srv->auth;
	int64_t now = kt_now_ms();
	throttle *acc = throttle_slot(a, "a:", email, elen);
	throttle *ip = throttle_slot(a, "i:", s->addr, strlen(s->addr));
	auth_job *j;

	if (locked(acc, now) || locked(ip, now))
		return KT_ETHROTTLED;
	if (a->queued >= KT_AUTH_QUEUE)
		return KT_EBUSY;
	if (!(j = calloc(1, sizeof *j)))
		return KT_ENOMEM;
	j->session_id = s->id;
	memcpy(j->email, email, elen);
	memcpy(j->password, pw, plen);
	memcpy(j->device, s->device, sizeof j->device);
	memcpy(j->app, s->app, sizeof j->app);
	memcpy(j->addr, s->addr, sizeof j->addr);
	pthread_mutex_lock(&a->mu);
	{
		/* fair between addresses: a job goes behind every job of a round no
		 * later than its own, so a guessing loop that queues many checks
		 * from one address waits behind one check of every other address
		 * instead of keeping everyone else waiting behind its backlog */
		auth_job *after = NULL;
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
	return KT_OK;
}

void auth_deliver(kt_server *srv)
{
	kt_auth *a = srv->auth;
	auth_job *list;
	int64_t now = kt_now_ms();

	pthread_mutex_lock(&a->mu);
	list = a->done;
	a->done = NULL;
	pthread_mutex_unlock(&a->mu);
	while (list) {
		auth_job *j = list;
		kt_session *s = session_find(srv, j->session_id);
		list = j->next;
		throttle *acc = throttle_slot(a, "a:", j->email, strlen(j->email));
		if (s && s->state == KT_SS_AUTH_PENDING) {
			throttle *ip = throttle_slot(a, "i:", s->addr, strlen(s->addr));
			if (j->rc == KT_OK) {
				acc->fails = 0;
				acc->locked_until = 0;
				lockout_clear(a, acc);
				session_signed_in(s, j->is_client, j->principal_id, j->token, j->expires_at);
			} else {
				s->state = KT_SS_AUTH;
				if (j->rc == KT_EAUTH_FAILED) {
					note_failure(a, acc, KT_THROTTLE_ACCOUNT_FREE, now);
					note_failure(a, ip, KT_THROTTLE_ADDR_FREE, now);
					s->auth_fails++;
				}
				session_error(s, j->rc, j->rc == KT_EDEVICE_TAKEN ? KT_DEVICE_TAKEN_MSG : NULL, "login",
					      j->rc == KT_EAUTH_FAILED && s->auth_fails >= KT_MAX_AUTH_FAILS_PER_CONN);
			}
		} else if (j->rc == KT_EAUTH_FAILED) {
			note_failure(a, acc, KT_THROTTLE_ACCOUNT_FREE, now); /* peer left; still counts */
		}
		sodium_memzero(j, sizeof *j);
		free(j);
	}
}

int auth_resume(kt_server *srv, kt_session *s, const char *token, size_t len, bool *is_client,
		char principal_id[KT_UUID_LEN + 1], int64_t *expires_at)
{
	uint8_t tok[32], th[32];
	int64_t now = kt_now_ms();
	throttle *ip = throttle_slot(srv->auth, "i:", s->addr, strlen(s->addr));
	int rc;

	if (locked(ip, now))
		return KT_ETHROTTLED;
	if (!kt_unhex(tok, sizeof tok, token, len)) {
		note_failure(srv->auth, ip, KT_THROTTLE_ADDR_FREE, now);
		return KT_EAUTH_FAILED;
	}
	auth_token_hash(srv, tok, sizeof tok, th);
	sodium_memzero(tok, sizeof tok);
	rc = store_session_find(srv->st, th, sizeof th, s->device, is_client, principal_id, expires_at);
	if (rc == KT_ENOT_FOUND) {
		note_failure(srv->auth, ip, KT_THROTTLE_ADDR_FREE, now);
		return KT_EAUTH_FAILED;
	}
	if (!rc)
		rc = store_device_seen(srv->st, s->device, *is_client, principal_id, s->app);
	return rc;
}
