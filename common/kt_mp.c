/* kt_mp.c - bounded MessagePack reader (no allocation, no trust in declared
 * lengths) and a checked writer on top of msgpack-c's packer. */
#include <string.h>
#include "kt_mp.h"

void kt_mp_init(kt_mp *r, const void *buf, size_t len)
{
	r->buf = buf;
	r->len = len;
	r->pos = 0;
}

bool kt_mp_at_end(const kt_mp *r)
{
	return r->pos >= r->len;
}

static size_t left(const kt_mp *r)
{
	return r->len - r->pos;
}

kt_mp_type kt_mp_peek(const kt_mp *r)
{
	if (kt_mp_at_end(r))
		return KT_MP_END;
	uint8_t b = r->buf[r->pos];
	if (b <= 0x7f || b >= 0xe0)
		return KT_MP_INT;
	if (b <= 0x8f)
		return KT_MP_MAP;
	if (b <= 0x9f)
		return KT_MP_ARRAY;
	if (b <= 0xbf)
		return KT_MP_STR;
	switch (b) {
	case 0xc0: return KT_MP_NIL;
	case 0xc2: case 0xc3: return KT_MP_BOOL;
	case 0xc4: case 0xc5: case 0xc6: return KT_MP_BIN;
	case 0xc7: case 0xc8: case 0xc9: case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
		return KT_MP_EXT;
	case 0xca: case 0xcb: return KT_MP_FLOAT;
	case 0xcc: case 0xcd: case 0xce: case 0xcf:
	case 0xd0: case 0xd1: case 0xd2: case 0xd3:
		return KT_MP_INT;
	case 0xd9: case 0xda: case 0xdb: return KT_MP_STR;
	case 0xdc: case 0xdd: return KT_MP_ARRAY;
	case 0xde: case 0xdf: return KT_MP_MAP;
	default: return KT_MP_EXT; /* 0xc1 is never used: reads of it fail */
	}
}

static int take(kt_mp *r, size_t n, const uint8_t **p)
{
	if (left(r) < n)
		return KT_EMALFORMED;
	*p = r->buf + r->pos;
	r->pos += n;
	return KT_OK;
}

