/* faultvfs.h - fault injection for tests: a SQLite VFS that fails the Nth
 * write or fsync. Installed only when KT_FAULT is set; never in production. */
#ifndef KT_FAULTVFS_H
#define KT_FAULTVFS_H

/* Read KT_FAULT (and KT_FAULT_ARM_FILE, KT_FAULT_CLEAR_FILE); when set,
 * register the shim as SQLite's default VFS, before any database is
 * opened, and log a warning. Returns 0 (also when unset), or KT_EINVALID
 * for a KT_FAULT it cannot parse. */
int faultvfs_install_from_env(void);

#endif
