/* msg_auth_ok.c - auth_ok {t, principal:{kind,id,role,name,org}, token, expires_at}. */
#include <string.h>
#include "proto_internal.h"

void proto_auth_ok_encode(kt_mpw *w, const kt_auth_ok *m)
{
	kt_mpw_map(w, 4);
	kt_mpw_str(w, "t");
	kt_mpw_str(w, "auth_ok");
	kt_mpw_str(w, "principal");
	kt_mpw_map(w, 5);
	kt_mpw_str(w, "kind");
	kt_mpw_strn(w, m->kind.s, m->kind.len);
	kt_mpw_str(w, "id");
	kt_mpw_strn(w, m->id.s, m->id.len);
	kt_mpw_str(w, "role");
	kt_mpw_strn(w, m->role.s, m->role.len);
	kt_mpw_str(w, "name");
	kt_mpw_strn(w, m->name.s, m->name.len);
	kt_mpw_str(w, "org");
	kt_mpw_strn(w, m->org.s, m->org.len);
	kt_mpw_str(w, "token");
	kt_mpw_strn(w, m->token.s, m->token.len);
	kt_mpw_str(w, "expires_at");
	kt_mpw_int(w, m->expires_at);
}

struct ctx {
	kt_auth_ok *m;
	uint32_t seen;
};

static int principal_key(void *user, const char *k, size_t kl, kt_mp *r)
{
	struct ctx *c = user;
	static const char *const names[] = {"kind", "id", "role", "name", "org"};
	kt_str *slots[] = {&c->m->kind, &c->m->id, &c->m->role, &c->m->name, &c->m->org};
	for (int i = 0; i < 5; i++)
		if (kt_mp_str_eq(k, kl, names[i]))
			return proto_seen(&c->seen, 8 + i) ? KT_EMALFORMED : proto_read_str(r, slots[i], 256);
	return KT_ENOT_FOUND;
}

static int key(void *user, const char *k, size_t kl, kt_mp *r)
{
	struct ctx *c = user;
	if (kt_mp_str_eq(k, kl, "principal")) {
		uint32_t n;
		if (proto_seen(&c->seen, 0) || kt_mp_read_map(r, &n))
			return KT_EMALFORMED;
		for (uint32_t i = 0; i < n; i++) {
			const char *pk;
			size_t pkl;
			int rc;
			if (kt_mp_read_str(r, &pk, &pkl, 64))
				return KT_EMALFORMED;
			rc = principal_key(c, pk, pkl, r);
			if (rc == KT_ENOT_FOUND)
				rc = kt_mp_skip(r, KT_MAX_DEPTH) ? KT_EMALFORMED : KT_OK;
			if (rc)
				return rc;
		}
		return KT_OK;
	}
	if (kt_mp_str_eq(k, kl, "token"))
		return proto_seen(&c->seen, 1) ? KT_EMALFORMED : proto_read_str(r, &c->m->token, KT_MAX_TOKEN);
	if (kt_mp_str_eq(k, kl, "expires_at"))
		return proto_seen(&c->seen, 2) || kt_mp_read_int(r, &c->m->expires_at) ? KT_EMALFORMED : KT_OK;
	return KT_ENOT_FOUND;
}

int proto_auth_ok_decode(const void *buf, size_t len, kt_auth_ok *m)
{
	struct ctx c = {m, 0};
	int rc;
	memset(m, 0, sizeof *m);
	if ((rc = proto_walk(buf, len, key, &c)))
		return rc;
	return c.seen == (0x7u | (0x1fu << 8)) ? KT_OK : KT_EMALFORMED;
}
