/* msg_privacy.c - privacy {t, op, client?} and privacy_result {t, op,
 * client?, ...}: a client's data export, erasure requests, erasures, the
 * pending list and the erasure status (PROTOCOL.md, "Privacy"). */
#include <string.h>
#include "proto_internal.h"

static void put_op_client(kt_mpw *w, const kt_privacy *m)
{
	kt_mpw_str(w, "op");
	kt_mpw_strn(w, m->op.s, m->op.len);
	if (m->client.s) {
		kt_mpw_str(w, "client");
		kt_mpw_strn(w, m->client.s, m->client.len);
	}
}

void proto_privacy_encode(kt_mpw *w, const kt_privacy *m)
{
	kt_mpw_map(w, m->client.s ? 3 : 2);
	kt_mpw_str(w, "t");
	kt_mpw_str(w, "privacy");
	put_op_client(w, m);
}

struct ctx {
	kt_privacy *m;
	uint32_t seen;
};

static int key(void *user, const char *k, size_t kl, kt_mp *r)
{
	struct ctx *c = user;
	if (kt_mp_str_eq(k, kl, "op"))
		return proto_seen(&c->seen, 0) ? KT_EMALFORMED : proto_read_str(r, &c->m->op, 32);
	if (kt_mp_str_eq(k, kl, "client"))
		return proto_seen(&c->seen, 1) ? KT_EMALFORMED : proto_read_str(r, &c->m->client, 64);
	return KT_ENOT_FOUND;
}

int proto_privacy_decode(const void *buf, size_t len, kt_privacy *m)
{
	struct ctx c = {m, 0};
	int rc;
	memset(m, 0, sizeof *m);
	if ((rc = proto_walk(buf, len, key, &c)))
		return rc;
	return c.seen & 1 ? KT_OK : KT_EMALFORMED;
}

void proto_privacy_result_encode(kt_mpw *w, const kt_privacy *m, uint32_t npairs, const void *body, size_t len)
{
	kt_mpw_map(w, 2 + (m->client.s ? 1 : 0) + npairs);
	kt_mpw_str(w, "t");
	kt_mpw_str(w, "privacy_result");
	put_op_client(w, m);
	kt_mpw_raw(w, body, len);
}
