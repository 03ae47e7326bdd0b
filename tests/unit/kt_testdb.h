/* kt_testdb.h - a scratch database for unit tests: a fresh file under /tmp
 * named after the test and the process, opened (created) through the store,
 * and removed with everything that belongs to it (WAL, keyring, master key). */
#ifndef KT_TESTDB_H
#define KT_TESTDB_H

#include <glob.h>
#include <stdio.h>
#include <unistd.h>
#include "db/store.h"

static inline void kt_testdb_remove(const char *path)
{
	static const char *const ext[] = {"", "-wal", "-shm", ".key", ".keys", ".keys-wal", ".keys-shm"};
	char p[256];
	for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
		snprintf(p, sizeof p, "%s%s", path, ext[i]);
		unlink(p);
	}
	/* the copies a migration makes first (store.c: DB.pre-vN.bak, its .keys) */
	char pat[sizeof p + 16];
	glob_t g = {0};
	snprintf(pat, sizeof pat, "%.255s.pre-v*", path);
	if (glob(pat, 0, NULL, &g) == 0)
		for (size_t i = 0; i < g.gl_pathc; i++)
			unlink(g.gl_pathv[i]);
	globfree(&g);
}

/* path gets /tmp/kt-test-NAME-PID.db; returns store_open's code. */
static inline int kt_testdb_open(char *path, size_t cap, const char *name, kt_store **st)
{
	const char *msg;
	snprintf(path, cap, "/tmp/kt-test-%s-%d.db", name, (int)getpid());
	kt_testdb_remove(path);
	return store_open(path, KT_STORE_CREATE, st, &msg);
}

#endif
