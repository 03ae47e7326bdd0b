/* kc_internal.h - shared inside the client library; not installed. Layers,
 * one file each: kc_cache.c (the SQLite copy), kc_conn.c (the WebSocket and
 * the reconnect loop), kc_sync.c (what each server message means),
 * kc_queue.c (offline edits and their answers); kc_client.c holds the public
 * entry points and kc_query.c the read-only queries. */
#ifndef KC_INTERNAL_H
#define KC_INTERNAL_H

#include <libwebsockets.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include "kartoteka_client.h"
#include "kt_err.h"
#include "kt_proto.h"
#include "kt_util.h"

#define KC_SHAPES 64             /* prepared statements kept, one per row shape */
#define KC_PUT_BATCH_MAX 128     /* rows a statement while a snapshot page goes in */
#define KC_PUT_TIERS 2           /* statements of 128 and of 16 rows (kc_cache.c) */
#define KC_BACKOFF_MIN_MS 250
#define KC_BACKOFF_MAX_MS 30000
#define KC_ACK_INTERVAL_US (200 * 1000) /* at most one ack per this while changes stream */
#define KC_CLOSE_GRACE_US (1000 * 1000) /* time for a polite close before we cut */
#define KC_SIGNIN_DEADLINE_US (15 * 1000 * 1000) /* connect to auth_ok; the server's own is 10 s */
#define KC_QUEUE_POLL_US (1000 * 1000) /* while streaming: look for edits other processes queued */
#define KC_CREATED_VERSION 1     /* the version the server gives a create (PROTOCOL.md, push) */
#define KC_CREATED_VERSION_SQL "1"
#define KC_MODE_LOGIN (-1)       /* c->mode while kc_login runs */
#define KC_MODE_LOGOUT (-2)      /* c->mode while kc_sign_out runs */

/* A growing text buffer (kc_json.c). */
typedef struct kc_jbuf {
	char *s;
	size_t len, cap;
} kc_jbuf;

/* One row of a prepared snapshot page: tbl, id and the row's JSON follow
 * it; `next` is the offset of the next record in the page (kc_sync.c). */
typedef struct kc_prow {
	int64_t v;
	uint32_t tbl_len, id_len, json_len, next;
} kc_prow;

/* A snapshot page waiting for, or done by, the page applier (kc_sync.c):
 * its rows already decoded and turned into JSON (kc_prow records). */
typedef struct kc_page {
	struct kc_page *next;
	int rc;                  /* what applying it gave */
	int64_t rows;
	char *recs;              /* the kc_prow records (owned) */
	size_t len;
} kc_page;

/* The page applier: while a snapshot streams, each page is committed on
 * this thread while the connection's thread reads the next one. */
typedef struct kc_applier {
	bool on;                 /* the thread runs */
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	kc_page *todo, *todo_tail, *done, *done_tail;
	int ntodo;
	bool busy, stop;
	int rc;                  /* the first failure; later pages are not applied */
	char err[512];           /* its message */
} kc_applier;

typedef struct kc_outmsg {
	struct kc_outmsg *next;
	size_t len;
	int op;               /* WebSocket opcode: 2 (binary) for messages, 9/10 ping/pong */
	unsigned char data[]; /* LWS_PRE headroom + payload */
} kc_outmsg;

