/* msg_privacy.c - privacy {t, op, client?} and privacy_result {t, op,
 * client?, ...}: a client's data export, erasure requests, erasures, the
 * pending list and the erasure status (PROTOCOL.md, "Privacy"). */
#include <string.h>
#include "proto_internal.h"

void proto_privacy_encode(kt_mpw *w, const kt_privacy *m)
{
	proto_call_encode(w, "privacy", "client", &m->op, &m->client);
}

int proto_privacy_decode(const void *buf, size_t len, kt_privacy *m)
{
	return proto_call_decode(buf, len, "client", &m->op, &m->client);
}

void proto_privacy_result_encode(kt_mpw *w, const kt_privacy *m, uint32_t npairs, const void *body, size_t len)
{
	kt_mpw_map(w, 2 + (m->client.s ? 1 : 0) + npairs);
	kt_mpw_str(w, "t");
	kt_mpw_str(w, "privacy_result");
	proto_call_put(w, "client", &m->op, &m->client);
	kt_mpw_raw(w, body, len);
}
