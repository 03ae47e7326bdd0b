/* mail.h - the mail worker: one thread with its own database connection
 * that delivers the outbox (outbox.h) over SMTP through libcurl, or, with
 * no smtp_url configured, writes each message as an .eml file into the
 * spool directory. Failed attempts are retried with exponential backoff up
 * to mail_max_attempts. Never blocks the event loop; never logs addresses,
 * bodies or SMTP credentials. */
#ifndef KT_MAIL_H
#define KT_MAIL_H

#include <stdbool.h>
#include <stddef.h>
#include "domain/outbox.h"
#include "domain/portal.h"

typedef struct kt_mail_worker kt_mail_worker;

/* Start the worker on db_path (cfg must outlive it). Caller owns *out. */
int mail_start(const char *db_path, const kt_portal_config *cfg, kt_mail_worker **out) KT_MUST_CHECK;
/* Something was queued: look now rather than at the next poll. */
void mail_kick(kt_mail_worker *w);
/* Stop (an SMTP transfer in progress is aborted) and free. Accepts NULL. */
void mail_stop(kt_mail_worker *w);


/* The whole message as RFC 5322 text with CRLF line ends (caller frees).
 * NULL when an address or the subject holds a line break or the memory
 * runs out. now_ms: the Date header. */
char *mail_format(const kt_portal_config *cfg, const kt_mail *m, int64_t now_ms, size_t *len);

#endif
