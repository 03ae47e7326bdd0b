/* kc_sync.c - the protocol conversation (hello, sign-in, sync) and the
 * library's public entry points. Each server message is applied to the
 * cache in one transaction with its cursor before anything else happens. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "kc_internal.h"

void kc_set_err(kc_client *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->err, sizeof c->err, fmt, ap);
	va_end(ap);
}

const char *kc_last_error(const kc_client *c)
{
	return c->err;
}

void kc_state(kc_client *c, int state, const char *code, const char *msg)
{
	if (c->cb.on_state)
		c->cb.on_state(c->cb.user, state, code, msg);
}

kc_client *kc_open(const char *dir, char *err, size_t errlen)
{
	kc_client *c = calloc(1, sizeof *c);
	if (!c || sodium_init() < 0) {
		snprintf(err, errlen, "out of memory");
		free(c);
		return NULL;
	}
	snprintf(c->dir, sizeof c->dir, "%s", dir);
	if (kc_cache_open(c)) {
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
	kc_cache_close(c);
	free(c);
}

void kc_set_callbacks(kc_client *c, const kc_callbacks *cb)
{
	c->cb = *cb;
}

int kc_set_server(kc_client *c, const char *url)
{
	if (strncmp(url, "ws://", 5) != 0) {
		kc_set_err(c, "server must look like ws://HOST:PORT");
		return KT_EINVALID;
	}
	return kc_meta_set(c, "server", url);
}

void kc_stop(kc_client *c)
{
	c->stop = 1;
	if (c->ctx)
		lws_cancel_service(c->ctx);
}

static void finish(kc_client *c, int result)
{
	c->result = result;
	c->done = true;
}

void kc_on_connected(kc_client *c)
{
	c->pushing = false;
	c->sync_sent = false;
	char device[64];
	kt_mpw w;
	kt_hello h = {0};
	if (kc_meta(c, "device_id", device, sizeof device))
		return;
	h.versions = 1u << KT_PROTO_VERSION;
	h.device = (kt_str){device, strlen(device)};
	h.app = (kt_str){"kartoteka-client/0.1", 20};
	kt_mpw_init(&w);
	proto_hello_encode(&w, &h);
	(void)kc_send(c, &w);
	kt_mpw_free(&w);
}

static int send_auth(kc_client *c)
{
	char token[KT_MAX_TOKEN + 1];
	kt_mpw w;
	int rc;
	kt_mpw_init(&w);
	if (c->login_email) {
		kt_login l = {{c->login_email, strlen(c->login_email)}, {c->login_password, strlen(c->login_password)}};
		proto_login_encode(&w, &l);
	} else if (kc_meta(c, "token", token, sizeof token) == KT_OK) {
		kt_resume r = {{token, strlen(token)}};
		proto_resume_encode(&w, &r);
		sodium_memzero(token, sizeof token);
	} else {
		kc_set_err(c, "not signed in (run: kartoteka-client login EMAIL)");
		c->fatal = true;
		finish(c, KT_EUNAUTH);
		kt_mpw_free(&w);
		return KT_EUNAUTH;
	}
	rc = kc_send(c, &w);
	sodium_memzero(w.sb.data, w.sb.size);
	kt_mpw_free(&w);
	return rc;
}

static int send_cursor_msg(kc_client *c, bool ack)
{
	uint8_t cur[KT_MAX_CURSOR];
	size_t len;
	kt_mpw w;
	int rc;
	kc_cache_cursor(c, cur, sizeof cur, &len);
	if (ack && !len)
		return KT_OK;
	kt_cursor_msg m = {len > 0, {(const char *)cur, len}};
	kt_mpw_init(&w);
	if (ack)
		proto_ack_encode(&w, &m);
	else
		proto_sync_encode(&w, &m);
	rc = kc_send(c, &w);
	kt_mpw_free(&w);
	return rc;
}

/* Offline edits go first, in order, in batches; then the stream. */
static int push_then_sync(kc_client *c)
{
	bool sent;
	int rc = kc_queue_push(c, &sent);
	if (rc || sent || c->sync_sent)
		return rc;
	c->sync_sent = true;
	return send_cursor_msg(c, false);
}

