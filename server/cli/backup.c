/* backup.c - see backup.h. Both directions use SQLite's online backup API:
 * it copies pages under one read transaction, so the copy is a consistent
 * snapshot while writers go on (WAL). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sqlite3.h>
#include "cli/backup.h"
#include "domain/erasure.h"
#include "db/keyring.h"
#include "db/sqlite_ro.h"
#include "db/store.h"

static int copy_db(sqlite3 *src, sqlite3 *dst, const char *what)
{
	sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
	int rc;
	if (!b) {
		fprintf(stderr, "kartoteka-server: %s: %s\n", what, sqlite3_errmsg(dst));
		return 1;
	}
	do
		rc = sqlite3_backup_step(b, 1024);
	while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE) {
		fprintf(stderr, "kartoteka-server: %s: %s\n", what, sqlite3_errstr(rc));
		return 1;
	}
	return 0;
}

static bool quick_check(sqlite3 *db)
{
	sqlite3_stmt *s;
	bool ok = false;
	if (sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		ok = !strcmp((const char *)sqlite3_column_text(s, 0), "ok");
	sqlite3_finalize(s);
	return ok;
}

/* Online copy of file src to the new file dst. */
static int backup_file(const char *src_path, const char *dst_path)
{
	sqlite3 *src = NULL, *dst = NULL;
	struct stat sb;
	int rc = 1;
	if (stat(dst_path, &sb) == 0) {
		fprintf(stderr, "kartoteka-server backup: %s exists; choose a new file\n", dst_path);
		return 1;
	}
	if (sqlite3_open_v2(src_path, &src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		fprintf(stderr, "kartoteka-server backup: %s: %s\n", src_path, sqlite3_errmsg(src));
		goto out;
	}
	sqlite3_busy_timeout(src, 5000);
	if (sqlite3_open_v2(dst_path, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
		fprintf(stderr, "kartoteka-server backup: %s: %s\n", dst_path, sqlite3_errmsg(dst));
		goto out;
	}
	if (copy_db(src, dst, dst_path))
		goto out;
	/* a copy in rollback-journal mode can be read without anything being
	 * created next to it (a WAL-mode file wants a -wal and a -shm) */
	if (sqlite3_exec(dst, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "kartoteka-server backup: %s: %s\n", dst_path, sqlite3_errmsg(dst));
		goto out;
	}
	if (!quick_check(dst)) {
		fprintf(stderr, "kartoteka-server backup: %s fails its integrity check\n", dst_path);
		goto out;
	}
	rc = 0;
out:
	sqlite3_close(src);
	sqlite3_close(dst);
	if (rc)
		remove(dst_path);
	return rc;
}

int backup_main(const char *db, const char *to, const char *keys_to)
{
	char keys[4096 + 8];
	if (!db || !to) {
		fprintf(stderr, "usage: kartoteka-server backup --db FILE --to FILE [--keys-to FILE]\n");
		return 2;
	}
	if (backup_file(db, to))
		return 1;
	printf("backup written: %s (the database; client keys are not in it)\n", to);
	if (keys_to) {
		snprintf(keys, sizeof keys, "%s.keys", db);
		if (backup_file(keys, keys_to))
			return 1;
		printf("keyring copied: %s (keep it apart from the backups; a key destroyed since is "
		       "still in this copy)\n",
		       keys_to);
	}
	return 0;
}

/* A client of the restored database to erase again: listed in the erasure
 * ledger, or (with the live keyring) without a key, which only an erasure
 * removes. With a keyring copy from elsewhere a missing key proves nothing
 * (a copy older than the database): such clients are named, not erased. */
struct again {
	char id[KT_UUID_LEN + 1];
};

static int collect(kt_store *st, bool keys_restored, struct again **out, int *n)
{
	kt_keyring *kr = store_keyring(st);
	sqlite3_stmt *s;
	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(store_db(st), "SELECT id FROM client WHERE typeof(name) = 'blob' ORDER BY id", -1, &s,
			       NULL) != SQLITE_OK)
		return -1;
	while (sqlite3_step(s) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(s, 0);
		void *more;
		if (!keyring_erased(kr, id)) {
			if (keyring_has(kr, id))
				continue;
			if (keys_restored) {
				printf("client %s has no key in the restored keyring (older than the database?): its "
				       "personal data cannot be read; not erased\n",
				       id);
				continue;
			}
		}
		if (!(more = realloc(*out, (size_t)(*n + 1) * sizeof **out)))
			break;
		*out = more;
		snprintf((*out)[(*n)++].id, KT_UUID_LEN + 1, "%s", id);
	}
	sqlite3_finalize(s);
	return 0;
}

/* Apply the erasures made since the backup again: every key the ledger
 * lists goes from the (restored) keyring, and every erased client that the
 * backup still holds is erased again. Their rows in the backup cannot be
 * read (that is the point of destroying the key) and are deleted. */
static int erase_again(const char *db, bool keys_restored)
{
	kt_store *st = NULL;
	const char *msg = NULL;
	struct again *ids = NULL;
	int n = 0, rc = 0, keys = 0;
	if (store_open(db, 0, &st, &msg)) {
		fprintf(stderr, "kartoteka-server restore: %s: %s\n", db, msg);
		return -1;
	}
	if (keyring_apply_ledger(store_keyring(st), &keys)) {
		fprintf(stderr, "kartoteka-server restore: cannot destroy the keys of erased clients in the keyring\n");
		store_close(st);
		return -1;
	}
	if (keys)
		printf("%d key(s) of clients erased since the keyring copy was made: destroyed again\n", keys);
	if (collect(st, keys_restored, &ids, &n)) {
		store_close(st);
		return -1;
	}
	store_set_actor(st, "operator", NULL, NULL, 0);
	for (int i = 0; i < n; i++) {
		kt_erasure_result r = {0};
		/* listed first: nothing of the erasure may create a new key for them */
		int erc = keyring_destroy(store_keyring(st), ids[i].id);
		if (!erc)
			erc = erasure_erase(st, ids[i].id, "operator", &r);
		if (erc)
			printf("client %s was erased after this backup: its data cannot be read, but erasing it again "
			       "failed (%s)\n",
			       ids[i].id, kt_strerror(erc));
		else
			printf("client %s was erased after this backup: its rows in the backup (%d visits, %d "
			       "appointments, %d other rows) cannot be read, as intended (its key is destroyed); "
			       "erased again\n",
			       ids[i].id, r.visits, r.appointments, r.other_rows);
		rc |= erc != 0;
	}
	free(ids);
	store_close(st);
	return rc ? -1 : n;
}

/* Copy the backup `from` over the database `to`, which nobody may have
 * open (a running server): an exclusive lock is refused while any other
 * connection has it, and is then held until we close. */
static int restore_file(const char *to, const char *from, const char *what)
{
	sqlite3 *src = NULL, *dst = NULL;
	int rc = 1;
	if (sqlite_open_ro(from, 0, &src) != SQLITE_OK || !quick_check(src)) {
		fprintf(stderr, "kartoteka-server restore: %s is not a readable %s\n", from, what);
		goto out;
	}
	if (sqlite3_open_v2(to, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
		fprintf(stderr, "kartoteka-server restore: %s: %s\n", to, sqlite3_errmsg(dst));
		goto out;
	}
	if (sqlite3_exec(dst, "PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE; COMMIT", NULL, NULL, NULL) !=
	    SQLITE_OK) {
		fprintf(stderr, "kartoteka-server restore: %s is in use; stop the server first\n", to);
		goto out;
	}
	if (copy_db(src, dst, to))
		goto out;
	rc = 0;
out:
	sqlite3_close(src);
	sqlite3_close(dst);
	return rc;
}

int restore_main(const char *db, const char *from, const char *keys_from)
{
	char keys[4096 + 8];
	const char *msg = NULL;
	int erased;
	if (!db || !from) {
		fprintf(stderr, "usage: kartoteka-server restore --db FILE --from BACKUP [--keys-from KEYS]\n");
		return 2;
	}
	/* checked before anything is replaced: a keyring the master key does
	 * not open would leave a database nobody can start */
	if (keys_from && keyring_check_copy(db, keys_from, &msg)) {
		fprintf(stderr, "kartoteka-server restore: %s: %s; nothing restored\n", keys_from, msg);
		return 1;
	}
	if (restore_file(db, from, "database backup"))
		return 1;
	printf("restored %s from %s\n", db, from);
	if (keys_from) {
		keyring_keys_path(db, keys, sizeof keys);
		if (restore_file(keys, keys_from, "keyring copy"))
			return 1;
		printf("restored the keyring %s from %s\n", keys, keys_from);
	}
	if ((erased = erase_again(db, keys_from != NULL)) < 0)
		return 1;
	if (erased)
		printf("%d client(s) erased since the backup: erased again\n", erased);
	return 0;
}
