/* faultvfs.c - fault injection for tests: a SQLite VFS over the default
 * one that fails the Nth write (disk full or I/O error) or fsync, so tests
 * can show the server answers with an error, acknowledges nothing it did
 * not commit, and recovers when the fault clears. It must never be active
 * unless KT_FAULT is set: without the variable nothing is registered.
 *
 *   KT_FAULT=OP:N:KIND[:SUFFIX]  OP write|sync, KIND full|io (sync: io);
 *                                SUFFIX: only files whose name ends so
 *                                (e.g. "-wal", ".keys", ".db"); N from 1
 *   KT_FAULT_ARM_FILE=PATH       count only once PATH exists (else from start)
 *   KT_FAULT_CLEAR_FILE=PATH     once PATH exists the fault stops for good
 *
 * From the Nth matching call on, every matching call fails until cleared:
 * a full disk stays full, a failing device keeps failing. */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>
#include "faultvfs.h"
#include "kt_err.h"
#include "kt_util.h"

typedef struct fault_file {
	sqlite3_file base;
	sqlite3_file *real; /* follows this struct in the same allocation */
	bool match;         /* this file's calls count */
	char name[64];      /* for the log */
} fault_file;

static struct {
	bool on_write;      /* else on sync */
	int err;            /* the SQLite code a failing call returns */
	long n;             /* fail from the Nth matching call */
	char match[64];     /* file name suffix; empty: every file */
	const char *arm_file, *clear_file;
	atomic_long calls;  /* matching calls since armed */
	atomic_bool armed, cleared, told;
	sqlite3_vfs *real;
} F;

static sqlite3_vfs fault_vfs;

static bool exists(const char *path) { return path && access(path, F_OK) == 0; }

/* Should this call fail? Counts it when armed. */
static bool fault_now(fault_file *f, bool is_write)
{
	if (!f->match || is_write != F.on_write || atomic_load(&F.cleared))
		return false;
	if (!atomic_load(&F.armed)) {
		if (F.arm_file && !exists(F.arm_file))
			return false;
		atomic_store(&F.armed, true);
	}
	if (atomic_fetch_add(&F.calls, 1) + 1 < F.n)
		return false;
	if (exists(F.clear_file)) {
		atomic_store(&F.cleared, true);
		kt_warn("faultvfs: fault cleared (%s exists); %ld matching calls seen", F.clear_file,
			atomic_load(&F.calls));
		return false;
	}
	if (!atomic_exchange(&F.told, true))
		kt_warn("faultvfs: failing %s call %ld on %s with SQLite code %d (until cleared)",
			is_write ? "write" : "sync", atomic_load(&F.calls), f->name, F.err);
	return true;
}

/* ---- file methods: forward, except when a fault fires ---- */

#define REAL(p) (((fault_file *)(p))->real)

static int f_close(sqlite3_file *p) { return REAL(p)->pMethods->xClose(REAL(p)); }
static int f_read(sqlite3_file *p, void *b, int n, sqlite3_int64 off)
{
	return REAL(p)->pMethods->xRead(REAL(p), b, n, off);
}
static int f_write(sqlite3_file *p, const void *b, int n, sqlite3_int64 off)
{
	if (fault_now((fault_file *)p, true))
		return F.err;
	return REAL(p)->pMethods->xWrite(REAL(p), b, n, off);
}
static int f_truncate(sqlite3_file *p, sqlite3_int64 size) { return REAL(p)->pMethods->xTruncate(REAL(p), size); }
static int f_sync(sqlite3_file *p, int flags)
{
	if (fault_now((fault_file *)p, false))
		return F.err;
	return REAL(p)->pMethods->xSync(REAL(p), flags);
}
static int f_size(sqlite3_file *p, sqlite3_int64 *size) { return REAL(p)->pMethods->xFileSize(REAL(p), size); }
static int f_lock(sqlite3_file *p, int l) { return REAL(p)->pMethods->xLock(REAL(p), l); }
static int f_unlock(sqlite3_file *p, int l) { return REAL(p)->pMethods->xUnlock(REAL(p), l); }
static int f_check(sqlite3_file *p, int *out) { return REAL(p)->pMethods->xCheckReservedLock(REAL(p), out); }
static int f_fcntl(sqlite3_file *p, int op, void *arg) { return REAL(p)->pMethods->xFileControl(REAL(p), op, arg); }
static int f_sector(sqlite3_file *p) { return REAL(p)->pMethods->xSectorSize(REAL(p)); }
static int f_devchar(sqlite3_file *p) { return REAL(p)->pMethods->xDeviceCharacteristics(REAL(p)); }
static int f_shmmap(sqlite3_file *p, int pg, int sz, int extend, void volatile **out)
{
	return REAL(p)->pMethods->xShmMap(REAL(p), pg, sz, extend, out);
}
static int f_shmlock(sqlite3_file *p, int off, int n, int flags)
{
	return REAL(p)->pMethods->xShmLock(REAL(p), off, n, flags);
}
static void f_shmbarrier(sqlite3_file *p) { REAL(p)->pMethods->xShmBarrier(REAL(p)); }
static int f_shmunmap(sqlite3_file *p, int del) { return REAL(p)->pMethods->xShmUnmap(REAL(p), del); }
static int f_fetch(sqlite3_file *p, sqlite3_int64 off, int n, void **out)
{
	return REAL(p)->pMethods->xFetch(REAL(p), off, n, out);
}
static int f_unfetch(sqlite3_file *p, sqlite3_int64 off, void *ptr)
{
	return REAL(p)->pMethods->xUnfetch(REAL(p), off, ptr);
}

