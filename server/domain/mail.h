/* mail.h - the outbox worker: one thread with its own database connection
 * that delivers the outbox (outbox.h): e-mail over SMTP through libcurl,
 * SMS through an HTTP gateway (sms.h), or, with no smtp_url / sms_url
 * configured, each message as a file in the spool directory
 * (ID-KIND.eml, ID-KIND.sms). Exactly once: see mail.c and
 * proto/PROTOCOL-send.md. Failed attempts are retried with exponential
 * backoff up to mail_max_attempts. Never blocks the event loop; never logs
 * addresses, numbers, bodies or credentials. */
#ifndef KT_MAIL_H
#define KT_MAIL_H

#include <stdbool.h>
#include <stddef.h>
#include "domain/outbox.h"
#include "domain/portal.h"

typedef struct kt_mail_worker kt_mail_worker;

/* Start the worker on db_path (cfg is copied). Caller owns *out. */
int mail_start(const char *db_path, const kt_portal_config *cfg, kt_mail_worker **out) KT_MUST_CHECK;
/* New settings (serve's SIGHUP; copied): the worker takes them before its
 * next batch, never in the middle of one. KT_OK or KT_ENOMEM. */
int mail_reconfigure(kt_mail_worker *w, const kt_portal_config *cfg) KT_MUST_CHECK;
/* Something was queued: look now rather than at the next poll. */
void mail_kick(kt_mail_worker *w);
/* Stop (an SMTP transfer in progress is aborted) and free. Accepts NULL. */
void mail_stop(kt_mail_worker *w);


/* A stable reference of m (32 hex of a keyed hash of its idem_key, else
 * "outbox-ID"): the Message-ID's local part, the SMS gateway's {ref}. */
void mail_ref(const kt_mail *m, char out[33]);

/* The whole message as RFC 5322 text with CRLF line ends (caller frees).
 * NULL when an address or the subject holds a line break, an extra header
 * is not one plain 'Name: value' line of a header not written here, or
 * the memory runs out. now_ms: the Date header. */
char *mail_format(const kt_portal_config *cfg, const kt_mail *m, int64_t now_ms, size_t *len);

#endif
