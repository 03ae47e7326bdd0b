/* booking.c - the booking rules that judge a time and a place: opening
 * hours and closed days of the location, the specialist's working hours
 * and time off, which services the location offers and the specialist
 * does, double booking and buffer time. Times of day are judged as the
 * location's wall clock (kt_time, ICU), so 09:00 is 09:00 on the days
 * daylight saving time starts and ends. Reads only; never writes a
 * synced table (ops.c writes the appointment, this file its override's
 * audit entries). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "db/audit.h"
#include "db/validate.h"
#include "domain/booking.h"
#include "kt_time.h"
#include "kt_util.h"

#define NAME_CAP 64

static const char *const rule_names[OPS_RULE_COUNT] = {
	"overlap", "opening_hours", "closed_day", "working_hours", "time_off", "specialist_service",
	"location_service", "buffer"};

const char *ops_rule_name(unsigned rule)
{
	for (int i = 0; i < OPS_RULE_COUNT; i++)
		if (rule == 1u << i)
			return rule_names[i];
	return "none";
}

const char *ops_rule_names(void)
{
	return "overlap, opening_hours, closed_day, working_hours, time_off, specialist_service, "
	       "location_service, buffer";
}

unsigned ops_rules_parse(const char *list, size_t len)
{
	unsigned bits = 0;
	size_t i = 0;
	if (!list || !len)
		return 0;
	while (i <= len) {
		size_t n = 0;
		while (i + n < len && list[i + n] != ',')
			n++;
		unsigned bit = 0;
		for (int r = 0; r < OPS_RULE_COUNT; r++)
			if (strlen(rule_names[r]) == n && !memcmp(list + i, rule_names[r], n))
				bit = 1u << r;
		if (!bit)
			return 0;
		bits |= bit;
		i += n + 1;
	}
	return bits;
}

/* Prepare, bind (fmt: t text, T text or NULL, i int64) and step once:
 * KT_OK with *out on the row (store_finish it), KT_ENOT_FOUND, KT_EIO. */
static int q_row(kt_store *st, sqlite3_stmt **out, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *s = store_prepare(st, sql);
	va_list ap;
	int rc, i = 1;
	*out = NULL;
	if (!s)
		return KT_EIO;
	va_start(ap, fmt);
	for (const char *f = fmt; *f; f++, i++) {
		if (*f == 'i')
			sqlite3_bind_int64(s, i, va_arg(ap, int64_t));
		else {
			const char *t = va_arg(ap, const char *);
			if (t)
				sqlite3_bind_text(s, i, t, -1, SQLITE_STATIC);
			else
				sqlite3_bind_null(s, i);
		}
	}
	va_end(ap);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*out = s;
		return KT_OK;
	}
	store_finish(st, s);
	return rc == SQLITE_DONE ? KT_ENOT_FOUND : KT_EIO;
}

/* What the rules know about the appointment, read once. */
typedef struct rules {
	kt_store *st;
	const kt_booking *b;
	const char *self; /* the appointment's own id, NULL for a new one */
	unsigned allow;
	kt_booking_verdict *v;
	char *err;
	size_t errlen;
	char tz[72], loc[NAME_CAP], spec[NAME_CAP];
	bool zone_ok;
	kt_local ls, le;   /* local start and end */
	int smin, emin;    /* minutes of the start's day; emin > 1440 when it ends after midnight */
	char sday[11], eday[11];
	int64_t end;       /* the instant it ends */
	int buffer;        /* the longest buffer of its services, minutes */
	char buffer_svc[NAME_CAP];
} rules;

static void say(char *buf, size_t cap, const char *fmt, va_list ap)
{
	if (buf && cap)
		vsnprintf(buf, cap, fmt, ap);
}

/* A broken rule: refused with code and the sentence, or, when the caller
 * overrides it, noted in the verdict and let through. */
