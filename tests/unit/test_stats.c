/* test_stats.c - the satisfaction formulas on hand-made answers (figures
 * computed by hand in the comments), and stats_compute on a scratch
 * database: local days of the branch's zone, weeks, the previous period. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "kt_time.h"
#include "kt_testdb.h"
#include "domain/stats.h"

static void count_all(kt_stats_counts *c, const char *kind, const int *scores, int n)
{
	for (int i = 0; i < n; i++)
		stats_count(c, kind, scores[i]);
}

/* NPS of ten answers: 10 10 10 9 | 8 7 7 | 6 2 0: promoters 4 (40 %),
 * passives 3, detractors 3 (30 %): NPS = 40 - 30 = 10. */
static void test_nps_of_ten_answers(void **state)
{
	static const int nps[] = {10, 10, 10, 9, 8, 7, 7, 6, 2, 0};
	kt_stats_counts c = {0};
	kt_stats_figs f;
	(void)state;
	count_all(&c, "nps", nps, 10);
	stats_figures(&c, &f);
	assert_int_equal(c.nps_n, 10);
	assert_int_equal(c.promoters, 4);
	assert_int_equal(c.passives, 3);
	assert_int_equal(c.detractors, 3);
	assert_true(f.has_nps);
	assert_true(fabs(f.nps - 10.0) < 1e-9);
	/* all detractors: -100; all promoters: 100 */
	kt_stats_counts d = {0}, p = {0};
	count_all(&d, "nps", (const int[]){0, 6, 3}, 3);
	count_all(&p, "nps", (const int[]){9, 10}, 2);
	stats_figures(&d, &f);
	assert_true(fabs(f.nps + 100.0) < 1e-9);
	stats_figures(&p, &f);
	assert_true(fabs(f.nps - 100.0) < 1e-9);
	/* out of range is not an answer */
	stats_count(&p, "nps", 11);
	stats_count(&p, "nps", -1);
	assert_int_equal(p.nps_n, 2);
}

/* CSAT 5 4 4 3 1: three of five are 4 or 5: 60 %. CES 2 3 4: 3.0.
 * Stars 5 5 4 2: average 4.0; distribution 1:0 2:1 3:0 4:1 5:2. */
static void test_csat_ces_and_stars(void **state)
{
	kt_stats_counts c = {0};
	kt_stats_figs f;
	(void)state;
	count_all(&c, "csat", (const int[]){5, 4, 4, 3, 1}, 5);
	count_all(&c, "ces", (const int[]){2, 3, 4}, 3);
	count_all(&c, "review", (const int[]){5, 5, 4, 2}, 4);
	stats_figures(&c, &f);
	assert_true(fabs(f.csat_pct - 60.0) < 1e-9);
	assert_true(fabs(f.ces_avg - 3.0) < 1e-9);
	assert_true(fabs(f.rating_avg - 4.0) < 1e-9);
	assert_int_equal(c.stars[1], 0);
	assert_int_equal(c.stars[2], 1);
	assert_int_equal(c.stars[3], 0);
	assert_int_equal(c.stars[4], 1);
	assert_int_equal(c.stars[5], 2);
	assert_false(f.has_nps);
	assert_false(f.has_review_rate); /* no request was sent: no rate */
}

/* Response rates: 4 reviews to 8 requests: 50 %; 8 survey answers (5 CSAT,
 * 3 CES) to 10 surveys sent: 80 %. Sums of groups give the same figures. */
static void test_response_rates_and_sums(void **state)
{
	kt_stats_counts a = {0}, b = {0}, all = {0};
	kt_stats_figs f;
	(void)state;
	count_all(&a, "csat", (const int[]){5, 4, 4, 3, 1}, 5);
	count_all(&b, "ces", (const int[]){2, 3, 4}, 3);
	count_all(&b, "review", (const int[]){5, 5, 4, 2}, 4);
	for (int i = 0; i < 8; i++)
		stats_count(&a, "sent_review", 0);
	for (int i = 0; i < 10; i++)
		stats_count(&b, "sent_survey", 0);
	stats_counts_add(&all, &a);
	stats_counts_add(&all, &b);
	stats_figures(&all, &f);
	assert_true(fabs(f.review_rate - 50.0) < 1e-9);
	assert_true(fabs(f.survey_rate - 80.0) < 1e-9);
	assert_true(fabs(f.csat_pct - 60.0) < 1e-9);
}

/* ---- stats_compute on a database ---- */

static const char ORG[] = "01a20b2f-e370-765e-8e59-32b59c1e0001", LOC[] = "01a20b2f-e370-765e-8e59-32b59c1e0002";
static int seq;

static void exec(kt_store *st, const char *sql)
{
	assert_int_equal(sqlite3_exec(store_db(st), sql, NULL, NULL, NULL), SQLITE_OK);
}

/* An answer given at local wall time (Europe/Ljubljana). */
static void answer(kt_store *st, const char *kind, int score, int y, int mo, int d, int h, int mi)
{
	int64_t ms;
	char sql[512];
	assert_int_equal(kt_time_from_local("Europe/Ljubljana", y, mo, d, h, mi, &ms), 0);
	if (!strcmp(kind, "review"))
		snprintf(sql, sizeof sql, "INSERT INTO review_anon(org_id, location_id, stars, created_at) "
					  "VALUES('%s', '%s', %d, %lld)", ORG, LOC, score, (long long)ms);
	else
		snprintf(sql, sizeof sql, "INSERT INTO survey_answer(id, org_id, location_id, kind, score, created_at) "
					  "VALUES('a%d', '%s', '%s', '%s', %d, %lld)", ++seq, ORG, LOC, kind, score,
			 (long long)ms);
	exec(st, sql);
}