/* The WebSocket on the raw connection (kc_ws.c). */
enum { KC_WS_UPGRADING, KC_WS_OPEN, KC_WS_CLOSING, KC_WS_CLOSED, KC_WS_FAILED };
#define KC_IN_KEEP (512 * 1024) /* reassembly buffer kept between messages */
#define KC_PING_IDLE_US (40LL * 1000 * 1000)   /* our ping after this long without a byte from the server */
#define KC_HANGUP_IDLE_US (100LL * 1000 * 1000) /* a server silent this long is gone */
typedef struct kc_ws {
	bool lws;                /* wss://: lws's ws client does the framing, not kc_ws.c */
	int state;
	bool req_sent;           /* the upgrade request is written */
	char key[32];            /* our Sec-WebSocket-Key */
	char hdr[4096];          /* the server's answer to the upgrade while it arrives */
	size_t hdr_len;
	char refused[160];       /* why the upgrade was refused, "" = it was not */
	unsigned char fh[10];    /* a frame header while it arrives */
	size_t fh_len, fh_need;  /* fh_need 0: the next byte starts a header */
	uint64_t left;           /* payload bytes of the current frame still to come */
	int op;                  /* its opcode */
	bool fin, in_msg;        /* final frame; a fragmented message is being gathered */
	unsigned char ctl[125];  /* a control frame's payload */
	size_t ctl_len;
	uint16_t close_code;     /* KC_WS_FAILED: the close frame's code */
	int64_t rx_last_us, ping_sent_us;
} kc_ws;

struct kc_client {
	char dir[1024];
	sqlite3 *db;
	int lock_fd;             /* dir/lock: one process talks to the server per directory */
	kc_callbacks cb;
	char err[512];

	/* cache (kc_cache.c) */
	struct {
		char *shape;
		sqlite3_stmt *stmt;
	} shapes[KC_SHAPES];
	int nshapes;
	sqlite3_stmt *st_delete, *st_meta_get, *st_meta_set, *st_meta_del;
	sqlite3_stmt *st_put;    /* one row in: tbl, id, v, gen, data */
	sqlite3_stmt *st_put_batch[KC_PUT_TIERS]; /* kc_put_batch[i] rows in */
	kc_jbuf json;            /* the row's JSON while it is inserted */
	int64_t gen;             /* snapshot generation; rows of older ones go at snapshot_end */

	/* connection (kc_conn.c) */
	_Atomic(struct lws_context *) ctx; /* created by the first kc_run/kc_login */
	atomic_int stop;         /* kc_stop() */
	struct lws *wsi;         /* the current connection, NULL when none */
	bool ended;              /* the current connection attempt or connection ended */
	bool closing;            /* close politely once the queue is written */
	int conn_err;            /* why the connection ended (KT_E*), 0 = unknown */
	char tls_refused[600];   /* why the server's certificate was refused on this attempt, "" = it was not */
	int64_t backoff_ms;      /* next reconnect delay before jitter */
	int64_t signin_deadline_us; /* give up on a connection not signed in by then; 0 once signed in */
	lws_sorted_usec_list_t wake; /* wakes lws_service at our next deadline */
	kc_outmsg *out_head, *out_tail;
	kc_ws ws;
	unsigned char *in;       /* reassembly of one inbound message */
	size_t in_len, in_cap;

	/* session (kc_sync.c) */
	bool apply_async;        /* pages go to the applier thread (under kc_conn_run) */
	kc_applier ap;
	int mode;                /* KC_UNTIL_SYNCED, KC_FOREVER or KC_MODE_LOGIN */
	bool device_renewed;     /* this login took a new device id (device_taken) */
	const char *login_email, *login_password; /* borrowed while kc_login runs */
	bool done;               /* the goal of this kc_run/kc_login is reached (or failed for good) */
	int result;              /* what kc_run/kc_login returns when done */
	bool authed;             /* signed in on this connection */
	bool sync_sent;          /* this connection has asked for the stream: rows may come */
	bool in_snapshot;        /* between snapshot_begin and snapshot_end */
	int64_t snap_total, snap_done;
	uint8_t cursor[KT_MAX_CURSOR]; /* the cursor stored in the cache */
	size_t cursor_len;
	bool ack_dirty;          /* cursor not acknowledged yet */
	int64_t ack_due_us, ack_last_us;
	int64_t queue_poll_us;   /* next look at the queue while streaming (KC_FOREVER); 0 = none */

	/* offline edits (kc_queue.c) */
	bool pushing;            /* a push is waiting for its result */
	int64_t queue_len;       /* queued mutations (rebase server puts only when > 0) */
	int64_t events_sent;     /* view events up to this n are in the push in flight */
};

