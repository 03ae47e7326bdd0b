/* templates.c - see templates.h. Filling placeholders, checking an owner's
 * text, and the message_template table. The words themselves are in
 * templates_text.c. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kt_mp.h"
#include "kt_time.h"
#include "domain/templates_internal.h"

static const char *const kind_names[KT_MSG_KIND_COUNT] = {
	"confirmation", "change",   "cancellation", "reminder",  "reminder2",
	"review_request", "birthday", "campaign",   "reconsent", "survey"};
static const char *const lang_codes[KT_MSG_LANG_COUNT] = {"en", "sl", "de", "pl", "fi"};
static const char *const var_names[KT_TV_COUNT] = {
	"first_name", "salon",       "branch",           "address",     "phone",
	"date",       "time",        "zone",             "services",    "specialist",
	"confirm_link", "unsubscribe_link", "review_link", "survey_link", "reconsent_link"};

#define V(x) (1u << KT_TV_##x)
#define PLACE (V(FIRST_NAME) | V(SALON) | V(BRANCH) | V(ADDRESS) | V(PHONE))
#define WHEN (V(DATE) | V(TIME) | V(ZONE) | V(SERVICES) | V(SPECIALIST))
/* which placeholders have a value in each kind */
static const unsigned kind_vars[KT_MSG_KIND_COUNT] = {
	PLACE | WHEN,                                    /* confirmation */
	PLACE | WHEN,                                    /* change */
	PLACE | WHEN,                                    /* cancellation */
	PLACE | WHEN | V(CONFIRM_LINK),                  /* reminder */
	PLACE | WHEN | V(CONFIRM_LINK),                  /* reminder2 */
	PLACE | WHEN | V(REVIEW_LINK) | V(UNSUBSCRIBE_LINK), /* review_request */
	PLACE | V(UNSUBSCRIBE_LINK),                     /* birthday */
	PLACE | V(UNSUBSCRIBE_LINK),                     /* campaign */
	PLACE | V(RECONSENT_LINK) | V(UNSUBSCRIBE_LINK), /* reconsent */
	PLACE | WHEN | V(SURVEY_LINK) | V(UNSUBSCRIBE_LINK), /* survey */
};
#undef V

int templates_kind(const char *name)
{
	for (int i = 0; name && i < KT_MSG_KIND_COUNT; i++)
		if (!strcmp(name, kind_names[i]))
			return i;
	return -1;
}

const char *templates_kind_name(int kind)
{
	return kind >= 0 && kind < KT_MSG_KIND_COUNT ? kind_names[kind] : "?";
}

int templates_lang(const char *code)
{
	for (int i = 0; code && i < KT_MSG_LANG_COUNT; i++)
		if (!strcmp(code, lang_codes[i]))
			return i;
	return -1;
}

const char *templates_lang_code(int lang)
{
	return lang >= 0 && lang < KT_MSG_LANG_COUNT ? lang_codes[lang] : "en";
}

bool templates_kind_marketing(int kind, bool review_marketing)
{
	switch (kind) {
	case KT_MSG_BIRTHDAY:
	case KT_MSG_CAMPAIGN:
	case KT_MSG_RECONSENT:
		return true;
	case KT_MSG_REVIEW_REQUEST:
	case KT_MSG_SURVEY:
		return review_marketing;
	default:
		return false;
	}
}

void templates_builtin(int kind, int lang, bool sms, const char **subject, const char **body)
{
	if (kind < 0 || kind >= KT_MSG_KIND_COUNT)
		kind = KT_MSG_CAMPAIGN;
	if (lang < 0 || lang >= KT_MSG_LANG_COUNT)
		lang = 0;
	const kt_tpl_text *t = &templates_builtin_text[kind][lang];
	*subject = sms ? "" : t->subject;
	*body = sms ? t->sms : t->body;
}

/* The placeholder at s ("{name}"): its index, -1 when s is no placeholder
 * at all (a brace in text), -2 when it looks like one but is unknown.
 * *len gets its length. */
