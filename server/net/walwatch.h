/* walwatch.h - commits by other processes (the admin command, a bench's
 * writer): a thread watches the database's WAL and wakes the loop
 * (KT_WAKE_DATA) once such a commit can be read, not when its first page
 * is written. */
#ifndef KT_WALWATCH_H
#define KT_WALWATCH_H

#include "server.h"

/* Start the watch thread (after store_open: the WAL and its -shm exist).
 * Without inotify it logs a warning and starts nothing; the loop's 250 ms
 * poll (listener.c) is then what finds such commits. */
void walwatch_start(kt_server *srv);
/* Join the thread (srv->stop must be set). Keeps the -shm descriptor: see
 * walwatch_close. */
void walwatch_stop(kt_server *srv);
/* Close the -shm descriptor, only after every SQLite connection of the
 * process to the database is closed: closing any descriptor of a file
 * drops all the process's POSIX locks on it, SQLite's included. */
void walwatch_close(kt_server *srv);

#endif
