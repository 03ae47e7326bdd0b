/* validate.c - the value rules of validate.h. Each message names the field
 * and the rule, so a device can show it as it is. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "kt_mp.h"
#include "kt_util.h"
#include "db/validate.h"

#define refuse(why, cap, ...) kt_fail(why, cap, KT_EINVALID, __VA_ARGS__)

static bool parse_int(const char *s, long long *out)
{
	char *end;
	errno = 0;
	*out = strtoll(s, &end, 10);
	return !errno && end != s && !*end;
}

/* YYYY-MM-DD, a day that exists, year from..to. */
static bool valid_date(const char *s, int from, int to)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, m, d;
	for (int i = 0; i < 10; i++)
		if ((i == 4 || i == 7) ? s[i] != '-' : (s[i] < '0' || s[i] > '9'))
			return false;
	if (s[10])
		return false;
	y = atoi(s);
	m = atoi(s + 5);
	d = atoi(s + 8);
	if (y < from || y > to || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return false;
	return m != 2 || d < 29 || (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0));
}

/* Tomorrow (UTC) as YYYY-MM-DD: a birthday "today" somewhere east of UTC
 * is still allowed. */
static void tomorrow(char out[11])
{
	time_t t = time(NULL) + 24 * 3600;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

/* An IANA name such as Europe/Ljubljana or UTC (its existence is ICU's
 * business when it is used). */
static bool valid_zone(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64 || s[0] == '/' || strstr(s, ".."))
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '/' ||
		      *p == '_' || *p == '-' || *p == '+'))
			return false;
	return true;
}

static bool one_of(const char *s, const char *const *set)
{
	for (; *set; set++)
		if (!strcmp(s, *set))
			return true;
	return false;
}

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), m = strlen(tail);
	return n >= m && !strcmp(s + n - m, tail);
}

/* "HH:MM" (24:00 only as an end) to minutes of the day; -1 when not. */
static int hhmm(const char *s, bool end)
{
	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' || s[2] != ':' || s[3] < '0' || s[3] > '5' ||
	    s[4] < '0' || s[4] > '9')
		return -1;
	int h = (s[0] - '0') * 10 + s[1] - '0', m = (s[3] - '0') * 10 + s[4] - '0';
	if (h > 24 || (h == 24 && (m || !end)))
		return -1;
	return h * 60 + m;
}

int validate_intervals(const char *text, int out[][2], int cap, int *n, char *why, size_t whycap)
{
	*n = 0;
	for (const char *p = text; p && *p;) {
		int a, b;
		if (strlen(p) < 11 || p[5] != '-' || (p[11] && p[11] != ',') || (a = hhmm(p, false)) < 0 ||
		    (b = hhmm(p + 6, true)) < 0)
			return refuse(why, whycap, "intervals must be HH:MM-HH:MM joined by commas, e.g. "
					      "09:00-12:00,13:00-19:00 (local time)");
		if (a >= b)
			return refuse(why, whycap, "intervals: %.5s-%.5s must start before it ends", p, p + 6);
		if (*n && a <= out[*n - 1][1])
			return refuse(why, whycap, "intervals: %.5s-%.5s must come after the one before it, with a "
					      "gap (join touching intervals into one)", p, p + 6);
		if (*n == cap)
			return refuse(why, whycap, "intervals: at most %d in a day", cap);
		out[*n][0] = a;
		out[*n][1] = b;
		(*n)++;
		p += p[11] ? 12 : 11;
		if (p[-1] == ',' && !*p)
			return refuse(why, whycap, "intervals must not end with a comma");
	}
	return KT_OK;
}

int validate_weekday(const char *s)
{
	static const char *const names[] = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
					    "sunday"};
	size_t n = s ? strlen(s) : 0;
	if (n == 1 && s[0] >= '1' && s[0] <= '7')
		return s[0] - '0';
	for (int i = 0; n >= 3 && i < 7; i++)
		if (n <= strlen(names[i]) && !strncasecmp(s, names[i], n))
			return i + 1;
	return 0;
}

/* The columns of the schedule tables (opening_hours, closed_day,
 * working_hours, time_off) and the service's lists; -1 when the column is
 * none of them, else the verdict. */
