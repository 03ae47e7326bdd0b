/* test_proto.c - every message round-trips; decoders refuse what the spec
 * forbids (missing keys, wrong types, duplicates, over-limit strings). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <stdio.h>
#include "kt_proto.h"
#include "kt_util.h"

#define S(lit) ((kt_str){lit, sizeof lit - 1})
static const char dev[] = "01a20b2f-e370-765e-8e59-32b59c1e7f98";

static kt_mpw w;
static int setup(void **state)
{
	(void)state;
	kt_mpw_init(&w);
	return 0;
}
static int teardown(void **state)
{
	(void)state;
	kt_mpw_free(&w);
	return 0;
}

static void expect_type(kt_msgtype want)
{
	kt_msgtype t;
	assert_int_equal(w.err, KT_OK);
	assert_int_equal(proto_msg_type(w.sb.data, w.sb.size, KT_MAX_STR, &t), KT_OK);
	assert_int_equal(t, want);
}

static bool str_is(kt_str s, const char *lit)
{
	return s.len == strlen(lit) && memcmp(s.s, lit, s.len) == 0;
}

static void test_hello_round_trip(void **state)
{
	kt_hello in = {1u << 1 | 1u << 3, {dev, 36}, S("app/1")}, out;
	(void)state;
	proto_hello_encode(&w, &in);
	expect_type(KT_MSG_HELLO);
	assert_int_equal(proto_hello_decode(w.sb.data, w.sb.size, &out), KT_OK);
	assert_int_equal(out.versions, in.versions);
	assert_true(str_is(out.device, dev));
	assert_true(str_is(out.app, "app/1"));
}

static void test_hello_rejects_non_uuid_device(void **state)
{
	kt_hello in = {1u << 1, S("not-a-uuid"), S("app")}, out;
	(void)state;
	proto_hello_encode(&w, &in);
	assert_int_equal(proto_hello_decode(w.sb.data, w.sb.size, &out), KT_EMALFORMED);
}

static void test_login_resume_auth_ok_round_trip(void **state)
{
	kt_login l = {S("ana@lepota.example"), S("Pw-12345")}, lo;
	kt_resume r = {S("abcd")}, ro;
	kt_auth_ok a = {S("staff"), {dev, 36}, S("owner"), S("Ana"), {dev, 36}, S("ff00"), 1234}, ao;
	(void)state;
	proto_login_encode(&w, &l);
	expect_type(KT_MSG_LOGIN);
	assert_int_equal(proto_login_decode(w.sb.data, w.sb.size, &lo), KT_OK);
	assert_true(str_is(lo.email, "ana@lepota.example") && str_is(lo.password, "Pw-12345"));
	kt_mpw_reset(&w);
	proto_resume_encode(&w, &r);
	expect_type(KT_MSG_RESUME);
	assert_int_equal(proto_resume_decode(w.sb.data, w.sb.size, &ro), KT_OK);
	assert_true(str_is(ro.token, "abcd"));
	kt_mpw_reset(&w);
	proto_auth_ok_encode(&w, &a);
	expect_type(KT_MSG_AUTH_OK);
	assert_int_equal(proto_auth_ok_decode(w.sb.data, w.sb.size, &ao), KT_OK);
	assert_true(str_is(ao.role, "owner") && str_is(ao.token, "ff00"));
	assert_int_equal(ao.expires_at, 1234);
}

static void test_cursor_messages_round_trip(void **state)
{
	static const char cur[] = "\x01\x02\x03";
	kt_cursor_msg in = {true, {cur, 3}}, out;
	(void)state;
	proto_sync_encode(&w, &in);
	expect_type(KT_MSG_SYNC);
	assert_int_equal(proto_sync_decode(w.sb.data, w.sb.size, &out), KT_OK);
	assert_true(out.has_cursor && out.cursor.len == 3 && !memcmp(out.cursor.s, cur, 3));
	kt_mpw_reset(&w);
	in.has_cursor = false;
	proto_sync_encode(&w, &in);
	assert_int_equal(proto_sync_decode(w.sb.data, w.sb.size, &out), KT_OK);
	assert_false(out.has_cursor);
	/* ack requires a cursor */
	kt_mpw_reset(&w);
	proto_ack_encode(&w, &in);
	assert_int_equal(proto_ack_decode(w.sb.data, w.sb.size, &out), KT_EMALFORMED);
}

