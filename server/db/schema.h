/* schema.h - the versioned migrations of the authoritative database.
 * Migration N brings PRAGMA user_version from N-1 to N. Never edit a shipped
 * migration: add a new one. store_open() applies what is missing. */
#ifndef KT_SCHEMA_H
#define KT_SCHEMA_H

extern const char *const kt_migrations[];
extern const int kt_migration_count;

#endif
