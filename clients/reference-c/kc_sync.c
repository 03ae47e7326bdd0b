/* kc_sync.c - what each server message means for the device: hello and
 * sign-in, then the sync stream. Every message is applied to the cache in
 * one transaction together with its cursor before the next one is read, and
 * callbacks report only what is committed. Rows are accepted only after our
 * sync, pages only inside a snapshot, changes only outside one: a cursor
 * must never be stored over a half-received snapshot. Queued offline edits
 * are pushed (kc_queue.c) before the sync is asked for. */
#include <stdio.h>
#include <string.h>
#include <sodium.h>
#include "kc_internal.h"

#define KC_APP "kartoteka-client-c/1"

static void finish(kc_client *c, int result)
{
	c->result = result;
	c->done = true;
}

/* Say why this connection is given up (when the message layer returns
 * non-zero, kc_conn closes it). */
static void report(kc_client *c, int rc, const char *what)
{
	if (!c->err[0])
		kc_set_err(c, "%s: %s", what, kt_strerror(rc));
	if (!c->conn_err)
		c->conn_err = rc;
	kc_state(c, KC_ST_ERROR, kt_err_name(rc), c->err);
}

static int send_packed(kc_client *c, kt_mpw *w)
{
	int rc = kc_send(c, w);
	sodium_memzero(w->sb.data, w->sb.size); /* it may hold a password or token */
	kt_mpw_free(w);
	return rc;
}

/* Until the next connection has signed in, nothing may be sent on it but
 * hello: the next one is already c->wsi while its WebSocket opens (which
 * takes a while on a slow network), and an ack or a queue poll due then,
 * with the old connection's state, went out before the hello and got
 * `unauthenticated`, which ended `watch`. So the state ends with the
 * connection, not when the next one opens. */
void kc_sync_end(kc_client *c)
{
	/* what the applier still holds is committed (or failed) before the
	 * session's state goes */
	if (kc_sync_drain(c) && !c->conn_err)
		c->conn_err = KT_EIO;
	c->authed = c->sync_sent = c->in_snapshot = c->pushing = false;
	c->ack_dirty = false;
	c->ack_due_us = 0;
	c->queue_poll_us = 0;
}

void kc_sync_start(kc_client *c)
{
	char device[64];
	kt_hello h = {0};
	kt_mpw w;

	kc_sync_end(c);
	c->err[0] = 0;
	if (kc_meta_get(c, "device_id", device, sizeof device) != KT_OK) {
		report(c, KT_EIO, "cannot read the device id");
		kc_conn_drop(c, KT_EIO);
		return;
	}
	h.versions = 1u << KT_PROTO_VERSION;
	h.device = (kt_str){device, strlen(device)};
	h.app = (kt_str){KC_APP, sizeof KC_APP - 1};
	kt_mpw_init(&w);
	proto_hello_encode(&w, &h);
	if (send_packed(c, &w)) {
		report(c, KT_ENOMEM, "cannot send hello");
		kc_conn_drop(c, KT_ENOMEM);
	}
}

static int on_welcome(kc_client *c, const unsigned char *buf, size_t len)
{
	char token[KT_MAX_TOKEN + 1];
	kt_welcome m;
	kt_mpw w;
	int rc;

	if ((rc = proto_welcome_decode(buf, len, &m)))
		return rc;
	if (m.v != KT_PROTO_VERSION) {
		kc_set_err(c, "the server speaks protocol version %lld, this client %d", (long long)m.v,
			   KT_PROTO_VERSION);
		finish(c, KT_EPROTO_VERSION);
		return KT_EPROTO_VERSION;
	}
	kt_mpw_init(&w);
	if (c->mode == KC_MODE_LOGIN) {
		kt_login l = {{c->login_email, strlen(c->login_email)},
			      {c->login_password, strlen(c->login_password)}};
		proto_login_encode(&w, &l);
	} else if (kc_meta_get(c, "token", token, sizeof token) == KT_OK) {
		kt_resume r = {{token, strlen(token)}};
		proto_resume_encode(&w, &r);
		sodium_memzero(token, sizeof token);
	} else {
		kt_mpw_free(&w);
		kc_set_err(c, "not signed in (run: kartoteka-client login EMAIL)");
		finish(c, KT_EUNAUTH);
		return KT_OK;
	}
	return send_packed(c, &w) ? KT_ENOMEM : KT_OK;
}

