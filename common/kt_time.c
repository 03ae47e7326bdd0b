/* kt_time.c - see kt_time.h. ICU's calendar does the zone rules (the tz
 * database it ships, including past and announced changes); nothing here
 * knows about daylight saving time except how to detect a skipped hour. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/ucal.h>
#include <unicode/udat.h>
#include <unicode/ustring.h>
#include "kt_err.h"
#include "kt_time.h"

#define ZONE_MAX 64

static UCalendar *open_zone(const char *zone)
{
	UChar z[ZONE_MAX];
	UErrorCode e = U_ZERO_ERROR;
	UBool system = 0;
	int32_t n;
	UChar canon[ZONE_MAX];

	if (!zone || !*zone || strlen(zone) >= ZONE_MAX)
		return NULL;
	u_uastrncpy(z, zone, ZONE_MAX);
	n = u_strlen(z);
	/* ICU opens any unknown id as GMT: accept only the ones it knows */
	ucal_getCanonicalTimeZoneID(z, n, canon, ZONE_MAX, &system, &e);
	if (U_FAILURE(e) || !system)
		return NULL;
	UCalendar *c = ucal_open(z, n, "en_US_POSIX", UCAL_GREGORIAN, &e);
	if (U_FAILURE(e)) {
		if (c)
			ucal_close(c);
		return NULL;
	}
	ucal_setAttribute(c, UCAL_REPEATED_WALL_TIME, UCAL_WALLTIME_FIRST);
	ucal_setAttribute(c, UCAL_SKIPPED_WALL_TIME, UCAL_WALLTIME_NEXT_VALID);
	return c;
}

bool kt_zone_valid(const char *zone)
{
	UCalendar *c = open_zone(zone);
	if (c)
		ucal_close(c);
	return c != NULL;
}

static void fields(UCalendar *c, kt_local *out)
{
	UErrorCode e = U_ZERO_ERROR;
	out->year = ucal_get(c, UCAL_YEAR, &e);
	if (ucal_get(c, UCAL_ERA, &e) == 0)
		out->year = 1 - out->year; /* BC: astronomical year numbering */
	out->month = ucal_get(c, UCAL_MONTH, &e) + 1;
	out->day = ucal_get(c, UCAL_DATE, &e);
	out->hour = ucal_get(c, UCAL_HOUR_OF_DAY, &e);
	out->minute = ucal_get(c, UCAL_MINUTE, &e);
	out->second = ucal_get(c, UCAL_SECOND, &e);
	out->weekday = (ucal_get(c, UCAL_DAY_OF_WEEK, &e) + 5) % 7 + 1; /* ICU: Sunday 1 */
	out->offset_min = (ucal_get(c, UCAL_ZONE_OFFSET, &e) + ucal_get(c, UCAL_DST_OFFSET, &e)) / 60000;
}

int kt_time_to_local(const char *zone, int64_t ms, kt_local *out)
{
	UErrorCode e = U_ZERO_ERROR;
	UCalendar *c = open_zone(zone);
	if (!c)
		return KT_EINVALID;
	ucal_setMillis(c, (UDate)ms, &e);
	fields(c, out);
	ucal_close(c);
	return U_FAILURE(e) ? KT_EINVALID : KT_OK;
}

int kt_time_from_local(const char *zone, int year, int month, int day, int hour, int minute, int64_t *ms)
{
	UErrorCode e = U_ZERO_ERROR;
	kt_local back;
	UCalendar *c;

	if (month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 || minute < 0 || minute > 59)
		return KT_EINVALID;
	if (!(c = open_zone(zone)))
		return KT_EINVALID;
	ucal_clear(c);
	ucal_setDateTime(c, year, month - 1, day, hour, minute, 0, &e);
	UDate t = ucal_getMillis(c, &e);
	fields(c, &back);
	ucal_close(c);
	if (U_FAILURE(e))
		return KT_EINVALID;
	/* a skipped hour moves to the next valid time, and 31 February
	 * rolls into March: either way the fields do not come back */
	if (back.year != year || back.month != month || back.day != day || back.hour != hour || back.minute != minute)
		return KT_EINVALID;
	*ms = (int64_t)t;
	return KT_OK;
}

static int why_set(char *why, size_t cap, const char *text)
{
	if (why && cap)
		snprintf(why, cap, "%s", text);
	return KT_EINVALID;
}

