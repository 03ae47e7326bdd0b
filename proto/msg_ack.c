/* msg_ack.c - ack {t, cursor: bin}: the cursor is required. */
#include "proto_internal.h"

void proto_ack_encode(kt_mpw *w, const kt_cursor_msg *m)
{
	proto_cursor_msg_encode(w, "ack", m);
}

int proto_ack_decode(const void *buf, size_t len, kt_cursor_msg *m)
{
	return proto_cursor_msg_decode(buf, len, m, true);
}
