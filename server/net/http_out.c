/* http_out.c - see http_out.h. */
#include <stdlib.h>
#include "net/http_out.h"

int http_out_body(struct lws *wsi, kt_web_out *out, bool head, unsigned char *body, size_t len)
{
	if (head || len == 0) {
		free(body);
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	}
	out->owned = body;
	out->body = out->owned;
	out->len = len;
	lws_callback_on_writable(wsi);
	return 0;
}
