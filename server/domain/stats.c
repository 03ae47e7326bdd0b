/* stats.c - see stats.h. The answers of the range (and of the periods just
 * before it, for the trend) are read once, each dated by the local day of
 * its branch's time zone (ICU), then counted per key and period in memory.
 * The formulas live in stats_figures alone (tests/unit/test_stats.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "kt_time.h"
#include "domain/stats.h"

/* ---- the formulas ---- */

void stats_count(kt_stats_counts *c, const char *kind, int score)
{
	if (!strcmp(kind, "review") && score >= 1 && score <= 5) {
		c->stars[score]++;
		c->reviews++;
		c->stars_sum += score;
	} else if (!strcmp(kind, "csat") && score >= 1 && score <= 5) {
		c->csat_n++;
		c->csat_pos += score >= 4;
		c->survey_answers++;
	} else if (!strcmp(kind, "nps") && score >= 0 && score <= 10) {
		c->nps_n++;
		c->promoters += score >= 9;
		c->passives += score == 7 || score == 8;
		c->detractors += score <= 6;
		c->survey_answers++;
	} else if (!strcmp(kind, "ces") && score >= 1 && score <= 5) {
		c->ces_n++;
		c->ces_sum += score;
		c->survey_answers++;
	} else if (!strcmp(kind, "sent_review"))
		c->review_requests++;
	else if (!strcmp(kind, "sent_survey"))
		c->surveys_sent++;
}

void stats_counts_add(kt_stats_counts *into, const kt_stats_counts *c)
{
	int *a = (int *)into;
	const int *b = (const int *)c;
	for (size_t i = 0; i < sizeof *c / sizeof(int); i++)
		a[i] += b[i];
}

void stats_figures(const kt_stats_counts *c, kt_stats_figs *f)
{
	memset(f, 0, sizeof *f);
	if ((f->has_rating = c->reviews > 0))
		f->rating_avg = (double)c->stars_sum / c->reviews;
	if ((f->has_csat = c->csat_n > 0))
		f->csat_pct = 100.0 * c->csat_pos / c->csat_n;
	if ((f->has_nps = c->nps_n > 0))
		f->nps = 100.0 * c->promoters / c->nps_n - 100.0 * c->detractors / c->nps_n;
	if ((f->has_ces = c->ces_n > 0))
		f->ces_avg = (double)c->ces_sum / c->ces_n;
	if ((f->has_review_rate = c->review_requests > 0))
		f->review_rate = 100.0 * c->reviews / c->review_requests;
	if ((f->has_survey_rate = c->surveys_sent > 0))
		f->survey_rate = 100.0 * c->survey_answers / c->surveys_sent;
}

/* ---- names ---- */

static const char *const by_names[] = {"location", "specialist", "service"};
static const char *const group_names[] = {"week", "month"};

const char *stats_by_name(int by)
{
	return by >= 0 && by < 3 ? by_names[by] : "?";
}

const char *stats_group_name(int group)
{
	return group >= 0 && group < 2 ? group_names[group] : "?";
}

int stats_by_from(const char *name)
{
	for (int i = 0; name && i < 3; i++)
		if (!strcmp(name, by_names[i]))
			return i;
	return -1;
}

int stats_group_from(const char *name)
{
	for (int i = 0; name && i < 2; i++)
		if (!strcmp(name, group_names[i]))
			return i;
	return -1;
}

/* ---- days ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date, and back (H. Hinnant). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400, yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097, doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365, doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

static void day_text(int64_t day, char out[11])
{
	int y, m, d;
	civil_from_days(day, &y, &m, &d);
	snprintf(out, 11, "%04u-%02u-%02u", (unsigned)y % 10000u, (unsigned)m % 100u, (unsigned)d % 100u);
}

/* A real date YYYY-MM-DD to its day number. */
static bool parse_day(const char *s, int64_t *day)
{
	int y, m, d, yy, mm, dd;
	char end;
	if (!s || strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &end) != 3 || y < 2000 || y > 2099)
		return false;
	*day = days_from_civil(y, m, d);
	civil_from_days(*day, &yy, &mm, &dd);
	return yy == y && mm == m && dd == d;
}

