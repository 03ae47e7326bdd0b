/* vfs_shim.h - what every SQLite VFS shim of ours (faultvfs.c, walbuf.c)
 * has in common: a shim's file struct starts with kt_shim_file and the file
 * of the VFS underneath follows that struct in the same allocation; methods
 * that only forward to that file; and a VFS whose every call but xOpen goes
 * to the VFS underneath (kept in the VFS's pAppData). */
#ifndef KT_VFS_SHIM_H
#define KT_VFS_SHIM_H

#include <stddef.h>
#include <sqlite3.h>

typedef struct kt_shim_file {
	sqlite3_file base;
	sqlite3_file *real; /* the file underneath */
} kt_shim_file;

#define KT_SHIM_REAL(p) (((kt_shim_file *)(p))->real)

/* io methods that pass the call to the file underneath unchanged */
int kt_shim_close(sqlite3_file *p);
int kt_shim_read(sqlite3_file *p, void *b, int n, sqlite3_int64 off);
int kt_shim_write(sqlite3_file *p, const void *b, int n, sqlite3_int64 off);
int kt_shim_truncate(sqlite3_file *p, sqlite3_int64 size);
int kt_shim_sync(sqlite3_file *p, int flags);
int kt_shim_size(sqlite3_file *p, sqlite3_int64 *size);
int kt_shim_lock(sqlite3_file *p, int l);
int kt_shim_unlock(sqlite3_file *p, int l);
int kt_shim_check(sqlite3_file *p, int *out);
int kt_shim_fcntl(sqlite3_file *p, int op, void *arg);
int kt_shim_sector(sqlite3_file *p);
int kt_shim_devchar(sqlite3_file *p);
int kt_shim_shmmap(sqlite3_file *p, int pg, int sz, int extend, void volatile **out);
int kt_shim_shmlock(sqlite3_file *p, int off, int n, int flags);
void kt_shim_shmbarrier(sqlite3_file *p);
int kt_shim_shmunmap(sqlite3_file *p, int del);
int kt_shim_fetch(sqlite3_file *p, sqlite3_int64 off, int n, void **out);
int kt_shim_unfetch(sqlite3_file *p, sqlite3_int64 off, void *ptr);

/* xOpen's common part: open name on the VFS under shim `vfs` into the file
 * that follows f's own struct of `size` bytes (zeroed first). On success
 * f->base.pMethods = methods; otherwise nothing is left open and
 * pMethods is NULL (SQLite calls no method of a file that did not open).
 * A file underneath with an io_methods version below 3 (no shm, no fetch:
 * not what the unix VFS gives) is refused. */
int kt_shim_open(sqlite3_vfs *vfs, const char *name, kt_shim_file *f, size_t size,
		 const sqlite3_io_methods *methods, int flags, int *out_flags);

/* Make vfs a shim named `name` over `under`: files of `file_size` bytes
 * (the shim's struct) plus under's, opened by xopen; everything else
 * forwards to under. Register it with sqlite3_vfs_register. */
void kt_shim_vfs_init(sqlite3_vfs *vfs, sqlite3_vfs *under, const char *name, size_t file_size,
		      int (*xopen)(sqlite3_vfs *, const char *, sqlite3_file *, int, int *));

#endif
