/* ops.h - domain writes on top of the store: the rules a salon expects of
 * appointments and client cards, checked before anything is written. Used by
 * the admin command and tests; the device write path builds on it later.
 *
 * Every function runs in its own transaction (the caller must not hold one),
 * writes only through store_insert/store_update/store_link_* so the change
 * log sees every change, and rolls back on any failure. On failure it returns
 * a kt_err code and puts one sentence for a human into err (errlen > 0; ids
 * may appear in it, personal data never does). */
#ifndef KT_OPS_H
#define KT_OPS_H

#include <stddef.h>
#include <stdint.h>
#include "store.h"

/* Strings are borrowed for the duration of the call. */
typedef struct kt_appt_args {
	const char *location_id, *client_id, *specialist_id; /* required */
	int64_t start_at;          /* ms since the epoch, UTC; > 0 */
	int duration_min;          /* 0 = sum of the services' durations; else 1..1440 */
	const char *services;      /* comma list of service ids; NULL or "" for none */
	const char *status;        /* NULL = "booked" */
	const char *client_note;   /* NULL = none */
	const char *internal_note; /* NULL = none */
} kt_appt_args;

/* Create an appointment after checking that location, client, specialist
 * and services exist in one organisation, that the specialist is an active
 * specialist linked to the location, that every service is offered there and
 * that the duration is positive. Links the client to the location when they
 * were not yet. Overlaps are not refused (yet): see ops_find_overlap.
 * id_out gets the new id. */
int ops_appointment_create(kt_store *st, const kt_appt_args *a, char id_out[KT_UUID_LEN + 1], char *err,
			   size_t errlen) KT_MUST_CHECK;

/* Move an appointment: location_id / specialist_id NULL keep the current
 * one, start_at < 0 keeps the current start. The result is checked like a
 * new appointment; moving to another location links the client there. A
 * move that changes nothing writes nothing and succeeds; asking for no
 * change at all is KT_EINVALID. */
int ops_appointment_move(kt_store *st, const char *id, const char *location_id, const char *specialist_id,
			 int64_t start_at, char *err, size_t errlen) KT_MUST_CHECK;

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

/* Read-only: find a non-cancelled appointment of the specialist that
 * overlaps [start_at, start_at + duration_min) other than exclude_id (may be
 * NULL). KT_OK when there is none; KT_ECONFLICT with its id in conflict_id
 * (may be NULL) when there is; KT_EIO on a database error. */
int ops_find_overlap(kt_store *st, const char *specialist_id, int64_t start_at, int duration_min,
		     const char *exclude_id, char conflict_id[KT_UUID_LEN + 1]) KT_MUST_CHECK;

#endif
