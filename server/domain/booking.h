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

#endif
