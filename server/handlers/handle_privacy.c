/* handle_privacy.c - the privacy calls over the protocol: a client's data
 * export (owners; managers for clients at their locations; a signed-in
 * client for themself), a client's own erasure request, and for owners the
 * erasure itself, the pending requests and the erasure status. Reception
 * and specialists are refused: an export holds health data and the access
 * log, which the policy shows them neither of. Exports are built on the
 * export thread (export_worker.c); the rest runs on the loop thread like
 * handle_manage.c (a few rows each). */
#include <stdlib.h>
#include <string.h>
#include "sync/after_commit.h"
#include "domain/erasure.h"
#include "domain/export.h"
#include "server.h"
#include "handlers/export_worker.h"
#include "handlers/handlers.h"
#include "conn/conn.h"

typedef struct reply {
	kt_mpw body;
	uint32_t npairs;
} reply;

static void send_reply(kt_session *s, const kt_privacy *m, reply *r)
{
	kt_server *srv = s->srv;
	frame_begin(srv);
	proto_privacy_result_encode(&srv->frame, m, r->npairs, r->body.sb.data, r->body.sb.size);
	if (r->body.err || srv->frame.err)
		session_error(s, KT_ENOMEM, NULL, "privacy", false);
	else if (session_queue_frame(s, false))
		session_error(s, KT_EBUSY, NULL, "privacy", false);
}

static void pair_str(reply *r, const char *k, const char *v)
{
	kt_mpw_str(&r->body, k);
	kt_mpw_str(&r->body, v);
	r->npairs++;
}

static void pair_int(reply *r, const char *k, int64_t v)
{
	kt_mpw_str(&r->body, k);
	kt_mpw_int(&r->body, v);
	r->npairs++;
}

/* The client id of the call as text; false (error sent) when absent or
 * not a UUID. */
static bool client_arg(kt_session *s, const kt_privacy *m, char id[KT_UUID_LEN + 1])
{
	if (!m->client.s || !kt_uuid_valid(m->client.s, m->client.len)) {
		session_error(s, KT_EINVALID, "client must be a client id (UUID)", "privacy", false);
		return false;
	}
	memcpy(id, m->client.s, KT_UUID_LEN);
	id[KT_UUID_LEN] = 0;
	return true;
}

/* May this session's principal do a at all? Sends the refusal `what` if not. */
static bool may(kt_session *s, kt_action a, const char *what)
{
	if (policy_may(&s->principal, a))
		return true;
	session_error(s, KT_EDENIED, what, "privacy", false);
	return false;
}

/* A staff member may export this client (KT_ACT_EXPORT_CLIENT: an owner of
 * its organisation, a manager of one of its locations). Sends the error and returns false
 * otherwise (a client of another organisation does not exist for them). */
static bool staff_may_export(kt_session *s, const char *id)
{
	kt_principal *p = &s->principal;
	const kt_table *t = kt_table_find("client", 6);
	kt_row row;
	bool ok = false, loaded;
	int rc;

	if (!may(s, KT_ACT_EXPORT_CLIENT,
		 "only owners and managers export a client's data (it holds health data and the access log)"))
		return false;
	if (erasure_is_placeholder(s->srv->st, id)) {
		session_error(s, KT_EINVALID, "this is the placeholder of erased clients, not a client", "privacy", false);
		return false;
	}
	rc = store_row_load(s->srv->st, t, id, &row);
	loaded = rc == KT_OK; /* freed below whatever rc becomes: another organisation's row too */
	if (rc == KT_OK && strcmp(row.org, p->org) != 0)
		rc = KT_ENOT_FOUND;
	if (rc == KT_ENOT_FOUND)
		session_error(s, rc, "no such client", "privacy", false);
	else if (rc)
		session_error(s, KT_EIO, NULL, "privacy", false);
	else if (!(ok = policy_may_on(p, KT_ACT_EXPORT_CLIENT, &(kt_target){id, KT_ROLE_CLIENT, row.locs})))
		session_error(s, KT_EDENIED, "not a client of your locations", "privacy", false);
	if (loaded)
		kt_row_free(&row);
	return ok;
}

