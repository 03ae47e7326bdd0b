/* validate.h - what a field's value may be, per table and column: the one
 * set of rules behind every write (device pushes, admin commands, and the
 * store itself as the last line). Types are the decoder's business; these
 * rules say which well-typed values make sense (a real date, a time this
 * century, 1-1440 minutes, a known status). Never reads the database. */
#ifndef KT_VALIDATE_H
#define KT_VALIDATE_H

#include <stddef.h>
#include "db/model.h"
#include "db/store.h"

/* One value in the store's text form (NULL = SQL NULL, always allowed
 * here). KT_OK, or KT_EINVALID with why (caller's buffer) naming the field
 * and the rule, e.g. "birthday must be YYYY-MM-DD (a real date ...)". */
int validate_field(const kt_table *t, const char *col, const char *text, char *why, size_t cap) KT_MUST_CHECK;
/* Every field of a write; stops at the first one refused. */
int validate_fields(const kt_table *t, const kt_field *f, int n, char *why, size_t cap) KT_MUST_CHECK;

/* Appointment times the rules accept: [VALIDATE_TIME_MIN, VALIDATE_TIME_MAX). */
#define VALIDATE_TIME_MIN 946684800000LL  /* 2000-01-01T00:00:00Z: before it, seconds were sent as ms */
#define VALIDATE_TIME_MAX 4102444800000LL /* 2100-01-01T00:00:00Z */
#define VALIDATE_MAX_MINUTES 1440

/* Hours of a day (opening_hours, working_hours .intervals): local wall
 * times "HH:MM-HH:MM" joined by ',', each from < to (an end may be 24:00),
 * ascending and apart; "" is a day off. */
#define VALIDATE_MAX_INTERVALS 8
/* Parse intervals into minutes of the day (out[i][0] from, out[i][1] to).
 * KT_OK with *n, or KT_EINVALID with why naming the field and the rule. */
int validate_intervals(const char *text, int out[][2], int cap, int *n, char *why, size_t whycap) KT_MUST_CHECK;
/* "mon".."sun" or "monday".. or "1".."7" to an ISO weekday; 0 when not. */
int validate_weekday(const char *name);
#define VALIDATE_MAX_BUFFER 240 /* minutes of buffer time after a service */
#define VALIDATE_MAX_REASON 500 /* closed_day and time_off reason, appointment status_reason */

/* organisation.privacy_notice: plain text of at most VALIDATE_MAX_NOTICE
 * bytes of UTF-8 with something besides white space in it, no control
 * characters besides the newline (paragraphs are apart by a blank line).
 * KT_OK, or KT_EINVALID with why naming the line and the rule. */
#define VALIDATE_MAX_NOTICE (64 * 1024)
int validate_notice(const char *text, size_t len, char *why, size_t cap) KT_MUST_CHECK;

/* One plain deliverable address (local@domain; no lists, spaces, angle
 * brackets, quotes or control characters). */
bool validate_mail_address(const char *addr);

#endif
