/* test_cursor.c - sync cursors (cursor.c): what a cursor names comes back
 * unchanged, and a cursor is refused when any byte of it was changed, when
 * it is shown by another organisation, person or device or to a server
 * with another key, after a change of the principal's rights, or when its
 * position is not in this database's log (ahead of it, or compacted away). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <sqlite3.h>
#include "kt_testdb.h"
#include "server.h"
#include "sync/cursor.h"

static char db_path[256];
static kt_server srv;

#define ORG "01890000-0000-7000-8000-00000000000a"
#define PERSON "01890000-0000-7000-8000-00000000000b"
#define DEVICE "01890000-0000-7000-8000-00000000000c"
#define LOC1 "01890000-0000-7000-8000-0000000000c1"
#define LOC2 "01890000-0000-7000-8000-0000000000c2"

/* A change log of seqs 1..100 (the entries' content does not matter here). */
static int setup(void **state)
{
	char *err = NULL;
	(void)state;
	if (kt_testdb_open(db_path, sizeof db_path, "cursor", &srv.st))
		return -1;
	randombytes_buf(srv.cursor_key, sizeof srv.cursor_key);
	if (sqlite3_exec(store_db(srv.st),
			 "CREATE TEMP TABLE n(i INTEGER PRIMARY KEY);"
			 "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 100)"
			 " INSERT INTO n SELECT i FROM c;",
			 NULL, NULL, &err) != SQLITE_OK) {
		fprintf(stderr, "%s\n", err);
		sqlite3_free(err);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	store_close(srv.st);
	kt_testdb_remove(db_path);
	return 0;
}

/* The log holds first..last (cursor_check reads the oldest from the store,
 * the newest from the fan-out's head_seq). */
static void log_keeps(int64_t first, int64_t last)
{
	char sql[256];
	assert_int_equal(sqlite3_exec(store_db(srv.st), "DELETE FROM changelog", NULL, NULL, NULL), SQLITE_OK);
	snprintf(sql, sizeof sql,
		 "INSERT INTO changelog(seq, org_id, tbl, row_id, op, at) SELECT i, '" ORG "', 'client',"
		 " printf('%%036d', i), 'put', 0"
		 " FROM temp.n WHERE i BETWEEN %lld AND %lld",
		 (long long)first, (long long)last);
	char *err = NULL;
	if (sqlite3_exec(store_db(srv.st), sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s", err);
	srv.head_seq = last;
}

static void principal(kt_principal *p, const char *org, const char *id, int role, const char *locs)
{
	memset(p, 0, sizeof *p);
	snprintf(p->org, sizeof p->org, "%s", org);
	snprintf(p->id, sizeof p->id, "%s", id);
	p->role = role;
	p->locs = strdup(locs);
	p->active = true;
	assert_non_null(p->locs);
}

static void session(kt_session *s, const char *org, const char *id, const char *device, int role, const char *locs)
{
	memset(s, 0, sizeof *s);
	s->srv = &srv;
	principal(&s->principal, org, id, role, locs);
	snprintf(s->device, sizeof s->device, "%s", device);
}

static void session_clear(kt_session *s)
{
	kt_principal_free(&s->principal);
	kt_principal_free(&s->diff_old);
	kt_principal_free(&s->basis);
}

static int check(const kt_session *s, const uint8_t c[KT_CURSOR_LEN], int64_t *seq)
{
	return cursor_check(&srv, s, c, KT_CURSOR_LEN, seq);
}

static void test_round_trip(void **state)
{
	kt_session s;
	uint8_t c[KT_CURSOR_LEN];
	int64_t seq;
	(void)state;
	log_keeps(1, 100);
	session(&s, ORG, PERSON, DEVICE, KT_ROLE_MANAGER, LOC1 "," LOC2);
	for (int64_t at = 0; at <= 100; at += 25) {
		cursor_make(&srv, &s, at, c);
		assert_int_equal(c[0], 1); /* the layout's version */
		seq = -1;
		assert_int_equal(check(&s, c, &seq), KT_OK);
		assert_int_equal(seq, at);
	}
	/* another person's name or active flag are not rights */
	cursor_make(&srv, &s, 60, c);
	snprintf(s.principal.name, sizeof s.principal.name, "renamed");
	assert_int_equal(check(&s, c, &seq), KT_OK);
	session_clear(&s);
}

/* The MAC covers the organisation, the person and the device. */
static void test_bound_to_org_person_device(void **state)
{
	static const char *const other = "01890000-0000-7000-8000-0000000000ff";
	kt_session s, t;
	uint8_t c[KT_CURSOR_LEN];
	int64_t seq;
	(void)state;
	log_keeps(1, 100);
	session(&s, ORG, PERSON, DEVICE, KT_ROLE_RECEPTION, LOC1);
	cursor_make(&srv, &s, 50, c);
	session(&t, other, PERSON, DEVICE, KT_ROLE_RECEPTION, LOC1);
	assert_int_equal(check(&t, c, &seq), KT_EBAD_CURSOR);
	session_clear(&t);
	session(&t, ORG, other, DEVICE, KT_ROLE_RECEPTION, LOC1);
	assert_int_equal(check(&t, c, &seq), KT_EBAD_CURSOR);
	session_clear(&t);
	session(&t, ORG, PERSON, other, KT_ROLE_RECEPTION, LOC1);
	assert_int_equal(check(&t, c, &seq), KT_EBAD_CURSOR);
	session_clear(&t);
	/* the same three again: accepted (nothing else of the session counts) */
	session(&t, ORG, PERSON, DEVICE, KT_ROLE_RECEPTION, LOC1);
	assert_int_equal(check(&t, c, &seq), KT_OK);
	session_clear(&t);
	/* a server with another key */
	uint8_t key[32];
	memcpy(key, srv.cursor_key, sizeof key);
	srv.cursor_key[7] ^= 1;
	assert_int_equal(check(&s, c, &seq), KT_EBAD_CURSOR);
	memcpy(srv.cursor_key, key, sizeof key);
	session_clear(&s);
}

static void test_any_changed_bit_refused(void **state)
{
	kt_session s;
	uint8_t c[KT_CURSOR_LEN], bad[KT_CURSOR_LEN];
	int64_t seq;
	(void)state;
	log_keeps(1, 100);
	session(&s, ORG, PERSON, DEVICE, KT_ROLE_OWNER, "*");
	cursor_make(&srv, &s, 40, c);
	for (int i = 0; i < KT_CURSOR_LEN; i++)
		for (int bit = 0; bit < 8; bit++) {
			memcpy(bad, c, sizeof bad);
			bad[i] ^= (uint8_t)(1u << bit);
			if (check(&s, bad, &seq) != KT_EBAD_CURSOR)
				fail_msg("a cursor with bit %d of byte %d changed was accepted", bit, i);
		}
	/* shorter, longer, or nothing */
	assert_int_equal(cursor_check(&srv, &s, c, KT_CURSOR_LEN - 1, &seq), KT_EBAD_CURSOR);
	uint8_t longer[KT_CURSOR_LEN + 1] = {0};
	memcpy(longer, c, KT_CURSOR_LEN);
	assert_int_equal(cursor_check(&srv, &s, longer, sizeof longer, &seq), KT_EBAD_CURSOR);
	assert_int_equal(cursor_check(&srv, &s, c, 0, &seq), KT_EBAD_CURSOR);
	assert_int_equal(check(&s, c, &seq), KT_OK);
	session_clear(&s);
}

/* A change of role or locations: the device may owe evictions, so its
 * cursor no longer counts (it gets a snapshot or a difference instead). */
static void test_refused_after_rights_change(void **state)
{
	kt_session s;
	uint8_t c[KT_CURSOR_LEN];
	int64_t seq;
	(void)state;
	log_keeps(1, 100);
	session(&s, ORG, PERSON, DEVICE, KT_ROLE_MANAGER, LOC1);
	cursor_make(&srv, &s, 70, c);
	s.principal.role = KT_ROLE_RECEPTION;
	assert_int_equal(check(&s, c, &seq), KT_EBAD_CURSOR);
	s.principal.role = KT_ROLE_MANAGER;
	assert_int_equal(check(&s, c, &seq), KT_OK);
	free(s.principal.locs);
	s.principal.locs = strdup(LOC1 "," LOC2);
	assert_int_equal(check(&s, c, &seq), KT_EBAD_CURSOR);
	assert_int_not_equal(cursor_rights(&s.principal), 0);
	session_clear(&s);
}

/* While a rights difference runs, cursors name the rights before it, so a
 * cursor kept from then leads to a snapshot; after a request met a change
 * the stream has not, cursors name the rights the data was built with. */
static void test_diff_and_basis_name_the_old_rights(void **state)
{
	kt_session s;
	uint8_t c[KT_CURSOR_LEN];
	int64_t seq;
	(void)state;
	log_keeps(1, 100);
	session(&s, ORG, PERSON, DEVICE, KT_ROLE_MANAGER, LOC1 "," LOC2);
	principal(&s.diff_old, ORG, PERSON, KT_ROLE_MANAGER, LOC1);
	s.diff_active = true;
	cursor_make(&srv, &s, 80, c);
	assert_int_equal(check(&s, c, &seq), KT_OK);
	s.diff_active = false; /* the difference is done: the old rights no longer count */
	assert_int_equal(check(&s, c, &seq), KT_EBAD_CURSOR);
	cursor_make(&srv, &s, 80, c);
	assert_int_equal(check(&s, c, &seq), KT_OK);

	principal(&s.basis, ORG, PERSON, KT_ROLE_MANAGER, LOC1);
	s.has_basis = true;
	cursor_make(&srv, &s, 80, c);
	assert_int_equal(check(&s, c, &seq), KT_EBAD_CURSOR);
	session_clear(&s);
}

/* A position ahead of the newest change (a restored backup) or before the
 * oldest entry kept (compacted) cannot be resumed from. */
static void test_position_must_be_in_the_log(void **state)
{
	kt_session s;
	uint8_t c[KT_CURSOR_LEN];
	int64_t seq;
	(void)state;
	session(&s, ORG, PERSON, DEVICE, KT_ROLE_SPECIALIST, LOC1);
	log_keeps(11, 100);
	cursor_make(&srv, &s, 101, c);
	assert_int_equal(check(&s, c, &seq), KT_EBAD_CURSOR);
	cursor_make(&srv, &s, 100, c);
	assert_int_equal(check(&s, c, &seq), KT_OK);
	cursor_make(&srv, &s, 10, c); /* everything after 10 is still there */
	assert_int_equal(check(&s, c, &seq), KT_OK);
	assert_int_equal(seq, 10);
	cursor_make(&srv, &s, 9, c); /* 10 is gone */
	assert_int_equal(check(&s, c, &seq), KT_EBAD_CURSOR);
	cursor_make(&srv, &s, -1, c);
	assert_int_equal(check(&s, c, &seq), KT_EBAD_CURSOR);
	session_clear(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_bound_to_org_person_device),
		cmocka_unit_test(test_any_changed_bit_refused),
		cmocka_unit_test(test_refused_after_rights_change),
		cmocka_unit_test(test_diff_and_basis_name_the_old_rights),
		cmocka_unit_test(test_position_must_be_in_the_log),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
