/* kartoteka_client.h - libkartoteka-client, the reference Kartoteka device
 * library (its one public header). It keeps a local SQLite cache of exactly
 * what the signed-in principal may see, applies puts, deletes and evictions
 * in server order, resumes from a stored cursor after a restart, a kill or a
 * dropped connection, and queues edits made offline (proto/PROTOCOL.md is
 * the wire contract).
 *
 * Embeddable: no global state of its own, no printing, no exit(); everything
 * the library has to say goes through callbacks or return codes. A kc_client
 * is used from one thread at a time; only kc_stop() may be called from
 * another thread or a signal handler. Functions returning int return KT_OK (0)
 * or a KT_E* code of kt_err.h (kt_strerror() names it); kc_last_error() then
 * holds a sentence for a person. Strings passed in are borrowed for the call
 * only, unless said otherwise.
 *
 * Process-wide side effects, both inherited from libwebsockets: the first
 * connection sets lws's log level to errors, emitted nowhere (call
 * lws_set_log_level afterwards to see them), and SIGPIPE must be ignored or
 * handled by the application (lws writes to sockets). */
#ifndef KARTOTEKA_CLIENT_H
#define KARTOTEKA_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include "kt_err.h"

typedef struct kc_client kc_client;

enum kc_mode {
	KC_UNTIL_SYNCED = 0, /* one connection; return when the cache is current */
	KC_FOREVER = 1,      /* keep streaming; reconnect with backoff on drops */
};

/* on_state states, in the order a good session goes through them. */
enum kc_state {
	KC_ST_CONNECTING,   /* msg: the server URL */
	KC_ST_SIGNED_IN,    /* msg: the principal's name */
	KC_ST_SNAPSHOT,     /* a full snapshot starts (progress follows) */
	KC_ST_SYNCED,       /* the cache holds everything up to now */
	KC_ST_DISCONNECTED, /* msg: why, when it was not our own choice */
	KC_ST_ERROR,        /* code: wire name (kt_err_name), msg: the server's or our text */
};

enum kc_op { KC_OP_PUT, KC_OP_DELETE, KC_OP_EVICT };

/* Any member may be NULL. Strings are borrowed for the duration of the call.
 * Callbacks run inside kc_run/kc_login and must not call back into the
 * library except kc_stop(), kc_query(), kc_get() and kc_count(). */
typedef struct kc_callbacks {
	/* after an op is durably applied (committed) to the cache; v is 0 for
	 * delete and evict */
	void (*on_op)(void *user, int op, const char *tbl, const char *id, int64_t v);
	/* during a snapshot, after each committed page: rows stored of about total */
	void (*on_progress)(void *user, int64_t done, int64_t total);
	/* connection and session state (enum kc_state); code is NULL except for
	 * KC_ST_ERROR, msg may be NULL */
	void (*on_state)(void *user, int state, const char *code, const char *msg);
	void *user;
} kc_callbacks;

/* Open (creating if needed) the client directory: DIR is created mode 0700
 * and holds cache.db (mode 0600, WAL) and a lock file. A device id (UUIDv7)
 * is generated on first open and kept. Returns a client the caller owns (free
 * with kc_close), or NULL with a message in err (errlen bytes, may be 0). */
kc_client *kc_open(const char *dir, char *err, size_t errlen);
/* Close the cache and any connection. Accepts NULL. */
void kc_close(kc_client *c);
/* Copy cb into the client (NULL clears all callbacks). */
void kc_set_callbacks(kc_client *c, const kc_callbacks *cb);

/* Remember the server, ws://HOST[:PORT][/PATH] or wss://HOST[:PORT][/PATH]
 * (TLS: the certificate must be valid for HOST, unexpired and signed by a
 * CA the system trusts, or the one of kc_set_ca_file), in the cache so
 * later runs need not repeat it. KT_EINVALID when the URL does not parse.
 * Call it between runs, not during one. */
int kc_set_server(kc_client *c, const char *url) __attribute__((warn_unused_result));

/* Verify wss:// servers against the CA certificates in this PEM file only,
 * instead of the system's (a salon's own CA, or a test CA); NULL goes back
 * to the system's. Remembered in the cache as an absolute path, like the
 * server. KT_EINVALID (kc_last_error says why) when the file cannot be read
 * or holds no PEM certificate. Between runs, not during one. */
int kc_set_ca_file(kc_client *c, const char *path) __attribute__((warn_unused_result));

/* Sign in with e-mail and password on a connection of its own, closed
 * afterwards. Stores the session token and the principal in the cache, never
 * the password (which is wiped from the library's buffers once sent). Another
 * principal than the cached one wipes the cache, queued edits included,
 * first. Returns KT_OK; KT_EAUTH_FAILED or KT_ETHROTTLED (kc_last_error()
 * holds the server's message); KT_EBUSY (server busy, or another process is
 * syncing this directory); KT_EIO (no connection); KT_ETIMEOUT (timeout_ms >
 * 0 elapsed). */
int kc_login(kc_client *c, const char *email, const char *password, int timeout_ms)
	__attribute__((warn_unused_result));