__attribute__((format(printf, 4, 5))) static int broke(rules *r, unsigned rule, int code, const char *fmt, ...)
{
	va_list ap;
	int i = 0;
	while (i < OPS_RULE_COUNT && rule != 1u << i)
		i++;
	va_start(ap, fmt);
	if (r->allow & rule) {
		r->v->overridden |= rule;
		say(r->v->why[i], sizeof r->v->why[i], fmt, ap);
		va_end(ap);
		return KT_OK;
	}
	say(r->err, r->errlen, fmt, ap);
	va_end(ap);
	return code;
}

__attribute__((format(printf, 3, 4))) static int fail(rules *r, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	say(r->err, r->errlen, fmt, ap);
	va_end(ap);
	return code;
}

static int db_fail(rules *r, int rc)
{
	return fail(r, rc == KT_ENOMEM ? rc : KT_EIO, "database error (%s)", kt_strerror(rc));
}

static const char *weekdays(int wd)
{
	static const char *const names[] = {"?", "Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays",
					    "Saturdays", "Sundays"};
	return wd >= 1 && wd <= 7 ? names[wd] : names[0];
}

static void hm(int min, char out[8])
{
	snprintf(out, 8, "%02d:%02d", (min / 60) % 25, min % 60);
}

/* "09:00-12:00, 13:00-19:00" from the stored "09:00-12:00,13:00-19:00" */
static void pretty_intervals(const char *iv, char *out, size_t cap)
{
	size_t o = 0;
	for (const char *p = iv; *p && o + 3 < cap; p++) {
		out[o++] = *p;
		if (*p == ',')
			out[o++] = ' ';
	}
	out[o] = 0;
}

static bool in_list(const char *list, const char *id)
{
	size_t n = strlen(id);
	for (const char *p = list; p && *p;) {
		size_t len = strcspn(p, ",");
		if (len == n && !memcmp(p, id, n))
			return true;
		p += len + (p[len] == ',');
	}
	return false;
}

static void copy_col(char *dst, size_t cap, sqlite3_stmt *s, int col)
{
	const unsigned char *t = sqlite3_column_text(s, col);
	kt_strcpy_cut(dst, cap, t ? (const char *)t : "");
}

/* The location's name and zone, the specialist's name, the local times. */
static int load_place(rules *r)
{
	const kt_booking *b = r->b;
	sqlite3_stmt *s;
	int rc = q_row(r->st, &s,
				     "SELECT l.name, l.time_zone, (SELECT display_name FROM staff WHERE id = ?2) "
				     "FROM location l WHERE l.id = ?1",
				     "tt", b->location_id, b->specialist_id);
	if (rc)
		return rc == KT_ENOT_FOUND ? fail(r, KT_EINVALID, "no location %s", b->location_id) : db_fail(r, rc);
	copy_col(r->loc, sizeof r->loc, s, 0);
	copy_col(r->tz, sizeof r->tz, s, 1);
	copy_col(r->spec, sizeof r->spec, s, 2);
	store_finish(r->st, s);
	r->end = b->start_at + b->duration_min * 60000;
	r->zone_ok = kt_time_to_local(r->tz, b->start_at, &r->ls) == KT_OK &&
		     kt_time_to_local(r->tz, r->end, &r->le) == KT_OK;
	if (!r->zone_ok)
		return KT_OK; /* said by the first rule that needs local times */
	snprintf(r->sday, sizeof r->sday, "%04d-%02d-%02d", r->ls.year, r->ls.month, r->ls.day);
	snprintf(r->eday, sizeof r->eday, "%04d-%02d-%02d", r->le.year, r->le.month, r->le.day);
	r->smin = r->ls.hour * 60 + r->ls.minute;
	r->emin = r->le.hour * 60 + r->le.minute;
	if (strcmp(r->sday, r->eday))
		r->emin += 1440; /* ends the next day: 24:00 at midnight, beyond every interval after */
	if (r->emin > 1440 && (r->emin > 1440 * 2 || r->le.hour || r->le.minute))
		r->emin = 1440 * 2; /* (a day later still: outside every day's hours) */
	return KT_OK;
}

static int need_zone(rules *r)
{
	return r->zone_ok ? KT_OK
			  : fail(r, KT_EINVALID,
				 "%s has the time zone '%s', which is not a known IANA zone: the hours cannot be judged",
				 r->loc, r->tz);
}

