/* store.c - SQLite implementation of store.h. Every row change and its
 * change-log entry are written in one transaction; nothing here decides who
 * may see what (policy.c does). Statements are prepared once per store. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include "audit.h"
#include "keyring.h"
#include "kt_mp.h"
#include "policy.h"
#include "portal.h"
#include "schema.h"
#include "store.h"
#include "sqlite_ro.h"
#include "validate.h"
#include "walbuf.h"

#define STMT_CACHE 256
#define STMT_INDEX 1024 /* open addressing over cache[], a power of two > 2 * STMT_CACHE */

struct kt_store {
	sqlite3 *db;
	struct {
		uint64_t hash; /* of the SQL text */
		char *key;     /* the SQL text (owned) */
		sqlite3_stmt *stmt;
	} cache[STMT_CACHE];
	int ncache;
	int16_t index[STMT_INDEX]; /* cache slot + 1 by hash; 0 = empty */
	int64_t data_version;
	kt_actor actor;
	char *row_sql[16]; /* SELECT for store_row_load per table index */
	uint64_t tx_seq;   /* counts store_begin calls */
	bool in_tx;        /* a store_begin transaction is open */
	kt_chain_head head;
	int wal_pages;     /* frames in the WAL after our last commit */
	uint64_t wal_written; /* frames our commits appended, in all (statistics) */
	kt_keyring *kr;    /* client data keys (NULL: read-only without the key file) */
	int reading;       /* store_read_durable depth */
};

static int on_wal_commit(void *user, sqlite3 *db, const char *name, int pages)
{
	(void)db;
	(void)name;
	kt_store *st = user;
	/* fewer frames than before: the WAL restarted from its beginning */
	st->wal_written += (uint64_t)(pages > st->wal_pages ? pages - st->wal_pages : pages);
	st->wal_pages = pages;
	return SQLITE_OK;
}

static int sql_err(kt_store *st, int rc)
{
	if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
		return KT_ECONFLICT; /* e.g. a portal e-mail or an id that is taken */
	rc &= 0xff;           /* extended codes are on: compare primary codes below */
	if (rc == SQLITE_CONSTRAINT || rc == SQLITE_MISMATCH || rc == SQLITE_RANGE)
		return KT_EINVALID;
	if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
		return KT_EBUSY;
	if (rc == SQLITE_NOMEM)
		return KT_ENOMEM;
	kt_warn("sqlite: %s", sqlite3_errmsg(st->db));
	return KT_EIO;
}

/* A hash of the SQL text, eight bytes at a step (every pushed edit looks
 * up several statements of 100-300 characters: a byte loop showed). */
static uint64_t sql_hash(const char *sql)
{
	size_t n = strlen(sql);
	uint64_t h = 1469598103934665603ull ^ n, w;
	for (; n >= 8; n -= 8, sql += 8) {
		memcpy(&w, sql, 8);
		h = (h ^ w) * 0x9e3779b97f4a7c15ull;
		h ^= h >> 29;
	}
	w = 0;
	memcpy(&w, sql, n);
	h = (h ^ w) * 0x9e3779b97f4a7c15ull;
	return h ^ h >> 32;
}

/* Prepared statement for an SQL text, cached by its content for the life of
 * the store (row writes and snapshot pages build their SQL from the model,
 * so the set is small and fixed). Release with finish(). */
static sqlite3_stmt *prep(kt_store *st, const char *sql)
{
	uint64_t h = sql_hash(sql);
	sqlite3_stmt *s = NULL;
	size_t k = h & (STMT_INDEX - 1);
	for (; st->index[k]; k = (k + 1) & (STMT_INDEX - 1)) {
		int i = st->index[k] - 1;
		if (st->cache[i].hash == h && strcmp(st->cache[i].key, sql) == 0) {
			sqlite3_reset(st->cache[i].stmt);
			sqlite3_clear_bindings(st->cache[i].stmt);
			return st->cache[i].stmt;
		}
	}
	if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK) {
		kt_warn("sqlite prepare: %s", sqlite3_errmsg(st->db));
		return NULL;
	}
	if (st->ncache < STMT_CACHE && (st->cache[st->ncache].key = strdup(sql))) {
		st->cache[st->ncache].hash = h;
		st->cache[st->ncache++].stmt = s;
		st->index[k] = (int16_t)st->ncache; /* k: the empty slot the search ended on */
	} /* else: uncached; finish() finalizes it */
	return s;
}

/* One-off statements (pragmas at open): not cached. */
static sqlite3_stmt *prep_once(kt_store *st, const char *sql)
{
	sqlite3_stmt *s = NULL;
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
		kt_warn("sqlite prepare: %s", sqlite3_errmsg(st->db));
		return NULL;
	}
	return s;
}

static void finish(kt_store *st, sqlite3_stmt *s)
{
	bool cached = false;
	for (int i = 0; i < st->ncache; i++)
		if (st->cache[i].stmt == s)
			cached = true;
	if (cached)
		sqlite3_reset(s);
	else
		sqlite3_finalize(s);
}

static int exec(kt_store *st, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(st->db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		kt_warn("sqlite: %s", msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return sql_err(st, rc);
	}
	return KT_OK;
}

static int migrate(kt_store *st, const char **errmsg)
{
	sqlite3_stmt *s = prep_once(st, "PRAGMA user_version");
	int have, rc = KT_OK;
	char buf[64];

	if (!s || sqlite3_step(s) != SQLITE_ROW) {
		finish(st, s);
		*errmsg = "not a SQLite database (or unreadable)";
		return KT_EIO;
	}
	have = sqlite3_column_int(s, 0);
	finish(st, s);
	if (have > kt_migration_count) {
		*errmsg = "database was written by a newer kartoteka-server";
		return KT_EINVALID;
	}
	for (int v = have; v < kt_migration_count; v++) {
		if ((rc = exec(st, "BEGIN IMMEDIATE")))
			break;
		snprintf(buf, sizeof buf, "PRAGMA user_version = %d", v + 1);
		if ((rc = exec(st, kt_migrations[v])) || (rc = exec(st, buf))) {
			exec(st, "ROLLBACK");
			*errmsg = "schema migration failed";
			return rc;
		}
		if ((rc = exec(st, "COMMIT")))
			break;
		kt_debug("schema migrated to version %d", v + 1);
	}
	if (rc)
		*errmsg = "schema migration failed";
	return rc;
}

static int bind_value(kt_store *st, sqlite3_stmt *s, int idx, const kt_table *t, int ci, const char *text,
		      const char *row_id, const char *owner);
static int bind_email_hash(kt_store *st, sqlite3_stmt *s, int idx, const char *email);

/* Seal the personal columns of rows written before encryption at rest
 * (schema 6): once per database, in one transaction. Not a change of the
 * data, so no change log or audit entry. */
static int seal_existing(kt_store *st)
{
	uint8_t done;
	size_t len;
	int rc;
	if (store_meta_get(st, "sealed_v1", &done, 1, &len) == KT_OK)
		return KT_OK;
	if ((rc = exec(st, "BEGIN IMMEDIATE")))
		return rc;
	for (int ti = 0; ti < kt_table_count && !rc; ti++) {
		const kt_table *t = &kt_tables[ti];
		for (int ci = 0; ci < t->ncols && t->owner_col && !rc; ci++) {
			char sql[256], upd[256];
			sqlite3_stmt *q, *u;
			bool email = !strcmp(t->name, "client") && !strcmp(t->cols[ci].name, "email");
			if (!t->cols[ci].sealed)
				continue;
			snprintf(sql, sizeof sql, "SELECT id, %s, %s FROM %s WHERE typeof(%s) = 'text'", t->owner_col,
				 t->cols[ci].name, t->name, t->cols[ci].name);
			snprintf(upd, sizeof upd, "UPDATE %s SET %s = ?1%s WHERE id = ?3", t->name, t->cols[ci].name,
				 email ? ", email_hash = ?2" : "");
			if (sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) != SQLITE_OK)
				return exec(st, "ROLLBACK"), KT_EIO;
			if (sqlite3_prepare_v2(st->db, upd, -1, &u, NULL) != SQLITE_OK) {
				sqlite3_finalize(q);
				return exec(st, "ROLLBACK"), KT_EIO;
			}
			while (!rc && sqlite3_step(q) == SQLITE_ROW) {
				const char *id = (const char *)sqlite3_column_text(q, 0);
				const char *owner = (const char *)sqlite3_column_text(q, 1);
				const char *v = (const char *)sqlite3_column_text(q, 2);
				sqlite3_reset(u);
				rc = bind_value(st, u, 1, t, ci, v, id, owner);
				if (!rc && email)
					rc = bind_email_hash(st, u, 2, v);
				sqlite3_bind_text(u, 3, id, -1, SQLITE_TRANSIENT);
				if (!rc && sqlite3_step(u) != SQLITE_DONE)
					rc = KT_EIO;
			}
			sqlite3_finalize(q);
			sqlite3_finalize(u);
		}
	}
	done = 1;
	if (!rc)
		rc = store_meta_set(st, "sealed_v1", &done, 1);
	if (rc || (rc = exec(st, "COMMIT"))) {
		exec(st, "ROLLBACK");
		return rc;
	}
	return KT_OK;
}

/* A push answer kept for replays, packed into w without its "current"
 * values (the row's values when an edit was refused); *had says whether it
 * had any (w is left empty when not). */
static int answer_without_current(const uint8_t *b, size_t n, kt_mpw *w, bool *had)
{
	kt_mp r;
	uint32_t pairs;
	*had = false;
	kt_mp_init(&r, b, n);
	if (kt_mp_read_map(&r, &pairs))
		return KT_EMALFORMED;
	size_t keep_from[64], keep_to[64];
	uint32_t kept = 0;
	for (uint32_t i = 0; i < pairs; i++) {
		const char *k;
		size_t klen, start = r.pos;
		if (kt_mp_read_str(&r, &k, &klen, 64) || kt_mp_skip(&r, 16))
			return KT_EMALFORMED;
		if (kt_mp_str_eq(k, klen, "current")) {
			*had = true;
			continue;
		}
		if (kept == 64)
			return KT_ETOO_LARGE;
		keep_from[kept] = start;
		keep_to[kept++] = r.pos;
	}
	if (!*had)
		return KT_OK;
	kt_mpw_map(w, kept);
	for (uint32_t i = 0; i < kept; i++)
		kt_mpw_raw(w, b + keep_from[i], keep_to[i] - keep_from[i]);
	return KT_OK;
}

/* Push answers kept in plain text by versions before encryption at rest
 * may hold a refused row's current values, and do not say whose row it
 * was, so they cannot be sealed: the values are dropped (a replay still
 * gets the same status, code and message). */
static int purge_plain_answers(kt_store *st, int *n)
{
	sqlite3_stmt *q, *u;
	int rc = KT_OK;
	*n = 0;
	if (sqlite3_prepare_v2(st->db, "SELECT device_id, mid, result, principal_id FROM mutation", -1, &q, NULL) !=
	    SQLITE_OK)
		return KT_EIO;
	if (sqlite3_prepare_v2(st->db, "UPDATE mutation SET result = ?3 WHERE device_id = ?1 AND mid = ?2 AND "
			       "principal_id = ?4", -1, &u, NULL) != SQLITE_OK) {
		sqlite3_finalize(q);
		return KT_EIO;
	}
	while (!rc && sqlite3_step(q) == SQLITE_ROW) {
		const uint8_t *b = sqlite3_column_blob(q, 2);
		size_t len = (size_t)sqlite3_column_bytes(q, 2);
		kt_mpw w;
		bool had;
		if (!b || keyring_is_sealed(b, len))
			continue;
		kt_mpw_init(&w);
		if (answer_without_current(b, len, &w, &had) == KT_OK && had) {
			sqlite3_reset(u);
			sqlite3_bind_value(u, 1, sqlite3_column_value(q, 0));
			sqlite3_bind_int64(u, 2, sqlite3_column_int64(q, 1));
			sqlite3_bind_blob(u, 3, w.sb.data, (int)w.sb.size, SQLITE_TRANSIENT);
			sqlite3_bind_value(u, 4, sqlite3_column_value(q, 3));
			rc = sqlite3_step(u) == SQLITE_DONE ? KT_OK : KT_EIO;
			*n += !rc;
		}
		kt_mpw_free(&w);
	}
	sqlite3_finalize(q);
	sqlite3_finalize(u);
	return rc;
}

