/* proto_walk.c - the one map walker every decoder uses. */
#include <string.h>
#include "proto_internal.h"

int proto_walk(const void *buf, size_t len, proto_key_fn f, void *user)
{
	kt_mp r;
	uint32_t n;
	int rc;

	kt_mp_init(&r, buf, len);
	if (kt_mp_read_map(&r, &n))
		return KT_EMALFORMED;
	for (uint32_t i = 0; i < n; i++) {
		const char *k;
		size_t klen;
		if (kt_mp_read_str(&r, &k, &klen, 64))
			return KT_EMALFORMED;
		rc = f(user, k, klen, &r);
		if (rc == KT_ENOT_FOUND)
			rc = kt_mp_skip(&r, KT_MAX_DEPTH) ? KT_EMALFORMED : KT_OK;
		if (rc)
			return rc;
	}
	return kt_mp_at_end(&r) ? KT_OK : KT_EMALFORMED;
}

int proto_seen(uint32_t *seen, int i)
{
	if (*seen & (1u << i))
		return KT_EMALFORMED;
	*seen |= 1u << i;
	return KT_OK;
}

int proto_read_str(kt_mp *r, kt_str *out, size_t max)
{
	return kt_mp_read_str(r, &out->s, &out->len, max);
}

int proto_read_bin(kt_mp *r, kt_str *out, size_t max)
{
	const uint8_t *b;
	int rc = kt_mp_read_bin(r, &b, &out->len, max);
	out->s = (const char *)b;
	return rc;
}

bool proto_is_type_key(const char *key, size_t klen)
{
	return kt_mp_str_eq(key, klen, "t");
}

struct maps_ctx {
	const char *key;
	kt_raw_cb cb;
	void *user;
	uint32_t seen;
};

static int maps_key(void *user, const char *k, size_t kl, kt_mp *r)
{
	struct maps_ctx *c = user;
	uint32_t n;
	if (!kt_mp_str_eq(k, kl, c->key))
		return KT_ENOT_FOUND;
	if (proto_seen(&c->seen, 0) || kt_mp_read_array(r, &n))
		return KT_EMALFORMED;
	for (uint32_t i = 0; i < n; i++) {
		size_t start = r->pos;
		int rc;
		if (kt_mp_peek(r) != KT_MP_MAP || kt_mp_skip(r, KT_MAX_DEPTH))
			return KT_EMALFORMED;
		if (c->cb && (rc = c->cb(c->user, r->buf + start, r->pos - start)))
			return rc;
	}
	return KT_OK;
}

int proto_maps_decode(const void *buf, size_t len, const char *key, kt_raw_cb cb, void *user)
{
	struct maps_ctx c = {key, cb, user, 0};
	int rc;
	if ((rc = proto_walk(buf, len, maps_key, &c)))
		return rc;
	return c.seen ? KT_OK : KT_EMALFORMED;
}

struct strings_ctx {
	const proto_strfield *f;
	int n;
	uint32_t seen;
};

static int strings_key(void *user, const char *k, size_t kl, kt_mp *r)
{
	struct strings_ctx *c = user;
	for (int i = 0; i < c->n; i++)
		if (kt_mp_str_eq(k, kl, c->f[i].key))
			return proto_seen(&c->seen, i) ? KT_EMALFORMED : proto_read_str(r, c->f[i].out, c->f[i].max);
	return KT_ENOT_FOUND;
}

int proto_decode_strings(const void *buf, size_t len, const proto_strfield *f, int n)
{
	struct strings_ctx c = {f, n, 0};
	int rc;
	for (int i = 0; i < n; i++)
		memset(f[i].out, 0, sizeof *f[i].out);
	if ((rc = proto_walk(buf, len, strings_key, &c)))
		return rc;
	return c.seen == (1u << n) - 1 ? KT_OK : KT_EMALFORMED;
}
