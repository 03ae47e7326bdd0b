/* msg_snapshot.c - snapshot_begin {t, total} and snapshot_end {t, cursor}. */
#include <string.h>
#include "proto_internal.h"

void proto_snapshot_begin_encode(kt_mpw *w, const kt_snapshot_begin *m)
{
	kt_mpw_map(w, 2);
	kt_mpw_str(w, "t");
	kt_mpw_str(w, "snapshot_begin");
	kt_mpw_str(w, "total");
	kt_mpw_int(w, m->total);
}

struct ctx {
	kt_snapshot_begin *m;
	uint32_t seen;
};

static int key(void *user, const char *k, size_t kl, kt_mp *r)
{
	struct ctx *c = user;
	if (!kt_mp_str_eq(k, kl, "total"))
		return KT_ENOT_FOUND;
	return proto_seen(&c->seen, 0) || kt_mp_read_int(r, &c->m->total) || c->m->total < 0 ? KT_EMALFORMED
												 : KT_OK;
}

int proto_snapshot_begin_decode(const void *buf, size_t len, kt_snapshot_begin *m)
{
	struct ctx c = {m, 0};
	int rc;
	memset(m, 0, sizeof *m);
	if ((rc = proto_walk(buf, len, key, &c)))
		return rc;
	return c.seen == 1 ? KT_OK : KT_EMALFORMED;
}

void proto_snapshot_end_encode(kt_mpw *w, const kt_cursor_msg *m)
{
	proto_cursor_msg_encode(w, "snapshot_end", m);
}

int proto_snapshot_end_decode(const void *buf, size_t len, kt_cursor_msg *m)
{
	return proto_cursor_msg_decode(buf, len, m, true);
}
