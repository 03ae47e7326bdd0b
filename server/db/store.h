/* store.h - the narrow interface to the authoritative database (SQLite now;
 * see design §7 for a second backend). Every row change goes through
 * store_insert/store_update/store_delete/store_link_*, which write the row
 * and its change-log entry in the same transaction. Nothing outside the
 * store's files (store.c, store_*.c; store_internal.h is theirs alone)
 * touches SQLite handles of the authoritative database, except the demo
 * generator's bulk paths and read-only tests. One kt_store per thread. */
#ifndef KT_STORE_H
#define KT_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <sqlite3.h>
#include "kt_err.h"
#include "db/model.h"

typedef struct kt_store kt_store;

enum {
	KT_STORE_CREATE = 1,   /* create the file and schema if missing */
	KT_STORE_READONLY = 2,
	/* through the kt-walbuf VFS (walbuf.h): WAL appends gathered into one
	 * write per sync, and commits that can leave their sync to another
	 * thread. Safe only because store_open sets synchronous=FULL; not with
	 * KT_STORE_READONLY. For the push writer's connection. */
	KT_STORE_WALBUF = 4,
};

/* ---- open and close, keys, the statement cache (store.c) ---- */

/* Open path. Without KT_STORE_CREATE a missing file is KT_ENOT_FOUND and an
 * unreadable one KT_EIO; *errmsg (static or owned by nobody) says which.
 * Applies pending migrations unless read-only. Caller owns *out. */
int store_open(const char *path, int flags, kt_store **out, const char **errmsg) KT_MUST_CHECK;
void store_close(kt_store *st); /* accepts NULL */
sqlite3 *store_db(kt_store *st);  /* borrowed; for tests, demo bulk load, snapshots */
/* The keyring of client data keys (keyring.h); NULL in a read-only store
 * opened without the master key file. Rows read through the store come
 * back decrypted; raw SQL on sealed columns sees ciphertext. */
struct kt_keyring *store_keyring(kt_store *st);
/* Crypto-shredding: destroy a client's data key. Every sealed value of the
 * client (rows, audit before/after, copies in backups) becomes unreadable
 * for good; they read as NULL from then on. */
int store_client_key_destroy(kt_store *st, const char *client_id) KT_MUST_CHECK;
/* A statement from the store's cache (prepared once per SQL text), for the
 * modules that write inside the store's transaction (audit, push). Release
 * with store_finish; NULL on a prepare failure. */
sqlite3_stmt *store_prepare(kt_store *st, const char *sql);
void store_finish(kt_store *st, sqlite3_stmt *s);
int store_schema_version(kt_store *st);

/* ---- transactions and the audit chain head (store.c) ---- */

/* Explicit transactions (BEGIN IMMEDIATE: we are the single writer). */
int store_begin(kt_store *st) KT_MUST_CHECK;
/* A read transaction (BEGIN DEFERRED): one consistent view, also on a
 * store opened read-only. End it with store_commit. */
int store_begin_read(kt_store *st) KT_MUST_CHECK;
/* Opened with KT_STORE_READONLY (nothing can be written, audit included). */
bool store_read_only(kt_store *st);
int store_commit(kt_store *st) KT_MUST_CHECK;
void store_rollback(kt_store *st);
/* End the open transaction: roll it back when rc (returned as it is),
 * else commit; a failed commit says so in err (may be NULL) and returns
 * its code. */
int store_end(kt_store *st, int rc, char *err, size_t errlen) KT_MUST_CHECK;
/* Which store_begin transaction is open (0: none, or one begun otherwise).
 * While it is open nobody else can write: state read in it stays true
 * until it ends. */
uint64_t store_tx_id(kt_store *st);

/* The audit chain head last written in transaction tx (audit.c keeps it;
 * valid only while store_tx_id() == tx). */
typedef struct kt_chain_head {
	uint64_t tx;
	char org[KT_UUID_LEN + 1];
	int64_t seq;       /* the newest audit seq of any organisation */
	uint8_t hash[32];  /* the newest hash of org */
} kt_chain_head;
kt_chain_head *store_chain_head(kt_store *st);

