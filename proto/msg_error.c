/* msg_error.c - error {t, code, msg, fatal, re, retry_after_ms?}. */
#include <string.h>
#include "proto_internal.h"

void proto_error_encode(kt_mpw *w, const kt_error_msg *m)
{
	kt_mpw_map(w, m->retry_after_ms > 0 ? 6 : 5);
	kt_mpw_str(w, "t");
	kt_mpw_str(w, "error");
	kt_mpw_str(w, "code");
	kt_mpw_strn(w, m->code.s, m->code.len);
	kt_mpw_str(w, "msg");
	kt_mpw_strn(w, m->msg.s, m->msg.len);
	kt_mpw_str(w, "fatal");
	kt_mpw_bool(w, m->fatal);
	kt_mpw_str(w, "re");
	if (m->re.s)
		kt_mpw_strn(w, m->re.s, m->re.len);
	else
		kt_mpw_nil(w);
	if (m->retry_after_ms > 0) {
		kt_mpw_str(w, "retry_after_ms");
		kt_mpw_int(w, m->retry_after_ms);
	}
}

struct ctx {
	kt_error_msg *m;
	uint32_t seen;
};

static int key(void *user, const char *k, size_t kl, kt_mp *r)
{
	struct ctx *c = user;
	if (kt_mp_str_eq(k, kl, "code"))
		return proto_seen(&c->seen, 0) ? KT_EMALFORMED : proto_read_str(r, &c->m->code, 64);
	if (kt_mp_str_eq(k, kl, "msg"))
		return proto_seen(&c->seen, 1) ? KT_EMALFORMED : proto_read_str(r, &c->m->msg, KT_MAX_STR);
	if (kt_mp_str_eq(k, kl, "fatal"))
		return proto_seen(&c->seen, 2) || kt_mp_read_bool(r, &c->m->fatal) ? KT_EMALFORMED : KT_OK;
	if (kt_mp_str_eq(k, kl, "re")) {
		if (proto_seen(&c->seen, 3))
			return KT_EMALFORMED;
		if (kt_mp_peek(r) == KT_MP_NIL)
			return kt_mp_read_nil(r);
		return proto_read_str(r, &c->m->re, 64);
	}
	if (kt_mp_str_eq(k, kl, "retry_after_ms"))
		return proto_seen(&c->seen, 4) || kt_mp_read_int(r, &c->m->retry_after_ms) ? KT_EMALFORMED : KT_OK;
	return KT_ENOT_FOUND;
}

int proto_error_decode(const void *buf, size_t len, kt_error_msg *m)
{
	struct ctx c = {m, 0};
	int rc;
	memset(m, 0, sizeof *m);
	if ((rc = proto_walk(buf, len, key, &c)))
		return rc;
	return (c.seen & 3) == 3 ? KT_OK : KT_EMALFORMED;
}
