/* server.h - the running server: its event loop state, sessions and the
 * shared pieces the message handlers use. Everything here is touched only by
 * the event-loop thread, except what auth.c and writer.c mark as shared. */
#ifndef KT_SERVER_H
#define KT_SERVER_H

#include <libwebsockets.h>
#include <pthread.h>
#include <stdatomic.h>
#include "kt_limits.h"
#include "kt_mp.h"
#include "kt_proto.h"
#include "kt_workq.h"
#include "domain/policy.h"
#include "domain/portal.h"
#include "db/store.h"

typedef struct kt_server kt_server;
typedef struct kt_session kt_session;
typedef struct kt_auth kt_auth;
typedef struct kt_writer kt_writer;
typedef struct kt_push_job kt_push_job;
typedef struct kt_exporter kt_exporter; /* export_worker.c */
typedef struct kt_portal_rt kt_portal_rt;         /* handle_portal.c */
typedef struct kt_mail_worker kt_mail_worker;     /* mail.c */

typedef enum kt_sess_state {
	KT_SS_HELLO,        /* waiting for hello */
	KT_SS_AUTH,         /* waiting for login/resume */
	KT_SS_AUTH_PENDING, /* password being checked on a worker */
	KT_SS_READY,        /* signed in, no sync yet */
	KT_SS_SNAPSHOT,     /* sending snapshot pages */
	KT_SS_STREAM,       /* streaming changes after the cursor */
	KT_SS_CLOSING,      /* a fatal error is queued; close after it is written */
} kt_sess_state;

/* A packed frame waiting to be written (control messages: welcome, errors...). */
typedef struct kt_frame {
	struct kt_frame *next;
	size_t len;
	bool fatal;
	unsigned char data[]; /* LWS_PRE headroom + payload */
} kt_frame;

struct kt_session {
	kt_server *srv;
	struct lws *wsi;
	uint64_t id;                 /* unique per server run; auth results find us by it */
	kt_session *prev, *next;     /* all sessions */
	struct kt_bucket **member;   /* fan-out index buckets this session is in */
	int nmember;
	kt_sess_state state;
	char addr[64];               /* peer address, for throttling */
	char device[KT_UUID_LEN + 1];
	char app[KT_MAX_APP + 1];
	kt_principal principal;      /* the rights every request and every row sent is judged by (rights.c) */
	int64_t rights_gen;          /* rights_gen when principal was read */
	/* rights the device's data was built with, when a request found them
	 * changed before the stream met that change (sync.c, entry_op) */
	kt_principal basis;
	bool has_basis;
	bool signed_in;
	int auth_fails;
	int pushes_inflight;         /* pushes handed to the writer, not yet answered */
	uint8_t token_hash[32];      /* of the session token (logout ends it) */
	bool has_token;
	/* sign-in deadline: a place in the server's queue of connections not
	 * signed in yet (session.c), in order of arrival = order of deadline */
	struct kt_session *dl_prev, *dl_next;
	int64_t deadline_us; /* kt_mono_us() at which it is closed; 0: not queued */
	lws_sorted_usec_list_t tarpit;   /* a throttled sign-in's answer waits on this (login_tarpit.c) */
	int tarpit_code;                 /* ... and carries this error code */
	/* keepalive (keepalive.c): one sweep instead of a timer per connection */
	int64_t last_rx_us;              /* kt_mono_us() of the last frame or pong received */
	int64_t ping_at_us;              /* of the last ping sent */
	bool want_ping;                  /* the next writeable callback sends a ping */
	/* after a fatal error: the WebSocket close frame that follows it */
	uint16_t close_status;           /* 1008, 1009 or 1011 */
	char close_reason[24];           /* the error code, e.g. "malformed" */
	bool close_now;                  /* the error frame is written: close once lws has flushed it */

	/* inbound reassembly */
	unsigned char *in;
	size_t in_len, in_cap;
	bool in_text;

