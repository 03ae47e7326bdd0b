/* handle_messages.c - the message ops of manage (PROTOCOL-plan.md):
 * message_preview, messages, message_counts, unconfirmed, message_settings,
 * set_template, templates, campaign. Decode, ask the policy (the role
 * first, then the target), call the planner's domain functions, answer
 * manage_result. Never answers with an address or a message text other
 * than a preview's or the organisation's own templates. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "domain/messages.h"
#include "domain/outbox_plan.h"
#include "domain/templates.h"
#include "server.h"
#include "handlers/handlers.h"
#include "conn/conn.h"

#define MESSAGES_MAX 200

static const char *const ops[] = {"message_preview", "messages",     "message_counts", "unconfirmed",
				  "message_settings", "set_template", "templates",      "campaign"};
enum { OP_PREVIEW, OP_MESSAGES, OP_COUNTS, OP_UNCONFIRMED, OP_SETTINGS, OP_SET_TEMPLATE, OP_TEMPLATES, OP_CAMPAIGN };

/* A string key as a C string (NULL when absent). */
static const char *str(const kt_str *v, char *buf, size_t cap)
{
	if (!v->s)
		return NULL;
	size_t n = v->len < cap - 1 ? v->len : cap - 1;
	memcpy(buf, v->s, n);
	buf[n] = 0;
	return buf;
}

static void refuse(kt_session *s, int code, const char *msg)
{
	session_error(s, code, msg, "manage", false);
}

static void answer(kt_session *s, const char *op, uint32_t npairs, kt_mpw *body)
{
	kt_server *srv = s->srv;
	frame_begin(srv);
	proto_message_result_encode(&srv->frame, op, npairs, body->sb.data, body->sb.size);
	if (session_queue_frame(s, false))
		session_error(s, KT_EBUSY, NULL, "manage", false);
}

/* An id key: KT_OK with it in out, or refused naming the key. */
static bool want_id(kt_session *s, const kt_str *v, const char *name, bool required, char out[KT_UUID_LEN + 1])
{
	char msg[96];
	out[0] = 0;
	if (!v->s && !required)
		return true;
	if (!v->s || !kt_uuid_valid(v->s, v->len)) {
		snprintf(msg, sizeof msg, "%s: %s id (a UUID)%s", name, !strcmp(name, "appointment") ? "an appointment's"
									: !strcmp(name, "client")    ? "a client's"
												     : "a location's",
			 required ? " is required" : "");
		refuse(s, KT_EINVALID, msg);
		return false;
	}
	memcpy(out, v->s, KT_UUID_LEN);
	out[KT_UUID_LEN] = 0;
	return true;
}

/* The location, of p's organisation, and within p's scope for a. */
static bool want_location(kt_session *s, kt_action a, const char *loc)
{
	kt_store *st = s->srv->st;
	sqlite3_stmt *q = store_prepare(st, "SELECT org_id FROM location WHERE id = ?1");
	bool found = false;
	if (q) {
		sqlite3_bind_text(q, 1, loc, -1, SQLITE_STATIC);
		found = sqlite3_step(q) == SQLITE_ROW && !strcmp((const char *)sqlite3_column_text(q, 0), s->principal.org);
		store_finish(st, q);
	}
	if (!found) {
		refuse(s, KT_ENOT_FOUND, "location: no such location");
		return false;
	}
	if (!policy_may_on(&s->principal, a, &(kt_target){NULL, -1, loc})) {
		refuse(s, KT_EDENIED, "location: not one of your locations");
		return false;
	}
	return true;
}

/* ---- the ops ---- */

static void op_preview(kt_session *s, const kt_message_op *m)
{
	char kind[40], lang[16], channel[24], appt[KT_UUID_LEN + 1], why[256] = "", *subject = NULL, *body = NULL;
	const char *ch = str(&m->channel, channel, sizeof channel);
	int k = templates_kind(str(&m->kind, kind, sizeof kind));
	int rc;
	if (k < 0)
		return refuse(s, KT_EINVALID, "kind: one of " KT_MSG_KINDS);
	if (ch && strcmp(ch, "email") && strcmp(ch, "sms"))
		return refuse(s, KT_EINVALID, "channel: email or sms");
	if (!want_id(s, &m->appointment, "appointment", false, appt))
		return;
	rc = messages_preview(s->srv->st, s->principal.org, k, str(&m->lang, lang, sizeof lang), ch && !strcmp(ch, "sms"),
			      appt[0] ? appt : NULL, &subject, &body, why, sizeof why);
	if (rc)
		return refuse(s, rc, why);
	kt_mpw w;
	kt_mpw_init(&w);
	kt_mpw_str(&w, "kind");
	kt_mpw_str(&w, kind);
	kt_mpw_str(&w, "subject");
	kt_mpw_str(&w, subject);
	kt_mpw_str(&w, "body");
	kt_mpw_str(&w, body);
	answer(s, ops[OP_PREVIEW], 3, &w);
	kt_mpw_free(&w);
	free(subject);
	free(body);
}

