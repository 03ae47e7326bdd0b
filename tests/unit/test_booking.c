/* test_booking.c - the booking rules of time and place (domain/booking.c
 * through ops_booking_check): opening hours with a lunch break, closed
 * days, working hours, time off, which services a location offers and a
 * specialist does, buffer time, the override; judged in the location's
 * wall-clock time, also on the days daylight saving time starts
 * (2027-03-28) and ends (2027-10-31) in Europe/Ljubljana. */
#define _DEFAULT_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <sqlite3.h>
#include "db/store.h"
#include "db/validate.h"
#include "domain/ops.h"
#include "kt_err.h"
#include "kt_testdb.h"

#define ORG "00000000-0000-7000-8000-000000000001"
#define LOC "00000000-0000-7000-8000-000000000002"
#define LOC2 "00000000-0000-7000-8000-000000000003"
#define NINA "00000000-0000-7000-8000-000000000004"
#define ANA "00000000-0000-7000-8000-000000000005"
#define CLIENT "00000000-0000-7000-8000-000000000006"
#define CUT "00000000-0000-7000-8000-000000000007"
#define NAILS "00000000-0000-7000-8000-000000000008"
#define COLOUR "00000000-0000-7000-8000-000000000009"

static kt_store *st;
static char path[256];
static char err[256];

static void sql(const char *q)
{
	char *e = NULL;
	if (sqlite3_exec(store_db(st), q, NULL, NULL, &e) != SQLITE_OK)
		fail_msg("%s: %s", q, e);
}

/* ms of a UTC date and time */
static int64_t utc(int y, int mo, int d, int h, int mi)
{
	struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi};
	return (int64_t)timegm(&tm) * 1000;
}

static int setup(void **state)
{
	(void)state;
	assert_int_equal(kt_testdb_open(path, sizeof path, "booking", &st), KT_OK);
	sql("INSERT INTO organisation(id, name, updated_at) VALUES('" ORG "', 'Salon', 1);"
	    "INSERT INTO location(id, org_id, name, time_zone, updated_at) VALUES"
	    " ('" LOC "', '" ORG "', 'Maribor', 'Europe/Ljubljana', 1),"
	    " ('" LOC2 "', '" ORG "', 'Celje', 'Europe/Ljubljana', 1);"
	    "INSERT INTO staff(id, org_id, display_name, email, role, updated_at) VALUES"
	    " ('" NINA "', '" ORG "', 'Nina', 'nina@example.com', 'specialist', 1),"
	    " ('" ANA "', '" ORG "', 'Ana', 'ana@example.com', 'specialist', 1);"
	    "INSERT INTO staff_location VALUES('" NINA "', '" LOC "'), ('" ANA "', '" LOC "');"
	    "INSERT INTO client(id, org_id, name, updated_at) VALUES('" CLIENT "', '" ORG "', 'x', 1);"
	    "INSERT INTO service(id, org_id, name, duration_min, price_cents, updated_at, location_ids,"
	    " specialist_ids, buffer_min) VALUES"
	    " ('" CUT "', '" ORG "', 'Cut', 60, 2500, 1, NULL, NULL, 0),"
	    " ('" NAILS "', '" ORG "', 'Manicure', 45, 2000, 1, '" LOC2 "', '" ANA "', 0),"
	    " ('" COLOUR "', '" ORG "', 'Colour', 60, 6000, 1, NULL, NULL, 15);");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	store_close(st);
	kt_testdb_remove(path);
	return 0;
}

/* every test starts without hours, days off or bookings */
static int clean(void **state)
{
	(void)state;
	sql("DELETE FROM opening_hours; DELETE FROM closed_day; DELETE FROM working_hours; DELETE FROM time_off;"
	    "DELETE FROM appointment;");
	return 0;
}

static int check_as(const char *spec, const char *services, int64_t start, int minutes, const char *status,
		    unsigned allow, kt_booking_verdict *v)
{
	kt_booking b = {ORG, LOC, CLIENT, spec, services, start, minutes, status, false};
	err[0] = 0;
	return ops_booking_check(st, NULL, &b, allow, v, err, sizeof err);
}

