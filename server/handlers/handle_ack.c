/* handle_ack.c - a device says it has durably applied up to a cursor. */
#include "server.h"
#include "write/writer.h"
#include "sync/cursor.h"
#include "handlers/handlers.h"
#include "conn/conn.h"

int handle_ack(kt_session *s, const unsigned char *buf, size_t len)
{
	kt_cursor_msg m;
	int64_t seq;
	int rc = proto_ack_decode(buf, len, &m);

	if (rc == KT_ETOO_LARGE) { /* longer than any cursor we issue */
		session_error(s, KT_EBAD_CURSOR, "cursor over 128 bytes", "ack", false);
		return 0;
	}
	if (rc || !m.has_cursor) {
		session_error(s, rc ? rc : KT_EMALFORMED, "ack needs a cursor (bin)", "ack", false);
		return 0;
	}
	if (cursor_check(s->srv, s, m.cursor.s, m.cursor.len, &seq)) {
		session_error(s, KT_EBAD_CURSOR, "ack cursor refused", "ack", false);
		return 0;
	}
	writer_note_ack(s->srv, s->device, seq); /* written with the next group commit */
	return 0;
}
