/* test_erasure.c - an erasure deletes the card and visits with their old
 * routing in the log (so devices get the deletes), keeps appointments
 * without notes pointing to the placeholder, and a device's ack past it is
 * its receipt; the store's privacy helpers refuse what is not in the
 * schema; the privacy message decodes only well-formed input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "db/audit.h"
#include "domain/erasure.h"
#include "kt_proto.h"
#include "kt_testdb.h"
#include "db/store.h"

static char path[64];
static kt_store *st;
static char org[37], loc[37], client[37], staff[37], appt[37], visit[37], device[37];

static int setup(void **state)
{
	(void)state;
	assert_int_equal(kt_testdb_open(path, sizeof path, "erasure", &st), KT_OK);
	kt_uuid7(org);
	kt_uuid7(loc);
	kt_uuid7(client);
	kt_uuid7(staff);
	kt_uuid7(appt);
	kt_uuid7(visit);
	kt_uuid7(device);
	assert_int_equal(store_insert(st, "organisation", org, NULL, (kt_field[]){{"name", "Org"}}, 1, NULL), KT_OK);
	kt_field l[] = {{"name", "A"}, {"time_zone", "Europe/Ljubljana"}};
	assert_int_equal(store_insert(st, "location", loc, org, l, 2, NULL), KT_OK);
	kt_field s[] = {{"display_name", "Maja"}, {"email", "maja@x.example"}, {"role", "specialist"}};
	assert_int_equal(store_insert(st, "staff", staff, org, s, 3, NULL), KT_OK);
	assert_int_equal(store_link_staff_location(st, staff, loc, true), KT_OK);
	kt_field c[] = {{"name", "Ana"}, {"allergies", "latex"}};
	assert_int_equal(store_insert(st, "client", client, org, c, 2, NULL), KT_OK);
	assert_int_equal(store_link_client_location(st, client, loc), KT_OK);
	kt_field a[] = {{"location_id", loc}, {"client_id", client}, {"specialist_id", staff},
			{"start_at", "1700000000000"}, {"duration_min", "30"}, {"services", ""},
			{"status", "done"}, {"client_note", "bring photo"}, {"internal_note", "pays cash"}};
	assert_int_equal(store_insert(st, "appointment", appt, org, a, 9, NULL), KT_OK);
	kt_field v[] = {{"location_id", loc}, {"client_id", client}, {"specialist_id", staff},
			{"appointment_id", appt}, {"visit_date", "2023-11-14"}, {"services", ""},
			{"treatment_notes", "7/20 + 6 %"}};
	assert_int_equal(store_insert(st, "visit", visit, org, v, 7, NULL), KT_OK);
	assert_int_equal(store_device_seen(st, device, false, staff, "test"), KT_OK);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	store_close(st);
	kt_testdb_remove(path);
	return 0;
}

static int count_id(void *user, const char *id)
{
	(void)id;
	(*(int *)user)++;
	return 0;
}

static void test_store_privacy_helpers_refuse_what_the_schema_lacks(void **state)
{
	int n = 0;
	(void)state;
	assert_int_equal(store_client_rows(st, "visit", "client_id", client, count_id, &n), KT_OK);
	assert_int_equal(n, 1);
	assert_int_equal(store_client_rows(st, "no_such_table", "client_id", client, count_id, &n), KT_ENOT_FOUND);
	assert_int_equal(store_client_rows(st, "visit", "no_such_col", client, count_id, &n), KT_ENOT_FOUND);
	assert_int_equal(store_begin(st), KT_OK);
	assert_int_equal(store_private_delete(st, "no_such_table", "client_id", client, &n), KT_OK);
	assert_int_equal(n, 0);
	assert_int_equal(store_private_delete(st, "auth_session", "no_such_col", client, &n), KT_OK);
	assert_int_equal(n, 0);
	store_rollback(st);
	assert_int_equal(store_client_key_destroy(st, client), KT_OK);
}

static void test_erasure_routes_deletes_keeps_appointments_and_takes_receipts(void **state)
{
	kt_log_entry e[16];
	kt_erasure_result r;
	kt_row row;
	int n, deletes = 0;
	int64_t before = store_max_seq(st);
	(void)state;

	store_set_actor(st, "operator", NULL, NULL, 0);
	assert_int_equal(erasure_erase(st, client, "operator", &r), KT_OK);
	assert_int_equal(r.visits, 1);
	assert_int_equal(r.appointments, 1);
	assert_int_equal(r.devices, 1);
	assert_int_equal(r.seq, store_max_seq(st));
	assert_int_equal(store_log_read(st, before, e, 16, &n), KT_OK);
	for (int i = 0; i < n; i++) {
		if (e[i].deleted) {
			deletes++;
			assert_string_equal(e[i].loc_old, loc); /* the devices of the location get it */
			assert_string_equal(e[i].client_old, client);
		}
		kt_log_entry_free(&e[i]);
	}
	assert_int_equal(deletes, 2); /* the visit and the card */
	assert_int_equal(store_row_load(st, kt_table_find("client", 6), client, &row), KT_ENOT_FOUND);
	assert_int_equal(store_row_load(st, kt_table_find("visit", 5), visit, &row), KT_ENOT_FOUND);
	assert_int_equal(store_row_load(st, kt_table_find("appointment", 11), appt, &row), KT_OK);
	int ci = kt_col_index(row.t, "client_id"), ni = kt_col_index(row.t, "client_note"),
	    ii = kt_col_index(row.t, "internal_note");
	assert_true(erasure_is_placeholder(st, row.v[ci].s));
	assert_true(row.v[ni].null && row.v[ii].null);
	kt_row_free(&row);

	/* a receipt needs an ack at or past the erasure */
	assert_int_equal(store_device_ack(st, device, r.seq - 1), KT_OK);
	sqlite3_stmt *q;
	assert_int_equal(sqlite3_prepare_v2(store_db(st), "SELECT purged_at FROM erasure_device", -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_type(q, 0), SQLITE_NULL);
	sqlite3_reset(q);
	assert_int_equal(store_device_ack(st, device, r.seq), KT_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_true(sqlite3_column_int64(q, 0) > 0);
	sqlite3_finalize(q);

	/* once only; the placeholder is not a client to erase */
	before = store_max_seq(st);
	assert_int_equal(erasure_erase(st, client, "operator", NULL), KT_ECONFLICT);
	char ph[37];
	assert_int_equal(store_row_load(st, kt_table_find("appointment", 11), appt, &row), KT_OK);
	snprintf(ph, sizeof ph, "%s", row.v[ci].s);
	kt_row_free(&row);
	assert_int_equal(erasure_erase(st, ph, "operator", NULL), KT_EINVALID);
	assert_int_equal(erasure_request(st, ph, "operator", NULL), KT_EINVALID);
	assert_int_equal(erasure_erase(st, "01a20b2f-e370-765e-8e59-000000000000", "operator", NULL), KT_ENOT_FOUND);
	assert_int_equal(erasure_erase(st, "not-a-uuid", "operator", NULL), KT_EINVALID);
	assert_int_equal(store_max_seq(st), before); /* refusals write nothing */
	FILE *out = fopen("/dev/null", "w");
	assert_int_equal(audit_verify(st, out), KT_OK);
	fclose(out);
}

static void test_privacy_message_decodes_only_well_formed_input(void **state)
{
	kt_privacy m;
	kt_mpw w;
	(void)state;
	kt_mpw_init(&w);
	proto_privacy_encode(&w, &(kt_privacy){{"export", 6}, {client, 36}});
	assert_int_equal(proto_privacy_decode(w.sb.data, w.sb.size, &m), KT_OK);
	assert_true(kt_mp_str_eq(m.op.s, m.op.len, "export"));
	assert_int_equal(m.client.len, 36);
	kt_mpw_reset(&w);
	kt_mpw_map(&w, 1); /* no op */
	kt_mpw_str(&w, "t");
	kt_mpw_str(&w, "privacy");
	assert_int_equal(proto_privacy_decode(w.sb.data, w.sb.size, &m), KT_EMALFORMED);
	kt_mpw_reset(&w);
	kt_mpw_map(&w, 3); /* op twice */
	kt_mpw_str(&w, "t");
	kt_mpw_str(&w, "privacy");
	kt_mpw_str(&w, "op");
	kt_mpw_str(&w, "export");
	kt_mpw_str(&w, "op");
	kt_mpw_str(&w, "erase");
	assert_int_equal(proto_privacy_decode(w.sb.data, w.sb.size, &m), KT_EMALFORMED);
	kt_mpw_reset(&w);
	kt_mpw_map(&w, 2); /* op not a string */
	kt_mpw_str(&w, "t");
	kt_mpw_str(&w, "privacy");
	kt_mpw_str(&w, "op");
	kt_mpw_int(&w, 7);
	assert_int_equal(proto_privacy_decode(w.sb.data, w.sb.size, &m), KT_EMALFORMED);
	kt_mpw_free(&w);
}

/* One calendar month later in UTC (GDPR Art. 12(3)); a day the next month
 * lacks becomes its last day; the time of day stays. */
static void test_erasure_due_one_calendar_month_later(void **state)
{
	static const struct {
		int64_t at, due;
	} cases[] = {
		{1900000000000LL, 1902678400000LL}, /* 2030-03-17T17:46:40Z -> 2030-04-17, same time */
		{1927843200000LL, 1930262400000LL}, /* 2031-02-03T00:00:00Z -> 2031-03-03 */
		{1927670399000LL, 1930089599000LL}, /* 2031-01-31T23:59:59Z -> 2031-02-28T23:59:59Z */
		{1959638400000LL, 1962144000000LL}, /* 2032-02-06T00:00:00Z -> 2032-03-06 */
		{1957651200000LL, 1960329600000LL}, /* 2032-01-14T00:00:00Z -> 2032-02-14 */
		{1959120000000LL, 1961625600000LL}, /* 2032-01-31T00:00:00Z -> 2032-02-29 (leap year) */
		{1924905600000LL, 1927584000000LL}, /* 2030-12-31T00:00:00Z -> 2031-01-31 (the year turns) */
		{1932724800000LL, 1935316800000LL}, /* 2031-03-31T12:00:00Z -> 2031-04-30T12:00:00Z */
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		assert_int_equal(erasure_due_at(cases[i].at), cases[i].due);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_store_privacy_helpers_refuse_what_the_schema_lacks),
		cmocka_unit_test(test_erasure_routes_deletes_keeps_appointments_and_takes_receipts),
		cmocka_unit_test(test_privacy_message_decodes_only_well_formed_input),
		cmocka_unit_test(test_erasure_due_one_calendar_month_later),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
