/* sync.h - outbound data: snapshots, the change stream, rights differences. */
#ifndef KT_SYNC_H
#define KT_SYNC_H

#include "server.h"

/* Build the next data frame for s into srv->frame; *have = false when there
 * is nothing to send now. */
int sync_next_frame(kt_session *s, bool *have);
bool sync_has_more(const kt_session *s);
/* What sync_next_frame made, to write: srv->frame's message, or the bytes
 * its session's audience shares (with this session's cursor in them), then
 * *raw: whole WebSocket frames (one message or two) to write as they are.
 * Valid until the next sync_next_frame; LWS_PRE bytes of headroom before. */
const unsigned char *sync_frame_data(kt_server *srv, size_t *len, bool *raw); /* would sync_next_frame have a frame now? */
/* One whole WebSocket frame of a raw frame run (sync_frame_data with *raw)
 * at b (len bytes left): its payload's length, and the header's length as
 * the return value; 0 when b holds no whole frame. */
size_t sync_ws_frame(const unsigned char *b, size_t len, size_t *payload);
void sync_start_snapshot(kt_session *s);
/* Free the fan-out's shared row cache (at shutdown; it renews itself). */
void sync_rowcache_clear(kt_server *srv);
void sync_session_free(kt_session *s); /* what a rights diff holds */
void sync_start_stream(kt_session *s, int64_t from_seq);


/* The session's rights changed (np, taken over): s->principal becomes np
 * at once; the device's data follows through a rights diff or a new
 * snapshot when the stream meets the change. */
void sync_rights_moved(kt_session *s, kt_principal *np);

#endif
