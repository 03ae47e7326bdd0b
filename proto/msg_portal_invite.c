/* msg_portal_invite.c - portal_invite {t, client}. */
#include "proto_internal.h"

void proto_portal_invite_encode(kt_mpw *w, const kt_portal_invite *m)
{
	kt_mpw_map(w, 2);
	kt_mpw_str(w, "t");
	kt_mpw_str(w, "portal_invite");
	kt_mpw_str(w, "client");
	kt_mpw_strn(w, m->client.s, m->client.len);
}

int proto_portal_invite_decode(const void *buf, size_t len, kt_portal_invite *m)
{
	const proto_strfield f[] = {{"client", &m->client, 64}};
	return proto_decode_strings(buf, len, f, 1);
}
