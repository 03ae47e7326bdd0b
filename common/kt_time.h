/* kt_time.h - wall-clock time at a place: instants (milliseconds since 1970,
 * UTC, as stored and sent) to and from the local date and time in an IANA
 * time zone, through ICU. People type and read local times; the database
 * and the wire keep instants. Thread-safe: every call opens its own ICU
 * calendar. */
#ifndef KT_TIME_H
#define KT_TIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct kt_local {
	int year, month, day;   /* month 1-12 */
	int hour, minute, second;
	int weekday;            /* ISO: 1 Monday ... 7 Sunday */
	int offset_min;         /* local minus UTC, DST included */
} kt_local;

/* Is zone an IANA time zone ICU knows ("Europe/Ljubljana"; "UTC")? */
bool kt_zone_valid(const char *zone);

/* The local date and time of instant ms in zone. KT_OK or KT_EINVALID (zone). */
int kt_time_to_local(const char *zone, int64_t ms, kt_local *out);

/* The instant of a local date and time in zone. A time that does not exist
 * there (the hour skipped when daylight saving time starts) is KT_EINVALID;
 * a time that exists twice (the hour repeated when it ends) is the first. */
int kt_time_from_local(const char *zone, int year, int month, int day, int hour, int minute, int64_t *ms);

/* A time as people type it, local to zone unless it carries an offset:
 * "2027-01-15 09:30", "2027-01-15T09:30", "2027-01-15 09:30:00",
 * "2027-01-15 09:30+01:00", "2027-01-15T08:30:00Z". KT_OK and *ms, or
 * KT_EINVALID with why (names the rule: the form, or the skipped hour). */
int kt_time_parse(const char *zone, const char *text, int64_t *ms, char *why, size_t cap);

/* "2027-01-15 09:30 CET": local time and the zone's short name, for
 * people. KT_OK, or KT_EINVALID (zone; buf then holds the UTC time). */
int kt_time_format(const char *zone, int64_t ms, char *buf, size_t cap);

/* "2027-01-15": the local date of ms in zone. */
int kt_date_format(const char *zone, int64_t ms, char *buf, size_t cap);

/* The date and time in a language's own form ("15. jan. 2027 09:30" for
 * "sl"), with the zone's name, for text that people read (mail). */
int kt_time_format_locale(const char *zone, const char *locale, int64_t ms, char *buf, size_t cap);

/* The date and the time apart, each in a language's own words and one of
 * ICU's styles (KT_STYLE_*; KT_STYLE_NONE leaves that buffer alone): "torek,
 * 8. december 2026" (sl, full date), "14:30" (short time). For messages:
 * the formatters are kept per thread (a planner formats thousands a
 * second), closed when the thread ends. KT_OK or KT_EINVALID. */
enum { KT_STYLE_NONE = -1, KT_STYLE_FULL = 0, KT_STYLE_LONG = 1, KT_STYLE_MEDIUM = 2, KT_STYLE_SHORT = 3 };
int kt_time_format_styles(const char *zone, const char *locale, int64_t ms, int date_style, char *date, size_t dcap,
			  int time_style, char *time, size_t tcap);

#endif
