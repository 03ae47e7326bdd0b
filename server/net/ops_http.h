/* ops_http.h - health and metrics for operators on the device listener:
 * GET /healthz, GET /readyz (no data in them, no guard) and GET /metrics
 * (Prometheus text format 0.0.4, behind a bearer token or an address
 * allow-list). docs/readme-metrics.md says what each answers. */
#ifndef KT_NET_OPS_HTTP_H
#define KT_NET_OPS_HTTP_H

#include <stdbool.h>
#include "net/web.h"
#include "server.h"

#define KT_METRICS_ALLOW_MAX 32 /* metrics_allow entries */
#define KT_METRICS_TOKEN_MIN 16 /* characters of a metrics_token */
#define KT_METRICS_TOKEN_MAX 256
#define KT_WRITER_STALL_S 10 /* /healthz: no writer heartbeat for this long is a failure */

/* Config keys metrics_token (a bearer token, 16-256 printable characters
 * without blanks) and metrics_allow (addresses or ADDR/PREFIX, IPv4 or
 * IPv6, comma-separated; a later line replaces an earlier one; "none"
 * empties it): 0 set, 1 not ours, -1 bad value (*why, a static string). */
int ops_http_config_set(const char *k, const char *v, const char **why);
/* Back to the defaults: no token, no list (tests, a reload). */
void ops_http_config_reset(void);

/* Whether PATH is one of ours (/healthz, /readyz, /metrics). */
bool ops_http_path(const char *path);
/* The headers every HTTP answer carries (web.c's: CSP, nosniff, no
 * framing, HSTS under TLS), added at *p: 0, or -1 when they do not fit.
 * Passed in rather than called, so that web.c calls us and not the
 * other way round as well (tests/check_layers.py: no circles). */
typedef int (*kt_http_headers_fn)(kt_server *srv, struct lws *wsi, unsigned char **p, unsigned char *end);
/* Answer GET or HEAD of such a path (web_http's LWS_CALLBACK_HTTP): the
 * headers now, the body through out when writeable (web_writeable).
 * Returns what the callback returns. Loop thread. */
int ops_http(kt_server *srv, struct lws *wsi, kt_web_out *out, const char *path, bool head,
	     kt_http_headers_fn headers);

/* The guard of /metrics, apart from lws (unit tests): peer is the socket
 * peer's address text; forwarded: the request carries a proxy's
 * forwarding header; auth: the Authorization header or NULL. 0 allowed,
 * else the HTTP status (401, 403) with *why the one-line reason. */
int ops_http_metrics_guard(const char *peer, bool forwarded, const char *auth, const char **why);

#endif