static int placeholder_at(const char *s, size_t *len)
{
	size_t n = 1;
	while (s[n] == '_' || (s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9'))
		n++;
	if (n == 1 || s[n] != '}')
		return -1;
	*len = n + 1;
	for (int i = 0; i < KT_TV_COUNT; i++)
		if (strlen(var_names[i]) == n - 1 && !memcmp(s + 1, var_names[i], n - 1))
			return i;
	return -2;
}

static void list_vars(unsigned mask, char *buf, size_t cap)
{
	size_t len = 0;
	buf[0] = 0;
	for (int i = 0; i < KT_TV_COUNT && len < cap; i++)
		if (mask & (1u << i))
			len += (size_t)snprintf(buf + len, cap - len, "%s{%s}", len ? " " : "", var_names[i]);
}

static int check_text(int kind, const char *what, const char *t, size_t max, bool one_line, char *why, size_t cap)
{
	size_t n = strlen(t);
	char known[400];
	if (n > max)
		return snprintf(why, cap, "%s: at most %zu bytes", what, max), KT_EINVALID;
	if (!kt_utf8_valid((const uint8_t *)t, n))
		return snprintf(why, cap, "%s: not UTF-8 text", what), KT_EINVALID;
	for (const char *p = t; *p; p++) {
		unsigned char c = (unsigned char)*p;
		size_t len;
		int v;
		if (c < 0x20 && c != '\n' && c != '\t')
			return snprintf(why, cap, "%s: control characters are not text", what), KT_EINVALID;
		if (c == '\n' && one_line)
			return snprintf(why, cap, "%s: one line (no line breaks)", what), KT_EINVALID;
		if (c != '{')
			continue;
		v = placeholder_at(p, &len);
		if (v == -1)
			continue;
		list_vars(kind_vars[kind], known, sizeof known);
		if (v == -2)
			return snprintf(why, cap, "%s: {%.*s} is not a placeholder; a %s message knows %s", what,
					(int)(len - 2 > 40 ? 40 : len - 2), p + 1, kind_names[kind], known),
			       KT_EINVALID;
		if (!(kind_vars[kind] & (1u << v)))
			return snprintf(why, cap, "%s: {%s} has no value in a %s message; it knows %s", what,
					var_names[v], kind_names[kind], known),
			       KT_EINVALID;
		p += len - 1;
	}
	return KT_OK;
}

int templates_check(int kind, bool sms, const char *subject, const char *body, char *why, size_t cap)
{
	int rc;
	if (kind < 0 || kind >= KT_MSG_KIND_COUNT)
		return snprintf(why, cap, "kind is one of " KT_MSG_KINDS), KT_EINVALID;
	if (!body || !*body)
		return snprintf(why, cap, "body: the message text cannot be empty"), KT_EINVALID;
	if (!sms && (!subject || !*subject))
		return snprintf(why, cap, "subject: an e-mail needs a subject"), KT_EINVALID;
	if (sms && subject && *subject)
		return snprintf(why, cap, "subject: an SMS has no subject"), KT_EINVALID;
	if (subject && (rc = check_text(kind, "subject", subject, KT_TPL_MAX_SUBJECT, true, why, cap)))
		return rc;
	return check_text(kind, "body", body, KT_TPL_MAX_BODY, false, why, cap);
}

/* ---- rendering ---- */

typedef struct buf {
	char *p;
	size_t len, cap;
	bool oom;
} buf;

static void put(buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

/* The longest text between two placeholders that only joins them
 * (", ", " with ", ", godz. "). */
#define JOINER_MAX 8

static bool has_value(const kt_tpl_vars *v, int i)
{
	return v && v->v[i] && v->v[i][0];
}

/* Placeholders and the text between them. A short text between two
 * placeholders on one line is a joiner: it is written only between two
 * values that are there, so an appointment without services reads
 * "Nina Korošec", not ", Nina Korošec" or " with Nina Korošec". */
static void fill(buf *b, const char *tpl, const kt_tpl_vars *v)
{
	const char *p = tpl, *from = tpl;
	const char *joiner = NULL;
	size_t joiner_len = 0;
	bool after_placeholder = false, value_before = false;
	for (; *p; p++) {
		size_t len, lit;
		int i;
		if (*p != '{' || (i = placeholder_at(p, &len)) < 0)
			continue;
		lit = (size_t)(p - from);
		if (after_placeholder && lit <= JOINER_MAX && !memchr(from, '\n', lit)) {
			/* the first joiner after a value waits for the next value */
			if (value_before && !joiner) {
				joiner = from;
				joiner_len = lit;
			}
		} else {
			put(b, from, lit);
			joiner = NULL;
			value_before = false;
		}
		if (has_value(v, i)) {
			if (joiner)
				put(b, joiner, joiner_len);
			put(b, v->v[i], strlen(v->v[i]));
			joiner = NULL;
			value_before = true;
		}
		after_placeholder = true;
		p += len - 1;
		from = p + 1;
	}
	put(b, from, (size_t)(p - from));
}

/* "Branch, \n" -> "Branch\n", ", \n" -> "\n", "( )" never made: an empty
 * value leaves no dangling separator at a line's end. */
static void tidy(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (r[0] == ',' && r[1] == ' ' && (r[2] == '\n' || r[2] == 0)) {
			r++;
			continue;
		}
		if (r[0] == ' ' && (r[1] == '\n' || r[1] == 0) && w > s && w[-1] != '\n')
			continue;
		*w++ = *r;
	}
	*w = 0;
}

int templates_render(const char *tpl, const kt_tpl_vars *v, int lang, bool sms, bool marketing, char **out)
{
	buf b = {0};
	*out = NULL;
	if (lang < 0 || lang >= KT_MSG_LANG_COUNT)
		lang = 0;
	fill(&b, tpl ? tpl : "", v);
	if (marketing && !strstr(tpl ? tpl : "", "{unsubscribe_link}"))
		fill(&b, templates_footer[lang][sms ? 1 : 0], v);
	put(&b, "", 0);
	if (b.oom) {
		free(b.p);
		return KT_ENOMEM;
	}
	tidy(b.p);
	*out = b.p;
	return KT_OK;
}

/* ---- the organisation's own texts ---- */

static char *dup_col(sqlite3_stmt *q, int i)
{
	const unsigned char *t = sqlite3_column_text(q, i);
	return strdup(t ? (const char *)t : "");
}

int templates_get(kt_store *st, const char *org, int kind, int lang, bool sms, char **subject, char **body)
{
	sqlite3_stmt *q = store_prepare(st, "SELECT subject, body FROM message_template WHERE org_id = ?1 AND kind = ?2 "
					    "AND lang = ?3 AND channel = ?4");
	const char *bs, *bb;
	int rc;
	*subject = *body = NULL;
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, org, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, templates_kind_name(kind), -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, templates_lang_code(lang), -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, sms ? "sms" : "email", -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		*subject = dup_col(q, 0);
		*body = dup_col(q, 1);
		rc = KT_OK;
	} else
		rc = rc == SQLITE_DONE ? KT_ENOT_FOUND : KT_EIO;
	store_finish(st, q);
	if (rc == KT_ENOT_FOUND) {
		templates_builtin(kind, lang, sms, &bs, &bb);
		*subject = strdup(bs);
		*body = strdup(bb);
		rc = KT_OK;
	}
	if (!rc && (!*subject || !*body))
		rc = KT_ENOMEM;
	if (rc) {
		free(*subject);
		free(*body);
		*subject = *body = NULL;
	}
	return rc;
}

int templates_set(kt_store *st, const char *org, int kind, int lang, bool sms, const char *subject, const char *body,
		  char *why, size_t cap)
{
	sqlite3_stmt *q;
	int rc;
	bool clear = !body || !*body;
	if (lang < 0 || lang >= KT_MSG_LANG_COUNT)
		return snprintf(why, cap, "lang is one of " KT_MSG_LANGS), KT_EINVALID;
	if (kind < 0 || kind >= KT_MSG_KIND_COUNT)
		return snprintf(why, cap, "kind is one of " KT_MSG_KINDS), KT_EINVALID;
	if (!clear && (rc = templates_check(kind, sms, sms ? NULL : subject, body, why, cap)))
		return rc;
	q = store_prepare(st, clear ? "DELETE FROM message_template WHERE org_id = ?1 AND kind = ?2 AND lang = ?3 "
				      "AND channel = ?4"
				    : "INSERT INTO message_template(org_id, kind, lang, channel, subject, body, updated_at) "
				      "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(org_id, kind, lang, channel) DO "
				      "UPDATE SET subject = excluded.subject, body = excluded.body, "
				      "updated_at = excluded.updated_at");
	if (!q)
		return snprintf(why, cap, "the database cannot be written"), KT_EIO;
	sqlite3_bind_text(q, 1, org, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, templates_kind_name(kind), -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, templates_lang_code(lang), -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, sms ? "sms" : "email", -1, SQLITE_STATIC);
	if (!clear) {
		sqlite3_bind_text(q, 5, sms || !subject ? "" : subject, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 6, body, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 7, kt_now_ms());
	}
	rc = sqlite3_step(q) == SQLITE_DONE ? KT_OK : KT_EIO;
	store_finish(st, q);
	if (rc)
		snprintf(why, cap, "the database cannot be written");
	return rc;
}

int templates_list(kt_store *st, const char *org, kt_tpl_cb cb, void *user)
{
	sqlite3_stmt *q = store_prepare(st, "SELECT kind, lang, channel, subject, body, updated_at FROM message_template "
					    "WHERE org_id = ?1 ORDER BY kind, lang, channel");
	int rc;
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, org, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		int crc = cb(user, (const char *)sqlite3_column_text(q, 0), (const char *)sqlite3_column_text(q, 1),
			     (const char *)sqlite3_column_text(q, 2), (const char *)sqlite3_column_text(q, 3),
			     (const char *)sqlite3_column_text(q, 4), sqlite3_column_int64(q, 5));
		if (crc) {
			store_finish(st, q);
			return crc;
		}
	}
	store_finish(st, q);
	return rc == SQLITE_DONE ? KT_OK : KT_EIO;
}

int templates_when(const char *zone, int lang, const char *country, int64_t ms, char *date, size_t dcap, char *time,
		   size_t tcap)
{
	char locale[16];
	const char *code = templates_lang_code(lang);
	/* the language's form in the salon's country where ICU has one (de_AT,
	 * en_IE), else the language's own */
	if (country && strlen(country) == 2 && isupper((unsigned char)country[0]) && isupper((unsigned char)country[1]))
		snprintf(locale, sizeof locale, "%s_%s", code, country);
	else
		snprintf(locale, sizeof locale, "%s", code);
	return kt_time_format_styles(zone && *zone ? zone : "UTC", locale, ms, KT_STYLE_FULL, date, dcap,
				     KT_STYLE_SHORT, time, tcap);
}