static uint64_t be(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

/* Read a big-endian unsigned of n bytes. */
static int take_be(kt_mp *r, size_t n, uint64_t *v)
{
	const uint8_t *p;
	if (take(r, n, &p))
		return KT_EMALFORMED;
	*v = be(p, n);
	return KT_OK;
}

int kt_mp_read_nil(kt_mp *r)
{
	if (kt_mp_peek(r) != KT_MP_NIL)
		return KT_EMALFORMED;
	r->pos++;
	return KT_OK;
}

int kt_mp_read_bool(kt_mp *r, bool *out)
{
	if (kt_mp_peek(r) != KT_MP_BOOL)
		return KT_EMALFORMED;
	*out = r->buf[r->pos++] == 0xc3;
	return KT_OK;
}

/* Decode any integer into sign + magnitude without losing range. */
static int read_any_int(kt_mp *r, bool *neg, uint64_t *mag)
{
	if (kt_mp_peek(r) != KT_MP_INT)
		return KT_EMALFORMED;
	size_t save = r->pos;
	uint8_t b = r->buf[r->pos++];
	uint64_t u;
	*neg = false;
	if (b <= 0x7f) {
		*mag = b;
		return KT_OK;
	}
	if (b >= 0xe0) {
		*neg = true;
		*mag = (uint64_t)(-(int64_t)(int8_t)b);
		return KT_OK;
	}
	size_t n = (size_t)1 << (b & 0x03);
	if (take_be(r, n, &u)) {
		r->pos = save;
		return KT_EMALFORMED;
	}
	if (b >= 0xcc && b <= 0xcf) {
		*mag = u;
		return KT_OK;
	}
	/* signed family: sign-extend from n bytes */
	int64_t s;
	if (n == 8)
		s = (int64_t)u;
	else {
		uint64_t sign = (uint64_t)1 << (n * 8 - 1);
		s = (int64_t)((u ^ sign) - sign);
	}
	if (s < 0) {
		*neg = true;
		*mag = (uint64_t)0 - (uint64_t)s;
	} else
		*mag = (uint64_t)s;
	return KT_OK;
}

int kt_mp_read_int(kt_mp *r, int64_t *out)
{
	size_t save = r->pos;
	bool neg;
	uint64_t mag;
	if (read_any_int(r, &neg, &mag))
		return KT_EMALFORMED;
	if (!neg && mag > (uint64_t)INT64_MAX)
		goto bad;
	if (neg && mag > (uint64_t)INT64_MAX + 1)
		goto bad;
	*out = neg ? (int64_t)(0 - mag) : (int64_t)mag;
	return KT_OK;
bad:
	r->pos = save;
	return KT_EMALFORMED;
}

int kt_mp_read_uint(kt_mp *r, uint64_t *out)
{
	size_t save = r->pos;
	bool neg;
	uint64_t mag;
	if (read_any_int(r, &neg, &mag))
		return KT_EMALFORMED;
	if (neg && mag != 0) {
		r->pos = save;
		return KT_EMALFORMED;
	}
	*out = mag;
	return KT_OK;
}

int kt_mp_read_float(kt_mp *r, double *out)
{
	size_t save = r->pos;
	uint8_t b;
	uint64_t u;
	if (kt_mp_peek(r) != KT_MP_FLOAT)
		return KT_EMALFORMED;
	b = r->buf[r->pos++];
	if (take_be(r, b == 0xca ? 4 : 8, &u)) {
		r->pos = save;
		return KT_EMALFORMED;
	}
	if (b == 0xca) {
		uint32_t u32 = (uint32_t)u;
		float f;
		memcpy(&f, &u32, sizeof f);
		*out = f;
	} else
		memcpy(out, &u, sizeof *out);
	return KT_OK;
}

size_t kt_utf8_seq(const uint8_t *s, size_t left)
{
	uint8_t c = s[0];
	size_t n;
	uint32_t cp;
	if ((c & 0xe0) == 0xc0) {
		n = 1;
		cp = c & 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		n = 2;
		cp = c & 0x0f;
	} else if ((c & 0xf8) == 0xf0) {
		n = 3;
		cp = c & 0x07;
	} else
		return 0;
	if (left - 1 < n)
		return 0;
	for (size_t k = 1; k <= n; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[k] & 0x3f);
	}
	/* reject overlong forms, surrogates and values past U+10FFFF */
	if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n + 1;
}

bool kt_utf8_valid(const uint8_t *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		uint8_t c = s[i];
		size_t k;
		if (c == 0)
			return false; /* a NUL would truncate C strings downstream */
		if (c < 0x80) {
			i++;
			continue;
		}
		if (!(k = kt_utf8_seq(s + i, len - i)))
			return false;
		i += k;
	}
	return true;
}

static int read_len_prefixed(kt_mp *r, bool str, const uint8_t **p, size_t *len, size_t max_len)
{
	size_t save = r->pos;
	uint8_t b = r->buf[r->pos++];
	uint64_t n;
	if (str && b >= 0xa0 && b <= 0xbf)
		n = b & 0x1f;
	else if (take_be(r, (size_t)1 << ((b - (str ? 0xd9 : 0xc4)) & 3), &n))
		goto bad;
	if (n > left(r))
		goto bad;
	if (n > max_len) {
		r->pos = save;
		return KT_ETOO_LARGE;
	}
	*p = r->buf + r->pos;
	*len = (size_t)n;
	r->pos += (size_t)n;
	return KT_OK;
bad:
	r->pos = save;
	return KT_EMALFORMED;
}

