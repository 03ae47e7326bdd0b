/* http_out.h - the body half of an HTTP answer, shared by web.c and
 * ops_http.c (each writes its own headers first). */
#ifndef KT_NET_HTTP_OUT_H
#define KT_NET_HTTP_OUT_H
#include <stdbool.h>
#include <stddef.h>
#include <libwebsockets.h>
#include "net/web.h"

/* After the headers went out: a HEAD request or an empty body ends the
 * transaction here (body freed); otherwise out owns body and sends it when
 * the connection is writeable. Returns what the lws callback returns. */
int http_out_body(struct lws *wsi, kt_web_out *out, bool head, unsigned char *body, size_t len);

#endif