/* ---- the rules ---- */

/* Every service is offered at the location and done by the specialist;
 * the longest buffer is kept for the buffer rule. */
static int rule_services(rules *r)
{
	const kt_booking *b = r->b;
	for (const char *p = b->services; p && *p;) {
		size_t len = strcspn(p, ",");
		char sid[KT_UUID_LEN + 1], name[NAME_CAP], locs[2048], specs[2048], one[KT_UUID_LEN + 1];
		sqlite3_stmt *s;
		int rc, buffer;
		if (len != KT_UUID_LEN)
			return fail(r, KT_EINVALID, "services must be a comma list of service ids");
		memcpy(sid, p, len);
		sid[len] = 0;
		p += len + (p[len] == ',');
		rc = q_row(r->st, &s,
					 "SELECT name, coalesce(location_ids, ''), coalesce(specialist_ids, ''), "
					 "buffer_min, coalesce(location_id, '') FROM service WHERE id = ?1 AND org_id = ?2",
					 "tt", sid, b->org);
		if (rc)
			return rc == KT_ENOT_FOUND ? fail(r, KT_EINVALID, "no service %s in this organisation", sid)
						   : db_fail(r, rc);
		copy_col(name, sizeof name, s, 0);
		copy_col(locs, sizeof locs, s, 1);
		copy_col(specs, sizeof specs, s, 2);
		buffer = sqlite3_column_int(s, 3);
		copy_col(one, sizeof one, s, 4);
		store_finish(r->st, s);
		if (!locs[0]) /* a row written before the list: its one location, or every one */
			kt_strcpy_cut(locs, sizeof locs, one);
		if (locs[0] && !in_list(locs, b->location_id) &&
		    (rc = broke(r, OPS_RULE_LOCATION_SERVICE, KT_ESERVICE_NOT_AT_LOCATION,
				"%s does not offer %s (location_service)", r->loc, name)))
			return rc;
		if (specs[0] && !in_list(specs, b->specialist_id) &&
		    (rc = broke(r, OPS_RULE_SPECIALIST_SERVICE, KT_ESERVICE_NOT_BY_SPECIALIST,
				"%s does not do %s: it names its specialists (specialist_service)", r->spec, name)))
			return rc;
		if (buffer > r->buffer) {
			r->buffer = buffer;
			kt_strcpy_cut(r->buffer_svc, sizeof r->buffer_svc, name);
		}
	}
	return KT_OK;
}

static int rule_closed_day(rules *r)
{
	sqlite3_stmt *s;
	char day[11], reason[128];
	int rc = q_row(r->st, &s,
				     "SELECT day, coalesce(reason, '') FROM closed_day WHERE location_id = ?1 AND day "
				     "IN (?2, ?3) ORDER BY day LIMIT 1",
				     "ttt", r->b->location_id, r->sday, r->emin > 1440 ? r->eday : r->sday);
	if (rc == KT_ENOT_FOUND)
		return KT_OK;
	if (rc)
		return db_fail(r, rc);
	copy_col(day, sizeof day, s, 0);
	copy_col(reason, sizeof reason, s, 1);
	store_finish(r->st, s);
	return broke(r, OPS_RULE_CLOSED_DAY, KT_ELOCATION_CLOSED, "%s is closed on %s%s%s%s (closed_day)", r->loc, day,
		     reason[0] ? " (" : "", reason, reason[0] ? ")" : "");
}

/* The hours of one weekday from table `sql` (?1 location, ?2 weekday, ?3
 * staff): *set false when the location (or the person there) has none at
 * all; else *found and the intervals of that day ("" when none). */
static int day_hours(rules *r, const char *count_sql, const char *day_sql, bool *set, char *iv, size_t cap)
{
	sqlite3_stmt *s;
	char wd[2] = {(char)('0' + r->ls.weekday), 0};
	int rc = q_row(r->st, &s, count_sql, "tt", r->b->location_id, r->b->specialist_id);
	iv[0] = 0;
	if (rc)
		return db_fail(r, rc);
	*set = sqlite3_column_int(s, 0) > 0;
	store_finish(r->st, s);
	if (!*set)
		return KT_OK;
	rc = q_row(r->st, &s, day_sql, "ttt", r->b->location_id, wd, r->b->specialist_id);
	if (rc == KT_ENOT_FOUND)
		return KT_OK;
	if (rc)
		return db_fail(r, rc);
	copy_col(iv, cap, s, 0);
	store_finish(r->st, s);
	return KT_OK;
}

