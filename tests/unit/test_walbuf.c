/* test_walbuf.c - the WAL buffer VFS (server/db/walbuf.c) holds back nothing a
 * second connection may read: every commit is visible to a connection on
 * the default VFS right after it returns; frames of a transaction bigger
 * than the buffer, frames spilled from the cache and read back, and a
 * rollback after a spill all leave a database that reopens and passes
 * PRAGMA integrity_check; a write error underneath fails the commit.
 * Pipelined syncs: an armed commit is published unsynced and a syncer
 * syncs it; after a failed sync, a resync writes every kept byte again
 * (the test wipes them on disk first) and syncs. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>
#include "db/walbuf.h"

static char path[64];

/* ---- a VFS under the shim whose WAL writes fail while fail_wal_writes is set ---- */

static sqlite3_vfs *unix_vfs, failing_vfs;
static int fail_wal_writes; /* the SQLite code to fail with, 0: none */
static int fail_wal_syncs;  /* the same for xSync */
static int wal_syncs;       /* xSync calls on WAL files underneath */
static sqlite3_io_methods failing_methods;
static int (*unix_write)(sqlite3_file *, const void *, int, sqlite3_int64);
static int (*unix_sync)(sqlite3_file *, int);

static int failing_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 off)
{
	return fail_wal_writes ? fail_wal_writes : unix_write(f, b, n, off);
}

static int failing_sync(sqlite3_file *f, int flags)
{
	wal_syncs++;
	return fail_wal_syncs ? fail_wal_syncs : unix_sync(f, flags);
}

/* The unix file's own methods, but xWrite and xSync fail for WAL files
 * when asked (and syncs are counted). */
static int failing_open(sqlite3_vfs *v, const char *name, sqlite3_file *f, int flags, int *out)
{
	(void)v;
	int rc = unix_vfs->xOpen(unix_vfs, name, f, flags, out);
	if (rc == SQLITE_OK && f->pMethods && (flags & SQLITE_OPEN_WAL)) {
		failing_methods = *f->pMethods;
		unix_write = f->pMethods->xWrite;
		unix_sync = f->pMethods->xSync;
		failing_methods.xWrite = failing_write;
		failing_methods.xSync = failing_sync;
		f->pMethods = &failing_methods;
	}
	return rc;
}

static void install_failing_vfs(void)
{
	unix_vfs = sqlite3_vfs_find(NULL);
	assert_non_null(unix_vfs);
	failing_vfs = *unix_vfs;
	failing_vfs.zName = "test-failing";
	failing_vfs.xOpen = failing_open;
	assert_int_equal(sqlite3_vfs_register(&failing_vfs, 1), SQLITE_OK);
}
static sqlite3 *w; /* through kt-walbuf, synchronous=FULL, like the push writer */
static sqlite3 *r; /* default VFS */

static void exec_ok(sqlite3 *db, const char *sql)
{
	char *err = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
	if (rc != SQLITE_OK)
		fail_msg("%s: %s", sql, err ? err : sqlite3_errstr(rc));
}

static int64_t one_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

static void assert_integrity(sqlite3 *db)
{
	sqlite3_stmt *s;
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(s, 0), "ok");
	sqlite3_finalize(s);
}

static void remove_files(void)
{
	static const char *const ext[] = {"", "-wal", "-shm"};
	char p[80];
	for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
		snprintf(p, sizeof p, "%s%s", path, ext[i]);
		unlink(p);
	}
}

