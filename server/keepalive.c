/* keepalive.c - idle pings and the idle hang-up, from one sweep timer
 * (issue 6, load).
 *
 * libwebsockets' own keepalive (lws_retry_bo_t secs_since_valid_ping and
 * _hangup) keeps one timer per connection in its sorted timer list, and
 * 4.1.6 inserts into that list by walking it from the head: every new
 * connection's 30 s timer went past all 10,000 others, and so did every
 * re-arm after a pong. That walk (lws_dll2_add_sorted) was 65 % of the
 * server's CPU in the 5,000-device reconnect storm once poll() was gone.
 * Here one timer looks at every session every KT_KEEPALIVE_SWEEP_S:
 * a session that sent nothing (no frame, no pong) for KT_PING_IDLE_S gets
 * a ping; one silent for KT_IDLE_TIMEOUT_S is closed, as before. */
#include "server.h"

#define KT_PING_IDLE_S 30       /* ping a peer that said nothing for this long */
#define KT_KEEPALIVE_SWEEP_S 5  /* how often the sessions are looked at */

static void sweep_cb(lws_sorted_usec_list_t *sul)
{
	kt_server *srv = lws_container_of(sul, kt_server, keepalive_timer);
	int64_t now = kt_mono_us();
	for (kt_session *s = srv->sessions; s; s = s->next) {
		int64_t quiet = now - s->last_rx_us;
		if (quiet >= (int64_t)KT_IDLE_TIMEOUT_S * 1000000) {
			/* closed by lws on its next turn, not under our feet */
			lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
		} else if (quiet >= (int64_t)KT_PING_IDLE_S * 1000000 &&
			   now - s->ping_at_us >= (int64_t)KT_PING_IDLE_S * 1000000) {
			s->ping_at_us = now;
			s->want_ping = true;
			lws_callback_on_writable(s->wsi);
		}
	}
	lws_sul_schedule(srv->ctx, 0, &srv->keepalive_timer, sweep_cb,
			 (lws_usec_t)KT_KEEPALIVE_SWEEP_S * LWS_US_PER_SEC);
}

void keepalive_start(kt_server *srv)
{
	lws_sul_schedule(srv->ctx, 0, &srv->keepalive_timer, sweep_cb,
			 (lws_usec_t)KT_KEEPALIVE_SWEEP_S * LWS_US_PER_SEC);
}

void keepalive_stop(kt_server *srv)
{
	lws_sul_cancel(&srv->keepalive_timer);
}

/* In the writeable callback, before the session's own frames: the ping
 * goes alone, and the session asks again for what it still has. */
int keepalive_write_ping(kt_session *s)
{
	unsigned char buf[LWS_PRE + 1];
	s->want_ping = false;
	if (lws_write(s->wsi, buf + LWS_PRE, 0, LWS_WRITE_PING) < 0)
		return -1;
	lws_callback_on_writable(s->wsi);
	return 0;
}