/* The first day of the week (Monday) or month of day. */
static int64_t period_start(int64_t day, int group)
{
	int y, m, d;
	if (group == KT_STATS_WEEK)
		return day - ((day + 3) % 7 + 7) % 7; /* 1970-01-01 was a Thursday */
	civil_from_days(day, &y, &m, &d);
	return days_from_civil(y, m, 1);
}

static int64_t period_next(int64_t start, int group)
{
	int y, m, d;
	if (group == KT_STATS_WEEK)
		return start + 7;
	civil_from_days(start, &y, &m, &d);
	return m == 12 ? days_from_civil(y + 1, 1, 1) : days_from_civil(y, m + 1, 1);
}

/* ---- reading ---- */

typedef struct event {
	int loc;             /* index into the zones */
	char spec[KT_UUID_LEN + 1];
	char *services;      /* owned comma list */
	char kind[12];
	int score;
	int64_t day;         /* local day at the branch */
} event;

typedef struct zone {
	char id[KT_UUID_LEN + 1], tz[64];
} zone;

typedef struct reader {
	event *ev;
	int n, cap;
	zone *z;
	int nz;
} reader;

static void reader_free(reader *r)
{
	for (int i = 0; i < r->n; i++)
		free(r->ev[i].services);
	free(r->ev);
	free(r->z);
}

static int load_zones(kt_store *st, const char *org, reader *r)
{
	sqlite3_stmt *q = store_prepare(st, "SELECT id, time_zone FROM location WHERE org_id = ?1 ORDER BY id");
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, org, -1, SQLITE_STATIC);
	while (sqlite3_step(q) == SQLITE_ROW) {
		zone *more = realloc(r->z, (size_t)(r->nz + 1) * sizeof *more);
		if (!more) {
			store_finish(st, q);
			return KT_ENOMEM;
		}
		r->z = more;
		snprintf(r->z[r->nz].id, sizeof r->z[r->nz].id, "%s", (const char *)sqlite3_column_text(q, 0));
		snprintf(r->z[r->nz].tz, sizeof r->z[r->nz].tz, "%s", (const char *)sqlite3_column_text(q, 1));
		r->nz++;
	}
	store_finish(st, q);
	return KT_OK;
}

static int zone_of(const reader *r, const char *loc)
{
	for (int i = 0; loc && i < r->nz; i++)
		if (!strcmp(r->z[i].id, loc))
			return i;
	return -1;
}

/* Every answer and every request sent between lo and hi (ms, a margin wider
 * than the days asked: the local day decides). */
static const char events_sql[] =
	"SELECT r.location_id, r.specialist_id, coalesce(v.services, ''), 'review', r.stars, r.created_at "
	"FROM review r LEFT JOIN visit v ON v.id = r.visit_id WHERE r.org_id = ?1 AND r.created_at BETWEEN ?2 AND ?3 "
	"UNION ALL SELECT location_id, specialist_id, services, 'review', stars, created_at FROM review_anon "
	"WHERE org_id = ?1 AND created_at BETWEEN ?2 AND ?3 "
	"UNION ALL SELECT location_id, specialist_id, services, kind, score, created_at FROM survey_answer "
	"WHERE org_id = ?1 AND created_at BETWEEN ?2 AND ?3 "
	"UNION ALL SELECT o.location_id, v.specialist_id, coalesce(v.services, ''), CASE o.purpose WHEN "
	"'review_request' THEN 'sent_review' ELSE 'sent_survey' END, 0, o.sent_at FROM outbox o LEFT JOIN visit v ON "
	"v.id = o.visit_id WHERE o.org_id = ?1 AND o.purpose IN ('review_request', 'survey') AND o.state = 'sent' "
	"AND o.location_id IS NOT NULL AND o.sent_at BETWEEN ?2 AND ?3";