	/* outbound */
	kt_frame *ctl_head, *ctl_tail; /* control frames, sent before data */
	int nctl;
	bool rx_paused; /* not read while KT_CTL_PAUSE answers wait (session.c) */
	/* an export document going out part by part, one per writeable
	 * callback before anything else (handle_privacy.c): any size, and
	 * nothing comes between its parts */
	char *export_doc;               /* owned; NULL: none */
	size_t export_len, export_off;
	uint32_t export_part, export_parts;
	char export_client[KT_UUID_LEN + 1];

	/* sync position */
	int64_t sent_seq;            /* every change <= sent_seq has been sent (or skipped) */
	bool dirty;                  /* new log entries may concern us */
	bool durable_wait;           /* a send waits for the WAL to be synced again (session.c) */
	bool send_synced;            /* a synced message is due */
	bool sent_since_synced;
	bool resnap;                 /* our rights changed: a new snapshot replaces the data */
	/* snapshot position */
	int snap_table;
	char snap_after[KT_UUID_LEN + 1];
	int64_t snap_seq;
	/* a change of locations (same role): the difference instead of
	 * a snapshot (sync.c, "rights diff"; PROTOCOL.md, rights) */
	int diff_phase;              /* 0 none, 1 evictions, 2 rows gained */
	int diff_table;
	char diff_after[KT_UUID_LEN + 1];
	bool diff_active;            /* from the diff until the stream passes diff_end */
	kt_principal diff_old;       /* the rights before (owned while diff_active) */
	int64_t diff_end;            /* newest change the diff's reads may have seen */
	int64_t basis_seq;           /* the last snapshot read changes up to here */
};

/* One entry of the in-memory log ring. */
typedef struct kt_ring {
	kt_log_entry *e;   /* cap slots, entry with seq s at s % cap */
	int cap;
	int64_t first_seq; /* oldest seq held (0 = empty) */
	int64_t last_seq;  /* newest seq held */
} kt_ring;

/* What another thread has for the loop (kt_server.wake). */
enum {
	KT_WAKE_AUTH = 1u << 0,   /* finished sign-ins (auth_deliver) */
	KT_WAKE_PUSH = 1u << 1,   /* answered pushes (writer_deliver) */
	KT_WAKE_DATA = 1u << 2,   /* a commit may be readable (fanout_ingest) */
	KT_WAKE_EXPORT = 1u << 3, /* finished exports (export_worker_deliver) */
	KT_WAKE_PORTAL = 1u << 4, /* finished portal password jobs (portal_deliver) */
};

struct kt_server {
	struct lws_context *ctx;
	struct lws_vhost *vh;
	kt_store *st;
	char *db_path;
	int port;
	uint8_t cursor_key[32];
	uint8_t token_key[32];
	kt_ring ring;
	int64_t head_seq;            /* newest change seen by this server */
	/* Rows the fan-out loaded since head_seq last moved (sync.c): every
	 * device interested in a change gets the same row, loaded and
	 * decrypted once. Emptied whenever head_seq moves. */
	struct kt_cached_row {
		kt_row row;            /* row.t == NULL: empty slot */
		bool missing;          /* the row did not exist (deleted since) */
	} rowcache[64];
	int64_t rowcache_head;
	kt_session *sessions;
	int nsessions;
	int durable_waiters;         /* sessions with durable_wait set */
	uint64_t next_session_id;
	kt_auth *auth;
	kt_writer *writer;
	int64_t revoke_seq;          /* revocations handled up to here (handle_manage.c) */
	int64_t rights_gen;          /* newest rights_gen the fan-out has read (rights.c) */
	/* fan-out index: sessions by routing key (fanout.c) */
	struct kt_bucket *buckets;
	int nbuckets;
	/* scratch writers (single-threaded loop: one frame is built at a time) */
	kt_mpw body, frame;
	/* wake-ups from other threads: one bit per source (KT_WAKE_*), one
	 * lws_cancel_service (net.c on_wake) */
	kt_wake wake;
	atomic_int stop;
	atomic_int writer_busy, wal_events_skipped; /* see net.c watch_main */
	/* privacy exports on their own thread (export_worker.c) */
	kt_exporter *exporter;
	lws_sorted_usec_list_t poll_timer;
	lws_sorted_usec_list_t recheck_timer; /* see net.c on_data_wake */
	int recheck_step_ms, recheck_waited_ms;
	pthread_t watch_thread;
	int watch_fd;
	bool watching;
	/* portal accounts and mail */
	const kt_portal_config *portal_cfg;
	kt_portal_rt *portal;
	kt_mail_worker *mail;
	lws_sorted_usec_list_t keepalive_timer; /* keepalive.c */
	/* connections waiting to sign in, oldest first, and one timer for the
	 * oldest (session.c): no per-connection entry in lws's sorted timer list */
	struct kt_session *dl_head, *dl_tail;
	lws_sorted_usec_list_t deadline_timer;
};

