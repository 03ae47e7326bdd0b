/* powerloss.c - tests only: what a power cut would leave of the files. A
 * SQLite VFS over the default one that, before each write or truncate of
 * a file, appends the bytes about to be overwritten to an undo log for
 * that file, and empties the log once an fsync of the file (through any
 * handle) has succeeded. After SIGKILL, undoing the logs (newest record
 * first) gives the files as a power cut at that moment could leave them
 * at worst: nothing that was not fsynced. A test then checks that every
 * edit the server acknowledged is still there (tests/integration/
 * test_crash.py). It must never be active unless KT_POWERLOSS_DIR is set.
 *
 *   KT_POWERLOSS_DIR=DIR      undo logs go to DIR/<file name>.undo
 *   KT_POWERLOSS_SYNC_MS=N    each fsync takes N ms more (a slow disk): an
 *                             answer sent before its fsync would then be
 *                             exposed for long enough for a kill to find it
 *
 * A record: int64 offset, int64 file size before the write, int32 n, then
 * the n old bytes at offset (n is 0 past the old end), all little-endian
 * as on the machines we run on. The record reaches the OS before the write
 * it undoes, so a kill between the two leaves a record that restores what
 * is there anyway. Records and writes are made under one lock: a test
 * mode, not fast. Shared memory (-shm) is not a file write here: SQLite
 * rebuilds it from the WAL after a crash. Directory entries are not
 * modelled (SQLite syncs the directory when it creates a journal). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sqlite3.h>
#include "testing/powerloss.h"
#include "db/vfs_shim.h"
#include "kt_err.h"
#include "kt_util.h"

#define MAX_FILES 32

typedef struct undo_log {
	char path[512]; /* the data file */
	int data_fd;    /* read-only, to read what a write overwrites */
	int log_fd;     /* O_APPEND */
} undo_log;

typedef struct pl_file {
	kt_shim_file shim; /* the file underneath follows this struct */
	undo_log *log;     /* NULL: not recorded (temporary files) */
} pl_file;

static struct {
	const char *dir;
	int sync_ms;
	pthread_mutex_t mu;
	undo_log logs[MAX_FILES];
	int n;
	sqlite3_vfs *real;
} P = {.mu = PTHREAD_MUTEX_INITIALIZER};

static sqlite3_vfs pl_vfs;

