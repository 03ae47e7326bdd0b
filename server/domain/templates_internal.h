/* templates_internal.h - what templates.c and templates_text.c share. */
#ifndef KT_TEMPLATES_INTERNAL_H
#define KT_TEMPLATES_INTERNAL_H

#include "domain/templates.h"

typedef struct kt_tpl_text {
	const char *subject, *body, *sms;
} kt_tpl_text;

/* [kind][lang]: kinds and languages in templates.h's order. */
extern const kt_tpl_text templates_builtin_text[KT_MSG_KIND_COUNT][KT_MSG_LANG_COUNT];
/* [lang][0]: the e-mail's unsubscribe line, [lang][1]: the SMS's. */
extern const char *const templates_footer[KT_MSG_LANG_COUNT][2];

#endif
