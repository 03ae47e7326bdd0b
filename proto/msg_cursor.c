/* msg_cursor.c - the shape shared by sync, ack, snapshot_end and synced:
 * {t, cursor: bin | nil}. Each message's own file names its rules. */
#include <string.h>
#include "proto_internal.h"

void proto_cursor_msg_encode(kt_mpw *w, const char *type, const kt_cursor_msg *m)
{
	kt_mpw_map(w, 2);
	kt_mpw_str(w, "t");
	kt_mpw_str(w, type);
	kt_mpw_str(w, "cursor");
	if (m->has_cursor)
		kt_mpw_bin(w, m->cursor.s, m->cursor.len);
	else
		kt_mpw_nil(w);
}

struct ctx {
	kt_cursor_msg *m;
	uint32_t seen;
};

static int key(void *user, const char *k, size_t kl, kt_mp *r)
{
	struct ctx *c = user;
	if (!kt_mp_str_eq(k, kl, "cursor"))
		return KT_ENOT_FOUND;
	if (proto_seen(&c->seen, 0))
		return KT_EMALFORMED;
	if (kt_mp_peek(r) == KT_MP_NIL)
		return kt_mp_read_nil(r);
	c->m->has_cursor = true;
	return proto_read_bin(r, &c->m->cursor, KT_MAX_CURSOR);
}

int proto_cursor_msg_decode(const void *buf, size_t len, kt_cursor_msg *m, bool required)
{
	struct ctx c = {m, 0};
	int rc;
	memset(m, 0, sizeof *m);
	if ((rc = proto_walk(buf, len, key, &c)))
		return rc;
	return required && !m->has_cursor ? KT_EMALFORMED : KT_OK;
}