static int check(int64_t start, int minutes)
{
	kt_booking_verdict v;
	return check_as(NINA, "", start, minutes, NULL, 0, &v);
}

static void book(const char *id, const char *services, int64_t start, int minutes)
{
	char q[512];
	snprintf(q, sizeof q,
		 "INSERT INTO appointment(id, org_id, location_id, client_id, specialist_id, start_at, duration_min,"
		 " services, status, updated_at) VALUES('%s', '" ORG "', '" LOC "', '" CLIENT "', '" NINA "', %lld, %d,"
		 " '%s', 'booked', 1)",
		 id, (long long)start, minutes, services);
	sql(q);
}

static void hours(const char *tbl, int weekday, const char *intervals)
{
	char q[512];
	if (!strcmp(tbl, "opening_hours"))
		snprintf(q, sizeof q,
			 "INSERT INTO opening_hours(id, org_id, location_id, weekday, intervals, updated_at) VALUES"
			 " (lower(hex(randomblob(16))), '" ORG "', '" LOC "', %d, '%s', 1)",
			 weekday, intervals);
	else
		snprintf(q, sizeof q,
			 "INSERT INTO working_hours(id, org_id, staff_id, location_id, weekday, intervals, updated_at)"
			 " VALUES (lower(hex(randomblob(16))), '" ORG "', '" NINA "', '" LOC "', %d, '%s', 1)",
			 weekday, intervals);
	sql(q);
}

/* A salon that has not set its hours keeps working. */
static void test_no_hours_set_refuses_nothing(void **state)
{
	(void)state;
	assert_int_equal(check(utc(2027, 1, 4, 2, 0), 60), KT_OK); /* 03:00 on a Monday */
	assert_int_equal(check(utc(2027, 1, 10, 22, 0), 60), KT_OK); /* a Sunday night */
}

static void test_opening_hours_with_a_lunch_break(void **state)
{
	(void)state;
	hours("opening_hours", 1, "09:00-12:00,13:00-19:00");
	/* 2027-01-04 is a Monday, CET = UTC+1 */
	assert_int_equal(check(utc(2027, 1, 4, 8, 0), 60), KT_OK);             /* 09:00-10:00 */
	assert_int_equal(check(utc(2027, 1, 4, 12, 0), 360), KT_OK);           /* 13:00-19:00 */
	assert_int_equal(check(utc(2027, 1, 4, 11, 30), 60), KT_EOUTSIDE_OPENING_HOURS); /* 12:30-13:30 */
	assert_string_equal(err, "Maribor is open 09:00-12:00, 13:00-19:00 on Mondays (Europe/Ljubljana); "
				 "12:30-13:30 on 2027-01-04 is outside (opening_hours)");
	assert_int_equal(check(utc(2027, 1, 4, 10, 30), 60), KT_EOUTSIDE_OPENING_HOURS); /* across lunch */
	assert_int_equal(check(utc(2027, 1, 4, 7, 59), 30), KT_EOUTSIDE_OPENING_HOURS);  /* 08:59 */
	assert_int_equal(check(utc(2027, 1, 4, 17, 30), 31), KT_EOUTSIDE_OPENING_HOURS); /* ends 19:01 */
	/* no row for Tuesday while Monday has one: closed on Tuesdays */
	assert_int_equal(check(utc(2027, 1, 5, 9, 0), 60), KT_EOUTSIDE_OPENING_HOURS);
	assert_non_null(strstr(err, "Maribor is closed on Tuesdays (Europe/Ljubljana)"));
}

/* 09:00-17:00 holds in local time on the day the clocks go forward
 * (2027-03-28, UTC+1 -> UTC+2 at 02:00) and back (2027-10-31, UTC+2 ->
 * UTC+1 at 03:00). */
