/* audit.h - the append-only, hash-chained audit log (design §1.5). Every
 * row change the store makes is recorded here in the same transaction, with
 * who (the store's current actor), what (entity, fields, before/after) and
 * when. Entries are chained per organisation with BLAKE2b-256, so an edit
 * or deletion of any entry is detected by audit_verify. */
#ifndef KT_AUDIT_H
#define KT_AUDIT_H

#include <stdio.h>
#include "store.h"

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

/* The change history of one client card: who changed what, when. */
int audit_show_client(kt_store *st, const char *client_id, FILE *out) KT_MUST_CHECK;

#endif
