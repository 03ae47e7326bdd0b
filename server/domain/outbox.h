/* outbox.h - mail waiting to be sent: setup links now, appointment
 * confirmations, reminders and marketing later. All of its SQL lives in
 * outbox.c. to_addr and body are personal data: never log them. A message
 * moves queued -> sending -> sent, or back to queued with a later next_at
 * after a failed attempt, or to failed after the last attempt; dropped
 * when it must not be sent any more (e.g. consent withdrawn). */
#ifndef KT_OUTBOX_H
#define KT_OUTBOX_H

#include <stdint.h>
#include "db/store.h"

typedef struct kt_mail {
	int64_t id;
	char org[KT_UUID_LEN + 1];
	char client[KT_UUID_LEN + 1]; /* "" when none */
	char purpose[32];
	char *to_addr, *subject, *body; /* owned (kt_mail_free) */
	int attempts;                   /* attempts made before this one */
	int64_t created_at;
} kt_mail;
void kt_mail_free(kt_mail *m); /* accepts NULL; frees members and wipes them */

/* Queue one message, due now. client may be NULL. Runs inside the caller's
 * transaction when one is open. *id_out may be NULL. */
int outbox_enqueue(kt_store *st, const char *org, const char *client, const char *purpose, const char *to_addr,
		   const char *subject, const char *body, int64_t *id_out) KT_MUST_CHECK;

/* Take the oldest due queued message and mark it sending (one transaction).
 * KT_ENOT_FOUND when none is due; *next_due then gets the time the next
 * queued one is due (0: none queued). */
int outbox_claim(kt_store *st, int64_t now, kt_mail *out, int64_t *next_due) KT_MUST_CHECK;

/* Outcomes of an attempt. mark_sent wipes the address and the body (a
 * setup mail's body holds a live token); KT_ENOT_FOUND when the message is
 * gone (its client was erased while it was being sent); mark_retry requeues at next_at
 * or, when final, marks it failed (and wipes them too). err is a short
 * reason without personal data. */
int outbox_mark_sent(kt_store *st, int64_t id) KT_MUST_CHECK;
int outbox_mark_retry(kt_store *st, int64_t id, int64_t next_at, bool final, const char *err) KT_MUST_CHECK;

/* Messages left 'sending' by a server that stopped mid-attempt go back to
 * the queue (at start). */
int outbox_requeue_stale(kt_store *st) KT_MUST_CHECK;

/* Drop the queued messages of a client with this purpose (NULL: any), e.g.
 * older setup links when a new one is queued, or marketing on withdrawal.
 * Their addresses and bodies are wiped. *n may be NULL. */
int outbox_drop_client(kt_store *st, const char *client, const char *purpose, int *n) KT_MUST_CHECK;

/* The newest `limit` messages for operators, without addresses or
 * bodies: cb(user, id, purpose, state, attempts, created_at, sent_at or 0,
 * last_error or ""). */
typedef int (*kt_outbox_cb)(void *user, int64_t id, const char *purpose, const char *state, int attempts,
			    int64_t created_at, int64_t sent_at, const char *last_error);
int outbox_list(kt_store *st, int limit, kt_outbox_cb cb, void *user) KT_MUST_CHECK;

#endif
