/* walbuf.c - a SQLite VFS over the default one that keeps a WAL file's
 * contiguous writes in memory and hands them to the file underneath in
 * few large writes: SQLite writes each frame as two calls (24-byte header,
 * then the page), and the push writer's commit of ~100 frames paid ~200
 * pwrites, each walking the page cache and waking inotify. It must never
 * hold back a byte that another connection may read, nor drop one it
 * accepted. It also lets the push writer sync a commit on another thread
 * (walbuf.h, "pipelined commit syncs").
 *
 * Why no other connection can read a frame still in the buffer: with
 * PRAGMA synchronous=FULL, sqlite3WalFrames() in SQLite 3.40's src/wal.c
 * (walFrames() since 3.44) writes the transaction's frames, then calls
 * sqlite3OsSync on the WAL (when isCommit && WAL_SYNC_FLAGS(sync_flags),
 * which FULL sets), and only after that adds the frames to the wal-index
 * (walIndexAppend) and publishes the new mxFrame (walIndexWriteHdr).
 * Readers and checkpointers see only frames up to a published mxFrame, and
 * xSync writes the buffer out before it syncs (or, armed, instead of
 * syncing). Frames written before the commit (a cache spill) are read back
 * only by the writing connection, through this same file object, and every
 * read writes the buffer out first. The WAL header written at a restart is
 * synced on its own (syncHeader), always for real: SQLite needs it on disk
 * before frames of the new WAL. Under synchronous=NORMAL there is no sync
 * at commit and readers would see published frames that are not in the
 * file: so the shim is registered under its own name, never as the
 * default, and only the push writer's connection (synchronous=FULL,
 * store.c) opens it.
 *
 * An armed commit (walbuf_arm) publishes frames that are written but not
 * synced. Other connections read them from the OS page cache, which is
 * all a process crash needs; a power loss may take them, so the writer
 * answers nobody and the loop streams nothing of that commit until the
 * sync thread's fsync has covered it (writer.c, store_log_hold). The
 * checkpointer syncs the WAL itself before it copies frames into the
 * database, so the database file never holds what the WAL might lose.
 *
 * The buffer keeps every byte written since the last completed sync:
 * after a failed fsync the kernel may have dropped those pages, and
 * walbuf_resync writes them all again. What writes the buffer out: xSync,
 * xRead, xFileSize, xFileControl, xFetch. What syncs it for real first,
 * so that nothing kept is dropped unsynced: a write that is not contiguous
 * with it (unless it falls wholly inside it: SQLite overwrites a frame of
 * the open transaction in place, and that part is written again), one past
 * KEEP_MAX, xTruncate, xClose. A failed write returns the underlying
 * error from whatever call caused it and keeps the bytes: the next call
 * tries again, so nothing SQLite was told is written is silently lost (a
 * close after a failed flush loses only frames of a transaction whose
 * commit already failed). Files other than the WAL pass straight through. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include "kt_util.h"
#include "db/vfs_shim.h"
#include "db/walbuf.h"

/* The unix VFS writes at most 0x1ffff bytes per call (seekAndWriteFd in
 * os_unix.c masks the length with 0x1ffff; more comes back as a short
 * write, SQLITE_FULL): so 31 frames of 4,120 bytes per pwrite, and a group
 * commit of ~100 frames costs ~4 pwrites instead of ~200. */
#define BUF_CAP 0x1ffff
/* The buffer keeps every byte since the last completed sync (walbuf_resync
 * may have to write them again); past this much it syncs for real and
 * starts over (a transaction this big is rare and long anyway). */
#define KEEP_MAX (64 << 20)

typedef struct wb_file {
	kt_shim_file shim;    /* the file underneath follows this struct */
	bool wal;             /* SQLITE_OPEN_WAL: buffered; else pass-through */
	unsigned char *buf;   /* cap bytes, allocated at the first write; owned */
	int cap;
	sqlite3_int64 off;    /* the file offset buf[0] goes to */
	int len;              /* bytes in buf */
	int out;              /* of them, the first out are written to the file underneath */
	/* pipelined commit syncs (walbuf.h) */
	bool armed;           /* walbuf_arm: a commit is running; its sync may be deferred */
	bool hdr;             /* the WAL header (offset 0) was written since the last sync */
	sqlite3_int64 owed;   /* end of the bytes a deferred sync left unsynced; 0: none */
} wb_file;

static sqlite3_vfs wb_vfs;
static atomic_ullong n_writes, n_pwrites, n_read_flushes, n_deferred;