static int send_sync(kc_client *c)
{
	kt_cursor_msg m;
	kt_mpw w;
	kc_cache_load_cursor(c);
	m.has_cursor = c->cursor_len > 0;
	m.cursor = (kt_str){(const char *)c->cursor, c->cursor_len};
	kt_mpw_init(&w);
	proto_sync_encode(&w, &m);
	if (send_packed(c, &w))
		return KT_ENOMEM;
	c->sync_sent = true;
	return KT_OK;
}

/* Offline edits go first, in order, in batches (one push in flight); then
 * the stream. */
static int push_then_sync(kc_client *c)
{
	bool sent;
	int rc = kc_queue_push(c, &sent);
	if (rc || sent || c->sync_sent)
		return rc;
	return send_sync(c);
}

static int on_push_result(kc_client *c, const unsigned char *buf, size_t len)
{
	int rc;
	if (!c->authed || !c->pushing)
		return KT_EBAD_STATE;
	if ((rc = kc_queue_results(c, buf, len)))
		return rc;
	return push_then_sync(c);
}

static int on_auth_ok(kc_client *c, unsigned char *buf, size_t len)
{
	char name[260];
	kt_auth_ok m;
	int rc;

	if (c->authed)
		return KT_EBAD_STATE;
	if ((rc = proto_auth_ok_decode(buf, len, &m)))
		return rc;
	if (m.token.len == 0 || m.id.len == 0)
		return KT_EMALFORMED;
	rc = kc_cache_store_principal(c, &m);
	snprintf(name, sizeof name, "%.*s", (int)m.name.len, m.name.s);
	sodium_memzero(buf, len); /* the frame holds the session token */
	if (rc)
		return rc;
	c->authed = true;
	c->signin_deadline_us = 0;
	c->backoff_ms = KC_BACKOFF_MIN_MS; /* the server is healthy again */
	kc_state(c, KC_ST_SIGNED_IN, NULL, name);
	if (c->mode == KC_MODE_LOGOUT) { /* end this session on the server; it answers with revoked */
		kt_mpw w;
		kt_mpw_init(&w);
		proto_logout_encode(&w);
		return send_packed(c, &w) ? KT_ENOMEM : KT_OK;
	}
	if (c->mode == KC_MODE_LOGIN) {
		finish(c, KT_OK);
		return KT_OK;
	}
	return push_then_sync(c);
}

