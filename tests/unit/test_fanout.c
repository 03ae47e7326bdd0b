/* test_fanout.c - the fan-out (fanout.c): a committed change wakes exactly
 * the streaming sessions indexed under its routing keys (the owners of its
 * organisation, the staff of its locations, its client), old and new
 * places both; and the entries after a position come from the ring while
 * it holds them, from SQLite when a session is behind it. Sessions without
 * sockets (tests/fuzz/fake_lws.c); change-log entries written straight
 * into a scratch database's log. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include "fake_lws.h"
#include "kt_testdb.h"
#include "domain/policy.h"
#include "server.h"
#include "sync/fanout.h"
#include "net/session.h"

#define RING 8

#define ORG_A "01890000-0000-7000-8000-0000000000a0"
#define ORG_B "01890000-0000-7000-8000-0000000000b0"
#define L1 "01890000-0000-7000-8000-0000000000e1"
#define L2 "01890000-0000-7000-8000-0000000000e2"
#define L3 "01890000-0000-7000-8000-0000000000e3" /* org B's */
#define CLIENT_C "01890000-0000-7000-8000-0000000000cc"
#define CLIENT_D "01890000-0000-7000-8000-0000000000dd"
#define ROW "01890000-0000-7000-8000-000000000099"

static char db_path[256];
static kt_server srv;

enum { OWNER_A, MANAGER_L1, RECEPTION_L2, SPECIALIST_L1_SNAP, CLIENT_C_L1, CLIENT_D_L1, OWNER_B, STAFF_L3, NS };
static kt_session *ss[NS];
static const char *const who[NS] = {"owner A", "manager L1", "reception L2", "specialist L1 (snapshot)",
				    "client C", "client D", "owner B", "staff L3"};

static kt_session *indexed(const char *org, const char *id, int role, const char *locs, kt_sess_state st)
{
	kt_session *s = session_new(&srv, fake_wsi);
	assert_non_null(s);
	s->signed_in = true;
	s->state = st;
	snprintf(s->principal.org, sizeof s->principal.org, "%s", org);
	snprintf(s->principal.id, sizeof s->principal.id, "%s", id);
	s->principal.role = role;
	s->principal.is_client = role == KT_ROLE_CLIENT;
	s->principal.locs = strdup(locs);
	s->principal.active = true;
	fanout_index(s);
	return s;
}

static int setup(void **state)
{
	(void)state;
	if (kt_testdb_open(db_path, sizeof db_path, "fanout", &srv.st))
		return -1;
	srv.watch_fd = -1;
	kt_mpw_init(&srv.body);
	kt_mpw_init(&srv.frame);
	if (fanout_init(&srv, RING, 1024))
		return -1;
	ss[OWNER_A] = indexed(ORG_A, "01890000-0000-7000-8000-000000000001", KT_ROLE_OWNER, "*", KT_SS_STREAM);
	ss[MANAGER_L1] = indexed(ORG_A, "01890000-0000-7000-8000-000000000002", KT_ROLE_MANAGER, L1, KT_SS_STREAM);
	ss[RECEPTION_L2] = indexed(ORG_A, "01890000-0000-7000-8000-000000000003", KT_ROLE_RECEPTION, L2, KT_SS_STREAM);
	ss[SPECIALIST_L1_SNAP] =
		indexed(ORG_A, "01890000-0000-7000-8000-000000000004", KT_ROLE_SPECIALIST, L1, KT_SS_SNAPSHOT);
	ss[CLIENT_C_L1] = indexed(ORG_A, CLIENT_C, KT_ROLE_CLIENT, L1, KT_SS_STREAM);
	ss[CLIENT_D_L1] = indexed(ORG_A, CLIENT_D, KT_ROLE_CLIENT, L1, KT_SS_STREAM);
	ss[OWNER_B] = indexed(ORG_B, "01890000-0000-7000-8000-000000000005", KT_ROLE_OWNER, "*", KT_SS_STREAM);
	ss[STAFF_L3] = indexed(ORG_B, "01890000-0000-7000-8000-000000000006", KT_ROLE_MANAGER, L3, KT_SS_STREAM);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < NS; i++)
		session_free(ss[i]);
	fake_clear_timers();
	fanout_free(&srv);
	kt_mpw_free(&srv.body);
	kt_mpw_free(&srv.frame);
	store_close(srv.st);
	kt_testdb_remove(db_path);
	return 0;
}

