/* test_mp.c - the bounded MessagePack reader: every encoding, and the
 * hostile shapes that break naive readers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kt_mp.h"
#include "kt_proto.h"

#define B(...) ((const uint8_t[]){__VA_ARGS__}), sizeof((const uint8_t[]){__VA_ARGS__})

static int64_t read_i(const uint8_t *b, size_t n, int *rc)
{
	kt_mp r;
	int64_t v = 0;
	kt_mp_init(&r, b, n);
	*rc = kt_mp_read_int(&r, &v);
	return v;
}

static void test_int_encodings_decode(void **state)
{
	int rc;
	(void)state;
	assert_int_equal(read_i(B(0x05), &rc), 5);
	assert_int_equal(read_i(B(0xff), &rc), -1);
	assert_int_equal(read_i(B(0xcc, 0xff), &rc), 255);
	assert_int_equal(read_i(B(0xcd, 0x01, 0x00), &rc), 256);
	assert_int_equal(read_i(B(0xce, 0x00, 0x01, 0x00, 0x00), &rc), 65536);
	assert_int_equal(read_i(B(0xd0, 0x80), &rc), -128);
	assert_int_equal(read_i(B(0xd1, 0xff, 0x00), &rc), -256);
	assert_int_equal(read_i(B(0xd2, 0xff, 0xff, 0xff, 0xff), &rc), -1);
	assert_int_equal(read_i(B(0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0), &rc), INT64_MIN);
	assert_int_equal(rc, KT_OK);
	assert_int_equal(read_i(B(0xcf, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), &rc), INT64_MAX);
	assert_int_equal(rc, KT_OK);
}

static void test_int_wrong_size_or_sign_is_rejected(void **state)
{
	kt_mp r;
	uint64_t u;
	int rc;
	(void)state;
	/* uint64 above INT64_MAX does not fit int64 */
	read_i(B(0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0), &rc);
	assert_int_equal(rc, KT_EMALFORMED);
	/* a negative value read as unsigned */
	kt_mp_init(&r, B(0xff));
	assert_int_equal(kt_mp_read_uint(&r, &u), KT_EMALFORMED);
	assert_int_equal(r.pos, 0); /* a failed read consumes nothing */
	/* non-negative signed encodings are accepted as unsigned */
	kt_mp_init(&r, B(0xd0, 0x05));
	assert_int_equal(kt_mp_read_uint(&r, &u), KT_OK);
	assert_int_equal(u, 5);
	/* truncated int16 */
	read_i(B(0xcd, 0x01), &rc);
	assert_int_equal(rc, KT_EMALFORMED);
	/* a string is not an int */
	read_i(B(0xa1, 'x'), &rc);
	assert_int_equal(rc, KT_EMALFORMED);
}

static void test_strings_and_bins(void **state)
{
	kt_mp r;
	const char *s;
	const uint8_t *b;
	size_t n;
	(void)state;
	kt_mp_init(&r, B(0xa3, 'a', 'b', 'c'));
	assert_int_equal(kt_mp_read_str(&r, &s, &n, 16), KT_OK);
	assert_int_equal(n, 3);
	assert_memory_equal(s, "abc", 3);
	kt_mp_init(&r, B(0xd9, 0x02, 'h', 'i'));
	assert_int_equal(kt_mp_read_str(&r, &s, &n, 16), KT_OK);
	kt_mp_init(&r, B(0xda, 0x00, 0x01, 'x'));
	assert_int_equal(kt_mp_read_str(&r, &s, &n, 16), KT_OK);
	kt_mp_init(&r, B(0xdb, 0x00, 0x00, 0x00, 0x01, 'x'));
	assert_int_equal(kt_mp_read_str(&r, &s, &n, 16), KT_OK);
	kt_mp_init(&r, B(0xc4, 0x02, 0x00, 0xff));
	assert_int_equal(kt_mp_read_bin(&r, &b, &n, 16), KT_OK);
	assert_int_equal(n, 2);
	/* over the caller's limit: too_large, not malformed */
	kt_mp_init(&r, B(0xa3, 'a', 'b', 'c'));
	assert_int_equal(kt_mp_read_str(&r, &s, &n, 2), KT_ETOO_LARGE);
	/* declared longer than the buffer */
	kt_mp_init(&r, B(0xdb, 0xff, 0xff, 0xff, 0xff, 'x'));
	assert_int_equal(kt_mp_read_str(&r, &s, &n, SIZE_MAX), KT_EMALFORMED);
}

