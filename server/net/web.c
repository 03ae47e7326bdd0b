/* web.c - the web app over HTTP on the same listener as the WebSocket.
 * GET and HEAD of the app's files (built into the binary, or from
 * --web-root during development), the app's page for its own routes
 * (also /l/TOKEN, a one-purpose link's page), 404 for the rest, 405 for
 * other methods; and one POST: /l/TOKEN with List-Unsubscribe=One-Click
 * (RFC 8058), which a mail client sends for an unsubscribe link. Every
 * answer carries the strict security headers; the body is written from
 * memory in pieces when the socket is writeable. Never logs a path: a
 * link's token is in it. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include "domain/feedback.h"
#include "handlers/handlers.h"
#include "kt_metrics.h"
#include "net/client_addr.h"
#include "net/http_out.h"
#include "net/ops_http.h"
#include "net/web.h"
#include "net/web_assets.h"

/* No inline script or style, nothing from other origins, no framing;
 * connect-src 'self' covers ws(s):// to this host in current browsers. */
#define CSP                                                                                                  \
	"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " \
	"manifest-src 'self'; worker-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "    \
	"frame-ancestors 'none'"
#define WEB_FILE_MAX (8u << 20) /* a file under --web-root larger than this is not served */
#define WEB_CHUNK 16384

/* the app routes (history.pushState paths) answered with index.html */
static const char *const app_routes[] = {"/", "/setup", "/confirm-email", "/signin", "/privacy", "/account"};

static const struct {
	const char *ext, *type;
} types[] = {
	{".html", "text/html; charset=utf-8"},
	{".js", "text/javascript; charset=utf-8"},
	{".mjs", "text/javascript; charset=utf-8"},
	{".css", "text/css; charset=utf-8"},
	{".svg", "image/svg+xml"},
	{".json", "application/json"},
	{".webmanifest", "application/manifest+json"},
	{".txt", "text/plain; charset=utf-8"},
	{".png", "image/png"},
	{".ico", "image/x-icon"},
	{".woff2", "font/woff2"},
};

static const char *type_of(const char *path)
{
	const char *dot = strrchr(path, '.');
	if (!dot || strchr(dot, '/'))
		return NULL;
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		if (!strcmp(dot, types[i].ext))
			return types[i].type;
	return NULL;
}

/* Paths we look up: "/" then segments of [A-Za-z0-9._-], none starting
 * with a dot (no "..", no hidden files), no empty segment. */
static bool path_ok(const char *p)
{
	size_t n = strlen(p);
	if (n == 0 || n > 255 || p[0] != '/')
		return false;
	for (size_t i = 1; i < n; i++) {
		char c = p[i];
		if (c == '/') {
			if (p[i - 1] == '/')
				return false;
			continue;
		}
		if (c == '.' && p[i - 1] == '/')
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* The staff screens: /desk and one word below it (/desk/book, /desk/client, ...). */
static bool is_desk_route(const char *p)
{
	if (strncmp(p, "/desk", 5))
		return false;
	if (!p[5])
		return true;
	if (p[5] != '/' || !p[6])
		return false;
	for (const char *c = p + 6; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || *c == '-'))
			return false;
	return true;
}

/* A one-purpose link: /l/ and a token (links.h: 22 characters of base64url). */
static bool is_link_route(const char *p)
{
	if (strncmp(p, "/l/", 3) || strlen(p + 3) != KT_LINK_TOKEN_CHARS)
		return false;
	for (const char *c = p + 3; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '-' ||
		      *c == '_'))
			return false;
	return true;
}

static bool is_app_route(const char *p)
{
	if (is_desk_route(p) || is_link_route(p))
		return true;
	for (size_t i = 0; i < sizeof app_routes / sizeof app_routes[0]; i++)
		if (!strcmp(p, app_routes[i]))
			return true;
	return false;
}

static const kt_web_asset *builtin(const char *path)
{
	for (size_t i = 0; i < kt_web_asset_count; i++)
		if (!strcmp(kt_web_assets[i].path, path))
			return &kt_web_assets[i];
	return NULL;
}

/* ---- --web-root: the same files read from disk at each request ---- */

static bool skipped_dir(const char *name)
{
	return name[0] == '.' || !strcmp(name, "tests") || !strcmp(name, "node_modules");
}

