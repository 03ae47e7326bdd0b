/* kc_client.c - the library's public entry points: open and close, sign-in,
 * run, stop, logout and the session summary. It never prints and never
 * exits; errors go to c->err and the state callback. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include <sodium.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include "kc_internal.h"

/* The page applier's thread (kc_sync.c) says what went wrong into a buffer
 * of its own, never into c->err, which the connection's thread uses. */
static _Thread_local char *err_to;
static _Thread_local size_t err_cap;

void kc_err_redirect(char *buf, size_t cap)
{
	err_to = buf;
	err_cap = cap;
}

void kc_set_err(kc_client *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err_to ? err_to : c->err, err_to ? err_cap : sizeof c->err, fmt, ap);
	va_end(ap);
}

bool kc_err_is_set(const kc_client *c)
{
	return (err_to ? err_to : c->err)[0] != 0;
}

const char *kc_last_error(const kc_client *c)
{
	return c ? c->err : "no client";
}

void kc_state(kc_client *c, int state, const char *code, const char *msg)
{
	if (c->cb.on_state)
		c->cb.on_state(c->cb.user, state, code, msg);
}

kc_client *kc_open(const char *dir, char *err, size_t errlen)
{
	kc_client *c;
	if (!dir || !*dir || strlen(dir) >= sizeof c->dir) {
		if (errlen)
			snprintf(err, errlen, "directory name is empty or too long");
		return NULL;
	}
	if (sodium_init() < 0 || !(c = calloc(1, sizeof *c))) {
		if (errlen)
			snprintf(err, errlen, "cannot initialise (out of memory or no randomness)");
		return NULL;
	}
	c->lock_fd = -1;
	atomic_init(&c->ctx, NULL);
	atomic_init(&c->stop, 0);
	snprintf(c->dir, sizeof c->dir, "%s", dir);
	if (kc_cache_open(c)) {
		if (errlen)
			snprintf(err, errlen, "%s", c->err);
		kc_close(c);
		return NULL;
	}
	return c;
}

void kc_close(kc_client *c)
{
	if (!c)
		return;
	kc_conn_close(c);
	(void)kc_sync_drain(c);
	kc_cache_close(c);
	if (c->lock_fd >= 0)
		close(c->lock_fd); /* also releases a lock still held */
	sodium_memzero(c, sizeof *c);
	free(c);
}

void kc_set_callbacks(kc_client *c, const kc_callbacks *cb)
{
	static const kc_callbacks none;
	c->cb = cb ? *cb : none;
}

int kc_set_server(kc_client *c, const char *url)
{
	char host[256], path[256];
	int port;
	bool tls;
	if (kc_parse_url(url, host, sizeof host, &port, path, sizeof path, &tls)) {
		kc_set_err(c, "the server must look like ws://HOST:PORT[/PATH] or wss://HOST:PORT[/PATH], got %.200s",
			   url ? url : "nothing");
		return KT_EINVALID;
	}
	kc_conn_close(c); /* the next run makes a context for this scheme */
	return kc_meta_set(c, "server", url, strlen(url));
}

int kc_set_ca_file(kc_client *c, const char *path)
{
	char abs[PATH_MAX];
	FILE *f;
	X509 *x;
	if (!path) {
		kc_conn_close(c);
		return kc_meta_del(c, "ca_file");
	}
	/* checked now, so a typo is not reported later as an unknown CA */
	if (!realpath(path, abs) || !(f = fopen(abs, "r"))) {
		kc_set_err(c, "CA file %.300s: %s", path, strerror(errno));
		return KT_EINVALID;
	}
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	ERR_clear_error();
	if (!x) {
		kc_set_err(c, "CA file %.300s: no PEM certificate in it (a block starting -----BEGIN CERTIFICATE-----)",
			   path);
		return KT_EINVALID;
	}
	X509_free(x);
	kc_conn_close(c);
	return kc_meta_set(c, "ca_file", abs, strlen(abs));
}

/* One process at a time may talk to the server for a directory: two would
 * interleave snapshots and cursors in one cache. Readers need no lock. */
int kc_lock(kc_client *c)
{
	if (flock(c->lock_fd, LOCK_EX | LOCK_NB) == 0)
		return KT_OK;
	if (errno == EWOULDBLOCK) {
		kc_set_err(c, "another process is syncing %s (a running watch?)", c->dir);
		return KT_EBUSY;
	}
	kc_set_err(c, "cannot lock %s: %s", c->dir, strerror(errno));
	return KT_EIO;
}

void kc_unlock(kc_client *c)
{
	(void)flock(c->lock_fd, LOCK_UN);
}