static void test_invalid_utf8_is_rejected(void **state)
{
	kt_mp r;
	const char *s;
	size_t n;
	(void)state;
	kt_mp_init(&r, B(0xa2, 0xc0, 0xaf)); /* overlong '/' */
	assert_int_equal(kt_mp_read_str(&r, &s, &n, 16), KT_EMALFORMED);
	kt_mp_init(&r, B(0xa3, 0xed, 0xa0, 0x80)); /* UTF-16 surrogate */
	assert_int_equal(kt_mp_read_str(&r, &s, &n, 16), KT_EMALFORMED);
	kt_mp_init(&r, B(0xa2, 0xe2, 0x82)); /* truncated sequence */
	assert_int_equal(kt_mp_read_str(&r, &s, &n, 16), KT_EMALFORMED);
	kt_mp_init(&r, B(0xa3, 'a', 0x00, 'b')); /* embedded NUL */
	assert_int_equal(kt_mp_read_str(&r, &s, &n, 16), KT_EMALFORMED);
	kt_mp_init(&r, B(0xa4, 0xf4, 0x90, 0x80, 0x80)); /* above U+10FFFF */
	assert_int_equal(kt_mp_read_str(&r, &s, &n, 16), KT_EMALFORMED);
	kt_mp_init(&r, B(0xa2, 0xc5, 0xbe)); /* 'ž' is fine */
	assert_int_equal(kt_mp_read_str(&r, &s, &n, 16), KT_OK);
}

static void test_huge_declared_container_fails_fast(void **state)
{
	kt_mp r;
	uint32_t n;
	(void)state;
	/* an array claiming 2^32-1 elements in 5 bytes: refused without allocating */
	kt_mp_init(&r, B(0xdd, 0xff, 0xff, 0xff, 0xff));
	assert_int_equal(kt_mp_read_array(&r, &n), KT_EMALFORMED);
	kt_mp_init(&r, B(0xdf, 0xff, 0xff, 0xff, 0xff));
	assert_int_equal(kt_mp_read_map(&r, &n), KT_EMALFORMED);
	assert_int_equal(kt_mp_validate(B(0xdd, 0xff, 0xff, 0xff, 0xff), 8, 1024), KT_EMALFORMED);
	/* a map of 2 entries needs at least 4 bytes */
	kt_mp_init(&r, B(0x82, 0xa1, 'a', 0x01));
	assert_int_equal(kt_mp_read_map(&r, &n), KT_EMALFORMED);
}

/* PROTOCOL.md: nesting deeper than the limit is malformed (not too_large,
 * which is fatal after sign-in too); the outermost container is level 1. */
static void test_deep_nesting_is_malformed(void **state)
{
	uint8_t buf[101];
	bool deep = false;
	(void)state;
	memset(buf, 0x91, 100); /* 100 nested one-element arrays */
	buf[100] = 0xc0;
	assert_int_equal(kt_mp_validate(buf, sizeof buf, 8, 1024), KT_EMALFORMED);
	assert_int_equal(kt_mp_validate_why(buf, sizeof buf, 8, 1024, &deep), KT_EMALFORMED);
	assert_true(deep);
	assert_int_equal(kt_mp_validate(buf + 92, 9, 8, 1024), KT_OK); /* 8 deep is fine */
	assert_int_equal(kt_mp_validate_why(buf + 91, 10, 8, 1024, &deep), KT_EMALFORMED); /* 9 is not */
	assert_true(deep);
	assert_int_equal(kt_mp_validate_why(B(0x91, 0xc1), 8, 1024, &deep), KT_EMALFORMED);
	assert_false(deep); /* malformed for another reason */
}