typedef struct kt_serve_opts {
	const char *db_path;
	const char *listen; /* host:port */
	int log_level;
	const kt_portal_config *portal; /* NULL: defaults */
} kt_serve_opts;

/* keepalive.c: idle pings and hang-up from one sweep timer */
void keepalive_start(kt_server *srv);
void keepalive_stop(kt_server *srv);
/* config keys ping_idle_s, idle_timeout_s: 0 set, 1 not ours, -1 bad value (*why) */
int keepalive_config_set(const char *k, const char *v, const char **why);
const char *keepalive_config_check(void); /* NULL, or what is wrong with the pair */
void session_deadlines_stop(kt_server *srv); /* the sign-in deadline timer (session.c) */
int keepalive_write_ping(kt_session *s);

/* Run the server until SIGINT/SIGTERM. Prints "listening on HOST:PORT". */
int server_run(const kt_serve_opts *o);

/* ---- session.c ---- */
kt_session *session_new(kt_server *srv, struct lws *wsi);
void session_free(kt_session *s);
kt_session *session_find(kt_server *srv, uint64_t id); /* NULL when gone */
/* Handle one complete inbound message. Returns -1 when the connection must close now. */
int session_on_message(kt_session *s, const unsigned char *buf, size_t len);
/* Write at most one frame. Returns -1 to close the connection. */
int session_on_writeable(kt_session *s);
/* Queue a control message packed in srv->frame (after LWS_PRE). */
int session_queue_frame(kt_session *s, bool fatal);
/* Queue an error message; fatal ones close the connection once written. */
void session_error(kt_session *s, int code, const char *msg, const char *re, bool fatal);
/* The same with a retry hint (retry_after_ms on the wire; 0 = none). */
void session_error_retry(kt_session *s, int code, const char *msg, const char *re, bool fatal, int64_t retry_ms);
void session_want_write(kt_session *s);
/* Start the frame writer: srv->frame gets LWS_PRE bytes of headroom. */
void frame_begin(kt_server *srv);

/* ---- one file per inbound message ---- */
int handle_hello(kt_session *s, const unsigned char *buf, size_t len);
int handle_login(kt_session *s, const unsigned char *buf, size_t len);
int handle_resume(kt_session *s, const unsigned char *buf, size_t len);
int handle_sync(kt_session *s, const unsigned char *buf, size_t len);
int handle_ack(kt_session *s, const unsigned char *buf, size_t len);
int handle_push(kt_session *s, const unsigned char *buf, size_t len);
int handle_audit_query(kt_session *s, const unsigned char *buf, size_t len);
int handle_logout(kt_session *s, const unsigned char *buf, size_t len);
int handle_manage(kt_session *s, const unsigned char *buf, size_t len);
int handle_privacy(kt_session *s, const unsigned char *buf, size_t len); /* handle_privacy.c */
/* An export built on the export thread is back (loop thread): send it, or
 * the error for rc. doc is borrowed. */
