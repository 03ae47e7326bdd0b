/* messages.h - the message planner: which messages a write sets off, when
 * they are due, in which language and channel, with which one-purpose
 * links; written to the outbox in the SAME transaction as the write, once
 * per idempotency key (a replayed push or a second process plans nothing
 * more). It never sends (mail.c does, and checks consent again then) and
 * never logs a text or an address.
 *
 * Kinds and keys (outbox.purpose, outbox.idem_key):
 *   confirmation   confirmation:APPT            a booking, due now
 *   change         change:APPT:VERSION          moved, other specialist, services or branch
 *   cancellation   cancellation:APPT            cancelled before its start
 *   reminder(2)    reminder(2):APPT:START_AT    start - lead; none inside the lead
 *   review_request review_request:VISIT         a visit + review_request_days
 *   survey         survey:KIND:VISIT            a visit + survey_delay_min, at the owner's rates
 *   birthday       birthday:CLIENT:YYYY         the daily pass
 *   campaign       campaign:ID:CLIENT[:sms]     messages_campaign
 *   reconsent      reconsent:ID:CLIENT          messages_campaign, clients whose consent has no proof
 */
#ifndef KT_MESSAGES_H
#define KT_MESSAGES_H

#include <stdbool.h>
#include <stdint.h>
#include "db/store.h"

/* Process-wide, set by main before any thread starts: the portal's base
 * address for links (NULL or "": the address serve recorded) and whether
 * an SMS gateway is configured (else a client without e-mail gets no
 * service message). */
void messages_configure(const char *portal_url, bool sms_enabled);

/* The store hook (store_on_row_written): plans what an appointment or
 * visit write sets off. Other tables: nothing. KT_OK, or a database
 * error that fails the write. */
int messages_on_row_written(kt_store *st, const kt_table *t, const char *id, bool created, const char *before);

/* The daily pass: birthday greetings due today (local to each
 * organisation's first branch). Idempotent: run it as often as you like.
 * Its own transaction. *planned may be NULL. */
int messages_plan_daily(kt_store *st, int64_t now, int *planned) KT_MUST_CHECK;

/* Runs messages_plan_daily on its own connection to db_path at start and
 * every hour (serve). Stop accepts NULL. */
typedef struct kt_hourly kt_daily; /* domain/hourly.h */
int messages_daily_start(const char *db_path, kt_daily **out) KT_MUST_CHECK;
void messages_daily_stop(kt_daily *d);

/* ---- settings (message_settings; defaults when the organisation has no row) ---- */

typedef struct kt_msg_settings {
	int reminder1_min, reminder2_min;   /* 0: none */
	int review_request_days;            /* 0: no review requests */
	bool review_request_marketing, birthday;
	char quiet_from[6], quiet_to[6];    /* "HH:MM" local */
	int daily_cap;
	int csat_every_days, nps_every_days, ces_every_days; /* 0: that survey is off */
	int survey_delay_min;
	int64_t updated_at;                 /* 0: never changed */
} kt_msg_settings;

#define KT_MSG_SETTING_COUNT 12
extern const char *const messages_setting_names[KT_MSG_SETTING_COUNT];
void messages_settings_defaults(kt_msg_settings *s);
int messages_settings_get(kt_store *st, const char *org, kt_msg_settings *out) KT_MUST_CHECK;
/* Change one setting in *s from its text ("24h", "90m", "1440" for
 * minutes; "90d", "90" for days; "21:00"; "on", "off", "true", "1").
 * KT_EINVALID with why naming the key and its rule; *s unchanged then. */
int messages_settings_apply(kt_msg_settings *s, const char *key, const char *value, char *why, size_t cap) KT_MUST_CHECK;
/* Write *s as the organisation's settings (its own transaction or the caller's). */
int messages_settings_save(kt_store *st, const char *org, kt_msg_settings *s) KT_MUST_CHECK;

/* ---- preview, campaigns, the unconfirmed list ---- */

/* What a message of kind would say, in lang ("" or NULL: the
 * organisation's) and channel, for appointment (NULL: made-up sample data)
 * or, for visit kinds, the appointment's visit data. Links are examples,
 * nothing is issued or queued. Caller frees *subject and *body. */
int messages_preview(kt_store *st, const char *org, int kind, const char *lang, bool sms, const char *appointment,
		     char **subject, char **body, char *why, size_t cap) KT_MUST_CHECK;

typedef struct kt_campaign {
	int kind;                  /* KT_MSG_CAMPAIGN or KT_MSG_RECONSENT */
	const char *subject, *body; /* NULL or "": the organisation's template */
	const char *channel;       /* "email", "sms" or NULL: each the client consented to */
	const char *location;      /* NULL: every branch; else clients known there */
	const char *visited_since; /* NULL, or "YYYY-MM-DD": clients with a visit since */
} kt_campaign;
/* Plan a campaign to every client of org the audience takes in whose
 * marketing consent for the channel is granted (reconsent: granted only
 * through an import, without proof), in one transaction. *id gets the
 * campaign's id, *planned the messages. KT_EINVALID with why. */
int messages_campaign(kt_store *st, const char *org, const kt_campaign *c, char id[KT_UUID_LEN + 1], int *planned,
		      char *why, size_t cap) KT_MUST_CHECK;

/* A branch's appointments of one local day (YYYY-MM-DD) still 'booked'
 * (nobody confirmed), in start order, with the client's name and phone
 * (opened) and the state of the newest reminder. */
typedef struct kt_unconfirmed {
	const char *id, *client_id, *client_name, *phone, *specialist_name, *reminder_state;
	int64_t start_at;
} kt_unconfirmed;
typedef int (*kt_unconfirmed_cb)(void *user, const kt_unconfirmed *u);
int messages_unconfirmed(kt_store *st, const char *location, const char *day, kt_unconfirmed_cb cb, void *user,
			 char *why, size_t cap) KT_MUST_CHECK;

/* The local date of tomorrow at a location, YYYY-MM-DD. */
void messages_tomorrow(kt_store *st, const char *location, int64_t now, char day[11]);

#endif