static void test_cursor_over_limit_is_too_large(void **state)
{
	char big[KT_MAX_CURSOR + 1];
	kt_cursor_msg in = {true, {big, sizeof big}}, out;
	(void)state;
	memset(big, 7, sizeof big);
	proto_sync_encode(&w, &in);
	assert_int_equal(proto_sync_decode(w.sb.data, w.sb.size, &out), KT_ETOO_LARGE);
}

static void test_error_round_trip(void **state)
{
	kt_error_msg in = {S("bad_cursor"), S("refused"), S("sync"), false}, out;
	(void)state;
	proto_error_encode(&w, &in);
	expect_type(KT_MSG_ERROR);
	assert_int_equal(proto_error_decode(w.sb.data, w.sb.size, &out), KT_OK);
	assert_true(str_is(out.code, "bad_cursor") && str_is(out.re, "sync"));
	assert_false(out.fatal);
}

struct seen {
	int n;
	kt_op ops[4];
};
static int collect(void *user, const kt_op *op)
{
	struct seen *s = user;
	s->ops[s->n++] = *op;
	return 0;
}

static void test_changes_round_trip_in_order(void **state)
{
	kt_mpw body;
	struct seen s = {0};
	kt_str cur;
	(void)state;
	kt_mpw_init(&body);
	proto_put_begin(&body, true, "client", dev, 3, 1);
	kt_mpw_str(&body, "name");
	kt_mpw_str(&body, "Ana");
	proto_gone_encode(&body, KT_OP_EVICT, "appointment", dev);
	proto_gone_encode(&body, KT_OP_DELETE, "visit", dev);
	proto_changes_encode(&w, 3, body.sb.data, body.sb.size, "\x09\x08", 2);
	expect_type(KT_MSG_CHANGES);
	assert_int_equal(proto_changes_decode(w.sb.data, w.sb.size, collect, &s, &cur), KT_OK);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.ops[0].op, KT_OP_PUT);
	assert_int_equal(s.ops[0].v, 3);
	assert_non_null(s.ops[0].fields);
	assert_int_equal(s.ops[1].op, KT_OP_EVICT);
	assert_int_equal(s.ops[2].op, KT_OP_DELETE);
	assert_int_equal(cur.len, 2);
	kt_mpw_free(&body);
}

static void test_page_rows_need_v_and_f(void **state)
{
	kt_mpw body;
	(void)state;
	kt_mpw_init(&body);
	/* a row without f */
	kt_mpw_map(&body, 3);
	kt_mpw_str(&body, "tbl");
	kt_mpw_str(&body, "client");
	kt_mpw_str(&body, "id");
	kt_mpw_str(&body, dev);
	kt_mpw_str(&body, "v");
	kt_mpw_int(&body, 1);
	proto_page_encode(&w, 1, body.sb.data, body.sb.size);
	assert_int_equal(proto_page_decode(w.sb.data, w.sb.size, NULL, NULL), KT_EMALFORMED);
	kt_mpw_free(&body);
}

static void test_missing_wrong_and_duplicate_keys(void **state)
{
	kt_login lo;
	(void)state;
	/* missing password */
	kt_mpw_map(&w, 2);
	kt_mpw_str(&w, "t");
	kt_mpw_str(&w, "login");
	kt_mpw_str(&w, "email");
	kt_mpw_str(&w, "a@b.c");
	assert_int_equal(proto_login_decode(w.sb.data, w.sb.size, &lo), KT_EMALFORMED);
	/* password of the wrong type */
	kt_mpw_reset(&w);
	kt_mpw_map(&w, 3);
	kt_mpw_str(&w, "t");
	kt_mpw_str(&w, "login");
	kt_mpw_str(&w, "email");
	kt_mpw_str(&w, "a@b.c");
	kt_mpw_str(&w, "password");
	kt_mpw_int(&w, 12345);
	assert_int_equal(proto_login_decode(w.sb.data, w.sb.size, &lo), KT_EMALFORMED);
	/* the same key twice */
	kt_mpw_reset(&w);
	kt_mpw_map(&w, 4);
	kt_mpw_str(&w, "t");
	kt_mpw_str(&w, "login");
	kt_mpw_str(&w, "email");
	kt_mpw_str(&w, "a@b.c");
	kt_mpw_str(&w, "email");
	kt_mpw_str(&w, "x@b.c");
	kt_mpw_str(&w, "password");
	kt_mpw_str(&w, "pw");
	assert_int_equal(proto_login_decode(w.sb.data, w.sb.size, &lo), KT_EMALFORMED);
}

