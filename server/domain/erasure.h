/* erasure.h - erasing a client (GDPR Art. 17) so that it reaches every
 * device, and retention (Art. 5(1)(e)).
 *
 * An erasure is one transaction: the client's card, visits, consents and
 * reviews are deleted through the store (so the change log routes a delete
 * to every device that may hold them); the appointments stay for the
 * accounts but lose their notes and point to the organisation's "erased
 * client" placeholder; the client's sessions end and their own devices are
 * revoked (told to wipe); their data key is destroyed; the erasure is
 * recorded (erasure table and an audit entry without personal data) with
 * the list of devices that must purge. A device has purged once it
 * acknowledges a cursor at or past the erasure's last change (store_auth.c,
 * store_device_ack).
 *
 * Who may do what is decided by the callers (handle_privacy.c,
 * cli/privacy.c): only owners erase and read the status; a client may ask
 * for their own erasure, which stays pending until an owner confirms it. */
#ifndef KT_ERASURE_H
#define KT_ERASURE_H

#include <stdbool.h>
#include "db/store.h"

/* Ask for the erasure of client_id (pending until an owner confirms).
 * by: "client:<id>", "staff:<id>" or "operator". Asking again returns the
 * open request. *requested_at (may be NULL) gets its time. KT_ENOT_FOUND
 * when there is no such client, KT_EINVALID for the placeholder. */
int erasure_request(kt_store *st, const char *client_id, const char *by, int64_t *requested_at) KT_MUST_CHECK;

/* When a request made at requested_at must be answered: one calendar
 * month later (GDPR Art. 12(3)), in UTC, at the same time of day; from
 * the 31st (or 29th, 30th) of a month to a shorter one, its last day. */
int64_t erasure_due_at(int64_t requested_at);

typedef struct kt_erasure_result {
	int64_t id;        /* erasure table row */
	int64_t seq;       /* change-log seq of its last change */
	int visits, appointments, other_rows, devices;
	int spool_files;   /* .eml files of the client's mail deleted from the spool */
} kt_erasure_result;

/* Where the mail spool is (the portal's spool_dir) for the erasures this
 * process makes; NULL: <database>.spool, the portal's default. The string
 * must outlive them. An erasure deletes the spool's files of the client's
 * mail ("<mail id>-<purpose>.eml"). */
void erasure_set_spool_dir(const char *dir);

/* Erase client_id now (confirms a pending request). by: who confirmed it
 * ("staff:<id>", "operator", "retention"). The audit actor is the store's
 * current actor. KT_ENOT_FOUND for an unknown client, KT_ECONFLICT when it
 * was erased already, KT_EINVALID for the organisation's placeholder.
 * res may be NULL. */
int erasure_erase(kt_store *st, const char *client_id, const char *by, kt_erasure_result *res) KT_MUST_CHECK;

/* One erasure (strings borrowed for the callback's duration). */
typedef struct kt_erasure_info {
	int64_t id, requested_at, done_at, seq; /* done_at, seq 0 while pending */
	const char *client_id, *org_id, *status, *requested_by, *confirmed_by; /* confirmed_by "" while pending */
} kt_erasure_info;
typedef int (*kt_erasure_cb)(void *user, const kt_erasure_info *e);

/* Pending requests, oldest first; org NULL = every organisation. */
int erasure_list_pending(kt_store *st, const char *org, kt_erasure_cb cb, void *user) KT_MUST_CHECK;

/* One device that had to purge (strings borrowed). purged_at 0 = not yet.
 * revoked_now: the device is revoked (the erased client's own devices
 * always are, a staff tablet reported lost since may be): there is no
 * receipt to wait for, it is told to wipe whenever it connects. */
typedef struct kt_erasure_device {
	const char *device_id, *kind, *principal_id, *name, *role, *app;
	int64_t purged_at, last_seen, last_ack_seq;
	bool revoked_now;
	int64_t lost_at;     /* marked lost (revoke_mark_lost), 0: not; it will never purge */
	const char *lost_by; /* "operator" or the staff member's name; "" when not lost */
} kt_erasure_device;

/* The state erasure-status shows for a device: "purged", "lost" (marked
 * lost by an owner: no receipt will come), "wipe_ordered" (revoked: told
 * to wipe at its next contact) or "not_purged". */
const char *erasure_device_state(const kt_erasure_device *d);
typedef int (*kt_erasure_device_cb)(void *user, const kt_erasure_device *d);

/* The latest erasure of client_id (info_cb once) and, when done, its
 * devices (dev_cb each, principal name order). org non-NULL: only an
 * erasure of that organisation (others are KT_ENOT_FOUND, like a client
 * that was never erased nor asked to be). */
int erasure_status(kt_store *st, const char *client_id, const char *org, kt_erasure_cb info_cb,
		   kt_erasure_device_cb dev_cb, void *user) KT_MUST_CHECK;

/* Is this client id the placeholder of its organisation? */
bool erasure_is_placeholder(kt_store *st, const char *client_id);

/* Clients of org (NULL: all) with no visit in the last `months` months and
 * no upcoming booked or confirmed appointment, created before that period,
 * in id order. last_visit: "YYYY-MM-DD" or "" when none. */
typedef int (*kt_retention_cb)(void *user, const char *client_id, const char *org_id, const char *last_visit);
int retention_list(kt_store *st, const char *org, int months, kt_retention_cb cb, void *user) KT_MUST_CHECK;

#define KT_RETENTION_MONTHS_DEFAULT 36

#endif
