/* msg_message_ops.c - the keys of the message manage ops (manage
 * {op: message_preview | messages | message_counts | unconfirmed |
 * message_settings | set_template | templates | campaign, ...}) and their
 * answer manage_result {t, op, ...pairs}. The rest of manage is
 * msg_manage.c; both read the same frame, each its own keys. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "proto_internal.h"

struct ctx {
	kt_message_op *m;
	uint32_t seen;
};

/* A setting's value of any scalar type, as text: numbers in decimal,
 * booleans 1/0, strings as sent. */
static int read_setting(kt_mp *r, kt_message_op *m, const char *k, size_t kl)
{
	kt_msg_setting_wire *s;
	int64_t i;
	bool b;
	const char *str;
	size_t len;
	if (m->nsettings >= KT_MESSAGE_OP_SETTINGS)
		return KT_ETOO_LARGE;
	s = &m->settings[m->nsettings];
	memset(s, 0, sizeof *s);
	snprintf(s->key, sizeof s->key, "%.*s", (int)kl, k);
	switch (kt_mp_peek(r)) {
	case KT_MP_INT:
		if (kt_mp_read_int(r, &i))
			return KT_EMALFORMED;
		snprintf(s->value, sizeof s->value, "%lld", (long long)i);
		break;
	case KT_MP_BOOL:
		if (kt_mp_read_bool(r, &b))
			return KT_EMALFORMED;
		snprintf(s->value, sizeof s->value, "%d", b ? 1 : 0);
		break;
	case KT_MP_STR:
		if (kt_mp_read_str(r, &str, &len, sizeof s->value - 1))
			return KT_ETOO_LARGE;
		memcpy(s->value, str, len);
		s->value[len] = 0;
		break;
	default:
		return KT_EMALFORMED;
	}
	m->nsettings++;
	return KT_OK;
}

static int read_audience(kt_mp *r, kt_message_op *m)
{
	uint32_t n;
	if (kt_mp_read_map(r, &n))
		return KT_EMALFORMED;
	m->has_audience = true;
	for (uint32_t i = 0; i < n; i++) {
		const char *k;
		size_t kl;
		int rc;
		if (kt_mp_read_str(r, &k, &kl, 64))
			return KT_EMALFORMED;
		if (kt_mp_str_eq(k, kl, "location"))
			rc = proto_read_str(r, &m->audience_location, 64);
		else if (kt_mp_str_eq(k, kl, "visited_since"))
			rc = proto_read_str(r, &m->visited_since, 32);
		else
			rc = kt_mp_skip(r, KT_MAX_DEPTH) ? KT_EMALFORMED : KT_OK;
		if (rc)
			return rc;
	}
	return KT_OK;
}

static int key(void *user, const char *k, size_t kl, kt_mp *r)
{
	static const struct {
		const char *name;
		size_t off, max;
	} strs[] = {
		{"kind", offsetof(kt_message_op, kind), 32},
		{"lang", offsetof(kt_message_op, lang), 8},
		{"channel", offsetof(kt_message_op, channel), 16},
		{"appointment", offsetof(kt_message_op, appointment), 64},
		{"client", offsetof(kt_message_op, client), 64},
		{"location", offsetof(kt_message_op, location), 64},
		{"day", offsetof(kt_message_op, day), 32},
		{"subject", offsetof(kt_message_op, subject), KT_MESSAGE_OP_MAX_SUBJECT},
		{"body", offsetof(kt_message_op, body), KT_MESSAGE_OP_MAX_BODY},
	};
	static const char *const settings[] = {
		"reminder1_min",   "reminder2_min",  "review_request_days", "review_request_marketing",
		"birthday",        "quiet_from",     "quiet_to",            "daily_cap",
		"csat_every_days", "nps_every_days", "ces_every_days",      "survey_delay_min"};
	struct ctx *c = user;
	int n = (int)(sizeof strs / sizeof strs[0]);
	for (int i = 0; i < n; i++)
		if (kt_mp_str_eq(k, kl, strs[i].name))
			return proto_seen(&c->seen, i) ? KT_EMALFORMED
							: proto_read_str(r, (kt_str *)((char *)c->m + strs[i].off), strs[i].max);
	if (kt_mp_str_eq(k, kl, "from") || kt_mp_str_eq(k, kl, "to")) {
		bool from = k[0] == 'f';
		if (proto_seen(&c->seen, n + (from ? 0 : 1)))
			return KT_EMALFORMED;
		if (kt_mp_peek(r) != KT_MP_INT)
			return from ? (c->m->bad_from = true, kt_mp_skip(r, 1) ? KT_EMALFORMED : KT_OK)
				    : (c->m->bad_to = true, kt_mp_skip(r, 1) ? KT_EMALFORMED : KT_OK);
		return kt_mp_read_int(r, from ? &c->m->from : &c->m->to) ? KT_EMALFORMED
		       : (*(from ? &c->m->has_from : &c->m->has_to) = true, KT_OK);
	}
	if (kt_mp_str_eq(k, kl, "audience")) {
		if (proto_seen(&c->seen, n + 2))
			return KT_EMALFORMED;
		return read_audience(r, c->m);
	}
	for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++)
		if (kt_mp_str_eq(k, kl, settings[i]))
			return proto_seen(&c->seen, n + 3 + (int)i) ? KT_EMALFORMED : read_setting(r, c->m, k, kl);
	return KT_ENOT_FOUND;
}

int proto_message_op_decode(const void *buf, size_t len, kt_message_op *m)
{
	struct ctx c = {m, 0};
	memset(m, 0, sizeof *m);
	return proto_walk(buf, len, key, &c);
}

void proto_message_result_encode(kt_mpw *w, const char *op, uint32_t npairs, const void *body, size_t len)
{
	kt_mpw_map(w, 2 + npairs);
	kt_mpw_str(w, "t");
	kt_mpw_str(w, "manage_result");
	kt_mpw_str(w, "op");
	kt_mpw_str(w, op);
	kt_mpw_raw(w, body, len);
}