/* Commit one change-log entry and let the fan-out read it. */
static void commit(const char *org, const char *tbl, const char *id, bool deleted, const char *loc_old,
		   const char *loc_new, const char *client_old, const char *client_new)
{
	sqlite3_stmt *q;
	for (int i = 0; i < NS; i++)
		ss[i]->dirty = false;
	fake_writable_requests = 0;
	assert_int_equal(sqlite3_prepare_v2(store_db(srv.st),
					    "INSERT INTO changelog(org_id, tbl, row_id, op, loc_old, loc_new, client_old,"
					    " client_new, at) VALUES(?, ?, ?, ?, ?, ?, ?, ?, 0)",
					    -1, &q, NULL),
			 SQLITE_OK);
	sqlite3_bind_text(q, 1, org, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, tbl, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, deleted ? "delete" : "put", -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 5, loc_old, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 6, loc_new, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 7, client_old, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 8, client_new, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(q), SQLITE_DONE);
	sqlite3_finalize(q);
	fanout_ingest(&srv);
}

/* The sessions woken are exactly those of want (a list of indexes, -1 ends). */
static void assert_woken(const int *want)
{
	int n = 0;
	for (int i = 0; i < NS; i++) {
		bool w = false;
		for (const int *p = want; *p >= 0; p++)
			w |= *p == i;
		if (ss[i]->dirty != w)
			fail_msg("%s %s", who[i], w ? "was not woken" : "was woken");
		n += w;
	}
	assert_int_equal(fake_writable_requests, n); /* each woken session asked to write once */
}

static void test_appointment_wakes_its_location_client_and_owner(void **state)
{
	(void)state;
	commit(ORG_A, "appointment", ROW, false, "", L1, "", CLIENT_C);
	assert_woken((int[]){OWNER_A, MANAGER_L1, CLIENT_C_L1, -1});
	/* a second change while they have not sent yet: no second request */
	ss[OWNER_A]->dirty = true;
	fake_writable_requests = 0;
	fanout_ingest(&srv);
	assert_int_equal(fake_writable_requests, 0);
}

/* A move wakes the old place and the new one: those who lose sight of
 * the row learn of it (an eviction), those who gain it get the row. */
static void test_move_wakes_old_and_new(void **state)
{
	(void)state;
	commit(ORG_A, "appointment", ROW, false, L1, L2, CLIENT_C, CLIENT_D);
	assert_woken((int[]){OWNER_A, MANAGER_L1, RECEPTION_L2, CLIENT_C_L1, CLIENT_D_L1, -1});
}

static void test_org_row_wakes_the_whole_org(void **state)
{
	(void)state;
	commit(ORG_A, "organisation", ORG_A, false, "*", "*", "", "");
	assert_woken((int[]){OWNER_A, MANAGER_L1, RECEPTION_L2, CLIENT_C_L1, CLIENT_D_L1, -1});
	commit(ORG_B, "organisation", ORG_B, false, "*", "*", "", "");
	assert_woken((int[]){OWNER_B, STAFF_L3, -1});
}

/* A location's row: its staff and the clients known there. */
static void test_location_row_wakes_its_staff_and_clients(void **state)
{
	(void)state;
	commit(ORG_A, "location", L1, false, L1, L1, "", "");
	assert_woken((int[]){OWNER_A, MANAGER_L1, CLIENT_C_L1, CLIENT_D_L1, -1});
}

/* A staff member's row reaches the person even with no location (their
 * rights may have changed), and their locations' staff. */
static void test_staff_row_wakes_the_person(void **state)
{
	(void)state;
	commit(ORG_A, "staff", ss[RECEPTION_L2]->principal.id, false, "", "", "", "");
	assert_woken((int[]){OWNER_A, RECEPTION_L2, -1});
	commit(ORG_A, "staff", ss[RECEPTION_L2]->principal.id, false, L2, L1, "", "");
	assert_woken((int[]){OWNER_A, RECEPTION_L2, MANAGER_L1, CLIENT_C_L1, CLIENT_D_L1, -1});
}

