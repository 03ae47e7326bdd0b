/* keepalive.c - idle pings and the idle hang-up, from one sweep timer.
 *
 * libwebsockets' own keepalive (lws_retry_bo_t secs_since_valid_ping and
 * _hangup) keeps one timer per connection in its sorted timer list, and
 * 4.1.6 inserts into that list by walking it from the head, so every new
 * connection and every re-arm after a pong costs a walk past all the
 * others: with thousands of devices that walk dominated the server's CPU
 * (docs/benchmarks.md, "Event loop: epoll instead of poll()").
 * Here one timer looks at every session every 5 s (1 s for short settings):
 * a session that sent nothing (no frame, no pong) for ping_idle_s (30)
 * gets a ping; one silent for idle_timeout_s (KT_IDLE_TIMEOUT_S, 120) is
 * closed, as before. Both are config keys. */
#include <stdlib.h>
#include <string.h>
#include "kt_util.h"
#include "server.h"
#include "net/keepalive.h"

/* config keys ping_idle_s and idle_timeout_s (one configuration per process):
 * set by main before any thread starts, read only by the loop after that */
static int ping_idle_s = 30;                /* ping a peer that said nothing for this long */
static int idle_timeout_s = KT_IDLE_TIMEOUT_S; /* and close it after this long */

/* how often the sessions are looked at: 5 s, finer for short settings */
static int sweep_s(void)
{
	return ping_idle_s >= 20 ? 5 : 1;
}

int keepalive_config_set(const char *k, const char *v, const char **why)
{
	int *dst = !strcmp(k, "ping_idle_s") ? &ping_idle_s : !strcmp(k, "idle_timeout_s") ? &idle_timeout_s : NULL;
	if (!dst)
		return 1;
	if (!kt_parse_int(v, 1, 86400, dst)) {
		*why = "a whole number of seconds, 1 to 86400";
		return -1;
	}
	return 0;
}

const char *keepalive_config_check(void)
{
	return ping_idle_s < idle_timeout_s ? NULL
					    : "ping_idle_s must be below idle_timeout_s (a peer needs a ping before it is closed)";
}

static void sweep_cb(lws_sorted_usec_list_t *sul)
{
	kt_server *srv = lws_container_of(sul, kt_server, keepalive_timer);
	int64_t now = kt_mono_us();
	for (kt_session *s = srv->sessions; s; s = s->next) {
		int64_t quiet = now - s->last_rx_us;
		if (quiet >= (int64_t)idle_timeout_s * 1000000) {
			/* closed by lws on its next turn, not under our feet */
			lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
		} else if (quiet >= (int64_t)ping_idle_s * 1000000 &&
			   now - s->ping_at_us >= (int64_t)ping_idle_s * 1000000) {
			s->ping_at_us = now;
			s->want_ping = true;
			lws_callback_on_writable(s->wsi);
		}
	}
	lws_sul_schedule(srv->ctx, 0, &srv->keepalive_timer, sweep_cb,
			 (lws_usec_t)sweep_s() * LWS_US_PER_SEC);
}

void keepalive_start(kt_server *srv)
{
	lws_sul_schedule(srv->ctx, 0, &srv->keepalive_timer, sweep_cb,
			 (lws_usec_t)sweep_s() * LWS_US_PER_SEC);
}

void keepalive_stop(kt_server *srv)
{
	lws_sul_cancel(&srv->keepalive_timer);
}

/* In the writeable callback, before the session's own frames: the ping
 * goes alone, and the session asks again for what it still has. */
int keepalive_write_ping(kt_session *s)
{
	/* never an empty ping: libwebsockets 4.1.6 drops an empty pong before
	 * our callback (LWS_CALLBACK_RECEIVE_PONG), so a device answering
	 * every ping would still be closed as silent */
	unsigned char buf[LWS_PRE + 2];
	memcpy(buf + LWS_PRE, "kt", 2);
	s->want_ping = false;
	if (lws_write(s->wsi, buf + LWS_PRE, 2, LWS_WRITE_PING) < 0)
		return -1;
	lws_callback_on_writable(s->wsi);
	return 0;
}
