/* sms.h - SMS through a generic HTTP gateway over libcurl: the config's
 * sms_body JSON template, with {to} {text} {from} {ref} replaced by
 * JSON-escaped values, POSTed to sms_url with sms_auth_header. Most
 * providers take such a request. Never logs the number, the text or the
 * auth header. One gateway object per thread (it keeps its connection). */
#ifndef KT_SMS_H
#define KT_SMS_H

#include <stddef.h>
#include "domain/portal.h"

typedef struct kt_sms kt_sms;

/* A gateway for cfg (borrowed, must outlive it). abort_cb(user) non-zero
 * aborts a request in progress (shutdown); may be NULL. Caller frees with
 * sms_close. KT_ENOMEM. */
int sms_open(const kt_portal_config *cfg, int (*abort_cb)(void *user), void *user, kt_sms **out) KT_MUST_CHECK;
void sms_close(kt_sms *s); /* accepts NULL */

/* Send text to `to` (E.164). ref: a stable reference of the message (the
 * gateway may deduplicate on it). KT_OK: the gateway answered 2xx;
 * KT_EINVALID: 4xx other than 429, or the message cannot be made (final);
 * KT_EIO: 429, 5xx, a timeout or no connection (try again later). err gets
 * a short reason without personal data. */
int sms_send(kt_sms *s, const char *to, const char *text, const char *ref, char *err, size_t errcap) KT_MUST_CHECK;

/* The request body: tmpl with each {to} {text} {from} {ref} replaced by
 * the value as the inside of a JSON string (escaped by jansson). Caller
 * frees; NULL when a value is not UTF-8 or memory runs out. */
char *sms_body(const char *tmpl, const char *to, const char *text, const char *from, const char *ref);

/* Is s a phone number in E.164 (+ and 8 to 15 digits)? */
bool sms_e164(const char *s);

#endif
