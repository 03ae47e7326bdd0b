/* bench_conn.h - one benchmark device's WebSocket connection to the server:
 * the lws client protocol, connect, a one-frame output queue and the resume
 * sign-in (welcome -> resume, auth_ok -> sync), on the epoll loop of
 * common/kt_evloop.h. Each bench embeds a bench_conn first in its device
 * struct and gets every message through its hook. Never blocks, never
 * signs in with a password (the benches make sessions directly). */
#ifndef KT_BENCH_CONN_H
#define KT_BENCH_CONN_H

#include <libwebsockets.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "bench_util.h"
#include "kt_evloop.h"
#include "kt_proto.h"
#include "kt_util.h"

typedef struct bench_conn {
	struct lws *wsi; /* NULL while not connected */
	char device[KT_UUID_LEN + 1];
	char token[65];  /* the session token sent in `resume` */
	uint8_t cursor[128]; /* sent in `sync` when cursor_len > 0 */
	size_t cursor_len;
	unsigned char out[LWS_PRE + 256];
	size_t out_len;
	bench_inbuf in;
	bool closing; /* close at the next writeable callback */
} bench_conn;

typedef struct bench_client_hooks {
	/* Every whole message, welcome and auth_ok included (already answered). */
	void (*on_message)(bench_conn *c, kt_msgtype t, const unsigned char *buf, size_t len);
	/* The connection failed (c->wsi is already NULL); why may be NULL. */
	void (*on_error)(bench_conn *c, const char *why);
	/* The connection closed (c->wsi is already NULL). */
	void (*on_closed)(bench_conn *c);
} bench_client_hooks;

/* One lws client context on our loop, the devices' connections in it. */
typedef struct bench_client {
	struct lws_context *ctx;
	kt_evloop *loop;
	int port;
	const char *app; /* the app name sent in `hello`; not copied */
	bench_client_hooks hooks;
	lws_sorted_usec_list_t tick;
	lws_usec_t tick_us;
} bench_client;

/* Create the loop and the context; a timer every tick_us keeps the loop
 * turning when nothing arrives. cl must stay put until bench_client_stop. */
int bench_client_start(bench_client *cl, int port, const char *app, lws_usec_t tick_us,
		       const bench_client_hooks *hooks) __attribute__((warn_unused_result));
/* Destroy the context (its connections close without the on_closed hook
 * mattering any more) and the loop. Accepts a client never started. */
void bench_client_stop(bench_client *cl);
/* Wait for and handle one batch of events. */
int bench_client_service(bench_client *cl);

/* Connect c (iface: source address, or NULL); 0, or -1 when lws refused at
 * once (c->wsi is then NULL). */
int bench_conn_connect(bench_client *cl, bench_conn *c, const char *iface);
/* Queue one frame (at most 256 bytes) and ask for a writeable callback. */
void bench_conn_queue(bench_conn *c, const kt_mpw *w);
/* Close at the next writeable callback. */
void bench_conn_close(bench_conn *c);
/* An `error` message: counts it in *errors and prints the first five. */
void bench_conn_error_msg(const bench_conn *c, const unsigned char *buf, size_t len, int *errors);
/* Remember a cursor received in snapshot_end, synced or changes. */
void bench_conn_keep_cursor(bench_conn *c, const kt_str *cursor);

#endif