/* kc_client.c */
void kc_set_err(kc_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Errors of this thread go to buf (NULL: to c->err again). */
void kc_err_redirect(char *buf, size_t cap);
bool kc_err_is_set(const kc_client *c);
void kc_state(kc_client *c, int state, const char *code, const char *msg);
/* Take / release the directory lock (KT_EBUSY when another process holds it). */
int kc_lock(kc_client *c) KT_MUST_CHECK;
void kc_unlock(kc_client *c);

/* kc_cache.c: every function returns KT_OK or KT_EIO (message in c->err)
 * unless said otherwise. */
int kc_cache_open(kc_client *c) KT_MUST_CHECK;
void kc_cache_close(kc_client *c);
int kc_tx(kc_client *c, const char *sql) KT_MUST_CHECK;
void kc_rollback(kc_client *c); /* when a transaction is open */
/* meta: kc_meta_get copies the value NUL-terminated (truncated to cap);
 * KT_ENOT_FOUND when absent. */
int kc_meta_get(kc_client *c, const char *key, char *out, size_t cap) KT_MUST_CHECK;
int kc_meta_set(kc_client *c, const char *key, const char *value, size_t len) KT_MUST_CHECK;
int kc_meta_del(kc_client *c, const char *key) KT_MUST_CHECK;
/* Apply one row/op inside the caller's transaction; KT_EMALFORMED for field
 * values v1 does not allow. */
int kc_cache_apply(kc_client *c, const kt_op *op) KT_MUST_CHECK;
/* The rows of a prepared snapshot page (kc_prow records), inside the
 * caller's transaction. */
int kc_cache_put_page(kc_client *c, const char *recs, size_t len) KT_MUST_CHECK;
extern const int kc_put_batch[KC_PUT_TIERS];
/* A put whose row is already JSON; inside the caller's transaction. */
int kc_cache_put_json(kc_client *c, const char *tbl, size_t tbl_len, const char *id, size_t id_len, int64_t v,
		      const char *json, size_t json_len) KT_MUST_CHECK;
/* Each in a transaction of its own. */
int kc_cache_snapshot_begin(kc_client *c) KT_MUST_CHECK;
int kc_cache_snapshot_end(kc_client *c, const kt_str *cursor) KT_MUST_CHECK;
int kc_cache_store_principal(kc_client *c, const kt_auth_ok *m) KT_MUST_CHECK;
int kc_cache_wipe(kc_client *c) KT_MUST_CHECK;
/* Signed out by the server: rows, cursor and token go, queued edits stay. */
int kc_cache_forget_rows(kc_client *c) KT_MUST_CHECK;
/* Inside the caller's transaction. KT_ETOO_LARGE over KT_MAX_CURSOR. */
int kc_cache_set_cursor(kc_client *c, const kt_str *cursor) KT_MUST_CHECK;
/* The stored cursor into c->cursor / c->cursor_len (0 when none or unreadable). */
void kc_cache_load_cursor(kc_client *c);
/* A MessagePack map (v1 field values) as a JSON object text, built by
 * SQLite; malloc'd, the caller frees it; NULL when malformed or on error. */
char *kc_map_json(kc_client *c, const uint8_t *map, size_t len);

/* kc_json.c: a v1 field map (MessagePack) as the JSON object text SQLite's
 * json_object() would build for it, into b->s (NUL-terminated, b->len
 * bytes). KT_EMALFORMED for values v1 does not allow, KT_ENOMEM. */
int kc_json_from_map(kc_jbuf *b, const uint8_t *map, size_t len) KT_MUST_CHECK;
/* The same appended to what b holds (b->s stays NUL-ended). */
int kc_json_append_map(kc_jbuf *b, const uint8_t *map, size_t len) KT_MUST_CHECK;
/* Append n bytes. */
int kc_jbuf_put(kc_jbuf *b, const void *s, size_t n) KT_MUST_CHECK;
void kc_jbuf_free(kc_jbuf *b);

/* kc_queue.c */
int kc_queue_open(kc_client *c) KT_MUST_CHECK;
/* The first column of the first row of sql, 0 when there is none. */
int64_t kc_scalar(kc_client *c, const char *sql);
/* Send the next batch of queued mutations and view events; *sent = false
 * when nothing waits. */
int kc_queue_push(kc_client *c, bool *sent) KT_MUST_CHECK;
/* Apply a push_result: drop answered mutations, roll back rejections. */
int kc_queue_results(kc_client *c, const unsigned char *buf, size_t len) KT_MUST_CHECK;
/* Re-apply queued edits of a row on top of the server's version of it. */
int kc_queue_rebase(kc_client *c, const char *tbl, size_t tlen, const char *id, size_t ilen) KT_MUST_CHECK;

/* kc_conn.c */
/* Drive connections until the goal is reached (c->done), time runs out or
 * kc_stop(); retry: reconnect with backoff after a drop. */
int kc_conn_run(kc_client *c, int timeout_ms, bool retry) KT_MUST_CHECK;
/* Queue one packed message (copied; dropped when no connection); KT_ENOMEM, or w->err. */
int kc_send(kc_client *c, const kt_mpw *w) KT_MUST_CHECK;
/* Close the current connection politely once the queue is written. */
void kc_conn_drop(kc_client *c, int why);
/* Queue a control frame (ping/pong) ahead of the messages. */
int kc_conn_control(kc_client *c, int op, const unsigned char *payload, size_t len) KT_MUST_CHECK;

/* kc_ws.c */
/* The upgrade request for host:port/path into out (a new key in c->ws);
 * its length, or -1 when it does not fit. */
int kc_ws_request(kc_client *c, const char *host, int port, bool tls, const char *path, char *out, size_t cap);
/* Bytes from the server: the upgrade's answer, then frames; each whole
 * message goes to kc_sync_message. 0, or -1: close the connection (a
 * failed WebSocket (c->ws.state KC_WS_FAILED) first sends a close frame). */
int kc_ws_rx(kc_client *c, const unsigned char *in, size_t len);
/* Frame and mask payload[0..len) in place for op; the header goes into the
 * (at least 14) bytes before payload; *start: the frame; its length. */
size_t kc_ws_frame(unsigned char *payload, size_t len, int op, unsigned char **start);
void kc_ws_reset(kc_client *c);
/* Room in c->in for `more` bytes of the message being gathered; over
 * KT_MAX_OUT_FRAME or no memory: -1, the error and close code set. */
int kc_ws_in_reserve(kc_client *c, uint64_t more);
/* After a message: give back a large gathering buffer. */
void kc_ws_in_trim(kc_client *c);
void kc_conn_close(kc_client *c);
/* ws://HOST[:PORT][/PATH] or wss://... into host, port (80, or 443 for
 * wss) and path ("/"); *tls tells which. */
int kc_parse_url(const char *url, char *host, size_t hcap, int *port, char *path, size_t pcap, bool *tls) KT_MUST_CHECK;

/* kc_sync.c */
void kc_sync_start(kc_client *c); /* a connection is open: say hello */
/* The connection is gone: nothing of its session (signed in, the stream
 * asked for, a push in flight, an ack or queue poll due) carries over. */
void kc_sync_end(kc_client *c);
/* One whole inbound message. Non-zero closes the connection (c->conn_err says why). */
int kc_sync_message(kc_client *c, const unsigned char *buf, size_t len);
/* Wait for the page applier to finish what it holds and stop it; the
 * callbacks of what it committed run here. Its failure, if any (message in
 * c->err). Call before anything else touches the cache. */
int kc_sync_drain(kc_client *c);
/* When the page applier failed: drop the connection, saying why. */
void kc_sync_poll_applier(kc_client *c);
/* Send an ack for the stored cursor if one is owed. */
void kc_sync_ack(kc_client *c);
/* While streaming: push edits and view events queued meanwhile (by this or
 * another process, e.g. `kartoteka-client client set` next to a `watch`). */
void kc_sync_poll_queue(kc_client *c);

#endif
