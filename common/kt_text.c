/* kt_text.c - see kt_text.h. Dates and zones through kt_time (ICU); case
 * folding through ICU's full folding, so matching a typed name never
 * depends on the C locale. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unicode/uchar.h>
#include <unicode/ustring.h>
#include "kt_err.h"
#include "kt_text.h"
#include "kt_time.h"

/* Only digits, 10 to 15 of them: milliseconds since 1970, the wire's form. */
static int epoch_ms(const char *s, int64_t *ms)
{
	size_t n = strlen(s);
	int64_t v = 0;
	if (n < 10 || n > 15 || strspn(s, "0123456789") != n)
		return KT_EINVALID;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	*ms = v;
	return KT_OK;
}

int kt_text_time_arg(const char *opt, const char *zone, const char *text, int64_t *ms, char *err, size_t errlen)
{
	char why[160];
	if (text && epoch_ms(text, ms) == KT_OK)
		return KT_OK;
	if (kt_time_parse(zone, text, ms, why, sizeof why) == KT_OK)
		return KT_OK;
	snprintf(err, errlen, "%s '%.40s': %s", opt, text ? text : "", why);
	return KT_EINVALID;
}

/* The first minute of a local day that exists: 00:00, or later on a day
 * whose midnight the clocks skip. */
static int day_start(const char *zone, int y, int m, int d, int64_t *ms)
{
	for (int min = 0; min < 12 * 60; min++)
		if (kt_time_from_local(zone, y, m, d, min / 60, min % 60, ms) == KT_OK)
			return KT_OK;
	return KT_EINVALID;
}

int kt_text_bound_arg(const char *opt, const char *zone, const char *text, int end_of_day, int64_t *ms,
		      char *err, size_t errlen)
{
	int y, m, d, n = 0;
	if (text && strlen(text) == 10 && sscanf(text, "%4d-%2d-%2d%n", &y, &m, &d, &n) == 3 && n == 10) {
		kt_local next;
		int64_t noon;
		/* noon exists on every day: the next day is found from there, so
		 * a 23- or 25-hour day still ends at the next local midnight */
		if (kt_time_from_local(zone, y, m, d, 12, 0, &noon) ||
		    kt_time_to_local(zone, noon + 24 * 3600000LL, &next) ||
		    (end_of_day ? day_start(zone, next.year, next.month, next.day, ms) : day_start(zone, y, m, d, ms))) {
			snprintf(err, errlen, "%s '%.40s': no such date (a date is YYYY-MM-DD)", opt, text);
			return KT_EINVALID;
		}
		return KT_OK;
	}
	return kt_text_time_arg(opt, zone, text, ms, err, errlen);
}

void kt_text_time(const char *zone, int64_t ms, char buf[KT_TEXT_TIME])
{
	if (ms <= 0) {
		snprintf(buf, KT_TEXT_TIME, "-");
		return;
	}
	/* without a valid zone kt_time_format writes the UTC time labelled "UTC" */
	(void)kt_time_format(zone, ms, buf, KT_TEXT_TIME);
}

void kt_text_iso(int64_t ms, char buf[KT_TEXT_TIME])
{
	kt_local l;
	if (ms <= 0 || kt_time_to_local("UTC", ms, &l) != KT_OK) {
		buf[0] = 0;
		return;
	}
	if (ms % 1000)
		snprintf(buf, KT_TEXT_TIME, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", l.year, l.month, l.day, l.hour,
			 l.minute, l.second, (int)(ms % 1000));
	else
		snprintf(buf, KT_TEXT_TIME, "%04d-%02d-%02dT%02d:%02d:%02dZ", l.year, l.month, l.day, l.hour, l.minute,
			 l.second);
}

int kt_text_fold(const char *in, char *out, size_t cap)
{
	UChar a[512], b[512];
	UErrorCode e = U_ZERO_ERROR;
	int32_t n;
	u_strFromUTF8(a, 512, &n, in, -1, &e);
	if (U_FAILURE(e) || e == U_STRING_NOT_TERMINATED_WARNING)
		return KT_EINVALID;
	e = U_ZERO_ERROR;
	n = u_strFoldCase(b, 512, a, n, U_FOLD_CASE_DEFAULT, &e);
	if (U_FAILURE(e) || n >= 512)
		return KT_EINVALID;
	e = U_ZERO_ERROR;
	u_strToUTF8(out, (int32_t)cap, NULL, b, n, &e);
	return U_FAILURE(e) || e == U_STRING_NOT_TERMINATED_WARNING ? KT_EINVALID : KT_OK;
}

int kt_text_name_match(const char *name, const char *typed)
{
	char f[1536];
	size_t n = strlen(typed);
	if (!name || !n || kt_text_fold(name, f, sizeof f) != KT_OK)
		return 0;
	if (!strcmp(f, typed))
		return 2;
	for (const char *w = f; w; w = strchr(w, ' '), w = w ? w + 1 : NULL)
		if (!strncmp(w, typed, n))
			return 1;
	return 0;
}

int kt_text_row_match(const char *id, const char *name, const char *email, const char *typed)
{
	char f[1536];
	size_t n = strlen(typed);
	int m = kt_text_name_match(name, typed);
	if (m < 2 && email && kt_text_fold(email, f, sizeof f) == KT_OK && !strcmp(f, typed))
		return 2;
	if (!m && id && n >= 4 && n <= 36 && strspn(typed, "0123456789abcdef-") == n && !strncmp(id, typed, n))
		return 1;
	return m;
}

void kt_text_mask_email(const char *e, char *out, size_t cap)
{
	const char *at = e ? strchr(e, '@') : NULL;
	if (!at) {
		if (cap)
			out[0] = 0;
		return;
	}
	snprintf(out, cap, "%.*s***%s", (int)(at - e < 2 ? at - e : 2), e, at);
}

void kt_text_mask_phone(const char *p, char *out, size_t cap)
{
	size_t n = p ? strlen(p) : 0, k = 0, digits = 0, seen = 0;
	if (!cap)
		return;
	for (size_t i = 0; i < n; i++)
		digits += p[i] >= '0' && p[i] <= '9';
	/* the first four characters ("+386") and the last three digits stay */
	for (size_t i = 0; i < n && k + 1 < cap; i++) {
		bool digit = p[i] >= '0' && p[i] <= '9';
		seen += digit;
		out[k++] = digit && i >= 4 && seen + 3 <= digits ? '*' : p[i];
	}
	out[k] = 0;
}