/* Is [smin, emin) inside one of the intervals? A stored value that does
 * not parse (written around the checks) holds nothing. */
static bool within(const rules *r, const char *iv)
{
	int mins[VALIDATE_MAX_INTERVALS][2], n;
	if (validate_intervals(iv, mins, VALIDATE_MAX_INTERVALS, &n, NULL, 0))
		return false;
	for (int i = 0; i < n; i++)
		if (mins[i][0] <= r->smin && r->emin <= mins[i][1])
			return true;
	return false;
}

static void span(const rules *r, char out[16])
{
	char a[8], b[8];
	hm(r->smin, a);
	hm(r->emin > 1440 ? r->emin - 1440 : r->emin, b);
	snprintf(out, 16, "%s-%s", a, b);
}

static int rule_opening_hours(rules *r)
{
	char iv[200], pretty[240], when[16];
	bool set;
	int rc = day_hours(r, "SELECT count(*) FROM opening_hours WHERE location_id = ?1 AND ?2 IS NOT NULL",
			   "SELECT intervals FROM opening_hours WHERE location_id = ?1 AND weekday = ?2 AND ?3 IS NOT NULL",
			   &set, iv, sizeof iv);
	if (rc || !set || within(r, iv))
		return rc;
	span(r, when);
	if (!iv[0])
		return broke(r, OPS_RULE_OPENING_HOURS, KT_EOUTSIDE_OPENING_HOURS,
			     "%s is closed on %s (%s); %s on %s is outside the opening hours (opening_hours)", r->loc,
			     weekdays(r->ls.weekday), r->tz, when, r->sday);
	pretty_intervals(iv, pretty, sizeof pretty);
	return broke(r, OPS_RULE_OPENING_HOURS, KT_EOUTSIDE_OPENING_HOURS,
		     "%s is open %s on %s (%s); %s on %s is outside (opening_hours)", r->loc, pretty,
		     weekdays(r->ls.weekday), r->tz, when, r->sday);
}

static int rule_working_hours(rules *r)
{
	char iv[200], pretty[240], when[16];
	bool set;
	int rc = day_hours(r, "SELECT count(*) FROM working_hours WHERE location_id = ?1 AND staff_id = ?2",
			   "SELECT intervals FROM working_hours WHERE location_id = ?1 AND weekday = ?2 AND staff_id = ?3",
			   &set, iv, sizeof iv);
	if (rc || !set || within(r, iv))
		return rc;
	span(r, when);
	if (!iv[0])
		return broke(r, OPS_RULE_WORKING_HOURS, KT_EOUTSIDE_WORKING_HOURS,
			     "%s does not work on %s at %s (%s); %s on %s is outside (working_hours)", r->spec,
			     weekdays(r->ls.weekday), r->loc, r->tz, when, r->sday);
	pretty_intervals(iv, pretty, sizeof pretty);
	return broke(r, OPS_RULE_WORKING_HOURS, KT_EOUTSIDE_WORKING_HOURS,
		     "%s works %s on %s at %s (%s); %s is outside (working_hours)", r->spec, pretty,
		     weekdays(r->ls.weekday), r->loc, r->tz, when);
}

