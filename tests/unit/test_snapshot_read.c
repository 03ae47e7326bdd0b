/* test_snapshot_read.c - a snapshot page read in place (store_snapshot_page_some:
 * values borrowed from the statement, only the columns egress reads) packs the
 * very bytes the copying reader (store_snapshot_page) does, for every table
 * and a principal of each role and a client, over a demo salon; columns the
 * principal is not sent are never read and a sealed one is never opened; a
 * list of names packs the same with or without the parser (escapes, commas,
 * non-ASCII, empty, damaged). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include "cli/init_demo.h"
#include "kt_testdb.h"
#include "db/store.h"
#include "sync/egress.h"

static char db_path[256];
static kt_store *st;

struct pack {
	const kt_principal *p;
	kt_mpw w;
	uint64_t need;      /* checked in the in-place reader's rows */
	bool in_place;
	int rows, unopened; /* rows packed, sealed values left closed */
};

static int pack_row(void *user, const kt_row *row)
{
	struct pack *k = user;
	if (k->in_place)
		for (int i = 0; i < row->t->ncols; i++)
			if (!(k->need >> i & 1) && i != 0) {
				/* not read: NULL, and a sealed one marked closed */
				if (strcmp(row->t->cols[i].name, "version") && strcmp(row->t->cols[i].name, "org_id"))
					assert_true(row->v[i].null);
				if (row->t->cols[i].sealed) {
					assert_true(row->unopened >> i & 1);
					k->unopened++;
				}
			}
	k->rows += egress_put(&k->w, k->p, row, EGRESS_SELECTED, false);
	return 0;
}

/* Every row of t for p, both readers, pages of 7 rows. */
static void compare_table(const kt_principal *p, const kt_table *t, int *unopened)
{
	struct pack a = {.p = p}, b = {.p = p, .in_place = true, .need = egress_cols_read(p, t)};
	char after_a[KT_UUID_LEN + 1] = "", after_b[KT_UUID_LEN + 1] = "", last[KT_UUID_LEN + 1];
	const char *where = policy_snapshot_where(p, t);
	int n;
	kt_mpw_init(&a.w);
	kt_mpw_init(&b.w);
	do {
		assert_int_equal(store_snapshot_page(st, t, where, p->id, p->org, after_a, 7, pack_row, &a, last, &n),
				 KT_OK);
		snprintf(after_a, sizeof after_a, "%s", last);
	} while (n == 7);
	do {
		assert_int_equal(store_snapshot_page_some(st, t, where, p->id, p->org, after_b, 7, b.need, pack_row, &b,
							  last, &n),
				 KT_OK);
		snprintf(after_b, sizeof after_b, "%s", last);
	} while (n == 7);
	assert_int_equal(a.rows, b.rows);
	assert_int_equal(a.w.sb.size, b.w.sb.size);
	if (a.w.sb.size && memcmp(a.w.sb.data, b.w.sb.data, a.w.sb.size) != 0)
		fail_msg("%s: the in-place reader packs other bytes for role %d", t->name, p->role);
	*unopened += b.unopened;
	kt_mpw_free(&a.w);
	kt_mpw_free(&b.w);
}

