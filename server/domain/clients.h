/* clients.h - client cards beyond single-field edits (ops.h): a new card,
 * two cards of one person merged into one, and the server-side search.
 * by is the signed-in person (the action table: merge_clients,
 * find_clients; creating follows the create rule of the push path), NULL
 * for the operator. Sentences in err name the field and the rule and never
 * hold personal data. */
#ifndef KT_CLIENTS_H
#define KT_CLIENTS_H

#include <stddef.h>
#include "db/store.h"

typedef struct kt_client_args {
	const char *name;             /* required */
	const char *email, *phone;    /* may be NULL */
	const char *location_id;      /* the home branch; may be NULL for the operator */
} kt_client_args;

int client_create(kt_store *st, const kt_principal *by, const char *org, const kt_client_args *a,
		  char id_out[KT_UUID_LEN + 1], char *err, size_t errlen) KT_MUST_CHECK;

/* The duplicate's appointments and visits move to keep (their sealed
 * fields re-sealed with keep's key), its consents are copied to keep with
 * their original time, source and recorder (history is append-only) and
 * removed from it, its branches become keep's, fields keep lacks are
 * taken from it, and the duplicate card is deleted; an audit entry
 * "client_merged" on keep names it. One transaction; devices see every
 * step through the change log. A duplicate with a portal account is
 * refused (merge the other way round). */
int client_merge(kt_store *st, const kt_principal *by, const char *org, const char *keep, const char *dup,
		 char *err, size_t errlen) KT_MUST_CHECK;

/* Cards of org whose name or e-mail contains text (case-insensitive) or
 * whose phone has its digits, that by may see, in id order after `after`
 * (NULL or "": from the start): cb(user, id, name) for at most limit (1..100)
 * of them. At most scan_max cards are opened per call (they are sealed: the
 * work is bounded, e.g. on the event loop); when the search stopped before
 * the last card, next gets the id to continue after, else "". */
typedef int (*kt_client_found_cb)(void *user, const char *id, const char *name);
int client_find(kt_store *st, const kt_principal *by, const char *org, const char *text, int limit,
		const char *after, int scan_max, kt_client_found_cb cb, void *user, char next[KT_UUID_LEN + 1],
		char *err, size_t errlen) KT_MUST_CHECK;

#endif
