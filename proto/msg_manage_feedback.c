/* msg_manage_feedback.c - the keys of the review and statistics manage ops
 * ({t: "manage", op, id?, from?, to?, group?, by?, location?, reply?,
 * highlighted?, hidden?, limit?}); the answers are packed by the server
 * (handlers/handle_feedback.c). */
#include <stddef.h>
#include <string.h>
#include "proto_internal.h"

struct ctx {
	kt_manage_feedback *m;
	uint32_t seen;
};

static int key(void *user, const char *k, size_t kl, kt_mp *r)
{
	static const struct {
		const char *name;
		size_t off, max;
	} strs[] = {
		{"op", offsetof(kt_manage_feedback, op), 32},
		{"id", offsetof(kt_manage_feedback, id), 64},
		{"from", offsetof(kt_manage_feedback, from), 16},
		{"to", offsetof(kt_manage_feedback, to), 16},
		{"group", offsetof(kt_manage_feedback, group), 16},
		{"by", offsetof(kt_manage_feedback, by), 16},
		{"location", offsetof(kt_manage_feedback, location), 64},
	};
	struct ctx *c = user;
	int n = (int)(sizeof strs / sizeof strs[0]);
	bool b;
	for (int i = 0; i < n; i++)
		if (kt_mp_str_eq(k, kl, strs[i].name))
			return proto_seen(&c->seen, i) ? KT_EMALFORMED
							: proto_read_str(r, (kt_str *)((char *)c->m + strs[i].off), strs[i].max);
	if (kt_mp_str_eq(k, kl, "reply")) {
		if (proto_seen(&c->seen, n))
			return KT_EMALFORMED;
		if (kt_mp_peek(r) == KT_MP_NIL) {
			c->m->reply_nil = true;
			return kt_mp_read_nil(r);
		}
		return proto_read_str(r, &c->m->reply, 4096);
	}
	if (kt_mp_str_eq(k, kl, "highlighted") || kt_mp_str_eq(k, kl, "hidden")) {
		bool hl = kt_mp_str_eq(k, kl, "highlighted");
		if (proto_seen(&c->seen, n + (hl ? 1 : 2)) || kt_mp_read_bool(r, &b))
			return KT_EMALFORMED;
		*(hl ? &c->m->highlighted : &c->m->hidden) = b;
		return KT_OK;
	}
	if (kt_mp_str_eq(k, kl, "limit"))
		return proto_seen(&c->seen, n + 3) ? KT_EMALFORMED : kt_mp_read_int(r, &c->m->limit);
	return KT_ENOT_FOUND;
}

int proto_manage_feedback_decode(const void *buf, size_t len, kt_manage_feedback *m)
{
	struct ctx c = {m, 0};
	int rc;
	memset(m, 0, sizeof *m);
	m->highlighted = m->hidden = -1;
	if ((rc = proto_walk(buf, len, key, &c)))
		return rc;
	return c.seen & 1 ? KT_OK : KT_EMALFORMED;
}