static int on_error(kc_client *c, const unsigned char *buf, size_t len)
{
	char code[72], msg[400];
	kt_error_msg m;
	int rc;

	if ((rc = proto_error_decode(buf, len, &m)))
		return rc;
	snprintf(code, sizeof code, "%.*s", (int)m.code.len, m.code.s);
	snprintf(msg, sizeof msg, "%.*s", (int)m.msg.len, m.msg.s);
	kc_set_err(c, "%s (%s)", msg, code);
	kc_state(c, KC_ST_ERROR, code, msg);
	rc = kt_err_from_name(m.code.s, m.code.len);
	if (m.re.s && kt_mp_str_eq(m.re.s, m.re.len, "push")) {
		/* nothing of that push was kept: it stays queued for the next connection */
		c->pushing = false;
		return c->authed && !c->sync_sent ? send_sync(c) : KT_OK;
	}
	if (m.re.s && kt_mp_str_eq(m.re.s, m.re.len, "logout") && rc == KT_EREVOKED) {
		/* the server ended it: nothing to resume */
		finish(c, kc_meta_del(c, "token") == KT_EIO ? KT_EIO : KT_OK);
		return KT_OK;
	}
	switch (rc) {
	case KT_EDEVICE_REVOKED:
		/* a lost or stolen device: keep nothing; a new device id if it is ever
		 * signed in again */
		if (kc_cache_wipe(c) || kc_meta_del(c, "token") == KT_EIO || kc_meta_del(c, "device_id") == KT_EIO) {
			kc_set_err(c, "this device's access was revoked, and wiping its data failed: %s",
				   sqlite3_errmsg(c->db));
			finish(c, KT_EIO);
			return KT_OK;
		}
		kc_set_err(c, "this device's access was revoked by the salon: all its data, edits not sent yet included, "
			      "was wiped");
		kc_state(c, KC_ST_ERROR, "device_revoked", kc_last_error(c));
		finish(c, rc);
		return KT_OK;
	case KT_EREVOKED: {
		/* whoever comes next to this tablet must not read the person's data */
		if (kc_cache_forget_rows(c))
			return KT_EIO;
		long long kept = (long long)kc_queue_count(c);
		char keep[160] = "";
		if (kept)
			snprintf(keep, sizeof keep, " (%lld edit%s not sent yet %s kept, and sent when the same person signs in again)",
				 kept, kept == 1 ? "" : "s", kept == 1 ? "is" : "are");
		kc_set_err(c, "%s: the salon's data on this device was removed%s; sign in again to go on", msg, keep);
		finish(c, rc);
		return KT_OK;
	}
	case KT_EBAD_CURSOR:
		return KT_OK; /* not fatal: a snapshot follows */
	case KT_EAUTH_FAILED:
		/* a refused or revoked token is dead: forget it so nobody retries it */
		if (c->mode != KC_MODE_LOGIN && kc_meta_del(c, "token"))
			return KT_EIO;
		finish(c, rc);
		return KT_OK;
	case KT_EDEVICE_TAKEN:
		if (c->mode == KC_MODE_LOGIN && !c->device_renewed) {
			/* the device id is still another person's (they never signed
			 * out here): sign in with a new id; once in, nothing of theirs
			 * stays (kc_cache_store_principal) */
			char id[KT_UUID_LEN + 1];
			kt_uuid7(id);
			if (kc_meta_set(c, "device_id", id, KT_UUID_LEN)) {
				finish(c, KT_EIO);
				return KT_OK;
			}
			c->device_renewed = true;
		}
		finish(c, rc);
		return KT_OK;
	case KT_EUNAUTH:
	case KT_ETHROTTLED:
	case KT_EPROTO_VERSION:
		finish(c, rc);
		return KT_OK;
	case KT_EBUSY:
		if (c->authed)
			return KT_OK;
		if (c->mode == KC_FOREVER)
			kc_conn_drop(c, KT_EBUSY); /* come back after a backoff */
		else
			finish(c, KT_EBUSY);
		return KT_OK;
	default:
		if (m.fatal && !c->conn_err)
			c->conn_err = rc; /* the server closes; kc_run reports this */
		return KT_OK;
	}
}

struct batch {
	kc_client *c;
	int64_t n;
};

static int apply_one(void *user, const kt_op *op)
{
	struct batch *b = user;
	b->n++;
	return kc_cache_apply(b->c, op);
}

static int notify_one(void *user, const kt_op *op)
{
	kc_client *c = user;
	char tbl[80], id[80];
	snprintf(tbl, sizeof tbl, "%.*s", (int)op->tbl.len, op->tbl.s);
	snprintf(id, sizeof id, "%.*s", (int)op->id.len, op->id.s);
	c->cb.on_op(c->cb.user,
		    op->op == KT_OP_PUT      ? KC_OP_PUT
		    : op->op == KT_OP_DELETE ? KC_OP_DELETE
					     : KC_OP_EVICT,
		    tbl, id, op->op == KT_OP_PUT ? op->v : 0);
	return 0;
}

/* One page or changes message: every row/op and the cursor in one
 * transaction. The cursor may come after the ops on the wire, so it is
 * stored once the whole message decoded. *rows: how many rows/ops. */
static int apply_batch(kc_client *c, const unsigned char *buf, size_t len, bool changes, int64_t *rows)
{
	struct batch b = {c, 0};
	kt_str cursor = {0};
	int rc;

	*rows = 0;
	if (kc_tx(c, "BEGIN IMMEDIATE"))
		return KT_EIO;
	/* another process (the CLI) may have queued edits since we last looked:
	 * count them inside our write transaction, where nobody can add more */
	c->queue_len = kc_queue_count(c);
	rc = changes ? proto_changes_decode(buf, len, apply_one, &b, &cursor) : proto_page_decode(buf, len, apply_one, &b);
	if (!rc && changes)
		rc = kc_cache_set_cursor(c, &cursor);
	if (!rc)
		rc = kc_tx(c, "COMMIT");
	if (rc) {
		kc_rollback(c);
		if (!kc_err_is_set(c))
			kc_set_err(c, "cannot apply the server's %s message (%s)", changes ? "changes" : "page",
				   kt_strerror(rc));
		return rc;
	}
	if (changes) {
		memcpy(c->cursor, cursor.s, cursor.len);
		c->cursor_len = cursor.len;
	}
	*rows = b.n;
	return KT_OK;
}