static void test_unknown_keys_are_ignored_and_unknown_types_named(void **state)
{
	kt_resume r;
	kt_msgtype t;
	(void)state;
	kt_mpw_map(&w, 3);
	kt_mpw_str(&w, "t");
	kt_mpw_str(&w, "resume");
	kt_mpw_str(&w, "future");
	kt_mpw_array(&w, 1);
	kt_mpw_int(&w, 1);
	kt_mpw_str(&w, "token");
	kt_mpw_str(&w, "ab");
	assert_int_equal(proto_resume_decode(w.sb.data, w.sb.size, &r), KT_OK);
	kt_mpw_reset(&w);
	kt_mpw_map(&w, 1);
	kt_mpw_str(&w, "t");
	kt_mpw_str(&w, "frobnicate");
	assert_int_equal(proto_msg_type(w.sb.data, w.sb.size, 512, &t), KT_EUNKNOWN_TYPE);
}

static void test_email_over_limit_is_too_large(void **state)
{
	char email[KT_MAX_EMAIL + 2];
	kt_login lo;
	(void)state;
	memset(email, 'a', sizeof email - 1);
	email[sizeof email - 1] = 0;
	kt_login l = {{email, strlen(email)}, S("pw")};
	proto_login_encode(&w, &l);
	assert_int_equal(proto_login_decode(w.sb.data, w.sb.size, &lo), KT_ETOO_LARGE);
}

static int count_muts(void *user, const kt_mut *m)
{
	int *n = user;
	assert_true(m->mid > 0);
	(*n)++;
	return 0;
}

static int count_events(void *user, const kt_event *e)
{
	int *n = user;
	assert_true(str_is(e->kind, "viewed"));
	(*n)++;
	return 0;
}

static void test_push_round_trip_with_events(void **state)
{
	kt_mpw f;
	int nm = 0, ne = 0;
	uint32_t count;
	(void)state;
	kt_mpw_init(&f);
	kt_mpw_map(&f, 1);
	kt_mpw_str(&f, "phone");
	kt_mpw_str(&f, "+386 1");
	kt_mut m = {7, S("client"), {dev, 36}, S("update"), 3, (const uint8_t *)f.sb.data, f.sb.size, 99};
	proto_push_begin(&w, 2, true);
	proto_mut_encode(&w, &m);
	m.mid = 8;
	proto_mut_encode(&w, &m);
	proto_push_events_begin(&w, 1);
	kt_event e = {S("viewed"), S("client"), {dev, 36}, 5};
	proto_event_encode(&w, &e);
	expect_type(KT_MSG_PUSH);
	assert_int_equal(proto_push_decode(w.sb.data, w.sb.size, count_muts, &nm, &count), KT_OK);
	assert_int_equal(count, 2);
	assert_int_equal(nm, 2);
	assert_int_equal(proto_push_events_decode(w.sb.data, w.sb.size, count_events, &ne), KT_OK);
	assert_int_equal(ne, 1);
	kt_mpw_free(&f);
}

static void test_push_rejects_bad_mutations_and_oversized_batches(void **state)
{
	uint32_t count;
	(void)state;
	/* mid 0 is not a mutation id */
	kt_mut m = {0, S("client"), {dev, 36}, S("update"), 1, NULL, 0, 1};
	proto_push_begin(&w, 1, false);
	proto_mut_encode(&w, &m);
	assert_int_equal(proto_push_decode(w.sb.data, w.sb.size, NULL, NULL, &count), KT_EMALFORMED);
	/* over KT_PUSH_MAX: refused before any is applied */
	kt_mpw_reset(&w);
	m.mid = 1;
	proto_push_begin(&w, KT_PUSH_MAX + 1, false);
	for (int i = 0; i < KT_PUSH_MAX + 1; i++)
		proto_mut_encode(&w, &m);
	assert_int_equal(proto_push_decode(w.sb.data, w.sb.size, NULL, NULL, &count), KT_ETOO_LARGE);
}

/* The result maps, byte for byte as the device reads them: {mid, status,
 * ...} in that order, the value of the last key (conflicts, current,
 * first) appended by the caller. */
static int count_results(void *user, const uint8_t *map, size_t len)
{
	(void)map;
	assert_true(len > 0);
	(*(int *)user)++;
	return 0;
}

static void result_head(kt_mpw *e, uint32_t n, int64_t mid, const char *status)
{
	kt_mpw_map(e, n);
	kt_mpw_str(e, "mid");
	kt_mpw_int(e, mid);
	kt_mpw_str(e, "status");
	kt_mpw_str(e, status);
}

