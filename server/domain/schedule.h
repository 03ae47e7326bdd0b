/* schedule.h - writing what the booking rules use (opening hours, closed
 * days, working hours, time off, services) outside the device write path:
 * the admin command. Each call validates its values with the rules every
 * write obeys (validate.c), runs in its own transaction (the caller must
 * not hold one) and writes only through store_insert/store_update, so the
 * change is audited and reaches devices like a pushed one. On failure: a
 * kt_err code and one sentence in err naming the field and the rule. */
#ifndef KT_SCHEDULE_H
#define KT_SCHEDULE_H

#include <stddef.h>
#include "db/store.h"

/* Set the hours of one weekday (1..7): the location's opening hours
 * (staff_id NULL) or a person's working hours there. intervals as
 * validate.h ("" = closed / not working that day). was (cap bytes) gets
 * the previous intervals, or "not set". */
int schedule_set_hours(kt_store *st, const char *location_id, const char *staff_id, int weekday,
		       const char *intervals, char *was, size_t cap, char *err, size_t errlen) KT_MUST_CHECK;

/* A closed day (YYYY-MM-DD, local) of the location; reason may be NULL.
 * The same day again replaces its reason. */
int schedule_add_closed(kt_store *st, const char *location_id, const char *day, const char *reason, char *err,
			size_t errlen) KT_MUST_CHECK;

/* Time off [from_at, to_at) (ms UTC) of a staff member; reason may be NULL. */
int schedule_add_time_off(kt_store *st, const char *staff_id, int64_t from_at, int64_t to_at, const char *reason,
			  char id_out[KT_UUID_LEN + 1], char *err, size_t errlen) KT_MUST_CHECK;

/* Create (id NULL; name, duration and price required: id_out gets the new
 * id) or edit a service: the fields given (f, n: name, duration_min,
 * price_cents, location_ids, specialist_ids, buffer_min). The lists name
 * locations and staff of the service's organisation. */
int schedule_service_put(kt_store *st, const char *org, const char *id, const kt_field *f, int n,
			 char id_out[KT_UUID_LEN + 1], char *err, size_t errlen) KT_MUST_CHECK;

#endif
