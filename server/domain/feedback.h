/* feedback.h - reviews and survey answers: the rules of who writes what
 * (a client rates their own visit once and may change it for a week; owners
 * and managers reply, highlight and hide), the public feed of a branch's
 * shown reviews, survey answers (CSAT, NPS, CES) and what erasure keeps of
 * them. The same rules serve every path: a device's push (push_apply.c), a
 * review or survey link (link kinds), manage ops and the admin command. */
#ifndef KT_FEEDBACK_H
#define KT_FEEDBACK_H

#include <stdbool.h>
#include <stdint.h>
#include "db/store.h"

#define FEEDBACK_EDIT_DAYS 7
#define FEEDBACK_EDIT_MS ((int64_t)FEEDBACK_EDIT_DAYS * 86400000)
#define FEEDBACK_MAX_TEXT 2000 /* bytes of a review's text or of a reply */
#define FEEDBACK_FEED_MAX 100  /* reviews in the public feed, newest (highlighted first) */

/* The fields the server adds to a review write (borrowed from this struct). */
typedef struct kt_review_fill {
	int n;
	kt_field f[4];
	char loc[KT_UUID_LEN + 1], client[KT_UUID_LEN + 1], specialist[KT_UUID_LEN + 1], by[KT_UUID_LEN + 1];
	char at[24], name[128];
} kt_review_fill;

/* A pushed review write, after the write policy and the merge: f (n) are
 * the fields it changes (store text form), row the review as it is (NULL:
 * a create). Checks the values (stars 1-5, text and reply at most
 * FEEDBACK_MAX_TEXT bytes of UTF-8), a create's visit (the client's own,
 * not yet reviewed), a client's edit within FEEDBACK_EDIT_DAYS; fills in
 * what the server sets (a create: location_id, client_id, specialist_id,
 * created_at from the visit; a reply: reply_by, reply_name, replied_at).
 * KT_OK; KT_EINVALID, KT_EDENIED, KT_ENOT_FOUND or KT_ECONFLICT with one
 * sentence in msg that names the field and the rule; KT_EIO. */
int feedback_review_push(kt_store *st, const kt_principal *p, const kt_row *row, const kt_field *f, int n,
			 int64_t now, kt_review_fill *fill, char *msg, size_t cap) KT_MUST_CHECK;

/* A client's review of visit_id by a review link (in the caller's
 * transaction, with the caller's actor): created, or changed while it may
 * be. text NULL: none (an edit keeps nothing: the link sends it whole).
 * *id gets the review's id. Errors as feedback_review_push. */
int feedback_review_save(kt_store *st, const char *org, const char *client, const char *visit_id, int stars,
			 const char *text, bool public_ok, int64_t now, char id[KT_UUID_LEN + 1], char *msg,
			 size_t cap) KT_MUST_CHECK;

/* What the review link page shows: the visit and the client's review. */
typedef struct kt_review_view {
	char visit_date[16], specialist[128], location[KT_UUID_LEN + 1];
	char *services;          /* JSON array text of the service names (owned) */
	bool has_review;
	char id[KT_UUID_LEN + 1];
	int stars;
	bool public_ok;
	char *text, *reply, *reply_name; /* owned, NULL when none */
	int64_t created_at, editable_until;
} kt_review_view;
void feedback_review_view_free(kt_review_view *v); /* accepts NULL */
/* The visit (of client, in org) and its review. KT_ENOT_FOUND when the
 * visit is gone or not the client's. Reads only. */
int feedback_review_view(kt_store *st, const char *org, const char *client, const char *visit_id,
			 kt_review_view *out) KT_MUST_CHECK;

/* An owner's or manager's answer to a review, in its own transaction:
 * reply (NULL: unchanged; "": removed) written as by (a staff id, whose
 * display name the client reads; NULL: the operator, named as the
 * organisation), highlighted and hidden (-1: unchanged). p NULL: the
 * operator (any review); else an owner (their organisation's) or a manager
 * (their locations'). KT_ENOT_FOUND (also another organisation's),
 * KT_EDENIED, KT_EINVALID with msg. */
int feedback_review_answer(kt_store *st, const kt_principal *p, const char *review_id, const char *reply,
			   int highlighted, int hidden, char *msg, size_t cap) KT_MUST_CHECK;

/* A survey answer to kind ("csat", "nps", "ces") about visit_id of client
 * (in the caller's transaction): score 1-5 (csat, ces) or 0-10 (nps).
 * Answering again changes the score. KT_EINVALID with msg; KT_ENOT_FOUND
 * when the visit is not the client's. */
int feedback_survey_answer(kt_store *st, const char *org, const char *client, const char *visit_id,
			   const char *kind, int score, int64_t now, char *msg, size_t cap) KT_MUST_CHECK;
/* The score given before (-1: none). */
int feedback_survey_score(kt_store *st, const char *visit_id, const char *kind);
/* Is kind one of csat, nps, ces; the score range of a kind. */
bool feedback_survey_kind(const char *kind);
void feedback_survey_range(const char *kind, int *lo, int *hi);

/* Erasure, in the caller's transaction, before the client's reviews are
 * deleted: each review's stars become an anonymous count (review_anon:
 * branch, specialist, services, stars, date; no client, no text) and the
 * survey answers lose their client and visit. *n: the rows kept so. */
int feedback_erase_client(kt_store *st, const char *client, int *n) KT_MUST_CHECK;

/* Two cards of one person become one (clients.c): dup's survey answers
 * become keep's, in the caller's transaction (reviews move as rows). */
int feedback_merge_clients(kt_store *st, const char *keep, const char *dup) KT_MUST_CHECK;

/* The client's survey answers as a JSON array text (owned; for the
 * export): kind, score, created_at, location_id, visit_id. */
int feedback_export_answers(kt_store *st, const char *client, char **json) KT_MUST_CHECK;

/* The link kinds "review" (target: the visit) and "survey" (target
 * "VISIT:csat|nps|ces"), installed in the links registry
 * (link_actions.h) at start (feedback_links.c). */
int feedback_links_register(void) KT_MUST_CHECK;

/* The public feed of a location (GET /api/reviews/ID): JSON text (owned)
 * {location: {name}, average, count, reviews: [{stars, text, reply, date,
 * name, highlighted}]}: shown reviews only, name "Ana K." only when the
 * client agreed (public_ok), no ids. KT_ENOT_FOUND for no such location
 * (or a closed one). Reads only. */
int feedback_public_json(kt_store *st, const char *location_id, char **json) KT_MUST_CHECK;

/* "Ana K." from a full name: the first word and the initial of the last
 * (a one-word name: that word). out gets "" for an empty name. */
void feedback_public_name(const char *full, char *out, size_t cap);

/* A list of reviews for owners and managers (admin review list, manage):
 * newest first, at most limit; location NULL: all of p's (p NULL: org's). */
typedef struct kt_review_item {
	const char *id, *location, *visit_date, *specialist, *text, *reply, *reply_name;
	const char *client_name;
	int stars;
	bool highlighted, hidden, public_ok;
	int64_t created_at;
} kt_review_item;
typedef int (*kt_review_cb)(void *user, const kt_review_item *r);
int feedback_review_list(kt_store *st, const kt_principal *p, const char *org, const char *location, int limit,
			 kt_review_cb cb, void *user) KT_MUST_CHECK;

#endif
