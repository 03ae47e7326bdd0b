/* backup.c - see backup.h. Both directions use SQLite's online backup API:
 * it copies pages under one read transaction, so the copy is a consistent
 * snapshot while writers go on (WAL). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sqlite3.h>
#include "backup.h"
#include "erasure.h"
#include "keyring.h"
#include "store.h"

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

/* The clients of the restored database whose key is gone were erased
 * after the backup was taken: erase them again, so that what is left of
 * them (ciphertext nobody can open) goes the way the first erasure took. */
static int erase_again(const char *db)
{
	kt_store *st = NULL;
	const char *msg = NULL;
	sqlite3_stmt *s;
	char (*ids)[KT_UUID_LEN + 1] = NULL;
	int n = 0, rc = 0;
	if (store_open(db, 0, &st, &msg)) {
		fprintf(stderr, "kartoteka-server restore: %s: %s\n", db, msg);
		return -1;
	}
	if (sqlite3_prepare_v2(store_db(st), "SELECT id FROM client WHERE typeof(name) = 'blob' ORDER BY id", -1, &s,
			       NULL) == SQLITE_OK) {
		while (sqlite3_step(s) == SQLITE_ROW) {
			const char *id = (const char *)sqlite3_column_text(s, 0);
			void *more;
			if (keyring_has(store_keyring(st), id) || !(more = realloc(ids, (size_t)(n + 1) * sizeof *ids)))
				continue;
			ids = more;
			snprintf(ids[n++], KT_UUID_LEN + 1, "%s", id);
		}
		sqlite3_finalize(s);
	}
	store_set_actor(st, "operator", NULL, NULL, 0);
	for (int i = 0; i < n; i++) {
		int erc = erasure_erase(st, ids[i], "operator", NULL);
		printf("client %s was erased after this backup: %s\n", ids[i],
		       erc ? "its data cannot be read (erasing it again failed)" : "erased again");
		rc |= erc != 0;
	}
	free(ids);
	store_close(st);
	return rc ? -1 : n;
}

int restore_main(const char *db, const char *from)
{
	sqlite3 *src = NULL, *dst = NULL;
	int rc = 1, erased;
	if (!db || !from) {
		fprintf(stderr, "usage: kartoteka-server restore --db FILE --from BACKUP\n");
		return 2;
	}
	if (sqlite3_open_v2(from, &src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK || !quick_check(src)) {
		fprintf(stderr, "kartoteka-server restore: %s is not a readable database backup\n", from);
		goto out;
	}
	if (sqlite3_open_v2(db, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
		fprintf(stderr, "kartoteka-server restore: %s: %s\n", db, sqlite3_errmsg(dst));
		goto out;
	}
	/* an exclusive lock is refused while any other connection (a running
	 * server) has the database open; it is then held until we close */
	if (sqlite3_exec(dst, "PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE; COMMIT", NULL, NULL, NULL) !=
	    SQLITE_OK) {
		fprintf(stderr, "kartoteka-server restore: %s is in use; stop the server first\n", db);
		goto out;
	}
	if (copy_db(src, dst, db))
		goto out;
	rc = 0;
out:
	sqlite3_close(src);
	sqlite3_close(dst);
	if (rc)
		return rc;
	printf("restored %s from %s\n", db, from);
	if ((erased = erase_again(db)) < 0)
		return 1;
	if (erased)
		printf("%d client(s) erased since the backup: their keys are gone, their rows erased again\n", erased);
	return 0;
}
