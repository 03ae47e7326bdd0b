/* links.h - one-purpose links in messages: confirm attendance, unsubscribe,
 * review a visit, answer a survey, confirm a marketing consent. A link is
 * PORTAL_URL/l/TOKEN; TOKEN is 22 characters of base64url (16 random
 * bytes). Only a keyed hash of it is stored (link_token), with what it is
 * for: kind, organisation, client and the row it is about. A link signs
 * nothing else in: whoever holds it may do its one action until it
 * expires, nothing more. Erasing the client deletes its links. Every SQL
 * statement about link_token is here. */
#ifndef KT_LINKS_H
#define KT_LINKS_H

#include <stdbool.h>
#include <stdint.h>
#include "db/store.h"

#define KT_LINK_TOKEN_LEN 22 /* base64url of 16 bytes, no padding */
#define KT_LINK_KIND_MAX 23

/* The kinds; target_id names:                     */
#define KT_LINK_CONFIRM "confirm"       /* appointment; expires at its start */
#define KT_LINK_UNSUBSCRIBE "unsubscribe" /* the consent purpose in kind_arg */
#define KT_LINK_REVIEW "review"         /* visit */
#define KT_LINK_SURVEY "survey"         /* visit; kind_arg csat, nps or ces */
#define KT_LINK_RECONSENT "reconsent"   /* the consent purpose in kind_arg */

typedef struct kt_link {
	char kind[KT_LINK_KIND_MAX + 1];
	char org[KT_UUID_LEN + 1];
	char client[KT_UUID_LEN + 1];    /* "" when none */
	char target[64];                 /* a row id, or for unsubscribe/reconsent: the consent purpose;
					    survey: "<visit id>:<csat|nps|ces>" */
	int64_t created_at, expires_at, used_at; /* ms; used_at 0 = not used */
} kt_link;

/* Make a link inside the caller's transaction: *token gets the text that
 * goes into the URL (NUL-terminated). target may be NULL. */
int links_issue(kt_store *st, const char *kind, const char *org, const char *client, const char *target,
		int64_t expires_at, char token[KT_LINK_TOKEN_LEN + 1]) KT_MUST_CHECK;

/* The link a token names. KT_ETOKEN_INVALID for an unknown or malformed
 * token (also one of an erased client); KT_ETOKEN_EXPIRED when
 * expires_at <= now (*out is filled either way when found).
 * Does not check used_at: whether a used link may act again is the kind's
 * rule (a review may be edited for a week; a confirmation is idempotent). */
int links_find(kt_store *st, const char *token, int64_t now, kt_link *out) KT_MUST_CHECK;

/* Record that the link acted (first use only keeps its time). */
int links_mark_used(kt_store *st, const char *token, int64_t now) KT_MUST_CHECK;

/* PORTAL_URL/l/TOKEN into out; base as portal_base_url gives it. */
int links_url(const char *base, const char *token, char *out, size_t cap) KT_MUST_CHECK;

/* Delete a client's links (erasure), in the caller's transaction. */
int links_drop_client(kt_store *st, const char *client) KT_MUST_CHECK;

#endif
