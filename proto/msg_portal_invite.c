/* msg_portal_invite.c - portal_invite {t, client}. */
#include <string.h>
#include "proto_internal.h"

void proto_portal_invite_encode(kt_mpw *w, const kt_portal_invite *m)
{
	kt_mpw_map(w, 2);
	kt_mpw_str(w, "t");
	kt_mpw_str(w, "portal_invite");
	kt_mpw_str(w, "client");
	kt_mpw_strn(w, m->client.s, m->client.len);
}

struct ctx {
	kt_portal_invite *m;
	uint32_t seen;
};

static int key(void *user, const char *k, size_t kl, kt_mp *r)
{
	struct ctx *c = user;
	if (kt_mp_str_eq(k, kl, "client"))
		return proto_seen(&c->seen, 0) ? KT_EMALFORMED : proto_read_str(r, &c->m->client, 64);
	return KT_ENOT_FOUND;
}

int proto_portal_invite_decode(const void *buf, size_t len, kt_portal_invite *m)
{
	struct ctx c = {m, 0};
	int rc;
	memset(m, 0, sizeof *m);
	if ((rc = proto_walk(buf, len, key, &c)))
		return rc;
	return c.seen == 1 ? KT_OK : KT_EMALFORMED;
}
