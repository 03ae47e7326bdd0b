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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "db/store.h"

/* 10000-01-01: keeps start + duration far from overflow */
#define OPS_MAX_TIME 253402300800000LL

/* Strings are borrowed for the duration of the call. */
typedef struct kt_appt_args {
	const char *location_id, *client_id, *specialist_id; /* required */
	int64_t start_at;          /* ms since the epoch, UTC; > 0 */
	int duration_min;          /* 0 = sum of the services' durations; else 1..1440 */
	const char *services;      /* comma list of service ids; NULL or "" for none */
	const char *status;        /* NULL = "booked" */
	const char *client_note;   /* NULL = none */
	const char *internal_note; /* NULL = none */
	/* Non-NULL: book even when the rules in `override` (OPS_RULE_* bits;
	 * 0 = overlap) are broken (salons do it on purpose); the reason goes
	 * into the audit log with each rule overridden. */
	const char *overlap_reason;
	unsigned override;
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
			 int64_t start_at, const char *overlap_reason, unsigned override, char *err,
			 size_t errlen) KT_MUST_CHECK;

/* Set the status to "cancelled", and status_reason to reason unless it is
 * NULL (borrowed; at most VALIDATE_MAX_REASON bytes of text). Cancelling a
 * cancelled appointment succeeds without a write, or sets only the reason;
 * a "done" or "no_show" one is KT_EINVALID. */
int ops_appointment_cancel(kt_store *st, const char *id, const char *reason, char *err,
			   size_t errlen) KT_MUST_CHECK;

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
	/* true when neither time, place, specialist nor services change (a
	 * status or note edit): the rules that judge a time (hours, closed
	 * days, time off, buffer) are not asked again, so hours changed since
	 * the booking do not block marking it done */
	bool same_slot;
} kt_booking;

/* The booking rules that can be overridden, one bit each; the names are
 * those of push's override.rule and the admin command's --override. */
enum {
	OPS_RULE_OVERLAP = 1u << 0,            /* "overlap": the specialist is booked then */
	OPS_RULE_OPENING_HOURS = 1u << 1,      /* "opening_hours" */
	OPS_RULE_CLOSED_DAY = 1u << 2,         /* "closed_day" */
	OPS_RULE_WORKING_HOURS = 1u << 3,      /* "working_hours" */
	OPS_RULE_TIME_OFF = 1u << 4,           /* "time_off" */
	OPS_RULE_SPECIALIST_SERVICE = 1u << 5, /* "specialist_service" */
	OPS_RULE_LOCATION_SERVICE = 1u << 6,   /* "location_service" */
	OPS_RULE_BUFFER = 1u << 7,             /* "buffer" */
	OPS_RULE_COUNT = 8
};
/* The name of one rule bit ("overlap"...), "none" otherwise. */
const char *ops_rule_name(unsigned rule);
/* A comma list of rule names ("opening_hours,working_hours") to bits; 0
 * when any name is unknown or the list is empty. */
unsigned ops_rules_parse(const char *list, size_t len);
/* The list of every rule name, for messages ("overlap, opening_hours, ..."). */
const char *ops_rule_names(void);

/* What the rules decided about an appointment they let through. */
typedef struct kt_booking_verdict {
	unsigned overridden;         /* rules broken and overridden (bits) */
	char other[KT_UUID_LEN + 1]; /* the appointment an overridden overlap/buffer meets, "" if none */
	char why[OPS_RULE_COUNT][240]; /* per overridden rule (bit i): its sentence */
} kt_booking_verdict;

/* The booking rules, the one place they live: every path that writes an
 * appointment (device push, admin command, any later one) asks here
 * before it writes. Location, client, specialist and services belong to
 * org, the specialist is an active specialist of that location, the start
 * is a time and the duration 1..1440 minutes (KT_EINVALID otherwise). Then,
 * unless the appointment is cancelled, the rules that can be overridden,
 * each refused with its own code and a sentence naming the rule, the people
 * and places and the local times in the location's zone:
 *   location_service   KT_ESERVICE_NOT_AT_LOCATION
 *   specialist_service KT_ESERVICE_NOT_BY_SPECIALIST
 *   closed_day         KT_ELOCATION_CLOSED
 *   opening_hours      KT_EOUTSIDE_OPENING_HOURS
 *   working_hours      KT_EOUTSIDE_WORKING_HOURS
 *   time_off           KT_ESTAFF_TIME_OFF
 *   overlap            KT_ECONFLICT (v->other: the appointment)
 *   buffer             KT_EBUFFER_OVERLAP (v->other: the appointment)
 * A location with no opening hours, or a specialist with no working hours
 * at the location, has none set: nothing is refused for them. A rule whose
 * bit is in allow is recorded in v instead (KT_OK). id: the appointment
 * itself, NULL for a new one. KT_EIO on a database error. Runs in the
 * caller's transaction. */
int ops_booking_check(kt_store *st, const char *id, const kt_booking *b, unsigned allow, kt_booking_verdict *v,
		      char *err, size_t errlen) KT_MUST_CHECK;

/* A deliberate exception: one audit entry "override:<rule>" per overridden
 * rule about appointment id (after: {"rule", "reason", "why", and for
 * overlap and buffer "overlaps": the other appointment}), for the store's
 * current actor, in the caller's transaction, right after the write it
 * explains. Nothing when v->overridden is 0. */
int ops_booking_override_record(kt_store *st, const char *org, const char *id, const char *client_id,
				const char *location_id, const kt_booking_verdict *v, const char *reason) KT_MUST_CHECK;

/* A reason for an override: 1..OPS_MAX_REASON bytes of UTF-8. */
#define OPS_MAX_REASON 500
bool ops_reason_valid(const char *s, size_t len);


#endif
