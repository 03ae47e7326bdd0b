/* msg_changes.c - changes {t, ops: [op...], cursor: bin}. The ops are
 * delivered in order; the cursor may come before or after them on the wire,
 * so callers store it only after proto_changes_decode returns. */
#include <string.h>
#include "proto_internal.h"

void proto_changes_encode(kt_mpw *w, uint32_t nops, const void *body, size_t len, const void *cursor,
			  size_t cursor_len)
{
	kt_mpw_map(w, 3);
	kt_mpw_str(w, "t");
	kt_mpw_str(w, "changes");
	kt_mpw_str(w, "cursor");
	kt_mpw_bin(w, cursor, cursor_len);
	kt_mpw_str(w, "ops");
	kt_mpw_array(w, nops);
	kt_mpw_raw(w, body, len);
}

struct ctx {
	kt_op_cb cb;
	void *user;
	kt_str cursor;
	uint32_t seen;
};

static int key(void *user, const char *k, size_t kl, kt_mp *r)
{
	struct ctx *c = user;
	if (kt_mp_str_eq(k, kl, "ops"))
		return proto_seen(&c->seen, 0) ? KT_EMALFORMED : proto_ops_decode(r, true, c->cb, c->user);
	if (kt_mp_str_eq(k, kl, "cursor"))
		return proto_seen(&c->seen, 1) ? KT_EMALFORMED : proto_read_bin(r, &c->cursor, KT_MAX_CURSOR);
	return KT_ENOT_FOUND;
}

int proto_changes_decode(const void *buf, size_t len, kt_op_cb cb, void *user, kt_str *cursor)
{
	struct ctx c = {cb, user, {NULL, 0}, 0};
	int rc;
	if ((rc = proto_walk(buf, len, key, &c)))
		return rc;
	if (c.seen != 3)
		return KT_EMALFORMED;
	if (cursor)
		*cursor = c.cursor;
	return KT_OK;
}
