/* msg_call.c - the shape manage and privacy share: a call {t, op, <target>?}
 * and its result {t, op, <target>?, ...}, where the target's key names what
 * the call is about ("id" for manage, "client" for privacy). */
#include <string.h>
#include "proto_internal.h"

void proto_call_put(kt_mpw *w, const char *target_key, const kt_str *op, const kt_str *target)
{
	kt_mpw_str(w, "op");
	kt_mpw_strn(w, op->s, op->len);
	if (target->s) {
		kt_mpw_str(w, target_key);
		kt_mpw_strn(w, target->s, target->len);
	}
}

void proto_call_encode(kt_mpw *w, const char *type, const char *target_key, const kt_str *op, const kt_str *target)
{
	kt_mpw_map(w, target->s ? 3 : 2);
	kt_mpw_str(w, "t");
	kt_mpw_str(w, type);
	proto_call_put(w, target_key, op, target);
}

struct ctx {
	const char *target_key;
	kt_str *op, *target;
	uint32_t seen;
};

static int key(void *user, const char *k, size_t kl, kt_mp *r)
{
	struct ctx *c = user;
	if (kt_mp_str_eq(k, kl, "op"))
		return proto_seen(&c->seen, 0) ? KT_EMALFORMED : proto_read_str(r, c->op, 32);
	if (kt_mp_str_eq(k, kl, c->target_key))
		return proto_seen(&c->seen, 1) ? KT_EMALFORMED : proto_read_str(r, c->target, 64);
	return KT_ENOT_FOUND;
}

int proto_call_decode(const void *buf, size_t len, const char *target_key, kt_str *op, kt_str *target)
{
	struct ctx c = {target_key, op, target, 0};
	int rc;
	memset(op, 0, sizeof *op);
	memset(target, 0, sizeof *target);
	if ((rc = proto_walk(buf, len, key, &c)))
		return rc;
	return c.seen & 1 ? KT_OK : KT_EMALFORMED;
}

void proto_device_begin(kt_mpw *w, const kt_device_wire *d, uint32_t nextra)
{
	kt_mpw_map(w, 8 + nextra);
	kt_mpw_str(w, "id");
	kt_mpw_str(w, d->id);
	kt_mpw_str(w, "kind");
	kt_mpw_str(w, d->kind);
	kt_mpw_str(w, "principal");
	kt_mpw_str(w, d->principal);
	kt_mpw_str(w, "name");
	kt_mpw_str(w, d->name);
	kt_mpw_str(w, "role");
	kt_mpw_str(w, d->role);
	kt_mpw_str(w, "app");
	kt_mpw_str(w, d->app);
	kt_mpw_str(w, "last_seen");
	kt_mpw_int(w, d->last_seen);
	kt_mpw_str(w, "last_ack_seq");
	kt_mpw_int(w, d->last_ack_seq);
}
