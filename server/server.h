/* server.h - the running server: its event loop state, sessions and the
 * shared pieces the message handlers use. Everything here is touched only by
 * the event-loop thread, except what auth_workers.c and writer.c mark as shared. */
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
typedef struct kt_fanout kt_fanout;         /* fanout.c */
typedef struct kt_rowcache kt_rowcache;     /* sync.c */
typedef struct kt_exporter kt_exporter; /* export_worker.c */
typedef struct kt_portal_rt kt_portal_rt;         /* handle_portal.c */
typedef struct kt_mail_worker kt_mail_worker;     /* mail.c */
typedef struct kt_life kt_life;                   /* net/lifecycle.c */
typedef struct kt_reload kt_reload;               /* net/lifecycle.h */

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
	lws_sorted_usec_list_t tarpit;   /* a throttled sign-in's answer waits on this (tarpit.c) */
	int tarpit_code;                 /* ... and carries this error code */
	/* keepalive (keepalive.c): one sweep instead of a timer per connection */
	int64_t last_rx_us;              /* kt_mono_us() of the last frame or pong received */
	int64_t ping_at_us;              /* of the last ping sent */
	bool want_ping;                  /* the next writeable callback sends a ping */
	/* after a fatal error: the WebSocket close frame that follows it */
	uint16_t close_status;           /* 1008, 1009 or 1011; 1001 when the server drains */
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
	bool pruned;                 /* (with resnap) the stream stood still past the change log kept */
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
	/* metrics (kt_metrics.h): the role this device is counted under (-1:
	 * not signed in), and since when its changes count as live (wall ms) */
	int metric_role;
	int64_t live_since_ms;
};

/* What another thread has for the loop (kt_server.wake). */
enum {
	KT_WAKE_AUTH = 1u << 0,   /* finished sign-ins (auth_deliver) */
	KT_WAKE_PUSH = 1u << 1,   /* answered pushes (writer_deliver) */
	KT_WAKE_DATA = 1u << 2,   /* a commit may be readable (fanout_ingest) */
	KT_WAKE_EXPORT = 1u << 3, /* finished exports (export_worker_deliver) */
	KT_WAKE_PORTAL = 1u << 4, /* finished portal password jobs (portal_deliver) */
	KT_WAKE_RELOAD = 1u << 5, /* SIGHUP: read the config file and the certificate again (net/lifecycle.c) */
	KT_WAKE_DRAIN = 1u << 6,  /* SIGTERM/SIGINT: stop accepting, finish, close with 1001 (net/lifecycle.c) */
};

struct kt_server {
	struct lws_context *ctx;
	struct lws_vhost *vh;
	kt_store *st;
	char *db_path;
	int port;
	uint8_t cursor_key[32];
	uint8_t token_key[32];
	struct kt_fanout *fan;       /* the change ring and the session index (fanout.c) */
	int64_t head_seq;            /* newest change seen by this server */
	struct kt_rowcache *rowcache; /* rows the stream loaded since head_seq moved (sync.c) */
	struct kt_snapcache *snapcache; /* snapshot pages of one person's devices (sync/snapcache.c) */
	kt_session *sessions;
	int nsessions;
	int durable_waiters;         /* sessions with durable_wait set */
	uint64_t next_session_id;
	kt_auth *auth;
	kt_writer *writer;
	int64_t revoke_seq;          /* revocations handled up to here (handle_manage.c) */
	int64_t rights_gen;          /* newest rights_gen the fan-out has read (rights.c) */
	/* scratch writers (single-threaded loop: one frame is built at a time) */
	kt_mpw body, frame;
	/* wake-ups from other threads: one bit per source (KT_WAKE_*), one
	 * lws_cancel_service (listener.c on_wake) */
	kt_wake wake;
	atomic_int stop;
	/* set by a SIGTERM's drain (net/lifecycle.c) on the loop thread; any
	 * thread may read it (/readyz says "draining") */
	atomic_bool draining;
	kt_life *life; /* readiness, reload and drain (net/lifecycle.c) */
	atomic_bool ready; /* /readyz: startup done (server_run, after the workers start) */
	atomic_int writer_busy, wal_events_skipped; /* see listener.c watch_main */
	/* privacy exports on their own thread (export_worker.c) */
	kt_exporter *exporter;
	lws_sorted_usec_list_t poll_timer;
	lws_sorted_usec_list_t recheck_timer; /* see listener.c on_data_wake */
	int recheck_step_ms, recheck_waited_ms;
	pthread_t watch_thread;
	int watch_fd;  /* inotify on the WAL (net/walwatch.c) */
	int watch_shm; /* the -shm file, read only (net/walwatch.c) */
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
	/* the web app over HTTP (net/web.c), and TLS on the listener */
	const char *web_root; /* serve the app from this folder instead of the binary */
	bool tls;             /* the listener speaks TLS: HSTS on every answer */
	struct kt_tls *tls_cert; /* its certificate and key (net/tls.c); NULL when plain */
	struct kt_sendpool *sendpool; /* the fan-out's sender threads (net/sendpool.h) */
};

typedef struct kt_serve_opts {
	const char *db_path;
	const char *listen; /* host:port */
	int log_level;
	const kt_portal_config *portal; /* NULL: defaults */
	const char *web_root;           /* --web-root DIR, or NULL: the files built in */
	const char *tls_cert, *tls_key; /* PEM files, or NULL: plain WebSocket and HTTP */
	/* SIGHUP: read the config file again into *out without changing
	 * anything (cli/main.c); 0, or non-zero with why filled. NULL: no
	 * --config file, only the certificate is read again. Loop thread. */
	int (*reload)(kt_reload *out, char *why, size_t cap);
} kt_serve_opts;

#endif
