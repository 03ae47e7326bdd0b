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
#include "vfs_shim.h"
#include "walbuf.h"

/* The unix VFS writes at most 0x1ffff bytes per call (seekAndWriteFd in
 * os_unix.c masks the length with 0x1ffff; more comes back as a short
 * write, SQLITE_FULL): so 31 frames of 4,120 bytes per pwrite, and a group
 * commit of ~100 frames costs ~4 pwrites instead of ~200. */
#define BUF_CAP 0x1ffff

typedef struct wb_file {
	kt_shim_file shim;    /* the file underneath follows this struct */
	bool wal;             /* SQLITE_OPEN_WAL: buffered; else pass-through */
	unsigned char *buf;   /* BUF_CAP bytes, allocated at the first write; owned */
	sqlite3_int64 off;    /* the file offset buf[0] goes to */
	int len;              /* pending bytes in buf */
} wb_file;

static sqlite3_vfs wb_vfs;
static atomic_ullong n_writes, n_pwrites, n_read_flushes;

static int real_write(wb_file *f, const void *b, int n, sqlite3_int64 off)
{
	atomic_fetch_add_explicit(&n_pwrites, 1, memory_order_relaxed);
	return f->shim.real->pMethods->xWrite(f->shim.real, b, n, off);
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
		return f->shim.real->pMethods->xWrite(f->shim.real, b, n, off);
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
	return kt_shim_read(p, b, n, off);
}

static int w_close(sqlite3_file *p)
{
	wb_file *f = (wb_file *)p;
	int rc = flush_if_wal(p);
	if (rc != SQLITE_OK)
		kt_warn("walbuf: %d bytes of an uncommitted WAL tail not written at close (SQLite code %d)",
			f->len, rc);
	int rc2 = f->shim.real->pMethods->xClose(f->shim.real);
	free(f->buf);
	f->buf = NULL;
	f->len = 0;
	return rc != SQLITE_OK ? rc : rc2;
}

static int w_truncate(sqlite3_file *p, sqlite3_int64 size)
{
	int rc = flush_if_wal(p);
	return rc != SQLITE_OK ? rc : kt_shim_truncate(p, size);
}

static int w_sync(sqlite3_file *p, int flags)
{
	int rc = flush_if_wal(p);
	return rc != SQLITE_OK ? rc : kt_shim_sync(p, flags);
}

static int w_size(sqlite3_file *p, sqlite3_int64 *size)
{
	int rc = flush_if_wal(p);
	return rc != SQLITE_OK ? rc : kt_shim_size(p, size);
}

/* Any file control might look at or change the file (size hints, chunk
 * sizes, ...): SQLite sends few to a WAL, so all of them flush. */
static int w_fcntl(sqlite3_file *p, int op, void *arg)
{
	int rc = flush_if_wal(p);
	return rc != SQLITE_OK ? rc : kt_shim_fcntl(p, op, arg);
}

static int w_fetch(sqlite3_file *p, sqlite3_int64 off, int n, void **out)
{
	int rc = flush_if_wal(p);
	if (rc != SQLITE_OK) {
		*out = NULL;
		return rc;
	}
	return kt_shim_fetch(p, off, n, out);
}

static const sqlite3_io_methods wb_methods = {
	3,		    w_close,		w_read,		    w_write,	     w_truncate,
	w_sync,		    w_size,		kt_shim_lock,	    kt_shim_unlock,  kt_shim_check,
	w_fcntl,	    kt_shim_sector,	kt_shim_devchar,    kt_shim_shmmap,  kt_shim_shmlock,
	kt_shim_shmbarrier, kt_shim_shmunmap,	w_fetch,	    kt_shim_unfetch,
};

/* ---- the VFS: forwards everything (vfs_shim.c); xOpen wraps the file ---- */

static int v_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *out_flags)
{
	wb_file *f = (wb_file *)file;
	int rc = kt_shim_open(vfs, name, &f->shim, sizeof *f, &wb_methods, flags, out_flags);
	if (rc == SQLITE_OK)
		f->wal = (flags & SQLITE_OPEN_WAL) != 0;
	return rc;
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int register_rc = KT_EINTERNAL;

static void do_register(void)
{
	sqlite3_vfs *under = sqlite3_vfs_find(NULL);
	if (!under)
		return;
	kt_shim_vfs_init(&wb_vfs, under, WALBUF_VFS_NAME, sizeof(wb_file), v_open);
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