static int read_events(kt_store *st, const kt_stats_query *qy, int64_t first, int64_t last, reader *r)
{
	sqlite3_stmt *q = store_prepare(st, events_sql);
	int rc;
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, qy->org, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, (first - 1) * 86400000LL);
	sqlite3_bind_int64(q, 3, (last + 2) * 86400000LL);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *loc = (const char *)sqlite3_column_text(q, 0), *spec = (const char *)sqlite3_column_text(q, 1);
		const char *svc = (const char *)sqlite3_column_text(q, 2);
		int z = zone_of(r, loc);
		kt_local lt;
		if (z < 0 || !kt_locset_has(qy->locs, loc) || (qy->location && strcmp(qy->location, loc)))
			continue;
		if (kt_time_to_local(r->z[z].tz, sqlite3_column_int64(q, 5), &lt))
			continue;
		int64_t day = days_from_civil(lt.year, lt.month, lt.day);
		if (day < first || day > last)
			continue;
		if (r->n == r->cap) {
			int nc = r->cap ? r->cap * 2 : 256;
			event *more = realloc(r->ev, (size_t)nc * sizeof *more);
			if (!more) {
				rc = SQLITE_NOMEM;
				break;
			}
			r->ev = more;
			r->cap = nc;
		}
		event *e = &r->ev[r->n];
		memset(e, 0, sizeof *e);
		e->loc = z;
		snprintf(e->spec, sizeof e->spec, "%s", spec ? spec : "");
		e->services = strdup(svc ? svc : "");
		snprintf(e->kind, sizeof e->kind, "%s", (const char *)sqlite3_column_text(q, 3));
		e->score = sqlite3_column_int(q, 4);
		e->day = day;
		if (!e->services) {
			rc = SQLITE_NOMEM;
			break;
		}
		r->n++;
	}
	store_finish(st, q);
	return rc == SQLITE_DONE ? KT_OK : rc == SQLITE_NOMEM ? KT_ENOMEM : KT_EIO;
}

/* ---- counting ---- */

typedef struct keyacc {
	char key[KT_UUID_LEN + 1];
	kt_stats_counts *per;   /* one per period */
	kt_stats_counts total, before;
} keyacc;

typedef struct counter {
	keyacc *k;
	int n;
	int64_t *starts;        /* period starts, the first one before from */
	int np;
	int64_t from, to, prev_from;
} counter;

static keyacc *key_get(counter *c, const char *key)
{
	for (int i = 0; i < c->n; i++)
		if (!strcmp(c->k[i].key, key))
			return &c->k[i];
	keyacc *more = realloc(c->k, (size_t)(c->n + 1) * sizeof *more);
	if (!more)
		return NULL;
	c->k = more;
	keyacc *k = &c->k[c->n];
	memset(k, 0, sizeof *k);
	snprintf(k->key, sizeof k->key, "%s", key);
	if (!(k->per = calloc((size_t)c->np, sizeof *k->per)))
		return NULL;
	c->n++;
	return k;
}

static int count_one(counter *c, const char *key, const event *e)
{
	keyacc *k = key_get(c, key);
	if (!k)
		return KT_ENOMEM;
	if (e->day >= c->from)
		stats_count(&k->total, e->kind, e->score);
	else if (e->day >= c->prev_from)
		stats_count(&k->before, e->kind, e->score);
	for (int p = c->np - 1; p >= 0; p--)
		if (e->day >= c->starts[p]) {
			stats_count(&k->per[p], e->kind, e->score);
			break;
		}
	return KT_OK;
}

static int count_all(counter *c, const reader *r, int by)
{
	int rc = KT_OK;
	for (int i = 0; !rc && i < r->n; i++) {
		const event *e = &r->ev[i];
		if (by == KT_STATS_BY_LOCATION)
			rc = count_one(c, r->z[e->loc].id, e);
		else if (by == KT_STATS_BY_SPECIALIST)
			rc = count_one(c, e->spec, e);
		else
			for (const char *s = e->services; !rc && *s;) { /* each service of the visit */
				char id[KT_UUID_LEN + 1];
				size_t len = strcspn(s, ",");
				snprintf(id, sizeof id, "%.*s", (int)(len < KT_UUID_LEN ? len : KT_UUID_LEN), s);
				rc = count_one(c, id, e);
				s += len + (s[len] == ',');
			}
	}
	return rc;
}

