/* msg_login.c - login {t, email, password}. */
#include <string.h>
#include "proto_internal.h"

void proto_login_encode(kt_mpw *w, const kt_login *m)
{
	kt_mpw_map(w, 3);
	kt_mpw_str(w, "t");
	kt_mpw_str(w, "login");
	kt_mpw_str(w, "email");
	kt_mpw_strn(w, m->email.s, m->email.len);
	kt_mpw_str(w, "password");
	kt_mpw_strn(w, m->password.s, m->password.len);
}

struct ctx {
	kt_login *m;
	uint32_t seen;
};

static int key(void *user, const char *k, size_t kl, kt_mp *r)
{
	struct ctx *c = user;
	if (kt_mp_str_eq(k, kl, "email"))
		return proto_seen(&c->seen, 0) ? KT_EMALFORMED : proto_read_str(r, &c->m->email, KT_MAX_EMAIL);
	if (kt_mp_str_eq(k, kl, "password"))
		return proto_seen(&c->seen, 1) ? KT_EMALFORMED : proto_read_str(r, &c->m->password, KT_MAX_PASSWORD);
	return KT_ENOT_FOUND;
}

int proto_login_decode(const void *buf, size_t len, kt_login *m)
{
	struct ctx c = {m, 0};
	int rc;
	memset(m, 0, sizeof *m);
	if ((rc = proto_walk(buf, len, key, &c)))
		return rc;
	return c.seen == 3 ? KT_OK : KT_EMALFORMED;
}