/* ---- WAL checkpoints (store.c) ---- */

/* WAL checkpoints. A connection that writes a lot leaves them to another
 * (store_checkpoint_by_hand) and asks another thread to run
 * store_checkpoint when store_wal_pages grows: a PASSIVE
 * checkpoint that never blocks the writer. *wal_frames and *copied may be NULL. */
void store_checkpoint_by_hand(kt_store *st);
int store_wal_pages(kt_store *st); /* WAL size after our last commit (checkpoints by hand) */
uint64_t store_wal_written(const kt_store *st); /* frames our commits appended (checkpoints by hand) */
int store_checkpoint(kt_store *st, int *wal_frames, int *copied) KT_MUST_CHECK;
/* A checkpoint that copies the whole WAL and lets the next commit start
 * it again from its beginning (RESTART): it waits for the writer lock and
 * for readers to leave the WAL, polling every 100 us for at most wait_ms.
 * KT_OK when done, KT_EBUSY when a reader or writer stayed. */
int store_checkpoint_restart(kt_store *st, int wait_ms) KT_MUST_CHECK;

/* ---- meta values (store.c) ---- */

/* meta key/value (server secrets such as the cursor MAC key live here). */
int store_meta_get(kt_store *st, const char *key, void *buf, size_t cap, size_t *len) KT_MUST_CHECK;
int store_meta_set(kt_store *st, const char *key, const void *buf, size_t len) KT_MUST_CHECK;

/* ---- who is writing (store.c) ---- */

/* Who is writing: recorded in the audit entry of every change (audit.c).
 * kind: "staff", "client", "operator" (the admin command) or "system"
 * (demo data, migrations). The default is "system". */
typedef struct kt_actor {
	char kind[16];
	char id[KT_UUID_LEN + 1];     /* "" when none */
	char device[KT_UUID_LEN + 1]; /* "" when none */
	int64_t device_time;          /* 0 when unknown */
} kt_actor;
void store_set_actor(kt_store *st, const char *kind, const char *id, const char *device, int64_t device_time);
const kt_actor *store_actor(const kt_store *st);

/* ---- row writes and routing links (store_write.c, store_links.c) ---- */

/* A field for writes, given as text and converted by the column type:
 * INT "123", BOOL "0"/"1"/"true"/"false", LIST "a,b,c", text as is.
 * text == NULL writes SQL NULL. */
typedef struct kt_field {
	const char *name;
	const char *text;
} kt_field;

/* Row writes. Each validates table and column names against model.c
 * (id, org_id, version, updated_at are managed here and cannot be set by
 * fields, except org_id on insert), bumps version, sets updated_at, and logs
 * the change with routing before/after and an audit entry with the changed
 * fields before and after (never password hashes). When no transaction is open they run
 * in their own. *version_out (may be NULL) gets the new version. */
int store_insert(kt_store *st, const char *tbl, const char *id, const char *org_id,
		 const kt_field *f, int n, int64_t *version_out) KT_MUST_CHECK;
int store_update(kt_store *st, const char *tbl, const char *id, const kt_field *f, int n,
		 int64_t *version_out) KT_MUST_CHECK;
/* The same for a row the caller loaded with store_row_load(_some) in the
 * transaction that is still open: its before image, routing and field
 * versions come from `row` instead of a second read (the push path). A
 * changed column the load left closed is read again. */
int store_update_loaded(kt_store *st, const kt_row *row, const char *id, const kt_field *f, int n,
			int64_t *version_out) KT_MUST_CHECK;
/* Deleting a client also removes its location links; its log entry keeps
 * the old routing, so every device of those locations gets the delete. */
int store_delete(kt_store *st, const char *tbl, const char *id) KT_MUST_CHECK;
/* Routing links; each logs a put of the staff/client row with old and new locations. */
int store_link_client_location(kt_store *st, const char *client_id, const char *location_id) KT_MUST_CHECK;
int store_link_staff_location(kt_store *st, const char *staff_id, const char *location_id, bool add) KT_MUST_CHECK;