static void name_of(kt_store *st, int by, const char *key, char *out, size_t cap)
{
	static const char *const sql[] = {"SELECT name FROM location WHERE id = ?1",
					  "SELECT display_name FROM staff WHERE id = ?1",
					  "SELECT name FROM service WHERE id = ?1"};
	sqlite3_stmt *q = store_prepare(st, sql[by]);
	snprintf(out, cap, "%s", by == KT_STATS_BY_SPECIALIST && !*key ? "(no specialist)" : "(gone)");
	if (!q)
		return;
	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
		snprintf(out, cap, "%s", (const char *)sqlite3_column_text(q, 0));
	store_finish(st, q);
}

/* A key with its name, for the order of the lines: by name. */
typedef struct keyname {
	int k;
	const char *key;
	char name[128];
} keyname;

static int cmp_names(const void *a, const void *b)
{
	const keyname *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->key, y->key);
}

void stats_result_free(kt_stats_result *r)
{
	if (!r)
		return;
	free(r->lines);
	r->lines = NULL;
	r->n = 0;
}

int stats_compute(kt_store *st, const kt_stats_query *q, kt_stats_result *out, char *err, size_t cap)
{
	int64_t from, to;
	reader rd = {0};
	counter c = {0};
	int rc;

	memset(out, 0, sizeof *out);
	if (!parse_day(q->from, &from))
		return kt_fail(err, cap, KT_EINVALID, "from must be a date YYYY-MM-DD (a real day, 2000-2099)");
	if (!parse_day(q->to, &to))
		return kt_fail(err, cap, KT_EINVALID, "to must be a date YYYY-MM-DD (a real day, 2000-2099)");
	if (to < from || to - from > 3 * 366)
		return kt_fail(err, cap, KT_EINVALID, "to must be on or after from, at most 3 years later");
	if (q->by < 0 || q->by > 2)
		return kt_fail(err, cap, KT_EINVALID, "by must be location, specialist or service");
	if (q->group < 0 || q->group > 1)
		return kt_fail(err, cap, KT_EINVALID, "group must be week or month");
	if (q->location && !kt_locset_has(q->locs, q->location))
		return kt_fail(err, cap, KT_EDENIED, "location: not one of your locations");
	out->by = q->by;
	out->group = q->group;
	c.from = from;
	c.to = to;
	c.prev_from = from - (to - from + 1);
	day_text(from, out->from);
	day_text(to, out->to);
	day_text(c.prev_from, out->prev_from);
	day_text(from - 1, out->prev_to);
	/* the periods: the one before from's (the first period's trend), then from's .. to's */
	int64_t first = period_start(from, q->group);
	first = period_start(first - 1, q->group);
	for (int64_t p = first; p <= to; p = period_next(p, q->group)) {
		int64_t *more = realloc(c.starts, (size_t)(c.np + 1) * sizeof *more);
		if (!more) {
			rc = KT_ENOMEM;
			goto out;
		}
		c.starts = more;
		c.starts[c.np++] = p;
	}
	if ((rc = load_zones(st, q->org, &rd)) ||
	    (rc = read_events(st, q, c.prev_from < first ? c.prev_from : first, to, &rd)) ||
	    (rc = count_all(&c, &rd, q->by)))
		goto out;
	/* per key: its periods from from's on (the trend: the one before), then the total */
	if (!(out->lines = calloc((size_t)c.n * (size_t)c.np + 1, sizeof *out->lines))) {
		rc = KT_ENOMEM;
		goto out;
	}
	keyname *keys = calloc((size_t)c.n + 1, sizeof *keys);
	if (!keys) {
		rc = KT_ENOMEM;
		goto out;
	}
	for (int k = 0; k < c.n; k++) {
		keys[k].k = k;
		keys[k].key = c.k[k].key;
		name_of(st, q->by, c.k[k].key, keys[k].name, sizeof keys[k].name);
	}
	qsort(keys, (size_t)c.n, sizeof *keys, cmp_names);
	for (int i = 0; i < c.n; i++) {
		keyacc *a = &c.k[keys[i].k];
		for (int p = 1; p < c.np; p++) {
			kt_stats_line *l = &out->lines[out->n++];
			snprintf(l->key, sizeof l->key, "%s", a->key);
			snprintf(l->name, sizeof l->name, "%s", keys[i].name);
			day_text(c.starts[p] < from ? from : c.starts[p], l->period);
			int64_t end = period_next(c.starts[p], q->group) - 1;
			day_text(end > to ? to : end, l->period_end);
			l->now = a->per[p];
			l->prev = a->per[p - 1];
			stats_figures(&l->now, &l->fig);
			stats_figures(&l->prev, &l->prev_fig);
		}
		kt_stats_line *t = &out->lines[out->n++];
		snprintf(t->key, sizeof t->key, "%s", a->key);
		snprintf(t->name, sizeof t->name, "%s", keys[i].name);
		t->now = a->total;
		t->prev = a->before;
		stats_figures(&t->now, &t->fig);
		stats_figures(&t->prev, &t->prev_fig);
	}
	free(keys);
out:
	for (int k = 0; k < c.n; k++)
		free(c.k[k].per);
	free(c.k);
	free(c.starts);
	reader_free(&rd);
	if (rc) {
		stats_result_free(out);
		if (err && !err[0])
			kt_fail(err, cap, rc, "statistics could not be read (%s)", kt_strerror(rc));
	}
	return rc;
}

