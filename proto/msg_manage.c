/* msg_manage.c - logout {t}, manage {t, op, id?} and
 * manage_result {t, op, id?, devices:[...]}. */
#include <string.h>
#include "proto_internal.h"

void proto_logout_encode(kt_mpw *w)
{
	kt_mpw_map(w, 1);
	kt_mpw_str(w, "t");
	kt_mpw_str(w, "logout");
}

static void put_op_id(kt_mpw *w, const kt_manage *m)
{
	kt_mpw_str(w, "op");
	kt_mpw_strn(w, m->op.s, m->op.len);
	if (m->id.s) {
		kt_mpw_str(w, "id");
		kt_mpw_strn(w, m->id.s, m->id.len);
	}
}

void proto_manage_encode(kt_mpw *w, const kt_manage *m)
{
	kt_mpw_map(w, m->id.s ? 3 : 2);
	kt_mpw_str(w, "t");
	kt_mpw_str(w, "manage");
	put_op_id(w, m);
}

struct ctx {
	kt_manage *m;
	uint32_t seen;
};

static int key(void *user, const char *k, size_t kl, kt_mp *r)
{
	struct ctx *c = user;
	if (kt_mp_str_eq(k, kl, "op"))
		return proto_seen(&c->seen, 0) ? KT_EMALFORMED : proto_read_str(r, &c->m->op, 32);
	if (kt_mp_str_eq(k, kl, "id"))
		return proto_seen(&c->seen, 1) ? KT_EMALFORMED : proto_read_str(r, &c->m->id, 64);
	return KT_ENOT_FOUND;
}

int proto_manage_decode(const void *buf, size_t len, kt_manage *m)
{
	struct ctx c = {m, 0};
	int rc;
	memset(m, 0, sizeof *m);
	if ((rc = proto_walk(buf, len, key, &c)))
		return rc;
	return c.seen & 1 ? KT_OK : KT_EMALFORMED;
}

void proto_manage_result_encode(kt_mpw *w, const kt_manage *m, uint32_t ndevices, const void *body, size_t len)
{
	kt_mpw_map(w, m->id.s ? 4 : 3);
	kt_mpw_str(w, "t");
	kt_mpw_str(w, "manage_result");
	put_op_id(w, m);
	kt_mpw_str(w, "devices");
	kt_mpw_array(w, ndevices);
	kt_mpw_raw(w, body, len);
}

int proto_manage_result_decode(const void *buf, size_t len, kt_raw_cb cb, void *user)
{
	return proto_maps_decode(buf, len, "devices", cb, user);
}
