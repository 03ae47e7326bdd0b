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
#include "testing/faultvfs.h"
#include "db/vfs_shim.h"
#include "kt_err.h"
#include "kt_util.h"

typedef struct fault_file {
	kt_shim_file shim;  /* the file underneath follows this struct */
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

static int f_write(sqlite3_file *p, const void *b, int n, sqlite3_int64 off)
{
	if (fault_now((fault_file *)p, true))
		return F.err;
	return kt_shim_write(p, b, n, off);
}
static int f_sync(sqlite3_file *p, int flags)
{
	if (fault_now((fault_file *)p, false))
		return F.err;
	return kt_shim_sync(p, flags);
}

static const sqlite3_io_methods fault_methods = {
	3,		    kt_shim_close,	kt_shim_read,	    f_write,	     kt_shim_truncate,
	f_sync,		    kt_shim_size,	kt_shim_lock,	    kt_shim_unlock,  kt_shim_check,
	kt_shim_fcntl,	    kt_shim_sector,	kt_shim_devchar,    kt_shim_shmmap,  kt_shim_shmlock,
	kt_shim_shmbarrier, kt_shim_shmunmap,	kt_shim_fetch,	    kt_shim_unfetch,
};

static int v_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *out_flags)
{
	fault_file *f = (fault_file *)file;
	int rc = kt_shim_open(vfs, name, &f->shim, sizeof *f, &fault_methods, flags, out_flags);
	if (rc != SQLITE_OK)
		return rc;
	const char *base = name ? strrchr(name, '/') : NULL;
	snprintf(f->name, sizeof f->name, "%s", base ? base + 1 : name ? name : "(temp)");
	size_t nl = name ? strlen(name) : 0, ml = strlen(F.match);
	f->match = !ml || (nl >= ml && !strcmp(name + nl - ml, F.match));
	return SQLITE_OK;
}

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
	kt_shim_vfs_init(&fault_vfs, F.real, "kt-fault", sizeof(fault_file), v_open);
	if (sqlite3_vfs_register(&fault_vfs, 1) != SQLITE_OK)
		return KT_EINTERNAL;
	kt_warn("********************************************************************");
	kt_warn("FAULT INJECTION IS ON (KT_FAULT=%s): this server will fail disk writes", spec);
	kt_warn("on purpose. Tests only: unset KT_FAULT in production.");
	kt_warn("********************************************************************");
	return KT_OK;
}
