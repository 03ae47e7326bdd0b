/* kc_json_check.c - the cache's row JSON written by kc_json.c is the text
 * SQLite's json_object() builds for the same values (kc_map_json), byte
 * for byte: hand-picked values (escapes, control characters, UTF-8, int64
 * bounds, integers over int64, floats, NaN and infinities, lists) and
 * 20,000 random maps; maps v1 does not allow are refused by both.
 * usage: kc_json_check DIR (a scratch directory for the cache) */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kc_internal.h"

static int failures;

static void check(kc_client *c, kt_mpw *w, const char *what)
{
	kc_jbuf b = {0};
	int rc = kc_json_from_map(&b, (const uint8_t *)w->sb.data, w->sb.size);
	char *ref = kc_map_json(c, (const uint8_t *)w->sb.data, w->sb.size);
	if (!ref && rc == KT_EMALFORMED) {
		/* both refuse it */
	} else if (!ref || rc || strlen(ref) != b.len || memcmp(ref, b.s, b.len) != 0) {
		fprintf(stderr, "FAIL %s:\n  json_object: %s\n  kc_json:     %s (rc %d)\n", what, ref ? ref : "(refused)",
			rc ? "(refused)" : b.s, rc);
		failures++;
	}
	free(ref);
	kc_jbuf_free(&b);
	kt_mpw_reset(w);
}

static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* a random valid UTF-8 string: ASCII, JSON specials, control bytes, 2-4 byte sequences */
static size_t rnd_str(char *s, size_t cap)
{
	static const char *const pieces[] = {"a", "Z", "0", " ", "\"", "\\", "/", "\n", "\r", "\t", "\b", "\f",
					     "\x01", "\x1f", "\x7f", "\xc5\xa1", "\xc3\xa4", "\xe2\x82\xac",
					     "\xf0\x9f\x98\x80", "'", "{", "}", "[", "]", ",", ":"};
	size_t n = rnd() % 12, len = 0;
	for (size_t i = 0; i < n; i++) {
		const char *p = pieces[rnd() % (sizeof pieces / sizeof pieces[0])];
		size_t pl = strlen(p);
		if (len + pl >= cap)
			break;
		memcpy(s + len, p, pl);
		len += pl;
	}
	if (rnd() % 16 == 0 && len + 1 < cap)
		s[len++] = 0; /* an embedded NUL */
	return len;
}