struct pack {
	kt_mpw *w;
	uint32_t n;
};

static int pack_message(void *user, const kt_msg_row *r)
{
	struct pack *p = user;
	kt_mpw *w = p->w;
	p->n++;
	kt_mpw_map(w, 8);
	kt_mpw_str(w, "id");
	kt_mpw_int(w, r->id);
	kt_mpw_str(w, "kind");
	kt_mpw_str(w, r->kind);
	kt_mpw_str(w, "channel");
	kt_mpw_str(w, r->channel);
	kt_mpw_str(w, "state");
	kt_mpw_str(w, r->state);
	kt_mpw_str(w, "created_at");
	kt_mpw_int(w, r->created_at);
	kt_mpw_str(w, "due_at");
	kt_mpw_int(w, r->due_at);
	kt_mpw_str(w, "sent_at");
	if (r->sent_at)
		kt_mpw_int(w, r->sent_at);
	else
		kt_mpw_nil(w);
	kt_mpw_str(w, "drop_reason");
	kt_mpw_str(w, *r->drop_reason ? r->drop_reason : NULL);
	return 0;
}

/* A list answer: key: [maps packed into items], n of them. */
static void answer_list(kt_session *s, const char *op, const char *key, struct pack *p, kt_mpw *items)
{
	kt_mpw w;
	kt_mpw_init(&w);
	kt_mpw_str(&w, key);
	kt_mpw_array(&w, p->n);
	kt_mpw_raw(&w, items->sb.data, items->sb.size);
	answer(s, op, 1, &w);
	kt_mpw_free(&w);
}

static void op_messages(kt_session *s, const kt_message_op *m)
{
	kt_store *st = s->srv->st;
	char client[KT_UUID_LEN + 1];
	kt_row row;
	int rc;
	if (!want_id(s, &m->client, "client", true, client))
		return;
	/* the card through the store: only its organisation and branches are used */
	rc = store_row_load_some(st, kt_table_find("client", 6), client, NULL, 0, &row);
	if (rc == KT_OK && strcmp(row.org, s->principal.org)) {
		kt_row_free(&row);
		rc = KT_ENOT_FOUND;
	}
	if (rc)
		return refuse(s, rc == KT_ENOT_FOUND ? rc : KT_EIO, rc == KT_ENOT_FOUND ? "client: no such client" : NULL);
	bool may = policy_may_on(&s->principal, KT_ACT_CLIENT_MESSAGES, &(kt_target){client, KT_ROLE_CLIENT, row.locs});
	kt_row_free(&row);
	if (!may)
		return refuse(s, KT_EDENIED, "client: not known at your locations");
	kt_mpw items;
	struct pack p = {&items, 0};
	kt_mpw_init(&items);
	if ((rc = outbox_client_messages(st, client, MESSAGES_MAX, pack_message, &p)))
		refuse(s, KT_EIO, NULL);
	else
		answer_list(s, ops[OP_MESSAGES], "messages", &p, &items);
	kt_mpw_free(&items);
}

static int pack_count(void *user, const char *kind, const char *channel, const char *state, int64_t n)
{
	struct pack *p = user;
	p->n++;
	kt_mpw_map(p->w, 4);
	kt_mpw_str(p->w, "kind");
	kt_mpw_str(p->w, kind);
	kt_mpw_str(p->w, "channel");
	kt_mpw_str(p->w, channel);
	kt_mpw_str(p->w, "state");
	kt_mpw_str(p->w, state);
	kt_mpw_str(p->w, "n");
	kt_mpw_int(p->w, n);
	return 0;
}

