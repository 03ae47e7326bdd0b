/* messages_internal.h - what the planner's files share (messages.c,
 * messages_ops.c); nobody else includes it. */
#ifndef KT_MESSAGES_INTERNAL_H
#define KT_MESSAGES_INTERNAL_H

#include "domain/messages.h"
#include "domain/templates.h"
#include "kt_time.h"

/* Where a message is from: the organisation and one of its branches. */
typedef struct msg_place {
	char salon[256], country[8], branch[256], address[256], phone[64], zone[64];
	int org_lang; /* -1: not one of the built-in languages */
} msg_place;
/* location NULL: the organisation's first branch's zone, no branch. */
int msg_place_load(kt_store *st, const char *org, const char *location, msg_place *p) KT_MUST_CHECK;

/* Whom a message is to: opened from the client's card. Owned strings,
 * NULL when the card has none (an e-mail that is no address reads NULL). */
typedef struct msg_who {
	char org[KT_UUID_LEN + 1];
	char *first_name, *email, *phone, *birthday;
	int lang; /* -1: the card names none */
} msg_who;
int msg_who_load(kt_store *st, const char *client, bool birthday, msg_who *w) KT_MUST_CHECK;
void msg_who_free(msg_who *w); /* wipes the addresses; accepts NULL */
int msg_lang(const msg_who *w, const msg_place *p);
const char *msg_channel(const msg_who *w);
bool msg_sms_enabled(void);
void msg_base_url(kt_store *st, char *out, size_t cap);
void msg_vars(kt_tpl_vars *v, const msg_who *w, const msg_place *p, const char *date, const char *time,
	      const char *services, const char *specialist);
void msg_day_text(const msg_place *p, int lang, const char *day, char *out, size_t cap);

/* One message to plan. link_kind (may be NULL) is issued for link_target
 * until link_expires and its URL put into placeholder link_var; a
 * consent_purpose makes it marketing: an unsubscribe link in the text
 * and, for mail, the List-Unsubscribe headers. subject/body NULL: the
 * organisation's template of kind. */
typedef struct msg_plan_args {
	const char *org, *client, *channel, *idem_key, *appointment, *visit, *location, *consent_purpose;
	const char *email, *phone;
	int kind, lang;
	int64_t due;
	kt_tpl_vars vars;
	const char *link_kind, *link_target;
	int64_t link_expires;
	int link_var;
	const char *subject, *body;
} msg_plan_args;
int msg_plan(kt_store *st, const msg_plan_args *a, bool *inserted) KT_MUST_CHECK;

#endif
