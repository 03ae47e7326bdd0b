/* staff.h - people who work at the salon: invited by e-mail with a link to
 * choose their password (through the outbox, like portal setup links),
 * sent a new link when they forget it. The admin command, setup and the
 * manage message call these; by is the signed-in person doing it (checked
 * against the action table: owners anyone, managers reception and
 * specialists of their own locations), NULL for the operator.
 *
 * An invited staff member is active with no password: nobody can sign in
 * as them until the link is used. Deactivation is revoke.h's. */
#ifndef KT_STAFF_H
#define KT_STAFF_H

#include <stddef.h>
#include <stdint.h>
#include "db/store.h"
#include "domain/portal.h"

typedef struct kt_invite_args {
	const char *name, *email, *role; /* required; role: owner, manager, reception, specialist */
	const char *phone;               /* may be NULL */
	const char *locations;           /* comma list of location ids; required unless role is owner */
} kt_invite_args;

/* Add the staff member and queue their password link, one transaction
 * (audited: the staff row's insert, "staff_invite"). id_out gets the new
 * id, *expires (may be NULL) the link's end. KT_EDENIED / KT_EINVALID /
 * KT_ECONFLICT (the e-mail signs in already) with a sentence in err. */
int staff_invite(kt_store *st, const kt_principal *by, const kt_portal_config *cfg, const uint8_t token_key[32],
		 const char *org, const kt_invite_args *a, char id_out[KT_UUID_LEN + 1], int64_t *expires, char *err,
		 size_t errlen) KT_MUST_CHECK;

/* A new password link for an active staff member (kind: first invitation
 * again, or reset). Older unused links stop working. The password and the
 * sessions stay until the link is used. */
int staff_send_link(kt_store *st, const kt_principal *by, const kt_portal_config *cfg, const uint8_t token_key[32],
		    const char *staff_id, kt_setup_kind kind, int64_t *expires, char *err, size_t errlen) KT_MUST_CHECK;

/* A staff link was used with a new password (pw_hash: crypto_pwhash_str):
 * the token is re-checked and used up, the hash written, every session of
 * the person ended, audited; one transaction. KT_EREVOKED when the person
 * was deactivated meanwhile. staff gets their id. */
int staff_apply_setup(kt_store *st, const uint8_t hash[32], const char *pw_hash, const char *device,
		      char staff[KT_UUID_LEN + 1]) KT_MUST_CHECK;

/* A staff member's role (owner, manager, reception, specialist), audited
 * as the staff row's update; their devices get what the new role may see
 * (the rights change is the row's, like any staff edit). by: owners
 * anyone of their organisation but themselves; managers their team, and
 * only to reception or specialist. KT_EDENIED / KT_ENOT_FOUND /
 * KT_EINVALID with a sentence in err. */
int staff_set_role(kt_store *st, const kt_principal *by, const char *staff_id, const char *role, char *err,
		   size_t errlen) KT_MUST_CHECK;

/* The whole list of a staff member's locations (comma list of ids, may be
 * empty): the links that differ are added or removed, each audited, in one
 * transaction. A manager may touch their team only and give only their own
 * locations; a closed location may stay but not be added. */
int staff_set_locations(kt_store *st, const kt_principal *by, const char *staff_id, const char *locations,
			char *err, size_t errlen) KT_MUST_CHECK;

/* The staff member's locations now as a comma list (ids, sorted); "" for none. */
int staff_locations(kt_store *st, const char *staff_id, char *out, size_t cap) KT_MUST_CHECK;

/* Set a password typed at the server's terminal (setup): same effects as
 * a used link. */
int staff_set_password(kt_store *st, const char *staff_id, const char *pw_hash) KT_MUST_CHECK;

#endif
