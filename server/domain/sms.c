/* sms.c - see sms.h. libcurl does HTTP; jansson escapes the values; this
 * file only fills the template and reads the status code. */
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>
#include "domain/sms.h"

#define SMS_CONNECT_MS 10000L
#define SMS_TIMEOUT_MS 30000L

struct kt_sms {
	const kt_portal_config *cfg;
	CURL *c; /* kept between messages: the gateway's connection is reused */
	struct curl_slist *headers;
	int (*abort_cb)(void *user);
	void *user;
};

bool sms_e164(const char *s)
{
	size_t n = 0;
	if (!s || *s++ != '+' || *s == '0')
		return false;
	for (; *s; s++, n++)
		if (*s < '0' || *s > '9')
			return false;
	return n >= 8 && n <= 15;
}

/* value as the inside of a JSON string: jansson encodes the string, we
 * take off its quotes */
static char *json_inside(const char *v)
{
	json_t *j = json_string(v ? v : ""); /* NULL for invalid UTF-8 */
	char *enc, *out;
	size_t n;
	if (!j)
		return NULL;
	enc = json_dumps(j, JSON_ENCODE_ANY | JSON_ESCAPE_SLASH);
	json_decref(j);
	if (!enc)
		return NULL;
	n = strlen(enc);
	if (n < 2 || !(out = malloc(n - 1))) {
		free(enc);
		return NULL;
	}
	memcpy(out, enc + 1, n - 2);
	out[n - 2] = 0;
	free(enc);
	return out;
}

char *sms_body(const char *tmpl, const char *to, const char *text, const char *from, const char *ref)
{
	static const char *const names[] = {"{to}", "{text}", "{from}", "{ref}"};
	char *vals[4] = {json_inside(to), json_inside(text), json_inside(from), json_inside(ref)};
	char *out = NULL;
	size_t cap = strlen(tmpl) + 1, o = 0;
	for (int i = 0; i < 4; i++) {
		if (!vals[i])
			goto done;
		/* each placeholder may appear any number of times */
		for (const char *p = tmpl; (p = strstr(p, names[i])); p += strlen(names[i]))
			cap += strlen(vals[i]);
	}
	if (!(out = malloc(cap)))
		goto done;
	for (const char *p = tmpl; *p;) {
		int hit = -1;
		for (int i = 0; i < 4 && hit < 0; i++)
			if (!strncmp(p, names[i], strlen(names[i])))
				hit = i;
		if (hit < 0) {
			out[o++] = *p++;
			continue;
		}
		size_t n = strlen(vals[hit]);
		memcpy(out + o, vals[hit], n);
		o += n;
		p += strlen(names[hit]);
	}
	out[o] = 0;
done:
	for (int i = 0; i < 4; i++)
		if (vals[i]) {
			sodium_memzero(vals[i], strlen(vals[i]));
			free(vals[i]);
		}
	return out;
}

static size_t discard_cb(char *buf, size_t size, size_t nmemb, void *user)
{
	(void)buf;
	(void)user;
	return size * nmemb; /* the gateway's answer is not read: the status code says it */
}

static int xfer_cb(void *user, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	kt_sms *s = user;
	(void)dt, (void)dn, (void)ut, (void)un;
	return s->abort_cb && s->abort_cb(s->user) ? 1 : 0;
}

int sms_open(const kt_portal_config *cfg, int (*abort_cb)(void *user), void *user, kt_sms **out)
{
	kt_sms *s = calloc(1, sizeof *s);
	*out = NULL;
	if (!s || !(s->c = curl_easy_init())) {
		free(s);
		return KT_ENOMEM;
	}
	s->cfg = cfg;
	s->abort_cb = abort_cb;
	s->user = user;
	s->headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (s->headers && cfg->sms_auth_header[0]) {
		struct curl_slist *h = curl_slist_append(s->headers, cfg->sms_auth_header);
		if (h)
			s->headers = h;
		else {
			curl_slist_free_all(s->headers);
			s->headers = NULL;
		}
	}
	if (!s->headers) {
		sms_close(s);
		return KT_ENOMEM;
	}
	curl_easy_setopt(s->c, CURLOPT_URL, cfg->sms_url);
	curl_easy_setopt(s->c, CURLOPT_HTTPHEADER, s->headers);
	curl_easy_setopt(s->c, CURLOPT_WRITEFUNCTION, discard_cb);
	curl_easy_setopt(s->c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(s->c, CURLOPT_CONNECTTIMEOUT_MS, SMS_CONNECT_MS);
	curl_easy_setopt(s->c, CURLOPT_TIMEOUT_MS, SMS_TIMEOUT_MS);
	curl_easy_setopt(s->c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(s->c, CURLOPT_XFERINFOFUNCTION, xfer_cb);
	curl_easy_setopt(s->c, CURLOPT_XFERINFODATA, s);
	curl_easy_setopt(s->c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(s->c, CURLOPT_FOLLOWLOCATION, 0L);
	*out = s;
	return KT_OK;
}

void sms_close(kt_sms *s)
{
	if (!s)
		return;
	if (s->c)
		curl_easy_cleanup(s->c);
	curl_slist_free_all(s->headers); /* holds the auth header: libcurl copies nothing we must wipe */
	free(s);
}

int sms_send(kt_sms *s, const char *to, const char *text, const char *ref, char *err, size_t errcap)
{
	char *body;
	CURLcode cc;
	long code = 0;
	if (!sms_e164(to)) {
		snprintf(err, errcap, "sms: the number is not in E.164 form");
		return KT_EINVALID;
	}
	if (!(body = sms_body(s->cfg->sms_body, to, text, s->cfg->sms_from, ref))) {
		snprintf(err, errcap, "sms: cannot make the request (text not UTF-8?)");
		return KT_EINVALID;
	}
	curl_easy_setopt(s->c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(s->c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	cc = curl_easy_perform(s->c);
	curl_easy_getinfo(s->c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_setopt(s->c, CURLOPT_POSTFIELDS, NULL);
	sodium_memzero(body, strlen(body));
	free(body);
	if (cc != CURLE_OK) {
		snprintf(err, errcap, "sms gateway: %s", curl_easy_strerror(cc));
		return KT_EIO;
	}
	if (code >= 200 && code < 300)
		return KT_OK;
	snprintf(err, errcap, "sms gateway: HTTP %ld", code);
	return code >= 400 && code < 500 && code != 429 ? KT_EINVALID : KT_EIO;
}
