/* msg_change_password.c - change_password {t, old, new}. */
#include <string.h>
#include "proto_internal.h"

void proto_change_password_encode(kt_mpw *w, const kt_change_password *m)
{
	kt_mpw_map(w, 3);
	kt_mpw_str(w, "t");
	kt_mpw_str(w, "change_password");
	kt_mpw_str(w, "old");
	kt_mpw_strn(w, m->old_pw.s, m->old_pw.len);
	kt_mpw_str(w, "new");
	kt_mpw_strn(w, m->new_pw.s, m->new_pw.len);
}

struct ctx {
	kt_change_password *m;
	uint32_t seen;
};

static int key(void *user, const char *k, size_t kl, kt_mp *r)
{
	struct ctx *c = user;
	if (kt_mp_str_eq(k, kl, "old"))
		return proto_seen(&c->seen, 0) ? KT_EMALFORMED : proto_read_str(r, &c->m->old_pw, KT_MAX_PASSWORD);
	if (kt_mp_str_eq(k, kl, "new"))
		return proto_seen(&c->seen, 1) ? KT_EMALFORMED : proto_read_str(r, &c->m->new_pw, KT_MAX_PASSWORD);
	return KT_ENOT_FOUND;
}

int proto_change_password_decode(const void *buf, size_t len, kt_change_password *m)
{
	struct ctx c = {m, 0};
	int rc;
	memset(m, 0, sizeof *m);
	if ((rc = proto_walk(buf, len, key, &c)))
		return rc;
	return c.seen == 3 ? KT_OK : KT_EMALFORMED;
}