static int on_auth_ok(kc_client *c, const unsigned char *buf, size_t len)
{
	kt_auth_ok m;
	char tmp[512];
	int rc;
	if ((rc = proto_auth_ok_decode(buf, len, &m)))
		return rc;
#define META(key, val)                                                                             \
	do {                                                                                       \
		snprintf(tmp, sizeof tmp, "%.*s", (int)(val).len, (val).s);                         \
		if (kc_meta_set(c, key, tmp))                                                      \
			return KT_EIO;                                                             \
	} while (0)
	char old_principal[64] = "";
	kc_meta(c, "principal_id", old_principal, sizeof old_principal);
	snprintf(tmp, sizeof tmp, "%.*s", (int)m.id.len, m.id.s);
	if (old_principal[0] && strcmp(old_principal, tmp) != 0) {
		/* another person on this device: nothing of the previous one may stay */
		if (kc_tx(c, "DELETE FROM rows; DELETE FROM meta WHERE key = 'cursor'"))
			return KT_EIO;
	}
	META("token", m.token);
	META("principal_kind", m.kind);
	META("principal_id", m.id);
	META("principal_role", m.role);
	META("principal_name", m.name);
	META("org", m.org);
#undef META
	sodium_memzero(tmp, sizeof tmp);
	kc_state(c, KC_ST_SIGNED_IN, NULL, NULL);
	if (c->mode < 0) {
		finish(c, KT_OK); /* login only */
		return KT_OK;
	}
	return push_then_sync(c);
}

static int on_error(kc_client *c, const unsigned char *buf, size_t len)
{
	kt_error_msg m;
	char code[64], msg[512];
	int rc;
	if ((rc = proto_error_decode(buf, len, &m)))
		return rc;
	snprintf(code, sizeof code, "%.*s", (int)m.code.len, m.code.s);
	snprintf(msg, sizeof msg, "%.*s", (int)m.msg.len, m.msg.s);
	kc_set_err(c, "%s (%s)", msg, code);
	kc_state(c, KC_ST_ERROR, code, msg);
	rc = kt_err_from_name(code, strlen(code));
	if (rc == KT_EBAD_CURSOR)
		return KT_OK; /* a snapshot follows */
	if (m.re.s && kt_mp_str_eq(m.re.s, m.re.len, "push")) {
		/* nothing of that push was kept: it stays queued for the next connection */
		c->pushing = false;
		if (!c->sync_sent) {
			c->sync_sent = true;
			return send_cursor_msg(c, false);
		}
		return KT_OK;
	}
	if (rc == KT_EAUTH_FAILED || rc == KT_ETHROTTLED || rc == KT_EUNAUTH) {
		if (rc == KT_EAUTH_FAILED && !c->login_email)
			kc_meta_del(c, "token"); /* the token is dead: sign in again */
		c->fatal = true;
		finish(c, rc);
		return KT_OK;
	}
	return KT_OK;
}

struct apply_ctx {
	kc_client *c;
	int n;
	int64_t *done;
};

static int apply_one(void *user, const kt_op *op)
{
	struct apply_ctx *a = user;
	int rc = kc_cache_apply(a->c, op);
	a->n++;
	return rc;
}

static int notify_one(void *user, const kt_op *op)
{
	kc_client *c = user;
	char tbl[64], id[64];
	if (!c->cb.on_op)
		return 0;
	snprintf(tbl, sizeof tbl, "%.*s", (int)op->tbl.len, op->tbl.s);
	snprintf(id, sizeof id, "%.*s", (int)op->id.len, op->id.s);
	c->cb.on_op(c->cb.user, op->op == KT_OP_PUT ? KC_OP_PUT : op->op == KT_OP_DELETE ? KC_OP_DELETE : KC_OP_EVICT,
		    tbl, id, op->v);
	return 0;
}