int kt_mp_read_str(kt_mp *r, const char **str, size_t *len, size_t max_len)
{
	const uint8_t *p;
	size_t save = r->pos;
	int rc;
	if (kt_mp_peek(r) != KT_MP_STR)
		return KT_EMALFORMED;
	if ((rc = read_len_prefixed(r, true, &p, len, max_len)))
		return rc;
	if (!kt_utf8_valid(p, *len)) {
		r->pos = save;
		return KT_EMALFORMED;
	}
	*str = (const char *)p;
	return KT_OK;
}

int kt_mp_read_bin(kt_mp *r, const uint8_t **bin, size_t *len, size_t max_len)
{
	if (kt_mp_peek(r) != KT_MP_BIN)
		return KT_EMALFORMED;
	return read_len_prefixed(r, false, bin, len, max_len);
}

static int read_container(kt_mp *r, kt_mp_type want, uint32_t *n)
{
	size_t save = r->pos;
	uint8_t b;
	uint64_t v;
	if (kt_mp_peek(r) != want)
		return KT_EMALFORMED;
	b = r->buf[r->pos++];
	if ((b & 0xf0) == 0x80 || (b & 0xf0) == 0x90)
		v = b & 0x0f;
	else if (take_be(r, (b == 0xdc || b == 0xde) ? 2 : 4, &v))
		goto bad;
	/* every element needs at least one byte: a count above the bytes left is a lie */
	if (v > left(r) || (want == KT_MP_MAP && v * 2 > left(r)))
		goto bad;
	*n = (uint32_t)v;
	return KT_OK;
bad:
	r->pos = save;
	return KT_EMALFORMED;
}

int kt_mp_read_array(kt_mp *r, uint32_t *n)
{
	return read_container(r, KT_MP_ARRAY, n);
}

int kt_mp_read_map(kt_mp *r, uint32_t *n)
{
	return read_container(r, KT_MP_MAP, n);
}

/* walk's answer for nesting over the limit: malformed to the outside (the
 * protocol says so), told apart only for kt_mp_validate_why */
#define WALK_TOO_DEEP (-1)

static int walk(kt_mp *r, int depth, int max_depth, size_t max_str, bool check_str)
{
	const char *s;
	const uint8_t *p;
	size_t len;
	uint32_t n;
	int64_t i;
	uint64_t u;
	double d;
	bool bl;
	int rc;

	switch (kt_mp_peek(r)) {
	case KT_MP_NIL: return kt_mp_read_nil(r);
	case KT_MP_BOOL: return kt_mp_read_bool(r, &bl);
	case KT_MP_INT:
		if (kt_mp_read_int(r, &i) == KT_OK)
			return KT_OK;
		return kt_mp_read_uint(r, &u);
	case KT_MP_FLOAT: return kt_mp_read_float(r, &d);
	case KT_MP_STR:
		if (check_str)
			return kt_mp_read_str(r, &s, &len, max_str);
		return read_len_prefixed(r, true, &p, &len, SIZE_MAX);
	case KT_MP_BIN: return kt_mp_read_bin(r, &p, &len, check_str ? max_str : SIZE_MAX);
	case KT_MP_ARRAY:
	case KT_MP_MAP: {
		bool map = kt_mp_peek(r) == KT_MP_MAP;
		if (depth >= max_depth)
			return WALK_TOO_DEEP;
		if ((rc = map ? kt_mp_read_map(r, &n) : kt_mp_read_array(r, &n)))
			return rc;
		uint64_t items = map ? (uint64_t)n * 2 : n;
		for (uint64_t k = 0; k < items; k++)
			if ((rc = walk(r, depth + 1, max_depth, max_str, check_str)))
				return rc;
		return KT_OK;
	}
	case KT_MP_EXT:
	case KT_MP_END:
	default:
		return KT_EMALFORMED; /* we never send ext types; 0xc1 is invalid */
	}
}

