/* outbox_plan.h - the planner's statements about the outbox (the rest of
 * the outbox's SQL is in outbox.c, the sender's): insert a planned message
 * once per idempotency key, drop an appointment's queued messages when it
 * moves or is cancelled, drop what a withdrawn consent governed, and the
 * read-outs people see (a client's messages, counts). Addresses, subjects,
 * bodies and extra headers are sealed with the client's key (keyring.h;
 * associated data: table "outbox" and the column, as outbox.c opens them)
 * and never logged. */
#ifndef KT_OUTBOX_PLAN_H
#define KT_OUTBOX_PLAN_H

#include <stdbool.h>
#include <stdint.h>
#include "db/store.h"

typedef struct kt_plan_msg {
	const char *org, *client;     /* client: whose key seals; never NULL here */
	const char *kind;             /* outbox.purpose: confirmation, reminder, ... */
	const char *channel;          /* "email" or "sms" */
	const char *idem_key;         /* unique: a second plan of it inserts nothing */
	const char *appointment, *visit, *location; /* each may be NULL */
	const char *consent_purpose;  /* NULL: a service message */
	const char *to_addr, *subject, *body, *extra_headers; /* extra_headers may be NULL */
	int64_t next_at;              /* when it is due (ms) */
} kt_plan_msg;

/* INSERT ... ON CONFLICT(idem_key) DO NOTHING, in the caller's
 * transaction. *inserted (may be NULL) says whether a row was added. */
int outbox_plan(kt_store *st, const kt_plan_msg *m, bool *inserted) KT_MUST_CHECK;

/* Is a message with this key already planned (in any state but dropped)? */
bool outbox_planned(kt_store *st, const char *idem_key);

/* Drop the queued messages of an appointment whose kind is in kinds (a
 * comma list, e.g. "reminder,reminder2"), with reason (moved, cancelled,
 * past). Their texts are wiped and their keys freed (the key gets
 * ":dropped:ID" appended), so the same message can be planned again if
 * the appointment comes back to that time. *n may be NULL. */
int outbox_drop_appointment(kt_store *st, const char *appointment, const char *kinds, const char *reason,
			    int *n) KT_MUST_CHECK;

/* Drop the queued messages of a client that a consent purpose governs
 * (outbox.consent_purpose), reason consent_withdrawn. *n may be NULL. */
int outbox_drop_consent(kt_store *st, const char *client, const char *consent_purpose, int *n) KT_MUST_CHECK;

/* Has the client been sent or planned a message with idem_key starting
 * with prefix since ms (e.g. "survey:nps:")? */
bool outbox_recent(kt_store *st, const char *client, const char *prefix, int64_t since);

/* A client's messages, newest first, at most limit: no address, no text. */
typedef struct kt_msg_row {
	int64_t id;
	const char *kind, *channel, *state, *drop_reason; /* drop_reason "" when none */
	const char *location;                              /* "" when none */
	int64_t created_at, due_at, sent_at;               /* sent_at 0: not sent */
	const char *last_error;                            /* "" when none */
} kt_msg_row;
typedef int (*kt_msg_row_cb)(void *user, const kt_msg_row *r);
int outbox_client_messages(kt_store *st, const char *client, int limit, kt_msg_row_cb cb, void *user) KT_MUST_CHECK;

/* How many messages of an organisation (and location, may be NULL) were
 * created in [from, to), by kind, channel and state. */
typedef int (*kt_msg_count_cb)(void *user, const char *kind, const char *channel, const char *state, int64_t n);
int outbox_counts(kt_store *st, const char *org, const char *location, int64_t from, int64_t to, kt_msg_count_cb cb,
		  void *user) KT_MUST_CHECK;

/* The state of an appointment's newest reminder ("none" when there is
 * none) into out. */
void outbox_reminder_state(kt_store *st, const char *appointment, char out[16]);

#endif