int kt_time_parse(const char *zone, const char *text, int64_t *ms, char *why, size_t cap)
{
	int y, mo, d, h, mi, s = 0, n = 0, oh = 0, om = 0;
	char sep, sign = 0;
	const char *p;

	if (!text || sscanf(text, "%4d-%2d-%2d%c%2d:%2d%n", &y, &mo, &d, &sep, &h, &mi, &n) != 6 ||
	    (sep != ' ' && sep != 'T'))
		return why_set(why, cap, "a time is YYYY-MM-DD HH:MM (local), optionally with :SS and an offset "
					 "such as +01:00 or Z");
	p = text + n;
	if (p[0] == ':') {
		int k = 0;
		if (sscanf(p, ":%2d%n", &s, &k) != 1 || s < 0 || s > 59)
			return why_set(why, cap, "seconds are 00-59");
		p += k;
	}
	if (*p == 'Z' && !p[1]) {
		sign = '+';
	} else if ((*p == '+' || *p == '-') && (sscanf(p + 1, "%2d:%2d", &oh, &om) == 2) && strlen(p) == 6) {
		sign = *p;
		if (oh > 14 || om > 59)
			return why_set(why, cap, "an offset is at most +14:00");
	} else if (*p) {
		return why_set(why, cap, "unexpected text after the time; an offset is +HH:MM, -HH:MM or Z");
	}
	if (sign) { /* an explicit offset: no zone rules apply */
		int64_t t;
		if (kt_time_from_local("UTC", y, mo, d, h, mi, &t))
			return why_set(why, cap, "no such date or time");
		t += (int64_t)s * 1000;
		t -= (sign == '-' ? -1 : 1) * ((int64_t)oh * 60 + om) * 60000;
		*ms = t;
		return KT_OK;
	}
	if (!kt_zone_valid(zone))
		return why_set(why, cap, "the location has no valid time zone");
	if (kt_time_from_local(zone, y, mo, d, h, mi, ms)) {
		int64_t probe;
		/* the date exists but this minute of it does not: a DST gap */
		if (kt_time_from_local("UTC", y, mo, d, h, mi, &probe) == KT_OK && why && cap)
			snprintf(why, cap, "%04d-%02d-%02d %02d:%02d does not exist in %s (the clocks skip it)", y, mo,
				 d, h, mi, zone);
		else
			why_set(why, cap, "no such date or time");
		return KT_EINVALID;
	}
	*ms += (int64_t)s * 1000;
	return KT_OK;
}

/* ICU's formatter with a fixed pattern or a locale's medium style. */
static int format(const char *zone, const char *locale, const UChar *pattern, int64_t ms, char *buf, size_t cap)
{
	UChar z[ZONE_MAX], out[128];
	UErrorCode e = U_ZERO_ERROR;
	UDateFormat *f;
	int32_t n;

	if (!kt_zone_valid(zone))
		return KT_EINVALID;
	u_uastrncpy(z, zone, ZONE_MAX);
	f = pattern ? udat_open(UDAT_PATTERN, UDAT_PATTERN, locale, z, -1, pattern, -1, &e)
		    : udat_open(UDAT_SHORT, UDAT_MEDIUM, locale, z, -1, NULL, 0, &e);
	if (U_FAILURE(e))
		return KT_EINVALID;
	n = udat_format(f, (UDate)ms, out, 128, NULL, &e);
	udat_close(f);
	if (U_FAILURE(e) || n >= 128)
		return KT_EINVALID;
	u_strToUTF8(buf, (int32_t)cap, NULL, out, n, &e);
	return U_FAILURE(e) || e == U_STRING_NOT_TERMINATED_WARNING ? KT_EINVALID : KT_OK;
}

static void utc_fallback(int64_t ms, char *buf, size_t cap)
{
	kt_local l;
	if (kt_time_to_local("UTC", ms, &l) == KT_OK)
		snprintf(buf, cap, "%04d-%02d-%02d %02d:%02d UTC", l.year, l.month, l.day, l.hour, l.minute);
	else if (cap)
		buf[0] = 0;
}

int kt_time_format(const char *zone, int64_t ms, char *buf, size_t cap)
{
	static const UChar pat[] = u"yyyy-MM-dd HH:mm z";
	/* the zone's short name where people use one ("CET" in Europe's
	 * English, "EST" in America's), else its offset ("GMT+3") */
	int rc = format(zone, "en_150", pat, ms, buf, cap);
	if (!rc && strstr(buf, " GMT"))
		rc = format(zone, "en", pat, ms, buf, cap);
	if (rc)
		utc_fallback(ms, buf, cap);
	return rc;
}

int kt_date_format(const char *zone, int64_t ms, char *buf, size_t cap)
{
	static const UChar pat[] = u"yyyy-MM-dd";
	return format(zone, "en_US_POSIX", pat, ms, buf, cap);
}