static void test_hours_hold_in_local_time_when_dst_starts_and_ends(void **state)
{
	(void)state;
	hours("opening_hours", 7, "09:00-17:00");
	/* spring: local = UTC+2 all day after 02:00 */
	assert_int_equal(check(utc(2027, 3, 28, 7, 0), 60), KT_OK);                       /* 09:00 CEST */
	assert_int_equal(check(utc(2027, 3, 28, 6, 30), 60), KT_EOUTSIDE_OPENING_HOURS);  /* 08:30 CEST */
	assert_non_null(strstr(err, "08:30-09:30 on 2027-03-28"));
	assert_int_equal(check(utc(2027, 3, 28, 14, 30), 30), KT_OK);                     /* 16:30-17:00 */
	assert_int_equal(check(utc(2027, 3, 28, 15, 0), 30), KT_EOUTSIDE_OPENING_HOURS);  /* 17:00-17:30 */
	/* the same UTC times a week before (CET) are an hour earlier locally */
	assert_int_equal(check(utc(2027, 3, 21, 7, 0), 60), KT_EOUTSIDE_OPENING_HOURS);   /* 08:00 CET */
	assert_int_equal(check(utc(2027, 3, 21, 8, 0), 60), KT_OK);                       /* 09:00 CET */
	/* autumn: local = UTC+1 after 03:00 */
	assert_int_equal(check(utc(2027, 10, 31, 8, 0), 60), KT_OK);                      /* 09:00 CET */
	assert_int_equal(check(utc(2027, 10, 31, 7, 0), 60), KT_EOUTSIDE_OPENING_HOURS);  /* 08:00 CET */
	assert_non_null(strstr(err, "08:00-09:00 on 2027-10-31"));
	assert_int_equal(check(utc(2027, 10, 31, 15, 30), 30), KT_OK);                    /* 16:30-17:00 */
	assert_int_equal(check(utc(2027, 10, 31, 16, 0), 30), KT_EOUTSIDE_OPENING_HOURS); /* 17:00-17:30 */
}

/* An appointment across the hour that does not exist (02:00-03:00 on
 * 2027-03-28) is judged by its local wall times: 01:30 CET plus 120 minutes
 * ends at 04:30 CEST, not 03:30. */
static void test_an_appointment_across_the_skipped_hour_ends_at_its_wall_time(void **state)
{
	(void)state;
	hours("opening_hours", 7, "01:00-04:00");
	assert_int_equal(check(utc(2027, 3, 28, 0, 30), 90), KT_OK); /* 01:30 CET - 04:00 CEST */
	assert_int_equal(check(utc(2027, 3, 28, 0, 30), 120), KT_EOUTSIDE_OPENING_HOURS);
	assert_non_null(strstr(err, "01:30-04:30 on 2027-03-28"));
	/* and through the repeated hour in autumn: 02:30 CEST + 60 min = 02:30 CET */
	assert_int_equal(check(utc(2027, 10, 31, 0, 30), 60), KT_OK);
}

static void test_a_closed_day_is_refused_with_its_reason(void **state)
{
	(void)state;
	sql("INSERT INTO closed_day(id, org_id, location_id, day, reason, updated_at) VALUES"
	    " ('c1', '" ORG "', '" LOC "', '2027-12-25', 'Christmas', 1)");
	/* 2027-12-25 00:30 local is 2027-12-24 23:30Z: the local date counts */
	assert_int_equal(check(utc(2027, 12, 24, 23, 30), 30), KT_ELOCATION_CLOSED);
	assert_string_equal(err, "Maribor is closed on 2027-12-25 (Christmas) (closed_day)");
	assert_int_equal(check(utc(2027, 12, 24, 21, 0), 60), KT_OK); /* 22:00-23:00 on the 24th */
}

static void test_working_hours_name_the_person_place_and_times(void **state)
{
	(void)state;
	hours("working_hours", 1, "09:00-17:00");
	assert_int_equal(check(utc(2027, 1, 4, 8, 0), 60), KT_OK);
	assert_int_equal(check(utc(2027, 1, 4, 16, 30), 30), KT_EOUTSIDE_WORKING_HOURS); /* 17:30 */
	assert_string_equal(err, "Nina works 09:00-17:00 on Mondays at Maribor (Europe/Ljubljana); 17:30-18:00 is "
				 "outside (working_hours)");
	assert_int_equal(check(utc(2027, 1, 6, 9, 0), 60), KT_EOUTSIDE_WORKING_HOURS); /* a Wednesday */
	assert_non_null(strstr(err, "Nina does not work on Wednesdays at Maribor"));
	/* someone with no hours set there is not refused */
	kt_booking_verdict v;
	assert_int_equal(check_as(ANA, "", utc(2027, 1, 6, 9, 0), 60, NULL, 0, &v), KT_OK);
}

