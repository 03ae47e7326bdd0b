/* kc_json.c - a row's v1 field map (MessagePack) as the JSON object text the
 * cache keeps in rows.data, written straight from the map. A snapshot used
 * to have SQLite build it with json_object() from up to a few dozen bound
 * values per row, which cost about as much as the insert itself. The output
 * is the text json_object() gives for the same values, byte for byte: the
 * same string escapes (\" \\ \b \f \n \r \t, \u00xx for the other control
 * characters, everything else as is), integers in decimal, floats through
 * sqlite3_snprintf("%!0.15g"), NaN as null. tests/unit/test_client_json.c
 * checks that against json_object() on made-up and fuzzed maps. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "kc_internal.h"

static int grow_slow(kc_jbuf *b, size_t more)
{
	size_t cap;
	char *p;
	cap = b->cap ? b->cap : 1024;
	while (cap < b->len + more + 1)
		cap *= 2;
	if (!(p = realloc(b->s, cap)))
		return KT_ENOMEM;
	b->s = p;
	b->cap = cap;
	return KT_OK;
}

/* inline: a row's JSON is mostly short puts (",", ":", "null"), and the
 * room is nearly always there */
static inline int grow(kc_jbuf *b, size_t more)
{
	return b->len + more + 1 <= b->cap ? KT_OK : grow_slow(b, more);
}

static inline int put(kc_jbuf *b, const char *s, size_t n)
{
	if (grow(b, n))
		return KT_ENOMEM;
	memcpy(b->s + b->len, s, n);
	b->len += n;
	return KT_OK;
}

/* Byte classes for put_str: 0 copied as is, 1 escaped (control characters,
 * '"', '\\'), 2 never valid (NUL, which kt_utf8_valid refuses too: it would
 * cut C strings), 3 starts or continues a multi-byte sequence. */
static const unsigned char byte_class[256] = {
	2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
};

/* A JSON string, checking its UTF-8 as it goes (one pass over the bytes,
 * not a check and then a copy); KT_EMALFORMED when it is not valid. */
static int put_str(kc_jbuf *b, const char *str, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, run;
	/* at most 6 bytes out per byte in, plus the quotes */
	if (grow(b, 6 * n + 2))
		return KT_ENOMEM;
	b->s[b->len++] = '"';
	while (i < n) {
		for (run = i; run < n && byte_class[s[run]] == 0; run++)
			;
		memcpy(b->s + b->len, s + i, run - i);
		b->len += run - i;
		if ((i = run) == n)
			break;
		unsigned char ch = s[i];
		char *o = b->s + b->len;
		switch (byte_class[ch]) {
		case 1:
			i++;
			o[0] = '\\';
			switch (ch) {
			case '"': o[1] = '"'; b->len += 2; break;
			case '\\': o[1] = '\\'; b->len += 2; break;
			case '\b': o[1] = 'b'; b->len += 2; break;
			case '\f': o[1] = 'f'; b->len += 2; break;
			case '\n': o[1] = 'n'; b->len += 2; break;
			case '\r': o[1] = 'r'; b->len += 2; break;
			case '\t': o[1] = 't'; b->len += 2; break;
			default:
				o[1] = 'u';
				o[2] = '0';
				o[3] = '0';
				o[4] = hex[ch >> 4];
				o[5] = hex[ch & 15];
				b->len += 6;
			}
			break;
		case 3: {
			size_t k = kt_utf8_seq(s + i, n - i);
			if (!k)
				return KT_EMALFORMED;
			memcpy(o, s + i, k);
			b->len += k;
			i += k;
			break;
		}
		default:
			return KT_EMALFORMED;
		}
	}
	b->s[b->len++] = '"';
	return KT_OK;
}

/* A MessagePack string's bytes, not checked here (put_str checks them). */
static int read_str_raw(kt_mp *r, const char **str, size_t *len, size_t max_len)
{
	size_t left = r->len - r->pos, hl;
	const uint8_t *p = r->buf + r->pos;
	uint64_t n;
	if (!left)
		return KT_EMALFORMED;
	if (p[0] >= 0xa0 && p[0] <= 0xbf) {
		hl = 1;
		n = p[0] & 0x1f;
	} else if (p[0] == 0xd9 && left >= 2) {
		hl = 2;
		n = p[1];
	} else if (p[0] == 0xda && left >= 3) {
		hl = 3;
		n = (uint64_t)p[1] << 8 | p[2];
	} else if (p[0] == 0xdb && left >= 5) {
		hl = 5;
		n = (uint64_t)p[1] << 24 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 8 | p[4];
	} else
		return KT_EMALFORMED;
	if (n > left - hl || n > max_len)
		return KT_EMALFORMED;
	*str = (const char *)p + hl;
	*len = (size_t)n;
	r->pos += hl + (size_t)n;
	return KT_OK;
}

