/* handle_manage.c - taking access away over the protocol (owners and
 * managers: manage) and a device signing itself out (logout). The
 * connections a revocation concerns are closed by revoke_poll
 * (after_commit.c), whoever wrote it. */
#include <string.h>
#include <sodium.h>
#include "sync/after_commit.h"
#include "domain/revoke.h"
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

/* May p do any of the manage ops? Asked before the op is read, so that
 * who may not manage at all hears that rather than about the op. */
static bool may_manage(const kt_principal *p)
{
	static const kt_action ops[] = {KT_ACT_LIST_DEVICES, KT_ACT_SIGN_OUT_DEVICE, KT_ACT_REVOKE_DEVICE,
					KT_ACT_MARK_DEVICE_LOST, KT_ACT_DEACTIVATE_STAFF};
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
	if (!may_manage(p)) {
		session_error(s, KT_EDENIED, "only owners and managers manage devices and staff", "manage", false);
		return 0;
	}
	bool list = kt_mp_str_eq(m.op.s, m.op.len, "list_devices");
	bool sign_out = kt_mp_str_eq(m.op.s, m.op.len, "sign_out_device");
	bool revoke = kt_mp_str_eq(m.op.s, m.op.len, "revoke_device");
	bool deactivate = kt_mp_str_eq(m.op.s, m.op.len, "deactivate_staff");
	bool lost = kt_mp_str_eq(m.op.s, m.op.len, "mark_device_lost");
	if (!list && !sign_out && !revoke && !deactivate && !lost) {
		session_error(s, KT_EINVALID,
			      "op is list_devices, sign_out_device, revoke_device, mark_device_lost or deactivate_staff",
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