/* Once per database: what older versions wrote in plain text outside the
 * synced tables - audit before/after about clients, push answers - is
 * sealed or dropped (audit.h, purge_plain_answers). secure_delete: the
 * replaced plain text is zeroed in the file, not left in free space. */
static int seal_legacy(kt_store *st)
{
	uint8_t done;
	size_t len;
	int rc, answers = 0;
	if (store_meta_get(st, "sealed_v2", &done, 1, &len) == KT_OK)
		return KT_OK;
	if ((rc = exec(st, "PRAGMA secure_delete=ON")) || (rc = exec(st, "BEGIN IMMEDIATE")))
		return rc;
	done = 1;
	if ((rc = audit_seal_legacy(st)) || (rc = purge_plain_answers(st, &answers)) ||
	    (rc = store_meta_set(st, "sealed_v2", &done, 1)) || (rc = exec(st, "COMMIT"))) {
		exec(st, "ROLLBACK");
		exec(st, "PRAGMA secure_delete=OFF");
		return rc;
	}
	if (answers)
		kt_info("push answers written before encryption at rest: %d no longer keep a row's values", answers);
	return exec(st, "PRAGMA secure_delete=OFF");
}

/* Erasures made before the erasure ledger existed (keyring.h) go into it
 * once, so that restoring an older keyring copy cannot undo them either. */
static int seed_ledger(kt_store *st)
{
	uint8_t done = 1;
	size_t len;
	sqlite3_stmt *q;
	int rc = KT_OK;
	if (store_meta_get(st, "ledger_v1", &done, 1, &len) == KT_OK)
		return KT_OK;
	if (sqlite3_prepare_v2(st->db, "SELECT DISTINCT client_id FROM erasure WHERE status = 'done'", -1, &q, NULL) !=
	    SQLITE_OK)
		return KT_EIO;
	while (!rc && sqlite3_step(q) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(q, 0);
		if (id && !keyring_erased(st->kr, id))
			rc = keyring_destroy(st->kr, id);
	}
	sqlite3_finalize(q);
	done = 1;
	return rc ? rc : store_meta_set(st, "ledger_v1", &done, 1);
}

int store_open(const char *path, int flags, kt_store **out, const char **errmsg)
{
	static const char *dummy;
	kt_store *st = NULL;
	int oflags, rc;

	*out = NULL;
	if (!errmsg)
		errmsg = &dummy;
	*errmsg = NULL;
	if (!(flags & KT_STORE_CREATE)) {
		if (access(path, F_OK) != 0) {
			*errmsg = "no such database file (create one with: kartoteka-server init --db FILE)";
			return KT_ENOT_FOUND;
		}
		if (access(path, (flags & KT_STORE_READONLY) ? R_OK : R_OK | W_OK) != 0) {
			*errmsg = strerror(errno);
			return KT_EIO;
		}
	}
	st = calloc(1, sizeof *st);
	if (!st)
		return KT_ENOMEM;
	oflags = SQLITE_OPEN_NOMUTEX | ((flags & KT_STORE_READONLY) ? SQLITE_OPEN_READONLY
								     : SQLITE_OPEN_READWRITE);
	if (flags & KT_STORE_CREATE)
		oflags |= SQLITE_OPEN_CREATE;
	const char *vfs = NULL;
	if (flags & KT_STORE_WALBUF) {
		if ((flags & KT_STORE_READONLY) || walbuf_register()) {
			*errmsg = "cannot open the database through the WAL buffer";
			rc = KT_EINVALID;
			goto fail;
		}
		vfs = WALBUF_VFS_NAME;
	}
	if ((flags & KT_STORE_READONLY) ? sqlite_open_ro(path, SQLITE_OPEN_NOMUTEX, &st->db) != SQLITE_OK
					: sqlite3_open_v2(path, &st->db, oflags, vfs) != SQLITE_OK) {
		*errmsg = st->db ? sqlite3_errmsg(st->db) : "cannot open database";
		rc = KT_EIO;
		goto fail;
	}
	sqlite3_busy_timeout(st->db, 5000);
	sqlite3_extended_result_codes(st->db, 1);
	/* sealed values without their keyring (a backup opened to write):
	 * refused before anything changes the file */
	if (!(flags & (KT_STORE_READONLY | KT_STORE_CREATE))) {
		char keys[4096 + 8];
		uint8_t sealed;
		size_t len;
		keyring_keys_path(path, keys, sizeof keys);
		if (store_meta_get(st, "sealed_v1", &sealed, 1, &len) == KT_OK && access(keys, F_OK) != 0) {
			*errmsg = "the keyring (the database path + .keys) is missing: give it with --keys FILE, or put a "
				  "copy in place with restore --keys-from";
			rc = KT_ENOT_FOUND;
			goto fail;
		}
	}
	if (!(flags & KT_STORE_READONLY)) {
		/* WAL: readers never block the writer. synchronous=FULL: a commit
		 * is on disk before we acknowledge it (see README, durability). */
		if ((rc = exec(st, "PRAGMA journal_mode=WAL"))) {
			*errmsg = "not a SQLite database (or unreadable)";
			goto fail;
		}
		if ((rc = exec(st, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON")))
			goto fail;
		/* the working set of a salon chain fits in memory: read it once */
		if ((rc = exec(st, "PRAGMA cache_size=-32768; PRAGMA mmap_size=268435456")))
			goto fail;
		/* when the WAL starts again from its beginning, a file grown past
		 * 72 MiB (a reader held an old snapshot through a stream) is cut
		 * back to that. Not lower: the push writer restarts the WAL at
		 * about 60-70 MiB during a stream (writer.c), and cutting the file
		 * each time made one commit slow */
		if ((rc = exec(st, "PRAGMA journal_size_limit=75497472")))
			goto fail;
		if ((rc = migrate(st, errmsg)))
			goto fail;
	}
	/* a database from before encryption at rest (never sealed) gets its
	 * keys now; one that was sealed never silently gets new ones */
	{
		uint8_t sealed;
		size_t len;
		bool fresh = !(flags & KT_STORE_READONLY) && store_meta_get(st, "sealed_v1", &sealed, 1, &len) != KT_OK;
		if ((rc = keyring_open(path, (flags & KT_STORE_CREATE) || fresh, flags & KT_STORE_READONLY, &st->kr,
				       errmsg)))
			goto fail;
	}
	if (!(flags & KT_STORE_READONLY) && ((rc = seal_existing(st)) || (rc = seal_legacy(st)))) {
		*errmsg = "cannot encrypt the personal data written by an older version";
		goto fail;
	}
	if (!(flags & KT_STORE_READONLY) && (rc = seed_ledger(st))) {
		*errmsg = "cannot list earlier erasures in the erasure ledger";
		goto fail;
	}
	store_data_changed(st);
	store_set_actor(st, "system", NULL, NULL, 0);
	*out = st;
	return KT_OK;
fail:
	if (!*errmsg)
		*errmsg = "cannot open database";
	store_close(st);
	return rc;
}

void store_close(kt_store *st)
{
	if (!st)
		return;
	for (int i = 0; i < st->ncache; i++) {
		sqlite3_finalize(st->cache[i].stmt);
		free(st->cache[i].key);
	}
	for (int i = 0; i < 16; i++)
		free(st->row_sql[i]);
	sqlite3_close(st->db);
	keyring_close(st->kr);
	free(st);
}

void store_set_actor(kt_store *st, const char *kind, const char *id, const char *device, int64_t device_time)
{
	kt_strcpy_cut(st->actor.kind, sizeof st->actor.kind, kind ? kind : "system");
	kt_strcpy_cut(st->actor.id, sizeof st->actor.id, id);
	kt_strcpy_cut(st->actor.device, sizeof st->actor.device, device);
	st->actor.device_time = device_time;
}

const kt_actor *store_actor(const kt_store *st)
{
	return &st->actor;
}

sqlite3_stmt *store_prepare(kt_store *st, const char *sql)
{
	return prep(st, sql);
}

void store_finish(kt_store *st, sqlite3_stmt *s)
{
	if (s)
		finish(st, s);
}

sqlite3 *store_db(kt_store *st)
{
	return st->db;
}

kt_keyring *store_keyring(kt_store *st)
{
	return st->kr;
}

int store_client_key_destroy(kt_store *st, const char *client_id)
{
	return keyring_destroy(st->kr, client_id);
}

int store_schema_version(kt_store *st)
{
	sqlite3_stmt *s = prep_once(st, "PRAGMA user_version");
	int v = -1;
	if (s && sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	finish(st, s);
	return v;
}

int store_begin(kt_store *st)
{
	int rc = exec(st, "BEGIN IMMEDIATE");
	st->in_tx = rc == KT_OK;
	st->tx_seq++;
	return rc;
}

int store_begin_read(kt_store *st)
{
	int rc = exec(st, "BEGIN");
	st->in_tx = rc == KT_OK;
	st->tx_seq++;
	return rc;
}

bool store_read_only(kt_store *st)
{
	return sqlite3_db_readonly(st->db, "main") == 1;
}

int store_commit(kt_store *st)
{
	int rc = exec(st, "COMMIT");
	if (rc)
		store_rollback(st);
	st->in_tx = false;
	return rc;
}

void store_rollback(kt_store *st)
{
	if (!sqlite3_get_autocommit(st->db))
		(void)exec(st, "ROLLBACK");
	st->in_tx = false;
}

uint64_t store_tx_id(kt_store *st)
{
	return st->in_tx && !sqlite3_get_autocommit(st->db) ? st->tx_seq : 0;
}

kt_chain_head *store_chain_head(kt_store *st)
{
	return &st->head;
}

void store_checkpoint_by_hand(kt_store *st)
{
	sqlite3_wal_hook(st->db, on_wal_commit, st); /* replaces the automatic checkpoint */
}

int store_wal_pages(kt_store *st)
{
	return st->wal_pages;
}

uint64_t store_wal_written(const kt_store *st)
{
	return st->wal_written;
}

int store_checkpoint(kt_store *st, int *wal_frames, int *copied)
{
	int log = 0, done = 0;
	int rc = sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
	if (wal_frames)
		*wal_frames = log;
	if (copied)
		*copied = done;
	return rc == SQLITE_OK || rc == SQLITE_BUSY ? KT_OK : sql_err(st, rc);
}

/* The default busy handler sleeps 1, 2, 5, 10 ms...: far longer than the
 * loop's reads that a RESTART checkpoint waits out. */
static int busy_poll(void *until_us, int n)
{
	(void)n;
	if (kt_mono_us() >= *(int64_t *)until_us)
		return 0;
	usleep(100);
	return 1;
}

int store_checkpoint_restart(kt_store *st, int wait_ms)
{
	int64_t until = kt_mono_us() + (int64_t)wait_ms * 1000;
	sqlite3_busy_handler(st->db, busy_poll, &until);
	int rc = sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_RESTART, NULL, NULL);
	sqlite3_busy_timeout(st->db, 5000); /* as store_open set it */
	return rc == SQLITE_OK ? KT_OK : sql_err(st, rc);
}

int store_meta_get(kt_store *st, const char *key, void *buf, size_t cap, size_t *len)
{
	static const char sql[] = "SELECT value FROM meta WHERE key = ?";
	sqlite3_stmt *s = prep(st, sql);
	int rc;
	if (!s)
		return KT_EIO;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		size_t n = (size_t)sqlite3_column_bytes(s, 0);
		const void *p = sqlite3_column_blob(s, 0);
		if (n > cap) {
			finish(st, s);
			return KT_ETOO_LARGE;
		}
		if (n)
			memcpy(buf, p, n);
		*len = n;
		rc = KT_OK;
	} else
		rc = rc == SQLITE_DONE ? KT_ENOT_FOUND : sql_err(st, rc);
	finish(st, s);
	return rc;
}

int store_meta_set(kt_store *st, const char *key, const void *buf, size_t len)
{
	static const char sql[] = "INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)";
	sqlite3_stmt *s = prep(st, sql);
	int rc;
	if (!s)
		return KT_EIO;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 2, buf, (int)len, SQLITE_STATIC);
	rc = sqlite3_step(s);
	finish(st, s);
	return rc == SQLITE_DONE ? KT_OK : sql_err(st, rc);
}

/* ---- routing ---- */

static char *dup_text(const unsigned char *t)
{
	return strdup(t ? (const char *)t : "");
}

static char *query_locset(kt_store *st, const char *sql, const char *id)
{
	sqlite3_stmt *s = prep(st, sql);
	char *out = NULL;
	if (!s)
		return NULL;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	/* "no locations" only when the query said so: a failed copy or step
	 * must not route a row nowhere (devices would be told to evict it) */
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		out = dup_text(sqlite3_column_text(s, 0));
	else if (rc == SQLITE_DONE)
		out = strdup("");
	finish(st, s);
	return out;
}

static const char q_staff_locs[] =
	"SELECT CASE (SELECT role FROM staff WHERE id = ?1) WHEN 'owner' THEN '*' ELSE "
	"(SELECT group_concat(location_id) FROM (SELECT location_id FROM staff_location "
	"WHERE staff_id = ?1 ORDER BY location_id)) END";
static const char q_client_locs[] =
	"SELECT group_concat(location_id) FROM (SELECT location_id FROM client_location "
	"WHERE client_id = ?1 ORDER BY location_id)";

/* Routing of one row: *locs (owned) and client. KT_ENOT_FOUND when absent. */
int store_row_routing(kt_store *st, const kt_table *t, const char *id, char **locs,
		      char client[KT_UUID_LEN + 1])
{
	char sql[160];
	sqlite3_stmt *s;
	int rc;

	*locs = NULL;
	client[0] = 0;
	/* existence check + the columns routing needs */
	switch (t->route) {
	case KT_ROUTE_LOC_COL:
		snprintf(sql, sizeof sql, "SELECT location_id, client_id FROM %s WHERE id = ?", t->name);
		break;
	case KT_ROUTE_LOC_OPT:
		snprintf(sql, sizeof sql, "SELECT coalesce(location_id, '*'), NULL FROM %s WHERE id = ?",
			 t->name);
		break;
	case KT_ROUTE_VIA_CLIENT:
		snprintf(sql, sizeof sql, "SELECT client_id, client_id FROM %s WHERE id = ?", t->name);
		break;
	default:
		snprintf(sql, sizeof sql, "SELECT id, id FROM %s WHERE id = ?", t->name);
		break;
	}
	s = prep(st, sql);
	if (!s)
		return KT_EIO;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		finish(st, s);
		return rc == SQLITE_DONE ? KT_ENOT_FOUND : sql_err(st, rc);
	}
	switch (t->route) {
	case KT_ROUTE_ORG:
		*locs = strdup("*");
		break;
	case KT_ROUTE_SELF_LOC:
		*locs = strdup(id);
		break;
	case KT_ROUTE_LOC_COL:
		*locs = dup_text(sqlite3_column_text(s, 0));
		snprintf(client, KT_UUID_LEN + 1, "%s", (const char *)sqlite3_column_text(s, 1));
		break;
	case KT_ROUTE_LOC_OPT:
		*locs = dup_text(sqlite3_column_text(s, 0));
		break;
	case KT_ROUTE_STAFF_LOCS:
		*locs = query_locset(st, q_staff_locs, id);
		break;
	case KT_ROUTE_CLIENT_LOCS:
		*locs = query_locset(st, q_client_locs, id);
		snprintf(client, KT_UUID_LEN + 1, "%s", id);
		break;
	case KT_ROUTE_VIA_CLIENT:
		snprintf(client, KT_UUID_LEN + 1, "%s", (const char *)sqlite3_column_text(s, 0));
		*locs = query_locset(st, q_client_locs, client);
		break;
	}
	finish(st, s);
	return *locs ? KT_OK : KT_ENOMEM;
}