static void test_time_off_is_refused_without_its_reason(void **state)
{
	(void)state;
	char q[256];
	snprintf(q, sizeof q,
		 "INSERT INTO time_off(id, org_id, staff_id, from_at, to_at, reason, updated_at) VALUES"
		 " ('t1', '" ORG "', '" NINA "', %lld, %lld, 'surgery', 1)",
		 (long long)utc(2027, 7, 31, 22, 0), (long long)utc(2027, 8, 14, 22, 0));
	sql(q);
	assert_int_equal(check(utc(2027, 8, 3, 8, 0), 60), KT_ESTAFF_TIME_OFF);
	assert_string_equal(err, "Nina is off from 2027-08-01 00:00 CEST to 2027-08-15 00:00 CEST; 10:00-11:00 on "
				 "2027-08-03 falls in it (time_off)");
	assert_null(strstr(err, "surgery"));
	assert_int_equal(check(utc(2027, 7, 31, 21, 0), 60), KT_OK); /* ends as it starts */
	assert_int_equal(check(utc(2027, 8, 14, 22, 0), 60), KT_OK);
}

static void test_services_where_offered_and_by_whom(void **state)
{
	(void)state;
	kt_booking_verdict v;
	assert_int_equal(check_as(NINA, CUT, utc(2027, 1, 4, 8, 0), 60, NULL, 0, &v), KT_OK);
	assert_int_equal(check_as(ANA, NAILS, utc(2027, 1, 4, 8, 0), 45, NULL, 0, &v), KT_ESERVICE_NOT_AT_LOCATION);
	assert_string_equal(err, "Maribor does not offer Manicure (location_service)");
	sql("UPDATE service SET location_ids = '" LOC2 "," LOC "' WHERE id = '" NAILS "'");
	assert_int_equal(check_as(ANA, NAILS, utc(2027, 1, 4, 8, 0), 45, NULL, 0, &v), KT_OK);
	assert_int_equal(check_as(NINA, NAILS, utc(2027, 1, 4, 8, 0), 45, NULL, 0, &v), KT_ESERVICE_NOT_BY_SPECIALIST);
	assert_string_equal(err, "Nina does not do Manicure: it names its specialists (specialist_service)");
	sql("UPDATE service SET location_ids = '" LOC2 "' WHERE id = '" NAILS "'");
}

static void test_buffer_time_after_a_service(void **state)
{
	(void)state;
	kt_booking_verdict v;
	book("a1", COLOUR, utc(2027, 1, 4, 9, 0), 60); /* 10:00-11:00 + 15 min */
	assert_int_equal(check(utc(2027, 1, 4, 10, 10), 30), KT_EBUFFER_OVERLAP);
	assert_non_null(strstr(err, "appointment a1"));
	assert_non_null(strstr(err, "needs 15 minutes after it"));
	assert_int_equal(check(utc(2027, 1, 4, 10, 15), 30), KT_OK);
	/* our own buffer running into the next booking */
	assert_int_equal(check_as(NINA, COLOUR, utc(2027, 1, 4, 7, 50), 60, NULL, 0, &v), KT_EBUFFER_OVERLAP);
	assert_non_null(strstr(err, "Colour needs 15 minutes after it"));
	assert_string_equal(v.other, "a1");
	assert_int_equal(check_as(NINA, COLOUR, utc(2027, 1, 4, 7, 45), 60, NULL, 0, &v), KT_OK);
	/* a plain double booking stays a conflict */
	assert_int_equal(check(utc(2027, 1, 4, 9, 30), 30), KT_ECONFLICT);
}