static void test_trailing_bytes_are_malformed(void **state)
{
	(void)state;
	assert_int_equal(kt_mp_validate(B(0x80), 8, 16), KT_OK);
	assert_int_equal(kt_mp_validate(B(0x80, 0xc0), 8, 16), KT_EMALFORMED);
	assert_int_equal(kt_mp_validate(B(0xc1), 8, 16), KT_EMALFORMED); /* never-used byte */
	assert_int_equal(kt_mp_validate(B(0xd4, 0x01, 0x02), 8, 16), KT_EMALFORMED); /* ext types */
}

/* kt_mp_skip reads only type bytes and lengths (a decoder skips every
 * field map with it): each encoding skips to its end, and it refuses what
 * the value-reading walk refuses. */
static int skip_to(const uint8_t *b, size_t n, int depth, size_t *pos)
{
	kt_mp r;
	kt_mp_init(&r, b, n);
	int rc = kt_mp_skip(&r, depth);
	*pos = r.pos;
	return rc;
}

static void test_skip_reads_each_encoding_to_its_end(void **state)
{
	size_t pos;
	(void)state;
	static const struct {
		uint8_t b[12];
		size_t n, end;
	} ok[] = {
		{{0x05}, 1, 1}, {{0xe0}, 1, 1}, {{0xc0}, 1, 1}, {{0xc3}, 1, 1},
		{{0xcc, 1}, 2, 2}, {{0xd1, 1, 2}, 3, 3}, {{0xca, 1, 2, 3, 4}, 5, 5},
		{{0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 9, 9}, /* over int64: still an int */
		{{0xcb, 0, 0, 0, 0, 0, 0, 0, 0}, 9, 9},
		{{0xa2, 'h', 'i', 0xc0}, 4, 3}, {{0xd9, 2, 0xff, 0xfe}, 4, 4}, /* not UTF-8: skip does not look */
		{{0xda, 0, 1, 'x'}, 4, 4}, {{0xdb, 0, 0, 0, 1, 'x'}, 6, 6},
		{{0xc4, 1, 9}, 3, 3}, {{0xc5, 0, 1, 9}, 4, 4}, {{0xc6, 0, 0, 0, 1, 9}, 6, 6},
		{{0x92, 0x01, 0xa1, 'a'}, 4, 4}, {{0x81, 0xa1, 'k', 0x90}, 4, 4},
		{{0xdc, 0, 2, 1, 2}, 5, 5}, {{0xdd, 0, 0, 0, 1, 0xc0}, 6, 6},
		{{0xde, 0, 1, 1, 2}, 5, 5}, {{0xdf, 0, 0, 0, 1, 0xa0, 0xc2}, 7, 7},
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		assert_int_equal(skip_to(ok[i].b, ok[i].n, 8, &pos), KT_OK);
		assert_int_equal(pos, ok[i].end);
		/* every truncation fails and leaves the reader where it was */
		for (size_t k = 0; k < ok[i].end; k++) {
			assert_int_equal(skip_to(ok[i].b, k, 8, &pos), KT_EMALFORMED);
			assert_int_equal(pos, 0);
		}
	}
	assert_int_equal(skip_to(B(0xc1), 8, &pos), KT_EMALFORMED);             /* never used */
	assert_int_equal(skip_to(B(0xd4, 1, 2), 8, &pos), KT_EMALFORMED);        /* ext */
	assert_int_equal(skip_to(B(0xc7, 1, 1, 2), 8, &pos), KT_EMALFORMED);
	assert_int_equal(skip_to(B(0x93, 1, 2), 8, &pos), KT_EMALFORMED);        /* 3 claimed, 2 there */
	assert_int_equal(skip_to(B(0x82, 1, 2, 3), 8, &pos), KT_EMALFORMED);     /* 2 pairs claimed */
	assert_int_equal(skip_to(B(0xdf, 0x7f, 0xff, 0xff, 0xff, 0), 8, &pos), KT_EMALFORMED);
	assert_int_equal(skip_to(B(0x91, 0x91, 0x90), 2, &pos), KT_EMALFORMED);  /* 3 deep, 2 allowed */
	assert_int_equal(skip_to(B(0x91, 0x90), 2, &pos), KT_OK);
}

/* kt_mpw_strn writes short strings itself when the buffer has room: the
 * bytes msgpack-c's packer writes, at every length and either way. */
static void test_strn_writes_what_msgpack_writes(void **state)
{
	static const size_t lens[] = {0, 1, 31, 32, 33, 200, 254, 255, 256, 300, 70000};
	static char text[70000];
	(void)state;
	memset(text, 'x', sizeof text);
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		for (int room = 0; room < 2; room++) {
			kt_mpw w;
			msgpack_sbuffer ref;
			msgpack_packer pk;
			kt_mpw_init(&w);
			if (room) { /* grow the buffer first, so the short path has room */
				kt_mpw_strn(&w, text, 4096);
				kt_mpw_reset(&w);
			}
			kt_mpw_int(&w, 7);
			kt_mpw_strn(&w, text, lens[i]);
			kt_mpw_int(&w, 8);
			msgpack_sbuffer_init(&ref);
			msgpack_packer_init(&pk, &ref, msgpack_sbuffer_write);
			msgpack_pack_int64(&pk, 7);
			msgpack_pack_str(&pk, lens[i]);
			msgpack_pack_str_body(&pk, text, lens[i]);
			msgpack_pack_int64(&pk, 8);
			assert_int_equal(w.err, KT_OK);
			assert_int_equal(w.sb.size, ref.size);
			assert_memory_equal(w.sb.data, ref.data, ref.size);
			msgpack_sbuffer_destroy(&ref);
			kt_mpw_free(&w);
		}
	}
}

