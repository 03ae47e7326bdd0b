/* conn.h - answering a device: build a frame, queue it, queue an error, ask for
 * a write, find a session by id, the sign-in deadline queue. */
#ifndef KT_CONN_H
#define KT_CONN_H

#include "server.h"

/* The sign-in deadline queue (every connection gets KT_AUTH_DEADLINE_MS). */
void conn_deadline_join(kt_session *s);
void conn_deadline_leave(kt_session *s);
void session_deadlines_stop(kt_server *srv); /* at shutdown */

kt_session *session_find(kt_server *srv, uint64_t id); /* NULL when gone */
/* Queue a control message packed in srv->frame (after LWS_PRE). */
int session_queue_frame(kt_session *s, bool fatal);
/* Queue an error message; fatal ones close the connection once written. */
void session_error(kt_session *s, int code, const char *msg, const char *re, bool fatal);
/* The same with a retry hint (retry_after_ms on the wire; 0 = none). */
void session_error_retry(kt_session *s, int code, const char *msg, const char *re, bool fatal, int64_t retry_ms);
void session_want_write(kt_session *s);
/* This thread's log lines carry s's session, device and principal ids until
 * kt_log_ctx_restore(saved) (saved: the context before; may be NULL). */
void session_log_ctx(const kt_session *s, kt_log_ctx *saved);
/* Start the frame writer: srv->frame gets LWS_PRE bytes of headroom. */
void frame_begin(kt_server *srv);
/* A session whose send waited for a failed WAL sync to be redone goes on. */
void session_durable_resume(kt_server *srv);

/* A refused sign-in answered late (tarpit.c). */
void login_tarpit(kt_session *s, int code);

#endif