static void one(const char *sql, char out[KT_UUID_LEN + 1])
{
	sqlite3_stmt *q;
	assert_int_equal(sqlite3_prepare_v2(store_db(st), sql, -1, &q, NULL), SQLITE_OK);
	if (sqlite3_step(q) != SQLITE_ROW)
		fail_msg("the demo has no row for: %s", sql);
	snprintf(out, KT_UUID_LEN + 1, "%s", (const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
}

static int setup(void **state)
{
	FILE *out;
	int rc;
	(void)state;
	if (kt_testdb_open(db_path, sizeof db_path, "snapread", &st))
		return -1;
	out = fopen("/dev/null", "w");
	rc = demo_populate(st, 1, out);
	fclose(out);
	return rc ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	store_close(st);
	return 0;
}

static void test_in_place_reader_packs_the_same_bytes(void **state)
{
	static const char *const who[] = {
		"SELECT id FROM staff WHERE role = 'owner' ORDER BY id LIMIT 1",
		"SELECT id FROM staff WHERE role = 'manager' ORDER BY id LIMIT 1",
		"SELECT id FROM staff WHERE role = 'reception' ORDER BY id LIMIT 1",
		"SELECT id FROM staff WHERE role = 'specialist' ORDER BY id LIMIT 1",
		"SELECT id FROM client ORDER BY id LIMIT 1",
	};
	int unopened = 0;
	(void)state;
	for (size_t i = 0; i < sizeof who / sizeof who[0]; i++) {
		char id[KT_UUID_LEN + 1];
		kt_principal p;
		bool is_client = i == 4;
		one(who[i], id);
		assert_int_equal(store_principal_load(st, is_client, id, &p), KT_OK);
		for (int t = 0; t < kt_table_count; t++)
			if (kt_tables[t].synced)
				compare_table(&p, &kt_tables[t], &unopened);
		kt_principal_free(&p);
	}
	/* someone in the demo is not sent some sealed column: it stayed closed */
	assert_true(unopened > 0);
	print_message("sealed values left closed: %d\n", unopened);
}

/* service_names of one appointment as stored, packed by egress for the owner */
static void names_case(const char *stored, int n, const char *const *want)
{
	char id[KT_UUID_LEN + 1], owner[KT_UUID_LEN + 1];
	const kt_table *t = kt_table_find("appointment", strlen("appointment"));
	kt_principal p;
	sqlite3_stmt *q;
	struct pack k = {0};
	char last[KT_UUID_LEN + 1];
	int got;
	one("SELECT id FROM appointment ORDER BY id LIMIT 1", id);
	one("SELECT id FROM staff WHERE role = 'owner' ORDER BY id LIMIT 1", owner);
	assert_int_equal(sqlite3_prepare_v2(store_db(st), "UPDATE appointment SET service_names = ?1 WHERE id = ?2", -1,
					    &q, NULL),
			 SQLITE_OK);
	sqlite3_bind_text(q, 1, stored, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, id, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(q), SQLITE_DONE);
	sqlite3_finalize(q);
	assert_int_equal(store_principal_load(st, false, owner, &p), KT_OK);
	k.p = &p;
	k.in_place = true;
	k.need = egress_cols_read(&p, t);
	kt_mpw_init(&k.w);
	/* just that row */
	assert_int_equal(store_snapshot_page_some(st, t, "id = (SELECT min(id) FROM appointment)", p.id, p.org, "", 1,
						  k.need, pack_row, &k, last, &got),
			 KT_OK);
	assert_int_equal(got, 1);
	/* find service_names in the put's f map */
	kt_mp r;
	uint32_t m, fm;
	kt_mp_init(&r, k.w.sb.data, k.w.sb.size);
	assert_int_equal(kt_mp_read_map(&r, &m), KT_OK);
	bool found = false;
	for (uint32_t i = 0; i < m; i++) {
		const char *key;
		size_t kl;
		assert_int_equal(kt_mp_read_str(&r, &key, &kl, 64), KT_OK);
		if (!kt_mp_str_eq(key, kl, "f")) {
			assert_int_equal(kt_mp_skip(&r, 8), KT_OK);
			continue;
		}
		assert_int_equal(kt_mp_read_map(&r, &fm), KT_OK);
		for (uint32_t j = 0; j < fm; j++) {
			assert_int_equal(kt_mp_read_str(&r, &key, &kl, 256), KT_OK);
			if (!kt_mp_str_eq(key, kl, "service_names")) {
				assert_int_equal(kt_mp_skip(&r, 8), KT_OK);
				continue;
			}
			found = true;
			if (n < 0) {
				assert_int_equal(kt_mp_read_nil(&r), KT_OK);
				continue;
			}
			uint32_t an;
			assert_int_equal(kt_mp_read_array(&r, &an), KT_OK);
			assert_int_equal(an, (uint32_t)n);
			for (uint32_t e = 0; e < an; e++) {
				const char *s;
				size_t sl;
				assert_int_equal(kt_mp_read_str(&r, &s, &sl, 256), KT_OK);
				if (sl != strlen(want[e]) || memcmp(s, want[e], sl))
					fail_msg("stored %s: name %u is '%.*s', not '%s'", stored, e, (int)sl, s, want[e]);
			}
		}
	}
	assert_true(found);
	kt_mpw_free(&k.w);
	kt_principal_free(&p);
}

static void test_names_pack_the_same_with_or_without_the_parser(void **state)
{
	(void)state;
	names_case("[]", 0, NULL);
	names_case("[\"Cut\"]", 1, (const char *const[]){"Cut"});
	names_case("[\"Cut, wash\",\"Colour\"]", 2, (const char *const[]){"Cut, wash", "Colour"});
	names_case("[\"Stri\xc5\xbe" "enje\",\"\"]", 2, (const char *const[]){"Stri\xc5\xbe" "enje", ""});
	/* escapes and spaces: jansson reads them */
	names_case("[\"a\\\"b\", \"c\\\\d\"]", 2, (const char *const[]){"a\"b", "c\\d"});
	names_case("[\"\\u00e4\"]", 1, (const char *const[]){"\xc3\xa4"});
	/* damaged: nil, never a guess */
	names_case("[\"a\",]", -1, NULL);
	names_case("[\"a\"\"b\"]", -1, NULL);
	names_case("[\"a", -1, NULL);
	names_case("[1]", -1, NULL);
	names_case("[\"a\nb\"]", -1, NULL);
	names_case("[\"\xff\"]", -1, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_place_reader_packs_the_same_bytes),
		cmocka_unit_test(test_names_pack_the_same_with_or_without_the_parser),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
