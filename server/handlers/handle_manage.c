/* handle_manage.c - taking access away over the protocol (owners and
 * managers: manage) and a device signing itself out (logout). The
 * connections a revocation concerns are closed by revoke_poll
 * (after_commit.c), whoever wrote it. */
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "sync/after_commit.h"
#include "domain/clients.h"
#include "domain/mail.h"
#include "domain/notice.h"
#include "domain/org.h"
#include "domain/revoke.h"
#include "domain/staff.h"
#include "server.h"
#include "handlers/handlers.h"
#include "conn/conn.h"

int handle_logout(kt_session *s, const unsigned char *buf, size_t len)
{
	kt_store *st = s->srv->st;
	int rc;
	(void)buf;
	(void)len;
	if (s->has_token) {
		store_set_actor(st, s->principal.is_client ? "client" : "staff", s->principal.id, s->device, 0);
		rc = revoke_session_token(st, s->token_hash, sizeof s->token_hash, s->device);
		store_set_actor(st, "system", NULL, NULL, 0);
		if (rc) {
			session_error(s, KT_EIO, "could not end the session; try again", "logout", false);
			return 0;
		}
		/* the token is dead for every connection that signed in with it, not
		 * only for the next resume */
		for (kt_session *o = s->srv->sessions; o; o = o->next)
			if (o != s && o->state != KT_SS_CLOSING && o->signed_in && o->has_token &&
			    !sodium_memcmp(o->token_hash, s->token_hash, sizeof s->token_hash))
				session_error(o, KT_EREVOKED, "signed out on this device (logout)", NULL, true);
	}
	kt_info("session %llu: signed out", (unsigned long long)s->id);
	session_error(s, KT_EREVOKED, "signed out", "logout", true);
	return 0;
}

struct pack_ctx {
	kt_mpw *w;
	uint32_t n;
};

static int pack_device(void *user, const kt_device_info *d)
{
	struct pack_ctx *c = user;
	kt_mpw *w = c->w;
	c->n++;
	kt_device_wire dw = {d->id, d->kind, d->principal_id, d->name, d->role, d->app, d->last_seen,
			     d->last_ack_seq};
	proto_device_begin(w, &dw, 3);
	kt_mpw_str(w, "first_seen");
	kt_mpw_int(w, d->first_seen);
	kt_mpw_str(w, "revoked");
	kt_mpw_bool(w, d->revoked);
	kt_mpw_str(w, "signed_in");
	kt_mpw_bool(w, d->signed_in);
	return 0;
}

/* ---- the setup ops: locations, staff, client cards (domain/org.c,
 * staff.c, clients.c; the admin command calls the same) ---- */

/* A string field of the message as a C string in buf (NULL when absent). */
static const char *field(const kt_str *v, char *buf, size_t cap)
{
	if (!v->s)
		return NULL;
	size_t n = v->len < cap - 1 ? v->len : cap - 1;
	memcpy(buf, v->s, n);
	buf[n] = 0;
	/* an embedded NUL: a value every field's own check refuses (one line, no control characters) */
	return memchr(v->s, 0, v->len) ? "\n" : buf;
}

static int pack_found(void *user, const char *id, const char *name)
{
	struct pack_ctx *c = user;
	c->n++;
	kt_mpw_map(c->w, 2);
	kt_mpw_str(c->w, "id");
	kt_mpw_str(c->w, id);
	kt_mpw_str(c->w, "name");
	kt_mpw_str(c->w, name);
	return 0;
}

static void answer_done(kt_session *s, const char *op, const char *id, int64_t expires, int32_t n, kt_mpw *body)
{
	kt_server *srv = s->srv;
	frame_begin(srv);
	proto_manage_done_encode(&srv->frame, op, id, expires, n, body ? body->sb.data : NULL, body ? body->sb.size : 0);
	if (session_queue_frame(s, false))
		session_error(s, KT_EBUSY, NULL, "manage", false);
}

