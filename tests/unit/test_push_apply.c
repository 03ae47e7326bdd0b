/* test_push_apply.c - the writer side of a push, one step at a time
 * (push_apply.c): each test pushes mutations that one step answers and
 * checks that answer: replay, decode, policy, scoped load, merge, write.
 * Jobs are made as the loop makes them (push_job_new) and applied in a
 * transaction as the writer applies them (push_apply_step). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kt_testdb.h"
#include "domain/policy.h"
#include "write/push_apply.h"
#include "sync/rights.h"

static char path[64];
static kt_store *st;
static char org[37], loc[37], client[37];

static int setup(void **state)
{
	(void)state;
	assert_int_equal(kt_testdb_open(path, sizeof path, "push_apply", &st), KT_OK);
	kt_uuid7(org);
	kt_uuid7(loc);
	kt_uuid7(client);
	kt_field o[] = {{"name", "Org"}};
	assert_int_equal(store_insert(st, "organisation", org, NULL, o, 1, NULL), KT_OK);
	kt_field l[] = {{"name", "A"}, {"time_zone", "Europe/Ljubljana"}};
	assert_int_equal(store_insert(st, "location", loc, org, l, 2, NULL), KT_OK);
	kt_field c[] = {{"name", "Ana"}};
	assert_int_equal(store_insert(st, "client", client, org, c, 1, NULL), KT_OK);
	assert_int_equal(store_link_client_location(st, client, loc), KT_OK);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	store_close(st);
	kt_testdb_remove(path);
	return 0;
}

/* One answer as the device reads it; first_status: a duplicate's first answer's. */
typedef struct res {
	int64_t mid, v;
	char status[16], code[32], msg[256], first_status[16];
} res;

static void str_into(kt_mp *r, char *out, size_t cap)
{
	const char *s;
	size_t n;
	assert_int_equal(kt_mp_read_str(r, &s, &n, cap - 1), KT_OK);
	memcpy(out, s, n);
	out[n] = 0;
}

static void read_result(kt_mp *r, res *o)
{
	uint32_t n;
	memset(o, 0, sizeof *o);
	assert_int_equal(kt_mp_read_map(r, &n), KT_OK);
	for (uint32_t i = 0; i < n; i++) {
		char k[32];
		str_into(r, k, sizeof k);
		if (!strcmp(k, "mid"))
			assert_int_equal(kt_mp_read_int(r, &o->mid), KT_OK);
		else if (!strcmp(k, "v"))
			assert_int_equal(kt_mp_read_int(r, &o->v), KT_OK);
		else if (!strcmp(k, "status"))
			str_into(r, o->status, sizeof o->status);
		else if (!strcmp(k, "code"))
			str_into(r, o->code, sizeof o->code);
		else if (!strcmp(k, "msg"))
			str_into(r, o->msg, sizeof o->msg);
		else if (!strcmp(k, "first")) {
			res f;
			read_result(r, &f);
			memcpy(o->first_status, f.status, sizeof f.status);
		} else
			assert_int_equal(kt_mp_skip(r, 8), KT_OK);
	}
}

typedef struct pusher {
	kt_session s; /* what push_job_new reads of a session: id, device, principal, rights */
} pusher;

static void pusher_init(pusher *u, int role)
{
	memset(u, 0, sizeof *u);
	u->s.id = 1;
	kt_uuid7(u->s.device);
	kt_uuid7(u->s.principal.id);
	snprintf(u->s.principal.org, sizeof u->s.principal.org, "%s", org);
	u->s.principal.role = role;
	u->s.principal.locs = strdup(role == KT_ROLE_OWNER ? "*" : loc);
	u->s.principal.active = true;
	u->s.rights_gen = store_rights_gen(st);
}

/* Push the mutations (tbl, id, op, base, one field=value each) from u and
 * apply them in one transaction; out[i] the answers. */
typedef struct mut {
	int64_t mid;
	const char *tbl, *id, *op;
	int64_t base;
	const char *field, *value;
} mut;

static void push(pusher *u, const mut *ms, uint32_t n, res *out)
{
	kt_mpw w, f[8];
	int rc;
	assert_true(n <= 8);
	kt_mpw_init(&w);
	proto_push_begin(&w, n, false);
	for (uint32_t i = 0; i < n; i++) {
		kt_mpw_init(&f[i]);
		kt_mpw_map(&f[i], 1);
		kt_mpw_str(&f[i], ms[i].field);
		kt_mpw_str(&f[i], ms[i].value);
		kt_mut m = {.mid = ms[i].mid,
			    .tbl = {ms[i].tbl, strlen(ms[i].tbl)},
			    .id = {ms[i].id, strlen(ms[i].id)},
			    .op = {ms[i].op, strlen(ms[i].op)},
			    .base = ms[i].base,
			    .fields = (const uint8_t *)f[i].sb.data,
			    .fields_len = f[i].sb.size,
			    .at = 1000};
		proto_mut_encode(&w, &m);
	}
	kt_push_job *j = push_job_new(&u->s, (const unsigned char *)w.sb.data, w.sb.size, &rc);
	assert_non_null(j);
	assert_int_equal(store_begin(st), KT_OK);
	while (!push_job_finished(j))
		assert_int_equal(push_apply_step(st, j, 32), KT_OK);
	assert_int_equal(store_commit(st), KT_OK);
	assert_int_equal(j->rc, KT_OK);
	assert_int_equal(j->nres, n);
	kt_mp r;
	kt_mp_init(&r, j->body.sb.data, j->body.sb.size);
	for (uint32_t i = 0; i < n; i++)
		read_result(&r, &out[i]);
	assert_int_equal(r.pos, j->body.sb.size);
	push_job_free(j);
	kt_mpw_free(&w);
	for (uint32_t i = 0; i < n; i++)
		kt_mpw_free(&f[i]);
}