static void op_counts(kt_session *s, const kt_message_op *m)
{
	char loc[KT_UUID_LEN + 1];
	if (!m->has_from || !m->has_to || m->bad_from || m->bad_to)
		return refuse(s, KT_EINVALID, "from, to: the period in ms since 1970 (UTC), from before to");
	if (m->from >= m->to)
		return refuse(s, KT_EINVALID, "from: must be before to");
	if (!want_id(s, &m->location, "location", false, loc))
		return;
	if (!loc[0] && policy_scope(&s->principal, KT_ACT_MESSAGE_COUNTS) != KT_SCOPE_ORG)
		return refuse(s, KT_EINVALID, "location: managers count one of their locations");
	if (loc[0] && !want_location(s, KT_ACT_MESSAGE_COUNTS, loc))
		return;
	kt_mpw items;
	struct pack p = {&items, 0};
	kt_mpw_init(&items);
	if (outbox_counts(s->srv->st, s->principal.org, loc[0] ? loc : NULL, m->from, m->to, pack_count, &p))
		refuse(s, KT_EIO, NULL);
	else
		answer_list(s, ops[OP_COUNTS], "counts", &p, &items);
	kt_mpw_free(&items);
}

static int pack_unconfirmed(void *user, const kt_unconfirmed *u)
{
	struct pack *p = user;
	kt_mpw *w = p->w;
	p->n++;
	kt_mpw_map(w, 7);
	kt_mpw_str(w, "id");
	kt_mpw_str(w, u->id);
	kt_mpw_str(w, "start_at");
	kt_mpw_int(w, u->start_at);
	kt_mpw_str(w, "client_id");
	kt_mpw_str(w, u->client_id);
	kt_mpw_str(w, "client_name");
	kt_mpw_str(w, u->client_name);
	kt_mpw_str(w, "phone");
	kt_mpw_str(w, *u->phone ? u->phone : NULL);
	kt_mpw_str(w, "specialist_name");
	kt_mpw_str(w, u->specialist_name);
	kt_mpw_str(w, "reminder_state");
	kt_mpw_str(w, u->reminder_state);
	return 0;
}

static void op_unconfirmed(kt_session *s, const kt_message_op *m)
{
	char loc[KT_UUID_LEN + 1], day[16], why[160] = "";
	if (!want_id(s, &m->location, "location", true, loc) || !want_location(s, KT_ACT_UNCONFIRMED, loc))
		return;
	if (!str(&m->day, day, sizeof day))
		messages_tomorrow(s->srv->st, loc, kt_now_ms(), day);
	kt_mpw items;
	struct pack p = {&items, 0};
	kt_mpw_init(&items);
	int rc = messages_unconfirmed(s->srv->st, loc, day, pack_unconfirmed, &p, why, sizeof why);
	if (rc)
		refuse(s, rc, why[0] ? why : NULL);
	else {
		kt_mpw w;
		kt_mpw_init(&w);
		kt_mpw_str(&w, "day");
		kt_mpw_str(&w, day);
		kt_mpw_str(&w, "appointments");
		kt_mpw_array(&w, p.n);
		kt_mpw_raw(&w, items.sb.data, items.sb.size);
		answer(s, ops[OP_UNCONFIRMED], 2, &w);
		kt_mpw_free(&w);
	}
	kt_mpw_free(&items);
}

static void pack_settings(kt_mpw *w, const kt_msg_settings *c)
{
	kt_mpw_map(w, 13);
	kt_mpw_str(w, "reminder1_min");
	kt_mpw_int(w, c->reminder1_min);
	kt_mpw_str(w, "reminder2_min");
	kt_mpw_int(w, c->reminder2_min);
	kt_mpw_str(w, "review_request_days");
	kt_mpw_int(w, c->review_request_days);
	kt_mpw_str(w, "review_request_marketing");
	kt_mpw_bool(w, c->review_request_marketing);
	kt_mpw_str(w, "birthday");
	kt_mpw_bool(w, c->birthday);
	kt_mpw_str(w, "quiet_from");
	kt_mpw_str(w, c->quiet_from);
	kt_mpw_str(w, "quiet_to");
	kt_mpw_str(w, c->quiet_to);
	kt_mpw_str(w, "daily_cap");
	kt_mpw_int(w, c->daily_cap);
	kt_mpw_str(w, "csat_every_days");
	kt_mpw_int(w, c->csat_every_days);
	kt_mpw_str(w, "nps_every_days");
	kt_mpw_int(w, c->nps_every_days);
	kt_mpw_str(w, "ces_every_days");
	kt_mpw_int(w, c->ces_every_days);
	kt_mpw_str(w, "survey_delay_min");
	kt_mpw_int(w, c->survey_delay_min);
	kt_mpw_str(w, "updated_at");
	if (c->updated_at)
		kt_mpw_int(w, c->updated_at);
	else
		kt_mpw_nil(w);
}