static void test_an_override_lets_the_named_rule_through_and_says_why(void **state)
{
	(void)state;
	kt_booking_verdict v;
	hours("opening_hours", 1, "09:00-17:00");
	hours("working_hours", 1, "09:00-17:00");
	int64_t late = utc(2027, 1, 4, 16, 30); /* 17:30 */
	assert_int_equal(check_as(NINA, "", late, 30, NULL, OPS_RULE_OPENING_HOURS, &v), KT_EOUTSIDE_WORKING_HOURS);
	assert_int_equal(check_as(NINA, "", late, 30, NULL, OPS_RULE_OPENING_HOURS | OPS_RULE_WORKING_HOURS, &v),
			 KT_OK);
	assert_int_equal(v.overridden, OPS_RULE_OPENING_HOURS | OPS_RULE_WORKING_HOURS);
	assert_non_null(strstr(v.why[1], "17:30-18:00"));
	assert_non_null(strstr(v.why[3], "Nina works 09:00-17:00"));
	/* cancelled: no rule of time holds it */
	assert_int_equal(check_as(NINA, "", late, 30, "cancelled", 0, &v), KT_OK);
	/* a status edit of a booking made before the hours changed */
	kt_booking b = {ORG, LOC, CLIENT, NINA, "", late, 30, "done", true};
	assert_int_equal(ops_booking_check(st, NULL, &b, 0, &v, err, sizeof err), KT_OK);
}

/* Time off goes where its person's staff row goes: when that moves (a new
 * location, a role that routes elsewhere) the change log says so for each
 * time off too, so devices that gain or lose the person gain or lose it. */