/* An erased client: every device of the organisation passes that point. */
static void test_client_erasure_wakes_the_whole_org(void **state)
{
	(void)state;
	commit(ORG_A, "client", CLIENT_D, true, L1, "", CLIENT_D, "");
	assert_woken((int[]){OWNER_A, MANAGER_L1, RECEPTION_L2, CLIENT_C_L1, CLIENT_D_L1, -1});
}

/* During a rights difference a session also hears its old locations. */
static void test_diff_hears_old_locations(void **state)
{
	kt_session *s = ss[RECEPTION_L2];
	(void)state;
	commit(ORG_A, "appointment", ROW, false, L1, L1, "", "");
	assert_woken((int[]){OWNER_A, MANAGER_L1, -1});
	s->diff_active = true;
	s->diff_old.locs = strdup(L1);
	fanout_index(s);
	commit(ORG_A, "appointment", ROW, false, L1, L1, "", "");
	assert_woken((int[]){OWNER_A, MANAGER_L1, RECEPTION_L2, -1});
	s->diff_active = false;
	kt_principal_free(&s->diff_old);
	memset(&s->diff_old, 0, sizeof s->diff_old);
	fanout_index(s);
	commit(ORG_A, "appointment", ROW, false, L1, L1, "", "");
	assert_woken((int[]){OWNER_A, MANAGER_L1, -1});
}

static void test_unindexed_session_is_not_woken(void **state)
{
	(void)state;
	fanout_unindex(ss[MANAGER_L1]);
	commit(ORG_A, "appointment", ROW, false, L1, L1, "", "");
	assert_woken((int[]){OWNER_A, -1});
	fanout_index(ss[MANAGER_L1]);
	commit(ORG_A, "appointment", ROW, false, L1, L1, "", "");
	assert_woken((int[]){OWNER_A, MANAGER_L1, -1});
}

/* The ring holds the newest RING entries, borrowed; older ones are read
 * from SQLite and owned by the caller; either way in order, none skipped. */
static void test_entries_after_from_ring_or_log(void **state)
{
	kt_log_entry out[32];
	int n;
	bool owned;
	(void)state;
	for (int i = 0; i < 2 * RING; i++)
		commit(ORG_A, "appointment", ROW, false, L1, L1, "", "");
	int64_t head = srv.head_seq;
	assert_int_equal(head, store_max_seq(srv.st));
	int64_t first, last;
	fanout_ring_span(&srv, &first, &last);
	assert_int_equal(last, head);
	assert_int_equal(first, head - RING + 1);

	assert_int_equal(fanout_entries_after(&srv, head - 3, out, 32, &n, &owned), KT_OK);
	assert_false(owned);
	assert_int_equal(n, 3);
	for (int i = 0; i < n; i++)
		assert_int_equal(out[i].seq, head - 2 + i);

	assert_int_equal(fanout_entries_after(&srv, head - RING, out, 32, &n, &owned), KT_OK);
	assert_false(owned); /* the oldest the ring holds is the next one */
	assert_int_equal(n, RING);

	assert_int_equal(fanout_entries_after(&srv, head - RING - 1, out, 4, &n, &owned), KT_OK);
	assert_true(owned);
	assert_int_equal(n, 4);
	for (int i = 0; i < n; i++) {
		assert_int_equal(out[i].seq, head - RING + i);
		assert_string_equal(out[i].t->name, "appointment");
		kt_log_entry_free(&out[i]);
	}

	assert_int_equal(fanout_entries_after(&srv, head, out, 32, &n, &owned), KT_OK);
	assert_int_equal(n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_appointment_wakes_its_location_client_and_owner),
		cmocka_unit_test(test_move_wakes_old_and_new),
		cmocka_unit_test(test_org_row_wakes_the_whole_org),
		cmocka_unit_test(test_location_row_wakes_its_staff_and_clients),
		cmocka_unit_test(test_staff_row_wakes_the_person),
		cmocka_unit_test(test_client_erasure_wakes_the_whole_org),
		cmocka_unit_test(test_diff_hears_old_locations),
		cmocka_unit_test(test_unindexed_session_is_not_woken),
		cmocka_unit_test(test_entries_after_from_ring_or_log),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
