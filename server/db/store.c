/* store.c - SQLite implementation of store.h: opening, migrations and the
 * one-off sealing of older data (the statements, transactions and meta
 * values everything here uses are store_sql.c). Every row change and its
 * change-log entry are written in one transaction; nothing in the store
 * decides who may see what (domain/policy.c does). */
#include <errno.h>
#include <fcntl.h>
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

/* fsync the directory that holds path: the rename into it is on disk
 * before the migration's first commit */
static int sync_dir_of(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	int fd, rc;
	if (!slash)
		snprintf(dir, sizeof dir, ".");
	else
		snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* Copy the open database (or the file at src_path when src is NULL) to
 * dst_path with SQLite's online backup API, as one rollback-journal file
 * (no -wal or -shm next to it). Written to dst_path + ".tmp" (SQLite
 * syncs its commit), then renamed and the directory synced: a crash leaves
 * no half copy under the final name. */
static int copy_db_file(sqlite3 *src, const char *src_path, const char *dst_path)
{
	char tmp[4096 + 32];
	sqlite3 *own = NULL, *dst = NULL;
	sqlite3_backup *b;
	int fd, rc = SQLITE_ERROR;
	snprintf(tmp, sizeof tmp, "%s.tmp", dst_path);
	unlink(tmp);
	/* personal data (and keys): the owner's alone, whatever the umask */
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		kt_err_log("backup before migrating: %s: %s", tmp, strerror(errno));
		return KT_EIO; /* not ours to remove */
	}
	close(fd);
	if (!src) {
		if (sqlite_open_ro(src_path, 0, &own) != SQLITE_OK)
			goto out;
		sqlite3_busy_timeout(own, 5000);
		src = own;
	}
	if (sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
		goto out;
	if (!(b = sqlite3_backup_init(dst, "main", src, "main")))
		goto out;
	do
		rc = sqlite3_backup_step(b, 1024);
	while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE)
		goto out;
	rc = sqlite3_exec(dst, "PRAGMA journal_mode=DELETE; PRAGMA synchronous=FULL", NULL, NULL, NULL);
out:
	if (rc != SQLITE_OK && rc != SQLITE_DONE)
		kt_err_log("backup before migrating: %s: %s", dst ? tmp : src_path,
			   dst ? sqlite3_errmsg(dst) : sqlite3_errstr(rc));
	sqlite3_close(own);
	if (sqlite3_close(dst) != SQLITE_OK && rc == SQLITE_OK)
		rc = SQLITE_ERROR;
	if (rc == SQLITE_OK && (rename(tmp, dst_path) != 0 || sync_dir_of(dst_path) != 0)) {
		kt_err_log("backup before migrating: %s: %s", dst_path, strerror(errno));
		rc = SQLITE_ERROR;
	}
	if (rc != SQLITE_OK)
		unlink(tmp);
	return rc == SQLITE_OK ? KT_OK : KT_EIO;
}

/* Before the first migration of an existing database (schema have > 0):
 * a copy of it as it is, DB.pre-vN.bak (N = have), and of its keyring
 * (the copy's path + .keys, where --keys finds it by default) so that a
 * failed or unwanted upgrade can be undone with restore. An earlier copy
 * of the same version is never overwritten (it may be the only one of
 * older data): the next free name DB.pre-vN-2.bak ... is taken. */