static void op_export(kt_session *s, const kt_privacy *m)
{
	kt_server *srv = s->srv;
	kt_principal *p = &s->principal;
	char id[KT_UUID_LEN + 1], *doc = NULL;
	int rc;

	if (p->is_client) {
		if (m->client.s && !kt_mp_str_eq(m->client.s, m->client.len, p->id)) {
			session_error(s, KT_EDENIED, "a client may export only their own data", "privacy", false);
			return;
		}
		snprintf(id, sizeof id, "%s", p->id);
	} else if (!client_arg(s, m, id) || !staff_may_export(s, id))
		return;
	if (s->export_doc) {
		session_error(s, KT_EBUSY, "an export is still being sent to this device; wait for its last part",
			      "privacy", false);
		return;
	}
	rc = export_worker_submit(srv, s, id); /* answered by privacy_export_done */
	if (rc == KT_EBUSY || rc == KT_ENOMEM) {
		session_error(s, KT_EBUSY, "too many exports are being built; try again", "privacy", false);
	} else if (rc) { /* no export thread: build it here */
		store_set_actor(srv->st, p->is_client ? "client" : "staff", p->id, s->device, 0);
		rc = export_client_as(srv->st, id, p, &doc);
		store_set_actor(srv->st, "system", NULL, NULL, 0);
		privacy_export_done(s, id, rc, doc);
		free(doc);
	}
}

static void op_erasure_request(kt_session *s, kt_privacy *m)
{
	kt_principal *p = &s->principal;
	char by[KT_UUID_LEN + 8];
	int64_t at = 0;
	reply r = {.npairs = 0};
	int rc;

	if (!may(s, KT_ACT_REQUEST_ERASURE, "erasure_request is the client's own; owners erase with op erase"))
		return;
	if (m->client.s && !kt_mp_str_eq(m->client.s, m->client.len, p->id)) {
		session_error(s, KT_EDENIED, "a client may ask only for their own erasure", "privacy", false);
		return;
	}
	m->client.s = p->id;
	m->client.len = strlen(p->id);
	snprintf(by, sizeof by, "client:%s", p->id);
	store_set_actor(s->srv->st, "client", p->id, s->device, 0);
	rc = erasure_request(s->srv->st, p->id, by, &at);
	store_set_actor(s->srv->st, "system", NULL, NULL, 0);
	if (rc) {
		session_error(s, rc == KT_EBUSY ? rc : KT_EIO, "the request was not saved; try again", "privacy", false);
		return;
	}
	kt_mpw_init(&r.body);
	pair_str(&r, "status", "pending");
	pair_int(&r, "requested_at", at);
	pair_int(&r, "due_at", erasure_due_at(at));
	send_reply(s, m, &r);
	kt_mpw_free(&r.body);
}

/* Was client id erased (or asked to be) in org? */
static int noop_info(void *user, const kt_erasure_info *e)
{
	*(bool *)user = !strcmp(e->status, "done");
	return 0;
}
static int noop_dev(void *user, const kt_erasure_device *d)
{
	(void)user;
	(void)d;
	return 0;
}

static void op_erase(kt_session *s, kt_privacy *m)
{
	kt_server *srv = s->srv;
	kt_principal *p = &s->principal;
	char id[KT_UUID_LEN + 1], by[KT_UUID_LEN + 8];
	kt_erasure_result res;
	reply r = {.npairs = 0};
	kt_row row;
	bool done = false;
	int rc;

	if (!may(s, KT_ACT_ERASE_CLIENT, "only owners erase clients") || !client_arg(s, m, id))
		return;
	rc = store_row_load(srv->st, kt_table_find("client", 6), id, &row);
	if (rc == KT_OK) {
		if (strcmp(row.org, p->org) != 0)
			rc = KT_ENOT_FOUND;
		kt_row_free(&row);
	} else if (rc == KT_ENOT_FOUND && erasure_status(srv->st, id, p->org, noop_info, noop_dev, &done) == KT_OK &&
		   done)
		rc = KT_ECONFLICT;
	if (rc) {
		session_error(s, rc == KT_ENOT_FOUND || rc == KT_ECONFLICT ? rc : KT_EIO,
			      rc == KT_ENOT_FOUND ? "no such client" : rc == KT_ECONFLICT ? "this client was erased already" : NULL,
			      "privacy", false);
		return;
	}
	snprintf(by, sizeof by, "staff:%s", p->id);
	store_set_actor(srv->st, "staff", p->id, s->device, 0);
	rc = erasure_erase(srv->st, id, by, &res);
	store_set_actor(srv->st, "system", NULL, NULL, 0);
	if (rc) {
		session_error(s, rc == KT_EINVALID || rc == KT_ECONFLICT || rc == KT_EBUSY ? rc : KT_EIO,
			      rc == KT_EINVALID ? "this is the placeholder of erased clients, not a client"
			      : rc == KT_ECONFLICT ? "this client was erased already"
						   : "not erased; try again",
			      "privacy", false);
		return;
	}
	kt_info("session %llu: client erased (erasure %lld, %d devices to purge)", (unsigned long long)s->id,
		(long long)res.id, res.devices);
	kt_mpw_init(&r.body);
	pair_int(&r, "erasure", res.id);
	pair_int(&r, "seq", res.seq);
	pair_int(&r, "visits_deleted", res.visits);
	pair_int(&r, "appointments_kept", res.appointments);
	pair_int(&r, "devices", res.devices);
	send_reply(s, m, &r);
	kt_mpw_free(&r.body);
	after_commit(srv); /* the deletes go out now; the client's connections close */
}

