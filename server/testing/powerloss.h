/* powerloss.h - tests only: undo logs of every write not yet fsynced, so
 * a test can turn a SIGKILL into what a power cut would leave
 * (powerloss.c). Installed only when KT_POWERLOSS_DIR is set. */
#ifndef KT_POWERLOSS_H
#define KT_POWERLOSS_H

/* Read KT_POWERLOSS_DIR; when set, register the shim as SQLite's default
 * VFS (over kt-fault when that is on), before any database is opened, and
 * log a warning. Returns 0 (also when unset) or KT_EINTERNAL. */
int powerloss_install_from_env(void);

#endif
