/* notice.h - the salon's privacy notice (organisation.privacy_notice):
 * plain text, paragraphs apart by a blank line, at most
 * VALIDATE_MAX_NOTICE bytes (db/validate.h has the rule), read by every
 * principal including clients, set by owners only (manage
 * set_privacy_notice, `admin org privacy-notice`). A change goes through
 * store_update: audited, and streamed to every device of the
 * organisation. */
#ifndef KT_NOTICE_H
#define KT_NOTICE_H

#include <stddef.h>
#include "db/store.h"

/* A starting notice for a new salon (setup, init --demo): who processes
 * the data, why, how long it is kept, the client's rights (GDPR Art.
 * 15-21) and where to complain, with the parts only the owner can fill in
 * marked [like this] and a first paragraph saying it is to be edited.
 * address and phone may be NULL. Returns a malloc'd string (the caller
 * frees it), or NULL when out of memory. */
char *notice_default(const char *salon, const char *address, const char *phone, int retention_months);

/* Set (text) or clear (text NULL) the notice of org, in one transaction.
 * by: the signed-in person (owners only), or NULL for the operator (the
 * store's actor is set by the caller). KT_EINVALID with a sentence in err
 * naming the rule, KT_EDENIED, KT_ENOT_FOUND (no such organisation). */
int notice_set(kt_store *st, const kt_principal *by, const char *org, const char *text, char *err, size_t errlen)
	KT_MUST_CHECK;

/* The notice of org: *text is malloc'd (caller frees) or NULL when unset. */
int notice_get(kt_store *st, const char *org, char **text) KT_MUST_CHECK;

#endif