static int log_change(kt_store *st, const char *org, const kt_table *t, const char *id, bool deleted,
		      const char *loc_old, const char *client_old, const char *loc_new,
		      const char *client_new)
{
	static const char sql[] =
		"INSERT INTO changelog(org_id, tbl, row_id, op, loc_old, loc_new, client_old, client_new, at)"
		" VALUES(?, ?, ?, ?, ?, ?, nullif(?, ''), nullif(?, ''), ?)";
	sqlite3_stmt *s = prep(st, sql);
	int rc;
	if (!s)
		return KT_EIO;
	sqlite3_bind_text(s, 1, org, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, t->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, deleted ? "delete" : "put", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, loc_old ? loc_old : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, loc_new ? loc_new : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 7, client_old ? client_old : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 8, client_new ? client_new : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 9, kt_now_ms());
	rc = sqlite3_step(s);
	finish(st, s);
	return rc == SQLITE_DONE ? KT_OK : sql_err(st, rc);
}

static int row_org(kt_store *st, const kt_table *t, const char *id, char org[KT_UUID_LEN + 1])
{
	char sql[128];
	sqlite3_stmt *s;
	int rc;
	snprintf(sql, sizeof sql, "SELECT %s FROM %s WHERE id = ?",
		 t->route == KT_ROUTE_ORG ? "id" : "org_id", t->name);
	if (!(s = prep(st, sql)))
		return KT_EIO;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		snprintf(org, KT_UUID_LEN + 1, "%s", (const char *)sqlite3_column_text(s, 0));
		rc = KT_OK;
	} else
		rc = rc == SQLITE_DONE ? KT_ENOT_FOUND : sql_err(st, rc);
	finish(st, s);
	return rc;
}

/* ---- writes ---- */

static bool managed_column(const char *name)
{
	return !strcmp(name, "id") || !strcmp(name, "org_id") || !strcmp(name, "version") ||
	       !strcmp(name, "updated_at") || !strcmp(name, "email_hash") || !strcmp(name, "field_versions");
}

static int bind_field(sqlite3_stmt *s, int idx, const kt_col *c, const char *text);

/* Bind a field value; a sealed column is sealed under owner (a client id)
 * first, with the table, column and row id as associated data. */
static int bind_value(kt_store *st, sqlite3_stmt *s, int idx, const kt_table *t, int ci, const char *text,
		      const char *row_id, const char *owner)
{
	const kt_col *c = &t->cols[ci];
	uint8_t *b;
	size_t n;
	int rc;
	if (!text || !c->sealed)
		return bind_field(s, idx, c, text);
	if (!owner || !*owner)
		return KT_EINVALID;
	if ((rc = keyring_seal(st->kr, owner, t->name, c->name, row_id, text, strlen(text), &b, &n)))
		return rc;
	sqlite3_bind_blob(s, idx, b, (int)n, free);
	return KT_OK;
}

/* The keyed hash of a client's e-mail address (login lookups), or NULL. */
static int bind_email_hash(kt_store *st, sqlite3_stmt *s, int idx, const char *email)
{
	char h[65];
	int rc;
	if (!email)
		return sqlite3_bind_null(s, idx) == SQLITE_OK ? KT_OK : KT_EIO;
	if ((rc = keyring_email_hash(st->kr, email, h)))
		return rc;
	sqlite3_bind_text(s, idx, h, -1, SQLITE_TRANSIENT);
	return KT_OK;
}

/* One value of a result column: a sealed one is opened with its owner's
 * key. The key of an erased client is gone: its values read as NULL. */
static int load_val(kt_store *st, sqlite3_stmt *s, int col, const kt_table *t, int ci, const char *row_id,
		    kt_val *v)
{
	memset(v, 0, sizeof *v);
	switch (sqlite3_column_type(s, col)) {
	case SQLITE_NULL:
		v->null = true;
		return KT_OK;
	case SQLITE_INTEGER:
		v->i = sqlite3_column_int64(s, col);
		return KT_OK;
	case SQLITE_BLOB:
		if (t->cols[ci].sealed) {
			const void *b = sqlite3_column_blob(s, col);
			size_t n = (size_t)sqlite3_column_bytes(s, col);
			int rc = keyring_unseal(st->kr, t->name, t->cols[ci].name, row_id, b, n, &v->s, &v->len);
			if (rc == KT_ENOMEM)
				return rc;
			if (rc == KT_EINVALID)
				kt_warn("%s.%s of %s does not decrypt (altered?): read as empty", t->name,
					t->cols[ci].name, row_id);
			v->null = rc != KT_OK;
			return KT_OK;
		}
		/* fall through */
	default: {
		const unsigned char *txt = sqlite3_column_text(s, col);
		v->len = (size_t)sqlite3_column_bytes(s, col);
		return (v->s = kt_strndup(txt ? (const char *)txt : "", v->len)) ? KT_OK : KT_ENOMEM;
	}
	}
}

static void vals_free(kt_val *v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i].s);
}

/* The given columns as a JSON object for the audit log (owned by the
 * caller). by_col: v is a whole row (v[idx[i]]), else v[i] goes with idx[i].
 * idx NULL: every column a person could care about. Never includes ids,
 * versions or secrets. */
static char *vals_json(const kt_table *t, const int *idx, int n, const kt_val *v, bool by_col)
{
	json_t *o = json_object();
	char *out;
	if (!o)
		return NULL;
	for (int i = 0; i < (idx ? n : t->ncols); i++) {
		int ci = idx ? idx[i] : i;
		const kt_col *c = &t->cols[ci];
		const kt_val *x = &v[by_col ? ci : i];
		json_t *j;
		if (managed_column(c->name) || !strcmp(c->name, "password_hash"))
			continue;
		if (x->null)
			j = json_null();
		else if (c->type == KT_COL_INT || c->type == KT_COL_BOOL)
			j = json_integer(x->i);
		else
			j = json_stringn(x->s, x->len);
		json_object_set_new(o, c->name, j ? j : json_null());
	}
	/* most edits are a few short fields: written into a stack buffer first,
	 * which spares json_dumps' growing buffer and its copy */
	char buf[512];
	size_t need = json_dumpb(o, buf, sizeof buf, JSON_COMPACT);
	if (need && need < sizeof buf) {
		if ((out = malloc(need + 1))) {
			memcpy(out, buf, need);
			out[need] = '\0';
		}
	} else
		out = need ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return out;
}

static int bind_field(sqlite3_stmt *s, int idx, const kt_col *c, const char *text)
{
	char *end;
	long long v;

	if (!text)
		return sqlite3_bind_null(s, idx) == SQLITE_OK ? KT_OK : KT_EINVALID;
	switch (c->type) {
	case KT_COL_INT:
		errno = 0;
		v = strtoll(text, &end, 10);
		if (errno || end == text || *end)
			return KT_EINVALID;
		sqlite3_bind_int64(s, idx, v);
		return KT_OK;
	case KT_COL_BOOL:
		if (!strcmp(text, "1") || !strcmp(text, "true"))
			sqlite3_bind_int(s, idx, 1);
		else if (!strcmp(text, "0") || !strcmp(text, "false"))
			sqlite3_bind_int(s, idx, 0);
		else
			return KT_EINVALID;
		return KT_OK;
	case KT_COL_TEXT:
	case KT_COL_LIST:
		sqlite3_bind_text(s, idx, text, -1, SQLITE_TRANSIENT);
		return KT_OK;
	}
	return KT_EINVALID;
}

/* Run fn inside a transaction unless the caller already holds one. */
static int in_tx_begin(kt_store *st, bool *own)
{
	*own = sqlite3_get_autocommit(st->db) != 0;
	return *own ? store_begin(st) : KT_OK;
}

