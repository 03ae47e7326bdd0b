/* booking.h - the booking rules about time and place (booking.c), behind
 * ops_booking_check (ops.h), which checks the references first. Nothing
 * else calls them: every path that books goes through ops_booking_check. */
#ifndef KT_BOOKING_H
#define KT_BOOKING_H

#include "domain/ops.h"

/* The rules in ops.h's order, for an appointment whose references
 * (location, client, specialist, services) exist in b->org. */
int booking_rules(kt_store *st, const char *id, const kt_booking *b, unsigned allow, kt_booking_verdict *v,
		  char *err, size_t errlen) KT_MUST_CHECK;

/* Read-only: find a non-cancelled appointment of the specialist that
 * overlaps [start_at, start_at + duration_min) other than exclude_id (may be
 * NULL). KT_OK when there is none; KT_ECONFLICT with its id in conflict_id
 * (may be NULL) when there is; KT_EIO on a database error. */
int booking_find_overlap(kt_store *st, const char *specialist_id, int64_t start_at, int duration_min,
			  const char *exclude_id, char conflict_id[KT_UUID_LEN + 1]) KT_MUST_CHECK;

#endif