/* ---- JSON ---- */

static json_t *num(bool has, double v)
{
	return has ? json_real((double)(int64_t)(v * 10 + (v < 0 ? -0.5 : 0.5)) / 10) : json_null();
}

static json_t *figs_json(const kt_stats_counts *c, const kt_stats_figs *f)
{
	/* the same keys as the manage op's answer (PROTOCOL-feedback.md) */
	return json_pack("{s:[i,i,i,i,i], s:i, s:o, s:i, s:o, s:i, s:i, s:i, s:i, s:o, s:i, s:o, s:i, s:o, s:i, s:i, "
			 "s:o}",
			 "stars", c->stars[1], c->stars[2], c->stars[3], c->stars[4], c->stars[5], "reviews", c->reviews,
			 "rating_avg", num(f->has_rating, f->rating_avg), "csat_answers", c->csat_n, "csat_pct",
			 num(f->has_csat, f->csat_pct), "nps_answers", c->nps_n, "promoters", c->promoters, "passives",
			 c->passives, "detractors", c->detractors, "nps", num(f->has_nps, f->nps), "ces_answers",
			 c->ces_n, "ces_avg", num(f->has_ces, f->ces_avg), "review_requests", c->review_requests,
			 "review_rate", num(f->has_review_rate, f->review_rate), "surveys_sent", c->surveys_sent,
			 "survey_answers", c->survey_answers, "survey_rate", num(f->has_survey_rate, f->survey_rate));
}

static json_t *trend_json(const kt_stats_figs *a, const kt_stats_figs *b)
{
	return json_pack("{s:o, s:o, s:o, s:o}", "rating_avg", num(a->has_rating && b->has_rating, a->rating_avg - b->rating_avg),
			 "csat_pct", num(a->has_csat && b->has_csat, a->csat_pct - b->csat_pct), "nps",
			 num(a->has_nps && b->has_nps, a->nps - b->nps), "ces_avg",
			 num(a->has_ces && b->has_ces, a->ces_avg - b->ces_avg));
}

char *stats_json(const kt_stats_result *r)
{
	json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s}, s:[]}", "from", r->from, "to", r->to, "by",
				stats_by_name(r->by), "group", stats_group_name(r->group), "previous", "from",
				r->prev_from, "to", r->prev_to, "lines");
	json_t *lines = doc ? json_object_get(doc, "lines") : NULL;
	char *out;
	for (int i = 0; lines && i < r->n; i++) {
		const kt_stats_line *l = &r->lines[i];
		json_t *o = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o}", "key", l->key, "name", l->name, "period",
				      l->period[0] ? json_string(l->period) : json_string("total"), "period_end",
				      l->period_end[0] ? json_string(l->period_end) : json_null(), "figures",
				      figs_json(&l->now, &l->fig), "previous", figs_json(&l->prev, &l->prev_fig), "trend",
				      trend_json(&l->fig, &l->prev_fig));
		json_array_append_new(lines, o);
	}
	out = doc ? json_dumps(doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(doc);
	return out;
}