static int rule_time_off(rules *r)
{
	sqlite3_stmt *s;
	char from[48], to[48], when[16];
	int rc = q_row(r->st, &s,
				     "SELECT from_at, to_at FROM time_off WHERE staff_id = ?1 AND from_at < ?3 AND "
				     "to_at > ?2 ORDER BY from_at LIMIT 1",
				     "tii", r->b->specialist_id, r->b->start_at, r->end);
	if (rc == KT_ENOT_FOUND)
		return KT_OK;
	if (rc)
		return db_fail(r, rc);
	/* (the reason is not said: reception books, and it is not theirs to read) */
	(void)kt_time_format(r->tz, sqlite3_column_int64(s, 0), from, sizeof from);
	(void)kt_time_format(r->tz, sqlite3_column_int64(s, 1), to, sizeof to);
	store_finish(r->st, s);
	span(r, when);
	return broke(r, OPS_RULE_TIME_OFF, KT_ESTAFF_TIME_OFF, "%s is off from %s to %s; %s on %s falls in it (time_off)",
		     r->spec, from, to, when, r->sday);
}

static int rule_overlap(rules *r)
{
	char other[KT_UUID_LEN + 1];
	int rc = booking_find_overlap(r->st, r->b->specialist_id, r->b->start_at, (int)r->b->duration_min, r->self, other);
	if (rc == KT_ECONFLICT) {
		memcpy(r->v->other, other, sizeof other);
		return broke(r, OPS_RULE_OVERLAP, KT_ECONFLICT, "the specialist is already booked then: appointment %s",
			     other);
	}
	if (rc == KT_EINVALID)
		return fail(r, rc, "start_at and duration_min must give a time range the overlap rule can check");
	return rc ? db_fail(r, rc) : KT_OK;
}

/* Buffer time: after this appointment (its services' longest buffer) no
 * other of the specialist's may start, and this one may not start in the
 * buffer of the one before it. */
static int rule_buffer(rules *r)
{
	static const char prev_sql[] =
		"SELECT a.id, a.start_at + a.duration_min * 60000, b.buf, b.name FROM appointment a JOIN "
		"(SELECT a2.id AS aid, max(s.buffer_min) AS buf, s.name AS name FROM appointment a2 JOIN service s ON "
		"instr(',' || a2.services || ',', ',' || s.id || ',') > 0 WHERE a2.specialist_id = ?1 AND "
		"a2.status <> 'cancelled' AND a2.start_at < ?2 AND a2.start_at >= ?2 - 2 * 86400000 GROUP BY a2.id) b "
		"ON b.aid = a.id WHERE a.start_at + a.duration_min * 60000 <= ?2 AND "
		"a.start_at + a.duration_min * 60000 + b.buf * 60000 > ?2 AND (?3 IS NULL OR a.id <> ?3) "
		"ORDER BY a.start_at DESC LIMIT 1";
	sqlite3_stmt *s;
	char other[KT_UUID_LEN + 1], at[48], name[NAME_CAP];
	int rc;
	if (r->buffer > 0) {
		rc = q_row(r->st, &s,
					 "SELECT id, start_at FROM appointment WHERE specialist_id = ?1 AND status <> "
					 "'cancelled' AND start_at >= ?2 AND start_at < ?3 AND (?4 IS NULL OR id <> ?4) "
					 "ORDER BY start_at LIMIT 1",
					 "tiiT", r->b->specialist_id, r->end, r->end + (int64_t)r->buffer * 60000, r->self);
		if (rc && rc != KT_ENOT_FOUND)
			return db_fail(r, rc);
		if (!rc) {
			copy_col(other, sizeof other, s, 0);
			(void)kt_time_format(r->tz, sqlite3_column_int64(s, 1), at, sizeof at);
			store_finish(r->st, s);
			memcpy(r->v->other, other, sizeof other);
			return broke(r, OPS_RULE_BUFFER, KT_EBUFFER_OVERLAP,
				     "%s needs %d minutes after it; %s's next booking starts at %s: appointment %s (buffer)",
				     r->buffer_svc, r->buffer, r->spec, at, other);
		}
	}
	rc = q_row(r->st, &s, prev_sql, "tiT", r->b->specialist_id, r->b->start_at, r->self);
	if (rc == KT_ENOT_FOUND)
		return KT_OK;
	if (rc)
		return db_fail(r, rc);
	copy_col(other, sizeof other, s, 0);
	(void)kt_time_format(r->tz, sqlite3_column_int64(s, 1), at, sizeof at);
	int buf = sqlite3_column_int(s, 2);
	copy_col(name, sizeof name, s, 3);
	store_finish(r->st, s);
	memcpy(r->v->other, other, sizeof other);
	return broke(r, OPS_RULE_BUFFER, KT_EBUFFER_OVERLAP,
		     "%s's booking before it (appointment %s, %s) ends at %s and needs %d minutes after it (buffer)",
		     r->spec, other, name, at, buf);
}

