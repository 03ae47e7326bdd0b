/* vfs_shim.c - see vfs_shim.h. */
#include <string.h>
#include "db/vfs_shim.h"

#define REAL KT_SHIM_REAL

int kt_shim_close(sqlite3_file *p) { return REAL(p)->pMethods->xClose(REAL(p)); }
int kt_shim_read(sqlite3_file *p, void *b, int n, sqlite3_int64 off)
{
	return REAL(p)->pMethods->xRead(REAL(p), b, n, off);
}
int kt_shim_write(sqlite3_file *p, const void *b, int n, sqlite3_int64 off)
{
	return REAL(p)->pMethods->xWrite(REAL(p), b, n, off);
}
int kt_shim_truncate(sqlite3_file *p, sqlite3_int64 size) { return REAL(p)->pMethods->xTruncate(REAL(p), size); }
int kt_shim_sync(sqlite3_file *p, int flags) { return REAL(p)->pMethods->xSync(REAL(p), flags); }
int kt_shim_size(sqlite3_file *p, sqlite3_int64 *size) { return REAL(p)->pMethods->xFileSize(REAL(p), size); }
int kt_shim_lock(sqlite3_file *p, int l) { return REAL(p)->pMethods->xLock(REAL(p), l); }
int kt_shim_unlock(sqlite3_file *p, int l) { return REAL(p)->pMethods->xUnlock(REAL(p), l); }
int kt_shim_check(sqlite3_file *p, int *out) { return REAL(p)->pMethods->xCheckReservedLock(REAL(p), out); }
int kt_shim_fcntl(sqlite3_file *p, int op, void *arg) { return REAL(p)->pMethods->xFileControl(REAL(p), op, arg); }
int kt_shim_sector(sqlite3_file *p) { return REAL(p)->pMethods->xSectorSize(REAL(p)); }
int kt_shim_devchar(sqlite3_file *p) { return REAL(p)->pMethods->xDeviceCharacteristics(REAL(p)); }
int kt_shim_shmmap(sqlite3_file *p, int pg, int sz, int extend, void volatile **out)
{
	return REAL(p)->pMethods->xShmMap(REAL(p), pg, sz, extend, out);
}
int kt_shim_shmlock(sqlite3_file *p, int off, int n, int flags)
{
	return REAL(p)->pMethods->xShmLock(REAL(p), off, n, flags);
}
void kt_shim_shmbarrier(sqlite3_file *p) { REAL(p)->pMethods->xShmBarrier(REAL(p)); }
int kt_shim_shmunmap(sqlite3_file *p, int del) { return REAL(p)->pMethods->xShmUnmap(REAL(p), del); }
int kt_shim_fetch(sqlite3_file *p, sqlite3_int64 off, int n, void **out)
{
	return REAL(p)->pMethods->xFetch(REAL(p), off, n, out);
}
int kt_shim_unfetch(sqlite3_file *p, sqlite3_int64 off, void *ptr)
{
	return REAL(p)->pMethods->xUnfetch(REAL(p), off, ptr);
}

int kt_shim_open(sqlite3_vfs *vfs, const char *name, kt_shim_file *f, size_t size,
		 const sqlite3_io_methods *methods, int flags, int *out_flags)
{
	sqlite3_vfs *under = vfs->pAppData;
	memset(f, 0, size);
	f->real = (sqlite3_file *)((char *)f + size);
	int rc = under->xOpen(under, name, f->real, flags, out_flags);
	if (rc != SQLITE_OK || !f->real->pMethods || f->real->pMethods->iVersion < 3) {
		if (f->real->pMethods) /* a failed open that left methods set wants its xClose */
			f->real->pMethods->xClose(f->real);
		f->base.pMethods = NULL;
		return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
	}
	f->base.pMethods = methods;
	return SQLITE_OK;
}

/* ---- the VFS: everything but xOpen goes to the VFS underneath ---- */

#define UNDER(v) ((sqlite3_vfs *)(v)->pAppData)

static int v_delete(sqlite3_vfs *v, const char *name, int sync) { return UNDER(v)->xDelete(UNDER(v), name, sync); }
static int v_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
	return UNDER(v)->xAccess(UNDER(v), name, flags, out);
}
static int v_fullpath(sqlite3_vfs *v, const char *name, int n, char *out)
{
	return UNDER(v)->xFullPathname(UNDER(v), name, n, out);
}
static void *v_dlopen(sqlite3_vfs *v, const char *name) { return UNDER(v)->xDlOpen(UNDER(v), name); }
static void v_dlerror(sqlite3_vfs *v, int n, char *msg) { UNDER(v)->xDlError(UNDER(v), n, msg); }
static void (*v_dlsym(sqlite3_vfs *v, void *h, const char *sym))(void) { return UNDER(v)->xDlSym(UNDER(v), h, sym); }
static void v_dlclose(sqlite3_vfs *v, void *h) { UNDER(v)->xDlClose(UNDER(v), h); }
static int v_random(sqlite3_vfs *v, int n, char *out) { return UNDER(v)->xRandomness(UNDER(v), n, out); }
static int v_sleep(sqlite3_vfs *v, int us) { return UNDER(v)->xSleep(UNDER(v), us); }
static int v_time(sqlite3_vfs *v, double *out) { return UNDER(v)->xCurrentTime(UNDER(v), out); }
static int v_lasterr(sqlite3_vfs *v, int n, char *out) { return UNDER(v)->xGetLastError(UNDER(v), n, out); }
static int v_time64(sqlite3_vfs *v, sqlite3_int64 *out)
{
	if (UNDER(v)->iVersion >= 2 && UNDER(v)->xCurrentTimeInt64)
		return UNDER(v)->xCurrentTimeInt64(UNDER(v), out);
	double d;
	int rc = UNDER(v)->xCurrentTime(UNDER(v), &d);
	*out = (sqlite3_int64)(d * 86400000.0);
	return rc;
}

void kt_shim_vfs_init(sqlite3_vfs *vfs, sqlite3_vfs *under, const char *name, size_t file_size,
		      int (*xopen)(sqlite3_vfs *, const char *, sqlite3_file *, int, int *))
{
	*vfs = (sqlite3_vfs){
		.iVersion = 2,
		.szOsFile = (int)file_size + under->szOsFile,
		.mxPathname = under->mxPathname,
		.zName = name,
		.pAppData = under,
		.xOpen = xopen,
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
}
