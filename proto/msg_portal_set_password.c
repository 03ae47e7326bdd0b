/* msg_portal_set_password.c - portal_set_password {t, token, password}. */
#include <string.h>
#include "proto_internal.h"

void proto_portal_set_password_encode(kt_mpw *w, const kt_portal_set_password *m)
{
	kt_mpw_map(w, 3);
	kt_mpw_str(w, "t");
	kt_mpw_str(w, "portal_set_password");
	kt_mpw_str(w, "token");
	kt_mpw_strn(w, m->token.s, m->token.len);
	kt_mpw_str(w, "password");
	kt_mpw_strn(w, m->password.s, m->password.len);
}

struct ctx {
	kt_portal_set_password *m;
	uint32_t seen;
};

static int key(void *user, const char *k, size_t kl, kt_mp *r)
{
	struct ctx *c = user;
	if (kt_mp_str_eq(k, kl, "token"))
		return proto_seen(&c->seen, 0) ? KT_EMALFORMED : proto_read_str(r, &c->m->token, KT_MAX_TOKEN);
	if (kt_mp_str_eq(k, kl, "password"))
		return proto_seen(&c->seen, 1) ? KT_EMALFORMED : proto_read_str(r, &c->m->password, KT_MAX_PASSWORD);
	return KT_ENOT_FOUND;
}

int proto_portal_set_password_decode(const void *buf, size_t len, kt_portal_set_password *m)
{
	struct ctx c = {m, 0};
	int rc;
	memset(m, 0, sizeof *m);
	if ((rc = proto_walk(buf, len, key, &c)))
		return rc;
	return c.seen == 3 ? KT_OK : KT_EMALFORMED;
}
