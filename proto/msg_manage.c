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

void proto_manage_encode(kt_mpw *w, const kt_manage *m)
{
	proto_call_encode(w, "manage", "id", &m->op, &m->id);
}

int proto_manage_decode(const void *buf, size_t len, kt_manage *m)
{
	return proto_call_decode(buf, len, "id", &m->op, &m->id);
}

void proto_manage_result_encode(kt_mpw *w, const kt_manage *m, uint32_t ndevices, const void *body, size_t len)
{
	kt_mpw_map(w, m->id.s ? 4 : 3);
	kt_mpw_str(w, "t");
	kt_mpw_str(w, "manage_result");
	proto_call_put(w, "id", &m->op, &m->id);
	kt_mpw_str(w, "devices");
	kt_mpw_array(w, ndevices);
	kt_mpw_raw(w, body, len);
}

int proto_manage_result_decode(const void *buf, size_t len, kt_raw_cb cb, void *user)
{
	return proto_maps_decode(buf, len, "devices", cb, user);
}
