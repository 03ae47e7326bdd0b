/* msg_synced.c - synced {t, cursor: bin}: the device is caught up. */
#include "proto_internal.h"

void proto_synced_encode(kt_mpw *w, const kt_cursor_msg *m)
{
	proto_cursor_msg_encode(w, "synced", m);
}

int proto_synced_decode(const void *buf, size_t len, kt_cursor_msg *m)
{
	return proto_cursor_msg_decode(buf, len, m, true);
}