static int schedule_field(const char *tbl, const char *col, const char *text, char *why, size_t cap)
{
	long long v;
	if (!strcmp(col, "weekday"))
		return parse_int(text, &v) && v >= 1 && v <= 7
			       ? KT_OK
			       : refuse(why, cap, "weekday must be 1 (Monday) to 7 (Sunday)");
	if (!strcmp(col, "intervals")) {
		int iv[VALIDATE_MAX_INTERVALS][2], n;
		return validate_intervals(text, iv, VALIDATE_MAX_INTERVALS, &n, why, cap);
	}
	if (!strcmp(tbl, "closed_day") && !strcmp(col, "day"))
		return valid_date(text, 2000, 2099) ? KT_OK
						    : refuse(why, cap, "day must be YYYY-MM-DD (a real date, 2000-2099)");
	if (!strcmp(col, "from_at") || !strcmp(col, "to_at"))
		return parse_int(text, &v) && v >= VALIDATE_TIME_MIN && v < VALIDATE_TIME_MAX
			       ? KT_OK
			       : refuse(why, cap, "%s must be a time from 2000-01-01 to 2099-12-31 in ms since 1970 (UTC)",
					col);
	if (!strcmp(col, "buffer_min"))
		return parse_int(text, &v) && v >= 0 && v <= VALIDATE_MAX_BUFFER
			       ? KT_OK
			       : refuse(why, cap, "buffer_min must be whole minutes from 0 to %d", VALIDATE_MAX_BUFFER);
	if (!strcmp(col, "location_ids") || !strcmp(col, "specialist_ids"))
		return kt_uuid_list_valid(text) ? KT_OK
						: refuse(why, cap, "%s must be a list of %s ids (UUIDs)", col,
							 col[0] == 'l' ? "location" : "staff");
	if (!strcmp(col, "reason"))
		return strlen(text) <= VALIDATE_MAX_REASON && kt_utf8_valid((const uint8_t *)text, strlen(text))
			       ? KT_OK
			       : refuse(why, cap, "reason must be text of at most %d bytes", VALIDATE_MAX_REASON);
	return -1;
}

int validate_notice(const char *text, size_t len, char *why, size_t cap)
{
	const unsigned char *s = (const unsigned char *)text;
	int line = 1;
	bool words = false;
	if (len > VALIDATE_MAX_NOTICE)
		return refuse(why, cap, "privacy_notice: at most %d bytes (64 KiB); this one has %zu", VALIDATE_MAX_NOTICE,
			      len);
	if (!kt_utf8_valid(s, len))
		return refuse(why, cap, "privacy_notice: text in UTF-8");
	for (size_t i = 0; i < len; i++) {
		/* C0 controls but the newline, DEL, and C1 controls (U+0080..U+009F: C2 80..C2 9F) */
		bool c1 = s[i] == 0xC2 && i + 1 < len && s[i + 1] >= 0x80 && s[i + 1] <= 0x9F;
		if ((s[i] < 0x20 && s[i] != '\n') || s[i] == 0x7F || c1)
			return refuse(why, cap,
				      "privacy_notice: line %d has a control character (U+%04X); plain text only, "
				      "paragraphs apart by a blank line",
				      line, c1 ? s[i + 1] : s[i]);
		if (s[i] == '\n')
			line++;
		else if (s[i] != ' ')
			words = true;
	}
	if (!words)
		return refuse(why, cap, "privacy_notice: empty; clear the notice instead");
	return KT_OK;
}