static int in_tx_end(kt_store *st, bool own, int rc)
{
	if (!own)
		return rc;
	if (rc) {
		store_rollback(st);
		return rc;
	}
	return store_commit(st);
}

static int check_fields(const kt_table *t, const kt_field *f, int n, int *idx)
{
	char why[160];
	for (int i = 0; i < n; i++) {
		idx[i] = kt_col_index(t, f[i].name);
		if (idx[i] < 0 || managed_column(f[i].name))
			return KT_EINVALID;
		for (int k = 0; k < i; k++)
			if (idx[k] == idx[i])
				return KT_EINVALID;
	}
	/* the value rules hold for every writer, also one that forgot to ask */
	if (validate_fields(t, f, n, why, sizeof why)) {
		kt_info("store: %s refused: %s", t->name, why);
		return KT_EINVALID;
	}
	return KT_OK;
}

static int load_row(kt_store *st, const kt_table *t, const char *id, kt_row *out);

/* The given columns of a stored row as a JSON object (see vals_json; NULL
 * when the row does not exist). */
static char *row_json(kt_store *st, const kt_table *t, const char *id, const int *idx, int n)
{
	kt_row r;
	char *out;
	if (load_row(st, t, id, &r))
		return NULL;
	out = vals_json(t, idx, n, r.v, true);
	kt_row_free(&r);
	return out;
}

static char *field_list(const kt_table *t, const int *idx, int n)
{
	size_t cap = 1;
	for (int i = 0; i < n; i++)
		cap += strlen(t->cols[idx[i]].name) + 1;
	char *out = calloc(1, cap);
	for (int i = 0; out && i < n; i++) {
		if (!strcmp(t->cols[idx[i]].name, "password_hash"))
			continue;
		if (*out)
			strcat(out, ",");
		strcat(out, t->cols[idx[i]].name);
	}
	return out;
}

/* The first location of a routing set, for the audit entry's scope. */
static void first_loc(const char *locs, char out[KT_UUID_LEN + 1])
{
	size_t n = locs ? strcspn(locs, ",") : 0;
	out[0] = 0;
	if (n == KT_UUID_LEN) {
		memcpy(out, locs, n);
		out[n] = 0;
	}
}

static int audit_row(kt_store *st, const char *org, const char *action, const kt_table *t, const char *id,
		     const char *client, const char *locs, const char *fields, const char *before,
		     const char *after)
{
	char loc[KT_UUID_LEN + 1];
	first_loc(locs, loc);
	kt_audit_entry e = {org, action, t->name, id, client && *client ? client : NULL, loc[0] ? loc : NULL,
			    fields, before, after};
	return audit_append(st, &e);
}

int store_insert(kt_store *st, const char *tbl, const char *id, const char *org_id,
		 const kt_field *f, int n, int64_t *version_out)
{
	const kt_table *t = kt_table_find(tbl, strlen(tbl));
	int idx[64], rc, p = 1;
	bool own = false, is_org;
	char sql[2048], *locs = NULL, client[KT_UUID_LEN + 1];
	const char *owner = NULL;
	const kt_field *email = NULL;
	size_t len;
	sqlite3_stmt *s = NULL;

	if (!t || n > 64 || !id || !kt_uuid_valid(id, strlen(id)))
		return KT_EINVALID;
	is_org = t->route == KT_ROUTE_ORG;
	if (!is_org && (!org_id || !kt_uuid_valid(org_id, strlen(org_id))))
		return KT_EINVALID;
	if ((rc = check_fields(t, f, n, idx)))
		return rc;
	/* whose key seals the personal columns, and the e-mail to index */
	for (int i = 0; i < n; i++) {
		if (t->owner_col && !strcmp(t->cols[idx[i]].name, t->owner_col))
			owner = f[i].text;
		if (t->owner_col && !strcmp(t->name, "client") && !strcmp(f[i].name, "email"))
			email = &f[i];
	}
	if (t->owner_col && !strcmp(t->owner_col, "id"))
		owner = id;
	len = (size_t)snprintf(sql, sizeof sql, "INSERT INTO %s(id%s, version, updated_at", t->name,
			       is_org ? "" : ", org_id");
	for (int i = 0; i < n && len < sizeof sql; i++)
		len += (size_t)snprintf(sql + len, sizeof sql - len, ", %s", t->cols[idx[i]].name);
	if (email && len < sizeof sql)
		len += (size_t)snprintf(sql + len, sizeof sql - len, ", email_hash");
	len += (size_t)snprintf(sql + len, sizeof sql - len, ") VALUES(?%s, 1, ?", is_org ? "" : ", ?");
	for (int i = 0; i < n + (email != NULL) && len < sizeof sql; i++)
		len += (size_t)snprintf(sql + len, sizeof sql - len, ", ?");
	if (len + 2 >= sizeof sql)
		return KT_EINVALID;
	strcat(sql, ")");

	if ((rc = in_tx_begin(st, &own)))
		return rc;
	if (!(s = prep(st, sql))) {
		rc = KT_EIO;
		goto out;
	}
	sqlite3_bind_text(s, p++, id, -1, SQLITE_STATIC);
	if (!is_org)
		sqlite3_bind_text(s, p++, org_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, p++, kt_now_ms());
	for (int i = 0; i < n; i++)
		if ((rc = bind_value(st, s, p++, t, idx[i], f[i].text, id, owner)))
			goto out;
	if (email && (rc = bind_email_hash(st, s, p++, email->text)))
		goto out;
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE) {
		rc = sql_err(st, rc);
		goto out;
	}
	if ((rc = store_row_routing(st, t, id, &locs, client)))
		goto out;
	rc = log_change(st, is_org ? id : org_id, t, id, false, "", NULL, locs, client);
	if (!rc) {
		char *after = row_json(st, t, id, idx, n), *fields = field_list(t, idx, n);
		rc = audit_row(st, is_org ? id : org_id, "create", t, id, client, locs, fields, NULL, after);
		free(after);
		free(fields);
	}
	if (!rc && version_out)
		*version_out = 1;
out:
	finish(st, s);
	free(locs);
	return in_tx_end(st, own, rc);
}

/* Field versions live in the row's field_versions column (migration 10):
 * "field:version:writer" entries joined by ',', writer empty when unknown.
 * The writer is the person who made the change (the actor's id), or the
 * device when no person is known; older entries name the device. Names and
 * ids never hold ':' or ','. */

/* The entry for field in fv (NULL: none); *len gets the entry's length. */
static const char *fv_find(const char *fv, const char *field, size_t *len)
{
	size_t fl = strlen(field);
	for (const char *e = fv; e && *e;) {
		size_t n = strcspn(e, ",");
		if (n > fl && !strncmp(e, field, fl) && e[fl] == ':') {
			*len = n;
			return e;
		}
		e += n + (e[n] == ',');
	}
	return NULL;
}

/* fv with these fields set to version by the actor's device (malloc'd; NULL: no memory). */
static char *fv_with(const char *fv, const kt_table *t, const int *idx, int n, int64_t version,
		     const char *device)
{
	size_t cap = (fv ? strlen(fv) : 0) + 1, len = 0, dl;
	char ver[KT_I64_TEXT];
	size_t vl = kt_i64_text(ver, version);
	if (strpbrk(device, ",:"))
		device = ""; /* device ids are UUIDs; anything else is recorded as unknown */
	dl = strlen(device);
	for (int i = 0; i < n; i++)
		cap += strlen(t->cols[idx[i]].name) + dl + vl + 3;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	for (const char *e = fv; e && *e;) { /* the other fields' entries stay */
		size_t k = strcspn(e, ","), name = strcspn(e, ":");
		bool changed = false;
		for (int i = 0; i < n && !changed; i++)
			changed = name < k && strlen(t->cols[idx[i]].name) == name &&
				  !strncmp(e, t->cols[idx[i]].name, name);
		if (!changed && k) {
			if (len)
				out[len++] = ',';
			memcpy(out + len, e, k);
			len += k;
		}
		e += k + (e[k] == ',');
	}
	for (int i = 0; i < n; i++) { /* "name:version:device" */
		const char *c = t->cols[idx[i]].name;
		size_t cl = strlen(c);
		if (len)
			out[len++] = ',';
		memcpy(out + len, c, cl);
		len += cl;
		out[len++] = ':';
		memcpy(out + len, ver, vl);
		len += vl;
		out[len++] = ':';
		memcpy(out + len, device, dl);
		len += dl;
	}
	out[len] = 0;
	return out;
}

static bool fv_writer_is(const char *w, size_t wl, const char *id)
{
	return id && *id && wl == strlen(id) && !strncmp(w, id, wl);
}

/* out[i]: the version at which names[i] last changed per fv (see store.h);
 * 0 when the writer was who or device (either may be NULL). */
static void fv_versions(const char *fv, const char *const *names, int n, const char *who, const char *device,
			int64_t *out)
{
	for (int i = 0; i < n; i++) {
		size_t len, nl = strlen(names[i]);
		const char *e = fv_find(fv, names[i], &len), *dev;
		out[i] = 1; /* unchanged since creation */
		if (!e)
			continue;
		out[i] = strtoll(e + nl + 1, NULL, 10);
		dev = memchr(e + nl + 1, ':', len - nl - 1);
		/* one's own earlier edit is not concurrent with this one */
		if (dev && (fv_writer_is(dev + 1, (size_t)(e + len - dev - 1), who) ||
			    fv_writer_is(dev + 1, (size_t)(e + len - dev - 1), device)))
			out[i] = 0;
	}
}

int store_field_versions(kt_store *st, const char *tbl, const char *id, const char *const *names, int n,
			 const char *device, int64_t *out)
{
	const kt_table *t = kt_table_find(tbl, strlen(tbl));
	char sql[128];
	sqlite3_stmt *s;
	if (!t)
		return KT_EINVALID;
	if (kt_col_index(t, "field_versions") < 0) {
		fv_versions(NULL, names, n, device, NULL, out);
		return KT_OK; /* never updated (consents) */
	}
	snprintf(sql, sizeof sql, "SELECT field_versions FROM %s WHERE id = ?", t->name);
	if (!(s = prep(st, sql)))
		return KT_EIO;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	fv_versions(sqlite3_step(s) == SQLITE_ROW ? (const char *)sqlite3_column_text(s, 0) : NULL, names, n, device,
		    NULL, out);
	finish(st, s);
	return KT_OK;
}

void store_row_field_versions(const kt_row *r, const char *const *names, int n, const char *who, const char *device,
			      int64_t *out)
{
	int c = kt_col_index(r->t, "field_versions");
	fv_versions(c >= 0 && !r->v[c].null ? r->v[c].s : NULL, names, n, who, device, out);
}

/* Append a to the SQL text sql[cap] of length *len; past cap, *len says
 * so (>= cap) and the text stays cut. */
static void sql_add(char *sql, size_t cap, size_t *len, const char *a)
{
	size_t n = strlen(a);
	if (*len + n < cap) {
		memcpy(sql + *len, a, n + 1);
		*len += n;
	} else
		*len = cap;
}

/* ", a, b" for the given columns. */
static size_t col_list(char *out, size_t cap, const kt_table *t, const int *idx, int n)
{
	size_t len = 0;
	out[0] = 0;
	for (int i = 0; i < n && len < cap; i++)
		len += (size_t)snprintf(out + len, cap - len, ", %s", t->cols[idx[i]].name);
	return len;
}

/* Routing columns a row carries itself (store_row_routing, without a query). */
static const char *inline_routing(const kt_table *t)
{
	switch (t->route) {
	case KT_ROUTE_LOC_COL: return "location_id, client_id";
	case KT_ROUTE_LOC_OPT: return "coalesce(location_id, '*'), NULL";
	default: return "NULL, NULL";
	}
}

/* Routing from inline columns c0, c1 of a result row; for the kinds that
 * live elsewhere (staff and client locations) a query. */
