/* msg_manage.c - logout {t}, manage {t, op, id?} and
 * manage_result {t, op, id?, devices:[...]}. */
#include <stddef.h>
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

struct ctx {
	kt_manage *m;
	uint32_t seen;
};

static int key(void *user, const char *k, size_t kl, kt_mp *r)
{
	static const struct {
		const char *name;
		size_t off, max;
	} strs[] = {
		{"op", offsetof(kt_manage, op), 32},
		{"id", offsetof(kt_manage, id), 64},
		{"name", offsetof(kt_manage, name), KT_MANAGE_MAX_TEXT},
		{"address", offsetof(kt_manage, address), KT_MANAGE_MAX_TEXT},
		{"phone", offsetof(kt_manage, phone), KT_MANAGE_MAX_TEXT},
		{"time_zone", offsetof(kt_manage, time_zone), 64},
		{"email", offsetof(kt_manage, email), KT_MAX_EMAIL},
		{"role", offsetof(kt_manage, role), 32},
		{"into", offsetof(kt_manage, into), 64},
		/* a search text, or a privacy notice: each op checks its own length */
		{"text", offsetof(kt_manage, text), KT_MANAGE_MAX_NOTICE},
		{"after", offsetof(kt_manage, after), 64},
	};
	struct ctx *c = user;
	int n = (int)(sizeof strs / sizeof strs[0]);
	for (int i = 0; i < n; i++)
		if (kt_mp_str_eq(k, kl, strs[i].name))
			return proto_seen(&c->seen, i) ? KT_EMALFORMED
							: proto_read_str(r, (kt_str *)((char *)c->m + strs[i].off), strs[i].max);
	if (kt_mp_str_eq(k, kl, "limit")) {
		if (proto_seen(&c->seen, n))
			return KT_EMALFORMED;
		return kt_mp_read_int(r, &c->m->limit);
	}
	if (kt_mp_str_eq(k, kl, "locations")) {
		uint32_t len;
		int rc;
		if (proto_seen(&c->seen, n + 1) || (rc = kt_mp_read_array(r, &len)))
			return KT_EMALFORMED;
		if (len > KT_MANAGE_MAX_LOCATIONS)
			return KT_ETOO_LARGE;
		c->m->nlocations = (int)len;
		for (uint32_t i = 0; i < len; i++)
			if ((rc = proto_read_str(r, &c->m->locations[i], 64)))
				return rc;
		return KT_OK;
	}
	return KT_ENOT_FOUND;
}

int proto_manage_decode(const void *buf, size_t len, kt_manage *m)
{
	struct ctx c = {m, 0};
	int rc;
	memset(m, 0, sizeof *m);
	m->nlocations = -1;
	if ((rc = proto_walk(buf, len, key, &c)))
		return rc;
	return c.seen & 1 ? KT_OK : KT_EMALFORMED;
}

void proto_manage_done_encode(kt_mpw *w, const char *op, const char *id, int64_t expires_at, int32_t n,
			      const void *body, size_t len)
{
	kt_mpw_map(w, 2 + (id ? 1 : 0) + (expires_at ? 1 : 0) + (n >= 0 ? 1 : 0));
	kt_mpw_str(w, "t");
	kt_mpw_str(w, "manage_result");
	kt_mpw_str(w, "op");
	kt_mpw_str(w, op);
	if (id) {
		kt_mpw_str(w, "id");
		kt_mpw_str(w, id);
	}
	if (expires_at) {
		kt_mpw_str(w, "expires_at");
		kt_mpw_int(w, expires_at);
	}
	if (n >= 0) {
		kt_mpw_str(w, "clients");
		kt_mpw_array(w, (uint32_t)n);
		kt_mpw_raw(w, body, len);
	}
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
