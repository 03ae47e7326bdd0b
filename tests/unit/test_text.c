/* test_text.c - what people type and read (common/kt_text.h): time
 * arguments with the option named in the error, day bounds on the days DST
 * starts and ends, person-facing and ISO times, case folding that keeps
 * accents, the name-matching rule and contact masking. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "kt_err.h"
#include "kt_text.h"

#define LJ "Europe/Ljubljana"
#define NY "America/New_York"
#define H 3600000LL

/* 2027-01-15T08:30:00Z as ms, from days since 1970 (no ICU) */
static int64_t utc(int y, int mo, int d, int h, int mi)
{
	y -= mo <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400, yoe = y - era * 400;
	int64_t doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t days = era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
	return ((days * 24 + h) * 60 + mi) * 60000;
}

static void test_a_time_argument_is_local_unless_it_says_otherwise(void **state)
{
	int64_t ms;
	char err[200];
	(void)state;
	assert_int_equal(kt_text_time_arg("--start", LJ, "2027-01-15 09:30", &ms, err, sizeof err), KT_OK);
	assert_true(ms == utc(2027, 1, 15, 8, 30));
	assert_int_equal(kt_text_time_arg("--start", NY, "2027-01-15 09:30", &ms, err, sizeof err), KT_OK);
	assert_true(ms == utc(2027, 1, 15, 14, 30));
	assert_int_equal(kt_text_time_arg("--start", NY, "2027-01-15T09:30Z", &ms, err, sizeof err), KT_OK);
	assert_true(ms == utc(2027, 1, 15, 9, 30));
	assert_int_equal(kt_text_time_arg("--start", LJ, "1800040500000", &ms, err, sizeof err), KT_OK);
	assert_true(ms == utc(2027, 1, 15, 19, 15)); /* scripts may still give the instant */
	assert_int_equal(kt_text_time_arg("--start", LJ, "2027-03-28 02:30", &ms, err, sizeof err), KT_EINVALID);
	assert_string_equal(err, "--start '2027-03-28 02:30': 2027-03-28 02:30 does not exist in Europe/Ljubljana "
				 "(the clocks skip it)");
	assert_int_equal(kt_text_time_arg("--at", LJ, "12345", &ms, err, sizeof err), KT_EINVALID);
	assert_non_null(strstr(err, "--at '12345': a time is YYYY-MM-DD HH:MM"));
}

static void test_a_date_bound_is_the_whole_local_day_also_when_dst_changes(void **state)
{
	int64_t from, to;
	char err[200];
	(void)state;
	assert_int_equal(kt_text_bound_arg("--from", LJ, "2027-01-15", 0, &from, err, sizeof err), KT_OK);
	assert_int_equal(kt_text_bound_arg("--to", LJ, "2027-01-15", 1, &to, err, sizeof err), KT_OK);
	assert_true(from == utc(2027, 1, 14, 23, 0) && to == utc(2027, 1, 15, 23, 0));
	/* 28 March 2027 has 23 hours in Ljubljana, 31 October 25 */
	assert_int_equal(kt_text_bound_arg("--from", LJ, "2027-03-28", 0, &from, err, sizeof err), KT_OK);
	assert_int_equal(kt_text_bound_arg("--to", LJ, "2027-03-28", 1, &to, err, sizeof err), KT_OK);
	assert_true(to - from == 23 * H);
	assert_int_equal(kt_text_bound_arg("--from", LJ, "2027-10-31", 0, &from, err, sizeof err), KT_OK);
	assert_int_equal(kt_text_bound_arg("--to", LJ, "2027-10-31", 1, &to, err, sizeof err), KT_OK);
	assert_true(to - from == 25 * H);
	assert_int_equal(kt_text_bound_arg("--to", NY, "2027-02-30", 1, &to, err, sizeof err), KT_EINVALID);
	assert_non_null(strstr(err, "--to '2027-02-30'"));
	/* a time is an instant, as for any time argument */
	assert_int_equal(kt_text_bound_arg("--from", NY, "2027-01-15 12:00", 0, &from, err, sizeof err), KT_OK);
	assert_true(from == utc(2027, 1, 15, 17, 0));
}

