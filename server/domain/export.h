/* export.h - a client's data as one JSON document (GDPR Art. 15 and 20):
 * the card with health data, appointments, visits, consents (when this
 * build has them) and the access log (every audit entry about the client).
 * Who may ask is decided by the callers (cli/privacy.c, handle_privacy.c). */
#ifndef KT_EXPORT_H
#define KT_EXPORT_H

#include "domain/policy.h"
#include "db/store.h"

/* Build the export of client_id and record it in the audit log (action
 * "exported", by the store's current actor) in one transaction, so the
 * document's access log ends with this export and no export goes
 * unrecorded; on a store opened read-only (a backup) nothing is recorded,
 * and the caller says so. *json (NUL-terminated, owned by the caller, free()) gets the
 * document. KT_ENOT_FOUND when there is no such client. */
int export_client(kt_store *st, const char *client_id, char **json) KT_MUST_CHECK;
/* The same for a person who asked (viewer, borrowed; NULL: the operator):
 * the access log names only the device ids they may see (revoke.h). */
int export_client_as(kt_store *st, const char *client_id, const kt_principal *viewer, char **json) KT_MUST_CHECK;

#endif
