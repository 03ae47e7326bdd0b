/* audit.h - the append-only, hash-chained audit log. Every
 * row change the store makes is recorded here in the same transaction, with
 * who (the store's current actor), what (entity, fields, before/after) and
 * when. Entries are chained per organisation with BLAKE2b-256, so an edit
 * or deletion of any entry is detected by audit_verify. */
#ifndef KT_AUDIT_H
#define KT_AUDIT_H

#include <stdio.h>
#include "db/store.h"

typedef struct kt_audit_entry {
	const char *org, *action, *entity, *entity_id;
	const char *client_id, *location_id; /* what the entry is about; may be NULL */
	const char *fields;                  /* comma list of changed fields; may be NULL */
	const char *before, *after;          /* JSON objects; may be NULL */
} kt_audit_entry;

/* Append one entry for the store's current actor. The caller holds the
 * write transaction. */
int audit_append(kt_store *st, const kt_audit_entry *e) KT_MUST_CHECK;

/* Recompute every organisation's chain. Prints "audit log ok: N entries" or
 * names the first entry whose hash does not match (KT_ECONFLICT). */
int audit_verify(kt_store *st, FILE *out) KT_MUST_CHECK;

/* The before/after of an audit entry as stored in column col of s (which:
 * "before" or "after", seq: the entry's seq). Entries about a client are
 * sealed with the client's key (keyring.h). *out: malloc'd text, NULL when
 * the column is NULL. KT_ENOT_FOUND when the client's key is destroyed. */
int audit_value(kt_store *st, sqlite3_stmt *s, int col, int64_t seq, const char *which, char **out) KT_MUST_CHECK;

/* The change history of one client card: who changed what, when. Times
 * (when, and instants inside before/after) are local to each entry's
 * location, else to zone (NULL or "": UTC, so labelled). */
int audit_show_client(kt_store *st, const char *client_id, const char *zone, FILE *out) KT_MUST_CHECK;

/* One stored entry as read back (strings borrowed for the callback's
 * duration; NULL where the column is NULL). actor_name/actor_role: the
 * staff member's display name and role now ("" for clients and others). */
typedef struct kt_audit_row {
	int64_t seq, server_time, device_time; /* device_time 0 when unknown */
	const char *actor_kind, *actor_id, *actor_name, *actor_role, *device_id;
	const char *action, *entity, *entity_id, *client_id, *location_id, *fields, *before, *after;
} kt_audit_row;
typedef int (*kt_audit_row_cb)(void *user, const kt_audit_row *r);

/* Every entry about one client (its card, its appointments and visits,
 * views, exports), oldest first: the access log of a data export. A
 * non-zero return from cb stops and is returned. All SQL that reads
 * before/after stays here (they become ciphertext with the client's key). */
int audit_client_entries(kt_store *st, const char *client_id, kt_audit_row_cb cb, void *user) KT_MUST_CHECK;

/* Upgrade: audit entries about a client written in plain text before
 * encryption at rest are sealed with the client's key, or emptied when the
 * client is gone (erased); the organisation's chain is re-hashed from the
 * first such entry, and a "sealed_at_upgrade" entry records the counts and
 * the chain head it replaced. Inside the caller's write transaction;
 * logs one line per organisation. */
int audit_seal_legacy(kt_store *st) KT_MUST_CHECK;

#endif
