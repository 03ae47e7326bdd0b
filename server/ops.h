/* ops.h - domain writes on top of the store: the rules a salon expects
 * (an appointment's client, specialist, location and services exist, belong
 * together, and the client becomes known at the location). Used by the
 * admin command and tests; the device write path builds on it later. */
#ifndef KT_OPS_H
#define KT_OPS_H

#include "store.h"

typedef struct kt_appt_args {
	const char *location_id, *client_id, *specialist_id;
	int64_t start_at;     /* ms UTC */
	int duration_min;     /* 0 = sum of the services' durations */
	const char *services; /* comma list of service ids, may be NULL */
	const char *status;   /* NULL = "booked" */
	const char *client_note, *internal_note;
} kt_appt_args;

/* Each runs in one transaction; on failure err holds a sentence for a human. */
int ops_appointment_create(kt_store *st, const kt_appt_args *a, char id_out[KT_UUID_LEN + 1], char *err,
			   size_t errlen) KT_MUST_CHECK;
/* NULL / -1 keep the current value. */
int ops_appointment_move(kt_store *st, const char *id, const char *location_id, const char *specialist_id,
			 int64_t start_at, char *err, size_t errlen) KT_MUST_CHECK;
int ops_appointment_cancel(kt_store *st, const char *id, char *err, size_t errlen) KT_MUST_CHECK;
/* Staff-editable client fields only; value NULL clears. */
int ops_client_set(kt_store *st, const char *id, const char *field, const char *value, char *err,
		   size_t errlen) KT_MUST_CHECK;

#endif