/* The log of path, opened at its first use (lock held). */
static undo_log *log_for(const char *path)
{
	struct stat now, had;
	for (int i = 0; i < P.n; i++) {
		undo_log *l = &P.logs[i];
		if (strcmp(l->path, path))
			continue;
		/* a file deleted and made again (a WAL after the last close) */
		if (!stat(path, &now) && !fstat(l->data_fd, &had) && now.st_ino != had.st_ino) {
			int fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				return NULL;
			close(l->data_fd);
			l->data_fd = fd;
		}
		return l;
	}
	if (P.n == MAX_FILES || strlen(path) >= sizeof P.logs[0].path)
		return NULL;
	const char *base = strrchr(path, '/');
	char lp[1024];
	snprintf(lp, sizeof lp, "%s/%s.undo", P.dir, base ? base + 1 : path);
	undo_log *l = &P.logs[P.n];
	l->data_fd = open(path, O_RDONLY | O_CLOEXEC);
	l->log_fd = open(lp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (l->data_fd < 0 || l->log_fd < 0) {
		if (l->data_fd >= 0)
			close(l->data_fd);
		if (l->log_fd >= 0)
			close(l->log_fd);
		return NULL;
	}
	kt_strcpy_cut(l->path, sizeof l->path, path);
	P.n++;
	return l;
}

/* Append what bytes [off, off + n) hold now (lock held). */
static int record(undo_log *l, sqlite3_int64 off, sqlite3_int64 n)
{
	struct stat st;
	if (fstat(l->data_fd, &st))
		return SQLITE_IOERR;
	int64_t size = st.st_size, have = size > off ? (size - off < n ? size - off : n) : 0;
	size_t len = 20 + (size_t)have;
	unsigned char *rec = malloc(len);
	if (!rec)
		return SQLITE_NOMEM;
	int64_t o = off;
	int32_t h = (int32_t)have;
	memcpy(rec, &o, 8);
	memcpy(rec + 8, &size, 8);
	memcpy(rec + 16, &h, 4);
	int rc = SQLITE_OK;
	if (have && pread(l->data_fd, rec + 20, (size_t)have, off) != (ssize_t)have)
		rc = SQLITE_IOERR_READ;
	if (rc == SQLITE_OK && write(l->log_fd, rec, len) != (ssize_t)len)
		rc = SQLITE_IOERR_WRITE;
	free(rec);
	return rc;
}

static int p_write(sqlite3_file *p, const void *b, int n, sqlite3_int64 off)
{
	pl_file *f = (pl_file *)p;
	if (!f->log)
		return kt_shim_write(p, b, n, off);
	pthread_mutex_lock(&P.mu);
	int rc = record(f->log, off, n);
	if (rc == SQLITE_OK)
		rc = kt_shim_write(p, b, n, off);
	pthread_mutex_unlock(&P.mu);
	return rc;
}

static int p_truncate(sqlite3_file *p, sqlite3_int64 size)
{
	pl_file *f = (pl_file *)p;
	if (!f->log)
		return kt_shim_truncate(p, size);
	struct stat st;
	pthread_mutex_lock(&P.mu);
	int rc = fstat(f->log->data_fd, &st) ? SQLITE_IOERR : SQLITE_OK;
	if (rc == SQLITE_OK && st.st_size > size)
		rc = record(f->log, size, st.st_size - size);
	if (rc == SQLITE_OK)
		rc = kt_shim_truncate(p, size);
	pthread_mutex_unlock(&P.mu);
	return rc;
}

/* Once the file is synced nothing written before can be lost: the log
 * empties. The lock keeps a write from landing between the two. */
static int p_sync(sqlite3_file *p, int flags)
{
	pl_file *f = (pl_file *)p;
	if (!f->log)
		return kt_shim_sync(p, flags);
	if (P.sync_ms)
		usleep((useconds_t)P.sync_ms * 1000);
	pthread_mutex_lock(&P.mu);
	int rc = kt_shim_sync(p, flags);
	if (rc == SQLITE_OK && ftruncate(f->log->log_fd, 0))
		rc = SQLITE_IOERR_FSYNC;
	pthread_mutex_unlock(&P.mu);
	return rc;
}

static const sqlite3_io_methods pl_methods = {
	3,		    kt_shim_close,	kt_shim_read,	    p_write,	     p_truncate,
	p_sync,		    kt_shim_size,	kt_shim_lock,	    kt_shim_unlock,  kt_shim_check,
	kt_shim_fcntl,	    kt_shim_sector,	kt_shim_devchar,    kt_shim_shmmap,  kt_shim_shmlock,
	kt_shim_shmbarrier, kt_shim_shmunmap,	kt_shim_fetch,	    kt_shim_unfetch,
};

static int v_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *out_flags)
{
	pl_file *f = (pl_file *)file;
	int rc = kt_shim_open(vfs, name, &f->shim, sizeof *f, &pl_methods, flags, out_flags);
	if (rc != SQLITE_OK || !name || (flags & SQLITE_OPEN_DELETEONCLOSE))
		return rc;
	pthread_mutex_lock(&P.mu);
	f->log = log_for(name);
	pthread_mutex_unlock(&P.mu);
	if (!f->log) {
		kt_err_log("powerloss: cannot keep an undo log for %s (%s)", name, strerror(errno));
		f->shim.real->pMethods->xClose(f->shim.real);
		f->shim.base.pMethods = NULL;
		return SQLITE_CANTOPEN;
	}
	return SQLITE_OK;
}

int powerloss_install_from_env(void)
{
	P.dir = getenv("KT_POWERLOSS_DIR");
	if (!P.dir || !*P.dir)
		return KT_OK;
	const char *ms = getenv("KT_POWERLOSS_SYNC_MS");
	P.sync_ms = ms ? atoi(ms) : 0;
	if (P.sync_ms < 0 || P.sync_ms > 1000)
		P.sync_ms = 0;
	if (!(P.real = sqlite3_vfs_find(NULL)))
		return KT_EINTERNAL;
	kt_shim_vfs_init(&pl_vfs, P.real, "kt-powerloss", sizeof(pl_file), v_open);
	if (sqlite3_vfs_register(&pl_vfs, 1) != SQLITE_OK)
		return KT_EINTERNAL;
	kt_warn("********************************************************************");
	kt_warn("POWER-LOSS RECORDING IS ON (KT_POWERLOSS_DIR=%s): every write is", P.dir);
	kt_warn("logged for a test to undo. Tests only: unset it in production.");
	kt_warn("********************************************************************");
	return KT_OK;
}