static void progress(kc_client *c, int64_t rows)
{
	c->snap_done += rows;
	if (c->cb.on_progress)
		c->cb.on_progress(c->cb.user, c->snap_done, c->snap_total);
}

/* Callbacks only after the commit, so what they report is durable. The
 * message decoded once already: a second pass cannot fail. */
static void notify_batch(kc_client *c, const unsigned char *buf, size_t len, bool changes, int64_t rows)
{
	if (c->cb.on_op)
		(void)(changes ? proto_changes_decode(buf, len, notify_one, c, NULL)
			       : proto_page_decode(buf, len, notify_one, c));
	if (!changes)
		progress(c, rows);
}

static int apply_now(kc_client *c, const unsigned char *buf, size_t len, bool changes)
{
	int64_t rows;
	int rc = apply_batch(c, buf, len, changes, &rows);
	if (!rc)
		notify_batch(c, buf, len, changes, rows);
	return rc;
}

/* ---- the page applier ----
 * A snapshot is a stream of pages, each committed whole (rows without the
 * cursor: the cursor comes with snapshot_end). Committing page n on a
 * second thread while the connection's thread receives and checks page n+1
 * keeps both busy; at most KC_APPLY_AHEAD pages wait, so memory stays
 * bounded and the server feels the back-pressure as before. Anything that
 * is not a page (snapshot_end, an error, the connection ending) first waits
 * for the applier and stops it (kc_sync_drain), so from then on one thread
 * owns the cache again, and callbacks and errors come out in order. */

#define KC_APPLY_AHEAD 2

/* A page is prepared on the connection's thread: decoded, checked, and
 * each row's JSON written (kc_prow records), so the applier only binds and
 * steps. Both halves cost about the same, so the two threads stay busy. */
struct prep {
	kc_client *c;
	kc_jbuf *out;
	int64_t n;
};

static int prep_one(void *user, const kt_op *op)
{
	struct prep *p = user;
	kc_jbuf *b = p->out;
	kc_prow h = {0};
	size_t at = b->len, json_at, pad;
	int rc;
	if (op->op != KT_OP_PUT)
		return KT_EMALFORMED; /* a page holds rows only */
	if ((rc = kc_jbuf_put(b, &h, sizeof h)) || (rc = kc_jbuf_put(b, op->tbl.s, op->tbl.len)) ||
	    (rc = kc_jbuf_put(b, op->id.s, op->id.len)))
		goto fail;
	json_at = b->len;
	if ((rc = kc_json_append_map(b, op->fields, op->fields_len)))
		goto fail;
	h.json_len = (uint32_t)(b->len - json_at);
	pad = (8 - (b->len & 7)) & 7; /* the next record's header is aligned */
	if (pad && (rc = kc_jbuf_put(b, "\0\0\0\0\0\0\0", pad)))
		goto fail;
	h.v = op->v;
	h.tbl_len = (uint32_t)op->tbl.len;
	h.id_len = (uint32_t)op->id.len;
	h.next = (uint32_t)b->len;
	memcpy(b->s + at, &h, sizeof h);
	p->n++;
	return KT_OK;
fail:
	if (rc == KT_ENOMEM)
		kc_set_err(p->c, "out of memory");
	else
		kc_set_err(p->c, "the server sent a %.*s row with a field value v1 does not allow", (int)op->tbl.len,
			   op->tbl.s);
	return rc;
}

/* A prepared page's rows in one transaction (the applier's thread). */
static int apply_prepared(kc_client *c, const kc_page *p)
{
	int rc = KT_OK;
	if (kc_tx(c, "BEGIN IMMEDIATE"))
		return KT_EIO;
	c->queue_len = kc_queue_count(c); /* as apply_batch: inside our write transaction */
	rc = kc_cache_put_page(c, p->recs, p->len);
	if (!rc)
		rc = kc_tx(c, "COMMIT");
	if (rc) {
		kc_rollback(c);
		if (!kc_err_is_set(c))
			kc_set_err(c, "cannot apply the server's page message (%s)", kt_strerror(rc));
	}
	return rc;
}