static void open_writer(void)
{
	assert_int_equal(sqlite3_open_v2(path, &w, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, WALBUF_VFS_NAME),
			 SQLITE_OK);
	exec_ok(w, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL");
	/* a checkpoint by the writer would read the WAL back and hide what we test */
	sqlite3_wal_autocheckpoint(w, 0);
}

static int setup(void **state)
{
	(void)state;
	install_failing_vfs(); /* the default the shim wraps, as kt-fault is when KT_FAULT is set */
	assert_int_equal(walbuf_register(), KT_OK);
	snprintf(path, sizeof path, "/tmp/kt-test-walbuf-%d.db", (int)getpid());
	remove_files();
	open_writer();
	exec_ok(w, "CREATE TABLE t(id INTEGER PRIMARY KEY, tag TEXT, v BLOB); CREATE INDEX t_tag ON t(tag)");
	assert_int_equal(sqlite3_open_v2(path, &r, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sqlite3_close(r);
	sqlite3_close(w);
	remove_files();
	return 0;
}

/* Close both connections and reopen: what was committed is in the files. */
static void reopen(void)
{
	assert_int_equal(sqlite3_close(r), SQLITE_OK);
	assert_int_equal(sqlite3_close(w), SQLITE_OK);
	open_writer();
	assert_int_equal(sqlite3_open_v2(path, &r, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
}

/* rows of tag: their count, and that each v is the zeroblob(size) + id we wrote */
static int64_t rows_seen(sqlite3 *db, const char *tag)
{
	char sql[160];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM t WHERE tag = '%s' AND length(v) = 3000 + id %% 500", tag);
	int64_t good = one_int(db, sql);
	snprintf(sql, sizeof sql, "SELECT count(*) FROM t WHERE tag = '%s'", tag);
	assert_int_equal(one_int(db, sql), good);
	return good;
}

static void insert(sqlite3 *db, const char *tag, int n)
{
	char sql[200];
	snprintf(sql, sizeof sql,
		 "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < %d) "
		 "INSERT INTO t(tag, v) SELECT '%s', NULL FROM k",
		 n, tag);
	exec_ok(db, sql);
	snprintf(sql, sizeof sql, "UPDATE t SET v = randomblob(3000 + id %% 500) WHERE tag = '%s' AND v IS NULL", tag);
	exec_ok(db, sql);
}

static void test_every_commit_is_visible_to_another_connection_at_once(void **state)
{
	(void)state;
	walbuf_stats before, after;
	walbuf_stats_get(&before);
	for (int i = 0; i < 40; i++) {
		exec_ok(w, "BEGIN IMMEDIATE");
		insert(w, "small", 5);
		exec_ok(w, "COMMIT");
		assert_int_equal(rows_seen(r, "small"), 5 * (i + 1));
		if (i == 19) { /* the WAL starts again at offset 0: a write not after the buffer */
			assert_int_equal(one_int(r, "PRAGMA wal_checkpoint(TRUNCATE)"), 0); /* not busy */
		}
	}
	walbuf_stats_get(&after);
	uint64_t writes = after.writes - before.writes, pwrites = after.pwrites - before.pwrites;
	print_message("40 commits: %llu WAL writes as %llu pwrites\n", (unsigned long long)writes,
		      (unsigned long long)pwrites);
	assert_true(writes >= 40 * 10);  /* each commit wrote several frames of two writes */
	assert_true(pwrites <= 40 + 2);  /* one per commit, and the header after the restart */
	assert_true(pwrites >= 40);
	reopen();
	assert_int_equal(rows_seen(r, "small"), 200);
	assert_int_equal(rows_seen(w, "small"), 200);
	assert_integrity(r);
}

static void test_a_transaction_bigger_than_the_buffer(void **state)
{
	(void)state;
	walbuf_stats before, after;
	walbuf_stats_get(&before);
	exec_ok(w, "BEGIN IMMEDIATE");
	insert(w, "big", 1000); /* about 4 MB of pages: the 128 KB buffer fills many times */
	exec_ok(w, "COMMIT");
	walbuf_stats_get(&after);
	assert_true(after.pwrites - before.pwrites >= 30);
	assert_int_equal(rows_seen(r, "big"), 1000);
	reopen();
	assert_int_equal(rows_seen(r, "big"), 1000);
	assert_integrity(r);
}

/* A cache of 20 pages spills dirty pages into the WAL mid-transaction,
 * reads them back and rewrites frames of the open transaction in place. */
static void spill_a_transaction(const char *tag, int n)
{
	exec_ok(w, "PRAGMA cache_size=20");
	int spill = 0, hi = 0;
	sqlite3_db_status(w, SQLITE_DBSTATUS_CACHE_SPILL, &spill, &hi, 1);
	walbuf_stats before, after;
	walbuf_stats_get(&before);
	exec_ok(w, "BEGIN IMMEDIATE");
	insert(w, tag, n);
	char sql[160];
	snprintf(sql, sizeof sql, "UPDATE t SET v = randomblob(3000 + id %% 500) WHERE tag = '%s'", tag);
	exec_ok(w, sql); /* the same pages again: read back from the WAL */
	assert_int_equal(rows_seen(w, tag), n);
	assert_int_equal(rows_seen(r, tag), 0); /* nothing published before the commit */
	sqlite3_db_status(w, SQLITE_DBSTATUS_CACHE_SPILL, &spill, &hi, 0);
	walbuf_stats_get(&after);
	assert_true(spill > 0);
	assert_true(after.read_flushes > before.read_flushes);
}

static void test_a_cache_spill_reads_its_frames_back(void **state)
{
	(void)state;
	spill_a_transaction("spill", 300);
	exec_ok(w, "COMMIT");
	exec_ok(w, "PRAGMA cache_size=-2000");
	assert_int_equal(rows_seen(r, "spill"), 300);
	reopen();
	assert_int_equal(rows_seen(r, "spill"), 300);
	assert_integrity(r);
}

static void test_a_rollback_after_a_spill(void **state)
{
	(void)state;
	int64_t total = one_int(r, "SELECT count(*) FROM t");
	spill_a_transaction("gone", 300);
	exec_ok(w, "ROLLBACK");
	exec_ok(w, "PRAGMA cache_size=-2000");
	assert_int_equal(rows_seen(w, "gone"), 0);
	assert_int_equal(rows_seen(r, "gone"), 0);
	/* the next transaction writes over the rolled-back frames */
	exec_ok(w, "BEGIN IMMEDIATE");
	insert(w, "after", 10);
	exec_ok(w, "COMMIT");
	assert_int_equal(rows_seen(r, "after"), 10);
	assert_int_equal(one_int(r, "SELECT count(*) FROM t"), total + 10);
	reopen();
	assert_int_equal(rows_seen(r, "gone"), 0);
	assert_int_equal(rows_seen(r, "after"), 10);
	assert_integrity(r);
	assert_integrity(w);
}

/* The commit's flush fails: COMMIT reports the write's error, the other
 * connection sees nothing of the transaction, and once the disk works
 * again the next transaction commits and the database checks out. */
static void test_a_failed_flush_fails_the_commit_and_loses_nothing_committed(void **state)
{
	(void)state;
	int64_t total = one_int(r, "SELECT count(*) FROM t");
	exec_ok(w, "BEGIN IMMEDIATE");
	insert(w, "failed", 20);
	fail_wal_writes = SQLITE_IOERR_WRITE;
	int rc = sqlite3_exec(w, "COMMIT", NULL, NULL, NULL);
	assert_int_equal(sqlite3_extended_errcode(w), SQLITE_IOERR_WRITE);
	assert_int_not_equal(rc, SQLITE_OK);
	if (!sqlite3_get_autocommit(w)) /* SQLite rolls back after an I/O error at commit */
		exec_ok(w, "ROLLBACK");
	assert_int_equal(rows_seen(r, "failed"), 0);
	/* the disk stays bad: the next transaction fails as well */
	rc = sqlite3_exec(w, "BEGIN IMMEDIATE; INSERT INTO t(tag, v) VALUES ('failed', zeroblob(3000)); COMMIT",
			  NULL, NULL, NULL);
	assert_int_not_equal(rc, SQLITE_OK);
	if (!sqlite3_get_autocommit(w))
		exec_ok(w, "ROLLBACK");
	fail_wal_writes = 0;
	exec_ok(w, "BEGIN IMMEDIATE");
	insert(w, "healed", 20);
	exec_ok(w, "COMMIT");
	assert_int_equal(rows_seen(r, "failed"), 0);
	assert_int_equal(rows_seen(r, "healed"), 20);
	assert_int_equal(one_int(r, "SELECT count(*) FROM t"), total + 20);
	reopen();
	assert_int_equal(rows_seen(r, "healed"), 20);
	assert_int_equal(one_int(r, "SELECT count(*) FROM t"), total + 20);
	assert_integrity(r);
}

/* A fresh WAL with one ordinary commit in it (so that the next commit
 * does not restart the WAL, whose header is always synced at once); the
 * WAL's size after it. */
static int64_t fresh_wal(void)
{
	assert_int_equal(one_int(r, "PRAGMA wal_checkpoint(TRUNCATE)"), 0);
	exec_ok(w, "BEGIN IMMEDIATE");
	insert(w, "warm", 1);
	exec_ok(w, "COMMIT");
	char p[80];
	snprintf(p, sizeof p, "%s-wal", path);
	FILE *f = fopen(p, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	int64_t size = ftell(f);
	fclose(f);
	assert_true(size > 0);
	return size;
}

static int64_t armed_commit(const char *tag, int n)
{
	exec_ok(w, "BEGIN IMMEDIATE");
	insert(w, tag, n);
	walbuf_arm(w, true);
	exec_ok(w, "COMMIT");
	walbuf_arm(w, false);
	return walbuf_owed(w);
}

static void test_an_armed_commit_is_published_and_synced_by_the_syncer(void **state)
{
	(void)state;
	int64_t start = fresh_wal();
	int syncs = wal_syncs;
	int64_t end = armed_commit("armed", 20);
	assert_true(end > start);
	assert_int_equal(wal_syncs, syncs);          /* not synced by the commit */
	assert_int_equal(rows_seen(r, "armed"), 20); /* but published */
	walbuf_syncer *sy;
	assert_int_equal(walbuf_syncer_open(w, &sy), SQLITE_OK);
	assert_int_equal(walbuf_syncer_sync(sy), SQLITE_OK);
	assert_int_equal(wal_syncs, syncs + 1);
	walbuf_synced(w, end);
	assert_int_equal(walbuf_owed(w), 0);
	/* an unarmed commit syncs itself, as ever */
	exec_ok(w, "BEGIN IMMEDIATE");
	insert(w, "unarmed", 5);
	exec_ok(w, "COMMIT");
	assert_int_equal(walbuf_owed(w), 0);
	assert_int_equal(wal_syncs, syncs + 2);
	walbuf_syncer_close(sy);
	reopen();
	assert_int_equal(rows_seen(r, "armed"), 20);
	assert_integrity(r);
}

/* After a failed fsync the kernel may have dropped the pages (and a later
 * fsync would succeed without them): the test wipes the commit's bytes on
 * disk, and the resync must write them all again. A resync whose sync
 * fails keeps them for the next try. */
static void test_a_failed_sync_is_redone_with_every_byte(void **state)
{
	(void)state;
	int64_t start = fresh_wal();
	int64_t end = armed_commit("redone", 20);
	assert_true(end > start);
	walbuf_syncer *sy;
	assert_int_equal(walbuf_syncer_open(w, &sy), SQLITE_OK);
	fail_wal_syncs = SQLITE_IOERR_FSYNC;
	assert_int_not_equal(walbuf_syncer_sync(sy), SQLITE_OK);
	walbuf_syncer_close(sy);
	char p[80];
	snprintf(p, sizeof p, "%s-wal", path);
	int fd = open(p, O_WRONLY);
	assert_true(fd >= 0);
	size_t n = (size_t)(end - start);
	void *zero = calloc(1, n);
	assert_int_equal(pwrite(fd, zero, n, start), (ssize_t)n);
	free(zero);
	close(fd);
	assert_int_not_equal(walbuf_resync(w), SQLITE_OK); /* the disk still fails */
	assert_int_equal(walbuf_owed(w), end);
	fail_wal_syncs = 0;
	int syncs = wal_syncs;
	assert_int_equal(walbuf_resync(w), SQLITE_OK);
	assert_int_equal(wal_syncs, syncs + 1);
	assert_int_equal(walbuf_owed(w), 0);
	assert_int_equal(rows_seen(r, "redone"), 20);
	reopen();
	assert_int_equal(rows_seen(r, "redone"), 20);
	assert_integrity(r);
}

/* The writer learns of a sync's success while its next transaction has
 * already spilled frames past that sync's end: those stay kept, at their
 * offsets, and are rewritten in place by the rest of the transaction. */
static void test_bytes_after_a_synced_end_stay_kept(void **state)
{
	(void)state;
	fresh_wal();
	int64_t end = armed_commit("before", 10);
	assert_true(end > 0);
	exec_ok(w, "PRAGMA cache_size=20");
	exec_ok(w, "BEGIN IMMEDIATE");
	insert(w, "spilled", 300);
	walbuf_synced(w, end); /* as the sync thread's success reaches the writer */
	assert_int_equal(walbuf_owed(w), 0);
	exec_ok(w, "UPDATE t SET v = randomblob(3000 + id % 500) WHERE tag = 'spilled'");
	exec_ok(w, "COMMIT");
	exec_ok(w, "PRAGMA cache_size=-2000");
	assert_int_equal(rows_seen(r, "spilled"), 300);
	assert_int_equal(rows_seen(r, "before"), 10);
	reopen();
	assert_int_equal(rows_seen(r, "spilled"), 300);
	assert_int_equal(rows_seen(r, "before"), 10);
	assert_integrity(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_commit_is_visible_to_another_connection_at_once),
		cmocka_unit_test(test_a_transaction_bigger_than_the_buffer),
		cmocka_unit_test(test_a_cache_spill_reads_its_frames_back),
		cmocka_unit_test(test_a_rollback_after_a_spill),
		cmocka_unit_test(test_a_failed_flush_fails_the_commit_and_loses_nothing_committed),
		cmocka_unit_test(test_an_armed_commit_is_published_and_synced_by_the_syncer),
		cmocka_unit_test(test_a_failed_sync_is_redone_with_every_byte),
		cmocka_unit_test(test_bytes_after_a_synced_end_stay_kept),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
