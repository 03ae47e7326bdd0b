/* walbuf.c - a SQLite VFS over the default one that keeps a WAL file's
 * contiguous writes in memory and hands them to the file underneath in
 * few large writes: SQLite writes each frame as two calls (24-byte header,
 * then the page), and the push writer's commit of ~100 frames paid ~200
 * pwrites, each walking the page cache and waking inotify. It must never
 * hold back a byte that another connection may read, nor drop one it
 * accepted.
 *
 * Why no other connection can read a frame still in the buffer: with
 * PRAGMA synchronous=FULL, sqlite3WalFrames() in SQLite 3.40's src/wal.c
 * (walFrames() since 3.44) writes the transaction's frames, then calls
 * sqlite3OsSync on the WAL (when isCommit && WAL_SYNC_FLAGS(sync_flags),
 * which FULL sets), and only after that adds the frames to the wal-index
 * (walIndexAppend) and publishes the new mxFrame (walIndexWriteHdr).
 * Readers and checkpointers see only frames up to a published mxFrame, and
 * xSync flushes the buffer before it syncs. Frames written before the
 * commit (a cache spill) are read back only by the writing connection,
 * through this same file object, and every read flushes first. The WAL
 * header written at a restart is synced on its own (syncHeader) and so
 * flushed too. Under synchronous=NORMAL there is no sync at commit and
 * readers would see published frames that are not in the file: so the
 * shim is registered under its own name, never as the default, and only
 * the push writer's connection (synchronous=FULL, store.c) opens it.
 *
 * What flushes: xSync (before syncing), xRead, xTruncate, xFileSize,
 * xFileControl, xFetch, xClose, and a write that is not contiguous with
 * the buffer (unless it falls wholly inside it: SQLite overwrites a frame
 * of the open transaction in place) or would overfill it. A failed flush
 * returns the underlying write's error from whatever call caused it, and
 * keeps the buffer: the next call tries again, so nothing SQLite was told
 * is written is silently lost (a close after a failed flush loses only
 * frames of a transaction whose commit already failed). Files other than
 * the WAL pass straight through. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include "kt_util.h"
#include "walbuf.h"

/* The unix VFS writes at most 0x1ffff bytes per call (seekAndWriteFd in
 * os_unix.c masks the length with 0x1ffff; more comes back as a short
 * write, SQLITE_FULL): so 31 frames of 4,120 bytes per pwrite, and a group
 * commit of ~100 frames costs ~4 pwrites instead of ~200. */
#define BUF_CAP 0x1ffff

typedef struct wb_file {
	sqlite3_file base;
	sqlite3_file *real;   /* follows this struct in the same allocation */
	bool wal;             /* SQLITE_OPEN_WAL: buffered; else pass-through */
	unsigned char *buf;   /* BUF_CAP bytes, allocated at the first write; owned */
	sqlite3_int64 off;    /* the file offset buf[0] goes to */
	int len;              /* pending bytes in buf */
} wb_file;

static sqlite3_vfs *base_vfs;
static sqlite3_vfs wb_vfs;
static atomic_ullong n_writes, n_pwrites, n_read_flushes;

#define REAL(p) (((wb_file *)(p))->real)

static int real_write(wb_file *f, const void *b, int n, sqlite3_int64 off)
{
	atomic_fetch_add_explicit(&n_pwrites, 1, memory_order_relaxed);
	return f->real->pMethods->xWrite(f->real, b, n, off);
}

/* Write out the buffer. On failure it stays, to be written by a later call
 * (or its error returned again). */
static int flush(wb_file *f)
{
	if (!f->len)
		return SQLITE_OK;
	int rc = real_write(f, f->buf, f->len, f->off);
	if (rc == SQLITE_OK)
		f->len = 0;
	return rc;
}

static int flush_if_wal(sqlite3_file *p)
{
	wb_file *f = (wb_file *)p;
	return f->wal ? flush(f) : SQLITE_OK;
}

static int w_write(sqlite3_file *p, const void *b, int n, sqlite3_int64 off)
{
	wb_file *f = (wb_file *)p;
	if (!f->wal)
		return f->real->pMethods->xWrite(f->real, b, n, off);
	atomic_fetch_add_explicit(&n_writes, 1, memory_order_relaxed);
	if (f->len && off >= f->off && off + n <= f->off + f->len) {
		memcpy(f->buf + (off - f->off), b, (size_t)n); /* a frame of this transaction rewritten */
		return SQLITE_OK;
	}
	if (f->len && off == f->off + f->len && f->len + n <= BUF_CAP) {
		memcpy(f->buf + f->len, b, (size_t)n);
		f->len += n;
		return SQLITE_OK;
	}
	int rc = flush(f);
	if (rc != SQLITE_OK)
		return rc;
	if (n > BUF_CAP || (!f->buf && !(f->buf = malloc(BUF_CAP))))
		return real_write(f, b, n, off); /* too big, or no memory: unbuffered */
	memcpy(f->buf, b, (size_t)n);
	f->off = off;
	f->len = n;
	return SQLITE_OK;
}