void privacy_export_done(kt_session *s, const char *client, int rc, const char *doc);
/* The next part of the session's export into srv->frame: true when there
 * is one to write; the document is freed after its last part. */
bool privacy_export_next(kt_session *s);

/* ---- export_worker.c: privacy exports off the event loop ---- */
int export_worker_start(kt_server *srv);
void export_worker_stop(kt_server *srv);
/* Queue an export of client for session s (its principal and device are
 * the audit actor). KT_EBUSY when the queue is full, KT_EINTERNAL when the
 * worker is not running (the caller then exports inline). */
int export_worker_submit(kt_server *srv, const kt_session *s, const char *client);
void export_worker_deliver(kt_server *srv); /* loop thread: send finished exports */
/* Called when a sign-in succeeded (login on a worker, or resume). */
void session_signed_in(kt_session *s, bool is_client, const char *principal_id, const char *token,
		       int64_t expires_at);

/* ---- sync.c: outbound data ---- */
/* Build the next data frame for s into srv->frame; *have = false when there
 * is nothing to send now. */
int sync_next_frame(kt_session *s, bool *have);
bool sync_has_more(const kt_session *s); /* would sync_next_frame have a frame now? */
void sync_start_snapshot(kt_session *s);
/* Free the fan-out's shared row cache (at shutdown; it renews itself). */
void sync_rowcache_clear(kt_server *srv);
void sync_session_free(kt_session *s); /* what a rights diff holds */
void sync_start_stream(kt_session *s, int64_t from_seq);

/* ---- fanout.c: log ring, session index, wake-ups ---- */
int fanout_init(kt_server *srv, int ring_cap, int nbuckets);
void fanout_free(kt_server *srv);
void fanout_index(kt_session *s);   /* (re)index a signed-in session */
void fanout_unindex(kt_session *s);
/* What devices are sent is read in a snapshot without a commit whose fsync
 * still runs (store_read_durable): the loop waits for such an fsync, at
 * most this long (it takes a millisecond or two; longer only on a failing
 * disk, and then the reading is given up). */
#define KT_DURABLE_WAIT_MS 500
/* A session whose send waited for a failed WAL sync to be redone goes on. */
void session_durable_resume(kt_server *srv);
/* Pull new change-log entries into the ring and wake the sessions they
 * concern (after_commit runs it, after the revocations). */
void fanout_ingest(kt_server *srv);
/* Next entries after seq: from the ring, or from SQLite when behind it.
 * Fills out[] with borrowed (ring) or owned (*owned = true) entries. */
int fanout_entries_after(kt_server *srv, int64_t seq, kt_log_entry *out, int max, int *n, bool *owned);

/* The session's rights changed (np, taken over): s->principal becomes np
 * at once; the device's data follows through a rights diff or a new
 * snapshot when the stream meets the change. */
void sync_rights_moved(kt_session *s, kt_principal *np);

/* ---- rights.c: every request is judged with the principal's current rights ---- */
/* The counter of rights changes (schema 14), read on st; -1 on error. */
int64_t rights_gen_read(kt_store *st);
/* Before a signed-in session's request: reload its principal when anyone's
 * rights changed since it was read. KT_OK, or the error that was queued
 * (KT_EREVOKED and the session closes: deactivated or gone). */
int session_rights_refresh(kt_session *s, const char *re) KT_MUST_CHECK;

/* ---- cursor.c ---- */
#define KT_CURSOR_LEN 41
void cursor_make(kt_server *srv, const kt_session *s, int64_t seq, uint8_t out[KT_CURSOR_LEN]);
/* KT_OK and *seq, or KT_EBAD_CURSOR. */
int cursor_check(kt_server *srv, const kt_session *s, const void *c, size_t len, int64_t *seq);
/* Fingerprint of what a principal may see (role + locations). */
uint64_t cursor_rights(const kt_principal *p);