static void test_push_result_maps(void **state)
{
	kt_mpw body, e;
	int n = 0;
	(void)state;
	kt_mpw_init(&body);
	kt_mpw_init(&e);
	proto_push_applied_encode(&body, 1, 4, false);
	proto_push_applied_encode(&body, 2, 5, true);
	kt_mpw_map(&body, 0);
	proto_push_rejected_encode(&body, 3, "conflict", "why", true);
	kt_mpw_map(&body, 0);
	proto_push_duplicate_encode(&body, 4);
	proto_push_rejected_encode(&body, 4, "not_found", "gone", false);

	result_head(&e, 3, 1, "applied");
	kt_mpw_str(&e, "v");
	kt_mpw_int(&e, 4);
	result_head(&e, 4, 2, "applied");
	kt_mpw_str(&e, "v");
	kt_mpw_int(&e, 5);
	kt_mpw_str(&e, "conflicts");
	kt_mpw_map(&e, 0);
	result_head(&e, 5, 3, "rejected");
	kt_mpw_str(&e, "code");
	kt_mpw_str(&e, "conflict");
	kt_mpw_str(&e, "msg");
	kt_mpw_str(&e, "why");
	kt_mpw_str(&e, "current");
	kt_mpw_map(&e, 0);
	result_head(&e, 3, 4, "duplicate");
	kt_mpw_str(&e, "first");
	result_head(&e, 4, 4, "rejected");
	kt_mpw_str(&e, "code");
	kt_mpw_str(&e, "not_found");
	kt_mpw_str(&e, "msg");
	kt_mpw_str(&e, "gone");
	assert_int_equal(body.sb.size, e.sb.size);
	assert_memory_equal(body.sb.data, e.sb.data, e.sb.size);

	proto_push_result_encode(&w, 4, body.sb.data, body.sb.size);
	expect_type(KT_MSG_PUSH_RESULT);
	assert_int_equal(proto_push_result_decode(w.sb.data, w.sb.size, count_results, &n), KT_OK);
	assert_int_equal(n, 4);
	kt_mpw_free(&body);
	kt_mpw_free(&e);
}

static void test_audit_query_defaults_and_limits(void **state)
{
	kt_audit_query q = {{NULL, 0}, 0, 0}, out;
	(void)state;
	q.limit = 50;
	proto_audit_query_encode(&w, &q);
	expect_type(KT_MSG_AUDIT_QUERY);
	assert_int_equal(proto_audit_query_decode(w.sb.data, w.sb.size, &out), KT_OK);
	assert_null(out.client.s);
	assert_int_equal(out.limit, 50);
	kt_mpw_reset(&w);
	q.limit = 501;
	proto_audit_query_encode(&w, &q);
	assert_int_equal(proto_audit_query_decode(w.sb.data, w.sb.size, &out), KT_EMALFORMED);
}

/* kt_i64_text writes what snprintf("%lld") writes: the audit log's sealed
 * before/after take the entry's seq in this form as associated data. */
static void test_i64_text_is_printf_lld(void **state)
{
	const int64_t v[] = {0, 1, -1, 9, 10, -10, 1024, 123456789012LL, INT64_MAX, INT64_MIN, INT64_MIN + 1};
	char want[32], got[KT_I64_TEXT];
	(void)state;
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		int n = snprintf(want, sizeof want, "%lld", (long long)v[i]);
		assert_int_equal(kt_i64_text(got, v[i]), (size_t)n);
		assert_string_equal(got, want);
	}
	for (uint64_t x = 88172645463325252ULL, i = 0; i < 1000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		int64_t r = (int64_t)(x >> (i % 63 + 1)); /* >= 0, so -r is defined */
		snprintf(want, sizeof want, "%lld", (long long)(i & 1 ? -r : r));
		kt_i64_text(got, i & 1 ? -r : r);
		assert_string_equal(got, want);
	}
}

/* kt_parse_int: a config value is a whole decimal number in its range, with
 * nothing around it; a refused one leaves the setting as it was. */
static void test_parse_int_takes_only_a_whole_number_in_range(void **state)
{
	const char *bad[] = {"", " 5", "5 ", "5s", "0x10", "1.5", "-", "3651", "0", "-1", "99999999999999999999"};
	int v = 42;
	(void)state;
	assert_true(kt_parse_int("1", 1, 3650, &v) && v == 1);
	assert_true(kt_parse_int("3650", 1, 3650, &v) && v == 3650);
	assert_true(kt_parse_int("+7", 1, 3650, &v) && v == 7);
	assert_true(kt_parse_int("-3", -5, 5, &v) && v == -3);
	v = 42;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_false(kt_parse_int(bad[i], 1, 3650, &v));
		assert_int_equal(v, 42);
	}
}