static int routing_from(kt_store *st, const kt_table *t, const char *id, sqlite3_stmt *s, int c0, char **locs,
			char client[KT_UUID_LEN + 1])
{
	client[0] = 0;
	if (t->route != KT_ROUTE_LOC_COL && t->route != KT_ROUTE_LOC_OPT)
		return store_row_routing(st, t, id, locs, client);
	*locs = dup_text(sqlite3_column_text(s, c0));
	if (sqlite3_column_type(s, c0 + 1) != SQLITE_NULL)
		kt_strcpy_cut(client, KT_UUID_LEN + 1, (const char *)sqlite3_column_text(s, c0 + 1));
	return *locs ? KT_OK : KT_ENOMEM;
}

/* Could this change of these columns move the row to other locations or
 * another client? (Client locations change only through links.) */
static bool changes_routing(const kt_table *t, const int *idx, int n)
{
	for (int i = 0; i < n; i++) {
		const char *c = t->cols[idx[i]].name;
		if (((t->route == KT_ROUTE_LOC_COL || t->route == KT_ROUTE_LOC_OPT) &&
		     (!strcmp(c, "location_id") || !strcmp(c, "client_id"))) ||
		    (t->route == KT_ROUTE_STAFF_LOCS && !strcmp(c, "role")) ||
		    (t->route == KT_ROUTE_VIA_CLIENT && !strcmp(c, "client_id")))
			return true;
	}
	return false;
}

/* Read the changed columns (from column c0 of s) and make them JSON. */
static char *changed_json(kt_store *st, sqlite3_stmt *s, int c0, const kt_table *t, const int *idx, int n,
			  const char *id)
{
	kt_val v[64];
	char *out = NULL;
	int k = 0;
	for (; k < n; k++)
		if (load_val(st, s, c0 + k, t, idx[k], id, &v[k]))
			goto out;
	out = vals_json(t, idx, n, v, false);
out:
	vals_free(v, k);
	return out;
}

/* The after image from the fields themselves (bind_field checked them):
 * what was just written need not be read back and decrypted. */
static char *fields_json(const kt_table *t, const int *idx, const kt_field *f, int n)
{
	kt_val v[64];
	for (int i = 0; i < n; i++) {
		kt_coltype type = t->cols[idx[i]].type;
		memset(&v[i], 0, sizeof v[i]);
		if (!f[i].text)
			v[i].null = true;
		else if (type == KT_COL_INT)
			v[i].i = strtoll(f[i].text, NULL, 10);
		else if (type == KT_COL_BOOL)
			v[i].i = !strcmp(f[i].text, "1") || !strcmp(f[i].text, "true");
		else {
			v[i].s = (char *)f[i].text; /* read only: vals_json copies */
			v[i].len = strlen(f[i].text);
		}
	}
	return vals_json(t, idx, n, v, false);
}

/* Three statements for the row itself: the before image with its org,
 * routing and field versions (none when the caller loaded the row,
 * store_update_loaded), the UPDATE (with the new field versions) returning
 * the new version and routing, the change log; then the audit entry (its
 * after image is built from the fields). */
static int update_row(kt_store *st, const kt_table *t, const kt_row *row, const char *id, const kt_field *f,
		      int n, int64_t *version_out);

int store_update(kt_store *st, const char *tbl, const char *id, const kt_field *f, int n,
		 int64_t *version_out)
{
	return update_row(st, kt_table_find(tbl, strlen(tbl)), NULL, id, f, n, version_out);
}

int store_update_loaded(kt_store *st, const kt_row *row, const char *id, const kt_field *f, int n,
			int64_t *version_out)
{
	return update_row(st, row->t, row, id, f, n, version_out);
}

/* The before image, org, routing, version and field versions come from
 * `row` when the caller loaded it in this transaction (and opened every
 * changed column), else from a read here. */
static int update_row(kt_store *st, const kt_table *t, const kt_row *row, const char *id, const kt_field *f,
		      int n, int64_t *version_out)
{
	int idx[64], rc, p = 1;
	bool own = false;
	char sql[4096], cols[2048], *loc_old = NULL, *loc_new = NULL, c_old[KT_UUID_LEN + 1], c_new[KT_UUID_LEN + 1];
	char org[KT_UUID_LEN + 1], *before = NULL, *after = NULL, *fields = NULL, *fv = NULL;
	const char *owner = NULL;
	const kt_field *email = NULL;
	kt_row old_mail = {0};
	bool have_old_mail = false;
	int64_t version = 0;
	size_t len;
	sqlite3_stmt *s = NULL;

	if (!t || n > 64 || n < 1 || !id)
		return KT_EINVALID;
	if ((rc = check_fields(t, f, n, idx)))
		return rc;
	if ((rc = in_tx_begin(st, &own)))
		return rc;
	/* per person: a second tablet of the same receptionist does not conflict with her first */
	const char *writer = st->actor.id[0] ? st->actor.id : st->actor.device;

	/* before */
	for (int i = 0; row && i < n; i++)
		if (idx[i] < 64 && (row->unopened >> idx[i] & 1))
			row = NULL; /* a changed value the caller did not open */
	if (row) {
		int fvc = kt_col_index(t, "field_versions");
		kt_strcpy_cut(org, sizeof org, row->org);
		memcpy(c_old, row->client, sizeof c_old);
		/* the new version is the old one + 1: we hold the write lock */
		version = row->version + 1;
		if (!(loc_old = strdup(row->locs ? row->locs : "")) || !(before = vals_json(t, idx, n, row->v, true)) ||
		    !(fv = fv_with(fvc >= 0 && !row->v[fvc].null ? row->v[fvc].s : NULL, t, idx, n, version,
				   writer)))
			rc = KT_ENOMEM;
	} else {
		if (col_list(cols, sizeof cols, t, idx, n) >= sizeof cols) {
			rc = KT_EINVALID;
			goto out;
		}
		snprintf(sql, sizeof sql, "SELECT %s, %s, version, field_versions%s FROM %s WHERE id = ?",
			 t->route == KT_ROUTE_ORG ? "id" : "org_id", inline_routing(t), cols, t->name);
		if (!(s = prep(st, sql))) {
			rc = KT_EIO;
			goto out;
		}
		sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
		if ((rc = sqlite3_step(s)) != SQLITE_ROW) {
			rc = rc == SQLITE_DONE ? KT_ENOT_FOUND : sql_err(st, rc);
			goto out;
		}
		kt_strcpy_cut(org, sizeof org, (const char *)sqlite3_column_text(s, 0));
		rc = routing_from(st, t, id, s, 1, &loc_old, c_old);
		if (!rc && !(before = changed_json(st, s, 5, t, idx, n, id)))
			rc = KT_ENOMEM;
		version = sqlite3_column_int64(s, 3) + 1;
		if (!rc &&
		    !(fv = fv_with((const char *)sqlite3_column_text(s, 4), t, idx, n, version, writer)))
			rc = KT_ENOMEM;
		finish(st, s);
		s = NULL;
	}
	if (rc)
		goto out;

	/* whose key seals the new values: the row's client after the change */
	if (t->owner_col) {
		owner = !strcmp(t->owner_col, "id") ? id : c_old;
		for (int i = 0; i < n; i++) {
			if (!strcmp(t->cols[idx[i]].name, t->owner_col))
				owner = f[i].text;
			if (!strcmp(t->name, "client") && !strcmp(f[i].name, "email"))
				email = &f[i];
		}
	}

	/* a client's e-mail is the portal sign-in: whoever changes it, the
	 * change goes through portal_email_changed below (the old address
	 * is read here, before it is overwritten) */
	if (email) {
		int ec = kt_col_index(t, "email");
		if ((rc = store_row_load_some(st, t, id, &ec, 1, &old_mail)))
			goto out;
		have_old_mail = true;
	}

	/* the change; it returns the new routing only when it can move the row
	 * (RETURNING costs SQLite a temporary table per execution) */
	bool moves = changes_routing(t, idx, n);
	len = 0;
	sql_add(sql, sizeof sql, &len, "UPDATE ");
	sql_add(sql, sizeof sql, &len, t->name);
	sql_add(sql, sizeof sql, &len, " SET version = version + 1, updated_at = ?, field_versions = ?");
	for (int i = 0; i < n; i++) {
		sql_add(sql, sizeof sql, &len, ", ");
		sql_add(sql, sizeof sql, &len, t->cols[idx[i]].name);
		sql_add(sql, sizeof sql, &len, " = ?");
	}
	if (email)
		sql_add(sql, sizeof sql, &len, ", email_hash = ?");
	sql_add(sql, sizeof sql, &len, " WHERE id = ?");
	if (moves) {
		sql_add(sql, sizeof sql, &len, " RETURNING version, ");
		sql_add(sql, sizeof sql, &len, inline_routing(t));
	}
	if (len >= sizeof sql) {
		rc = KT_EINVALID;
		goto out;
	}
	if (!(s = prep(st, sql))) {
		rc = KT_EIO;
		goto out;
	}
	sqlite3_bind_int64(s, p++, kt_now_ms());
	sqlite3_bind_text(s, p++, fv, -1, SQLITE_STATIC);
	for (int i = 0; i < n; i++)
		if ((rc = bind_value(st, s, p++, t, idx[i], f[i].text, id, owner)))
			goto out;
	if (email && (rc = bind_email_hash(st, s, p++, email->text)))
		goto out;
	sqlite3_bind_text(s, p, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		rc = sql_err(st, rc);
		goto out;
	}
	if (moves ? rc != SQLITE_ROW : sqlite3_changes(st->db) != 1) {
		rc = KT_ENOT_FOUND;
		goto out;
	}
	if (moves && sqlite3_column_int64(s, 0) != version) {
		rc = KT_EIO; /* cannot happen: we read the version in this transaction */
		goto out;
	}
	if (!(after = fields_json(t, idx, f, n)))
		rc = KT_ENOMEM;
	else if (moves) {
		rc = routing_from(st, t, id, s, 1, &loc_new, c_new);
	} else {
		loc_new = loc_old ? strdup(loc_old) : NULL;
		memcpy(c_new, c_old, sizeof c_new);
		rc = loc_new ? KT_OK : KT_ENOMEM;
	}
	if (!rc && moves && (rc = sqlite3_step(s)) == SQLITE_DONE) /* run the statement to its end */
		rc = KT_OK;
	else if (!rc && moves)
		rc = sql_err(st, rc);
	finish(st, s);
	s = NULL;
	if (rc)
		goto out;

	rc = log_change(st, org, t, id, false, loc_old, c_old, loc_new, c_new);
	if (!rc) {
		fields = field_list(t, idx, n);
		rc = audit_row(st, org, "update", t, id, c_new, loc_new, fields, before, after);
	}
	if (!rc && have_old_mail) {
		int ec = kt_col_index(t, "email");
		rc = portal_email_changed(st, org, id, old_mail.v[ec].null ? NULL : old_mail.v[ec].s, email->text);
	}
	if (!rc && version_out)
		*version_out = version;
out:
	kt_row_free(&old_mail);
	finish(st, s);
	free(loc_old);
	free(loc_new);
	free(before);
	free(after);
	free(fields);
	free(fv);
	return in_tx_end(st, own, rc);
}

/* A client's location links, removed when the client row is deleted (an
 * erasure): its routing was read before, so the devices of those
 * locations still get the delete. */
