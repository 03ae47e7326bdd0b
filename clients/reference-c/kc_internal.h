/* kc_internal.h - shared inside the client library; not installed. */
#ifndef KC_INTERNAL_H
#define KC_INTERNAL_H

#include <libwebsockets.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdbool.h>
#include "kartoteka_client.h"
#include "kt_err.h"
#include "kt_proto.h"
#include "kt_util.h"

#define KC_SHAPES 64

typedef struct kc_outmsg {
	struct kc_outmsg *next;
	size_t len;
	unsigned char data[]; /* LWS_PRE + payload */
} kc_outmsg;

struct kc_client {
	char dir[1024];
	sqlite3 *db;
	kc_callbacks cb;
	char err[512];
	/* insert statements by row shape (kc_cache.c) */
	struct {
		char *shape;
		sqlite3_stmt *stmt;
	} shapes[KC_SHAPES];
	int nshapes;
	int64_t gen;
	/* connection (kc_conn.c) */
	struct lws_context *ctx;
	struct lws *wsi;
	kc_outmsg *out_head, *out_tail;
	unsigned char *in;
	size_t in_len, in_cap;
	volatile sig_atomic_t stop;
	lws_sorted_usec_list_t tick; /* wakes lws_service (which ignores its timeout in lws 4.x) */
	bool connected, closed;
	/* session (kc_sync.c) */
	int mode;            /* KC_UNTIL_SYNCED / KC_FOREVER; -1 = login only */
	const char *login_email, *login_password; /* borrowed during kc_login */
	bool done;           /* the current kc_run/kc_login goal is reached */
	int result;          /* its result */
	bool fatal;          /* do not reconnect (auth failure, revoked) */
	int64_t snap_total, snap_done;
	bool pushing;        /* a push is waiting for its result */
	bool sync_sent;      /* this connection has asked for the stream */
	int64_t queue_len;   /* queued mutations (rebase server puts only when > 0) */
	int64_t events_sent; /* view events up to this n are in the push in flight */
};

/* kc_cache.c */
int kc_cache_open(kc_client *c);
void kc_cache_close(kc_client *c);
int kc_meta_set(kc_client *c, const char *key, const char *value);
int kc_meta_del(kc_client *c, const char *key);
int kc_tx(kc_client *c, const char *sql);
/* Apply one decoded op (inside the caller's transaction). */
int kc_cache_apply(kc_client *c, const kt_op *op);
int kc_cache_snapshot_begin(kc_client *c);
int kc_cache_snapshot_end(kc_client *c, const kt_str *cursor);
int kc_cache_set_cursor(kc_client *c, const kt_str *cursor);
/* Stored cursor as bytes; *len = 0 when none. */
int kc_cache_cursor(kc_client *c, uint8_t *buf, size_t cap, size_t *len);
/* A MessagePack map as a JSON object text (malloc'd), via SQLite. */
char *kc_map_json(kc_client *c, const uint8_t *map, size_t len);

/* kc_queue.c */
/* Send the next batch of queued mutations; *sent = false when none is queued. */
int kc_queue_push(kc_client *c, bool *sent);
/* Apply a push_result: drop answered mutations, roll back rejections. */
int kc_queue_results(kc_client *c, const unsigned char *buf, size_t len);
/* Re-apply queued edits of a row on top of the server's version of it. */
int kc_queue_rebase(kc_client *c, const char *tbl, size_t tlen, const char *id, size_t ilen);
int kc_queue_open(kc_client *c);

/* kc_conn.c */
int kc_conn_run(kc_client *c, int timeout_ms, bool reconnect);
int kc_send(kc_client *c, const kt_mpw *w);
void kc_conn_close(kc_client *c);

/* kc_sync.c */
void kc_on_connected(kc_client *c);
int kc_on_message(kc_client *c, const unsigned char *buf, size_t len);
void kc_set_err(kc_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void kc_state(kc_client *c, int state, const char *code, const char *msg);

#endif