/* link: every key round-trips; a key of the wrong type, twice, missing or
 * over its limit is refused and named in bad. */
static void test_link_round_trip_and_the_key_at_fault(void **state)
{
	kt_link_msg in = {S("act"), S("AAAAAAAAAAAAAAAAAAAAAA")}, out;
	char big[KT_LINK_MAX_TEXT + 2];
	(void)state;
	in.has_granted = in.granted = true;
	in.has_stars = true;
	in.stars = 4;
	in.has_score = true;
	in.score = 0;
	in.has_public_ok = true;
	in.text = S("Zelo lepo");
	proto_link_encode(&w, &in);
	expect_type(KT_MSG_LINK);
	assert_int_equal(proto_link_decode(w.sb.data, w.sb.size, &out), KT_OK);
	assert_true(str_is(out.op, "act") && str_is(out.token, "AAAAAAAAAAAAAAAAAAAAAA"));
	assert_true(out.has_granted && out.granted && out.has_stars && out.stars == 4 && out.has_score &&
		    out.score == 0 && out.has_public_ok && !out.public_ok && str_is(out.text, "Zelo lepo"));
	/* only op and token: nothing else is there */
	kt_link_msg bare = {S("open"), S("x")};
	kt_mpw_reset(&w);
	proto_link_encode(&w, &bare);
	assert_int_equal(proto_link_decode(w.sb.data, w.sb.size, &out), KT_OK);
	assert_false(out.has_granted || out.has_stars || out.has_score || out.has_public_ok || out.text.s);
	/* stars as a string */
	kt_mpw_reset(&w);
	kt_mpw_map(&w, 4);
	kt_mpw_str(&w, "t");
	kt_mpw_str(&w, "link");
	kt_mpw_str(&w, "op");
	kt_mpw_str(&w, "act");
	kt_mpw_str(&w, "token");
	kt_mpw_str(&w, "x");
	kt_mpw_str(&w, "stars");
	kt_mpw_str(&w, "5");
	assert_int_equal(proto_link_decode(w.sb.data, w.sb.size, &out), KT_EMALFORMED);
	assert_string_equal(out.bad, "stars");
	/* token missing */
	kt_mpw_reset(&w);
	kt_mpw_map(&w, 2);
	kt_mpw_str(&w, "t");
	kt_mpw_str(&w, "link");
	kt_mpw_str(&w, "op");
	kt_mpw_str(&w, "open");
	assert_int_equal(proto_link_decode(w.sb.data, w.sb.size, &out), KT_EMALFORMED);
	assert_string_equal(out.bad, "token");
	/* op twice */
	kt_mpw_reset(&w);
	kt_mpw_map(&w, 4);
	kt_mpw_str(&w, "t");
	kt_mpw_str(&w, "link");
	kt_mpw_str(&w, "op");
	kt_mpw_str(&w, "open");
	kt_mpw_str(&w, "op");
	kt_mpw_str(&w, "act");
	kt_mpw_str(&w, "token");
	kt_mpw_str(&w, "x");
	assert_int_equal(proto_link_decode(w.sb.data, w.sb.size, &out), KT_EMALFORMED);
	assert_string_equal(out.bad, "op");
	/* text over its limit */
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = 0;
	kt_link_msg lng = {S("act"), S("x")};
	lng.text.s = big;
	lng.text.len = strlen(big);
	kt_mpw_reset(&w);
	proto_link_encode(&w, &lng);
	assert_int_equal(proto_link_decode(w.sb.data, w.sb.size, &out), KT_ETOO_LARGE);
	assert_string_equal(out.bad, "text");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hello_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hello_rejects_non_uuid_device, setup, teardown),
		cmocka_unit_test_setup_teardown(test_login_resume_auth_ok_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cursor_messages_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cursor_over_limit_is_too_large, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changes_round_trip_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_page_rows_need_v_and_f, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_wrong_and_duplicate_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_keys_are_ignored_and_unknown_types_named, setup, teardown),
		cmocka_unit_test_setup_teardown(test_email_over_limit_is_too_large, setup, teardown),
		cmocka_unit_test_setup_teardown(test_push_round_trip_with_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_push_rejects_bad_mutations_and_oversized_batches, setup, teardown),
		cmocka_unit_test_setup_teardown(test_push_result_maps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_query_defaults_and_limits, setup, teardown),
		cmocka_unit_test(test_i64_text_is_printf_lld),
		cmocka_unit_test(test_parse_int_takes_only_a_whole_number_in_range),
		cmocka_unit_test_setup_teardown(test_link_round_trip_and_the_key_at_fault, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