static int client_unlink_all(kt_store *st, const char *client_id)
{
	static const char sql[] = "DELETE FROM client_location WHERE client_id = ?";
	sqlite3_stmt *s = prep(st, sql);
	int rc;
	if (!s)
		return KT_EIO;
	sqlite3_bind_text(s, 1, client_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	finish(st, s);
	return rc == SQLITE_DONE ? KT_OK : sql_err(st, rc);
}

int store_delete(kt_store *st, const char *tbl, const char *id)
{
	const kt_table *t = kt_table_find(tbl, strlen(tbl));
	char sql[128], *loc_old = NULL, c_old[KT_UUID_LEN + 1], org[KT_UUID_LEN + 1], *before = NULL;
	sqlite3_stmt *s = NULL;
	bool own = false;
	int rc;

	if (!t || !id)
		return KT_EINVALID;
	if ((rc = in_tx_begin(st, &own)))
		return rc;
	if ((rc = row_org(st, t, id, org)) || (rc = store_row_routing(st, t, id, &loc_old, c_old)))
		goto out;
	before = row_json(st, t, id, NULL, 0);
	if (t->route == KT_ROUTE_CLIENT_LOCS && (rc = client_unlink_all(st, id)))
		goto out; /* the links go with the client; the log keeps its old routing (loc_old) */
	snprintf(sql, sizeof sql, "DELETE FROM %s WHERE id = ?", t->name);
	if (!(s = prep(st, sql))) {
		rc = KT_EIO;
		goto out;
	}
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	rc = rc == SQLITE_DONE ? KT_OK : sql_err(st, rc);
	if (!rc)
		rc = log_change(st, org, t, id, true, loc_old, c_old, "", NULL);
	if (!rc)
		rc = audit_row(st, org, "delete", t, id, c_old, loc_old, NULL, before, NULL);
out:
	finish(st, s);
	free(loc_old);
	free(before);
	return in_tx_end(st, own, rc);
}

static char *locs_json(kt_store *st, const char *locs)
{
	static const char sql[] = "SELECT json_object('locations', ?)";
	sqlite3_stmt *s = prep(st, sql);
	char *out = NULL;
	if (!s)
		return NULL;
	sqlite3_bind_text(s, 1, locs ? locs : "", -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		out = strdup((const char *)sqlite3_column_text(s, 0));
	finish(st, s);
	return out;
}

/* The rows that go where their client goes (KT_ROUTE_VIA_CLIENT: consents)
 * move with the client: log a put of each with the client's old and new
 * locations, so devices that gain the client get them and devices that lose
 * it get evictions. No audit entry: the link's own entry records the move. */
static int relog_client_rows(kt_store *st, const char *org, const char *client_id, const char *loc_old,
			     const char *loc_new)
{
	for (int i = 0; i < kt_table_count; i++) {
		const kt_table *t = &kt_tables[i];
		char sql[128];
		sqlite3_stmt *s;
		int rc = SQLITE_DONE;
		if (t->route != KT_ROUTE_VIA_CLIENT)
			continue;
		snprintf(sql, sizeof sql, "SELECT id FROM %s WHERE client_id = ? ORDER BY id", t->name);
		if (!(s = prep(st, sql)))
			return KT_EIO;
		sqlite3_bind_text(s, 1, client_id, -1, SQLITE_STATIC);
		/* log_change uses another statement: this one stays valid while it runs */
		while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
			char id[KT_UUID_LEN + 1];
			snprintf(id, sizeof id, "%s", (const char *)sqlite3_column_text(s, 0));
			int lrc = log_change(st, org, t, id, false, loc_old, client_id, loc_new, client_id);
			if (lrc) {
				finish(st, s);
				return lrc;
			}
		}
		finish(st, s);
		if (rc != SQLITE_DONE)
			return sql_err(st, rc);
	}
	return KT_OK;
}

/* Change a routing link and log a put of the routed row with old/new sets. */
static int link_change(kt_store *st, const kt_table *t, const char *row_id, const char *sql,
		       const char *location_id)
{
	char *loc_old = NULL, *loc_new = NULL, c_old[KT_UUID_LEN + 1], c_new[KT_UUID_LEN + 1];
	char org[KT_UUID_LEN + 1];
	sqlite3_stmt *s;
	bool own = false;
	int rc;

	if (!row_id || !location_id)
		return KT_EINVALID;
	if ((rc = in_tx_begin(st, &own)))
		return rc;
	if ((rc = row_org(st, t, row_id, org)) || (rc = store_row_routing(st, t, row_id, &loc_old, c_old)))
		goto out;
	if (!(s = prep(st, sql))) {
		rc = KT_EIO;
		goto out;
	}
	sqlite3_bind_text(s, 1, row_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, location_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	finish(st, s);
	if (rc != SQLITE_DONE) {
		rc = sql_err(st, rc);
		goto out;
	}
	rc = KT_OK;
	if (sqlite3_changes(st->db) == 0) {
		/* nothing changed: fine when already linked (or already unlinked),
		 * an error when the location is missing or of another organisation */
		static const char linked[] = "SELECT 1 FROM location WHERE id = ?1 AND org_id = ?2";
		sqlite3_stmt *q = prep(st, linked);
		if (!q) {
			rc = KT_EIO;
			goto out;
		}
		sqlite3_bind_text(q, 1, location_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, org, -1, SQLITE_STATIC);
		if (sqlite3_step(q) != SQLITE_ROW)
			rc = KT_ENOT_FOUND;
		finish(st, q);
		goto out;
	}
	if ((rc = store_row_routing(st, t, row_id, &loc_new, c_new)))
		goto out;
	rc = log_change(st, org, t, row_id, false, loc_old, c_old, loc_new, c_new);
	if (!rc && t->route == KT_ROUTE_CLIENT_LOCS)
		rc = relog_client_rows(st, org, row_id, loc_old, loc_new);
	if (!rc) {
		char *before = locs_json(st, loc_old), *after = locs_json(st, loc_new);
		rc = audit_row(st, org, strlen(loc_new) > strlen(loc_old) ? "link" : "unlink", t, row_id, c_new,
			       location_id, "locations", before, after);
		free(before);
		free(after);
	}
out:
	free(loc_old);
	free(loc_new);
	return in_tx_end(st, own, rc);
}

int store_link_client_location(kt_store *st, const char *client_id, const char *location_id)
{
	static const char sql[] =
		"INSERT OR IGNORE INTO client_location(client_id, location_id) SELECT ?1, ?2 "
		"WHERE EXISTS (SELECT 1 FROM location l JOIN client c ON c.org_id = l.org_id "
		"WHERE l.id = ?2 AND c.id = ?1)";
	return link_change(st, kt_table_find("client", 6), client_id, sql, location_id);
}

int store_link_staff_location(kt_store *st, const char *staff_id, const char *location_id, bool add)
{
	static const char add_sql[] =
		"INSERT OR IGNORE INTO staff_location(staff_id, location_id) SELECT ?1, ?2 "
		"WHERE EXISTS (SELECT 1 FROM location l JOIN staff s ON s.org_id = l.org_id "
		"WHERE l.id = ?2 AND s.id = ?1)";
	static const char del_sql[] = "DELETE FROM staff_location WHERE staff_id = ?1 AND location_id = ?2";
	return link_change(st, kt_table_find("staff", 5), staff_id, add ? add_sql : del_sql, location_id);
}

/* ---- reads ---- */

static const char *row_select_sql(kt_store *st, const kt_table *t)
{
	int ti = (int)(t - kt_tables);
	size_t cap = 64, len;
	char *sql;

	if (st->row_sql[ti])
		return st->row_sql[ti];
	for (int i = 0; i < t->ncols; i++)
		cap += strlen(t->cols[i].name) + 2;
	cap += strlen(t->name) + 64;
	if (!(sql = malloc(cap)))
		return NULL;
	len = (size_t)snprintf(sql, cap, "SELECT ");
	for (int i = 0; i < t->ncols; i++)
		len += (size_t)snprintf(sql + len, cap - len, "%s%s", i ? ", " : "", t->cols[i].name);
	snprintf(sql + len, cap - len, " FROM %s WHERE id = ?", t->name);
	st->row_sql[ti] = sql;
	return sql;
}

static int read_row_some(kt_store *st, sqlite3_stmt *s, const kt_table *t, uint64_t open, kt_row *out);

static const char *val_text(const kt_row *r, const char *col)
{
	int i = kt_col_index(r->t, col);
	return i >= 0 && !r->v[i].null && r->v[i].s ? r->v[i].s : NULL;
}

/* Routing of a loaded row: from its own columns where they hold it (no
 * second query on the send path), from the link tables otherwise. */
static int routing_from_row(kt_store *st, kt_row *r, const char *id)
{
	const char *loc, *client;
	switch (r->t->route) {
	case KT_ROUTE_ORG:
		r->locs = strdup("*");
		break;
	case KT_ROUTE_SELF_LOC:
		r->locs = strdup(id);
		break;
	case KT_ROUTE_LOC_COL:
		loc = val_text(r, "location_id");
		client = val_text(r, "client_id");
		r->locs = strdup(loc ? loc : "");
		kt_strcpy_cut(r->client, sizeof r->client, client);
		break;
	case KT_ROUTE_LOC_OPT:
		loc = val_text(r, "location_id");
		r->locs = strdup(loc ? loc : "*");
		break;
	case KT_ROUTE_VIA_CLIENT:
		client = val_text(r, "client_id");
		kt_strcpy_cut(r->client, sizeof r->client, client);
		r->locs = query_locset(st, q_client_locs, r->client);
		break;
	default:
		return store_row_routing(st, r->t, id, &r->locs, r->client);
	}
	return r->locs ? KT_OK : KT_ENOMEM;
}

/* A row without its routing. */
static int load_row_some(kt_store *st, const kt_table *t, const char *id, uint64_t open, kt_row *out)
{
	const char *sql = row_select_sql(st, t);
	sqlite3_stmt *s;
	int rc;

	memset(out, 0, sizeof *out);
	out->t = t;
	if (!sql || !(s = prep(st, sql)))
		return KT_EIO;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		finish(st, s);
		return rc == SQLITE_DONE ? KT_ENOT_FOUND : sql_err(st, rc);
	}
	rc = read_row_some(st, s, t, open, out);
	finish(st, s);
	return rc;
}

static int load_row(kt_store *st, const kt_table *t, const char *id, kt_row *out)
{
	return load_row_some(st, t, id, ~0ull, out);
}

static int row_load(kt_store *st, const kt_table *t, const char *id, uint64_t open, kt_row *out)
{
	int rc = load_row_some(st, t, id, open, out);
	if (!rc)
		rc = routing_from_row(st, out, id);
	if (rc)
		kt_row_free(out);
	return rc;
}

int store_row_load(kt_store *st, const kt_table *t, const char *id, kt_row *out)
{
	return row_load(st, t, id, ~0ull, out);
}

int store_row_load_some(kt_store *st, const kt_table *t, const char *id, const int *cols, int n, kt_row *out)
{
	uint64_t open = 0;
	for (int i = 0; i < n; i++)
		if (cols[i] >= 0 && cols[i] < 64)
			open |= 1ull << cols[i];
	return row_load(st, t, id, open, out);
}

void kt_log_entry_free(kt_log_entry *e)
{
	if (!e)
		return;
	free(e->loc_old);
	free(e->loc_new);
	e->loc_old = e->loc_new = NULL;
}

static int64_t scalar64(kt_store *st, const char *sql)
{
	sqlite3_stmt *s = prep(st, sql);
	int64_t v = 0;
	if (s && sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	if (s)
		finish(st, s);
	return v;
}

int64_t store_max_seq(kt_store *st)
{
	static const char sql[] = "SELECT coalesce(max(seq), 0) FROM changelog";
	return scalar64(st, sql);
}

int64_t store_min_seq(kt_store *st)
{
	static const char sql[] = "SELECT coalesce(min(seq), 0) FROM changelog";
	return scalar64(st, sql);
}

/* The first change log seq of a commit that is published but not yet
 * durable (the push writer's pipelined sync, writer.c), INT64_MAX when
 * there is none: no reader in this process passes it on before it is. */
static _Atomic int64_t log_hold = INT64_MAX;

void store_log_hold(int64_t from)
{
	atomic_store(&log_hold, from);
}

void store_log_release(int64_t from)
{
	int64_t want = from;
	atomic_compare_exchange_strong(&log_hold, &want, INT64_MAX);
}

/* Commits that may have been published before their fsync, counted: a
 * read transaction whose snapshot was taken when pub_gen was G holds
 * nothing unsynced once synced_gen >= G (the writer publishes the next
 * commit only after the last one's fsync, so the counts stay in order). */
static _Atomic uint64_t pub_gen, synced_gen;
static atomic_bool sync_failed;
static pthread_mutex_t synced_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t synced_cv = PTHREAD_COND_INITIALIZER;

uint64_t store_publish_unsynced(void)
{
	return atomic_fetch_add(&pub_gen, 1) + 1;
}

void store_published_synced(uint64_t gen)
{
	pthread_mutex_lock(&synced_mu);
	if (gen > atomic_load(&synced_gen))
		atomic_store(&synced_gen, gen);
	atomic_store(&sync_failed, false);
	pthread_cond_broadcast(&synced_cv);
	pthread_mutex_unlock(&synced_mu);
}

void store_published_failed(void)
{
	pthread_mutex_lock(&synced_mu);
	atomic_store(&sync_failed, true);
	pthread_cond_broadcast(&synced_cv);
	pthread_mutex_unlock(&synced_mu);
}

int store_read_durable(kt_store *st, int wait_ms)
{
	static const char begin[] = "BEGIN", pin[] = "SELECT 1 FROM changelog LIMIT 1";
	if (st->reading++)
		return KT_OK;
	sqlite3_stmt *s = prep(st, begin);
	int rc = s ? sqlite3_step(s) : SQLITE_NOMEM;
	finish(st, s);
	/* a deferred BEGIN takes its snapshot at the first read */
	if (rc == SQLITE_DONE && (s = prep(st, pin))) {
		rc = sqlite3_step(s);
		finish(st, s);
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		store_read_end(st);
		return sql_err(st, rc);
	}
	/* read after the snapshot: every commit in it was counted by now */
	uint64_t need = atomic_load(&pub_gen);
	if (atomic_load(&synced_gen) >= need)
		return KT_OK;
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	until.tv_sec += wait_ms / 1000 + until.tv_nsec / 1000000000L;
	until.tv_nsec %= 1000000000L;
	rc = 0;
	pthread_mutex_lock(&synced_mu);
	while (atomic_load(&synced_gen) < need && !atomic_load(&sync_failed) && rc == 0)
		rc = pthread_cond_timedwait(&synced_cv, &synced_mu, &until);
	bool ok = atomic_load(&synced_gen) >= need;
	pthread_mutex_unlock(&synced_mu);
	if (ok)
		return KT_OK;
	store_read_end(st);
	return KT_EBUSY;
}

void store_read_end(kt_store *st)
{
	static const char end[] = "COMMIT";
	if (st->reading <= 0 || --st->reading)
		return;
	if (!sqlite3_get_autocommit(st->db)) {
		sqlite3_stmt *s = prep(st, end);
		if (s)
			(void)sqlite3_step(s);
		finish(st, s);
	}
}

int store_log_read(kt_store *st, int64_t after, kt_log_entry *out, int max, int *n)
{
	static const char sql[] =
		"SELECT seq, org_id, tbl, row_id, op, loc_old, loc_new, client_old, client_new, at "
		"FROM changelog WHERE seq > ? AND seq < ? ORDER BY seq LIMIT ?";
	sqlite3_stmt *s = prep(st, sql);
	int rc;

	*n = 0;
	if (!s)
		return KT_EIO;
	sqlite3_bind_int64(s, 1, after);
	sqlite3_bind_int64(s, 2, atomic_load(&log_hold));
	sqlite3_bind_int(s, 3, max);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		kt_log_entry *e = &out[*n];
		const unsigned char *tbl = sqlite3_column_text(s, 2);
		memset(e, 0, sizeof *e);
		e->seq = sqlite3_column_int64(s, 0);
		kt_strcpy_cut(e->org, sizeof e->org, (const char *)sqlite3_column_text(s, 1));
		e->t = kt_table_find((const char *)tbl, (size_t)sqlite3_column_bytes(s, 2));
		kt_strcpy_cut(e->id, sizeof e->id, (const char *)sqlite3_column_text(s, 3));
		e->deleted = strcmp((const char *)sqlite3_column_text(s, 4), "delete") == 0;
		e->loc_old = dup_text(sqlite3_column_text(s, 5));
		e->loc_new = dup_text(sqlite3_column_text(s, 6));
		kt_strcpy_cut(e->client_old, sizeof e->client_old, (const char *)sqlite3_column_text(s, 7));
		kt_strcpy_cut(e->client_new, sizeof e->client_new, (const char *)sqlite3_column_text(s, 8));
		e->at = sqlite3_column_int64(s, 9);
		if (!e->loc_old || !e->loc_new) {
			kt_log_entry_free(e);
			rc = SQLITE_NOMEM; /* an entry skipped here would never reach a device */
			break;
		}
		if (!e->t) {
			kt_log_entry_free(e);
			continue; /* a table this build does not sync: skip, never guess */
		}
		(*n)++;
	}
	finish(st, s);
	if (rc == SQLITE_DONE)
		return KT_OK;
	/* all or nothing: callers give up on an error without freeing */
	for (int i = 0; i < *n; i++)
		kt_log_entry_free(&out[i]);
	*n = 0;
	return rc == SQLITE_NOMEM ? KT_ENOMEM : sql_err(st, rc);
}

bool store_data_changed(kt_store *st)
{
	static const char sql[] = "PRAGMA data_version";
	int64_t v = scalar64(st, sql);
	bool changed = v != st->data_version;
	st->data_version = v;
	return changed;
}

void kt_principal_free(kt_principal *p)
{
	if (!p)
		return;
	free(p->locs);
	p->locs = NULL;
}

int store_principal_load(kt_store *st, bool is_client, const char *id, kt_principal *out)
{
	static const char staff_sql[] = "SELECT org_id, role, display_name, active FROM staff WHERE id = ?";
	static const char client_sql[] = "SELECT org_id, 'client', name, portal_enabled FROM client WHERE id = ?";
	sqlite3_stmt *s = prep(st, is_client ? client_sql : staff_sql);
	int rc;

	memset(out, 0, sizeof *out);
	if (!s)
		return KT_EIO;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		finish(st, s);
		return rc == SQLITE_DONE ? KT_ENOT_FOUND : sql_err(st, rc);
	}
	out->is_client = is_client;
	snprintf(out->id, sizeof out->id, "%s", id);
	snprintf(out->org, sizeof out->org, "%s", (const char *)sqlite3_column_text(s, 0));
	out->role = kt_role_from_name((const char *)sqlite3_column_text(s, 1));
	if (is_client) {
		const kt_table *ct = kt_table_find("client", 6);
		kt_val name;
		if (load_val(st, s, 2, ct, kt_col_index(ct, "name"), id, &name) == KT_OK && !name.null)
			snprintf(out->name, sizeof out->name, "%s", name.s);
		free(name.s);
	} else
		snprintf(out->name, sizeof out->name, "%s", (const char *)sqlite3_column_text(s, 2));
	out->active = sqlite3_column_int(s, 3) != 0;
	finish(st, s);
	out->locs = query_locset(st, is_client ? q_client_locs : q_staff_locs, id);
	if (!out->locs || out->role < 0) {
		kt_principal_free(out);
		return out->role < 0 ? KT_EINVALID : KT_ENOMEM;
	}
	return KT_OK;
}