/* walk without reading values (check_str false): what kt_mp_skip needs,
 * from the type byte and the lengths alone. It accepts and refuses exactly
 * what walk does (a count above the bytes left, ext types and 0xc1 are
 * malformed; nesting over max_depth is WALK_TOO_DEEP); a decoder skips
 * every field map of every row with it, so it is kept cheap. */
static int skip(kt_mp *r, int depth, int max_depth)
{
	size_t n_left = left(r), hl;
	const uint8_t *p = r->buf + r->pos;
	uint64_t n, items;
	int rc;
	if (!n_left)
		return KT_EMALFORMED;
	uint8_t b = p[0];
	if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
		r->pos++; /* fixint, nil, bool */
		return KT_OK;
	}
	if (b >= 0xa0 && b <= 0xbf) { /* fixstr */
		n = b & 0x1f;
		hl = 1;
		goto bytes;
	}
	if (b <= 0x9f) { /* fixmap 0x80-0x8f, fixarray 0x90-0x9f */
		items = (uint64_t)(b & 0x0f) * (b <= 0x8f ? 2 : 1);
		hl = 1;
		goto container;
	}
	switch (b) {
	case 0xcc: case 0xd0: hl = 2; goto fixed;
	case 0xcd: case 0xd1: hl = 3; goto fixed;
	case 0xce: case 0xd2: case 0xca: hl = 5; goto fixed;
	case 0xcf: case 0xd3: case 0xcb: hl = 9; goto fixed;
	case 0xd9: case 0xc4: hl = 2; break;
	case 0xda: case 0xc5: hl = 3; break;
	case 0xdb: case 0xc6: hl = 5; break;
	case 0xdc: case 0xde: hl = 3; goto counted;
	case 0xdd: case 0xdf: hl = 5; goto counted;
	default: return KT_EMALFORMED; /* ext types, 0xc1 */
	}
	if (n_left < hl) /* str 8/16/32, bin 8/16/32: the length */
		return KT_EMALFORMED;
	n = be(p + 1, hl - 1);
bytes:
	if (n > n_left - hl)
		return KT_EMALFORMED;
	r->pos += hl + (size_t)n;
	return KT_OK;
fixed:
	if (n_left < hl)
		return KT_EMALFORMED;
	r->pos += hl;
	return KT_OK;
counted:
	if (n_left < hl)
		return KT_EMALFORMED;
	items = be(p + 1, hl - 1) * (b == 0xde || b == 0xdf ? 2 : 1);
container:
	if (depth >= max_depth)
		return WALK_TOO_DEEP;
	/* every element needs at least one byte: a count above the bytes left is a lie */
	if (items > n_left - hl)
		return KT_EMALFORMED;
	r->pos += hl;
	for (uint64_t k = 0; k < items; k++)
		if ((rc = skip(r, depth + 1, max_depth)))
			return rc;
	return KT_OK;
}

int kt_mp_skip(kt_mp *r, int max_depth)
{
	size_t save = r->pos;
	int rc = skip(r, 0, max_depth);
	if (rc)
		r->pos = save;
	return rc == WALK_TOO_DEEP ? KT_EMALFORMED : rc;
}

int kt_mp_validate_why(const void *buf, size_t len, int max_depth, size_t max_str, bool *too_deep)
{
	kt_mp r;
	int rc;
	kt_mp_init(&r, buf, len);
	if (too_deep)
		*too_deep = false;
	if (len == 0)
		return KT_EMALFORMED;
	if ((rc = walk(&r, 0, max_depth, max_str, true))) {
		if (rc == WALK_TOO_DEEP && too_deep)
			*too_deep = true;
		return rc == WALK_TOO_DEEP ? KT_EMALFORMED : rc;
	}
	return kt_mp_at_end(&r) ? KT_OK : KT_EMALFORMED; /* trailing bytes */
}

int kt_mp_validate(const void *buf, size_t len, int max_depth, size_t max_str)
{
	return kt_mp_validate_why(buf, len, max_depth, max_str, NULL);
}

