/* conn.c - a device connection as every layer below the dispatcher sees
 * it: build a frame, queue it, answer an error, ask for a write, find a
 * session by id, and the sign-in deadline queue. Handlers, the writer's
 * answers, the sync stream and the workers' deliveries all reply through
 * here, so none of them calls up into the session state machine. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "conn/conn.h"
#include "server.h"

/* The sign-in deadline. Every connection gets the same time to sign in, so
 * the connections still waiting form a queue in order of their deadlines:
 * appending and leaving are O(1), and one timer, set for the oldest, serves
 * them all. (A timer per connection costs a walk of lws's sorted timer list
 * on every connect: with thousands reconnecting at once that walk was most
 * of the server's CPU.) */
static void deadline_arm(kt_server *srv, bool firing);

void conn_deadline_leave(kt_session *s)
{
	kt_server *srv = s->srv;
	if (!s->deadline_us)
		return;
	if (s->dl_prev)
		s->dl_prev->dl_next = s->dl_next;
	else
		srv->dl_head = s->dl_next;
	if (s->dl_next)
		s->dl_next->dl_prev = s->dl_prev;
	else
		srv->dl_tail = s->dl_prev;
	s->dl_prev = s->dl_next = NULL;
	s->deadline_us = 0;
}

static void deadline_cb(lws_sorted_usec_list_t *sul)
{
	kt_server *srv = lws_container_of(sul, kt_server, deadline_timer);
	int64_t now = kt_mono_us();
	while (srv->dl_head && srv->dl_head->deadline_us <= now) {
		kt_session *s = srv->dl_head;
		conn_deadline_leave(s);
		if (!s->signed_in)
			session_error(s, KT_ETIMEOUT, "no sign-in within the deadline", NULL, true);
	}
	deadline_arm(srv, true);
}

/* The timer follows the oldest waiting connection; when that one signs in
 * or goes, the timer fires early, finds nothing due and moves on. */
static void deadline_arm(kt_server *srv, bool firing)
{
	if (!srv->dl_head || (!firing && !lws_dll2_is_detached(&srv->deadline_timer.list)))
		return; /* nobody waits, or it is set for an earlier deadline already */
	int64_t wait = srv->dl_head->deadline_us - kt_mono_us();
	lws_sul_schedule(srv->ctx, 0, &srv->deadline_timer, deadline_cb, wait > 0 ? (lws_usec_t)wait : 1);
}

void conn_deadline_join(kt_session *s)
{
	kt_server *srv = s->srv;
	s->deadline_us = kt_mono_us() + (int64_t)KT_AUTH_DEADLINE_MS * 1000;
	s->dl_next = NULL;
	s->dl_prev = srv->dl_tail;
	if (srv->dl_tail)
		srv->dl_tail->dl_next = s;
	else
		srv->dl_head = s;
	srv->dl_tail = s;
	deadline_arm(srv, false);
}

void session_deadlines_stop(kt_server *srv)
{
	lws_sul_cancel(&srv->deadline_timer);
}

kt_session *session_find(kt_server *srv, uint64_t id)
{
	for (kt_session *s = srv->sessions; s; s = s->next)
		if (s->id == id)
			return s;
	return NULL;
}

void session_want_write(kt_session *s)
{
	lws_callback_on_writable(s->wsi);
}

void frame_begin(kt_server *srv)
{
	static const unsigned char pre[LWS_PRE];
	kt_mpw_reset(&srv->frame);
	kt_mpw_raw(&srv->frame, pre, sizeof pre);
}

int session_queue_frame(kt_session *s, bool fatal)
{
	kt_server *srv = s->srv;
	kt_frame *f;

	if (srv->frame.err)
		return srv->frame.err;
	if (s->nctl >= KT_CTL_MAX && !fatal) {
		/* only if pausing rx below did not hold the peer back: end the
		 * connection with a reason rather than drop an answer silently */
		if (!s->close_now) {
			s->state = KT_SS_CLOSING;
			s->close_status = LWS_CLOSE_STATUS_POLICY_VIOLATION;
			snprintf(s->close_reason, sizeof s->close_reason, "%s", kt_err_name(KT_EBUSY));
			s->close_now = true;
			session_want_write(s);
		}
		return KT_EBUSY;
	}
	if (!(f = malloc(sizeof *f + srv->frame.sb.size)))
		return KT_ENOMEM;
	f->next = NULL;
	f->fatal = fatal;
	f->len = srv->frame.sb.size;
	memcpy(f->data, srv->frame.sb.data, f->len);
	if (s->ctl_tail)
		s->ctl_tail->next = f;
	else
		s->ctl_head = f;
	s->ctl_tail = f;
	s->nctl++;
	/* Answers wait for a peer that sends faster than it reads: stop reading
	 * it (TCP holds the rest back) instead of dropping answers. */
	if (s->nctl >= KT_CTL_PAUSE && !s->rx_paused) {
		s->rx_paused = true;
		lws_rx_flow_control(s->wsi, 0);
	}
	if (fatal)
		s->state = KT_SS_CLOSING;
	session_want_write(s);
	return KT_OK;
}

void session_error(kt_session *s, int code, const char *msg, const char *re, bool fatal)
{
	session_error_retry(s, code, msg, re, fatal, 0);
}

void session_error_retry(kt_session *s, int code, const char *msg, const char *re, bool fatal, int64_t retry_ms)
{
	kt_error_msg e = {0};
	e.retry_after_ms = retry_ms;
	const char *name = kt_err_name(code);
	if (!msg)
		msg = kt_strerror(code);
	e.code.s = name;
	e.code.len = strlen(name);
	e.msg.s = msg;
	e.msg.len = strlen(msg);
	if (re) {
		e.re.s = re;
		e.re.len = strlen(re);
	}
	e.fatal = fatal;
	if (fatal && !s->close_status) { /* the first fatal error names the close */
		s->close_status = code == KT_ETOO_LARGE ? LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE
				  : code == KT_EINTERNAL ? LWS_CLOSE_STATUS_UNEXPECTED_CONDITION
							 : LWS_CLOSE_STATUS_POLICY_VIOLATION;
		snprintf(s->close_reason, sizeof s->close_reason, "%s", name);
	}
	frame_begin(s->srv);
	proto_error_encode(&s->srv->frame, &e);
	if (session_queue_frame(s, fatal) && fatal)
		s->state = KT_SS_CLOSING;
	kt_log_ctx saved;
	session_log_ctx(s, &saved);
	kt_log_code(KT_LOG_DEBUG, code, "session %llu: error %s%s", (unsigned long long)s->id, name,
		    fatal ? " (fatal)" : "");
	kt_log_ctx_restore(&saved);
}

void session_log_ctx(const kt_session *s, kt_log_ctx *saved)
{
	if (saved)
		kt_log_ctx_save(saved);
	kt_log_ctx_set(s->id, s->device, s->signed_in ? s->principal.id : NULL);
}

void session_durable_resume(kt_server *srv)
{
	if (!srv->durable_waiters)
		return;
	for (kt_session *s = srv->sessions; s; s = s->next)
		if (s->durable_wait) {
			s->durable_wait = false;
			session_want_write(s);
		}
	srv->durable_waiters = 0;
}
