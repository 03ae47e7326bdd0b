/* sqlite_ro.h - opening a database file only to read it: a backup, or the
 * live database from a command that only reads. Never writes to the file
 * and never creates anything next to it (-wal, -shm, journals). */
#ifndef KT_SQLITE_RO_H
#define KT_SQLITE_RO_H

#include <sqlite3.h>

/* Open path read-only with flags added to SQLITE_OPEN_READONLY (e.g.
 * NOMUTEX). When no -wal file is next to it nobody has the database open,
 * so it is opened as immutable (a WAL-mode file would otherwise get a -wal
 * and a -shm); a running server's database (or one with a -journal) is
 * opened as usual, its -wal and -shm exist already. *db is the caller's to close, even on failure
 * (SQLite's rule). Returns an SQLite result code. */
int sqlite_open_ro(const char *path, int flags, sqlite3 **db);

#endif