static void test_compute_by_week_in_local_days(void **state)
{
	char path[128], err[256] = "";
	kt_store *st;
	kt_stats_result r;
	(void)state;
	assert_int_equal(kt_testdb_open(path, sizeof path, "stats", &st), 0);
	exec(st, "INSERT INTO organisation(id, name, updated_at) VALUES('01a20b2f-e370-765e-8e59-32b59c1e0001', 'S', 0);"
		 "INSERT INTO location(id, org_id, name, time_zone, updated_at) VALUES('01a20b2f-e370-765e-8e59-"
		 "32b59c1e0002', '01a20b2f-e370-765e-8e59-32b59c1e0001', 'Center', 'Europe/Ljubljana', 0);");
	/* week 1 (Mon 2026-11-02 .. Sun 11-08): CSAT 5 4 4 3 1 */
	static const int csat[] = {5, 4, 4, 3, 1};
	for (int i = 0; i < 5; i++)
		answer(st, "csat", csat[i], 2026, 11, 3 + i, 12, 0);
	/* week 2 (11-09 .. 11-15): the ten NPS answers, the last one at 23:30
	 * local on Sunday (22:30 UTC): still in the range */
	static const int nps[] = {10, 10, 10, 9, 8, 7, 7, 6, 2, 0};
	for (int i = 0; i < 9; i++)
		answer(st, "nps", nps[i], 2026, 11, 10, 9 + i, 0);
	answer(st, "nps", nps[9], 2026, 11, 15, 23, 30);
	/* 00:30 local on Monday 11-16 (23:30 UTC on the 15th): out of the range */
	answer(st, "nps", 0, 2026, 11, 16, 0, 30);
	/* stars: 5 5 4 2 in the range; 1 and 3 in the two weeks before (the
	 * previous period of equal length: 2026-10-19 .. 11-01) */
	answer(st, "review", 5, 2026, 11, 4, 10, 0);
	answer(st, "review", 5, 2026, 11, 5, 10, 0);
	answer(st, "review", 4, 2026, 11, 11, 10, 0);
	answer(st, "review", 2, 2026, 11, 12, 10, 0);
	answer(st, "review", 1, 2026, 10, 20, 10, 0);
	answer(st, "review", 3, 2026, 10, 30, 10, 0);

	kt_stats_query q = {ORG, "2026-11-02", "2026-11-15", KT_STATS_BY_LOCATION, KT_STATS_WEEK, NULL, "*"};
	assert_int_equal(stats_compute(st, &q, &r, err, sizeof err), 0);
	assert_string_equal(r.prev_from, "2026-10-19");
	assert_string_equal(r.prev_to, "2026-11-01");
	assert_int_equal(r.n, 3); /* two weeks and the total */
	assert_string_equal(r.lines[0].name, "Center");
	assert_string_equal(r.lines[0].period, "2026-11-02");
	assert_string_equal(r.lines[0].period_end, "2026-11-08");
	assert_true(fabs(r.lines[0].fig.csat_pct - 60.0) < 1e-9);
	assert_true(fabs(r.lines[0].fig.rating_avg - 5.0) < 1e-9);
	assert_true(r.lines[0].prev_fig.has_rating); /* the week before: the review of 10-30 */
	assert_true(fabs(r.lines[0].prev_fig.rating_avg - 3.0) < 1e-9);
	assert_string_equal(r.lines[1].period, "2026-11-09");
	assert_int_equal(r.lines[1].now.nps_n, 10);
	assert_true(fabs(r.lines[1].fig.nps - 10.0) < 1e-9);
	assert_false(r.lines[1].fig.has_csat);
	const kt_stats_line *t = &r.lines[2];
	assert_string_equal(t->period, "");
	assert_int_equal(t->now.reviews, 4);
	assert_true(fabs(t->fig.rating_avg - 4.0) < 1e-9);
	assert_true(fabs(t->prev_fig.rating_avg - 2.0) < 1e-9); /* 1 and 3: the trend is +2.0 */
	assert_int_equal(t->now.nps_n, 10);
	assert_int_equal(t->now.promoters, 4);
	char *json = stats_json(&r);
	assert_non_null(json);
	assert_non_null(strstr(json, "\"promoters\": 4"));
	free(json);
	stats_result_free(&r);

	/* by month: November's first half only; bad input names the field */
	q.group = KT_STATS_MONTH;
	assert_int_equal(stats_compute(st, &q, &r, err, sizeof err), 0);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.lines[0].period, "2026-11-02");
	assert_string_equal(r.lines[0].period_end, "2026-11-15");
	stats_result_free(&r);
	q.from = "2026-02-30";
	assert_int_equal(stats_compute(st, &q, &r, err, sizeof err), KT_EINVALID);
	assert_non_null(strstr(err, "from must be a date"));
	q.from = "2026-11-02";
	q.location = LOC;
	q.locs = "01a20b2f-e370-765e-8e59-32b59c1e0009";
	assert_int_equal(stats_compute(st, &q, &r, err, sizeof err), KT_EDENIED);
	store_close(st);
	kt_testdb_remove(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nps_of_ten_answers),
		cmocka_unit_test(test_csat_ces_and_stars),
		cmocka_unit_test(test_response_rates_and_sums),
		cmocka_unit_test(test_compute_by_week_in_local_days),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