static int backup_before_migrating(kt_store *st, const char *path, int have)
{
	char bak[4096 + 64], keys[4096 + 8], bak_keys[sizeof bak + 8];
	int n;
	for (n = 1; n < 100; n++) {
		if (n == 1)
			snprintf(bak, sizeof bak, "%s.pre-v%d.bak", path, have);
		else
			snprintf(bak, sizeof bak, "%s.pre-v%d-%d.bak", path, have, n);
		if (access(bak, F_OK) != 0)
			break;
	}
	if (n == 100) {
		kt_err_log("backup before migrating: 99 copies %s.pre-v%d*.bak exist; move some away", path, have);
		return KT_EIO;
	}
	if (copy_db_file(st->db, path, bak))
		return KT_EIO;
	keyring_keys_path(path, keys, sizeof keys);
	snprintf(bak_keys, sizeof bak_keys, "%s.keys", bak);
	if (access(keys, F_OK) == 0) {
		if (copy_db_file(NULL, keys, bak_keys)) {
			unlink(bak);
			return KT_EIO;
		}
		/* the keyring copy still holds the keys of clients erased from
		 * now on (like backup --keys-to): the operator removes it once
		 * the upgrade is good (restore destroys them again from the ledger) */
		kt_info("database at schema version %d, this server migrates it to %d: backup first: %s (keyring: %s); "
			"remove both once the upgrade is good",
			have, kt_migration_count, bak, bak_keys);
	} else {
		kt_info("database at schema version %d, this server migrates it to %d: backup first: %s", have,
			kt_migration_count, bak);
	}
	return KT_OK;
}

static int migrate(kt_store *st, const char *path, const char **errmsg)
{
	sqlite3_stmt *s = st_prep_once(st, "PRAGMA user_version");
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
	if (have > 0 && have < kt_migration_count && backup_before_migrating(st, path, have)) {
		*errmsg = "cannot write a backup of the database before migrating it (not migrated; see the log)";
		return KT_EIO;
	}
	for (int v = have; v < kt_migration_count; v++) {
		if ((rc = st_exec(st, "BEGIN IMMEDIATE")))
			break;
		snprintf(buf, sizeof buf, "PRAGMA user_version = %d", v + 1);
		if ((rc = st_exec(st, kt_migrations[v])) || (rc = st_exec(st, buf))) {
			st_exec(st, "ROLLBACK");
			*errmsg = "schema migration failed";
			return rc;
		}
		if ((rc = st_exec(st, "COMMIT")))
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
	if ((rc = st_exec(st, "BEGIN IMMEDIATE")))
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
				return st_exec(st, "ROLLBACK"), KT_EIO;
			if (sqlite3_prepare_v2(st->db, upd, -1, &u, NULL) != SQLITE_OK) {
				sqlite3_finalize(q);
				return st_exec(st, "ROLLBACK"), KT_EIO;
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
	if (rc || (rc = st_exec(st, "COMMIT"))) {
		st_exec(st, "ROLLBACK");
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
	if ((rc = st_exec(st, "PRAGMA secure_delete=ON")) || (rc = st_exec(st, "BEGIN IMMEDIATE")))
		return rc;
	done = 1;
	if ((rc = audit_seal_legacy(st)) || (rc = purge_plain_answers(st, &answers)) ||
	    (rc = store_meta_set(st, "sealed_v2", &done, 1)) || (rc = st_exec(st, "COMMIT"))) {
		st_exec(st, "ROLLBACK");
		st_exec(st, "PRAGMA secure_delete=OFF");
		return rc;
	}
	if (answers)
		kt_info("push answers written before encryption at rest: %d no longer keep a row's values", answers);
	return st_exec(st, "PRAGMA secure_delete=OFF");
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
		if ((rc = st_exec(st, "PRAGMA journal_mode=WAL"))) {
			*errmsg = "not a SQLite database (or unreadable)";
			goto fail;
		}
		if ((rc = st_exec(st, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON")))
			goto fail;
		/* the working set of a salon chain fits in memory: read it once */
		if ((rc = st_exec(st, "PRAGMA cache_size=-32768; PRAGMA mmap_size=268435456")))
			goto fail;
		/* when the WAL starts again from its beginning, a file grown past
		 * 72 MiB (a reader held an old snapshot through a stream) is cut
		 * back to that. Not lower: the push writer restarts the WAL at
		 * about 60-70 MiB during a stream (writer.c), and cutting the file
		 * each time made one commit slow */
		if ((rc = st_exec(st, "PRAGMA journal_size_limit=75497472")))
			goto fail;
		if ((rc = migrate(st, path, errmsg)))
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
