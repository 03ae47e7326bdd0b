/* msg_page.c - page {t, rows: [row...]}: one snapshot page. */
#include "proto_internal.h"

void proto_page_encode(kt_mpw *w, uint32_t nrows, const void *body, size_t len)
{
	kt_mpw_map(w, 2);
	kt_mpw_str(w, "t");
	kt_mpw_str(w, "page");
	kt_mpw_str(w, "rows");
	kt_mpw_array(w, nrows);
	kt_mpw_raw(w, body, len);
}

struct ctx {
	kt_op_cb cb;
	void *user;
	uint32_t seen;
};

static int key(void *user, const char *k, size_t kl, kt_mp *r)
{
	struct ctx *c = user;
	if (!kt_mp_str_eq(k, kl, "rows"))
		return KT_ENOT_FOUND;
	if (proto_seen(&c->seen, 0))
		return KT_EMALFORMED;
	return proto_ops_decode(r, false, c->cb, c->user);
}

int proto_page_decode(const void *buf, size_t len, kt_op_cb cb, void *user)
{
	struct ctx c = {cb, user, 0};
	int rc;
	if ((rc = proto_walk(buf, len, key, &c)))
		return rc;
	return c.seen ? KT_OK : KT_EMALFORMED;
}