/* ---- field versions (store_write.c) ---- */

/* The row version at which each named field last changed (1 when it never
 * changed since the row was created, 0 when the last change was made by
 * `device` itself: one's own edits are never concurrent with one's later
 * ones). A change records its writer: the actor's person id when there is
 * one, else the actor's device. out[i] for names[i]. device may be NULL. */
int store_field_versions(kt_store *st, const char *tbl, const char *id, const char *const *names, int n,
			 const char *device, int64_t *out) KT_MUST_CHECK;
/* The same, from a row loaded with store_row_load (no query), for a writer
 * who is the person `who` on `device` (either may be NULL): a change by the
 * same person on any device, or by this device before changes recorded
 * their person, is their own. */
void store_row_field_versions(const kt_row *r, const char *const *names, int n, const char *who, const char *device,
			      int64_t *out);

/* ---- row reads and routing (store_rows.c) ---- */

/* Load the current row with routing. KT_ENOT_FOUND if it does not exist.
 * Caller frees with kt_row_free. */
int store_row_load(kt_store *st, const kt_table *t, const char *id, kt_row *out) KT_MUST_CHECK;
/* The same, but of the sealed columns only those in cols[0..n) are
 * decrypted; the others read as NULL and are marked in out->unopened
 * (a pushed edit changes a field or two: opening all eleven sealed fields
 * of a client card to check it is work for nothing). */
int store_row_load_some(kt_store *st, const kt_table *t, const char *id, const int *cols, int n,
			kt_row *out) KT_MUST_CHECK;
/* Routing of a row as a location set + client (for policy checks). */
int store_row_routing(kt_store *st, const kt_table *t, const char *id, char **locs,
		      char client[KT_UUID_LEN + 1]) KT_MUST_CHECK;

/* ---- change log and durable reads (store_log.c) ---- */

/* One change-log entry. Strings owned by the entry (kt_log_entry_free). */
typedef struct kt_log_entry {
	int64_t seq;
	char org[KT_UUID_LEN + 1];
	const kt_table *t;
	char id[KT_UUID_LEN + 1];
	bool deleted;
	char *loc_old, *loc_new;
	char client_old[KT_UUID_LEN + 1], client_new[KT_UUID_LEN + 1];
	int64_t at;
} kt_log_entry;
void kt_log_entry_free(kt_log_entry *e); /* accepts NULL; frees members */

int64_t store_max_seq(kt_store *st);
int64_t store_min_seq(kt_store *st); /* oldest seq still in the log, 0 when empty */
/* Read up to max entries with seq > after, in order, into out[] (caller frees
 * each). All or nothing: on an error *n is 0 and nothing is left to free.
 * Stops before a held seq (below). */
int store_log_read(kt_store *st, int64_t after, kt_log_entry *out, int max, int *n) KT_MUST_CHECK;
/* Process-wide: from this seq on, the change log is committed but not yet
 * durable; store_log_read returns nothing from it until it is released
 * (by the same value; a later hold replaces it). */
void store_log_hold(int64_t from);
void store_log_release(int64_t from);
/* Durable reads. The push writer publishes a commit before its fsync
 * (writer.c); what devices are sent must never come from such a commit.
 * Process-wide: the writer calls store_publish_unsynced() before a commit
 * that may publish frames not yet synced and store_published_synced() with
 * its value once they are (or the commit failed). */
uint64_t store_publish_unsynced(void);
void store_published_synced(uint64_t gen);
/* Its sync failed: store_read_durable stops waiting for it (KT_EBUSY at
 * once) until store_published_synced. */
void store_published_failed(void);
/* Open a read transaction on st whose snapshot holds nothing unsynced:
 * when the snapshot may hold a commit whose fsync is still running, wait
 * for that fsync (at most wait_ms; then, or at once when that sync failed,
 * KT_EBUSY and no transaction).
 * Every read until store_read_end sees that snapshot. Nests (an inner call
 * only counts). Not for a connection with a write transaction open. */