static int w_read(sqlite3_file *p, void *b, int n, sqlite3_int64 off)
{
	wb_file *f = (wb_file *)p;
	if (f->wal && f->len) {
		int rc = flush(f);
		if (rc != SQLITE_OK)
			return rc;
		atomic_fetch_add_explicit(&n_read_flushes, 1, memory_order_relaxed);
	}
	return f->real->pMethods->xRead(f->real, b, n, off);
}

static int w_close(sqlite3_file *p)
{
	wb_file *f = (wb_file *)p;
	int rc = flush_if_wal(p);
	if (rc != SQLITE_OK)
		kt_warn("walbuf: %d bytes of an uncommitted WAL tail not written at close (SQLite code %d)",
			f->len, rc);
	int rc2 = f->real->pMethods->xClose(f->real);
	free(f->buf);
	f->buf = NULL;
	f->len = 0;
	return rc != SQLITE_OK ? rc : rc2;
}

static int w_truncate(sqlite3_file *p, sqlite3_int64 size)
{
	int rc = flush_if_wal(p);
	return rc != SQLITE_OK ? rc : REAL(p)->pMethods->xTruncate(REAL(p), size);
}

static int w_sync(sqlite3_file *p, int flags)
{
	int rc = flush_if_wal(p);
	return rc != SQLITE_OK ? rc : REAL(p)->pMethods->xSync(REAL(p), flags);
}

static int w_size(sqlite3_file *p, sqlite3_int64 *size)
{
	int rc = flush_if_wal(p);
	return rc != SQLITE_OK ? rc : REAL(p)->pMethods->xFileSize(REAL(p), size);
}

/* Any file control might look at or change the file (size hints, chunk
 * sizes, ...): SQLite sends few to a WAL, so all of them flush. */
static int w_fcntl(sqlite3_file *p, int op, void *arg)
{
	int rc = flush_if_wal(p);
	return rc != SQLITE_OK ? rc : REAL(p)->pMethods->xFileControl(REAL(p), op, arg);
}

static int w_fetch(sqlite3_file *p, sqlite3_int64 off, int n, void **out)
{
	int rc = flush_if_wal(p);
	if (rc != SQLITE_OK) {
		*out = NULL;
		return rc;
	}
	return REAL(p)->pMethods->xFetch(REAL(p), off, n, out);
}

/* ---- methods that neither read nor change the file's bytes ---- */

static int w_lock(sqlite3_file *p, int l) { return REAL(p)->pMethods->xLock(REAL(p), l); }
static int w_unlock(sqlite3_file *p, int l) { return REAL(p)->pMethods->xUnlock(REAL(p), l); }
static int w_check(sqlite3_file *p, int *out) { return REAL(p)->pMethods->xCheckReservedLock(REAL(p), out); }
static int w_sector(sqlite3_file *p) { return REAL(p)->pMethods->xSectorSize(REAL(p)); }
static int w_devchar(sqlite3_file *p) { return REAL(p)->pMethods->xDeviceCharacteristics(REAL(p)); }
static int w_shmmap(sqlite3_file *p, int pg, int sz, int extend, void volatile **out)
{
	return REAL(p)->pMethods->xShmMap(REAL(p), pg, sz, extend, out);
}
static int w_shmlock(sqlite3_file *p, int off, int n, int flags)
{
	return REAL(p)->pMethods->xShmLock(REAL(p), off, n, flags);
}
static void w_shmbarrier(sqlite3_file *p) { REAL(p)->pMethods->xShmBarrier(REAL(p)); }
static int w_shmunmap(sqlite3_file *p, int del) { return REAL(p)->pMethods->xShmUnmap(REAL(p), del); }
static int w_unfetch(sqlite3_file *p, sqlite3_int64 off, void *ptr)
{
	return REAL(p)->pMethods->xUnfetch(REAL(p), off, ptr);
}

static const sqlite3_io_methods wb_methods = {
	3,        w_close,  w_read,  w_write,  w_truncate,   w_sync,     w_size,
	w_lock,   w_unlock, w_check, w_fcntl,  w_sector,     w_devchar,  w_shmmap,
	w_shmlock, w_shmbarrier, w_shmunmap, w_fetch, w_unfetch,
};

