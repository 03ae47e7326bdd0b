/* store_sql.c - the base every other part of the store (and the audit log)
 * stands on: the statement cache, one-row queries, transactions, the
 * current actor, checkpoints and meta values. It calls nothing else of the
 * store, so the parts above it can call each other only downwards. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "db/keyring.h"
#include "db/store_internal.h"
#include "db/walbuf.h"

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

int st_sql_err(kt_store *st, int rc)
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

int st_exec(kt_store *st, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(st->db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		kt_warn("sqlite: %s", msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return st_sql_err(st, rc);
	}
	return KT_OK;
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

/* Where a statement pointer's search in by_stmt starts. */
static size_t stmt_slot(const sqlite3_stmt *s)
{
	uint64_t h = (uint64_t)(uintptr_t)s * 0x9e3779b97f4a7c15ull;
	return (size_t)(h >> 40) & (STMT_INDEX - 1);
}

/* Prepared statement for an SQL text, cached by its content for the life of
 * the store (row writes and snapshot pages build their SQL from the model,
 * so the set is small and fixed). Release with st_finish(). */
sqlite3_stmt *st_prep(kt_store *st, const char *sql)
{
	/* first where this text pointer was last found: most SQL is a string
	 * constant, or built in the same buffer the same way each time. Only
	 * the text decides (strcmp); the pointer spares the hash. */
	size_t m = ((uintptr_t)sql >> 3) & (STMT_MEMO - 1);
	if (st->memo[m].sql == sql) {
		int i = st->memo[m].slot;
		if (strcmp(st->cache[i].key, sql) == 0) {
			sqlite3_reset(st->cache[i].stmt);
			sqlite3_clear_bindings(st->cache[i].stmt);
			return st->cache[i].stmt;
		}
	}
	uint64_t h = sql_hash(sql);
	sqlite3_stmt *s = NULL;
	size_t k = h & (STMT_INDEX - 1);
	for (; st->index[k]; k = (k + 1) & (STMT_INDEX - 1)) {
		int i = st->index[k] - 1;
		if (st->cache[i].hash == h && strcmp(st->cache[i].key, sql) == 0) {
			st->memo[m].sql = sql;
			st->memo[m].slot = (int16_t)i;
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
		size_t p = stmt_slot(s);
		while (st->by_stmt[p])
			p = (p + 1) & (STMT_INDEX - 1);
		st->by_stmt[p] = (int16_t)st->ncache;
	} /* else: uncached; st_finish() finalizes it */
	return s;
}

/* One-off statements (pragmas at open): not cached. */
sqlite3_stmt *st_prep_once(kt_store *st, const char *sql)
{
	sqlite3_stmt *s = NULL;
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
		kt_warn("sqlite prepare: %s", sqlite3_errmsg(st->db));
		return NULL;
	}
	return s;
}

void st_finish(kt_store *st, sqlite3_stmt *s)
{
	bool cached = false;
	/* by pointer: a scan of the whole cache cost every pushed edit ~2,000 instructions */
	for (size_t p = stmt_slot(s); st->by_stmt[p] && !cached; p = (p + 1) & (STMT_INDEX - 1))
		cached = st->cache[st->by_stmt[p] - 1].stmt == s;
	if (cached)
		sqlite3_reset(s);
	else
		sqlite3_finalize(s);
}

/* Bind the arguments fmt lists (store_internal.h) to ?1, ?2, ...; a list
 * that does not cover every parameter is a mistake in the caller, refused
 * before it binds a pointer as a number. */
static int bind_args(kt_store *st, sqlite3_stmt *s, const char *fmt, va_list ap)
{
	if ((int)strlen(fmt) != sqlite3_bind_parameter_count(s)) {
		kt_warn("store: %d arguments for %d parameters of %s", (int)strlen(fmt),
			sqlite3_bind_parameter_count(s), sqlite3_sql(s));
		st_finish(st, s);
		return KT_EINVALID;
	}
	for (int i = 0; fmt[i]; i++) {
		if (fmt[i] == 't') {
			sqlite3_bind_text(s, i + 1, va_arg(ap, const char *), -1, SQLITE_STATIC);
		} else if (fmt[i] == 'i') {
			sqlite3_bind_int64(s, i + 1, va_arg(ap, int64_t));
		} else if (fmt[i] == 'b') {
			const void *b = va_arg(ap, const void *);
			sqlite3_bind_blob(s, i + 1, b, (int)va_arg(ap, size_t), SQLITE_STATIC);
		}
	}
	return KT_OK;
}

