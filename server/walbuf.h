/* walbuf.h - a SQLite VFS that gathers a connection's WAL appends in memory
 * and writes them in pieces of up to 128 KB, at the latest at the sync
 * (server/walbuf.c says why that is safe). Only for a connection that runs
 * PRAGMA synchronous=FULL: never the default VFS; open with WALBUF_VFS_NAME. */
#ifndef KT_WALBUF_H
#define KT_WALBUF_H

#include <stdint.h>
#include "kt_err.h"

#define WALBUF_VFS_NAME "kt-walbuf"

/* Register WALBUF_VFS_NAME over the VFS that is the default at the first
 * call (kt-fault when KT_FAULT set it up before: faults still fire
 * underneath). Later calls only return the first call's result, so call it
 * first after faultvfs_install_from_env. 0 or KT_EINTERNAL. Thread-safe. */
int walbuf_register(void) KT_MUST_CHECK;

/* Process-wide counters of WAL files opened through the shim. */
typedef struct walbuf_stats {
	uint64_t writes;       /* xWrite calls SQLite made */
	uint64_t pwrites;      /* xWrite calls we made on the file underneath */
	uint64_t read_flushes; /* flushes because the same file read itself back */
} walbuf_stats;
void walbuf_stats_get(walbuf_stats *out);

#endif
