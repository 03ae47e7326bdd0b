/* test_time.c - local times (common/kt_time.h): a salon's wall clock to
 * instants and back, in two zones, on the days daylight saving time starts
 * and ends. The instants are written out as UTC so that a wrong zone rule
 * cannot agree with itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "kt_err.h"
#include "kt_time.h"

#define LJ "Europe/Ljubljana"
#define NY "America/New_York"

/* 2027-01-15T08:30:00Z and friends, computed independently of ICU */
static int64_t utc(int y, int mo, int d, int h, int mi)
{
	/* days from civil (Howard Hinnant's algorithm) */
	y -= mo <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	int64_t days = era * 146097 + doe - 719468;
	return ((days * 24 + h) * 60 + mi) * 60000;
}

static void test_winter_and_summer_local_times_are_their_utc_instants(void **state)
{
	int64_t ms;
	char why[160];
	(void)state;
	assert_int_equal(kt_time_parse(LJ, "2027-01-15 09:30", &ms, why, sizeof why), KT_OK);
	assert_true(ms == utc(2027, 1, 15, 8, 30)); /* CET, UTC+1 */
	assert_int_equal(kt_time_parse(LJ, "2027-07-15T09:30", &ms, why, sizeof why), KT_OK);
	assert_true(ms == utc(2027, 7, 15, 7, 30)); /* CEST, UTC+2 */
	assert_int_equal(kt_time_parse(NY, "2027-01-15 09:30", &ms, why, sizeof why), KT_OK);
	assert_true(ms == utc(2027, 1, 15, 14, 30)); /* EST, UTC-5 */
}

static void test_an_explicit_offset_wins_over_the_zone(void **state)
{
	int64_t ms;
	(void)state;
	assert_int_equal(kt_time_parse(LJ, "2027-01-15 09:30+05:00", &ms, NULL, 0), KT_OK);
	assert_true(ms == utc(2027, 1, 15, 4, 30));
	assert_int_equal(kt_time_parse(LJ, "2027-01-15T08:30:00Z", &ms, NULL, 0), KT_OK);
	assert_true(ms == utc(2027, 1, 15, 8, 30));
	assert_int_equal(kt_time_parse(LJ, "2027-01-15 09:30-03:30", &ms, NULL, 0), KT_OK);
	assert_true(ms == utc(2027, 1, 15, 13, 0));
}

/* 2027-03-28: at 02:00 the clocks in Ljubljana go to 03:00. */
static void test_the_hour_skipped_in_spring_does_not_exist(void **state)
{
	int64_t ms;
	char why[160] = "";
	(void)state;
	assert_int_equal(kt_time_parse(LJ, "2027-03-28 02:30", &ms, why, sizeof why), KT_EINVALID);
	assert_non_null(strstr(why, "does not exist"));
	assert_int_equal(kt_time_parse(LJ, "2027-03-28 01:59", &ms, NULL, 0), KT_OK);
	assert_true(ms == utc(2027, 3, 28, 0, 59));
	assert_int_equal(kt_time_parse(LJ, "2027-03-28 03:00", &ms, NULL, 0), KT_OK);
	assert_true(ms == utc(2027, 3, 28, 1, 0)); /* one minute of real time after 01:59 */
}

/* 2027-10-31: at 03:00 the clocks go back to 02:00; 02:30 happens twice. */
static void test_the_hour_repeated_in_autumn_is_its_first_time(void **state)
{
	int64_t ms;
	kt_local l;
	(void)state;
	assert_int_equal(kt_time_parse(LJ, "2027-10-31 02:30", &ms, NULL, 0), KT_OK);
	assert_true(ms == utc(2027, 10, 31, 0, 30)); /* still CEST */
	/* both instants read back as 02:30, with their own offsets */
	assert_int_equal(kt_time_to_local(LJ, utc(2027, 10, 31, 1, 30), &l), KT_OK);
	assert_int_equal(l.hour, 2);
	assert_int_equal(l.minute, 30);
	assert_int_equal(l.offset_min, 60);
	assert_int_equal(kt_time_to_local(LJ, utc(2027, 10, 31, 0, 30), &l), KT_OK);
	assert_int_equal(l.offset_min, 120);
}