/* ---- snapshots ---- */

/* A result row of row_select_sql; sealed columns outside `open` (bit i =
 * column i) are left closed: NULL, marked in out->unopened. */
static int read_row_some(kt_store *st, sqlite3_stmt *s, const kt_table *t, uint64_t open, kt_row *out)
{
	int vi = kt_col_index(t, "version"), oi = kt_col_index(t, "org_id");
	const char *id;
	memset(out, 0, sizeof *out);
	out->t = t;
	if (!(out->v = calloc((size_t)t->ncols, sizeof *out->v)))
		return KT_ENOMEM;
	id = (const char *)sqlite3_column_text(s, 0);
	id = id ? id : "";
	for (int i = 0; i < t->ncols; i++) {
		if (t->cols[i].sealed && i < 64 && !(open >> i & 1)) {
			out->v[i].null = true;
			out->unopened |= 1ull << i;
			continue;
		}
		if (load_val(st, s, i, t, i, id, &out->v[i])) {
			kt_row_free(out);
			return KT_ENOMEM;
		}
	}
	out->version = vi >= 0 ? out->v[vi].i : 0;
	kt_strcpy_cut(out->org, sizeof out->org, oi >= 0 && out->v[oi].s ? out->v[oi].s : out->v[0].s);
	return KT_OK;
}

static int rows_page(kt_store *st, const kt_table *t, const char *where, const char *principal_id,
		     const char *org, const char *p5, const char *p6, uint64_t open, const char *after_id,
		     int limit, kt_row_cb cb, void *user, char last_id[KT_UUID_LEN + 1], int *n);

int store_snapshot_page(kt_store *st, const kt_table *t, const char *where, const char *principal_id,
			const char *org, const char *after_id, int limit, kt_row_cb cb, void *user,
			char last_id[KT_UUID_LEN + 1], int *n)
{
	return rows_page(st, t, where, principal_id, org, NULL, NULL, ~0ull, after_id, limit, cb, user, last_id, n);
}

int store_diff_page(kt_store *st, const kt_table *t, const char *where, const char *principal_id,
		    const char *org, const char *p5, const char *p6, bool open, const char *after_id, int limit,
		    kt_row_cb cb, void *user, char last_id[KT_UUID_LEN + 1], int *n)
{
	return rows_page(st, t, where, principal_id, org, p5, p6, open ? ~0ull : 0, after_id, limit, cb, user,
			 last_id, n);
}

static int rows_page(kt_store *st, const kt_table *t, const char *where, const char *principal_id,
		     const char *org, const char *p5, const char *p6, uint64_t open, const char *after_id,
		     int limit, kt_row_cb cb, void *user, char last_id[KT_UUID_LEN + 1], int *n)
{
	const char *base = row_select_sql(st, t);
	char *sql = NULL;
	sqlite3_stmt *s = NULL;
	int rc = KT_OK;
	size_t cap;

	*n = 0;
	last_id[0] = 0;
	if (!base)
		return KT_ENOMEM;
	/* reuse the column list of the row loader, swap its WHERE */
	cap = strlen(base) + strlen(where) + 96;
	if (!(sql = malloc(cap)))
		return KT_ENOMEM;
	snprintf(sql, cap, "%.*s WHERE (%s) AND id > ?3 ORDER BY id LIMIT ?4",
		 (int)(strstr(base, " WHERE id = ?") - base), base, where);
	if (!(s = prep(st, sql))) {
		rc = KT_EIO;
		goto out;
	}
	sqlite3_bind_text(s, 1, principal_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, org, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, after_id ? after_id : "", -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 4, limit);
	if (p5)
		sqlite3_bind_text(s, 5, p5, -1, SQLITE_STATIC);
	if (p6)
		sqlite3_bind_text(s, 6, p6, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		kt_row row;
		if ((rc = read_row_some(st, s, t, open, &row)))
			goto out;
		snprintf(last_id, KT_UUID_LEN + 1, "%s", row.v[0].s ? row.v[0].s : "");
		rc = cb(user, &row);
		kt_row_free(&row);
		(*n)++;
		if (rc)
			goto out;
	}
	rc = rc == SQLITE_DONE ? KT_OK : sql_err(st, rc);
out:
	finish(st, s);
	free(sql);
	return rc;
}