static int put_int(kc_jbuf *b, int64_t v)
{
	char tmp[24], *p = tmp + sizeof tmp;
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	do
		*--p = (char)('0' + u % 10);
	while (u /= 10);
	if (v < 0)
		*--p = '-';
	return put(b, p, (size_t)(tmp + sizeof tmp - p));
}

static int put_double(kc_jbuf *b, double d)
{
	char tmp[64];
	if (isnan(d)) /* SQLite binds a NaN as NULL */
		return put(b, "null", 4);
	sqlite3_snprintf(sizeof tmp, tmp, "%!0.15g", d);
	return put(b, tmp, strlen(tmp));
}

int kc_jbuf_put(kc_jbuf *b, const void *s, size_t n)
{
	return put(b, s, n);
}

int kc_json_from_map(kc_jbuf *b, const uint8_t *map, size_t maplen)
{
	b->len = 0;
	return kc_json_append_map(b, map, maplen);
}

int kc_json_append_map(kc_jbuf *b, const uint8_t *map, size_t maplen)
{
	kt_mp r;
	uint32_t n, an;
	int rc = KT_OK;

	kt_mp_init(&r, map, maplen);
	if (kt_mp_read_map(&r, &n))
		return KT_EMALFORMED;
	if (grow(b, 2))
		return KT_ENOMEM;
	b->s[b->len++] = '{';
	for (uint32_t i = 0; i < n && !rc; i++) {
		const char *str;
		size_t len;
		int64_t iv;
		uint64_t uv;
		double d;
		bool bv;
		if (read_str_raw(&r, &str, &len, 256))
			return KT_EMALFORMED;
		if ((i && (rc = put(b, ",", 1))) || (rc = put_str(b, str, len)) || (rc = put(b, ":", 1)))
			return rc;
		switch (kt_mp_peek(&r)) {
		case KT_MP_NIL:
			if (kt_mp_read_nil(&r))
				return KT_EMALFORMED;
			rc = put(b, "null", 4);
			break;
		case KT_MP_BOOL:
			if (kt_mp_read_bool(&r, &bv))
				return KT_EMALFORMED;
			rc = bv ? put(b, "true", 4) : put(b, "false", 5);
			break;
		case KT_MP_INT: {
			kt_mp at = r;
			if (kt_mp_read_int(&r, &iv) == KT_OK) {
				rc = put_int(b, iv);
				break;
			}
			r = at; /* over int64: a double keeps the magnitude, as the bound value did */
			if (kt_mp_read_uint(&r, &uv))
				return KT_EMALFORMED;
			rc = put_double(b, (double)uv);
			break;
		}
		case KT_MP_FLOAT:
			if (kt_mp_read_float(&r, &d))
				return KT_EMALFORMED;
			rc = put_double(b, d);
			break;
		case KT_MP_STR:
			if (read_str_raw(&r, &str, &len, KT_MAX_OUT_FRAME))
				return KT_EMALFORMED;
			rc = put_str(b, str, len);
			break;
		case KT_MP_ARRAY:
			if (kt_mp_read_array(&r, &an))
				return KT_EMALFORMED;
			rc = put(b, "[", 1);
			for (uint32_t k = 0; k < an && !rc; k++) {
				if (kt_mp_peek(&r) != KT_MP_STR || read_str_raw(&r, &str, &len, KT_MAX_OUT_FRAME))
					return KT_EMALFORMED;
				if (!(k && (rc = put(b, ",", 1))))
					rc = put_str(b, str, len);
			}
			if (!rc)
				rc = put(b, "]", 1);
			break;
		default: /* maps, binaries, extensions: not v1 field values */
			return KT_EMALFORMED;
		}
	}
	if (rc)
		return rc;
	if (!kt_mp_at_end(&r))
		return KT_EMALFORMED;
	if ((rc = put(b, "}", 1)))
		return rc;
	b->s[b->len] = 0;
	return KT_OK;
}

void kc_jbuf_free(kc_jbuf *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
}
