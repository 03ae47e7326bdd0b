/* outbox.h - messages waiting to be sent (e-mail and SMS): setup links,
 * appointment confirmations, reminders, marketing. All of its SQL lives in
 * outbox.c. to_addr, subject, body and extra_headers are personal data,
 * sealed with the client's key when there is a client: never log them.
 *
 * States (proto/PROTOCOL-send.md): queued -> sending -> sent; back to
 * queued with a later next_at after a failed attempt, or failed after the
 * last one; dropped (drop_reason) when it must not be sent any more;
 * unknown when the process that was sending it died during the SMTP or
 * gateway call: whether it went out is not known, and it is never sent
 * again by itself (an operator may: outbox_resend). A row is 'sending'
 * only inside one worker's claim (claimed_by: a random id per process), so
 * two processes on one database never send the same row. */
#ifndef KT_OUTBOX_H
#define KT_OUTBOX_H

#include <stdint.h>
#include "db/store.h"

#define KT_OUTBOX_WORKER_LEN 32 /* hex of a worker id */
#define KT_OUTBOX_IDEM_MAX 200

typedef struct kt_mail {
	int64_t id;
	char org[KT_UUID_LEN + 1];
	char client[KT_UUID_LEN + 1];   /* "" when none */
	char location[KT_UUID_LEN + 1]; /* "" when none */
	char purpose[32];               /* the kind: confirmation, reminder, campaign, portal_setup, ... */
	char channel[8];                /* "email" or "sms" */
	char consent_purpose[32];       /* "" for a service message */
	char idem_key[KT_OUTBOX_IDEM_MAX + 1]; /* "" when none */
	char *to_addr, *subject, *body; /* owned (kt_mail_free); NULL in a gate's view */
	char *extra_headers;            /* owned; "" when none: "Name: value" lines */
	int attempts;                   /* attempts made before this one */
	int64_t created_at, next_at;
} kt_mail;
void kt_mail_free(kt_mail *m); /* accepts NULL; frees members and wipes them */

/* The planner's insert (with the idempotency key, channel, consent
 * purpose, extra headers) is outbox_plan in outbox_plan.c (helper "plan");
 * it seals the same columns with the same associated data. */

/* Queue one e-mail, due now (setup links and notices: no idempotency
 * key). client may be NULL; with one, the address, subject and body are
 * sealed. Runs in the caller's transaction when one is open. *id_out may
 * be NULL. */
int outbox_enqueue(kt_store *st, const char *org, const char *client, const char *purpose, const char *to_addr,
		   const char *subject, const char *body, int64_t *id_out) KT_MUST_CHECK;

/* What a claim does with a due row, decided by the worker's gate inside
 * the claim's transaction (consent, quiet hours, daily cap). */
typedef enum kt_outbox_verdict { KT_OUTBOX_SEND, KT_OUTBOX_DROP, KT_OUTBOX_DEFER } kt_outbox_verdict;
/* m has no personal fields (to_addr, subject, body NULL). DROP: *reason
 * (static) becomes drop_reason; DEFER: *next_at the new due time and
 * *reason (static) its last_error, e.g. "held: quiet hours". */
typedef kt_outbox_verdict (*kt_outbox_gate)(void *user, kt_store *st, const kt_mail *m, int64_t now,
					    const char **reason, int64_t *next_at);

/* Claim up to max due queued rows for worker in one write transaction:
 * each is put to gate (NULL: send all), and those to send become
 * 'sending' (claimed_by worker, claimed_at now) and are opened into
 * out[0..*n) (caller frees each with kt_mail_free). *n = 0 and
 * KT_ENOT_FOUND when none is due; *next_due then gets the time the next
 * queued one is due (0: none queued). */
int outbox_claim_batch(kt_store *st, const char *worker, int64_t now, int max, kt_outbox_gate gate, void *user,
		       kt_mail *out, int *n, int64_t *next_due) KT_MUST_CHECK;
