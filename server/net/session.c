/* session.c - one device connection: its state machine, the order in which
 * an inbound message is checked (size, well-formedness, type, state), and
 * the outbound queue (control frames first, then data from sync.c). Which
 * message each state accepts, and its handler, is dispatch.c's table. Never
 * lets one connection's bad input affect another. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "kt_metrics.h"
#include "net/sendpool.h"
#include "net/client_addr.h"
#include "net/dispatch.h"
#include "handlers/export_worker.h"
#include "sync/egress_check.h"
#include "server.h"
#include "sync/rights.h"
#include "sync/fanout.h"
#include "sync/sync.h"
#include "handlers/handlers.h"
#include "conn/conn.h"
#include "net/session.h"

/* The address this connection counts as for throttling (client_addr.h):
 * behind a trusted proxy, the client the proxy names in its header. The
 * upgrade request's headers are still at hand while the connection is
 * being established. */
static void session_client_addr(kt_session *s, const char *peer)
{
	enum lws_token_indexes tok =
		client_addr_header() == KT_PROXY_XFF ? WSI_TOKEN_X_FORWARDED_FOR : WSI_TOKEN_HTTP_X_REAL_IP;
	char *h = NULL;
	int n = client_addr_is_trusted(peer) ? lws_hdr_total_length(s->wsi, tok) : 0;
	/* the whole value, however long: the client's own part is on its left,
	 * and a cut-off value would leave us with only the proxy's address */
	if (n > 0 && (h = malloc((size_t)n + 1)) && lws_hdr_copy(s->wsi, h, n + 1, tok) < 0) {
		free(h);
		h = NULL;
	}
	static bool warned;
	if (!client_addr_pick(peer, h, s->addr) && n > 0 && !warned && (warned = true))
		kt_warn("a trusted proxy sent an unusable %s header; such connections count as the proxy's address",
			tok == WSI_TOKEN_X_FORWARDED_FOR ? "X-Forwarded-For" : "X-Real-IP");
	free(h);
}

kt_session *session_new(kt_server *srv, struct lws *wsi)
{
	kt_session *s = calloc(1, sizeof *s);
	char ip[64] = "";
	if (!s)
		return NULL;
	s->srv = srv;
	s->wsi = wsi;
	s->id = ++srv->next_session_id;
	s->state = KT_SS_HELLO;
	s->metric_role = -1;
	kt_metric_inc(KT_M_CONNECTIONS, 0);
	s->last_rx_us = kt_mono_us();
	s->ping_at_us = s->last_rx_us;
	lws_get_peer_simple(wsi, ip, sizeof ip);
	session_client_addr(s, ip);
	s->next = srv->sessions;
	if (srv->sessions)
		srv->sessions->prev = s;
	srv->sessions = s;
	srv->nsessions++;
	conn_deadline_join(s);
	return s;
}

void session_free(kt_session *s)
{
	if (!s)
		return;
	kt_server *srv = s->srv;
	conn_deadline_leave(s);
	lws_sul_cancel(&s->tarpit);
	fanout_unindex(s);
	if (s->prev)
		s->prev->next = s->next;
	else if (srv->sessions == s)
		srv->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	srv->nsessions--;
	kt_metric_add(KT_M_CONNECTIONS, 0, -1);
	if (s->metric_role >= 0)
		kt_metric_add(KT_M_DEVICES, s->metric_role, -1);
	while (s->ctl_head) {
		kt_frame *f = s->ctl_head;
		s->ctl_head = f->next;
		free(f);
	}
	sync_session_free(s);
	kt_principal_free(&s->principal);
	free(s->export_doc);
	free(s->in);
	free(s);
}

static int on_message(kt_session *s, const unsigned char *buf, size_t len);

/* Every line logged while a message is handled names its session, device
 * and principal (kt_log.h) */
int session_on_message(kt_session *s, const unsigned char *buf, size_t len)
{
	kt_log_ctx saved;
	session_log_ctx(s, &saved);
	int rc = on_message(s, buf, len);
	kt_log_ctx_restore(&saved);
	return rc;
}

