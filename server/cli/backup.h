/* backup.h - online backup and restore of the database (kartoteka-server
 * backup / restore). A backup holds the database only: client data keys
 * stay in the live keyring (keyring.h), so a client erased after the backup
 * cannot be read from it, restored or not. */
#ifndef KT_BACKUP_H
#define KT_BACKUP_H

/* Copy db to a new file `to` with SQLite's online backup while the server
 * may be writing (one consistent snapshot). keys_to (may be NULL): also
 * copy the keyring there, to be kept apart from the backups. Exit status. */
int backup_main(const char *db, const char *to, const char *keys_to);

/* Replace db by the backup `from`, and its keyring by keys_from when not
 * NULL (a copy made with --keys-to). Refuses while a server has db open.
 * The erasure ledger (keyring.h) is applied again: keys of erased clients
 * are destroyed in the restored keyring, and erased clients the backup
 * still holds are erased again (erasure.h) and listed. Exit status. */
int restore_main(const char *db, const char *from, const char *keys_from);

#endif
