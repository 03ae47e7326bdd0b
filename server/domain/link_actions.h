/* link_actions.h - what a one-purpose link (links.h) does: its page opens
 * it ("open": what the page shows) and the person taps its one button
 * ("act"). Each kind of link is a pair of callbacks in a small registry, so
 * that kinds live with their domain (confirm, unsubscribe and reconsent
 * here; review and survey in feedback.c) and the protocol handler
 * (handle_link.c) and the HTTP one-click unsubscribe (web.c) know none of
 * them. A link signs nothing in: the callbacks see only the link's own
 * row and answer only what its page shows (never an e-mail, a phone, or
 * another appointment). Never logs a token. */
#ifndef KT_LINK_ACTIONS_H
#define KT_LINK_ACTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "kt_mp.h"
#include "db/store.h"
#include "domain/links.h"

#define KT_LINK_KINDS_MAX 8
/* The consent text a link's page shows (clients/web/views/link.js): the
 * text_version of the grants and withdrawals links record. */
#define KT_LINK_CONSENT_TEXT_VERSION "link-1"
/* The consent source of entries made through a link in a message (an
 * e-mail or an SMS): the proof says the person answered the link. */
#define KT_LINK_CONSENT_SOURCE "link"

/* What a kind's callbacks get (all borrowed, valid during the call). */
typedef struct kt_link_ctx {
	kt_store *st;
	const kt_link *link; /* the token's row: kind, org, client, target, times */
	int64_t now;         /* ms */
	const char *lang;    /* the client's language (sl, de, pl, fi, en): client.language,
				else the organisation's, else "en" */
} kt_link_ctx;

/* The act's arguments as the message carried them. Absent: has_* false,
 * text NULL. text is valid UTF-8 without NUL, at most KT_LINK_MAX_TEXT
 * bytes, and NOT NUL-terminated (text_len). A kind checks the values it
 * reads (range) and ignores the others. */
typedef struct kt_link_args {
	bool has_granted, granted; /* reconsent */
	bool has_stars;            /* review: 1..5 */
	int64_t stars;
	bool has_score; /* survey: csat/ces 1..5, nps 0..10 */
	int64_t score;
	bool has_public_ok, public_ok; /* review: may the public feed show "Ana K." */
	const char *text;              /* review */
	size_t text_len;
} kt_link_args;

/* The answer's key/value pairs, packed by the kind into w (one
 * link_out_key, then exactly one value). The registry adds kind, lang,
 * salon and done itself: a kind must not pack those keys. */
typedef struct kt_link_out {
	kt_mpw w;
	uint32_t npairs;
	bool done; /* open: the action was taken already (the page shows the
		      outcome, not the button); act: set by the registry */
} kt_link_out;

void link_out_init(kt_link_out *o);
void link_out_free(kt_link_out *o); /* accepts a zeroed one */
/* Count one pair and pack its key; the caller packs its value into o->w next. */
void link_out_key(kt_link_out *o, const char *key);
void link_out_str(kt_link_out *o, const char *key, const char *v); /* NULL packs nil */
void link_out_int(kt_link_out *o, const char *key, int64_t v);
void link_out_bool(kt_link_out *o, const char *key, bool v);
/* "location": {name, address, time_zone} of a location (nil when gone). */
void link_out_location(const kt_link_ctx *c, kt_link_out *o, const char *location_id);
/* A local time for the page, in the client's language and the zone:
 * "15. jan. 2027 09:30 CET" into buf. */
void link_local_text(const kt_link_ctx *c, const char *zone, int64_t ms, char *buf, size_t cap);

/* open: inside a read transaction; read-only. out->done starts as
 * (link->used_at != 0); the kind may correct it from the data. act: inside a
 * write transaction the registry opened, with the store's actor set to the
 * link's client (kind "client", no device), so every row written is audited
 * as the client's and reaches staff devices through the change log. Return
 * KT_OK to commit; any other code rolls everything back and goes on the
 * wire as the error code (KT_EINVALID: err names the field and the rule,
 * "stars: a whole number from 1 to 5"). Acting again on a link whose action
 * was taken must succeed without writing (idempotent), unless the kind's
 * rule says otherwise (a review may be edited for a week). err is
 * one sentence for a person, no personal data. */
typedef int (*kt_link_open_fn)(const kt_link_ctx *c, kt_link_out *out, char *err, size_t errlen);
typedef int (*kt_link_act_fn)(const kt_link_ctx *c, const kt_link_args *a, kt_link_out *out, char *err,
			      size_t errlen);

/* Install a kind (at start, before serving: the registry is not locked).
 * Registering a kind again replaces its callbacks. KT_EINVALID for a name
 * longer than KT_LINK_KIND_MAX or NULL callbacks, KT_ETOO_LARGE when
 * KT_LINK_KINDS_MAX kinds are installed. */
int link_actions_register(const char *kind, kt_link_open_fn open, kt_link_act_fn act) KT_MUST_CHECK;
/* confirm, unsubscribe, reconsent (below). */
int link_actions_register_builtin(void) KT_MUST_CHECK;
bool link_actions_known(const char *kind);

/* The whole of an open or act, for handle_link.c and web.c: find the
 * token (KT_ETOKEN_INVALID / KT_ETOKEN_EXPIRED; KT_ETOKEN_INVALID also for a
 * kind nobody registered), run the kind in its transaction, and fill out
 * (the caller owns it: link_out_init before, link_out_free after) with the
 * kind's pairs and kind, lang, salon, done. kind gets the link's kind
 * (also on a kind's error, "" when the token was not found). Runs on the
 * calling thread with st (the event loop's store). */
int link_open(kt_store *st, const char *token, int64_t now, kt_link_out *out, char kind[KT_LINK_KIND_MAX + 1],
	      char *err, size_t errlen) KT_MUST_CHECK;
int link_act(kt_store *st, const char *token, const kt_link_args *a, int64_t now, kt_link_out *out,
	     char kind[KT_LINK_KIND_MAX + 1], char *err, size_t errlen) KT_MUST_CHECK;

/* RFC 8058 one-click unsubscribe (POST /l/TOKEN): act on an unsubscribe
 * link only. KT_ETOKEN_INVALID for any other kind; KT_ETOKEN_EXPIRED. */
int link_unsubscribe_one_click(kt_store *st, const char *token, int64_t now) KT_MUST_CHECK;

/* The language of a client's messages and link pages: client.language
 * (when the schema has it), else the organisation's, else "en"; one of
 * sl, de, pl, fi, en. */
void link_client_lang(kt_store *st, const char *org, const char *client, char lang[8]);

#endif