/* Read ROOT/PATH whole (a regular file, no symlink at its last step). */
static unsigned char *read_under(const char *root, const char *path, size_t *len)
{
	char full[PATH_MAX];
	struct stat st;
	if (snprintf(full, sizeof full, "%s%s", root, path) >= (int)sizeof full)
		return NULL;
	for (const char *s = path + 1, *e; (e = strchr(s, '/')); s = e + 1) { /* same folders as built in */
		char seg[NAME_MAX + 1];
		if ((size_t)(e - s) > NAME_MAX)
			return NULL;
		memcpy(seg, s, (size_t)(e - s));
		seg[e - s] = 0;
		if (skipped_dir(seg))
			return NULL;
	}
	int fd = open(full, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return NULL;
	unsigned char *buf = NULL;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size <= WEB_FILE_MAX &&
	    (buf = malloc(st.st_size ? (size_t)st.st_size : 1))) {
		size_t got = 0;
		while (got < (size_t)st.st_size) {
			ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
			if (r <= 0)
				break;
			got += (size_t)r;
		}
		if (got != (size_t)st.st_size) {
			free(buf);
			buf = NULL;
		}
		*len = got;
	}
	close(fd);
	return buf;
}

static void hex_digest(const unsigned char *data, size_t len, char out[33])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, data, len);
	sodium_bin2hex(out, 33, h, 16);
}

/* /asset-manifest.json for --web-root, made the way the build makes it:
 * every served file under the root with its sha256 and a version over all. */
static struct {
	const char *root;
	size_t root_len;
	char *json;
	size_t len, cap;
	crypto_hash_sha256_state all;
	bool first;
} mf;

static void mf_add(const char *s)
{
	size_t n = strlen(s);
	if (mf.len + n + 1 > mf.cap) {
		size_t cap = (mf.cap ? mf.cap : 4096) * 2 + n;
		char *p = realloc(mf.json, cap);
		if (!p)
			return;
		mf.json = p;
		mf.cap = cap;
	}
	memcpy(mf.json + mf.len, s, n + 1);
	mf.len += n;
}

static int mf_visit(const char *fpath, const struct stat *st, int flag, struct FTW *ftw)
{
	const char *base = fpath + ftw->base;
	if (flag == FTW_D && ftw->level > 0 && skipped_dir(base))
		return FTW_SKIP_SUBTREE;
	if (flag != FTW_F || !S_ISREG(st->st_mode) || base[0] == '.' || !type_of(base))
		return FTW_CONTINUE;
	const char *url = fpath + mf.root_len;
	size_t len;
	unsigned char *data = read_under(mf.root, url, &len);
	if (!data)
		return FTW_CONTINUE;
	unsigned char h[crypto_hash_sha256_BYTES];
	char hex[2 * crypto_hash_sha256_BYTES + 1], line[PATH_MAX + 100];
	crypto_hash_sha256(h, data, len);
	free(data);
	sodium_bin2hex(hex, sizeof hex, h, sizeof h);
	snprintf(line, sizeof line, "%s\n  \"%s\": \"%s\"", mf.first ? "" : ",", url, hex);
	mf.first = false;
	mf_add(line);
	snprintf(line, sizeof line, "%s %s\n", url, hex);
	crypto_hash_sha256_update(&mf.all, (const unsigned char *)line, strlen(line));
	return FTW_CONTINUE;
}

/* nftw visits in directory order: the version differs from the built one
 * (it is only compared with itself) but changes whenever a file does. */
static unsigned char *disk_manifest(const char *root, size_t *len)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	char ver[33], tail[96];
	memset(&mf, 0, sizeof mf);
	mf.root = root;
	mf.root_len = strlen(root);
	mf.first = true;
	crypto_hash_sha256_init(&mf.all);
	mf_add("{\"files\": {");
	nftw(root, mf_visit, 16, FTW_PHYS | FTW_ACTIONRETVAL);
	crypto_hash_sha256_final(&mf.all, h);
	sodium_bin2hex(ver, sizeof ver, h, 8);
	snprintf(tail, sizeof tail, "\n }, \"version\": \"%s\"}\n", ver);
	mf_add(tail);
	*len = mf.json ? mf.len : 0;
	return (unsigned char *)mf.json;
}

const char *web_root_check(const char *dir)
{
	struct stat st;
	if (stat(dir, &st))
		return strerror(errno);
	if (!S_ISDIR(st.st_mode))
		return "not a folder";
	char idx[PATH_MAX];
	snprintf(idx, sizeof idx, "%s/index.html", dir);
	if (access(idx, R_OK))
		return "no readable index.html in it";
	return NULL;
}

/* ---- answers ---- */

static int add_header(struct lws *wsi, const char *name, const char *value, unsigned char **p, unsigned char *end)
{
	return lws_add_http_header_by_name(wsi, (const unsigned char *)name, (const unsigned char *)value,
					   (int)strlen(value), p, end);
}

