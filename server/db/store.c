/* store.c - SQLite implementation of store.h: opening, migrations and the
 * one-off sealing of older data, transactions, checkpoints, meta values and
 * the statement cache the other store_*.c files prepare through. Every row
 * change and its change-log entry are written in one transaction; nothing
 * in the store decides who may see what (policy.c does). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "db/audit.h"
#include "db/keyring.h"
#include "kt_mp.h"
#include "db/schema.h"
#include "db/sqlite_ro.h"
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
 * so the set is small and fixed). Release with st_finish(). */
sqlite3_stmt *st_prep(kt_store *st, const char *sql)
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
	} /* else: uncached; st_finish() finalizes it */
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

void st_finish(kt_store *st, sqlite3_stmt *s)
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

int st_query_row(kt_store *st, sqlite3_stmt **out, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *s = st_prep(st, sql);
	va_list ap;
	int rc;
	*out = NULL;
	if (!s)
		return KT_EIO;
	va_start(ap, fmt);
	rc = bind_args(st, s, fmt, ap);
	va_end(ap);
	if (rc)
		return rc;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*out = s;
		return KT_OK;
	}
	st_finish(st, s);
	return rc == SQLITE_DONE ? KT_ENOT_FOUND : st_sql_err(st, rc);
}

int st_run(kt_store *st, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *s = st_prep(st, sql);
	va_list ap;
	int rc;
	if (!s)
		return KT_EIO;
	va_start(ap, fmt);
	rc = bind_args(st, s, fmt, ap);
	va_end(ap);
	if (rc)
		return rc;
	rc = sqlite3_step(s);
	st_finish(st, s);
	return rc == SQLITE_DONE ? KT_OK : st_sql_err(st, rc);
}

static int exec(kt_store *st, const char *sql)
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

static int migrate(kt_store *st, const char **errmsg)
{
	sqlite3_stmt *s = prep_once(st, "PRAGMA user_version");
	int have, rc = KT_OK;
	char buf[64];

	if (!s || sqlite3_step(s) != SQLITE_ROW) {
		st_finish(st, s);
		*errmsg = "not a SQLite database (or unreadable)";
		return KT_EIO;
	}
	have = sqlite3_column_int(s, 0);
	st_finish(st, s);
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
				rc = st_bind_value(st, u, 1, t, ci, v, id, owner);
				if (!rc && email)
					rc = st_bind_email_hash(st, u, 2, v);
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
	sqlite3_stmt *s = prep_once(st, "PRAGMA user_version");
	int v = -1;
	if (s && sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	st_finish(st, s);
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