int main(int argc, char **argv)
{
	char err[256], s[64];
	kt_mpw w;
	kc_client *c;
	static const double doubles[] = {0.0, -0.0, 1.0, -1.5, 0.1, 1e-300, 1e300, 123456789.125, DBL_MAX,
					 DBL_MIN, 1e15, 1e16, 3.141592653589793};

	if (argc < 2 || !(c = kc_open(argv[1], err, sizeof err))) {
		fprintf(stderr, "usage: kc_json_check DIR (%s)\n", argc < 2 ? "no DIR" : err);
		return 2;
	}
	kt_mpw_init(&w);

	kt_mpw_map(&w, 0);
	check(c, &w, "empty map");

	kt_mpw_map(&w, 6);
	kt_mpw_str(&w, "name");
	kt_mpw_str(&w, "Ana \"Anči\" Novak\\\n\t\x01\x1f\x7f \xc5\xa1\xe2\x82\xac\xf0\x9f\x98\x80 </script>");
	kt_mpw_str(&w, "k\"ey\n");
	kt_mpw_nil(&w);
	kt_mpw_str(&w, "t");
	kt_mpw_bool(&w, true);
	kt_mpw_str(&w, "f");
	kt_mpw_bool(&w, false);
	kt_mpw_str(&w, "list");
	kt_mpw_array(&w, 3);
	kt_mpw_str(&w, "a,b");
	kt_mpw_str(&w, "");
	kt_mpw_str(&w, "\"");
	kt_mpw_str(&w, "empty");
	kt_mpw_array(&w, 0);
	check(c, &w, "strings, nil, bools, lists");

	kt_mpw_map(&w, 7);
	kt_mpw_str(&w, "min");
	kt_mpw_int(&w, INT64_MIN);
	kt_mpw_str(&w, "max");
	kt_mpw_int(&w, INT64_MAX);
	kt_mpw_str(&w, "zero");
	kt_mpw_int(&w, 0);
	kt_mpw_str(&w, "neg");
	kt_mpw_int(&w, -1);
	kt_mpw_str(&w, "over");
	kt_mpw_uint(&w, UINT64_MAX);
	kt_mpw_str(&w, "over1");
	kt_mpw_uint(&w, (uint64_t)INT64_MAX + 1);
	kt_mpw_str(&w, "ms");
	kt_mpw_int(&w, 1765000000000);
	check(c, &w, "integers");

	for (size_t i = 0; i < sizeof doubles / sizeof doubles[0]; i++) {
		kt_mpw_map(&w, 2);
		kt_mpw_str(&w, "d");
		kt_mpw_double(&w, doubles[i]);
		kt_mpw_str(&w, "n");
		kt_mpw_double(&w, -doubles[i]);
		snprintf(s, sizeof s, "double %g", doubles[i]);
		check(c, &w, s);
	}
	kt_mpw_map(&w, 1);
	kt_mpw_str(&w, "nan");
	kt_mpw_double(&w, NAN);
	check(c, &w, "NaN");
	kt_mpw_map(&w, 2);
	kt_mpw_str(&w, "inf");
	kt_mpw_double(&w, INFINITY);
	kt_mpw_str(&w, "-inf");
	kt_mpw_double(&w, -INFINITY);
	check(c, &w, "infinities");
	if (getenv("KC_JSON_SHOW")) { /* what the two make of one map, to look at */
		kc_jbuf b = {0};
		kt_mpw_map(&w, 2);
		kt_mpw_str(&w, "x\n");
		kt_mpw_double(&w, INFINITY);
		kt_mpw_str(&w, "y");
		kt_mpw_double(&w, 0.1);
		if (!kc_json_from_map(&b, (const uint8_t *)w.sb.data, w.sb.size))
			printf("%s\n", b.s);
		kc_jbuf_free(&b);
		check(c, &w, "shown");
	}

	/* not UTF-8 (kt_utf8_valid's rules): both refuse, as a key, a value, a list item */
	static const char *const bad[] = {"\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\x80", "a\xe2\x82",
					  "\xf8\x88\x80\x80\x80", "\xff", "a\0b", "\xe0\x80\xaf", "\xc3"};
	static const size_t bad_len[] = {2, 3, 4, 1, 3, 5, 1, 3, 3, 1};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		kt_mpw_map(&w, 1);
		kt_mpw_strn(&w, bad[i], bad_len[i]);
		kt_mpw_str(&w, "v");
		check(c, &w, "bad UTF-8 key");
		kt_mpw_map(&w, 1);
		kt_mpw_str(&w, "k");
		kt_mpw_strn(&w, bad[i], bad_len[i]);
		check(c, &w, "bad UTF-8 value");
		kt_mpw_map(&w, 1);
		kt_mpw_str(&w, "l");
		kt_mpw_array(&w, 2);
		kt_mpw_str(&w, "ok");
		kt_mpw_strn(&w, bad[i], bad_len[i]);
		check(c, &w, "bad UTF-8 list item");
	}
	/* the longest sequences at the edges: valid ones pass through */
	kt_mpw_map(&w, 3);
	kt_mpw_str(&w, "max");
	kt_mpw_str(&w, "\xf4\x8f\xbf\xbf");
	kt_mpw_str(&w, "before surrogates");
	kt_mpw_str(&w, "\xed\x9f\xbf");
	kt_mpw_str(&w, "after");
	kt_mpw_str(&w, "\xee\x80\x80\xc2\x80\xdf\xbf");
	check(c, &w, "UTF-8 edges");

	/* not v1 field values: a map, a binary, a list of numbers, a non-string key */
	kt_mpw_map(&w, 1);
	kt_mpw_str(&w, "m");
	kt_mpw_map(&w, 0);
	check(c, &w, "nested map");
	kt_mpw_map(&w, 1);
	kt_mpw_str(&w, "b");
	kt_mpw_bin(&w, "x", 1);
	check(c, &w, "binary");
	kt_mpw_map(&w, 1);
	kt_mpw_str(&w, "l");
	kt_mpw_array(&w, 1);
	kt_mpw_int(&w, 1);
	check(c, &w, "list of numbers");
	kt_mpw_map(&w, 1);
	kt_mpw_int(&w, 1);
	kt_mpw_int(&w, 1);
	check(c, &w, "integer key");

	for (int round = 0; round < 20000; round++) {
		uint32_t n = (uint32_t)(rnd() % 12);
		kt_mpw_map(&w, n);
		for (uint32_t i = 0; i < n; i++) {
			kt_mpw_strn(&w, s, rnd_str(s, sizeof s));
			switch (rnd() % 8) {
			case 0: kt_mpw_nil(&w); break;
			case 1: kt_mpw_bool(&w, rnd() & 1); break;
			case 2: kt_mpw_int(&w, (int64_t)rnd() >> (rnd() % 64)); break;
			case 3: kt_mpw_double(&w, (double)(int64_t)rnd() / (double)(rnd() % 1000 + 1)); break;
			case 4: {
				uint32_t an = (uint32_t)(rnd() % 4);
				kt_mpw_array(&w, an);
				for (uint32_t k = 0; k < an; k++)
					kt_mpw_strn(&w, s, rnd_str(s, sizeof s));
				break;
			}
			default: kt_mpw_strn(&w, s, rnd_str(s, sizeof s)); break;
			}
		}
		check(c, &w, "random map");
		if (failures > 10)
			break;
	}
	kt_mpw_free(&w);
	kc_close(c);
	if (failures) {
		fprintf(stderr, "%d mismatches\n", failures);
		return 1;
	}
	printf("kc_json matches json_object on every map\n");
	return 0;
}
