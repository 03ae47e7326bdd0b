/* msg_audit.c - audit_query {t, client?, before?, limit?} and
 * audit_result {t, entries:[...]}. */
#include <string.h>
#include "proto_internal.h"

void proto_audit_query_encode(kt_mpw *w, const kt_audit_query *q)
{
	kt_mpw_map(w, 4);
	kt_mpw_str(w, "t");
	kt_mpw_str(w, "audit_query");
	kt_mpw_str(w, "client");
	if (q->client.s)
		kt_mpw_strn(w, q->client.s, q->client.len);
	else
		kt_mpw_nil(w);
	kt_mpw_str(w, "before");
	kt_mpw_int(w, q->before);
	kt_mpw_str(w, "limit");
	kt_mpw_int(w, q->limit);
}

struct ctx {
	kt_audit_query *q;
	uint32_t seen;
};

static int key(void *user, const char *k, size_t kl, kt_mp *r)
{
	struct ctx *c = user;
	if (kt_mp_str_eq(k, kl, "client")) {
		if (proto_seen(&c->seen, 0))
			return KT_EMALFORMED;
		if (kt_mp_peek(r) == KT_MP_NIL)
			return kt_mp_read_nil(r);
		return proto_read_str(r, &c->q->client, 64);
	}
	if (kt_mp_str_eq(k, kl, "before"))
		return proto_seen(&c->seen, 1) || kt_mp_read_int(r, &c->q->before) ? KT_EMALFORMED : KT_OK;
	if (kt_mp_str_eq(k, kl, "limit"))
		return proto_seen(&c->seen, 2) || kt_mp_read_int(r, &c->q->limit) ? KT_EMALFORMED : KT_OK;
	return KT_ENOT_FOUND;
}

int proto_audit_query_decode(const void *buf, size_t len, kt_audit_query *q)
{
	struct ctx c = {q, 0};
	int rc;
	memset(q, 0, sizeof *q);
	q->limit = 100;
	if ((rc = proto_walk(buf, len, key, &c)))
		return rc;
	return q->limit >= 1 && q->limit <= 500 && q->before >= 0 ? KT_OK : KT_EMALFORMED;
}

void proto_audit_result_encode(kt_mpw *w, uint32_t n, const void *body, size_t len)
{
	kt_mpw_map(w, 2);
	kt_mpw_str(w, "t");
	kt_mpw_str(w, "audit_result");
	kt_mpw_str(w, "entries");
	kt_mpw_array(w, n);
	kt_mpw_raw(w, body, len);
}

int proto_audit_result_decode(const void *buf, size_t len, kt_raw_cb cb, void *user)
{
	return proto_maps_decode(buf, len, "entries", cb, user);
}