/* Connect, resume with the stored token, push queued edits, then sync from
 * the stored cursor (a snapshot when there is none). Every server message is
 * applied in one transaction together with its cursor, so a kill at any
 * point resumes without gaps or duplicates.
 * KC_UNTIL_SYNCED: returns KT_OK once the server says synced; KT_EIO (or the
 *   server's fatal error code) when the connection fails or drops first; the
 *   cache stays consistent and the next call resumes.
 * KC_FOREVER: streams; after a drop reconnects with exponential backoff
 *   (250 ms doubling to 30 s, with jitter; reset once signed in again).
 * Both: KT_ETIMEOUT when timeout_ms > 0 elapsed, KT_OK after kc_stop(),
 * KT_EUNAUTH when not signed in, KT_EAUTH_FAILED when the server refused the
 * stored token (it is forgotten: sign in again), KT_EBUSY when another
 * process is syncing the same directory. A connection not signed in within
 * 15 s is given up (KT_ETIMEOUT for KC_UNTIL_SYNCED, a retry for KC_FOREVER). */
int kc_run(kc_client *c, int mode, int timeout_ms) __attribute__((warn_unused_result));

/* Make the running (or, if none runs, the next) kc_run/kc_login return soon
 * with KT_OK. Async-signal-safe and thread-safe; c must stay open. */
void kc_stop(kc_client *c);

/* An edit made on the device, online or not: applied to the cache at once
 * and queued for the server in the same local transaction (it survives a
 * crash). fields_json is a JSON object of field -> value (lists as arrays of
 * strings, null clears). id NULL creates a new row; its id goes to id_out
 * (37 bytes, may be NULL). The queue is pushed in order when kc_run connects,
 * and while a KC_FOREVER run streams within about a second (also edits that
 * another process queued in the same directory). */
int kc_mutate(kc_client *c, const char *tbl, const char *id, const char *fields_json, char id_out[37])
	__attribute__((warn_unused_result));
/* kc_mutate for an appointment booked over another on purpose: the server
 * lets it overlap the specialist's other appointments when the signed-in
 * role may (owner, manager, reception), and audits overlap_reason (not
 * empty; copied). */
int kc_mutate_overlap(kc_client *c, const char *tbl, const char *id, const char *fields_json,
		      const char *overlap_reason, char id_out[37]) __attribute__((warn_unused_result));
/* Edits waiting for the server. */
int64_t kc_queue_count(kc_client *c);
/* Edits and view events waiting for the server (-1 on a cache error). */
int64_t kc_waiting(kc_client *c);
/* Note that the person opened a row (a client card): sent with the next push
 * for the audit log ("who saw what"). */
int kc_record_view(kc_client *c, const char *tbl, const char *id) __attribute__((warn_unused_result));
/* Edits the server refused (rolled back in the cache), oldest first. The
 * strings are borrowed for the call; current_json may be NULL. A non-zero
 * return from cb stops the walk and is returned. */
typedef int (*kc_rejection_cb)(void *user, int64_t mid, const char *tbl, const char *id, const char *code,
			       const char *msg, const char *fields_json, const char *current_json);
int kc_rejections(kc_client *c, kc_rejection_cb cb, void *user);

/* Forget the session token AND wipe the cache: rows, queued edits, view
 * events and rejections (deleted content is overwritten, the WAL truncated),
 * so a shared tablet keeps nothing. The device id and server stay. While
 * edits or view events still wait for the server it refuses with
 * KT_ECONFLICT, unless discard_queued is non-zero. Does not talk to the
 * server: call kc_sign_out first to end the session there. */
int kc_logout(kc_client *c, int discard_queued) __attribute__((warn_unused_result));
/* End this device's session on the server (the token is refused from then
 * on) and forget the token. KT_OK also when there is no session. */
int kc_sign_out(kc_client *c, int timeout_ms) __attribute__((warn_unused_result));

/* Cache queries (read the local copy only; no network).
 * kc_query calls cb for every row of table tbl (wire table name, e.g.
 * "client"), ordered by id; json is the row's visible fields as a JSON
 * object. id and json are borrowed for the call. A non-zero return from cb
 * stops the walk and is returned. */
typedef int (*kc_row_cb)(void *user, const char *id, int64_t v, const char *json);
int kc_query(kc_client *c, const char *tbl, kc_row_cb cb, void *user);
/* One row's JSON into *json (malloc'd, the caller frees it; NULL on error).
 * KT_ENOT_FOUND when the cache does not hold it. */
int kc_get(kc_client *c, const char *tbl, const char *id, char **json) __attribute__((warn_unused_result));
/* Rows of table tbl, or of all tables when tbl is NULL; -1 on error. */
int64_t kc_count(kc_client *c, const char *tbl);

/* The session as the cache knows it. Strings are copied (NUL-terminated,
 * truncated to fit); empty when unknown. The token is never exposed. */
typedef struct kc_info {
	char server[256];
	char device_id[40];
	char principal_kind[16]; /* "staff" or "client" */
	char principal_id[40];
	char principal_role[16]; /* owner, manager, reception, specialist, client */
	char principal_name[256];
	char org[40];
	int signed_in;  /* a session token is stored */
	int has_cursor; /* the next sync resumes; otherwise it is a full snapshot */
	char ca_file[1024]; /* kc_set_ca_file's, "" = the system's CAs */
} kc_info;
int kc_info_get(kc_client *c, kc_info *out) __attribute__((warn_unused_result));

/* The last error as a sentence (never NULL; "" when none). Borrowed: valid
 * until the next call on c. Never contains a password or token. */
const char *kc_last_error(const kc_client *c);

/* The cache database (borrowed; owned by c) for read-only SQL by the
 * embedding application: rows(tbl, id, v, gen, data JSON), meta(key, value),
 * queue, events and rejections. Do not write to it while c is open. */
struct sqlite3 *kc_db(kc_client *c);

#endif
