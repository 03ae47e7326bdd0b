/* msg_welcome.c - welcome {t, v, server_time, limits:{...}}. */
#include <string.h>
#include "proto_internal.h"

static const char *const limit_names[] = {"frame_preauth", "frame", "depth", "str",
					  "page_rows", "batch_ops", "auth_deadline_ms"};
#define NLIMITS 7

static int64_t *limit_slot(kt_welcome *m, int i)
{
	int64_t *slots[NLIMITS] = {&m->frame_preauth, &m->frame, &m->depth, &m->str,
				   &m->page_rows, &m->batch_ops, &m->auth_deadline_ms};
	return slots[i];
}

void proto_welcome_encode(kt_mpw *w, const kt_welcome *m)
{
	kt_mpw_map(w, 4);
	kt_mpw_str(w, "t");
	kt_mpw_str(w, "welcome");
	kt_mpw_str(w, "v");
	kt_mpw_int(w, m->v);
	kt_mpw_str(w, "server_time");
	kt_mpw_int(w, m->server_time);
	kt_mpw_str(w, "limits");
	kt_mpw_map(w, NLIMITS);
	for (int i = 0; i < NLIMITS; i++) {
		kt_mpw_str(w, limit_names[i]);
		kt_mpw_int(w, *limit_slot((kt_welcome *)m, i));
	}
}

struct ctx {
	kt_welcome *m;
	uint32_t seen;
};

static int key(void *user, const char *k, size_t kl, kt_mp *r)
{
	struct ctx *c = user;
	if (kt_mp_str_eq(k, kl, "v"))
		return proto_seen(&c->seen, 0) || kt_mp_read_int(r, &c->m->v) ? KT_EMALFORMED : KT_OK;
	if (kt_mp_str_eq(k, kl, "server_time"))
		return proto_seen(&c->seen, 1) || kt_mp_read_int(r, &c->m->server_time) ? KT_EMALFORMED : KT_OK;
	if (kt_mp_str_eq(k, kl, "limits")) {
		uint32_t n;
		if (proto_seen(&c->seen, 2) || kt_mp_read_map(r, &n))
			return KT_EMALFORMED;
		for (uint32_t i = 0; i < n; i++) {
			const char *lk;
			size_t lkl;
			int found = -1;
			if (kt_mp_read_str(r, &lk, &lkl, 64))
				return KT_EMALFORMED;
			for (int j = 0; j < NLIMITS; j++)
				if (kt_mp_str_eq(lk, lkl, limit_names[j]))
					found = j;
			if (found < 0) {
				if (kt_mp_skip(r, KT_MAX_DEPTH))
					return KT_EMALFORMED;
			} else if (kt_mp_read_int(r, limit_slot(c->m, found)))
				return KT_EMALFORMED;
		}
		return KT_OK;
	}
	return KT_ENOT_FOUND;
}

int proto_welcome_decode(const void *buf, size_t len, kt_welcome *m)
{
	struct ctx c = {m, 0};
	int rc;
	memset(m, 0, sizeof *m);
	if ((rc = proto_walk(buf, len, key, &c)))
		return rc;
	return (c.seen & 3) == 3 ? KT_OK : KT_EMALFORMED;
}