static void test_local_fields_and_weekday(void **state)
{
	kt_local l;
	(void)state;
	assert_int_equal(kt_time_to_local(LJ, utc(2027, 1, 17, 23, 30), &l), KT_OK);
	/* 00:30 on Monday 18 January in Ljubljana, still Sunday in UTC */
	assert_int_equal(l.year, 2027);
	assert_int_equal(l.month, 1);
	assert_int_equal(l.day, 18);
	assert_int_equal(l.hour, 0);
	assert_int_equal(l.minute, 30);
	assert_int_equal(l.weekday, 1);
	assert_int_equal(kt_time_to_local(NY, utc(2027, 1, 17, 23, 30), &l), KT_OK);
	assert_int_equal(l.weekday, 7);
}

static void test_people_read_local_time_with_the_zone(void **state)
{
	char buf[64];
	(void)state;
	assert_int_equal(kt_time_format(LJ, utc(2027, 1, 15, 8, 30), buf, sizeof buf), KT_OK);
	assert_string_equal(buf, "2027-01-15 09:30 CET");
	assert_int_equal(kt_time_format(LJ, utc(2027, 7, 15, 7, 30), buf, sizeof buf), KT_OK);
	assert_string_equal(buf, "2027-07-15 09:30 CEST");
	assert_int_equal(kt_time_format(NY, utc(2027, 1, 15, 14, 30), buf, sizeof buf), KT_OK);
	assert_string_equal(buf, "2027-01-15 09:30 EST");
	assert_int_equal(kt_time_format("Asia/Tbilisi", utc(2027, 1, 15, 5, 30), buf, sizeof buf), KT_OK);
	assert_string_equal(buf, "2027-01-15 09:30 GMT+4");
	assert_int_equal(kt_date_format(LJ, utc(2027, 1, 17, 23, 30), buf, sizeof buf), KT_OK);
	assert_string_equal(buf, "2027-01-18");
	assert_int_equal(kt_time_format_locale(LJ, "sl", utc(2027, 1, 15, 8, 30), buf, sizeof buf), KT_OK);
	assert_non_null(strstr(buf, "2027"));
	assert_non_null(strstr(buf, "9:30"));
}

static void test_bad_zones_and_forms_are_refused_with_the_rule(void **state)
{
	int64_t ms;
	char why[160] = "", buf[64];
	(void)state;
	assert_false(kt_zone_valid("Mars/Olympus_Mons"));
	assert_false(kt_zone_valid(""));
	assert_false(kt_zone_valid(NULL));
	assert_true(kt_zone_valid(LJ));
	assert_true(kt_zone_valid("UTC"));
	assert_int_equal(kt_time_parse("Mars/Olympus_Mons", "2027-01-15 09:30", &ms, why, sizeof why), KT_EINVALID);
	assert_non_null(strstr(why, "time zone"));
	assert_int_equal(kt_time_parse(LJ, "15.1.2027 9:30", &ms, why, sizeof why), KT_EINVALID);
	assert_non_null(strstr(why, "YYYY-MM-DD HH:MM"));
	assert_int_equal(kt_time_parse(LJ, "2027-02-30 09:30", &ms, why, sizeof why), KT_EINVALID);
	assert_int_equal(kt_time_parse(LJ, "2027-01-15 25:30", &ms, why, sizeof why), KT_EINVALID);
	assert_int_equal(kt_time_parse(LJ, "2027-01-15 09:30 tomorrow", &ms, why, sizeof why), KT_EINVALID);
	assert_int_equal(kt_time_format("Mars/Olympus_Mons", utc(2027, 1, 15, 8, 30), buf, sizeof buf), KT_EINVALID);
	assert_string_equal(buf, "2027-01-15 08:30 UTC");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_winter_and_summer_local_times_are_their_utc_instants),
		cmocka_unit_test(test_an_explicit_offset_wins_over_the_zone),
		cmocka_unit_test(test_the_hour_skipped_in_spring_does_not_exist),
		cmocka_unit_test(test_the_hour_repeated_in_autumn_is_its_first_time),
		cmocka_unit_test(test_local_fields_and_weekday),
		cmocka_unit_test(test_people_read_local_time_with_the_zone),
		cmocka_unit_test(test_bad_zones_and_forms_are_refused_with_the_rule),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