/* Write out what is not yet written, in pieces the file underneath takes
 * whole. On failure the rest stays, to be written by a later call (or its
 * error returned again). The bytes stay in buf until a sync completes. */
static int flush(wb_file *f)
{
	while (f->out < f->len) {
		int n = f->len - f->out < BUF_CAP ? f->len - f->out : BUF_CAP;
		atomic_fetch_add_explicit(&n_pwrites, 1, memory_order_relaxed);
		int rc = f->shim.real->pMethods->xWrite(f->shim.real, f->buf + f->out, n, f->off + f->out);
		if (rc != SQLITE_OK)
			return rc;
		f->out += n;
	}
	return SQLITE_OK;
}

static void forget(wb_file *f)
{
	f->len = f->out = 0;
	f->owed = 0;
	f->hdr = false;
}

/* Write out and sync for real: everything up to here is durable, nothing
 * needs keeping. */
static int settle(wb_file *f, int flags)
{
	int rc = flush(f);
	if (rc == SQLITE_OK)
		rc = kt_shim_sync(&f->shim.base, flags);
	if (rc == SQLITE_OK)
		forget(f);
	return rc;
}

static int flush_if_wal(sqlite3_file *p)
{
	wb_file *f = (wb_file *)p;
	return f->wal ? flush(f) : SQLITE_OK;
}

/* Room for `need` bytes in buf. */
static bool room(wb_file *f, int need)
{
	if (need <= f->cap)
		return true;
	if (need > KEEP_MAX)
		return false;
	int cap = f->cap ? f->cap : BUF_CAP;
	while (cap < need)
		cap *= 2;
	unsigned char *b = realloc(f->buf, (size_t)cap);
	if (!b)
		return false;
	f->buf = b;
	f->cap = cap;
	return true;
}

static int w_write(sqlite3_file *p, const void *b, int n, sqlite3_int64 off)
{
	wb_file *f = (wb_file *)p;
	if (!f->wal)
		return f->shim.real->pMethods->xWrite(f->shim.real, b, n, off);
	atomic_fetch_add_explicit(&n_writes, 1, memory_order_relaxed);
	if (f->len && off >= f->off && off + n <= f->off + f->len) {
		/* a frame of this transaction rewritten (write it again if it was out) */
		memcpy(f->buf + (off - f->off), b, (size_t)n);
		if (off - f->off < f->out)
			f->out = (int)(off - f->off);
		return SQLITE_OK;
	}
	if (f->len && off == f->off + f->len && room(f, f->len + n)) {
		memcpy(f->buf + f->len, b, (size_t)n);
		f->len += n;
		return SQLITE_OK;
	}
	/* not contiguous, or too big: what the buffer holds is made durable
	 * first, so that nothing is dropped that a resync may need */
	int rc = f->len ? settle(f, SQLITE_SYNC_NORMAL) : SQLITE_OK;
	if (rc != SQLITE_OK)
		return rc;
	if (off == 0)
		f->hdr = true;
	f->len = f->out = 0;
	if (!room(f, n)) { /* too big, or no memory: unbuffered */
		atomic_fetch_add_explicit(&n_pwrites, 1, memory_order_relaxed);
		rc = f->shim.real->pMethods->xWrite(f->shim.real, b, n, off);
		return rc == SQLITE_OK ? settle(f, SQLITE_SYNC_NORMAL) : rc; /* it cannot be kept */
	}
	memcpy(f->buf, b, (size_t)n);
	f->off = off;
	f->len = n;
	return SQLITE_OK;
}

