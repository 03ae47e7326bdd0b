/* consent.h - consent records (GDPR Art. 7): per client and purpose an
 * append-only history of grants and withdrawals; the latest entry (by `at`;
 * on a tie a withdrawal wins) is the state. Recorded by staff and clients
 * through the device push path (push_apply.c) and by the operator's command
 * line (admin_consent.c); both go through consent_check and consent_record. */
#ifndef KT_CONSENT_H
#define KT_CONSENT_H

#include <stdbool.h>
#include <stdint.h>
#include "db/store.h"

#define KT_CONSENT_TEXT_VERSION_MAX 64
#define KT_CONSENT_PURPOSES \
	"marketing_email, marketing_sms, birthday_greetings, review_requests, photo_use, health_data"
/* `at` may be at most this far in the device's future (clock skew) */
#define KT_CONSENT_FUTURE_MS (5 * 60 * 1000LL)

typedef struct kt_consent {
	char client_id[KT_UUID_LEN + 1];
	char purpose[32];
	int granted;  /* 1 grant, 0 withdraw, -1 not given */
	int64_t at;   /* ms; 0 = not given (consent_check makes it now) */
	char source[16];                 /* "" = not given (default by who records) */
	char text_version[KT_CONSENT_TEXT_VERSION_MAX + 1];
	bool text_version_given;
	char recorded_kind[16];          /* set by consent_check */
	char recorded_by[KT_UUID_LEN + 1]; /* set by consent_check; "" = none (operator) */
	char org[KT_UUID_LEN + 1];       /* the client's organisation; set by consent_check */
} kt_consent;

bool consent_purpose_valid(const char *purpose);
bool consent_source_valid(const char *source);

/* Read a pushed mutation's fields (text form, see kt_field) into *c.
 * KT_EINVALID with *why for a value too long to be one. */
int consent_from_fields(const kt_field *f, int n, kt_consent *c, const char **why) KT_MUST_CHECK;

/* Decide whether p may record c, fill the defaults and the server-set
 * fields (recorded_kind/by, org). p NULL = the operator (command line).
 * KT_OK, or KT_EINVALID / KT_EDENIED / KT_ENOT_FOUND with a reason in why
 * (a static string or written into why_buf). KT_EIO on a database error. */
int consent_check(kt_store *st, const kt_principal *p, kt_consent *c, char *why, size_t cap) KT_MUST_CHECK;

/* Insert the checked consent as row id (through store_insert: change log and
 * audit entry, in the caller's transaction), then, if it is now the state of
 * its (client, purpose), consent_on_change. KT_EINVALID / KT_ECONFLICT: the
 * database refused the row and nothing was written. Any other failure comes
 * after the insert (KT_EIO, KT_ENOMEM, KT_EINTERNAL): roll back. */
int consent_record(kt_store *st, const char *id, const kt_consent *c, int64_t *version_out) KT_MUST_CHECK;

/* Called in the transaction that recorded the new state of (client_id,
 * purpose). Withdrawal takes effect at once: this is where queued messages
 * for that purpose are dropped. */
int consent_on_change(kt_store *st, const char *client_id, const char *purpose, bool granted) KT_MUST_CHECK;

/* May we act on this purpose for this client now (the latest entry is a
 * grant)? False when there is no entry, and on any error (fails closed).
 * For senders of marketing, birthday greetings, review requests. */
bool consent_allows(kt_store *st, const char *client_id, const char *purpose);

/* The state of (client_id, purpose): KT_OK with *granted and the deciding
 * entry's id, KT_ENOT_FOUND when nothing was ever recorded. id may be NULL. */
int consent_latest(kt_store *st, const char *client_id, const char *purpose, bool *granted,
		   char id[KT_UUID_LEN + 1]) KT_MUST_CHECK;

/* Would recording c change nothing? True when the current state of its
 * (client, purpose) is already c->granted, under the same text version:
 * then nothing is written and *version gets the deciding entry's version. */
bool consent_unchanged(kt_store *st, const kt_consent *c, int64_t *version);

/* A portal client's budget of consent entries (KT_CLIENT_CONSENTS per
 * KT_CLIENT_CONSENT_WINDOW_MS): KT_OK, or KT_ERATE_LIMITED with
 * *retry_ms until one frees up. KT_EIO on a database error. */
int consent_client_budget(kt_store *st, const char *client_id, int64_t now, int64_t *retry_ms) KT_MUST_CHECK;

#endif
