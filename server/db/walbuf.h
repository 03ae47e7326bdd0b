/* walbuf.h - a SQLite VFS that gathers a connection's WAL appends in memory
 * and writes them in pieces of up to 128 KB, at the latest at the sync
 * (server/db/walbuf.c says why that is safe). Only for a connection that runs
 * PRAGMA synchronous=FULL: never the default VFS; open with WALBUF_VFS_NAME. */
#ifndef KT_WALBUF_H
#define KT_WALBUF_H

#include <stdbool.h>
#include <stdint.h>
#include <sqlite3.h>
#include "kt_err.h"

#define WALBUF_VFS_NAME "kt-walbuf"

/* Register WALBUF_VFS_NAME over the VFS that is the default at the first
 * call (kt-fault when KT_FAULT set it up before: faults still fire
 * underneath). Later calls only return the first call's result, so call it
 * first after faultvfs_install_from_env. 0 or KT_EINTERNAL. Thread-safe. */
int walbuf_register(void) KT_MUST_CHECK;

/* Pipelined commit syncs, for the push writer (writer.c): its next
 * transaction runs while the last one's frames reach the disk.
 *
 * Between walbuf_arm(db, true) and walbuf_arm(db, false), around a COMMIT,
 * the commit's sync of the WAL only writes the frames: SQLite then
 * publishes them, so other connections of this machine read them before
 * they are durable. walbuf_owed() gives the end of the bytes not yet
 * synced (0: none). The caller syncs them with its own walbuf_syncer
 * (another thread may do that while db goes on), and before it tells
 * anyone they are saved. Then, on db's thread and before db's next commit:
 * walbuf_synced(db, end) when that sync succeeded, walbuf_resync(db) when
 * it failed. The shim keeps every byte written since the last completed
 * sync, and walbuf_resync writes them all again before it syncs for real:
 * after a failed fsync the kernel may have dropped the pages, and a later
 * fsync that succeeds says nothing about them. A resync that fails too
 * leaves the bytes kept: call it again before the next commit.
 *
 * Call these on db's thread only. They do nothing for a connection not
 * opened on WALBUF_VFS_NAME or whose WAL is not open. */
void walbuf_arm(sqlite3 *db, bool on);
int64_t walbuf_owed(sqlite3 *db);
void walbuf_synced(sqlite3 *db, int64_t end);
int walbuf_resync(sqlite3 *db); /* SQLite code */

/* The WAL of db opened a second time, on the VFS under the shim, for
 * walbuf_syncer_sync (an fsync; SQLite code) on another thread. Open it on
 * db's thread after db's WAL exists. */
typedef struct walbuf_syncer walbuf_syncer;
int walbuf_syncer_open(sqlite3 *db, walbuf_syncer **out);
int walbuf_syncer_sync(walbuf_syncer *sy);
void walbuf_syncer_close(walbuf_syncer *sy);

/* Process-wide counters of WAL files opened through the shim. */
typedef struct walbuf_stats {
	uint64_t writes;       /* xWrite calls SQLite made */
	uint64_t pwrites;      /* xWrite calls we made on the file underneath */
	uint64_t read_flushes; /* flushes because the same file read itself back */
	uint64_t deferred;     /* commit syncs left to a walbuf_syncer */
} walbuf_stats;
void walbuf_stats_get(walbuf_stats *out);

#endif