static void op_settings(kt_session *s, const kt_message_op *m)
{
	kt_store *st = s->srv->st;
	kt_msg_settings set;
	char why[320];
	int rc;
	if (m->nsettings && !policy_may(&s->principal, KT_ACT_SET_MESSAGE_SETTINGS))
		return refuse(s, KT_EDENIED, "only owners change the message settings");
	if (m->nsettings && (rc = store_begin(st)))
		return refuse(s, KT_EBUSY, "not saved; try again");
	if ((rc = messages_settings_get(st, s->principal.org, &set))) {
		if (m->nsettings)
			store_rollback(st);
		return refuse(s, KT_EIO, NULL);
	}
	for (int i = 0; i < m->nsettings; i++)
		if ((rc = messages_settings_apply(&set, m->settings[i].key, m->settings[i].value, why, sizeof why))) {
			store_rollback(st);
			return refuse(s, rc, why);
		}
	if (m->nsettings) {
		rc = messages_settings_save(st, s->principal.org, &set);
		if ((rc = store_end(st, rc, NULL, 0)))
			return refuse(s, KT_EIO, "not saved; try again");
	}
	kt_mpw w;
	kt_mpw_init(&w);
	kt_mpw_str(&w, "settings");
	pack_settings(&w, &set);
	answer(s, ops[OP_SETTINGS], 1, &w);
	kt_mpw_free(&w);
}

static void op_set_template(kt_session *s, const kt_message_op *m)
{
	char kind[40], lang[16], channel[24], subject[KT_MESSAGE_OP_MAX_SUBJECT + 1], why[512] = "";
	char *body = NULL;
	const char *ch = str(&m->channel, channel, sizeof channel);
	int k = templates_kind(str(&m->kind, kind, sizeof kind)), l = templates_lang(str(&m->lang, lang, sizeof lang));
	int rc;
	if (k < 0)
		return refuse(s, KT_EINVALID, "kind: one of " KT_MSG_KINDS);
	if (l < 0)
		return refuse(s, KT_EINVALID, "lang: one of " KT_MSG_LANGS);
	if (ch && strcmp(ch, "email") && strcmp(ch, "sms"))
		return refuse(s, KT_EINVALID, "channel: email or sms");
	if (!m->body.s)
		return refuse(s, KT_EINVALID, "body: the text (\"\" goes back to the built-in text)");
	if (!(body = strndup(m->body.s, m->body.len)))
		return refuse(s, KT_ENOMEM, NULL);
	rc = templates_set(s->srv->st, s->principal.org, k, l, ch && !strcmp(ch, "sms"),
			   str(&m->subject, subject, sizeof subject), body, why, sizeof why);
	free(body);
	if (rc)
		return refuse(s, rc, why);
	kt_mpw w;
	kt_mpw_init(&w);
	kt_mpw_str(&w, "kind");
	kt_mpw_str(&w, kind);
	kt_mpw_str(&w, "lang");
	kt_mpw_str(&w, lang);
	kt_mpw_str(&w, "channel");
	kt_mpw_str(&w, ch ? ch : "email");
	answer(s, ops[OP_SET_TEMPLATE], 3, &w);
	kt_mpw_free(&w);
}

static int pack_template(void *user, const char *kind, const char *lang, const char *channel, const char *subject,
			 const char *body, int64_t updated_at)
{
	struct pack *p = user;
	p->n++;
	kt_mpw_map(p->w, 6);
	kt_mpw_str(p->w, "kind");
	kt_mpw_str(p->w, kind);
	kt_mpw_str(p->w, "lang");
	kt_mpw_str(p->w, lang);
	kt_mpw_str(p->w, "channel");
	kt_mpw_str(p->w, channel);
	kt_mpw_str(p->w, "subject");
	kt_mpw_str(p->w, subject);
	kt_mpw_str(p->w, "body");
	kt_mpw_str(p->w, body);
	kt_mpw_str(p->w, "updated_at");
	kt_mpw_int(p->w, updated_at);
	return 0;
}

