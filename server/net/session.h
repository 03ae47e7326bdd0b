/* session.h - one device connection's state machine: inbound messages in, frames
 * out (conn.h is what the layers below use to answer). */
#ifndef KT_SESSION_H
#define KT_SESSION_H

#include "server.h"

kt_session *session_new(kt_server *srv, struct lws *wsi);
void session_free(kt_session *s);
/* Handle one complete inbound message. Returns -1 when the connection must close now. */
int session_on_message(kt_session *s, const unsigned char *buf, size_t len);
/* Write at most one frame. Returns -1 to close the connection. */
int session_on_writeable(kt_session *s);
void session_send_now(kt_session *s); /* a woken session: write now if nothing waits before */
/* session_send_now for each of r[0..n-1] (the sessions a commit woke),
 * their sends shared with srv->sendpool's threads; inside the caller's
 * durable read. */
void session_send_woken(kt_server *srv, kt_session **r, int n);

#endif