static void test_time_off_moves_with_its_person(void **state)
{
	(void)state;
	sqlite3_stmt *s;
	sql("INSERT INTO time_off(id, org_id, staff_id, from_at, to_at, updated_at) VALUES"
	    " ('00000000-0000-7000-8000-0000000000aa', '" ORG "', '" ANA "', 1900000000000, 1900100000000, 1)");
	assert_int_equal(store_link_staff_location(st, ANA, LOC2, true), KT_OK);
	assert_int_equal(sqlite3_prepare_v2(store_db(st),
					    "SELECT loc_old, loc_new FROM changelog WHERE tbl = 'time_off' ORDER BY seq DESC",
					    -1, &s, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(s, 0), LOC);
	assert_string_equal((const char *)sqlite3_column_text(s, 1), LOC "," LOC2);
	sqlite3_finalize(s);
	kt_field role = {"role", "owner"};
	assert_int_equal(store_update(st, "staff", ANA, &role, 1, NULL), KT_OK);
	assert_int_equal(sqlite3_prepare_v2(store_db(st),
					    "SELECT loc_new FROM changelog WHERE tbl = 'time_off' ORDER BY seq DESC", -1, &s,
					    NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(s, 0), "*");
	sqlite3_finalize(s);
	role.text = "specialist";
	assert_int_equal(store_update(st, "staff", ANA, &role, 1, NULL), KT_OK);
	assert_int_equal(store_link_staff_location(st, ANA, LOC2, false), KT_OK);
}

static void test_rule_names_and_intervals(void **state)
{
	(void)state;
	int iv[VALIDATE_MAX_INTERVALS][2], n;
	char why[200];
	assert_int_equal(ops_rules_parse("overlap", 7), OPS_RULE_OVERLAP);
	assert_int_equal(ops_rules_parse("opening_hours,buffer", 20), OPS_RULE_OPENING_HOURS | OPS_RULE_BUFFER);
	assert_int_equal(ops_rules_parse("opening_hours,", 14), 0);
	assert_int_equal(ops_rules_parse("lunch", 5), 0);
	assert_int_equal(ops_rules_parse("", 0), 0);
	assert_string_equal(ops_rule_name(OPS_RULE_TIME_OFF), "time_off");
	assert_int_equal(validate_intervals("09:00-12:00,13:00-24:00", iv, VALIDATE_MAX_INTERVALS, &n, why, sizeof why),
			 KT_OK);
	assert_int_equal(n, 2);
	assert_int_equal(iv[1][1], 1440);
	assert_int_equal(validate_intervals("", iv, VALIDATE_MAX_INTERVALS, &n, why, sizeof why), KT_OK);
	assert_int_equal(n, 0);
	assert_int_equal(validate_intervals("12:00-09:00", iv, VALIDATE_MAX_INTERVALS, &n, why, sizeof why),
			 KT_EINVALID);
	assert_non_null(strstr(why, "must start before it ends"));
	assert_int_equal(validate_intervals("09:00-12:00,11:00-13:00", iv, VALIDATE_MAX_INTERVALS, &n, why, sizeof why),
			 KT_EINVALID);
	assert_int_equal(validate_intervals("9:00-12:00", iv, VALIDATE_MAX_INTERVALS, &n, why, sizeof why), KT_EINVALID);
	assert_int_equal(validate_intervals("24:00-24:00", iv, VALIDATE_MAX_INTERVALS, &n, why, sizeof why), KT_EINVALID);
	assert_int_equal(validate_intervals("09:00-12:00,", iv, VALIDATE_MAX_INTERVALS, &n, why, sizeof why), KT_EINVALID);
	assert_int_equal(validate_weekday("mon"), 1);
	assert_int_equal(validate_weekday("Sunday"), 7);
	assert_int_equal(validate_weekday("3"), 3);
	assert_int_equal(validate_weekday("mo"), 0);
	assert_int_equal(validate_weekday("8"), 0);
	const kt_table *t = kt_table_find("opening_hours", 13);
	assert_int_equal(validate_field(t, "weekday", "8", why, sizeof why), KT_EINVALID);
	assert_string_equal(why, "weekday must be 1 (Monday) to 7 (Sunday)");
	t = kt_table_find("closed_day", 10);
	assert_int_equal(validate_field(t, "day", "2027-02-30", why, sizeof why), KT_EINVALID);
	t = kt_table_find("time_off", 8);
	kt_field f[] = {{"from_at", "1900000000000"}, {"to_at", "1800000000000"}};
	assert_int_equal(validate_fields(t, f, 2, why, sizeof why), KT_EINVALID);
	assert_string_equal(why, "from_at must be before to_at");
	/* why an appointment was cancelled: text of at most VALIDATE_MAX_REASON bytes */
	char reason[VALIDATE_MAX_REASON + 2];
	t = kt_table_find("appointment", 11);
	memset(reason, 'x', sizeof reason - 1);
	reason[sizeof reason - 1] = 0;
	assert_int_equal(validate_field(t, "status_reason", reason, why, sizeof why), KT_EINVALID);
	assert_string_equal(why, "status_reason must be text of at most 500 bytes");
	reason[VALIDATE_MAX_REASON] = 0;
	assert_int_equal(validate_field(t, "status_reason", reason, why, sizeof why), KT_OK);
	assert_int_equal(validate_field(t, "status_reason", "bad \xff byte", why, sizeof why), KT_EINVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_no_hours_set_refuses_nothing, clean),
		cmocka_unit_test_setup(test_opening_hours_with_a_lunch_break, clean),
		cmocka_unit_test_setup(test_hours_hold_in_local_time_when_dst_starts_and_ends, clean),
		cmocka_unit_test_setup(test_an_appointment_across_the_skipped_hour_ends_at_its_wall_time, clean),
		cmocka_unit_test_setup(test_a_closed_day_is_refused_with_its_reason, clean),
		cmocka_unit_test_setup(test_working_hours_name_the_person_place_and_times, clean),
		cmocka_unit_test_setup(test_time_off_is_refused_without_its_reason, clean),
		cmocka_unit_test_setup(test_services_where_offered_and_by_whom, clean),
		cmocka_unit_test_setup(test_buffer_time_after_a_service, clean),
		cmocka_unit_test_setup(test_an_override_lets_the_named_rule_through_and_says_why, clean),
		cmocka_unit_test_setup(test_time_off_moves_with_its_person, clean),
		cmocka_unit_test(test_rule_names_and_intervals),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