/* ---- writer.c: pushes and acks are written on one thread, group commit ---- */
int writer_start(kt_server *srv);
void writer_stop(kt_server *srv);
void writer_submit(kt_session *s, kt_push_job *j); /* takes j */
void writer_note_ack(kt_server *srv, const char *device, int64_t seq);
void writer_deliver(kt_server *srv); /* loop thread: answer finished pushes */

/* ---- auth.c ---- */
/* Why a sign-in with a device id that another person holds is refused
 * (KT_EDEVICE_TAKEN), and what to do about it. */
#define KT_DEVICE_TAKEN_MSG                                                                                    \
	"device: this device id is signed in as another person; sign out on that device first, or have an " \
	"owner or manager sign it out (manage sign_out_device), or sign in with a new device id"
int auth_start(kt_server *srv);
void auth_stop(kt_server *srv);
/* Queue a password check; KT_EBUSY when the queue is full, KT_ETHROTTLED when locked out. */
int auth_submit_login(kt_server *srv, kt_session *s, const char *email, size_t elen, const char *pw,
		      size_t plen);
/* Verify a session token on the loop thread (a keyed hash lookup, no KDF). */
int auth_resume(kt_server *srv, kt_session *s, const char *token, size_t len, bool *is_client,
		char principal_id[KT_UUID_LEN + 1], int64_t *expires_at);
/* Deliver finished password checks (loop thread). */
void auth_deliver(kt_server *srv);
/* Token hashing shared by login and resume. */
void auth_token_hash(const kt_server *srv, const uint8_t *token, size_t len, uint8_t out[32]);

/* ---- throttle.c: the sign-in throttle (loop thread only) ---- */
typedef struct kt_throttle kt_throttle;
typedef struct kt_signin_keys {
	uint8_t acc[16], ip[16], pair[16]; /* keyed hashes: account, address, (account, address) */
	bool known;                        /* the account signed in from this address before */
} kt_signin_keys;
/* Allocates the whole table at once (KT_THROTTLE_ENTRIES) and loads the
 * lock-outs a previous run left in meta; *out is the caller's (throttle_close). */
int throttle_open(kt_server *srv, kt_throttle **out) __attribute__((warn_unused_result));
void throttle_close(kt_throttle *t); /* NULL is fine */
void throttle_keys(kt_throttle *t, const char *email, size_t elen, const char *addr, kt_signin_keys *k);
/* KT_OK and !*wait: the attempt is in flight and counts as a failure until
 * throttle_login_done. KT_OK and *wait: as many attempts are in flight as
 * the free failures allow; ask again when one is done (nothing counted).
 * KT_ETHROTTLED: locked out, or no room in the table to count it. */
int throttle_login_begin(kt_throttle *t, kt_signin_keys *k, bool *wait) __attribute__((warn_unused_result));
/* The attempt's outcome: KT_OK, KT_EAUTH_FAILED (counted) or another error (not counted). */
void throttle_login_done(kt_throttle *t, const kt_signin_keys *k, int rc);
int throttle_resume_check(kt_throttle *t, const char *addr); /* KT_OK or KT_ETHROTTLED */
void throttle_resume_failed(kt_throttle *t, const char *addr);

/* ---- handle_portal.c: portal accounts ---- */
int portal_start(kt_server *srv); /* the password worker and the mail worker */
void portal_stop(kt_server *srv);
void portal_deliver(kt_server *srv); /* loop thread: answer finished password jobs */
int handle_portal_invite(kt_session *s, const unsigned char *buf, size_t len);
int handle_portal_forgot(kt_session *s, const unsigned char *buf, size_t len);
int handle_portal_set_password(kt_session *s, const unsigned char *buf, size_t len);
int handle_portal_confirm_email(kt_session *s, const unsigned char *buf, size_t len);
int handle_change_password(kt_session *s, const unsigned char *buf, size_t len);

/* a refused sign-in answered late: login_tarpit.c */
void login_tarpit(kt_session *s, int code);

#endif