static int on_message(kt_session *s, const unsigned char *buf, size_t len)
{
	size_t max_str = s->signed_in ? KT_MAX_STR : KT_MAX_STR_PREAUTH;
	const kt_dispatch *d;
	const char *why;
	kt_msgtype t;
	int rc;

	if (s->state == KT_SS_CLOSING)
		return 0;
	rc = proto_msg_type(buf, len, max_str, &t);
	/* a link's review text may be longer than other strings before sign-in */
	if (rc == KT_ETOO_LARGE && !s->signed_in && proto_msg_peek_type(buf, len, &t) == KT_OK && t == KT_MSG_LINK)
		rc = proto_msg_type(buf, len, max_str = KT_LINK_MAX_TEXT, &t);
	if (rc == KT_EUNKNOWN_TYPE) {
		session_error(s, rc, "unknown message type", NULL, false);
		return 0;
	}
	if (rc) {
		bool deep = false;
		why = "not a valid message (one MessagePack map with a string t, valid UTF-8, no trailing bytes)";
		if (rc == KT_ETOO_LARGE)
			why = s->signed_in ? "a string or bin over 65536 bytes" : "a string or bin over 512 bytes before sign-in";
		else if (kt_mp_validate_why(buf, len, KT_MAX_DEPTH, max_str, &deep) && deep)
			why = "containers nested deeper than 8 (the message's own map counts as the first)";
		/* before sign-in we owe a stranger nothing: malformed input ends it */
		session_error(s, rc, why, NULL, rc == KT_ETOO_LARGE || !s->signed_in);
		return 0;
	}
	/* which states accept it, and the handler: dispatch.c */
	d = dispatch_find(t);
	if ((rc = dispatch_refusal(d, s->state, s->signed_in, &why))) {
		session_error(s, rc, why, proto_msg_name(t), false);
		return 0;
	}
	/* a change of rights counts for the very next request, whoever made it */
	if (s->signed_in && (d->flags & KT_DF_SIGNED_IN) && session_rights_refresh(s, proto_msg_name(t)))
		return 0;
	return d->handle(s, buf, len);
}

#define KT_FRAMES_PER_WRITEABLE 4 /* at most, so one connection cannot hold the loop */

/* Every frame toward a device leaves here (the one exit of egress.h's rows) */
static int write_frame(kt_session *s, unsigned char *data, size_t len)
{
#ifdef KT_EGRESS_CHECK
	egress_check_frame(s, data + LWS_PRE, len - LWS_PRE);
#endif
	int n = lws_write(s->wsi, data + LWS_PRE, len - LWS_PRE, LWS_WRITE_BINARY);
	return n < 0 ? -1 : 0;
}

/* WebSocket frames made whole by the stream (sync.c: a changes message
 * shared by an audience, and the synced message after it): one write. lws
 * sends LWS_WRITE_RAW as it is (no framing of its own on this connection,
 * which has no extensions) and keeps what the kernel did not take. */
static void check_raw_frames(kt_session *s, const unsigned char *data, size_t len)
{
#ifdef KT_EGRESS_CHECK
	size_t h, m;
	for (size_t i = 0; (h = sync_ws_frame(data + i, len - i, &m)); i += h + m)
		egress_check_frame(s, data + i + h, m); /* each message, as write_frame checks it */
#else
	(void)s, (void)data, (void)len;
#endif
}

static int write_raw_frames(kt_session *s, unsigned char *data, size_t len)
{
	check_raw_frames(s, data, len);
	int n = lws_write(s->wsi, data, len, LWS_WRITE_RAW);
	return n < 0 ? -1 : 0;
}

/* Close with a WebSocket close frame (status, and the error code as the
 * reason). Returning -1 from the callback would not do: Debian's lws 4.1.6
 * is a debug build, which on the libuv loop closes twice in a row (a
 * self-test in lws_service_fd_tsi), and the second close drops the TCP
 * connection before the close frame goes out (the peer sees 1006). Frees s
 * (LWS_CALLBACK_CLOSED runs inside); the close frame is written by lws. */
