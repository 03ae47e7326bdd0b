/* kartoteka_client.h - the reference Kartoteka client library (the one
 * public header). It keeps a local SQLite cache of everything the signed-in
 * principal may see, resumes from a stored cursor after a restart or a
 * dropped connection, and applies puts, deletes and evictions in order.
 * Embeddable: no global state, no printing, no exit(); all output goes
 * through callbacks. Not thread-safe except kc_stop(). Every function that
 * returns int returns 0 or a KT_E* code from kt_err.h. */
#ifndef KARTOTEKA_CLIENT_H
#define KARTOTEKA_CLIENT_H

#include <stddef.h>
#include <stdint.h>

typedef struct kc_client kc_client;

enum kc_mode {
	KC_UNTIL_SYNCED = 0, /* return once the server says the cache is current */
	KC_FOREVER = 1,      /* keep streaming; reconnect with backoff on drops */
};

enum kc_state {
	KC_ST_CONNECTING,
	KC_ST_SIGNED_IN,
	KC_ST_SNAPSHOT,
	KC_ST_SYNCED,
	KC_ST_DISCONNECTED,
	KC_ST_ERROR, /* code and message of a server error */
};

enum kc_op { KC_OP_PUT, KC_OP_DELETE, KC_OP_EVICT };

typedef struct kc_callbacks {
	/* after an op is durably applied to the cache */
	void (*on_op)(void *user, int op, const char *tbl, const char *id, int64_t v);
	/* during a snapshot: rows stored so far of about total */
	void (*on_progress)(void *user, int64_t done, int64_t total);
	/* connection state changes; code/msg are set for KC_ST_ERROR (borrowed) */
	void (*on_state)(void *user, int state, const char *code, const char *msg);
	void *user;
} kc_callbacks;

/* Open (creating) the client directory: dir/cache.db (mode 0600, dir 0700).
 * Returns NULL with a message in err on failure. Caller owns the client. */
kc_client *kc_open(const char *dir, char *err, size_t errlen);
void kc_close(kc_client *c); /* accepts NULL */
void kc_set_callbacks(kc_client *c, const kc_callbacks *cb);

/* Server URL ws://HOST:PORT[/path], remembered in the cache. */
int kc_set_server(kc_client *c, const char *url);

/* Sign in with e-mail and password; stores the session token (never the
 * password). KT_EAUTH_FAILED / KT_ETHROTTLED carry the server's message in
 * kc_last_error(). */
int kc_login(kc_client *c, const char *email, const char *password, int timeout_ms);

/* Connect with the stored token and sync (see enum kc_mode). timeout_ms 0 =
 * no limit. Returns KT_ETIMEOUT when the time ran out, KT_OK when synced
 * (KC_UNTIL_SYNCED) or stopped (KC_FOREVER). */
int kc_run(kc_client *c, int mode, int timeout_ms);
/* Ask kc_run to return soon; safe from a signal handler or another thread. */
void kc_stop(kc_client *c);

/* An edit made on the device, online or not: applied to the cache at once
 * and queued for the server in the same local transaction (it survives a
 * crash). fields_json is a JSON object of field -> value (lists as arrays of
 * strings, null clears). id NULL creates a new row; its id goes to id_out.
 * The queue is pushed in order when kc_run connects. */
int kc_mutate(kc_client *c, const char *tbl, const char *id, const char *fields_json,
	      char id_out[37]);
int64_t kc_queue_count(kc_client *c);
/* Note that the person opened a row (a client card): sent with the next push
 * for the audit log ("who saw what"). */
int kc_record_view(kc_client *c, const char *tbl, const char *id);
/* Edits the server refused (rolled back in the cache), oldest first. The
 * strings are borrowed for the call; current_json may be NULL. */
typedef int (*kc_rejection_cb)(void *user, int64_t mid, const char *tbl, const char *id, const char *code,
			       const char *msg, const char *fields_json, const char *current_json);
int kc_rejections(kc_client *c, kc_rejection_cb cb, void *user);

/* Forget the token and wipe the cache (a shared tablet keeps nothing). */
int kc_logout(kc_client *c);

/* Cache queries. json is the row's visible fields as a JSON object
 * (borrowed, valid during the callback). A non-zero return stops. */
typedef int (*kc_row_cb)(void *user, const char *id, int64_t v, const char *json);
int kc_query(kc_client *c, const char *tbl, kc_row_cb cb, void *user);
/* One row's JSON; *json is malloc'd, the caller frees it. KT_ENOT_FOUND if absent. */
int kc_get(kc_client *c, const char *tbl, const char *id, char **json);
/* A value from the cache's meta table (principal_name, principal_role, server, ...). */
int kc_meta(kc_client *c, const char *key, char *out, size_t cap);
/* Rows per table, for status output. */
int64_t kc_count(kc_client *c, const char *tbl);
/* The last error message (borrowed; valid until the next call). */
const char *kc_last_error(const kc_client *c);
/* The cache database, for read-only queries by embedding apps (borrowed). */
struct sqlite3 *kc_db(kc_client *c);

#endif