/* The headers every answer carries, whatever its status. */
static int security_headers(kt_server *srv, struct lws *wsi, unsigned char **p, unsigned char *end)
{
	if (add_header(wsi, "content-security-policy:", CSP, p, end) ||
	    add_header(wsi, "x-content-type-options:", "nosniff", p, end) ||
	    add_header(wsi, "referrer-policy:", "no-referrer", p, end) ||
	    add_header(wsi, "x-frame-options:", "DENY", p, end) ||
	    add_header(wsi, "cross-origin-opener-policy:", "same-origin", p, end))
		return -1;
	if (srv->tls && add_header(wsi, "strict-transport-security:", "max-age=31536000", p, end))
		return -1;
	return 0;
}

static int answer_status(kt_server *srv, struct lws *wsi, unsigned int code, const char *text)
{
	unsigned char buf[LWS_PRE + 2048], *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;
	size_t n = strlen(text);
	kt_metric_inc(KT_M_HTTP_REQUESTS, kt_metric_http_slot(code));
	if (lws_add_http_common_headers(wsi, code, "text/plain; charset=utf-8", n, &p, end) ||
	    security_headers(srv, wsi, &p, end) ||
	    (code == HTTP_STATUS_METHOD_NOT_ALLOWED && add_header(wsi, "allow:", "GET, HEAD", &p, end)) ||
	    lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	if (lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI) == 0) {
		unsigned char body[LWS_PRE + 256];
		if (n > sizeof body - LWS_PRE)
			n = sizeof body - LWS_PRE;
		memcpy(body + LWS_PRE, text, n);
		if (lws_write(wsi, body + LWS_PRE, n, LWS_WRITE_HTTP_FINAL) != (int)n)
			return -1;
	}
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static bool header_has(struct lws *wsi, enum lws_token_indexes tok, const char *want)
{
	char v[512];
	if (lws_hdr_copy(wsi, v, sizeof v, tok) <= 0)
		return false;
	for (char *save = NULL, *t = strtok_r(v, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		while (*t == ' ' || *t == '\t')
			t++;
		size_t n = strcspn(t, " \t;");
		if (n == strlen(want) && !strncasecmp(t, want, n)) {
			const char *q = strstr(t + n, "q=0");
			if (q && !strpbrk(q + 3, "123456789"))
				return false; /* "gzip;q=0": not acceptable */
			return true;
		}
		if (!strcmp(want, "*") && n == 1 && *t == '*')
			return true;
	}
	return false;
}

/* GET /api/reviews/LOCATION_ID: a branch's shown reviews as JSON for the
 * salon's own website (feedback.c builds it: first name and initial only
 * with the client's consent, no ids). Any origin may read it; caches may
 * keep it a minute. An index lookup and at most FEEDBACK_FEED_MAX rows. */
static int answer_reviews(kt_server *srv, struct lws *wsi, kt_web_out *out, const char *id, bool head)
{
	char *json = NULL;
	int rc = feedback_public_json(srv->st, id, &json);
	if (rc == KT_ENOT_FOUND)
		return answer_status(srv, wsi, HTTP_STATUS_NOT_FOUND, "no such location\n");
	if (rc)
		return answer_status(srv, wsi, HTTP_STATUS_SERVICE_UNAVAILABLE, "try again\n");
	size_t len = strlen(json);
	kt_metric_inc(KT_M_HTTP_REQUESTS, kt_metric_http_slot(HTTP_STATUS_OK));
	unsigned char buf[LWS_PRE + 2048], *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;
	if (lws_add_http_common_headers(wsi, HTTP_STATUS_OK, "application/json; charset=utf-8", len, &p, end) ||
	    security_headers(srv, wsi, &p, end) || add_header(wsi, "access-control-allow-origin:", "*", &p, end) ||
	    add_header(wsi, "cache-control:", "max-age=60", &p, end) ||
	    lws_finalize_write_http_header(wsi, start, &p, end)) {
		free(json);
		return -1;
	}
	return http_out_body(wsi, out, head, (unsigned char *)json, len);
}

/* ---- POST /l/TOKEN: RFC 8058 one-click unsubscribe ---- */

/* The request is taken when it names a link and says how long its body is
 * (within KT_LINK_POST_BODY); the body comes in web_body. */
static int post_begin(kt_server *srv, struct lws *wsi, kt_web_out *out, const char *path)
{
	char cl[24];
	if (!path || !path_ok(path) || !is_link_route(path)) /* the rest of the site is GET and HEAD only */
		return answer_status(srv, wsi, HTTP_STATUS_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
	if (lws_hdr_copy(wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0 || atol(cl) <= 0) {
		/* a body of unknown length (chunked) is not read: hang up after the answer */
		answer_status(srv, wsi, HTTP_STATUS_BAD_REQUEST, "the body must be List-Unsubscribe=One-Click\n");
		return -1;
	}
	if (atol(cl) > KT_LINK_POST_BODY) {
		answer_status(srv, wsi, HTTP_STATUS_REQ_ENTITY_TOO_LARGE, "the body must be List-Unsubscribe=One-Click\n");
		return -1; /* not read: hang up */
	}
	out->posting = true;
	snprintf(out->token, sizeof out->token, "%s", path + 3);
	return 0;
}

int web_body(struct lws *wsi, kt_web_out *out, const void *in, size_t len)
{
	(void)wsi;
	if (!out->posting)
		return -1;
	if (len > sizeof out->body_in - 1 - out->body_len) {
		out->too_long = true;
		return 0;
	}
	memcpy(out->body_in + out->body_len, in, len);
	out->body_len += len;
	out->body_in[out->body_len] = 0;
	return 0;
}

/* RFC 8058: the body is the form field List-Unsubscribe=One-Click, as
 * application/x-www-form-urlencoded or multipart/form-data. */
static bool one_click_body(struct lws *wsi, const char *b, size_t len)
{
	char type[128] = "";
	if (memchr(b, 0, len))
		return false;
	lws_hdr_copy(wsi, type, sizeof type, WSI_TOKEN_HTTP_CONTENT_TYPE);
	if (!strncasecmp(type, "multipart/form-data", 19)) {
		const char *n = strstr(b, "name=\"List-Unsubscribe\"");
		const char *v = n ? strstr(n, "\r\n\r\n") : NULL;
		return v && !strncmp(v + 4, "One-Click", 9) && (!v[13] || v[13] == '\r');
	}
	if (type[0] && strncasecmp(type, "application/x-www-form-urlencoded", 33))
		return false;
	size_t n = len;
	while (n && (b[n - 1] == '\r' || b[n - 1] == '\n'))
		n--;
	for (const char *p = b, *e; p < b + n; p = e + 1) {
		e = memchr(p, '&', (size_t)(b + n - p));
		if (!e)
			e = b + n;
		if (e - p == 26 && !memcmp(p, "List-Unsubscribe=One-Click", 26))
			return true;
	}
	return false;
}

/* The address this request counts as (client_addr.h), as sessions do. */
static void request_addr(struct lws *wsi, char out[KT_ADDR_TEXT])
{
	char peer[64] = "", h[256] = "";
	enum lws_token_indexes tok =
		client_addr_header() == KT_PROXY_XFF ? WSI_TOKEN_X_FORWARDED_FOR : WSI_TOKEN_HTTP_X_REAL_IP;
	lws_get_peer_simple(wsi, peer, sizeof peer);
	bool hdr = client_addr_is_trusted(peer) && lws_hdr_copy(wsi, h, sizeof h, tok) > 0;
	client_addr_pick(peer, hdr ? h : NULL, out);
}

int web_body_done(kt_server *srv, struct lws *wsi, kt_web_out *out)
{
	char addr[KT_ADDR_TEXT];
	int64_t retry = 0;
	int rc;
	if (!out->posting)
		return -1;
	out->posting = false;
	if (out->too_long)
		return answer_status(srv, wsi, HTTP_STATUS_REQ_ENTITY_TOO_LARGE, "the body must be List-Unsubscribe=One-Click\n");
	if (!one_click_body(wsi, out->body_in, out->body_len))
		return answer_status(srv, wsi, HTTP_STATUS_BAD_REQUEST, "the body must be List-Unsubscribe=One-Click\n");
	request_addr(wsi, addr);
	rc = link_one_click(srv, addr, out->token, &retry);
	sodium_memzero(out->token, sizeof out->token);
	if (rc == KT_OK)
		return answer_status(srv, wsi, HTTP_STATUS_OK, "unsubscribed\n");
	if (rc == KT_ETOKEN_INVALID)
		return answer_status(srv, wsi, HTTP_STATUS_NOT_FOUND, "not found\n");
	if (rc == KT_ETOKEN_EXPIRED)
		return answer_status(srv, wsi, HTTP_STATUS_GONE, "this link has expired\n");
	if (rc == KT_ERATE_LIMITED)
		return answer_status(srv, wsi, 429, "too many requests; retry later\n");
	return answer_status(srv, wsi, HTTP_STATUS_SERVICE_UNAVAILABLE, "not recorded; retry later\n");
}

int web_http(kt_server *srv, struct lws *wsi, kt_web_out *out, const char *path)
{
	memset(out, 0, sizeof *out);
	if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0)
		return post_begin(srv, wsi, out, path);
	bool head = lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI) > 0;
	if (!head && lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0)
		return answer_status(srv, wsi, HTTP_STATUS_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
	if (!path || !path_ok(path))
		return answer_status(srv, wsi, HTTP_STATUS_NOT_FOUND, "not found\n");
	if (ops_http_path(path)) /* health and metrics (net/ops_http.c) */
		return ops_http(srv, wsi, out, path, head, security_headers);
	if (!strncmp(path, "/api/reviews/", 13))
		return answer_reviews(srv, wsi, out, path + 13, head);

	const char *file = is_app_route(path) ? "/index.html" : path;
	const char *type = type_of(file);
	const kt_web_asset *a = NULL;
	const unsigned char *body;
	size_t len;
	char etag[48], disk_tag[33];
	bool gz = false;

	if (!type)
		return answer_status(srv, wsi, HTTP_STATUS_NOT_FOUND, "not found\n");
	if (srv->web_root && strcmp(file, "/common-passwords.txt")) {
		out->owned = !strcmp(file, "/asset-manifest.json") ? disk_manifest(srv->web_root, &len)
								   : read_under(srv->web_root, file, &len);
		if (!out->owned)
			return answer_status(srv, wsi, HTTP_STATUS_NOT_FOUND, "not found\n");
		body = out->owned;
		hex_digest(body, len, disk_tag);
		snprintf(etag, sizeof etag, "\"%s\"", disk_tag);
	} else {
		if (!(a = builtin(file)))
			return answer_status(srv, wsi, HTTP_STATUS_NOT_FOUND, "not found\n");
		gz = a->gz && header_has(wsi, WSI_TOKEN_HTTP_ACCEPT_ENCODING, "gzip");
		body = gz ? a->gz : a->raw;
		len = gz ? a->gz_len : a->raw_len;
		type = a->type;
		/* the gzip form is another representation: another tag */
		snprintf(etag, sizeof etag, "\"%s%s\"", a->etag, gz ? "-gz" : "");
	}

	char inm[128];
	bool fresh = lws_hdr_copy(wsi, inm, sizeof inm, WSI_TOKEN_HTTP_IF_NONE_MATCH) > 0 && strstr(inm, etag);
	unsigned char buf[LWS_PRE + 2048], *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;
	kt_metric_inc(KT_M_HTTP_REQUESTS, kt_metric_http_slot(fresh ? HTTP_STATUS_NOT_MODIFIED : HTTP_STATUS_OK));
	if (lws_add_http_common_headers(wsi, fresh ? HTTP_STATUS_NOT_MODIFIED : HTTP_STATUS_OK, type,
					len, &p, end) || /* a 304 names the length it would have sent */
	    security_headers(srv, wsi, &p, end) || add_header(wsi, "etag:", etag, &p, end) ||
	    /* revalidate every time: the tag makes that a 304 when nothing changed */
	    add_header(wsi, "cache-control:", "no-cache", &p, end) ||
	    (a && a->gz && add_header(wsi, "vary:", "Accept-Encoding", &p, end)) ||
	    (gz && add_header(wsi, "content-encoding:", "gzip", &p, end)) ||
	    (!strcmp(file, "/sw.js") && add_header(wsi, "service-worker-allowed:", "/", &p, end)) ||
	    lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	if (fresh || head || len == 0) {
		web_done(out);
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	}
	out->body = body;
	out->len = len;
	lws_callback_on_writable(wsi);
	return 0;
}

int web_writeable(struct lws *wsi, kt_web_out *out)
{
	unsigned char buf[LWS_PRE + WEB_CHUNK];
	if (!out->body)
		return 0;
	size_t n = out->len - out->sent;
	if (n > WEB_CHUNK)
		n = WEB_CHUNK;
	bool last = out->sent + n == out->len;
	memcpy(buf + LWS_PRE, out->body + out->sent, n);
	if (lws_write(wsi, buf + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int)n)
		return -1;
	out->sent += n;
	if (!last) {
		lws_callback_on_writable(wsi);
		return 0;
	}
	web_done(out);
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

void web_done(kt_web_out *out)
{
	free(out->owned);
	out->owned = NULL;
	out->body = NULL;
	out->len = out->sent = 0;
}