bool kt_mp_str_eq(const char *s, size_t len, const char *lit)
{
	return strlen(lit) == len && memcmp(s, lit, len) == 0;
}

/* ---- writer ---- */

void kt_mpw_init(kt_mpw *w)
{
	msgpack_sbuffer_init(&w->sb);
	msgpack_packer_init(&w->pk, &w->sb, msgpack_sbuffer_write);
	w->err = KT_OK;
}

void kt_mpw_reset(kt_mpw *w)
{
	w->sb.size = 0;
	w->err = KT_OK;
}

void kt_mpw_free(kt_mpw *w)
{
	if (!w)
		return;
	msgpack_sbuffer_destroy(&w->sb);
	w->sb.data = NULL;
	w->sb.size = w->sb.alloc = 0;
}

#define CHECKED(w, call)                                                                 \
	do {                                                                             \
		if ((w)->err == KT_OK && (call) != 0)                                    \
			(w)->err = KT_ENOMEM;                                            \
	} while (0)

void kt_mpw_map(kt_mpw *w, uint32_t n) { CHECKED(w, msgpack_pack_map(&w->pk, n)); }
void kt_mpw_array(kt_mpw *w, uint32_t n) { CHECKED(w, msgpack_pack_array(&w->pk, n)); }
void kt_mpw_nil(kt_mpw *w) { CHECKED(w, msgpack_pack_nil(&w->pk)); }
void kt_mpw_bool(kt_mpw *w, bool v)
{
	CHECKED(w, v ? msgpack_pack_true(&w->pk) : msgpack_pack_false(&w->pk));
}
void kt_mpw_int(kt_mpw *w, int64_t v) { CHECKED(w, msgpack_pack_int64(&w->pk, v)); }
void kt_mpw_uint(kt_mpw *w, uint64_t v) { CHECKED(w, msgpack_pack_uint64(&w->pk, v)); }
void kt_mpw_double(kt_mpw *w, double v) { CHECKED(w, msgpack_pack_double(&w->pk, v)); }

void kt_mpw_strn(kt_mpw *w, const char *s, size_t n)
{
	msgpack_sbuffer *sb = &w->sb;
	/* a short string with room for it in the buffer, written here: the
	 * bytes msgpack_pack_str and _str_body write (fixstr or str8), without
	 * the two calls through the packer's callback; a server packs a few
	 * dozen such strings a row */
	if (n < 256 && w->err == KT_OK && sb->alloc - sb->size >= n + 2 && w->pk.callback == msgpack_sbuffer_write &&
	    w->pk.data == sb) {
		unsigned char *p = (unsigned char *)sb->data + sb->size;
		size_t h = n < 32 ? 1 : 2;
		if (n < 32) {
			p[0] = (unsigned char)(0xa0 | n);
		} else {
			p[0] = 0xd9;
			p[1] = (unsigned char)n;
		}
		if (n)
			memcpy(p + h, s, n);
		sb->size += h + n;
		return;
	}
	CHECKED(w, msgpack_pack_str(&w->pk, n));
	if (n)
		CHECKED(w, msgpack_pack_str_body(&w->pk, s, n));
}

void kt_mpw_str(kt_mpw *w, const char *s)
{
	if (!s)
		kt_mpw_nil(w);
	else
		kt_mpw_strn(w, s, strlen(s));
}

void kt_mpw_bin(kt_mpw *w, const void *b, size_t n)
{
	CHECKED(w, msgpack_pack_bin(&w->pk, n));
	if (n)
		CHECKED(w, msgpack_pack_bin_body(&w->pk, b, n));
}

void kt_mpw_raw(kt_mpw *w, const void *b, size_t n)
{
	if (w->err == KT_OK && n && msgpack_sbuffer_write(&w->sb, b, n) != 0)
		w->err = KT_ENOMEM;
}