/* The op named in m if it is one of these; false when it is not. */
static bool setup_op(kt_session *s, const kt_manage *m)
{
	static const char *const ops[] = {"create_location", "edit_location", "close_location", "invite_staff",
					  "reset_staff_password", "merge_clients", "find_clients", "set_staff_role",
					  "set_staff_locations"};
	kt_server *srv = s->srv;
	const kt_principal *p = &s->principal;
	char name[256], address[256], phone[256], tz[80], email[KT_MAX_EMAIL + 1], role[40], into[80], text[256];
	char id[KT_UUID_LEN + 1] = "", out[KT_UUID_LEN + 1] = "", err[256] = "";
	char locs[KT_MANAGE_MAX_LOCATIONS * (KT_UUID_LEN + 1)] = "";
	int op = -1, rc = KT_OK;
	int64_t expires = 0;

	for (int i = 0; i < (int)(sizeof ops / sizeof ops[0]); i++)
		if (kt_mp_str_eq(m->op.s, m->op.len, ops[i]))
			op = i;
	if (op < 0)
		return false;
	/* the role first: a refusal does not depend on what the message names */
	static const kt_action acts[] = {KT_ACT_MANAGE_LOCATION, KT_ACT_MANAGE_LOCATION, KT_ACT_MANAGE_LOCATION,
					 KT_ACT_INVITE_STAFF,    KT_ACT_RESET_STAFF_PASSWORD, KT_ACT_MERGE_CLIENTS,
					 KT_ACT_FIND_CLIENTS,   KT_ACT_SET_STAFF_ROLE,       KT_ACT_SET_STAFF_LOCATIONS};
	if (!policy_may(p, acts[op])) {
		snprintf(err, sizeof err, "%s is not for a %s", ops[op], p->is_client ? "client" : kt_role_name(p->role));
		session_error(s, KT_EDENIED, err, "manage", false);
		return true;
	}
	if (m->id.s) {
		if (!kt_uuid_valid(m->id.s, m->id.len)) {
			session_error(s, KT_EINVALID, "id must be a UUID", "manage", false);
			return true;
		}
		memcpy(id, m->id.s, KT_UUID_LEN);
	} else if (op != 0 && op != 3 && op != 6) {
		session_error(s, KT_EINVALID, "id is required for this op", "manage", false);
		return true;
	}
	kt_location_args la = {field(&m->name, name, sizeof name), field(&m->address, address, sizeof address),
			       field(&m->phone, phone, sizeof phone), field(&m->time_zone, tz, sizeof tz)};
	store_set_actor(srv->st, "staff", p->id, s->device, 0);
	switch (op) {
	case 0:
		rc = location_create(srv->st, p, p->org, &la, out, err, sizeof err);
		break;
	case 1:
		rc = location_edit(srv->st, p, p->org, id, &la, err, sizeof err);
		break;
	case 2:
		rc = location_close(srv->st, p, p->org, id, err, sizeof err);
		break;
	case 3:
	case 8: {
		size_t len = 0;
		for (int i = 0; i < m->nlocations; i++) {
			if (!kt_uuid_valid(m->locations[i].s, m->locations[i].len)) {
				rc = KT_EINVALID;
				snprintf(err, sizeof err, "locations: an array of location ids");
				break;
			}
			len += (size_t)snprintf(locs + len, sizeof locs - len, "%s%.*s", len ? "," : "", KT_UUID_LEN,
						m->locations[i].s);
		}
		if (rc)
			break;
		if (op == 8) {
			/* the whole list: an absent field is not an empty one */
			if (m->nlocations < 0) {
				rc = KT_EINVALID;
				snprintf(err, sizeof err, "locations: the whole list of where the person works");
			} else
				rc = staff_set_locations(srv->st, p, id, locs, err, sizeof err);
			break;
		}
		kt_invite_args a = {la.name, field(&m->email, email, sizeof email), field(&m->role, role, sizeof role),
				    la.phone, locs[0] ? locs : NULL};
		if (!srv->portal_cfg) {
			rc = KT_EINTERNAL;
			snprintf(err, sizeof err, "mail is not running");
			break;
		}
		rc = staff_invite(srv->st, p, srv->portal_cfg, srv->token_key, p->org, &a, out, &expires, err,
				  sizeof err);
		break;
	}
	case 4:
		if (!srv->portal_cfg) {
			rc = KT_EINTERNAL;
			snprintf(err, sizeof err, "mail is not running");
			break;
		}
		rc = staff_send_link(srv->st, p, srv->portal_cfg, srv->token_key, id, KT_SETUP_RESET, &expires, err,
				     sizeof err);
		if (!rc)
			memcpy(out, id, sizeof out);
		break;
	case 5:
		if (!field(&m->into, into, sizeof into) || !kt_uuid_valid(into, strlen(into))) {
			rc = KT_EINVALID;
			snprintf(err, sizeof err, "into: the id of the card to keep");
			break;
		}
		rc = client_merge(srv->st, p, p->org, into, id, err, sizeof err);
		if (!rc)
			memcpy(out, into, sizeof out);
		break;
	case 7:
		rc = staff_set_role(srv->st, p, id, field(&m->role, role, sizeof role), err, sizeof err);
		break;
	case 6: {
		if (m->text.len > KT_MANAGE_MAX_TEXT) {
			snprintf(err, sizeof err, "text: at most %d bytes", KT_MANAGE_MAX_TEXT);
			session_error(s, KT_ETOO_LARGE, err, "manage", false);
			store_set_actor(srv->st, "system", NULL, NULL, 0);
			return true;
		}
		kt_mpw body;
		struct pack_ctx pc = {&body, 0};
		char next[KT_UUID_LEN + 1];
		kt_mpw_init(&body);
		rc = client_find(srv->st, p, p->org, field(&m->text, text, sizeof text),
				 !m->limit ? 20 : m->limit < 1 || m->limit > KT_MANAGE_FIND_MAX ? -1 : (int)m->limit,
				 field(&m->after, into, sizeof into), KT_MANAGE_FIND_SCAN, pack_found, &pc, next, err,
				 sizeof err);
		store_set_actor(srv->st, "system", NULL, NULL, 0);
		if (!rc)
			answer_done(s, "find_clients", next[0] ? next : NULL, 0, (int32_t)pc.n, &body);
		else
			session_error(s, rc, err[0] ? err : NULL, "manage", false);
		kt_mpw_free(&body);
		return true;
	}
	}
	store_set_actor(srv->st, "system", NULL, NULL, 0);
	if (rc) {
		session_error(s, rc, err[0] ? err : NULL, "manage", false);
		return true;
	}
	if (op == 3 || op == 4)
		mail_kick(srv->mail);
	answer_done(s, ops[op], out[0] ? out : id[0] ? id : NULL, expires, -1, NULL);
	after_commit(srv); /* devices see the change now */
	return true;
}

