/* revoke.h - taking access away, and the device register.
 *
 * A device id belongs to one person at a time: signing out on it (logout),
 * or the salon signing it out, releases it for the next person; until then
 * anyone else is refused (store_device_seen).
 *
 * Three ways, each one transaction with an audit entry (who did it: the
 * store's actor) and a revocation entry that every running server reads
 * to close the affected connections at once (revoke_poll), whichever
 * process wrote it:
 *   sign out a device   its sessions end; the person may sign in again;
 *   revoke a device     (a lost tablet) its sessions end and the device id
 *                       is refused from now on; it is told to wipe its data;
 *   deactivate a person staff.active = 0 and every session of theirs ends.
 * Who may do which is the action table in policy.c: owners all of it in
 * their organisation; managers for staff who work only at the manager's
 * locations (not owners or managers) and for those staff's devices. */
#ifndef KT_REVOKE_H
#define KT_REVOKE_H

#include "domain/policy.h"
#include "db/store.h"

typedef enum kt_revoke_kind {
	KT_REVOKE_SESSION,   /* target: a device id */
	KT_REVOKE_DEVICE,    /* target: a device id */
	KT_REVOKE_PRINCIPAL, /* target: a staff id */
} kt_revoke_kind;

typedef struct kt_revocation {
	int64_t seq;
	kt_revoke_kind kind;
	char target[KT_UUID_LEN + 1];
} kt_revocation;

/* May `by` (NULL = the operator at the server) do action a to this device
 * (one's own devices always), or deactivate this staff member? KT_OK,
 * KT_ENOT_FOUND (also for things outside by's organisation) or KT_EDENIED. */
int revoke_may_device(kt_store *st, const kt_principal *by, kt_action a, const char *device_id) KT_MUST_CHECK;
int revoke_may_staff(kt_store *st, const kt_principal *by, const char *staff_id) KT_MUST_CHECK;
/* The same for another action on a staff member (KT_ACT_RESET_STAFF_PASSWORD). */
int revoke_may_staff_on(kt_store *st, const kt_principal *by, kt_action a, const char *staff_id) KT_MUST_CHECK;

/* The actions (check with revoke_may_* first). */
int revoke_sign_out_device(kt_store *st, const char *device_id) KT_MUST_CHECK;
int revoke_device(kt_store *st, const char *device_id) KT_MUST_CHECK;
int revoke_deactivate_staff(kt_store *st, const char *staff_id) KT_MUST_CHECK;
/* A device that will never come back (lost, stolen, broken): revoked like
 * revoke_device, and recorded as lost (audit action "device_lost"), so an
 * erasure stops waiting for its purge receipt and says why. */
int revoke_mark_lost(kt_store *st, const char *device_id) KT_MUST_CHECK;
/* An erased client (erasure.c): every session of theirs ends, and each of
 * their own devices is revoked - told to wipe its data at once if
 * connected, refused with that order whenever it comes back. Runs inside
 * the caller's write transaction; no audit entry of its own (the erasure
 * writes one). */
int revoke_client_in_tx(kt_store *st, const char *client_id) KT_MUST_CHECK;
/* End one session (device_id signing itself out) with an audit entry
 * `logout` by the store's current actor; no revocation entry (the caller
 * closes the connections that use the token). */
int revoke_session_token(kt_store *st, const uint8_t *token_hash, size_t len, const char *device_id) KT_MUST_CHECK;

bool revoke_device_is_revoked(kt_store *st, const char *device_id);
int64_t revoke_last_seq(kt_store *st);
/* Entries after seq, oldest first, at most max. */
int revoke_read(kt_store *st, int64_t after, kt_revocation *out, int max, int *n) KT_MUST_CHECK;

/* Whose device ids a person is shown (audit_query, exports' access logs):
 * exactly the devices they could manage (list_devices): owners every
 * device of their organisation, managers their own and those of the
 * reception and specialists who work only at their locations, everyone
 * else (a client too) only their own. Another person's device id would
 * let them sign in as that device. A small cache of answers per reply. */
typedef struct kt_device_view {
	const kt_principal *viewer; /* NULL: the operator, every id */
	int n;
	char id[16][KT_UUID_LEN + 1];
	bool shown[16];
} kt_device_view;
bool revoke_device_shown(kt_store *st, kt_device_view *v, const char *device_id);

/* The device register, as `by` may see it (NULL: everything). */
typedef struct kt_device_info {
	const char *id, *kind, *principal_id, *name, *role, *app;
	int64_t first_seen, last_seen, last_ack_seq;
	bool revoked, signed_in; /* signed_in: a live (not revoked, not expired) session exists */
} kt_device_info;
typedef int (*kt_device_cb)(void *user, const kt_device_info *d);
int revoke_list_devices(kt_store *st, const kt_principal *by, kt_device_cb cb, void *user) KT_MUST_CHECK;

/* Portal accounts: end the sessions of a principal (staff or
 * client) inside the caller's transaction, after a password was set or
 * changed. keep_hash == NULL: every session ends (a 'principal'
 * revocation); otherwise the session with that token hash stays and each
 * other device of the principal with a live session gets a 'session'
 * revocation. No audit entry: the caller writes one for the whole act. */
int revoke_principal_sessions(kt_store *st, const char *principal_id, const uint8_t *keep_hash,
			      size_t keep_len) KT_MUST_CHECK;

#endif
