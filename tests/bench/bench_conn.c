/* bench_conn.c - the benchmark devices' client connections (bench_conn.h).
 * One client context per process: the callback finds it through the
 * context's user pointer, the device through the wsi's opaque user data. */
#include "bench_conn.h"
#include <stdio.h>
#include <string.h>

static void send_msg(bench_conn *c, kt_mpw *w)
{
	bench_conn_queue(c, w);
	kt_mpw_free(w);
}

/* The sign-in every bench device does: resume its session, then sync. */
static void sign_in(bench_conn *c, kt_msgtype t)
{
	kt_mpw w;
	if (t == KT_MSG_WELCOME) {
		kt_resume r = {{c->token, 64}};
		kt_mpw_init(&w);
		proto_resume_encode(&w, &r);
		send_msg(c, &w);
	} else if (t == KT_MSG_AUTH_OK) {
		kt_cursor_msg m = {0};
		m.has_cursor = c->cursor_len > 0; /* none: a first snapshot */
		m.cursor = (kt_str){(const char *)c->cursor, c->cursor_len};
		kt_mpw_init(&w);
		proto_sync_encode(&w, &m);
		send_msg(c, &w);
	}
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	bench_conn *c = lws_get_opaque_user_data(wsi);
	bench_client *cl = lws_context_user(lws_get_context(wsi));
	(void)user;
	if (!c || !cl)
		return 0;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_ESTABLISHED: {
		kt_mpw w;
		kt_hello h = {1u << 1, {c->device, KT_UUID_LEN}, {cl->app, strlen(cl->app)}};
		kt_mpw_init(&w);
		proto_hello_encode(&w, &h);
		send_msg(c, &w);
		return 0;
	}
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (bench_inbuf_add(&c->in, wsi, in, len)) {
			kt_msgtype t;
			if (!proto_msg_type(c->in.buf, c->in.len, KT_MAX_STR, &t)) {
				sign_in(c, t);
				cl->hooks.on_message(c, t, c->in.buf, c->in.len);
			}
			bench_inbuf_reset(&c->in);
		}
		return 0;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (c->closing)
			return -1;
		if (c->out_len) {
			size_t n = c->out_len;
			c->out_len = 0;
			if (lws_write(wsi, c->out + LWS_PRE, n, LWS_WRITE_BINARY) < (int)n)
				return -1;
		}
		return 0;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		c->wsi = NULL;
		cl->hooks.on_error(c, in ? (const char *)in : NULL);
		return 0;
	case LWS_CALLBACK_CLIENT_CLOSED:
		c->wsi = NULL;
		bench_inbuf_reset(&c->in);
		cl->hooks.on_closed(c);
		return 0;
	default:
		return 0;
	}
}

static const struct lws_protocols protocols[] = {
	{KT_SUBPROTOCOL, callback, 0, 65536, 0, NULL, 0},
	{NULL, NULL, 0, 0, 0, NULL, 0},
};

/* No lws keepalive timers: each connection's would be inserted into one
 * sorted list by walking all the others (see server/net/keepalive.c). */
static const lws_retry_bo_t no_keepalive = {.secs_since_valid_ping = 0, .secs_since_valid_hangup = 0};

static void on_tick(lws_sorted_usec_list_t *sul)
{
	bench_client *cl = lws_container_of(sul, bench_client, tick);
	lws_sul_schedule(cl->ctx, 0, sul, on_tick, cl->tick_us);
}

int bench_client_start(bench_client *cl, int port, const char *app, lws_usec_t tick_us,
		       const bench_client_hooks *hooks)
{
	struct lws_context_creation_info info;
	memset(cl, 0, sizeof *cl);
	cl->port = port;
	cl->app = app;
	cl->tick_us = tick_us;
	cl->hooks = *hooks;
	lws_set_log_level(LLL_ERR, NULL);
	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.user = cl;
	/* no fd_limit_per_thread: below the open-file limit it makes lws find
	 * the connection of every ready descriptor by a linear search
	 * (wsi_from_fd, half of kt-bench-load's CPU at 10,000); sized by the
	 * raised limit (bench_raise_nofile), the lookup is an index. */
	cl->loop = kt_evloop_new(&info);
	if (!cl->loop)
		return -1;
	cl->ctx = lws_create_context(&info);
	if (!cl->ctx) {
		kt_evloop_destroy(cl->loop, NULL);
		cl->loop = NULL;
		return -1;
	}
	lws_sul_schedule(cl->ctx, 0, &cl->tick, on_tick, tick_us);
	return 0;
}

void bench_client_stop(bench_client *cl)
{
	if (!cl || !cl->loop)
		return;
	if (cl->ctx)
		lws_sul_cancel(&cl->tick);
	kt_evloop_destroy(cl->loop, cl->ctx);
	cl->loop = NULL;
	cl->ctx = NULL;
}

int bench_client_service(bench_client *cl)
{
	return kt_evloop_service(cl->loop, cl->ctx);
}

int bench_conn_connect(bench_client *cl, bench_conn *c, const char *iface)
{
	c->closing = false;
	c->out_len = 0;
	c->wsi = bench_ws_connect(cl->ctx, cl->port, KT_SUBPROTOCOL, c, iface, &no_keepalive);
	return c->wsi ? 0 : -1;
}

void bench_conn_queue(bench_conn *c, const kt_mpw *w)
{
	memcpy(c->out + LWS_PRE, w->sb.data, w->sb.size);
	c->out_len = w->sb.size;
	lws_callback_on_writable(c->wsi);
}

void bench_conn_close(bench_conn *c)
{
	if (!c->wsi)
		return;
	c->closing = true;
	lws_callback_on_writable(c->wsi);
}

void bench_conn_error_msg(const bench_conn *c, const unsigned char *buf, size_t len, int *errors)
{
	kt_error_msg e;
	if (!proto_error_decode(buf, len, &e) && (*errors)++ < 5)
		fprintf(stderr, "device %s: error %.*s: %.*s\n", c->device, (int)e.code.len, e.code.s, (int)e.msg.len,
			e.msg.s);
}

void bench_conn_keep_cursor(bench_conn *c, const kt_str *cursor)
{
	if (cursor->s && cursor->len <= sizeof c->cursor) {
		memcpy(c->cursor, cursor->s, cursor->len);
		c->cursor_len = cursor->len;
	}
}
