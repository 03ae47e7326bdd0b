/* web.h - the web app over plain HTTP GET/HEAD on the WebSocket listener. */
#ifndef KT_NET_WEB_H
#define KT_NET_WEB_H
#include <libwebsockets.h>
#include "server.h"

/* One HTTP connection's answer in flight (the listener's per-connection
 * user data for HTTP). */
typedef struct kt_web_out {
	const unsigned char *body;
	size_t len, sent;
	unsigned char *owned; /* body read from --web-root, freed when done */
	/* POST /l/TOKEN (RFC 8058 one-click unsubscribe): the request body */
	bool posting, too_long;
	char token[24];
	char body_in[KT_LINK_POST_BODY + 1];
	size_t body_len;
} kt_web_out;

/* LWS_CALLBACK_HTTP: answer the request for `path` (headers now, the body
 * when writeable). Returns what the callback returns. */
int web_http(kt_server *srv, struct lws *wsi, kt_web_out *out, const char *path);
/* LWS_CALLBACK_HTTP_BODY and LWS_CALLBACK_HTTP_BODY_COMPLETION of a POST
 * web_http accepted (POST /l/TOKEN). Return what the callback returns. */
int web_body(struct lws *wsi, kt_web_out *out, const void *in, size_t len);
int web_body_done(kt_server *srv, struct lws *wsi, kt_web_out *out);
/* LWS_CALLBACK_HTTP_WRITEABLE */
int web_writeable(struct lws *wsi, kt_web_out *out);
/* LWS_CALLBACK_HTTP_DROP_PROTOCOL / CLOSED_HTTP */
void web_done(kt_web_out *out);
/* Whether DIR can be served (for serve --web-root): 0, or a message. */
const char *web_root_check(const char *dir);

#endif