static int w_read(sqlite3_file *p, void *b, int n, sqlite3_int64 off)
{
	wb_file *f = (wb_file *)p;
	if (f->wal && f->out < f->len) {
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
	/* nothing written may stay unsynced when the file goes */
	int rc = f->wal && f->len ? settle(f, SQLITE_SYNC_NORMAL) : SQLITE_OK;
	if (rc != SQLITE_OK)
		kt_warn("walbuf: %d bytes of the WAL not written or synced at close (SQLite code %d)", f->len - f->out,
			rc);
	int rc2 = f->shim.real->pMethods->xClose(f->shim.real);
	free(f->buf);
	f->buf = NULL;
	f->len = f->out = f->cap = 0;
	return rc != SQLITE_OK ? rc : rc2;
}

static int w_truncate(sqlite3_file *p, sqlite3_int64 size)
{
	wb_file *f = (wb_file *)p;
	int rc = f->wal && f->len ? settle(f, SQLITE_SYNC_NORMAL) : SQLITE_OK;
	return rc != SQLITE_OK ? rc : kt_shim_truncate(p, size);
}

/* A commit's sync while armed (walbuf_arm) only writes: the frames
 * are then published (other connections read them from the OS), and the
 * caller syncs them with a walbuf_syncer before anyone is told they are
 * saved. The WAL header written at a restart is synced at once, as SQLite
 * asks (frames of the new WAL must not reach the disk before it). */
static int w_sync(sqlite3_file *p, int flags)
{
	wb_file *f = (wb_file *)p;
	if (!f->wal)
		return kt_shim_sync(p, flags);
	if (f->armed && !f->hdr && f->len) {
		int rc = flush(f);
		if (rc == SQLITE_OK) {
			f->owed = f->off + f->len;
			atomic_fetch_add_explicit(&n_deferred, 1, memory_order_relaxed);
		}
		return rc;
	}
	return settle(f, flags);
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

/* ---- pipelined commit syncs ---- */

/* db's WAL file when it is one of ours and open, else NULL. The journal
 * pointer is answered by SQLite itself, without a call into the file. */
static wb_file *wal_of(sqlite3 *db)
{
	sqlite3_file *p = NULL;
	if (sqlite3_file_control(db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &p) != SQLITE_OK || !p ||
	    p->pMethods != &wb_methods)
		return NULL;
	wb_file *f = (wb_file *)p;
	return f->wal ? f : NULL;
}

void walbuf_arm(sqlite3 *db, bool on)
{
	wb_file *f = wal_of(db);
	if (f)
		f->armed = on;
}

int64_t walbuf_owed(sqlite3 *db)
{
	wb_file *f = wal_of(db);
	return f ? f->owed : 0;
}

void walbuf_synced(sqlite3 *db, int64_t end)
{
	wb_file *f = wal_of(db);
	if (!f || !f->owed || end <= f->off)
		return;
	if (end >= f->off + f->len) {
		forget(f);
		return;
	}
	int drop = (int)(end - f->off); /* bytes written after the sync began stay */
	memmove(f->buf, f->buf + drop, (size_t)(f->len - drop));
	f->off = end;
	f->len -= drop;
	f->out = f->out > drop ? f->out - drop : 0;
	if (f->owed <= end)
		f->owed = 0;
}

int walbuf_resync(sqlite3 *db)
{
	wb_file *f = wal_of(db);
	if (!f)
		return SQLITE_OK; /* the WAL is closed: closing it synced it */
	f->out = 0; /* a failed sync may have dropped the pages: write them all again */
	return settle(f, SQLITE_SYNC_NORMAL);
}

struct walbuf_syncer {
	sqlite3_file *f; /* the WAL, opened on the VFS under the shim */
};

int walbuf_syncer_open(sqlite3 *db, walbuf_syncer **out)
{
	sqlite3_vfs *under = wb_vfs.pAppData;
	const char *main_db = sqlite3_db_filename(db, "main");
	walbuf_syncer *sy = calloc(1, sizeof *sy);
	int rc = SQLITE_NOMEM;

	*out = NULL;
	if (!under || !main_db || !*main_db)
		rc = SQLITE_MISUSE;
	else if (sy && (sy->f = calloc(1, (size_t)under->szOsFile))) {
		int flags = 0;
		rc = under->xOpen(under, sqlite3_filename_wal(main_db), sy->f, SQLITE_OPEN_READWRITE | SQLITE_OPEN_WAL,
				  &flags);
		if (rc == SQLITE_OK) {
			*out = sy;
			return SQLITE_OK;
		}
		if (sy->f->pMethods)
			sy->f->pMethods->xClose(sy->f);
	}
	if (sy)
		free(sy->f);
	free(sy);
	return rc;
}

int walbuf_syncer_sync(walbuf_syncer *sy)
{
	return sy->f->pMethods->xSync(sy->f, SQLITE_SYNC_NORMAL);
}

void walbuf_syncer_close(walbuf_syncer *sy)
{
	if (!sy)
		return;
	sy->f->pMethods->xClose(sy->f);
	free(sy->f);
	free(sy);
}

void walbuf_stats_get(walbuf_stats *out)
{
	out->deferred = atomic_load_explicit(&n_deferred, memory_order_relaxed);
	out->writes = atomic_load_explicit(&n_writes, memory_order_relaxed);
	out->pwrites = atomic_load_explicit(&n_pwrites, memory_order_relaxed);
	out->read_flushes = atomic_load_explicit(&n_read_flushes, memory_order_relaxed);
}
