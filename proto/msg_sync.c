/* msg_sync.c - sync {t, cursor: bin | nil}: nil (or absent) asks for a snapshot. */
#include "proto_internal.h"

void proto_sync_encode(kt_mpw *w, const kt_cursor_msg *m)
{
	proto_cursor_msg_encode(w, "sync", m);
}

int proto_sync_decode(const void *buf, size_t len, kt_cursor_msg *m)
{
	return proto_cursor_msg_decode(buf, len, m, false);
}