/* One page or changes message: all ops and the cursor in one transaction. */
static int apply_batch(kc_client *c, const unsigned char *buf, size_t len, bool changes)
{
	struct apply_ctx a = {c, 0, NULL};
	kt_str cursor = {0};
	int rc;
	if ((rc = kc_tx(c, "BEGIN IMMEDIATE")))
		return rc;
	rc = changes ? proto_changes_decode(buf, len, apply_one, &a, &cursor)
		     : proto_page_decode(buf, len, apply_one, &a);
	if (!rc && changes)
		rc = kc_cache_set_cursor(c, &cursor);
	if (rc) {
		kc_tx(c, "ROLLBACK");
		kc_set_err(c, "could not apply a server message (%s)", kt_strerror(rc));
		return rc;
	}
	if ((rc = kc_tx(c, "COMMIT")))
		return rc;
	/* callbacks only after the commit: what they report is durable. The
	 * message decoded once already, so a second pass cannot fail. */
	if (changes)
		rc = proto_changes_decode(buf, len, notify_one, c, NULL);
	else if (c->cb.on_op)
		rc = proto_page_decode(buf, len, notify_one, c);
	if (!changes) {
		(void)rc;
		c->snap_done += a.n;
		if (c->cb.on_progress)
			c->cb.on_progress(c->cb.user, c->snap_done, c->snap_total);
	}
	return KT_OK;
}

int kc_on_message(kc_client *c, const unsigned char *buf, size_t len)
{
	kt_msgtype t;
	kt_cursor_msg cm;
	kt_snapshot_begin sb;
	int rc = proto_msg_peek_type(buf, len, &t); /* decoders below are bounded themselves */
	if (rc == KT_EUNKNOWN_TYPE)
		return 0; /* a newer server's message: ignore */
	if (rc) {
		kc_set_err(c, "malformed message from the server");
		return -1;
	}
	switch (t) {
	case KT_MSG_WELCOME:
		rc = send_auth(c);
		break;
	case KT_MSG_AUTH_OK:
		rc = on_auth_ok(c, buf, len);
		break;
	case KT_MSG_ERROR:
		rc = on_error(c, buf, len);
		break;
	case KT_MSG_SNAPSHOT_BEGIN:
		if (!(rc = proto_snapshot_begin_decode(buf, len, &sb))) {
			c->snap_total = sb.total;
			c->snap_done = 0;
			rc = kc_cache_snapshot_begin(c);
			kc_state(c, KC_ST_SNAPSHOT, NULL, NULL);
		}
		break;
	case KT_MSG_PAGE:
		rc = apply_batch(c, buf, len, false);
		break;
	case KT_MSG_SNAPSHOT_END:
		if (!(rc = proto_snapshot_end_decode(buf, len, &cm)))
			rc = kc_cache_snapshot_end(c, &cm.cursor);
		break;
	case KT_MSG_CHANGES:
		rc = apply_batch(c, buf, len, true);
		break;
	case KT_MSG_PUSH_RESULT:
		if (!(rc = kc_queue_results(c, buf, len)))
			rc = push_then_sync(c);
		break;
	case KT_MSG_SYNCED:
		if (!(rc = proto_synced_decode(buf, len, &cm)) && !(rc = kc_cache_set_cursor(c, &cm.cursor))) {
			rc = send_cursor_msg(c, true);
			kc_state(c, KC_ST_SYNCED, NULL, NULL);
			if (c->mode == KC_UNTIL_SYNCED)
				finish(c, KT_OK);
		}
		break;
	default:
		break; /* device-to-server types are never sent to us */
	}
	return rc ? -1 : 0;
}

int kc_login(kc_client *c, const char *email, const char *password, int timeout_ms)
{
	int rc;
	c->mode = -1;
	c->login_email = email;
	c->login_password = password;
	c->result = KT_EIO;
	rc = kc_conn_run(c, timeout_ms, false);
	c->login_email = c->login_password = NULL;
	if (c->wsi)
		kc_conn_close(c); /* sign-in connections are not kept */
	return rc;
}

int kc_run(kc_client *c, int mode, int timeout_ms)
{
	c->mode = mode;
	c->result = KT_OK;
	return kc_conn_run(c, timeout_ms, true);
}

int kc_logout(kc_client *c)
{
	return kc_tx(c, "DELETE FROM rows; DELETE FROM meta WHERE key IN ('token', 'cursor', 'principal_kind',"
			" 'principal_id', 'principal_role', 'principal_name', 'org')");
}