/* A committed prepared page's callbacks (the connection's thread). */
static void notify_prepared(kc_client *c, const kc_page *p)
{
	if (c->cb.on_op) {
		for (size_t off = 0; off < p->len;) {
			kc_prow h;
			char tbl[80], id[80];
			memcpy(&h, p->recs + off, sizeof h);
			const char *t = p->recs + off + sizeof h;
			snprintf(tbl, sizeof tbl, "%.*s", (int)h.tbl_len, t);
			snprintf(id, sizeof id, "%.*s", (int)h.id_len, t + h.tbl_len);
			c->cb.on_op(c->cb.user, KC_OP_PUT, tbl, id, h.v);
			off = h.next;
		}
	}
	progress(c, p->rows);
}

static void page_free(kc_page *p)
{
	if (p)
		free(p->recs);
	free(p);
}

static void *applier_main(void *arg)
{
	kc_client *c = arg;
	kc_applier *a = &c->ap;
	kc_err_redirect(a->err, sizeof a->err);
	pthread_mutex_lock(&a->mu);
	for (;;) {
		kc_page *p;
		while (!a->todo && !a->stop)
			pthread_cond_wait(&a->cv, &a->mu);
		if (!(p = a->todo))
			break; /* stop, and nothing left */
		a->todo = p->next;
		if (!a->todo)
			a->todo_tail = NULL;
		a->ntodo--;
		a->busy = true;
		bool failed = a->rc != 0;
		pthread_mutex_unlock(&a->mu);
		/* after a failure nothing more is applied: the connection is dropped;
		 * a->err is read only once a->rc is set, and then not written again */
		if (!failed)
			a->err[0] = 0;
		p->rc = failed ? KT_EBAD_STATE : apply_prepared(c, p);
		pthread_mutex_lock(&a->mu);
		if (p->rc && !a->rc) {
			struct lws_context *ctx = atomic_load(&c->ctx);
			a->rc = p->rc;
			if (ctx) /* the connection's thread drops the connection now, not at the next message */
				lws_cancel_service(ctx);
		}
		p->next = NULL;
		if (a->done_tail)
			a->done_tail->next = p;
		else
			a->done = p;
		a->done_tail = p;
		a->busy = false;
		pthread_cond_broadcast(&a->cv);
	}
	pthread_mutex_unlock(&a->mu);
	kc_err_redirect(NULL, 0);
	return NULL;
}

/* The callbacks of the pages committed so far (connection's thread). */
static void harvest(kc_client *c)
{
	kc_applier *a = &c->ap;
	kc_page *p, *next;
	pthread_mutex_lock(&a->mu);
	p = a->done;
	a->done = a->done_tail = NULL;
	pthread_mutex_unlock(&a->mu);
	for (; p; p = next) {
		next = p->next;
		if (!p->rc)
			notify_prepared(c, p);
		page_free(p);
	}
}

/* The applier's failure as this thread's error. */
static int applier_failed(kc_client *c)
{
	kc_applier *a = &c->ap;
	int rc;
	pthread_mutex_lock(&a->mu);
	rc = a->rc;
	pthread_mutex_unlock(&a->mu);
	if (rc)
		kc_set_err(c, "%s", a->err[0] ? a->err : kt_strerror(rc));
	return rc;
}

int kc_sync_drain(kc_client *c)
{
	kc_applier *a = &c->ap;
	int rc;
	if (!a->on)
		return KT_OK;
	pthread_mutex_lock(&a->mu);
	a->stop = true;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
	pthread_join(a->th, NULL);
	a->on = false;
	harvest(c);
	rc = applier_failed(c);
	pthread_mutex_destroy(&a->mu);
	pthread_cond_destroy(&a->cv);
	memset(a, 0, sizeof *a);
	return rc;
}

void kc_sync_poll_applier(kc_client *c)
{
	kc_applier *a = &c->ap;
	int rc;
	if (!a->on)
		return;
	pthread_mutex_lock(&a->mu);
	rc = a->rc;
	pthread_mutex_unlock(&a->mu);
	if (!rc)
		return;
	c->err[0] = 0;
	rc = kc_sync_drain(c);
	report(c, rc, "the server's page message");
	kc_conn_drop(c, rc);
}