int validate_field(const kt_table *t, const char *col, const char *text, char *why, size_t cap)
{
	static const char *const statuses[] = {"booked", "confirmed", "cancelled", "no_show", "done", NULL};
	static const char *const languages[] = {"sl", "de", "pl", "fi", "en", NULL};
	static const char *const roles[] = {"owner", "manager", "reception", "specialist", NULL};
	int c = t ? kt_col_index(t, col) : -1;
	const char *tbl = t ? t->name : "";
	long long v;

	if (c < 0)
		return refuse(why, cap, "%s is not a field of this table", col);
	if (!text)
		return KT_OK; /* clearing; which fields a row needs is the writer's rule */
	int sc = schedule_field(tbl, col, text, why, cap);
	if (sc >= 0)
		return sc;
	switch (t->cols[c].type) {
	case KT_COL_INT:
		if (!parse_int(text, &v))
			return refuse(why, cap, "%s must be a whole number", col);
		if (!strcmp(col, "duration_min") && (v < 1 || v > VALIDATE_MAX_MINUTES))
			return refuse(why, cap, "%s must be whole minutes from 1 to 1440", col);
		if (!strcmp(tbl, "appointment") && !strcmp(col, "start_at") &&
		    (v < VALIDATE_TIME_MIN || v >= VALIDATE_TIME_MAX))
			return refuse(why, cap,
				      "%s must be a time from 2000-01-01 to 2099-12-31 in ms since 1970 (UTC)", col);
		if (!strcmp(col, "price_cents") && (v < 0 || v > 100000000))
			return refuse(why, cap, "%s must be 0 to 100000000 (cents)", col);
		return KT_OK;
	case KT_COL_BOOL:
		return !strcmp(text, "0") || !strcmp(text, "1") ? KT_OK : refuse(why, cap, "%s must be true or false", col);
	case KT_COL_LIST:
		if (!strcmp(col, "services") && !kt_uuid_list_valid(text))
			return refuse(why, cap, "%s must be a list of service ids (UUIDs)", col);
		return KT_OK;
	case KT_COL_NAMES: /* written by the store alone (store_write.c) */
		return refuse(why, cap, "%s is set by the server", col);
	case KT_COL_TEXT:
		break;
	}
	if (ends_with(col, "_id") && !kt_uuid_valid(text, strlen(text)))
		return refuse(why, cap, "%s must be an id (a UUID in canonical lower-case form)", col);
	if (!strcmp(tbl, "organisation") && !strcmp(col, "privacy_notice"))
		return validate_notice(text, strlen(text), why, cap);
	if (!strcmp(col, "birthday")) {
		char limit[11];
		tomorrow(limit);
		if (!valid_date(text, 1900, 9999) || strcmp(text, limit) > 0)
			return refuse(why, cap, "%s must be YYYY-MM-DD (a real date, from 1900 until today)", col);
	}
	if (!strcmp(col, "visit_date") && !valid_date(text, 1900, 2099))
		return refuse(why, cap, "%s must be YYYY-MM-DD (a real date)", col);
	if (!strcmp(tbl, "appointment") && !strcmp(col, "status") && !one_of(text, statuses))
		return refuse(why, cap, "%s must be booked, confirmed, cancelled, no_show or done", col);
	/* why it was cancelled or a no-show: a line for the calendar, not a file */
	if (!strcmp(tbl, "appointment") && !strcmp(col, "status_reason") &&
	    (strlen(text) > VALIDATE_MAX_REASON || !kt_utf8_valid((const uint8_t *)text, strlen(text))))
		return refuse(why, cap, "%s must be text of at most %d bytes", col, VALIDATE_MAX_REASON);
	if (!strcmp(tbl, "staff") && !strcmp(col, "role") && !one_of(text, roles))
		return refuse(why, cap, "%s must be owner, manager, reception or specialist", col);
	/* the languages messages are written in (templates.c); "" = the salon's */
	if (!strcmp(tbl, "client") && !strcmp(col, "language") && *text && !one_of(text, languages))
		return refuse(why, cap, "%s must be one of sl, de, pl, fi, en (or empty: the salon's language)", col);
	if (!strcmp(col, "time_zone") && !valid_zone(text))
		return refuse(why, cap, "%s must be an IANA time zone name such as Europe/Ljubljana", col);
	if ((!strcmp(col, "name") || !strcmp(col, "display_name")) && !text[0])
		return refuse(why, cap, "%s cannot be empty", col);
	return KT_OK;
}

int validate_fields(const kt_table *t, const kt_field *f, int n, char *why, size_t cap)
{
	const char *from = NULL, *to = NULL;
	for (int i = 0; i < n; i++) {
		int rc = validate_field(t, f[i].name, f[i].text, why, cap);
		if (rc)
			return rc;
		if (!strcmp(f[i].name, "from_at"))
			from = f[i].text;
		else if (!strcmp(f[i].name, "to_at"))
			to = f[i].text;
	}
	/* (one of the two alone: the database's CHECK holds the pair) */
	if (from && to && strtoll(from, NULL, 10) >= strtoll(to, NULL, 10))
		return refuse(why, cap, "from_at must be before to_at");
	return KT_OK;
}

/* One plain address: local@domain, no spaces, lists, angle brackets,
 * quotes or control characters (it goes into To: and RCPT TO:<...>). */
bool validate_mail_address(const char *a)
{
	const char *at = strchr(a, '@');
	if (!at || at == a || !at[1] || strchr(at + 1, '@') || strlen(a) > 254)
		return false;
	for (const unsigned char *p = (const unsigned char *)a; *p; p++)
		if (*p <= ' ' || *p == 0x7f || strchr("<>,;:\"()[]\\", *p))
			return false;
	return true;
}