/* set_privacy_notice {text}: the organisation's notice; "" clears it. The
 * text can be 64 KiB, so it is copied whole, not through field(). */
static bool notice_op(kt_session *s, const kt_manage *m)
{
	kt_server *srv = s->srv;
	const kt_principal *p = &s->principal;
	char err[256] = "", *text = NULL;
	int rc;
	if (!kt_mp_str_eq(m->op.s, m->op.len, "set_privacy_notice"))
		return false;
	if (!policy_may(p, KT_ACT_SET_PRIVACY_NOTICE)) {
		session_error(s, KT_EDENIED, "only owners set the privacy notice", "manage", false);
		return true;
	}
	if (!m->text.s) {
		session_error(s, KT_EINVALID, "text: the privacy notice as plain text, or \"\" to clear it", "manage",
			      false);
		return true;
	}
	if (m->text.len && memchr(m->text.s, 0, m->text.len)) {
		session_error(s, KT_EINVALID, "text: plain text without NUL characters", "manage", false);
		return true;
	}
	if (m->text.len && !(text = strndup(m->text.s, m->text.len))) {
		session_error(s, KT_ENOMEM, NULL, "manage", false);
		return true;
	}
	store_set_actor(srv->st, "staff", p->id, s->device, 0);
	rc = notice_set(srv->st, p, p->org, text, err, sizeof err);
	store_set_actor(srv->st, "system", NULL, NULL, 0);
	free(text);
	if (rc) {
		session_error(s, rc, err[0] ? err : NULL, "manage", false);
		return true;
	}
	answer_done(s, "set_privacy_notice", p->org, 0, -1, NULL);
	after_commit(srv); /* every device of the organisation gets the new row */
	return true;
}

/* May p do any of the manage ops? Asked before the op is read, so that
 * who may not manage at all hears that rather than about the op. */
static bool may_manage(const kt_principal *p)
{
	static const kt_action ops[] = {KT_ACT_LIST_DEVICES, KT_ACT_SIGN_OUT_DEVICE, KT_ACT_REVOKE_DEVICE,
					KT_ACT_MARK_DEVICE_LOST, KT_ACT_DEACTIVATE_STAFF, KT_ACT_MANAGE_LOCATION,
					KT_ACT_INVITE_STAFF, KT_ACT_RESET_STAFF_PASSWORD, KT_ACT_MERGE_CLIENTS,
					KT_ACT_FIND_CLIENTS, KT_ACT_SET_STAFF_ROLE, KT_ACT_SET_STAFF_LOCATIONS,
					KT_ACT_SET_PRIVACY_NOTICE, KT_ACT_SEE_STATS, KT_ACT_ANSWER_REVIEW};
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
		if (policy_may(p, ops[i]))
			return true;
	return false;
}