/* Prepare sql through the cache, bind fmt's arguments and step once: KT_OK
 * with the step's SQLite result in *step and the statement in *s, or an
 * error with nothing left to release. */
static int prep_step(kt_store *st, const char *sql, const char *fmt, va_list ap, sqlite3_stmt **s, int *step)
{
	int rc;
	if (!(*s = st_prep(st, sql)))
		return KT_EIO;
	if ((rc = bind_args(st, *s, fmt, ap))) {
		*s = NULL; /* bind_args released it */
		return rc;
	}
	*step = sqlite3_step(*s);
	return KT_OK;
}

int st_query_row(kt_store *st, sqlite3_stmt **out, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *s;
	va_list ap;
	int rc, step = 0;
	*out = NULL;
	va_start(ap, fmt);
	rc = prep_step(st, sql, fmt, ap, &s, &step);
	va_end(ap);
	if (rc)
		return rc;
	if (step == SQLITE_ROW) {
		*out = s;
		return KT_OK;
	}
	st_finish(st, s);
	return step == SQLITE_DONE ? KT_ENOT_FOUND : st_sql_err(st, step);
}

int st_run(kt_store *st, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *s;
	va_list ap;
	int rc, step = 0;
	va_start(ap, fmt);
	rc = prep_step(st, sql, fmt, ap, &s, &step);
	va_end(ap);
	if (rc)
		return rc;
	st_finish(st, s);
	return step == SQLITE_DONE ? KT_OK : st_sql_err(st, step);
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
	return st_prep(st, sql);
}

void store_finish(kt_store *st, sqlite3_stmt *s)
{
	if (s)
		st_finish(st, s);
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
	sqlite3_stmt *s = st_prep_once(st, "PRAGMA user_version");
	int v = -1;
	if (s && sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	st_finish(st, s);
	return v;
}

int store_begin(kt_store *st)
{
	int rc = st_exec(st, "BEGIN IMMEDIATE");
	st->in_tx = rc == KT_OK;
	st->tx_seq++;
	return rc;
}

int store_begin_read(kt_store *st)
{
	int rc = st_exec(st, "BEGIN");
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
	int rc = st_exec(st, "COMMIT");
	if (rc)
		store_rollback(st);
	st->in_tx = false;
	return rc;
}

int store_end(kt_store *st, int rc, char *err, size_t errlen)
{
	if (rc) {
		store_rollback(st);
		return rc;
	}
	rc = store_commit(st);
	return rc ? kt_fail(err, errlen, rc, "could not commit (%s)", kt_strerror(rc)) : KT_OK;
}

void store_rollback(kt_store *st)
{
	if (!sqlite3_get_autocommit(st->db))
		(void)st_exec(st, "ROLLBACK");
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
	return rc == SQLITE_OK || rc == SQLITE_BUSY ? KT_OK : st_sql_err(st, rc);
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
	return rc == SQLITE_OK ? KT_OK : st_sql_err(st, rc);
}

int store_meta_get(kt_store *st, const char *key, void *buf, size_t cap, size_t *len)
{
	static const char sql[] = "SELECT value FROM meta WHERE key = ?";
	sqlite3_stmt *s;
	int rc = st_query_row(st, &s, sql, "t", key);
	if (rc)
		return rc;
	size_t n = (size_t)sqlite3_column_bytes(s, 0);
	const void *p = sqlite3_column_blob(s, 0);
	if (n > cap) {
		st_finish(st, s);
		return KT_ETOO_LARGE;
	}
	if (n)
		memcpy(buf, p, n);
	*len = n;
	st_finish(st, s);
	return KT_OK;
}

int store_meta_set(kt_store *st, const char *key, const void *buf, size_t len)
{
	static const char sql[] = "INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)";
	return st_run(st, sql, "tb", key, buf, len);
}

/* Run fn inside a transaction unless the caller already holds one. */
int st_in_tx_begin(kt_store *st, bool *own)
{
	*own = sqlite3_get_autocommit(st->db) != 0;
	return *own ? store_begin(st) : KT_OK;
}

int st_in_tx_end(kt_store *st, bool own, int rc)
{
	if (!own)
		return rc;
	if (rc) {
		store_rollback(st);
		return rc;
	}
	return store_commit(st);
}
