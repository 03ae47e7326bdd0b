/* handle_sync.c - start streaming: from a verified cursor, or a snapshot. */
#include "server.h"
#include "write/writer.h"
#include "sync/cursor.h"
#include "sync/sync.h"
#include "handlers/handlers.h"
#include "conn/conn.h"

int handle_sync(kt_session *s, const unsigned char *buf, size_t len)
{
	kt_cursor_msg m;
	int64_t seq;
	int rc = proto_sync_decode(buf, len, &m);

	if (rc == KT_ETOO_LARGE) {
		/* longer than any cursor we issue: a damaged copy on the device,
		 * which a snapshot repairs, like any other cursor we cannot verify */
		session_error(s, KT_EBAD_CURSOR, "cursor over 128 bytes", "sync", false);
		sync_start_snapshot(s);
		return 0;
	}
	if (rc) {
		session_error(s, rc, "sync takes a cursor (bin) or nil", "sync", false);
		return 0;
	}
	if (m.has_cursor) {
		if (cursor_check(s->srv, s, m.cursor.s, m.cursor.len, &seq) == KT_OK) {
			/* a device resumes from what it has durably applied: the
			 * cursor is an ack too (an ack owed when the link dropped
			 * is not lost, and with it an erasure's purge receipt) */
			writer_note_ack(s->srv, s->device, seq);
			sync_start_stream(s, seq);
			return 0;
		}
		session_error(s, KT_EBAD_CURSOR, NULL, "sync", false);
	}
	sync_start_snapshot(s);
	return 0;
}