int kc_login(kc_client *c, const char *email, const char *password, int timeout_ms)
{
	int rc;
	if (!email || !password || !*email || strlen(email) > KT_MAX_EMAIL || strlen(password) > KT_MAX_PASSWORD) {
		kc_set_err(c, "an e-mail (at most %d bytes) and a password (at most %d) are needed", KT_MAX_EMAIL,
			   KT_MAX_PASSWORD);
		return KT_EINVALID;
	}
	if ((rc = kc_lock(c)))
		return rc;
	c->mode = KC_MODE_LOGIN;
	c->login_email = email;
	c->login_password = password;
	c->device_renewed = false;
	rc = kc_conn_run(c, timeout_ms, false);
	if (rc == KT_EDEVICE_TAKEN && c->device_renewed)
		rc = kc_conn_run(c, timeout_ms, false); /* once more, with the new device id */
	c->login_email = c->login_password = NULL;
	kc_unlock(c);
	return rc;
}

int kc_run(kc_client *c, int mode, int timeout_ms)
{
	char token[KT_MAX_TOKEN + 1];
	int rc;
	if (mode != KC_UNTIL_SYNCED && mode != KC_FOREVER) {
		kc_set_err(c, "unknown mode %d", mode);
		return KT_EINVALID;
	}
	rc = kc_meta_get(c, "token", token, sizeof token);
	sodium_memzero(token, sizeof token);
	if (rc == KT_ENOT_FOUND) {
		kc_set_err(c, "not signed in (run: kartoteka-client login EMAIL)");
		return KT_EUNAUTH;
	}
	if (rc || (rc = kc_lock(c)))
		return rc;
	c->mode = mode;
	rc = kc_conn_run(c, timeout_ms, mode == KC_FOREVER);
	kc_unlock(c);
	return rc;
}

int kc_sign_out(kc_client *c, int timeout_ms)
{
	char token[KT_MAX_TOKEN + 1];
	int rc = kc_meta_get(c, "token", token, sizeof token);
	sodium_memzero(token, sizeof token);
	if (rc == KT_ENOT_FOUND)
		return KT_OK; /* no session to end */
	if (rc || (rc = kc_lock(c)))
		return rc;
	c->mode = KC_MODE_LOGOUT;
	rc = kc_conn_run(c, timeout_ms, false);
	kc_unlock(c);
	return rc;
}

void kc_stop(kc_client *c)
{
	struct lws_context *ctx;
	atomic_store(&c->stop, 1);
	/* lws_cancel_service only writes to the context's event fd: safe from
	 * another thread and from a signal handler */
	if ((ctx = atomic_load(&c->ctx)))
		lws_cancel_service(ctx);
}

int64_t kc_waiting(kc_client *c)
{
	sqlite3_stmt *s;
	int64_t n = -1;
	if (sqlite3_prepare_v2(c->db, "SELECT (SELECT count(*) FROM queue) + (SELECT count(*) FROM events)", -1, &s,
			       NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return n;
}

int kc_logout(kc_client *c, int discard_queued)
{
	int64_t waiting;
	int rc;
	if ((rc = kc_lock(c)))
		return rc;
	if (!discard_queued && (waiting = kc_waiting(c)) != 0) {
		if (waiting < 0)
			kc_set_err(c, "cache: %s", sqlite3_errmsg(c->db));
		else
			kc_set_err(c, "%lld edit%s or view%s not pushed yet",
				   (long long)waiting, waiting == 1 ? "" : "s", waiting == 1 ? "" : "s");
		rc = waiting < 0 ? KT_EIO : KT_ECONFLICT;
	} else {
		rc = kc_cache_wipe(c);
	}
	kc_unlock(c);
	return rc;
}

int kc_info_get(kc_client *c, kc_info *out)
{
	static const struct {
		const char *key;
		size_t off, cap;
	} keys[] = {
#define K(k) {#k, offsetof(kc_info, k), sizeof((kc_info *)0)->k}
		K(server), K(device_id), K(principal_kind), K(principal_id), K(principal_role), K(principal_name), K(org),
		K(ca_file),
#undef K
	};
	char token[KT_MAX_TOKEN + 1], cursor[2 * KT_MAX_CURSOR + 2];
	int rc;
	memset(out, 0, sizeof *out);
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (kc_meta_get(c, keys[i].key, (char *)out + keys[i].off, keys[i].cap) == KT_EIO)
			return KT_EIO;
	rc = kc_meta_get(c, "token", token, sizeof token);
	sodium_memzero(token, sizeof token);
	out->signed_in = rc == KT_OK;
	out->has_cursor = kc_meta_get(c, "cursor", cursor, sizeof cursor) == KT_OK;
	return KT_OK;
}
