/* msg_hello.c - hello {t, v:[versions], device:uuid, app}. */
#include <string.h>
#include "kt_util.h"
#include "proto_internal.h"

void proto_hello_encode(kt_mpw *w, const kt_hello *m)
{
	uint32_t n = 0;
	for (int v = 1; v < 32; v++)
		n += (m->versions >> v) & 1;
	kt_mpw_map(w, 4);
	kt_mpw_str(w, "t");
	kt_mpw_str(w, "hello");
	kt_mpw_str(w, "v");
	kt_mpw_array(w, n);
	for (int v = 1; v < 32; v++)
		if ((m->versions >> v) & 1)
			kt_mpw_int(w, v);
	kt_mpw_str(w, "device");
	kt_mpw_strn(w, m->device.s, m->device.len);
	kt_mpw_str(w, "app");
	kt_mpw_strn(w, m->app.s, m->app.len);
}

static int key(void *user, const char *k, size_t kl, kt_mp *r)
{
	struct {
		kt_hello *m;
		uint32_t seen;
	} *c = user;
	if (kt_mp_str_eq(k, kl, "v")) {
		uint32_t n;
		if (proto_seen(&c->seen, 0) || kt_mp_read_array(r, &n))
			return KT_EMALFORMED;
		for (uint32_t i = 0; i < n; i++) {
			int64_t v;
			if (kt_mp_read_int(r, &v) || v < 1)
				return KT_EMALFORMED;
			if (v < 32)
				c->m->versions |= 1u << v;
		}
		return KT_OK;
	}
	if (kt_mp_str_eq(k, kl, "device")) {
		if (proto_seen(&c->seen, 1) || proto_read_str(r, &c->m->device, 64))
			return KT_EMALFORMED;
		return kt_uuid_valid(c->m->device.s, c->m->device.len) ? KT_OK : KT_EMALFORMED;
	}
	if (kt_mp_str_eq(k, kl, "app")) {
		if (proto_seen(&c->seen, 2))
			return KT_EMALFORMED;
		return proto_read_str(r, &c->m->app, KT_MAX_APP);
	}
	return KT_ENOT_FOUND;
}

int proto_hello_decode(const void *buf, size_t len, kt_hello *m)
{
	struct {
		kt_hello *m;
		uint32_t seen;
	} c = {m, 0};
	int rc;
	memset(m, 0, sizeof *m);
	if ((rc = proto_walk(buf, len, key, &c)))
		return rc;
	return c.seen == 7 ? KT_OK : KT_EMALFORMED;
}