static int apply_page_async(kc_client *c, const unsigned char *buf, size_t len)
{
	kc_applier *a = &c->ap;
	kc_page *p;
	int rc;
	if (!a->on) {
		memset(a, 0, sizeof *a);
		if (pthread_mutex_init(&a->mu, NULL))
			return apply_now(c, buf, len, false);
		if (pthread_cond_init(&a->cv, NULL)) {
			pthread_mutex_destroy(&a->mu);
			return apply_now(c, buf, len, false);
		}
		if (pthread_create(&a->th, NULL, applier_main, c)) {
			pthread_cond_destroy(&a->cv);
			pthread_mutex_destroy(&a->mu);
			return apply_now(c, buf, len, false); /* no thread: as before */
		}
		a->on = true;
	}
	harvest(c);
	if ((rc = applier_failed(c)))
		return rc;
	kc_jbuf b = {0};
	struct prep pr = {c, &b, 0};
	if ((rc = proto_page_decode(buf, len, prep_one, &pr))) {
		kc_jbuf_free(&b);
		if (!kc_err_is_set(c))
			kc_set_err(c, "cannot apply the server's page message (%s)", kt_strerror(rc));
		return rc;
	}
	if (!(p = malloc(sizeof *p))) {
		kc_jbuf_free(&b);
		kc_set_err(c, "out of memory");
		return KT_ENOMEM;
	}
	p->next = NULL;
	p->rc = 0;
	p->rows = pr.n;
	p->recs = b.s; /* the page owns them now */
	p->len = b.len;
	pthread_mutex_lock(&a->mu);
	while (a->ntodo >= KC_APPLY_AHEAD && !a->rc)
		pthread_cond_wait(&a->cv, &a->mu);
	if (a->todo_tail)
		a->todo_tail->next = p;
	else
		a->todo = p;
	a->todo_tail = p;
	a->ntodo++;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
	return KT_OK;
}

/* Acks tell the server what this device durably holds (its register and the
 * erasure receipts depend on it). While changes stream, one ack per
 * KC_ACK_INTERVAL_US is enough; `synced` acks at once. */
void kc_sync_ack(kc_client *c)
{
	kt_cursor_msg m = {true, {(const char *)c->cursor, c->cursor_len}};
	kt_mpw w;
	c->ack_due_us = 0;
	if (!c->ack_dirty || !c->cursor_len || !c->authed || !c->wsi)
		return;
	kt_mpw_init(&w);
	proto_ack_encode(&w, &m);
	if (send_packed(c, &w) == KT_OK) {
		c->ack_dirty = false;
		c->ack_last_us = kt_mono_us();
	}
}

static void ack_soon(kc_client *c)
{
	c->ack_dirty = true;
	if (!c->ack_due_us) {
		int64_t now = kt_mono_us();
		c->ack_due_us = c->ack_last_us + KC_ACK_INTERVAL_US > now ? c->ack_last_us + KC_ACK_INTERVAL_US : now;
	}
}

static int on_synced(kc_client *c, const unsigned char *buf, size_t len)
{
	kt_cursor_msg m;
	int rc;
	if ((rc = proto_synced_decode(buf, len, &m)))
		return rc;
	if (m.cursor.len != c->cursor_len || memcmp(m.cursor.s, c->cursor, m.cursor.len) != 0) {
		/* the log moved on with nothing this principal may see */
		if ((rc = kc_cache_set_cursor(c, &m.cursor)))
			return rc;
		memcpy(c->cursor, m.cursor.s, m.cursor.len);
		c->cursor_len = m.cursor.len;
		c->ack_dirty = true;
	}
	kc_sync_ack(c);
	kc_state(c, KC_ST_SYNCED, NULL, NULL);
	if (c->mode == KC_UNTIL_SYNCED)
		finish(c, KT_OK);
	else if (!c->queue_poll_us)
		c->queue_poll_us = kt_mono_us() + KC_QUEUE_POLL_US;
	return KT_OK;
}