static void op_templates(kt_session *s)
{
	kt_mpw items;
	struct pack p = {&items, 0};
	kt_mpw_init(&items);
	if (templates_list(s->srv->st, s->principal.org, pack_template, &p))
		refuse(s, KT_EIO, NULL);
	else
		answer_list(s, ops[OP_TEMPLATES], "templates", &p, &items);
	kt_mpw_free(&items);
}

static void op_campaign(kt_session *s, const kt_message_op *m)
{
	char kind[40], channel[24], subject[KT_MESSAGE_OP_MAX_SUBJECT + 1], since[16], loc[KT_UUID_LEN + 1];
	char id[KT_UUID_LEN + 1], why[512] = "", *body = NULL;
	int planned = 0, rc;
	const char *k = str(&m->kind, kind, sizeof kind);
	kt_campaign c = {k && !strcmp(k, "reconsent") ? KT_MSG_RECONSENT : KT_MSG_CAMPAIGN,
			 str(&m->subject, subject, sizeof subject), NULL, str(&m->channel, channel, sizeof channel),
			 NULL, str(&m->visited_since, since, sizeof since)};
	if (k && strcmp(k, "campaign") && strcmp(k, "reconsent"))
		return refuse(s, KT_EINVALID, "kind: campaign or reconsent");
	if (!want_id(s, &m->audience_location, "location", false, loc))
		return;
	if (loc[0] && !want_location(s, KT_ACT_CAMPAIGN, loc))
		return;
	c.location = loc[0] ? loc : NULL;
	if (m->body.s && !(body = strndup(m->body.s, m->body.len)))
		return refuse(s, KT_ENOMEM, NULL);
	c.body = body;
	store_set_actor(s->srv->st, "staff", s->principal.id, s->device, 0);
	rc = messages_campaign(s->srv->st, s->principal.org, &c, id, &planned, why, sizeof why);
	store_set_actor(s->srv->st, "system", NULL, NULL, 0);
	free(body);
	if (rc)
		return refuse(s, rc, why);
	kt_info("manage campaign: %d message(s) planned", planned);
	kt_mpw w;
	kt_mpw_init(&w);
	kt_mpw_str(&w, "id");
	kt_mpw_str(&w, id);
	kt_mpw_str(&w, "planned");
	kt_mpw_int(&w, planned);
	answer(s, ops[OP_CAMPAIGN], 2, &w);
	kt_mpw_free(&w);
}

bool handle_message_op(kt_session *s, const kt_manage *mg, const unsigned char *buf, size_t len)
{
	static const kt_action acts[] = {KT_ACT_READ_MESSAGE_SETTINGS, KT_ACT_CLIENT_MESSAGES,
					 KT_ACT_MESSAGE_COUNTS,        KT_ACT_UNCONFIRMED,
					 KT_ACT_READ_MESSAGE_SETTINGS, KT_ACT_SET_MESSAGE_SETTINGS,
					 KT_ACT_READ_MESSAGE_SETTINGS, KT_ACT_CAMPAIGN};
	kt_message_op m;
	char msg[96];
	int op = -1, rc;
	for (int i = 0; i < (int)(sizeof ops / sizeof ops[0]); i++)
		if (kt_mp_str_eq(mg->op.s, mg->op.len, ops[i]))
			op = i;
	if (op < 0)
		return false;
	/* the role first: a refusal does not depend on what the message names */
	if (!policy_may(&s->principal, acts[op])) {
		snprintf(msg, sizeof msg, "%s is not for a %s", ops[op],
			 s->principal.is_client ? "client" : kt_role_name(s->principal.role));
		refuse(s, KT_EDENIED, msg);
		return true;
	}
	if ((rc = proto_message_op_decode(buf, len, &m))) {
		refuse(s, rc, rc == KT_ETOO_LARGE ? "a value is too long (subject 200 bytes, body 16 KiB)"
						  : "a key has a value of the wrong type");
		return true;
	}
	switch (op) {
	case OP_PREVIEW: op_preview(s, &m); break;
	case OP_MESSAGES: op_messages(s, &m); break;
	case OP_COUNTS: op_counts(s, &m); break;
	case OP_UNCONFIRMED: op_unconfirmed(s, &m); break;
	case OP_SETTINGS: op_settings(s, &m); break;
	case OP_SET_TEMPLATE: op_set_template(s, &m); break;
	case OP_TEMPLATES: op_templates(s); break;
	case OP_CAMPAIGN: op_campaign(s, &m); break;
	}
	return true;
}