int kt_time_format_locale(const char *zone, const char *locale, int64_t ms, char *buf, size_t cap)
{
	UChar z[ZONE_MAX], pat[96];
	UErrorCode e = U_ZERO_ERROR;
	int32_t n;
	int rc;

	/* the language's medium date, short time, then the zone's short name */
	UDateFormat *f;
	if (!kt_zone_valid(zone))
		return KT_EINVALID;
	u_uastrncpy(z, zone, ZONE_MAX);
	f = udat_open(UDAT_SHORT, UDAT_MEDIUM, locale, z, -1, NULL, 0, &e);
	if (U_FAILURE(e))
		return KT_EINVALID;
	n = udat_toPattern(f, false, pat, 90, &e);
	udat_close(f);
	if (U_FAILURE(e) || n > 90)
		return KT_EINVALID;
	u_strcat(pat, u" z");
	rc = format(zone, locale, pat, ms, buf, cap);
	return rc;
}

/* ---- formatters kept per thread (kt_time_format_styles) ---- */

#define STYLE_CACHE 8
typedef struct style_fmt {
	char zone[ZONE_MAX], locale[32];
	int date_style, time_style;
	UDateFormat *f;
} style_fmt;
typedef struct style_cache {
	style_fmt e[STYLE_CACHE];
	int next;
} style_cache;

static pthread_key_t style_key;
static pthread_once_t style_once = PTHREAD_ONCE_INIT;

static void style_cache_free(void *p)
{
	style_cache *c = p;
	for (int i = 0; c && i < STYLE_CACHE; i++)
		if (c->e[i].f)
			udat_close(c->e[i].f);
	free(c);
}

static void style_key_make(void)
{
	(void)pthread_key_create(&style_key, style_cache_free);
}

/* The thread's formatter for (zone, locale, styles); NULL when ICU refuses. */
static UDateFormat *style_fmt_get(const char *zone, const char *locale, int ds, int ts)
{
	style_cache *c;
	UChar z[ZONE_MAX];
	UErrorCode e = U_ZERO_ERROR;
	pthread_once(&style_once, style_key_make);
	if (!(c = pthread_getspecific(style_key))) {
		if (!(c = calloc(1, sizeof *c)) || pthread_setspecific(style_key, c)) {
			free(c);
			return NULL;
		}
	}
	for (int i = 0; i < STYLE_CACHE; i++)
		if (c->e[i].f && c->e[i].date_style == ds && c->e[i].time_style == ts && !strcmp(c->e[i].zone, zone) &&
		    !strcmp(c->e[i].locale, locale))
			return c->e[i].f;
	if (strlen(zone) >= ZONE_MAX || strlen(locale) >= sizeof c->e[0].locale || !kt_zone_valid(zone))
		return NULL;
	u_uastrncpy(z, zone, ZONE_MAX);
	UDateFormat *f = udat_open(ts < 0 ? UDAT_NONE : (UDateFormatStyle)ts, ds < 0 ? UDAT_NONE : (UDateFormatStyle)ds,
				   locale, z, -1, NULL, 0, &e);
	if (U_FAILURE(e)) {
		if (f)
			udat_close(f);
		return NULL;
	}
	style_fmt *slot = &c->e[c->next];
	c->next = (c->next + 1) % STYLE_CACHE;
	if (slot->f)
		udat_close(slot->f);
	snprintf(slot->zone, sizeof slot->zone, "%s", zone);
	snprintf(slot->locale, sizeof slot->locale, "%s", locale);
	slot->date_style = ds;
	slot->time_style = ts;
	slot->f = f;
	return f;
}

static int style_one(const char *zone, const char *locale, int64_t ms, int ds, int ts, char *buf, size_t cap)
{
	UChar out[128];
	UErrorCode e = U_ZERO_ERROR;
	UDateFormat *f = style_fmt_get(zone, locale, ds, ts);
	int32_t n;
	if (!f)
		return KT_EINVALID;
	n = udat_format(f, (UDate)ms, out, 128, NULL, &e);
	if (U_FAILURE(e) || n >= 128)
		return KT_EINVALID;
	u_strToUTF8(buf, (int32_t)cap, NULL, out, n, &e);
	return U_FAILURE(e) || e == U_STRING_NOT_TERMINATED_WARNING ? KT_EINVALID : KT_OK;
}

int kt_time_format_styles(const char *zone, const char *locale, int64_t ms, int date_style, char *date, size_t dcap,
			  int time_style, char *time, size_t tcap)
{
	int rc = KT_OK;
	if (!zone || !locale)
		return KT_EINVALID;
	if (date_style >= 0 && (rc = style_one(zone, locale, ms, date_style, -1, date, dcap)))
		return rc;
	if (time_style >= 0)
		rc = style_one(zone, locale, ms, -1, time_style, time, tcap);
	return rc;
}