void kc_sync_poll_queue(kc_client *c)
{
	bool sent;
	int rc;
	c->queue_poll_us = kt_mono_us() + KC_QUEUE_POLL_US;
	if (!c->wsi || !c->authed || !c->sync_sent || c->pushing || c->in_snapshot)
		return;
	c->err[0] = 0;
	if ((rc = kc_queue_push(c, &sent))) {
		report(c, rc, "cannot push the queued edits");
		kc_conn_drop(c, rc);
	}
}

static int on_snapshot_begin(kc_client *c, const unsigned char *buf, size_t len)
{
	kt_snapshot_begin m;
	int rc;
	if ((rc = proto_snapshot_begin_decode(buf, len, &m)))
		return rc;
	if ((rc = kc_cache_snapshot_begin(c)))
		return rc;
	c->in_snapshot = true;
	c->ack_dirty = false;
	c->ack_due_us = 0;
	c->snap_total = m.total > 0 ? m.total : 0;
	c->snap_done = 0;
	kc_state(c, KC_ST_SNAPSHOT, NULL, NULL);
	if (c->cb.on_progress)
		c->cb.on_progress(c->cb.user, 0, c->snap_total);
	return KT_OK;
}

static int on_snapshot_end(kc_client *c, const unsigned char *buf, size_t len)
{
	kt_cursor_msg m;
	int rc;
	if ((rc = proto_snapshot_end_decode(buf, len, &m)))
		return rc;
	if ((rc = kc_cache_snapshot_end(c, &m.cursor)))
		return rc;
	memcpy(c->cursor, m.cursor.s, m.cursor.len);
	c->cursor_len = m.cursor.len;
	c->in_snapshot = false;
	c->ack_dirty = true; /* acked with the `synced` that follows */
	return KT_OK;
}

static int dispatch(kc_client *c, kt_msgtype t, const unsigned char *buf, size_t len)
{
	bool rows_ok = c->sync_sent && c->authed;
	int rc;
	switch (t) {
	case KT_MSG_WELCOME:
		return c->authed ? KT_EBAD_STATE : on_welcome(c, buf, len);
	case KT_MSG_AUTH_OK:
		return on_auth_ok(c, (unsigned char *)buf, len);
	case KT_MSG_ERROR:
		return on_error(c, buf, len);
	case KT_MSG_PUSH_RESULT:
		return on_push_result(c, buf, len);
	case KT_MSG_SNAPSHOT_BEGIN:
		return rows_ok && !c->in_snapshot ? on_snapshot_begin(c, buf, len) : KT_EBAD_STATE;
	case KT_MSG_PAGE:
		if (!rows_ok || !c->in_snapshot)
			return KT_EBAD_STATE;
		return c->apply_async ? apply_page_async(c, buf, len) : apply_now(c, buf, len, false);
	case KT_MSG_SNAPSHOT_END:
		return rows_ok && c->in_snapshot ? on_snapshot_end(c, buf, len) : KT_EBAD_STATE;
	case KT_MSG_CHANGES:
		if (!rows_ok || c->in_snapshot)
			return KT_EBAD_STATE;
		if ((rc = apply_now(c, buf, len, true)))
			return rc;
		ack_soon(c);
		return KT_OK;
	case KT_MSG_SYNCED:
		return rows_ok && !c->in_snapshot ? on_synced(c, buf, len) : KT_EBAD_STATE;
	default:
		return KT_OK; /* a device-to-server type: nothing for us */
	}
}

int kc_sync_message(kc_client *c, const unsigned char *buf, size_t len)
{
	char what[64];
	kt_msgtype t;
	/* Finding "t" is enough here: each decoder bounds and checks the whole
	 * message itself. */
	int rc = proto_msg_peek_type(buf, len, &t);

	if (c->done || rc == KT_EUNKNOWN_TYPE)
		return KT_OK; /* goal reached: the rest waits for the next run; or a newer server's type */
	c->err[0] = 0;
	/* anything but the next page waits for the pages before it */
	if (!rc && t != KT_MSG_PAGE)
		rc = kc_sync_drain(c);
	if (!rc)
		rc = dispatch(c, t, buf, len);
	if (rc) {
		snprintf(what, sizeof what, "the server's %s message",
			 t == KT_MSG_UNKNOWN ? "(untyped)" : proto_msg_name(t));
		report(c, rc, what);
	}
	return rc;
}