static void test_times_for_people_and_for_scripts(void **state)
{
	char buf[KT_TEXT_TIME];
	(void)state;
	kt_text_time(LJ, utc(2027, 1, 15, 8, 30), buf);
	assert_string_equal(buf, "2027-01-15 09:30 CET");
	kt_text_time(NY, utc(2027, 7, 15, 13, 30), buf);
	assert_string_equal(buf, "2027-07-15 09:30 EDT");
	kt_text_time(NULL, utc(2027, 1, 15, 8, 30), buf);
	assert_string_equal(buf, "2027-01-15 08:30 UTC"); /* no place: UTC, said so */
	kt_text_time(LJ, 0, buf);
	assert_string_equal(buf, "-");
	kt_text_iso(utc(2027, 1, 15, 8, 30), buf);
	assert_string_equal(buf, "2027-01-15T08:30:00Z");
	kt_text_iso(utc(2027, 1, 15, 8, 30) + 42, buf);
	assert_string_equal(buf, "2027-01-15T08:30:00.042Z");
}

static void test_names_fold_case_and_keep_accents(void **state)
{
	char a[64], b[64];
	(void)state;
	assert_int_equal(kt_text_fold("ŽIGA Kos", a, sizeof a), KT_OK);
	assert_int_equal(kt_text_fold("žiga kos", b, sizeof b), KT_OK);
	assert_string_equal(a, b);
	assert_int_equal(kt_text_fold("Ziga Kos", b, sizeof b), KT_OK);
	assert_string_not_equal(a, b);
	assert_int_equal(kt_text_fold("\xff\xfe", a, sizeof a), KT_EINVALID);
	assert_int_equal(kt_text_name_match("Lepota Maribor", "lepota maribor"), 2);
	assert_int_equal(kt_text_name_match("Lepota Maribor", "lep"), 1);
	assert_int_equal(kt_text_name_match("Lepota Maribor", "maribor"), 1); /* a word's start */
	assert_int_equal(kt_text_name_match("Lepota Maribor", "aribor"), 0);
	assert_int_equal(kt_text_name_match("Žiga Kos", "ziga"), 0);
	assert_int_equal(kt_text_name_match("Žiga Kos", "žig"), 1);
}

static void test_a_row_by_its_name_email_or_the_start_of_its_id(void **state)
{
	const char *id = "01941f29-8414-7a37-b7f9-588b06bd3672";
	(void)state;
	assert_int_equal(kt_text_row_match(id, "Nina Kranjc", "Nina.K@Lepota.si", "nina.k@lepota.si"), 2);
	assert_int_equal(kt_text_row_match(id, "Nina Kranjc", NULL, "nina.k@lepota.si"), 0); /* not named so */
	assert_int_equal(kt_text_row_match(id, "Nina Kranjc", NULL, "kranjc"), 1);
	assert_int_equal(kt_text_row_match(id, "Nina Kranjc", NULL, "01941f29-84"), 1);
	assert_int_equal(kt_text_row_match(id, "Nina Kranjc", NULL, "019"), 0);       /* too short for an id */
	assert_int_equal(kt_text_row_match(id, "Cafe Lepota", NULL, "cafe"), 1);      /* the name's start */
	assert_int_equal(kt_text_row_match(id, "Nina Kranjc", NULL, "01941f29-9"), 0);
}

static void test_contact_data_is_masked_to_tell_people_apart(void **state)
{
	char out[64];
	(void)state;
	kt_text_mask_email("ana.novak@example.com", out, sizeof out);
	assert_string_equal(out, "an***@example.com");
	kt_text_mask_email(NULL, out, sizeof out);
	assert_string_equal(out, "");
	kt_text_mask_phone("+386 40 111 222", out, sizeof out);
	assert_string_equal(out, "+386 ** *** 222");
	kt_text_mask_phone("040111222", out, sizeof out);
	assert_string_equal(out, "0401**222");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_time_argument_is_local_unless_it_says_otherwise),
		cmocka_unit_test(test_a_date_bound_is_the_whole_local_day_also_when_dst_changes),
		cmocka_unit_test(test_times_for_people_and_for_scripts),
		cmocka_unit_test(test_names_fold_case_and_keep_accents),
		cmocka_unit_test(test_a_row_by_its_name_email_or_the_start_of_its_id),
		cmocka_unit_test(test_contact_data_is_masked_to_tell_people_apart),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