static const sqlite3_io_methods fault_methods = {
	3,        f_close,  f_read,   f_write,    f_truncate,  f_sync,      f_size,
	f_lock,   f_unlock, f_check,  f_fcntl,    f_sector,    f_devchar,   f_shmmap,
	f_shmlock, f_shmbarrier, f_shmunmap, f_fetch, f_unfetch,
};

/* ---- the VFS: forwards everything; xOpen wraps the file ---- */

static int v_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *out_flags)
{
	fault_file *f = (fault_file *)file;
	f->real = (sqlite3_file *)(f + 1);
	int rc = F.real->xOpen(F.real, name, f->real, flags, out_flags);
	if (rc != SQLITE_OK || !f->real->pMethods) {
		if (f->real->pMethods) /* a failed open that left methods set wants its xClose */
			f->real->pMethods->xClose(f->real);
		file->pMethods = NULL; /* SQLite calls no method of a file that did not open */
		return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
	}
	const char *base = name ? strrchr(name, '/') : NULL;
	snprintf(f->name, sizeof f->name, "%s", base ? base + 1 : name ? name : "(temp)");
	size_t nl = name ? strlen(name) : 0, ml = strlen(F.match);
	f->match = !ml || (nl >= ml && !strcmp(name + nl - ml, F.match));
	/* an older method table (without shm or fetch) is not what the unix VFS gives */
	file->pMethods = f->real->pMethods->iVersion >= 3 ? &fault_methods : NULL;
	if (!file->pMethods) {
		f->real->pMethods->xClose(f->real);
		return SQLITE_CANTOPEN;
	}
	return SQLITE_OK;
}

static int v_delete(sqlite3_vfs *v, const char *name, int sync) { return F.real->xDelete(F.real, name, sync); }
static int v_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
	return F.real->xAccess(F.real, name, flags, out);
}
static int v_fullpath(sqlite3_vfs *v, const char *name, int n, char *out)
{
	return F.real->xFullPathname(F.real, name, n, out);
}
static void *v_dlopen(sqlite3_vfs *v, const char *name) { return F.real->xDlOpen(F.real, name); }
static void v_dlerror(sqlite3_vfs *v, int n, char *msg) { F.real->xDlError(F.real, n, msg); }
static void (*v_dlsym(sqlite3_vfs *v, void *h, const char *sym))(void) { return F.real->xDlSym(F.real, h, sym); }
static void v_dlclose(sqlite3_vfs *v, void *h) { F.real->xDlClose(F.real, h); }
static int v_random(sqlite3_vfs *v, int n, char *out) { return F.real->xRandomness(F.real, n, out); }
static int v_sleep(sqlite3_vfs *v, int us) { return F.real->xSleep(F.real, us); }
static int v_time(sqlite3_vfs *v, double *out) { return F.real->xCurrentTime(F.real, out); }
static int v_lasterr(sqlite3_vfs *v, int n, char *out) { return F.real->xGetLastError(F.real, n, out); }
static int v_time64(sqlite3_vfs *v, sqlite3_int64 *out) { return F.real->xCurrentTimeInt64(F.real, out); }

static int parse(const char *spec)
{
	char op[8], kind[8];
	long n;
	int used = 0;
	if (sscanf(spec, "%7[a-z]:%ld:%7[a-z]%n", op, &n, kind, &used) != 3 || n < 1)
		return KT_EINVALID;
	if (spec[used] == ':')
		snprintf(F.match, sizeof F.match, "%s", spec + used + 1);
	else if (spec[used])
		return KT_EINVALID;
	F.n = n;
	if (!strcmp(op, "write") && !strcmp(kind, "full"))
		F.err = SQLITE_FULL;
	else if (!strcmp(op, "write") && !strcmp(kind, "io"))
		F.err = SQLITE_IOERR_WRITE;
	else if (!strcmp(op, "sync") && !strcmp(kind, "io"))
		F.err = SQLITE_IOERR_FSYNC;
	else
		return KT_EINVALID;
	F.on_write = !strcmp(op, "write");
	return KT_OK;
}

int faultvfs_install_from_env(void)
{
	const char *spec = getenv("KT_FAULT");
	if (!spec || !*spec)
		return KT_OK;
	if (parse(spec)) {
		kt_err_log("faultvfs: KT_FAULT=%s: want write:N:full, write:N:io or sync:N:io [:NAME-PART]", spec);
		return KT_EINVALID;
	}
	F.arm_file = getenv("KT_FAULT_ARM_FILE");
	F.clear_file = getenv("KT_FAULT_CLEAR_FILE");
	if (!(F.real = sqlite3_vfs_find(NULL)))
		return KT_EINTERNAL;
	fault_vfs = (sqlite3_vfs){
		.iVersion = 2,
		.szOsFile = (int)sizeof(fault_file) + F.real->szOsFile,
		.mxPathname = F.real->mxPathname,
		.zName = "kt-fault",
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
	if (sqlite3_vfs_register(&fault_vfs, 1) != SQLITE_OK)
		return KT_EINTERNAL;
	kt_warn("********************************************************************");
	kt_warn("FAULT INJECTION IS ON (KT_FAULT=%s): this server will fail disk writes", spec);
	kt_warn("on purpose. Tests only: unset KT_FAULT in production.");
	kt_warn("********************************************************************");
	return KT_OK;
}
