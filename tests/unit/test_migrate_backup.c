/* test_migrate_backup.c - an upgrade never migrates a database without a
 * copy of it first: DB.pre-vN.bak (and its keyring) as it was, never an
 * earlier copy overwritten, and no migration at all when the copy fails. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sqlite3.h>
#include "kt_testdb.h"
#include "db/schema.h"
#include "db/store.h"

static char path[80], bak[128];
static int have; /* the old database's schema version */

static int user_version(const char *file)
{
	sqlite3 *db;
	sqlite3_stmt *s;
	int v = -1;
	assert_int_equal(sqlite3_open_v2(file, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

static int count_marks(const char *file)
{
	sqlite3 *db;
	sqlite3_stmt *s;
	int n = -1;
	assert_int_equal(sqlite3_open_v2(file, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM upgrade_mark", -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return n;
}

static bool exists(const char *file)
{
	return access(file, F_OK) == 0;
}

static void remove_backups(void)
{
	char p[160];
	for (int n = 1; n <= 3; n++) {
		if (n == 1)
			snprintf(p, sizeof p, "%s.pre-v%d.bak", path, have);
		else
			snprintf(p, sizeof p, "%s.pre-v%d-%d.bak", path, have, n);
		kt_testdb_remove(p);
		strcat(p, ".tmp");
		rmdir(p);
		unlink(p);
	}
}

/* A database as the server before the last migration left it (in WAL
 * mode, as the server keeps it), with two rows of our own in it. */
static int setup(void **state)
{
	sqlite3 *db;
	char v[48];
	(void)state;
	have = kt_migration_count - 1;
	snprintf(path, sizeof path, "/tmp/kt-test-migbak-%d.db", (int)getpid());
	snprintf(bak, sizeof bak, "%s.pre-v%d.bak", path, have);
	kt_testdb_remove(path);
	remove_backups();
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL), SQLITE_OK);
	for (int i = 0; i < have; i++)
		assert_int_equal(sqlite3_exec(db, kt_migrations[i], NULL, NULL, NULL), SQLITE_OK);
	snprintf(v, sizeof v, "PRAGMA user_version = %d", have);
	assert_int_equal(sqlite3_exec(db, v, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE upgrade_mark(x); INSERT INTO upgrade_mark VALUES (1), (2)",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	remove_backups();
	kt_testdb_remove(path);
	return 0;
}

static void test_an_old_database_is_copied_before_it_is_migrated(void **state)
{
	kt_store *st;
	const char *msg;
	char side[160];
	(void)state;
	assert_int_equal(store_open(path, 0, &st, &msg), KT_OK);
	assert_int_equal(store_schema_version(st), kt_migration_count);
	store_close(st);
	assert_true(exists(bak));
	struct stat sb;
	assert_int_equal(stat(bak, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600); /* personal data, whatever the umask */
	assert_int_equal(user_version(bak), have);
	assert_int_equal(count_marks(bak), 2);
	/* one file to move or restore: no WAL, no temporary copy left over */
	snprintf(side, sizeof side, "%s-wal", bak);
	assert_false(exists(side));
	snprintf(side, sizeof side, "%s.tmp", bak);
	assert_false(exists(side));
	/* there was no keyring yet (one is made after the migration): none copied */
	snprintf(side, sizeof side, "%s.keys", bak);
	assert_false(exists(side));
	assert_int_equal(user_version(path), kt_migration_count);
}

/* The keyring in use goes next to the copy (BAK.keys), where restore and
 * --keys look for it. */
static void test_the_keyring_is_copied_with_it(void **state)
{
	kt_store *st;
	const char *msg;
	char keys[128], bak_keys[160];
	sqlite3 *kdb;
	(void)state;
	snprintf(keys, sizeof keys, "%s.keys", path);
	assert_int_equal(sqlite3_open(keys, &kdb), SQLITE_OK);
	assert_int_equal(sqlite3_exec(kdb, "CREATE TABLE upgrade_mark(x); INSERT INTO upgrade_mark VALUES (7)", NULL,
				      NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(kdb);
	/* not a real keyring: whether the store then takes it does not matter
	 * here, the copy is made before */
	if (store_open(path, 0, &st, &msg) == KT_OK)
		store_close(st);
	snprintf(bak_keys, sizeof bak_keys, "%s.keys", bak);
	assert_true(exists(bak));
	assert_true(exists(bak_keys));
	assert_int_equal(count_marks(bak_keys), 1);
}

/* A second upgrade from the same version (the first copy may be the only
 * one of older data) takes the next name and leaves the first alone. */
static void test_an_earlier_copy_is_never_overwritten(void **state)
{
	kt_store *st;
	const char *msg;
	char second[160];
	FILE *f = fopen(bak, "w");
	(void)state;
	assert_non_null(f);
	fputs("the operator's copy", f);
	fclose(f);
	assert_int_equal(store_open(path, 0, &st, &msg), KT_OK);
	store_close(st);
	snprintf(second, sizeof second, "%s.pre-v%d-2.bak", path, have);
	assert_true(exists(second));
	assert_int_equal(count_marks(second), 2);
	f = fopen(bak, "r");
	assert_non_null(f);
	char buf[64] = {0};
	assert_non_null(fgets(buf, sizeof buf, f));
	fclose(f);
	assert_string_equal(buf, "the operator's copy");
}

/* No copy, no migration: the database stays as it was, and says why. */
static void test_without_a_copy_nothing_is_migrated(void **state)
{
	kt_store *st;
	const char *msg = NULL;
	char tmp[160];
	(void)state;
	snprintf(tmp, sizeof tmp, "%s.tmp", bak);
	assert_int_equal(mkdir(tmp, 0700), 0); /* the copy cannot be written */
	assert_int_equal(store_open(path, 0, &st, &msg), KT_EIO);
	assert_null(st);
	assert_non_null(strstr(msg, "backup"));
	assert_false(exists(bak));
	assert_int_equal(user_version(path), have);
	assert_int_equal(count_marks(path), 2);
}

/* A database that is current, or new, is not copied. */
static void test_a_current_or_new_database_is_not_copied(void **state)
{
	kt_store *st;
	const char *msg;
	char fresh[96], fresh_bak[128];
	(void)state;
	assert_int_equal(store_open(path, 0, &st, &msg), KT_OK);
	store_close(st);
	assert_int_equal(unlink(bak), 0);
	assert_int_equal(store_open(path, 0, &st, &msg), KT_OK);
	store_close(st);
	assert_false(exists(bak));
	snprintf(fresh, sizeof fresh, "%s-new", path);
	kt_testdb_remove(fresh);
	assert_int_equal(store_open(fresh, KT_STORE_CREATE, &st, &msg), KT_OK);
	store_close(st);
	snprintf(fresh_bak, sizeof fresh_bak, "%s.pre-v0.bak", fresh);
	assert_false(exists(fresh_bak));
	kt_testdb_remove(fresh);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_an_old_database_is_copied_before_it_is_migrated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_the_keyring_is_copied_with_it, setup, teardown),
		cmocka_unit_test_setup_teardown(test_an_earlier_copy_is_never_overwritten, setup, teardown),
		cmocka_unit_test_setup_teardown(test_without_a_copy_nothing_is_migrated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_current_or_new_database_is_not_copied, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