int booking_rules(kt_store *st, const char *id, const kt_booking *b, unsigned allow, kt_booking_verdict *v,
		  char *err, size_t errlen)
{
	rules r = {.st = st, .b = b, .self = id, .allow = allow, .v = v, .err = err, .errlen = errlen};
	int rc;
	if ((rc = load_place(&r)))
		return rc;
	if (!b->same_slot) {
		if ((rc = rule_services(&r)))
			return rc;
		if (r.zone_ok || (rc = need_zone(&r)) == KT_OK) {
			if ((rc = rule_closed_day(&r)) || (rc = rule_opening_hours(&r)) ||
			    (rc = rule_working_hours(&r)) || (rc = rule_time_off(&r)))
				return rc;
		} else
			return rc;
	}
	if ((rc = rule_overlap(&r)))
		return rc;
	return b->same_slot ? KT_OK : rule_buffer(&r);
}

int ops_booking_override_record(kt_store *st, const char *org, const char *id, const char *client_id,
				const char *location_id, const kt_booking_verdict *v, const char *reason)
{
	for (int i = 0; i < OPS_RULE_COUNT; i++) {
		unsigned bit = 1u << i;
		char action[40];
		json_t *o;
		if (!(v->overridden & bit))
			continue;
		/* the overlap's entry keeps the shape it always had */
		o = bit == OPS_RULE_OVERLAP ? json_pack("{s:s, s:s}", "overlaps", v->other, "reason", reason)
					    : json_pack("{s:s, s:s, s:s}", "rule", rule_names[i], "reason", reason, "why",
							v->why[i]);
		if (o && bit == OPS_RULE_BUFFER && v->other[0])
			json_object_set_new(o, "overlaps", json_string(v->other));
		char *after = o ? json_dumps(o, JSON_COMPACT) : NULL;
		int rc = KT_ENOMEM;
		json_decref(o);
		snprintf(action, sizeof action, "override:%s", rule_names[i]);
		if (after) {
			kt_audit_entry e = {org,         action, "appointment", id, client_id,
					    location_id, "start_at,duration_min,specialist_id", NULL, after};
			rc = audit_append(st, &e);
		}
		free(after);
		if (rc)
			return rc;
	}
	return KT_OK;
}

/* Read-only; see booking.h. Uses the (specialist_id, start_at) index. */
int booking_find_overlap(kt_store *st, const char *specialist_id, int64_t start_at, int duration_min,
			 const char *exclude_id, char conflict_id[KT_UUID_LEN + 1])
{
	static const char sql[] =
		"SELECT id FROM appointment WHERE specialist_id = ?1 AND status <> 'cancelled' "
		"AND start_at < ?3 AND start_at + duration_min * 60000 > ?2 "
		"AND (?4 IS NULL OR id <> ?4) ORDER BY start_at LIMIT 1";
	sqlite3_stmt *s = NULL;
	int rc;

	if (conflict_id)
		conflict_id[0] = 0;
	if (!st || !specialist_id || duration_min <= 0 || start_at < 0 || start_at >= OPS_MAX_TIME)
		return KT_EINVALID;
	if (sqlite3_prepare_v2(store_db(st), sql, -1, &s, NULL) != SQLITE_OK)
		return KT_EIO;
	sqlite3_bind_text(s, 1, specialist_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, start_at);
	sqlite3_bind_int64(s, 3, start_at + (int64_t)duration_min * 60000);
	if (exclude_id)
		sqlite3_bind_text(s, 4, exclude_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && conflict_id)
		snprintf(conflict_id, KT_UUID_LEN + 1, "%s", (const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? KT_ECONFLICT : rc == SQLITE_DONE ? KT_OK : KT_EIO;
}
