/* msg_resume.c - resume {t, token}. */
#include <string.h>
#include "proto_internal.h"

void proto_resume_encode(kt_mpw *w, const kt_resume *m)
{
	kt_mpw_map(w, 2);
	kt_mpw_str(w, "t");
	kt_mpw_str(w, "resume");
	kt_mpw_str(w, "token");
	kt_mpw_strn(w, m->token.s, m->token.len);
}

struct ctx {
	kt_resume *m;
	uint32_t seen;
};

static int key(void *user, const char *k, size_t kl, kt_mp *r)
{
	struct ctx *c = user;
	if (kt_mp_str_eq(k, kl, "token"))
		return proto_seen(&c->seen, 0) ? KT_EMALFORMED : proto_read_str(r, &c->m->token, KT_MAX_TOKEN);
	return KT_ENOT_FOUND;
}

int proto_resume_decode(const void *buf, size_t len, kt_resume *m)
{
	struct ctx c = {m, 0};
	int rc;
	memset(m, 0, sizeof *m);
	if ((rc = proto_walk(buf, len, key, &c)))
		return rc;
	return c.seen == 1 ? KT_OK : KT_EMALFORMED;
}
