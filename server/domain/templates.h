/* templates.h - the words of every message the planner writes: built-in
 * texts per kind, language (en, sl, de, pl, fi) and channel (e-mail with a
 * subject, or a short SMS), an organisation's own wording of any of them
 * (table message_template), and the placeholders ({first_name}, {date},
 * {confirm_link}, ...) filled in. Plain text only: nothing is markup, so
 * nothing needs escaping. Every SQL statement about message_template is
 * here. Never logs a rendered text (it holds names and live links). */
#ifndef KT_TEMPLATES_H
#define KT_TEMPLATES_H

#include <stdbool.h>
#include <stdint.h>
#include "db/store.h"

/* The message kinds (outbox.purpose), in this order. */
typedef enum {
	KT_MSG_CONFIRMATION,
	KT_MSG_CHANGE,
	KT_MSG_CANCELLATION,
	KT_MSG_REMINDER,
	KT_MSG_REMINDER2,
	KT_MSG_REVIEW_REQUEST,
	KT_MSG_BIRTHDAY,
	KT_MSG_CAMPAIGN,
	KT_MSG_RECONSENT,
	KT_MSG_SURVEY,
	KT_MSG_KIND_COUNT
} kt_msg_kind;
#define KT_MSG_KINDS \
	"confirmation, change, cancellation, reminder, reminder2, review_request, birthday, campaign, reconsent, survey"

/* The languages built in, in this order; the first is the last resort. */
#define KT_MSG_LANG_COUNT 5
#define KT_MSG_LANGS "en, sl, de, pl, fi"

/* The placeholders, in this order ({first_name} ...). */
typedef enum {
	KT_TV_FIRST_NAME,
	KT_TV_SALON,      /* the organisation's name */
	KT_TV_BRANCH,     /* the location's name */
	KT_TV_ADDRESS,    /* the location's address */
	KT_TV_PHONE,      /* the location's phone */
	KT_TV_DATE,       /* the appointment's or visit's date, the client's language, the branch's zone */
	KT_TV_TIME,       /* its time of day */
	KT_TV_ZONE,       /* the branch's time zone (Europe/Ljubljana) */
	KT_TV_SERVICES,
	KT_TV_SPECIALIST,
	KT_TV_CONFIRM_LINK,
	KT_TV_UNSUBSCRIBE_LINK,
	KT_TV_REVIEW_LINK,
	KT_TV_SURVEY_LINK,
	KT_TV_RECONSENT_LINK,
	KT_TV_COUNT
} kt_tpl_var;

/* Values for a rendering; NULL reads as "". Borrowed. */
typedef struct kt_tpl_vars {
	const char *v[KT_TV_COUNT];
} kt_tpl_vars;

/* Names: -1 when unknown. */
int templates_kind(const char *name);
const char *templates_kind_name(int kind);
int templates_lang(const char *code); /* "sl" -> its index */
const char *templates_lang_code(int lang);
/* Is a message of this kind marketing by nature (birthday, campaign,
 * reconsent, and review requests and surveys when the owner classes them
 * so)? The unsubscribe line goes into those. */
bool templates_kind_marketing(int kind, bool review_marketing);

/* The built-in text (static; subject "" for SMS). */
void templates_builtin(int kind, int lang, bool sms, const char **subject, const char **body);

/* May an owner's text be used for kind? KT_OK, or KT_EINVALID with why
 * naming the placeholder that is unknown ("{frist_name} is not a
 * placeholder; ...") or has no value in this kind, or the rule broken
 * (empty body, too long, control characters, a line break in a subject). */
#define KT_TPL_MAX_SUBJECT 200
#define KT_TPL_MAX_BODY (16 * 1024)
int templates_check(int kind, bool sms, const char *subject, const char *body, char *why, size_t cap) KT_MUST_CHECK;

/* Fill the placeholders of tpl; *out is the caller's (free). Lines left
 * ending in ", " by an empty value lose it. When marketing is set and tpl
 * has no {unsubscribe_link}, the language's unsubscribe line is added (a
 * marketing message always carries one). KT_OK or KT_ENOMEM. */
int templates_render(const char *tpl, const kt_tpl_vars *v, int lang, bool sms, bool marketing,
		     char **out) KT_MUST_CHECK;

/* The text the organisation uses for (kind, lang, channel): its own, else
 * the built-in one. *subject and *body are the caller's (free). */
int templates_get(kt_store *st, const char *org, int kind, int lang, bool sms, char **subject,
		  char **body) KT_MUST_CHECK;

/* Set the organisation's own text (checked as templates_check); an empty
 * body removes it (the built-in text again). In the caller's transaction
 * or its own. KT_EINVALID with why. */
int templates_set(kt_store *st, const char *org, int kind, int lang, bool sms, const char *subject, const char *body,
		  char *why, size_t cap) KT_MUST_CHECK;

/* The organisation's own texts: cb(user, kind, lang, channel, subject,
 * body, updated_at) for each, in kind, lang, channel order. */
typedef int (*kt_tpl_cb)(void *user, const char *kind, const char *lang, const char *channel, const char *subject,
			 const char *body, int64_t updated_at);
int templates_list(kt_store *st, const char *org, kt_tpl_cb cb, void *user) KT_MUST_CHECK;

/* The date and the time of day of ms for a reader of lang at a place in
 * zone (ICU: the language's full date, short time), country (ISO 3166,
 * may be NULL) picking the language's regional form. */
int templates_when(const char *zone, int lang, const char *country, int64_t ms, char *date, size_t dcap, char *time,
		   size_t tcap) KT_MUST_CHECK;

#endif