int handle_manage(kt_session *s, const unsigned char *buf, size_t len)
{
	kt_server *srv = s->srv;
	kt_principal *p = &s->principal;
	kt_manage m;
	char id[KT_UUID_LEN + 1] = "";
	kt_mpw body;
	struct pack_ctx pc = {&body, 0};
	int rc = proto_manage_decode(buf, len, &m);

	if (rc) {
		session_error(s, rc, "manage takes op and, for most ops, id", "manage", false);
		return 0;
	}
	/* the message ops (handle_messages.c): reception reads some of them too */
	if (handle_message_op(s, &m, buf, len))
		return 0;
	if (!may_manage(p)) {
		session_error(s, KT_EDENIED, "only owners and managers manage devices and staff", "manage", false);
		return 0;
	}
	if (setup_op(s, &m) || notice_op(s, &m) || handle_feedback_manage(s, buf, len, &m.op))
		return 0;
	bool list = kt_mp_str_eq(m.op.s, m.op.len, "list_devices");
	bool sign_out = kt_mp_str_eq(m.op.s, m.op.len, "sign_out_device");
	bool revoke = kt_mp_str_eq(m.op.s, m.op.len, "revoke_device");
	bool deactivate = kt_mp_str_eq(m.op.s, m.op.len, "deactivate_staff");
	bool lost = kt_mp_str_eq(m.op.s, m.op.len, "mark_device_lost");
	if (!list && !sign_out && !revoke && !deactivate && !lost) {
		session_error(s, KT_EINVALID,
			      "op is list_devices, sign_out_device, revoke_device, mark_device_lost, deactivate_staff, "
			      "create_location, edit_location, close_location, invite_staff, reset_staff_password, "
			      "merge_clients, find_clients, set_staff_role, set_staff_locations, set_privacy_notice, stats, "
			      "reviews, review_reply or review_set",
			      "manage", false);
		return 0;
	}
	kt_action a = list ? KT_ACT_LIST_DEVICES
		      : sign_out ? KT_ACT_SIGN_OUT_DEVICE
		      : revoke ? KT_ACT_REVOKE_DEVICE
		      : deactivate ? KT_ACT_DEACTIVATE_STAFF
				   : KT_ACT_MARK_DEVICE_LOST;
	if (!policy_may(p, a)) {
		session_error(s, KT_EDENIED,
			      lost ? "only owners mark a device lost" : "only owners and managers manage devices and staff",
			      "manage", false);
		return 0;
	}
	if (!list) {
		if (!m.id.s || !kt_uuid_valid(m.id.s, m.id.len)) {
			session_error(s, KT_EINVALID, "id must be a UUID", "manage", false);
			return 0;
		}
		memcpy(id, m.id.s, KT_UUID_LEN);
		if (deactivate && !strcmp(id, p->id)) {
			session_error(s, KT_EINVALID, "you cannot deactivate yourself", "manage", false);
			return 0;
		}
		rc = deactivate ? revoke_may_staff(srv->st, p, id) : revoke_may_device(srv->st, p, a, id);
		if (rc) {
			session_error(s, rc, rc == KT_EDENIED ? "not yours to manage" : "no such device or staff member",
				      "manage", false);
			return 0;
		}
		store_set_actor(srv->st, "staff", p->id, s->device, 0);
		rc = deactivate ? revoke_deactivate_staff(srv->st, id)
		     : lost     ? revoke_mark_lost(srv->st, id)
		     : revoke   ? revoke_device(srv->st, id)
				: revoke_sign_out_device(srv->st, id);
		store_set_actor(srv->st, "system", NULL, NULL, 0);
		if (rc) {
			session_error(s, rc == KT_EBUSY ? rc : KT_EIO, "not saved; try again", "manage", false);
			return 0;
		}
	}
	kt_mpw_init(&body);
	if (list)
		rc = revoke_list_devices(srv->st, p, pack_device, &pc);
	if (rc) {
		session_error(s, KT_EIO, NULL, "manage", false);
	} else {
		frame_begin(srv);
		proto_manage_result_encode(&srv->frame, &m, pc.n, body.sb.data, body.sb.size);
		if (session_queue_frame(s, false))
			session_error(s, KT_EBUSY, NULL, "manage", false);
	}
	kt_mpw_free(&body);
	if (!list)
		revoke_poll(srv); /* close the connections it concerns now (perhaps this one) */
	return 0;
}