/* write, then replay: the same mid answers "duplicate" with the first answer, changing nothing */
static void test_write_then_replay(void **state)
{
	pusher u;
	res r[2];
	(void)state;
	pusher_init(&u, KT_ROLE_OWNER);
	mut m = {1, "client", client, "update", 1, "phone", "+386 1 111"};
	push(&u, &m, 1, r);
	assert_string_equal(r[0].status, "applied");
	assert_int_equal(r[0].v, 2);
	m.value = "+386 1 222"; /* another value under the same mid: still the first answer */
	mut both[2] = {m, {2, "client", client, "update", 2, "phone", "+386 1 333"}};
	push(&u, both, 2, r);
	assert_string_equal(r[0].status, "duplicate");
	assert_string_equal(r[0].first_status, "applied");
	assert_string_equal(r[1].status, "applied"); /* a replay does not stop the mutations behind it */
	assert_int_equal(r[1].v, 3);
	kt_principal_free(&u.s.principal);
}

/* decode: a table devices do not write, and an id that is no UUID */
static void test_decode_refuses_table_and_id(void **state)
{
	pusher u;
	res r[2];
	(void)state;
	pusher_init(&u, KT_ROLE_OWNER);
	mut ms[2] = {{1, "organisation", org, "update", 1, "name", "X"}, {2, "client", "not-a-uuid", "update", 1, "name", "X"}};
	push(&u, ms, 2, r);
	assert_string_equal(r[0].status, "rejected");
	assert_string_equal(r[0].code, "invalid");
	assert_string_equal(r[0].msg, "unknown table");
	assert_string_equal(r[1].code, "invalid");
	assert_string_equal(r[1].msg, "ids are UUIDs in canonical lower-case form");
	kt_principal_free(&u.s.principal);
}

/* policy before the row: a specialist may not change a client's contact
 * data, whether the row exists or not (nothing is learnt about rows) */
static void test_policy_refuses_a_field(void **state)
{
	pusher u;
	res r[2];
	char gone[37];
	(void)state;
	kt_uuid7(gone);
	pusher_init(&u, KT_ROLE_SPECIALIST);
	mut ms[2] = {{1, "client", client, "update", 1, "phone", "+386 1 111"},
		     {2, "client", gone, "update", 1, "phone", "+386 1 111"}};
	push(&u, ms, 2, r);
	for (int i = 0; i < 2; i++) {
		assert_string_equal(r[i].status, "rejected");
		assert_string_equal(r[i].code, "forbidden");
		assert_string_equal(r[i].msg, "specialist may not change client.phone");
	}
	kt_principal_free(&u.s.principal);
}

/* scoped load: no such row; a base from the future; base 0 on an update */
static void test_exists_refuses_missing_rows_and_bad_bases(void **state)
{
	pusher u;
	res r[3];
	char gone[37];
	(void)state;
	kt_uuid7(gone);
	pusher_init(&u, KT_ROLE_OWNER);
	mut ms[3] = {{1, "client", gone, "update", 1, "phone", "1"},
		     {2, "client", client, "update", 9, "phone", "1"},
		     {3, "client", client, "update", 0, "phone", "1"}};
	push(&u, ms, 3, r);
	assert_string_equal(r[0].code, "not_found");
	assert_string_equal(r[0].msg, "no such row (deleted, or never synced)");
	assert_string_equal(r[1].code, "invalid");
	assert_string_equal(r[1].msg, "base version from the future");
	assert_string_equal(r[2].code, "invalid");
	assert_non_null(strstr(r[2].msg, "0 is only for create"));
	kt_principal_free(&u.s.principal);
}

/* merge: a field someone else changed since my base is theirs; the same
 * value again changes nothing and conflicts with nobody */
static void test_merge_refuses_someone_elses_field(void **state)
{
	pusher a, b;
	res r[1];
	(void)state;
	pusher_init(&a, KT_ROLE_OWNER);
	pusher_init(&b, KT_ROLE_OWNER);
	mut m = {1, "client", client, "update", 1, "phone", "+386 1 111"};
	push(&a, &m, 1, r);
	assert_int_equal(r[0].v, 2);
	m.value = "+386 1 999"; /* b saw version 1 too */
	push(&b, &m, 1, r);
	assert_string_equal(r[0].status, "rejected");
	assert_string_equal(r[0].code, "conflict");
	assert_string_equal(r[0].msg, "every field was changed by someone else since your version");
	m.mid = 2;
	m.value = "+386 1 111"; /* what it already holds */
	push(&b, &m, 1, r);
	assert_string_equal(r[0].status, "applied");
	assert_int_equal(r[0].v, 2); /* nothing written */
	kt_principal_free(&a.s.principal);
	kt_principal_free(&b.s.principal);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_write_then_replay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_decode_refuses_table_and_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy_refuses_a_field, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exists_refuses_missing_rows_and_bad_bases, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_refuses_someone_elses_field, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