struct list_ctx {
	kt_mpw *w;
	uint32_t n;
};

static int pack_pending(void *user, const kt_erasure_info *e)
{
	struct list_ctx *c = user;
	kt_mpw_map(c->w, 4);
	kt_mpw_str(c->w, "client");
	kt_mpw_str(c->w, e->client_id);
	kt_mpw_str(c->w, "requested_at");
	kt_mpw_int(c->w, e->requested_at);
	kt_mpw_str(c->w, "due_at");
	kt_mpw_int(c->w, erasure_due_at(e->requested_at));
	kt_mpw_str(c->w, "requested_by");
	kt_mpw_str(c->w, e->requested_by);
	c->n++;
	return 0;
}

static void op_pending(kt_session *s, kt_privacy *m)
{
	kt_mpw items;
	struct list_ctx c = {&items, 0};
	reply r = {.npairs = 0};
	if (!may(s, KT_ACT_SEE_ERASURES, "only owners see erasure requests"))
		return;
	kt_mpw_init(&items);
	if (erasure_list_pending(s->srv->st, s->principal.org, pack_pending, &c)) {
		session_error(s, KT_EIO, NULL, "privacy", false);
	} else {
		kt_mpw_init(&r.body);
		kt_mpw_str(&r.body, "erasures");
		kt_mpw_array(&r.body, c.n);
		kt_mpw_raw(&r.body, items.sb.data, items.sb.size);
		r.npairs++;
		send_reply(s, m, &r);
		kt_mpw_free(&r.body);
	}
	kt_mpw_free(&items);
}

struct status_ctx {
	reply *r;
	kt_mpw devs;
	uint32_t n;
};

static int pack_info(void *user, const kt_erasure_info *e)
{
	struct status_ctx *c = user;
	pair_str(c->r, "status", e->status);
	pair_int(c->r, "requested_at", e->requested_at);
	pair_int(c->r, "due_at", erasure_due_at(e->requested_at));
	pair_str(c->r, "requested_by", e->requested_by);
	kt_mpw_str(&c->r->body, "confirmed_by");
	e->confirmed_by[0] ? kt_mpw_str(&c->r->body, e->confirmed_by) : kt_mpw_nil(&c->r->body);
	c->r->npairs++;
	pair_int(c->r, "done_at", e->done_at);
	pair_int(c->r, "seq", e->seq);
	return 0;
}

static int pack_status_device(void *user, const kt_erasure_device *d)
{
	struct status_ctx *c = user;
	kt_mpw *w = &c->devs;
	kt_device_wire dw = {d->device_id, d->kind, d->principal_id, d->name, d->role, d->app, d->last_seen,
			     d->last_ack_seq};
	proto_device_begin(w, &dw, 3);
	kt_mpw_str(w, "state");
	kt_mpw_str(w, erasure_device_state(d));
	kt_mpw_str(w, "purged_at");
	d->purged_at ? kt_mpw_int(w, d->purged_at) : kt_mpw_nil(w);
	kt_mpw_str(w, "lost_at");
	d->lost_at ? kt_mpw_int(w, d->lost_at) : kt_mpw_nil(w);
	c->n++;
	return 0;
}

