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
	/* Password sign-in (the signed-in fixture below): with token[0] == 0 and
	 * login set, welcome is answered with `login`, and auth_ok's token is
	 * kept in token; login_only: no `sync` after auth_ok. Not copied. */
	const bench_account *login;
	bool login_only;
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
	/* page messages are handed on after a look at their type only, not
	 * checked whole (a bench that only counts their rows) */
	bool peek_pages;
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

/* ---- the signed-in fixture ----
 *
 * N devices of a demo salon signed in once with their passwords (Argon2id,
 * as a real first sign-in: deliberately slow, ~1 minute for 1,000 on two
 * cores), then kept: the database (with its sessions) and a tokens file
 * under SERVER_BIN's ../../test-cache, keyed like the test harness's demo
 * template (kt_harness.py demo_template): the pool's name, the seed,
 * today's date (the demo's appointments sit around today) and the server
 * binary's mtime and size. Later runs copy the database and sign in with
 * `resume` and the token. Device i is the pool's account i % npool. A cache
 * with fewer devices than asked for is extended (the missing ones sign in
 * with their passwords) and replaced. Each run serves its own copy, so
 * what it writes never reaches the cache. KT_BENCH_FIXTURE_FROM=DIR takes
 * that cache folder whatever the binary (an A/B of two builds whose
 * databases are the same; the line printed names the folder). */
typedef struct bench_signed_dev {
	char device[KT_UUID_LEN + 1];
	char token[65];
	int account; /* index into the fixture's pool */
} bench_signed_dev;

typedef struct bench_fixture {
	bench_server srv;     /* serving a copy of the signed-in database; its acc[] are the demo accounts */
	int pool[64], npool;  /* indices into srv.acc */
	bench_signed_dev *dev; /* [n] */
	int n;
	int signed_now;       /* devices signed in with a password in this run (0: all from the cache) */
	double signin_s;      /* wall time of this run's password sign-ins */
	double signin_cpu_ms; /* the server's CPU during them */
	char cache[512];      /* the cache folder */
} bench_fixture;

/* Choose the accounts devices sign in as: indices into b->acc, at most max;
 * returns how many (0: none fit). */
typedef int (*bench_pick_fn)(const bench_server *b, int *pool, int max);
/* The pool kt-bench-propagation uses: the owner and every staff member of
 * the first location in the demo's account list (all see that location). */
int bench_pick_location_staff(const bench_server *b, int *pool, int max);

/* Make or reuse the fixture (pool_name names pick in the cache key; letters,
 * digits and '-') and start a server on a copy of it. 0 or -1 (a message on
 * stderr). Prints one line saying whether the sign-ins came from the cache
 * and how long this run's took. */
int bench_fixture_start(bench_fixture *fx, const char *server_bin, int seed, int n, const char *pool_name,
			bench_pick_fn pick) __attribute__((warn_unused_result));
/* Stop the server, remove the copy, free the devices. Accepts a zeroed struct. */
void bench_fixture_stop(bench_fixture *fx);
/* Give connection c fixture device i's id and token (c then signs in with `resume`). */
void bench_fixture_conn(const bench_fixture *fx, int i, bench_conn *c);

#endif
