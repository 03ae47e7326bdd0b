/* ops.h - domain writes on top of the store: the rules a salon expects of
 * appointments and client cards, checked before anything is written. Used by
 * the admin command; the device write path (push_apply.c) shares the booking
 * rules (ops_booking_check).
 *
 * The ops_appointment_* and ops_client_set functions run in their own
 * transaction (the caller must not hold one), write only through
 * store_insert/store_update/store_link_* so the change log sees every
 * change, and roll back on any failure. On failure they return a kt_err
 * code and put one sentence for a human into err (errlen > 0; ids
 * may appear in it, personal data never does). */
#ifndef KT_OPS_H
#define KT_OPS_H

#include <stddef.h>
#include <stdint.h>
#include "db/store.h"

/* Strings are borrowed for the duration of the call. */
typedef struct kt_appt_args {
	const char *location_id, *client_id, *specialist_id; /* required */
	int64_t start_at;          /* ms since the epoch, UTC; > 0 */
	int duration_min;          /* 0 = sum of the services' durations; else 1..1440 */
	const char *services;      /* comma list of service ids; NULL or "" for none */
	const char *status;        /* NULL = "booked" */
	const char *client_note;   /* NULL = none */
	const char *internal_note; /* NULL = none */
	/* Non-NULL: book even when the specialist is busy then (salons do it on
	 * purpose); the reason goes into the audit log with the overlap. */
	const char *overlap_reason;
} kt_appt_args;

/* Create an appointment after the booking rules (ops_booking_check).
 * Links the client to the location when they were not yet. id_out gets the
 * new id. */
int ops_appointment_create(kt_store *st, const kt_appt_args *a, char id_out[KT_UUID_LEN + 1], char *err,
			   size_t errlen) KT_MUST_CHECK;

/* Move an appointment: location_id / specialist_id NULL keep the current
 * one, start_at < 0 keeps the current start. The result is checked like a
 * new appointment (overlap_reason as in kt_appt_args); moving to another
 * location links the client there. A move that changes nothing writes
 * nothing and succeeds; asking for no change at all is KT_EINVALID. */
int ops_appointment_move(kt_store *st, const char *id, const char *location_id, const char *specialist_id,
			 int64_t start_at, const char *overlap_reason, char *err, size_t errlen) KT_MUST_CHECK;

/* Set the status to "cancelled". Cancelling a cancelled appointment
 * succeeds without a write; a "done" or "no_show" one is KT_EINVALID. */
int ops_appointment_cancel(kt_store *st, const char *id, char *err, size_t errlen) KT_MUST_CHECK;

/* Set (value != NULL) or clear (value == NULL) one client field that staff
 * may edit: name, email, phone, birthday (YYYY-MM-DD), address, allergies,
 * conditions, medications, skin_hair_type, patch_tests, preferences,
 * internal_notes. Identity, bookkeeping and sign-in columns (id, org_id,
 * version, updated_at, password_hash, portal_enabled) are KT_EDENIED.
 * Setting the current value writes nothing and succeeds. */
int ops_client_set(kt_store *st, const char *id, const char *field, const char *value, char *err,
		   size_t errlen) KT_MUST_CHECK;

/* An appointment as it would be after a write (strings borrowed). */
typedef struct kt_booking {
	const char *org; /* the organisation that writes it */
	const char *location_id, *client_id, *specialist_id;
	const char *services; /* comma list of service ids; NULL or "" for none */
	int64_t start_at, duration_min;
	const char *status; /* NULL = booked */
} kt_booking;

/* The booking rules, the one place they live: every path that writes an
 * appointment (device push, admin command, any later one) asks here
 * before it writes. Location, client, specialist and services belong to
 * org, the specialist is an active specialist of that location, every
 * service is offered there, the start is a time and the duration 1..1440
 * minutes, and, unless the appointment is cancelled, the specialist has no
 * other non-cancelled appointment overlapping it (id: the appointment
 * itself, NULL for a new one). KT_OK; KT_EINVALID with one sentence in err;
 * KT_ECONFLICT when the specialist is booked then (other gets that
 * appointment's id), or KT_OK with other set when allow_overlap; KT_EIO.
 * Runs in the caller's transaction. */
int ops_booking_check(kt_store *st, const char *id, const kt_booking *b, bool allow_overlap,
		      char other[KT_UUID_LEN + 1], char *err, size_t errlen) KT_MUST_CHECK;

/* A deliberate double booking: an audit entry "override:overlap" about
 * appointment id (after: {"overlaps": other, "reason": reason}), for the
 * store's current actor, in the caller's transaction, right after the write
 * it explains. */
int ops_booking_override_record(kt_store *st, const char *org, const char *id, const char *client_id,
				const char *location_id, const char *other, const char *reason) KT_MUST_CHECK;

/* A reason for an override: 1..OPS_MAX_REASON bytes of UTF-8. */
#define OPS_MAX_REASON 500
bool ops_reason_valid(const char *s, size_t len);

/* Read-only: find a non-cancelled appointment of the specialist that
 * overlaps [start_at, start_at + duration_min) other than exclude_id (may be
 * NULL). KT_OK when there is none; KT_ECONFLICT with its id in conflict_id
 * (may be NULL) when there is; KT_EIO on a database error. */
int ops_find_overlap(kt_store *st, const char *specialist_id, int64_t start_at, int duration_min,
		     const char *exclude_id, char conflict_id[KT_UUID_LEN + 1]) KT_MUST_CHECK;

#endif
