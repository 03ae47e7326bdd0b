/* msg_portal_result.c - portal_result {t, op, client?, expires_at?}. */
#include <string.h>
#include "proto_internal.h"

void proto_portal_result_encode(kt_mpw *w, const kt_portal_result *m)
{
	kt_mpw_map(w, 2 + (m->client.s ? 1 : 0) + (m->expires_at ? 1 : 0));
	kt_mpw_str(w, "t");
	kt_mpw_str(w, "portal_result");
	kt_mpw_str(w, "op");
	kt_mpw_strn(w, m->op.s, m->op.len);
	if (m->client.s) {
		kt_mpw_str(w, "client");
		kt_mpw_strn(w, m->client.s, m->client.len);
	}
	if (m->expires_at) {
		kt_mpw_str(w, "expires_at");
		kt_mpw_int(w, m->expires_at);
	}
}

struct ctx {
	kt_portal_result *m;
	uint32_t seen;
};

static int key(void *user, const char *k, size_t kl, kt_mp *r)
{
	struct ctx *c = user;
	if (kt_mp_str_eq(k, kl, "op"))
		return proto_seen(&c->seen, 0) ? KT_EMALFORMED : proto_read_str(r, &c->m->op, 32);
	if (kt_mp_str_eq(k, kl, "client"))
		return proto_seen(&c->seen, 1) ? KT_EMALFORMED : proto_read_str(r, &c->m->client, 64);
	if (kt_mp_str_eq(k, kl, "expires_at"))
		return proto_seen(&c->seen, 2) || kt_mp_read_int(r, &c->m->expires_at) ? KT_EMALFORMED : KT_OK;
	return KT_ENOT_FOUND;
}

int proto_portal_result_decode(const void *buf, size_t len, kt_portal_result *m)
{
	struct ctx c = {m, 0};
	int rc;
	memset(m, 0, sizeof *m);
	if ((rc = proto_walk(buf, len, key, &c)))
		return rc;
	return c.seen & 1 ? KT_OK : KT_EMALFORMED;
}