/* One row, no gate, worker "" (tests and simple callers). */
int outbox_claim(kt_store *st, int64_t now, kt_mail *out, int64_t *next_due) KT_MUST_CHECK;

/* Outcomes of an attempt. mark_sent wipes the address, body and headers
 * (a setup mail's body holds a live token); KT_ENOT_FOUND when the row is
 * gone (its client was erased while it was being sent); mark_retry
 * requeues at next_at or, when final, marks it failed (and wipes them
 * too); mark_dropped: dropped with reason (wiped). err is a short reason
 * without personal data. */
int outbox_mark_sent(kt_store *st, int64_t id) KT_MUST_CHECK;
int outbox_mark_retry(kt_store *st, int64_t id, int64_t next_at, bool final, const char *err) KT_MUST_CHECK;
int outbox_mark_dropped(kt_store *st, int64_t id, const char *reason) KT_MUST_CHECK;

/* The worker ids that hold 'sending' rows ("" for rows of a server older
 * than claimed_by): cb(user, worker) for each. */
int outbox_sending_workers(kt_store *st, int (*cb)(void *user, const char *worker), void *user) KT_MUST_CHECK;
/* Worker is dead: its 'sending' rows whose ids are in attempted[0..na)
 * become 'unknown', and, when journal_ok (the worker's journal of attempts
 * is known complete), the rest go back to the queue (claimed but never
 * handed to SMTP or the gateway); otherwise all become 'unknown'. One
 * transaction. *unknown, *requeued may be NULL. */
int outbox_settle_worker(kt_store *st, const char *worker, const int64_t *attempted, int na, bool journal_ok,
			 int *unknown, int *requeued) KT_MUST_CHECK;

/* Operator: queue an 'unknown' message again (it may then arrive twice;
 * its Message-ID stays the same). KT_ENOT_FOUND: no such row;
 * KT_ECONFLICT: it is not 'unknown' (*state gets its state). */
int outbox_resend(kt_store *st, int64_t id, char state[16]) KT_MUST_CHECK;

/* Drop the queued messages of a client whose kind or consent purpose is
 * purpose (NULL: any), e.g. older setup links when a new one is queued,
 * or marketing on withdrawal (drop_reason consent_withdrawn when the
 * consent purpose matched). Their addresses and bodies are wiped. *n may
 * be NULL. */
int outbox_drop_client(kt_store *st, const char *client, const char *purpose, int *n) KT_MUST_CHECK;

/* The limits of an organisation's message_settings (defaults when it has
 * none): quiet hours in minutes after local midnight (from == to: none),
 * the daily cap per client. */
typedef struct kt_outbox_limits {
	int quiet_from, quiet_to, daily_cap;
} kt_outbox_limits;
int outbox_limits(kt_store *st, const char *org, kt_outbox_limits *out) KT_MUST_CHECK;
/* How many messages of the capped and service kinds the client was sent
 * (or is being sent) in [from, to), other than except_id. */
int outbox_client_sent(kt_store *st, const char *client, int64_t from, int64_t to, int64_t except_id, int *n)
	KT_MUST_CHECK;

/* The newest `limit` messages for operators, without addresses or
 * bodies: cb(user, id, purpose, state, attempts, created_at, sent_at or 0,
 * last_error or ""). */
typedef int (*kt_outbox_cb)(void *user, int64_t id, const char *purpose, const char *state, int attempts,
			    int64_t created_at, int64_t sent_at, const char *last_error);
int outbox_list(kt_store *st, int limit, kt_outbox_cb cb, void *user) KT_MUST_CHECK;

/* The same with the new columns (admin outbox list): channel, due time,
 * drop reason ("" when none), location ("" when none). state NULL: all. */
typedef struct kt_outbox_row {
	int64_t id, created_at, next_at, sent_at;
	const char *purpose, *channel, *state, *drop_reason, *last_error, *location, *org;
	int attempts;
} kt_outbox_row;
int outbox_list_rows(kt_store *st, const char *state, int limit, int (*cb)(void *user, const kt_outbox_row *r),
		     void *user) KT_MUST_CHECK;

#endif