/* The newest erasure row of a client: whether it is an open request, and when. */
struct own_ctx {
	bool pending;
	int64_t requested_at;
};

static int own_info(void *user, const kt_erasure_info *e)
{
	struct own_ctx *c = user;
	c->pending = !strcmp(e->status, "pending");
	c->requested_at = e->requested_at;
	return 0;
}

/* A client asks about their own request: its state and dates only, none
 * of the devices or staff an owner's answer names. */
static void op_own_status(kt_session *s, kt_privacy *m)
{
	kt_principal *p = &s->principal;
	struct own_ctx c = {false, 0};
	reply r = {.npairs = 0};
	int rc;
	if (!may(s, KT_ACT_REQUEST_ERASURE, "the erasure status is the client's own; owners ask with client"))
		return;
	if (m->client.s && !kt_mp_str_eq(m->client.s, m->client.len, p->id)) {
		session_error(s, KT_EDENIED, "a client may ask only about their own erasure request", "privacy", false);
		return;
	}
	rc = erasure_status(s->srv->st, p->id, p->org, own_info, noop_dev, &c);
	if (rc == KT_OK && !c.pending)
		rc = KT_ENOT_FOUND;
	if (rc) {
		session_error(s, rc == KT_ENOT_FOUND ? rc : KT_EIO,
			      rc == KT_ENOT_FOUND ? "you have no open erasure request" : NULL, "privacy", false);
		return;
	}
	m->client.s = NULL; /* the answer names no one: it is the asker's */
	kt_mpw_init(&r.body);
	pair_str(&r, "status", "pending");
	pair_int(&r, "requested_at", c.requested_at);
	pair_int(&r, "due_at", erasure_due_at(c.requested_at));
	send_reply(s, m, &r);
	kt_mpw_free(&r.body);
}

static void op_status(kt_session *s, kt_privacy *m)
{
	char id[KT_UUID_LEN + 1];
	reply r = {.npairs = 0};
	struct status_ctx c = {.r = &r};
	int rc;
	if (s->principal.is_client) {
		op_own_status(s, m);
		return;
	}
	if (!may(s, KT_ACT_SEE_ERASURES, "only owners see the erasure status") || !client_arg(s, m, id))
		return;
	kt_mpw_init(&r.body);
	kt_mpw_init(&c.devs);
	rc = erasure_status(s->srv->st, id, s->principal.org, pack_info, pack_status_device, &c);
	if (rc) {
		session_error(s, rc == KT_ENOT_FOUND ? rc : KT_EIO,
			      rc == KT_ENOT_FOUND ? "no erasure of this client was requested or done" : NULL, "privacy",
			      false);
	} else {
		kt_mpw_str(&r.body, "devices");
		kt_mpw_array(&r.body, c.n);
		kt_mpw_raw(&r.body, c.devs.sb.data, c.devs.sb.size);
		r.npairs++;
		send_reply(s, m, &r);
	}
	kt_mpw_free(&c.devs);
	kt_mpw_free(&r.body);
}

int handle_privacy(kt_session *s, const unsigned char *buf, size_t len)
{
	kt_privacy m;
	int rc = proto_privacy_decode(buf, len, &m);

	if (rc) {
		session_error(s, rc, "privacy takes op and, for most ops, client", "privacy", false);
		return 0;
	}
	if (kt_mp_str_eq(m.op.s, m.op.len, "export"))
		op_export(s, &m);
	else if (kt_mp_str_eq(m.op.s, m.op.len, "erasure_request"))
		op_erasure_request(s, &m);
	else if (kt_mp_str_eq(m.op.s, m.op.len, "erase"))
		op_erase(s, &m);
	else if (kt_mp_str_eq(m.op.s, m.op.len, "erasure_pending"))
		op_pending(s, &m);
	else if (kt_mp_str_eq(m.op.s, m.op.len, "erasure_status"))
		op_status(s, &m);
	else
		session_error(s, KT_EINVALID, "op is export, erasure_request, erase, erasure_pending or erasure_status",
			      "privacy", false);
	return 0;
}