/* ---- the VFS: forwards everything; xOpen wraps the file ---- */

static int v_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *out_flags)
{
	wb_file *f = (wb_file *)file;
	(void)vfs;
	memset(f, 0, sizeof *f);
	f->real = (sqlite3_file *)(f + 1);
	int rc = base_vfs->xOpen(base_vfs, name, f->real, flags, out_flags);
	if (rc != SQLITE_OK || !f->real->pMethods) {
		if (f->real->pMethods) /* a failed open that left methods set wants its xClose */
			f->real->pMethods->xClose(f->real);
		file->pMethods = NULL; /* SQLite calls no method of a file that did not open */
		return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
	}
	if (f->real->pMethods->iVersion < 3) { /* not what the unix VFS (or kt-fault) gives */
		f->real->pMethods->xClose(f->real);
		file->pMethods = NULL;
		return SQLITE_CANTOPEN;
	}
	f->wal = (flags & SQLITE_OPEN_WAL) != 0;
	file->pMethods = &wb_methods;
	return SQLITE_OK;
}

static int v_delete(sqlite3_vfs *v, const char *name, int sync)
{
	return base_vfs->xDelete(base_vfs, name, sync);
}
static int v_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
	return base_vfs->xAccess(base_vfs, name, flags, out);
}
static int v_fullpath(sqlite3_vfs *v, const char *name, int n, char *out)
{
	return base_vfs->xFullPathname(base_vfs, name, n, out);
}
static void *v_dlopen(sqlite3_vfs *v, const char *name) { return base_vfs->xDlOpen(base_vfs, name); }
static void v_dlerror(sqlite3_vfs *v, int n, char *msg) { base_vfs->xDlError(base_vfs, n, msg); }
static void (*v_dlsym(sqlite3_vfs *v, void *h, const char *sym))(void)
{
	return base_vfs->xDlSym(base_vfs, h, sym);
}
static void v_dlclose(sqlite3_vfs *v, void *h) { base_vfs->xDlClose(base_vfs, h); }
static int v_random(sqlite3_vfs *v, int n, char *out) { return base_vfs->xRandomness(base_vfs, n, out); }
static int v_sleep(sqlite3_vfs *v, int us) { return base_vfs->xSleep(base_vfs, us); }
static int v_time(sqlite3_vfs *v, double *out) { return base_vfs->xCurrentTime(base_vfs, out); }
static int v_lasterr(sqlite3_vfs *v, int n, char *out) { return base_vfs->xGetLastError(base_vfs, n, out); }
static int v_time64(sqlite3_vfs *v, sqlite3_int64 *out)
{
	if (base_vfs->iVersion >= 2 && base_vfs->xCurrentTimeInt64)
		return base_vfs->xCurrentTimeInt64(base_vfs, out);
	double d;
	int rc = base_vfs->xCurrentTime(base_vfs, &d);
	*out = (sqlite3_int64)(d * 86400000.0);
	return rc;
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int register_rc = KT_EINTERNAL;

static void do_register(void)
{
	if (!(base_vfs = sqlite3_vfs_find(NULL)))
		return;
	wb_vfs = (sqlite3_vfs){
		.iVersion = 2,
		.szOsFile = (int)sizeof(wb_file) + base_vfs->szOsFile,
		.mxPathname = base_vfs->mxPathname,
		.zName = WALBUF_VFS_NAME,
		.xOpen = v_open,
		.xDelete = v_delete,
		.xAccess = v_access,
		.xFullPathname = v_fullpath,
		.xDlOpen = v_dlopen,
		.xDlError = v_dlerror,
		.xDlSym = v_dlsym,
		.xDlClose = v_dlclose,
		.xRandomness = v_random,
		.xSleep = v_sleep,
		.xCurrentTime = v_time,
		.xGetLastError = v_lasterr,
		.xCurrentTimeInt64 = v_time64,
	};
	if (sqlite3_vfs_register(&wb_vfs, 0) == SQLITE_OK)
		register_rc = KT_OK;
}

int walbuf_register(void)
{
	pthread_once(&once, do_register);
	return register_rc;
}

void walbuf_stats_get(walbuf_stats *out)
{
	out->writes = atomic_load_explicit(&n_writes, memory_order_relaxed);
	out->pwrites = atomic_load_explicit(&n_pwrites, memory_order_relaxed);
	out->read_flushes = atomic_load_explicit(&n_read_flushes, memory_order_relaxed);
}