int store_read_durable(kt_store *st, int wait_ms) KT_MUST_CHECK;
void store_read_end(kt_store *st);
/* True when another connection (e.g. an admin command) committed since the last call. */
bool store_data_changed(kt_store *st);

/* ---- snapshot and rights-diff pages (store_log.c) ---- */

/* Snapshot paging: rows of t matching the policy condition `where` (from
 * policy_snapshot_where; ?1 = principal id, ?2 = org) with id > after_id,
 * in id order, at most limit. cb gets each row (without routing: the
 * condition already decided visibility); the row is freed after cb returns.
 * *last_id gets the last id seen ("" when none). */
typedef int (*kt_row_cb)(void *user, const kt_row *row);
int store_snapshot_page(kt_store *st, const kt_table *t, const char *where, const char *principal_id,
			const char *org, const char *after_id, int limit, kt_row_cb cb, void *user,
			char last_id[KT_UUID_LEN + 1], int *n) KT_MUST_CHECK;
/* The same, reading only the columns in need (bit i = column i; the id,
 * version and organisation always): the others are NULL in the row cb
 * gets, and a sealed one is never opened. The row's values are borrowed
 * from the statement: valid only while cb runs. */
int store_snapshot_page_some(kt_store *st, const kt_table *t, const char *where, const char *principal_id,
			     const char *org, const char *after_id, int limit, uint64_t need, kt_row_cb cb,
			     void *user, char last_id[KT_UUID_LEN + 1], int *n) KT_MUST_CHECK;
/* The same with two more parameters, ?5 and ?6 (text), for the conditions
 * of a change of rights (sync.c, rights diff; policy_locs_where). Without
 * `open` the sealed columns stay closed (NULL): evictions need only ids. */
int store_diff_page(kt_store *st, const kt_table *t, const char *where, const char *principal_id,
		    const char *org, const char *p5, const char *p6, bool open, const char *after_id, int limit,
		    kt_row_cb cb, void *user, char last_id[KT_UUID_LEN + 1], int *n) KT_MUST_CHECK;
int64_t store_snapshot_count(kt_store *st, const kt_table *t, const char *where,
			     const char *principal_id, const char *org);

/* ---- principals, sessions, devices, credentials (store_auth.c) ---- */

/* Principal lookups used by auth and sync. */
typedef struct kt_principal {
	bool is_client;
	char id[KT_UUID_LEN + 1];
	char org[KT_UUID_LEN + 1];
	int role;          /* KT_ROLE_* from policy.h */
	char name[128];
	char *locs;        /* comma list of visible locations ("*" for owner); owned */
	bool active;
} kt_principal;
void kt_principal_free(kt_principal *p); /* accepts NULL; frees members */
int store_principal_load(kt_store *st, bool is_client, const char *id, kt_principal *out) KT_MUST_CHECK;

/* Sessions and devices (auth). token_hash is a keyed hash of the token. */
int store_session_create(kt_store *st, const uint8_t *token_hash, size_t hlen, bool is_client,
			 const char *principal_id, const char *device_id, int64_t expires_at) KT_MUST_CHECK;
/* Find a live (not revoked, not expired) session: fills is_client, principal_id,
 * expires_at. KT_EREVOKED for a revoked one, KT_ENOT_FOUND otherwise. */
int store_session_find(kt_store *st, const uint8_t *token_hash, size_t hlen, const char *device_id,
		       bool *is_client, char principal_id[KT_UUID_LEN + 1], int64_t *expires_at) KT_MUST_CHECK;
/* Register the device as this person's (or note it was seen again).
 * KT_EDEVICE_TAKEN when the id is held by another person who has not
 * released it (signed out on it, or been signed out by the salon). */
int store_device_seen(kt_store *st, const char *device_id, bool is_client, const char *principal_id,
		      const char *app) KT_MUST_CHECK;