static void test_every_truncation_of_a_message_fails_cleanly(void **state)
{
	kt_mpw w;
	kt_msgtype t;
	(void)state;
	kt_mpw_init(&w);
	kt_login l = {{"ana@lepota.example", 18}, {"Secret-123", 10}};
	proto_login_encode(&w, &l);
	assert_int_equal(w.err, KT_OK);
	assert_int_equal(proto_msg_type(w.sb.data, w.sb.size, 512, &t), KT_OK);
	for (size_t n = 0; n < w.sb.size; n++)
		assert_int_not_equal(proto_msg_type(w.sb.data, n, 512, &t), KT_OK);
	kt_mpw_free(&w);
}

static void test_golden_malformed_inputs_are_rejected(void **state)
{
	char path[1024];
	int count = 0;
	DIR *d = opendir(KT_TEST_DATA "/malformed");
	struct dirent *e;
	(void)state;
	assert_non_null(d);
	while ((e = readdir(d))) {
		uint8_t buf[8192];
		kt_msgtype t;
		if (!strstr(e->d_name, ".bin"))
			continue;
		snprintf(path, sizeof path, "%s/malformed/%s", KT_TEST_DATA, e->d_name);
		FILE *f = fopen(path, "rb");
		assert_non_null(f);
		size_t n = fread(buf, 1, sizeof buf, f);
		fclose(f);
		int rc = proto_msg_type(buf, n, 512, &t);
		if (rc == KT_OK || rc == KT_EUNKNOWN_TYPE)
			fail_msg("%s was accepted", e->d_name);
		count++;
	}
	closedir(d);
	assert_true(count >= 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_int_encodings_decode),
		cmocka_unit_test(test_int_wrong_size_or_sign_is_rejected),
		cmocka_unit_test(test_strings_and_bins),
		cmocka_unit_test(test_invalid_utf8_is_rejected),
		cmocka_unit_test(test_huge_declared_container_fails_fast),
		cmocka_unit_test(test_deep_nesting_is_malformed),
		cmocka_unit_test(test_trailing_bytes_are_malformed),
		cmocka_unit_test(test_skip_reads_each_encoding_to_its_end),
		cmocka_unit_test(test_strn_writes_what_msgpack_writes),
		cmocka_unit_test(test_every_truncation_of_a_message_fails_cleanly),
		cmocka_unit_test(test_golden_malformed_inputs_are_rejected),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