static void close_with_frame(kt_session *s)
{
	struct lws *wsi = s->wsi;
	lws_close_reason(wsi, s->close_status ? s->close_status : LWS_CLOSE_STATUS_POLICY_VIOLATION,
			 (unsigned char *)s->close_reason, strlen(s->close_reason));
	lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_SYNC);
}

/* Send s what the stream has for it now, without waiting for a writeable
 * callback (the fan-out just woke it: net/listener.c). Only when nothing
 * else waits to go out first (answers, a ping, an export, bytes lws still
 * holds, a change of rights to read): then what the callback would do,
 * the same code; otherwise the callback, as before. */
static int on_writeable(kt_session *s, kt_sendpool *pool);

static void send_now(kt_session *s, kt_sendpool *pool)
{
	if (s->close_now || s->ctl_head || s->export_doc || s->want_ping || s->state != KT_SS_STREAM ||
	    s->durable_wait || s->rights_gen < s->srv->rights_gen || lws_partial_buffered(s->wsi)) {
		session_want_write(s);
		return;
	}
	if (on_writeable(s, pool) < 0) /* the socket failed: lws closes it (as for a callback's -1) */
		lws_set_timeout(s->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
}

void session_send_now(kt_session *s)
{
	send_now(s, NULL);
}

/* A pooled send's outcome, back on the loop: what the kernel did not take
 * goes to lws, which keeps it and writes it when the socket has room (as
 * for a partial lws_write); a failed socket is closed, as session_send_now
 * closes it. */
static void pooled_done(kt_session *s, ssize_t res, const unsigned char *data, size_t len)
{
	if (res == (ssize_t)len) {
		kt_metric_inc(KT_M_POOLED_SENDS, KT_POOLED_WHOLE);
	} else if (res >= 0 || res == -EAGAIN || res == -EWOULDBLOCK) {
		size_t off = res > 0 ? (size_t)res : 0;
		unsigned char *rest = malloc(LWS_PRE + len - off);
		int n = -1;
		if (rest) {
			memcpy(rest + LWS_PRE, data + off, len - off);
			n = lws_write(s->wsi, rest + LWS_PRE, len - off, LWS_WRITE_RAW);
			free(rest);
		}
		if (n < 0) {
			kt_metric_inc(KT_M_POOLED_SENDS, KT_POOLED_FAILED);
			lws_set_timeout(s->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
			return;
		}
		kt_metric_inc(KT_M_POOLED_SENDS, KT_POOLED_PARTIAL);
	} else {
		kt_metric_inc(KT_M_POOLED_SENDS, KT_POOLED_FAILED);
		lws_set_timeout(s->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
		return;
	}
	if (sync_has_more(s))
		session_want_write(s);
}

void session_send_woken(kt_server *srv, kt_session **r, int n)
{
	kt_sendpool *pool = srv->sendpool;
	if (sendpool_threads(pool) == 0 || n < sendpool_min_devices() || sendpool_begin(pool, n)) {
		for (int i = 0; i < n; i++)
			send_now(r[i], NULL);
		return;
	}
	for (int i = 0; i < n; i++) /* TLS records are lws's to write: those on this thread */
		send_now(r[i], lws_is_ssl(r[i]->wsi) ? NULL : pool);
	sendpool_finish(pool);
	for (int i = 0, k = sendpool_count(pool); i < k; i++) {
		const unsigned char *data;
		size_t len;
		void *s;
		ssize_t res = sendpool_result(pool, i, &data, &len, &s);
		pooled_done(s, res, data, len);
	}
}

int session_on_writeable(kt_session *s)
{
	return on_writeable(s, NULL);
}

/* pool: a batch of session_send_woken, for frames that go out as they are
 * (whole WebSocket frames on a plain socket). The first such frame goes to
 * the pool, and nothing more is written for s until the batch is sent. */
static int on_writeable(kt_session *s, kt_sendpool *pool)
{
	bool have = false;

	if (s->close_now) {
		if (lws_partial_buffered(s->wsi)) {
			session_want_write(s); /* lws writes the rest before calling us again */
			return 0;
		}
		close_with_frame(s);
		return 0;
	}
	if (s->export_doc && s->state != KT_SS_CLOSING) {
		if (privacy_export_next(s)) {
			if (write_frame(s, (unsigned char *)s->srv->frame.sb.data, s->srv->frame.sb.size))
				return -1;
			session_want_write(s); /* the next part, or what waited behind the export */
			return 0;
		}
	}
	if (s->ctl_head) {
		kt_frame *f = s->ctl_head;
		bool fatal = f->fatal;
		s->ctl_head = f->next;
		if (!s->ctl_head)
			s->ctl_tail = NULL;
		s->nctl--;
		if (s->rx_paused && s->nctl <= KT_CTL_PAUSE / 2) {
			s->rx_paused = false;
			lws_rx_flow_control(s->wsi, 1);
		}
		int rc = write_frame(s, f->data, f->len);
		free(f);
		if (rc)
			return -1;
		if (fatal) {
			s->close_now = true;
			if (!lws_partial_buffered(s->wsi)) {
				close_with_frame(s); /* the error is with the kernel */
				return 0;
			}
			/* lws still holds part of it: a peer that does not read it
			 * within 5 s is dropped */
			lws_set_timeout(s->wsi, PENDING_TIMEOUT_CLOSE_SEND, 5);
			session_want_write(s);
			return 0;
		}
		session_want_write(s);
		return 0;
	}
	if (s->state == KT_SS_CLOSING)
		return 0;
	if (s->state != KT_SS_SNAPSHOT && s->state != KT_SS_STREAM)
		return 0;
	/* A change usually makes two frames (changes, then synced). While the
	 * socket takes them at once (lws_send_pipe_choked: nothing pending, the
	 * kernel has room), write up to KT_FRAMES_PER_WRITEABLE in this callback
	 * instead of one per loop turn, and ask for another callback only when
	 * something is left: each request costs epoll_ctl calls and a turn, a
	 * large part of the server's time with thousands of connections. */
	/* snapshot pages and rows re-read for a change: never from a commit
	 * whose fsync still runs (store.h, durable reads) */
	kt_store *st = s->srv->st;
	if (store_read_durable(st, KT_DURABLE_WAIT_MS)) {
		/* the WAL's sync failed: nothing more is sent until it is redone */
		if (!s->durable_wait) {
			s->durable_wait = true;
			s->srv->durable_waiters++;
		}
		return 0;
	}
	/* a rights change the fan-out has seen since this session read its
	 * principal: nothing more goes out with the old rights (read in the
	 * durable snapshot, like every row sent) */
	if (s->rights_gen < s->srv->rights_gen && session_rights_refresh(s, NULL)) {
		store_read_end(st);
		session_want_write(s); /* the error that was queued */
		return 0;
	}
	int rc = 0;
	for (int k = 0;; k++) {
		if (sync_next_frame(s, &have)) {
			session_error(s, KT_EINTERNAL, "could not read changes; reconnect", NULL, true);
			break;
		}
		if (!have)
			break;
		size_t len;
		bool raw;
		const unsigned char *data = sync_frame_data(s->srv, &len, &raw);
		if (raw && pool) {
			check_raw_frames(s, data, len);
			if (sendpool_add(pool, lws_get_socket_fd(s->wsi), data, len, s) >= 0)
				break; /* the rest once the batch is sent (pooled_done) */
		}
		if (raw ? write_raw_frames(s, (unsigned char *)data, len)
			: write_frame(s, (unsigned char *)data - LWS_PRE, len + LWS_PRE)) {
			rc = -1;
			break;
		}
		if (!sync_has_more(s))
			break; /* the next change asks for a callback (fanout.c) */
		if (k + 1 >= KT_FRAMES_PER_WRITEABLE || s->ctl_head || lws_send_pipe_choked(s->wsi)) {
			session_want_write(s);
			break;
		}
	}
	store_read_end(st);
	return rc;
}