/* The device has applied every change up to seq; this is also the purge
 * receipt of every erasure whose last change is at or before seq. */
int store_device_ack(kt_store *st, const char *device_id, int64_t seq) KT_MUST_CHECK;
/* Password hash of an active staff member or portal-enabled client by e-mail
 * (staff first). *hash is owned by the caller. KT_ENOT_FOUND when none. */
int store_credentials_find(kt_store *st, const char *email, bool *is_client,
			   char id[KT_UUID_LEN + 1], char **hash) KT_MUST_CHECK;

/* ---- portal accounts (store_auth.c) ---- */

/* The keyed hash of an e-mail address (the client.email_hash form) into
 * out (64 hex characters and NUL). KT_EIO without a keyring. */
int store_email_hash(kt_store *st, const char *email, char out[65]) KT_MUST_CHECK;
/* Who signs in with this e-mail: an active staff member (*is_staff) or a
 * portal-enabled client, staff first, like store_credentials_find but
 * whether or not a password is set. KT_ENOT_FOUND when nobody. The e-mail
 * comparison is the store's business (it will become a keyed hash). */
int store_portal_email_owner(kt_store *st, const char *email, bool *is_staff,
			     char id[KT_UUID_LEN + 1]) KT_MUST_CHECK;
/* Up to max clients (any portal state) with this e-mail, into ids; *n gets
 * how many. For "forgot password" of a client who was invited but never
 * chose a password. */
int store_clients_by_email(kt_store *st, const char *email, char (*ids)[KT_UUID_LEN + 1], int max,
			   int *n) KT_MUST_CHECK;

/* ---- privacy: export and erasure (store_privacy.c) ---- */

/* Call cb with the id of every row of synced table tbl whose column
 * client_col is client_id, in id order. The ids are collected first, so cb
 * may write (e.g. store_delete the row). KT_ENOT_FOUND when this build has
 * no such table or column (a table another branch adds: nothing to do);
 * a non-zero return from cb stops and is returned. */
typedef int (*kt_id_cb)(void *user, const char *id);
int store_client_rows(kt_store *st, const char *tbl, const char *client_col, const char *client_id,
		      kt_id_cb cb, void *user) KT_MUST_CHECK;

/* Delete the rows of a server-internal (never synced, never logged) table
 * whose column col is id: sessions, tokens and the like of an erased
 * client. The names are checked against the schema; a table or column the
 * database does not have deletes nothing (KT_OK, *n = 0). The caller holds
 * the write transaction. *n gets the number of rows deleted. */
int store_private_delete(kt_store *st, const char *tbl, const char *col, const char *id, int *n) KT_MUST_CHECK;

/* The counter of rights changes (schema 15), read on st; -1 on error:
 * sessions compare it before each request (sync/rights.c). */
int64_t store_rights_gen(kt_store *st);

/* What must happen in the same transaction when a client's e-mail address
 * changes (the portal's rule, domain/portal.c: suspend the account, void
 * mailed links, tell the old address). The store sits below the rule, so
 * the rule is installed once, before any store is opened; a client's
 * e-mail change is refused (KT_EINTERNAL) while none is, so no write path
 * can skip it. */
typedef int (*kt_email_change_fn)(kt_store *st, const char *org, const char *client_id, const char *old_email,
				  const char *new_email);
void store_on_email_change(kt_email_change_fn fn);

/* What must happen in the same transaction after a row is written (the
 * message planner, domain/messages.c: a booking's confirmation, a moved
 * appointment's reminders). Called after every store_insert (created,
 * before NULL) and store_update (before: a JSON object of the changed
 * columns' values before the change, decrypted; its keys say which
 * columns the write set) once the row, its log and its audit entry are
 * written. A failure fails the write. Installed once by main before any
 * store is opened, like store_on_email_change; none installed: nothing
 * is called (tools and tests that plan no messages). */
typedef int (*kt_row_written_fn)(kt_store *st, const kt_table *t, const char *id, bool created, const char *before);
void store_on_row_written(kt_row_written_fn fn);

#endif