int64_t store_snapshot_count(kt_store *st, const kt_table *t, const char *where,
			     const char *principal_id, const char *org)
{
	char sql[1024];
	sqlite3_stmt *s;
	int64_t n = 0;
	snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE (%s)", t->name, where);
	if (!(s = prep(st, sql)))
		return 0;
	sqlite3_bind_text(s, 1, principal_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, org, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	finish(st, s);
	return n;
}

/* ---- sessions, devices, credentials ---- */

int store_session_create(kt_store *st, const uint8_t *token_hash, size_t hlen, bool is_client,
			 const char *principal_id, const char *device_id, int64_t expires_at)
{
	static const char sql[] =
		"INSERT INTO auth_session(token_hash, kind, principal_id, device_id, created_at, expires_at)"
		" VALUES(?, ?, ?, ?, ?, ?)";
	sqlite3_stmt *s = prep(st, sql);
	int rc;
	if (!s)
		return KT_EIO;
	sqlite3_bind_blob(s, 1, token_hash, (int)hlen, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, is_client ? "client" : "staff", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, principal_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, device_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, kt_now_ms());
	sqlite3_bind_int64(s, 6, expires_at);
	rc = sqlite3_step(s);
	finish(st, s);
	return rc == SQLITE_DONE ? KT_OK : sql_err(st, rc);
}

int store_session_find(kt_store *st, const uint8_t *token_hash, size_t hlen, const char *device_id,
		       bool *is_client, char principal_id[KT_UUID_LEN + 1], int64_t *expires_at)
{
	static const char sql[] =
		"SELECT kind, principal_id, expires_at, revoked FROM auth_session WHERE token_hash = ? AND "
		"device_id = ? AND expires_at > ?";
	sqlite3_stmt *s = prep(st, sql);
	int rc;
	if (!s)
		return KT_EIO;
	sqlite3_bind_blob(s, 1, token_hash, (int)hlen, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, device_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, kt_now_ms());
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && sqlite3_column_int(s, 3)) {
		rc = KT_EREVOKED; /* only the holder of the token on its device learns this */
	} else if (rc == SQLITE_ROW) {
		*is_client = strcmp((const char *)sqlite3_column_text(s, 0), "client") == 0;
		snprintf(principal_id, KT_UUID_LEN + 1, "%s", (const char *)sqlite3_column_text(s, 1));
		*expires_at = sqlite3_column_int64(s, 2);
		rc = KT_OK;
	} else
		rc = rc == SQLITE_DONE ? KT_ENOT_FOUND : sql_err(st, rc);
	finish(st, s);
	return rc;
}

/* A device that signs in again within this long of its last visit, as the
 * same person with the same app, is not written again: in a reconnect storm
 * every such write was a commit of its own (an fsync each) on the event
 * loop. Its acknowledgements keep last_seen current anyway. */
#define SEEN_REWRITE_MS (10 * 60 * 1000)

int store_device_seen(kt_store *st, const char *device_id, bool is_client, const char *principal_id,
		      const char *app)
{
	static const char known_sql[] =
		"SELECT 1 FROM device WHERE id = ?1 AND kind = ?2 AND principal_id = ?3 AND coalesce(app, '') = ?4 "
		"AND last_seen > ?5 AND released_at IS NULL";
	sqlite3_stmt *k = prep(st, known_sql);
	if (k) {
		bool fresh;
		sqlite3_bind_text(k, 1, device_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(k, 2, is_client ? "client" : "staff", -1, SQLITE_STATIC);
		sqlite3_bind_text(k, 3, principal_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(k, 4, app ? app : "", -1, SQLITE_STATIC);
		sqlite3_bind_int64(k, 5, kt_now_ms() - SEEN_REWRITE_MS);
		fresh = sqlite3_step(k) == SQLITE_ROW;
		finish(st, k);
		if (fresh)
			return KT_OK;
	}
	/* A device id stays with its person until it is released (signed
	 * out): the update only takes it over when it is free or already
	 * theirs, in the same statement, so two people racing for one id
	 * cannot both get it. */
	static const char sql[] =
		"INSERT INTO device(id, kind, principal_id, app, first_seen, last_seen) VALUES(?1, ?2, ?3, ?4, ?5, ?5)"
		" ON CONFLICT(id) DO UPDATE SET kind = ?2, principal_id = ?3, app = ?4, last_seen = ?5, released_at = NULL"
		" WHERE device.released_at IS NOT NULL OR (device.kind = ?2 AND device.principal_id = ?3)";
	sqlite3_stmt *s = prep(st, sql);
	int rc;
	if (!s)
		return KT_EIO;
	sqlite3_bind_text(s, 1, device_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, is_client ? "client" : "staff", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, principal_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, app ? app : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, kt_now_ms());
	rc = sqlite3_step(s);
	finish(st, s);
	if (rc != SQLITE_DONE)
		return sql_err(st, rc);
	return sqlite3_changes(st->db) ? KT_OK : KT_EDEVICE_TAKEN;
}

int store_device_ack(kt_store *st, const char *device_id, int64_t seq)
{
	static const char sql[] =
		"UPDATE device SET last_ack_seq = max(last_ack_seq, ?2), last_seen = ?3 WHERE id = ?1";
	static const char purged_sql[] =
		"UPDATE erasure_device SET purged_at = ?3 WHERE device_id = ?1 AND seq <= ?2 AND purged_at IS NULL";
	sqlite3_stmt *s = prep(st, sql);
	int rc;
	if (!s)
		return KT_EIO;
	sqlite3_bind_text(s, 1, device_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, seq);
	sqlite3_bind_int64(s, 3, kt_now_ms());
	rc = sqlite3_step(s);
	finish(st, s);
	if (rc != SQLITE_DONE)
		return sql_err(st, rc);
	/* erasure receipts: a cursor at or past an erasure's last change means
	 * the device has applied its deletes (the partial index holds only the
	 * open receipts, so this costs nothing when there are none) */
	if (!(s = prep(st, purged_sql)))
		return KT_EIO;
	sqlite3_bind_text(s, 1, device_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, seq);
	sqlite3_bind_int64(s, 3, kt_now_ms());
	rc = sqlite3_step(s);
	finish(st, s);
	return rc == SQLITE_DONE ? KT_OK : sql_err(st, rc);
}

int store_credentials_find(kt_store *st, const char *email, bool *is_client, char id[KT_UUID_LEN + 1],
			   char **hash)
{
	static const char sql[] =
		"SELECT 0, id, password_hash FROM staff WHERE email = ?1 AND active = 1 AND password_hash IS NOT NULL "
		"UNION ALL SELECT 1, id, password_hash FROM client WHERE email_hash = ?2 AND portal_enabled = 1 "
		"AND password_hash IS NOT NULL "
		/* an account suspended by an e-mail change is still found by the
		 * address it signed in with, so that its owner learns why */
		"UNION ALL SELECT 1, c.id, c.password_hash FROM email_change e JOIN client c ON c.id = e.client_id "
		"WHERE e.old_email_hash = ?2 AND e.suspended = 1 AND c.password_hash IS NOT NULL LIMIT 1";
	sqlite3_stmt *s = prep(st, sql);
	char eh[65] = "";
	int rc;
	*hash = NULL;
	if (!s)
		return KT_EIO;
	if (keyring_email_hash(st->kr, email, eh))
		eh[0] = 0; /* no keyring (read-only): staff only */
	sqlite3_bind_text(s, 1, email, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, eh, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*is_client = sqlite3_column_int(s, 0) != 0;
		snprintf(id, KT_UUID_LEN + 1, "%s", (const char *)sqlite3_column_text(s, 1));
		*hash = strdup((const char *)sqlite3_column_text(s, 2));
		rc = *hash ? KT_OK : KT_ENOMEM;
	} else
		rc = rc == SQLITE_DONE ? KT_ENOT_FOUND : sql_err(st, rc);
	finish(st, s);
	return rc;
}

/* ---- privacy: export and erasure (erasure.c, export.c) ---- */

int store_client_rows(kt_store *st, const char *tbl, const char *client_col, const char *client_id,
		      kt_id_cb cb, void *user)
{
	const kt_table *t = kt_table_find(tbl, strlen(tbl));
	char sql[160];
	sqlite3_stmt *s;
	int rc;

	if (!t || kt_col_index(t, client_col) < 0)
		return KT_ENOT_FOUND; /* a table this build does not have: nothing of the client in it */
	/* table and column names come from the model, never from input */
	snprintf(sql, sizeof sql, "SELECT id FROM %s WHERE %s = ? ORDER BY id", t->name, client_col);
	if (!(s = prep(st, sql)))
		return KT_EIO;
	sqlite3_bind_text(s, 1, client_id, -1, SQLITE_STATIC);
	/* collect first: the callback may write (delete) rows of this table */
	char (*ids)[KT_UUID_LEN + 1] = NULL;
	size_t n = 0, cap = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			void *p = realloc(ids, nc * sizeof *ids);
			if (!p) {
				rc = SQLITE_NOMEM;
				break;
			}
			ids = p;
			cap = nc;
		}
		snprintf(ids[n++], KT_UUID_LEN + 1, "%s", (const char *)sqlite3_column_text(s, 0));
	}
	finish(st, s);
	rc = rc == SQLITE_DONE ? KT_OK : rc == SQLITE_NOMEM ? KT_ENOMEM : sql_err(st, rc);
	for (size_t i = 0; !rc && i < n; i++)
		rc = cb(user, ids[i]);
	free(ids);
	return rc;
}

int store_private_delete(kt_store *st, const char *tbl, const char *col, const char *id, int *n)
{
	static const char exists[] = "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2";
	sqlite3_stmt *s = prep(st, exists);
	char sql[160];
	bool found;
	int rc;

	*n = 0;
	if (!s)
		return KT_EIO;
	sqlite3_bind_text(s, 1, tbl, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, col, -1, SQLITE_STATIC);
	found = sqlite3_step(s) == SQLITE_ROW;
	finish(st, s);
	if (!found)
		return KT_OK; /* this build has no such table: nothing to delete */
	/* the names passed the check above against the schema itself */
	snprintf(sql, sizeof sql, "DELETE FROM \"%s\" WHERE \"%s\" = ?", tbl, col);
	if (!(s = prep(st, sql)))
		return KT_EIO;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	finish(st, s);
	if (rc != SQLITE_DONE)
		return sql_err(st, rc);
	*n = sqlite3_changes(st->db);
	return KT_OK;
}

/* ---- portal accounts (issue 5) ---- */

int store_email_hash(kt_store *st, const char *email, char out[65])
{
	out[0] = 0;
	return keyring_email_hash(st->kr, email, out) ? KT_EIO : KT_OK;
}

int store_portal_email_owner(kt_store *st, const char *email, bool *is_staff, char id[KT_UUID_LEN + 1])
{
	/* client e-mails are sealed: they are found by their keyed hash */
	static const char sql[] = "SELECT 1, id FROM staff WHERE email = ?1 AND active = 1 "
				  "UNION ALL SELECT 0, id FROM client WHERE email_hash = ?2 AND portal_enabled = 1 LIMIT 1";
	sqlite3_stmt *s = prep(st, sql);
	char eh[65] = "";
	int rc;
	if (!s)
		return KT_EIO;
	if (keyring_email_hash(st->kr, email, eh))
		eh[0] = 0;
	sqlite3_bind_text(s, 1, email, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, eh, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*is_staff = sqlite3_column_int(s, 0) != 0;
		snprintf(id, KT_UUID_LEN + 1, "%s", (const char *)sqlite3_column_text(s, 1));
		rc = KT_OK;
	} else
		rc = rc == SQLITE_DONE ? KT_ENOT_FOUND : sql_err(st, rc);
	finish(st, s);
	return rc;
}

int store_clients_by_email(kt_store *st, const char *email, char (*ids)[KT_UUID_LEN + 1], int max, int *n)
{
	sqlite3_stmt *s = prep(st, "SELECT id FROM client WHERE email_hash = ?1 ORDER BY id LIMIT ?2");
	char eh[65];
	int rc;
	*n = 0;
	if (!s)
		return KT_EIO;
	if (keyring_email_hash(st->kr, email, eh)) {
		finish(st, s);
		return KT_EIO;
	}
	sqlite3_bind_text(s, 1, eh, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(s, 2, max);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && *n < max)
		snprintf(ids[(*n)++], KT_UUID_LEN + 1, "%s", (const char *)sqlite3_column_text(s, 0));
	finish(st, s);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? KT_OK : sql_err(st, rc);
}
