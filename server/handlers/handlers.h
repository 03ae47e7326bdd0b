/* handlers.h - one handler per inbound message (the dispatch table's targets), and
 * what the loop hands back to them. */
#ifndef KT_HANDLERS_H
#define KT_HANDLERS_H

#include "server.h"

int handle_hello(kt_session *s, const unsigned char *buf, size_t len);
int handle_login(kt_session *s, const unsigned char *buf, size_t len);
int handle_resume(kt_session *s, const unsigned char *buf, size_t len);
int handle_sync(kt_session *s, const unsigned char *buf, size_t len);
int handle_ack(kt_session *s, const unsigned char *buf, size_t len);
int handle_push(kt_session *s, const unsigned char *buf, size_t len);
int handle_audit_query(kt_session *s, const unsigned char *buf, size_t len);
int handle_logout(kt_session *s, const unsigned char *buf, size_t len);
int handle_manage(kt_session *s, const unsigned char *buf, size_t len);
/* The manage ops of reviews and statistics (handle_feedback.c): true when
 * op is one of them (answered), false to leave the message to others. */
bool handle_feedback_manage(kt_session *s, const unsigned char *buf, size_t len, const kt_str *op);
/* The message ops of manage (handle_messages.c): true when m's op is one
 * of them (it was answered), false to go on with the other ops. */
bool handle_message_op(kt_session *s, const kt_manage *m, const unsigned char *buf, size_t len);
int handle_privacy(kt_session *s, const unsigned char *buf, size_t len); /* handle_privacy.c */

int portal_start(kt_server *srv); /* the password worker and the mail worker */
void portal_stop(kt_server *srv);
void portal_deliver(kt_server *srv); /* loop thread: answer finished password jobs */
int handle_portal_invite(kt_session *s, const unsigned char *buf, size_t len);
int handle_portal_forgot(kt_session *s, const unsigned char *buf, size_t len);
int handle_portal_set_password(kt_session *s, const unsigned char *buf, size_t len);
int handle_portal_confirm_email(kt_session *s, const unsigned char *buf, size_t len);
int handle_change_password(kt_session *s, const unsigned char *buf, size_t len);

/* one-purpose links (handle_link.c): the message `link` before sign-in,
 * and the RFC 8058 one-click unsubscribe POST (web.c) from client address
 * addr: KT_OK, KT_ETOKEN_INVALID (also a link of another kind),
 * KT_ETOKEN_EXPIRED, KT_ERATE_LIMITED (*retry_ms), or another error. */
int handle_link(kt_session *s, const unsigned char *buf, size_t len);
int link_one_click(kt_server *srv, const char *addr, const char *token, int64_t *retry_ms);

#endif
