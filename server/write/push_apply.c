/* push_apply.c - the writer side of a push: each mutation of a job is
 * applied in the writer's open transaction (row + change log + audit) or
 * refused with a reason, and its answer is recorded with it, so a replay
 * gets the first answer and changes nothing. A rejection never stops the
 * mutations behind it. Device clocks decide nothing. Never touches a
 * session: the loop answers once the transaction is committed.
 *
 * The steps of one mutation, in this order (the steps table below); the
 * first that answers ends it:
 *   1 replay   a recorded (person, device, mid): its first answer again
 *   2 decode   a known table, a canonical id, fields of their types
 *   3 load     the row (before any verdict: refusals are audited with it)
 *   4 shape    create or update, append-only tables, the fields' verdict
 *   5 policy   write policy per field, who creates rows, booking override
 *   6 exists   scoped load: the row exists (or not), is the writer's, base
 *   7 scope    write scope before and after, every row it names visible
 *   8 consent  consents are checked and recorded here
 *   9 merge    field-level merge against the versions since base
 *   9b review  a review's rules and the fields the server fills in (feedback.c)
 *  10 booking  the booking rules (ops.c)
 *  11 write    the row written, the answer packed and recorded */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sodium.h>
#include "db/audit.h"
#include "domain/consent.h"
#include "domain/feedback.h"
#include "sync/egress.h"
#include "sync/egress_check.h"
#include "domain/ops.h"
#include "write/push.h"
#include "write/push_apply.h"
#include "write/push_internal.h"
#include "db/validate.h"
#include "sync/rights.h"

/* ---- the rules ---- */

/* May p see row id of table tbl (as it is in this transaction)? */
static bool may_see(kt_store *st, const kt_principal *p, const char *tbl, const char *id)
{
	kt_row r;
	bool yes;
	if (store_row_load_some(st, kt_table_find(tbl, strlen(tbl)), id, NULL, 0, &r) != KT_OK)
		return false;
	yes = egress_row_visible(p, &r);
	kt_row_free(&r);
	return yes;
}

/* The override a mutation carries, checked: NULL and *code 0 when it has
 * none; NULL and *code set with why when it is refused; else the reason
 * (owned by the caller) and *rules, the booking rules it overrides (a
 * comma list of their names, ops.h). Only the roles that book (owner,
 * manager, reception) override. */
static char *override_reason(const kt_principal *p, const kt_table *t, const kt_mut *m, unsigned *rules, int *code,
			     char *why, size_t cap)
{
	*code = 0;
	*rules = 0;
	if (!m->ovr_rule.s && !m->ovr_bad)
		return NULL;
	*code = KT_EINVALID;
	if (m->ovr_bad)
		snprintf(why, cap, "override must be {rule: \"overlap\", reason: text}");
	else if (strcmp(t->name, "appointment"))
		snprintf(why, cap, "override: only appointments have a booking rule to override");
	else if (!(*rules = ops_rules_parse(m->ovr_rule.s, m->ovr_rule.len)))
		snprintf(why, cap, "override.rule must name booking rules, joined by commas: %s", ops_rule_names());
	else if (!ops_reason_valid(m->ovr_reason.s, m->ovr_reason.len))
		snprintf(why, cap, "override.reason must say why, in 1..%d bytes of text", OPS_MAX_REASON);
	else if (!policy_may(p, KT_ACT_OVERRIDE_BOOKING))
		*code = KT_EDENIED, snprintf(why, cap, "%s may not override the booking rules", kt_role_name(p->role));
	else {
		char *r = kt_strndup(m->ovr_reason.s, m->ovr_reason.len);
		*code = r ? 0 : KT_ENOMEM;
		return r;
	}
	*rules = 0;
	return NULL;
}

/* ---- where a write may land ---- */

/* The row as it is (row, NULL for a create) and as the write leaves it
 * (only location_id can move a row: staff and client links change through
 * the admin command and bookings) is inside p's write scope. */
static bool in_scope(const kt_principal *p, const kt_table *t, const kt_row *row, const char *id, const char *loc)
{
	const char *after = row ? row->locs : NULL;
	if (row && !policy_write_scope(p, t, row->locs))
		return false;
	if (t->route == KT_ROUTE_LOC_COL || t->route == KT_ROUTE_LOC_ROW)
		after = loc ? loc : "";
	else if (t->route == KT_ROUTE_LOC_OPT)
		after = loc && *loc ? loc : "*"; /* nil: the whole menu, every branch */
	else if (t->route == KT_ROUTE_VIA_STAFF)
		after = loc; /* the person's locations (NULL: no such person, check_refs says so) */
	else if (t->route == KT_ROUTE_SELF_LOC)
		after = id;
	/* a new client card is linked to the writer's branch when it is made */
	return !after || policy_write_scope(p, t, after);
}

static const char *scope_why(const kt_principal *p, const kt_table *t)
{
	(void)p;
	switch (t->route) {
	case KT_ROUTE_LOC_OPT:
		return "location_id: a manager changes only the services of their own locations, not those of "
		       "another branch nor of every location (location_id nil: the owner's)";
	case KT_ROUTE_SELF_LOC:
		return "a manager edits only their own locations";
	case KT_ROUTE_STAFF_LOCS:
		return "a manager edits only staff who work at their locations alone; the owner and staff of other "
		       "branches are the owner's";
	case KT_ROUTE_VIA_STAFF:
		return "staff_id: a manager sets the time off of staff who work at their locations alone";
	case KT_ROUTE_CLIENT_LOCS:
		return "this client is not known at your locations";
	default:
		return "location_id: the location is not one of yours";
	}
}

/* A visit's appointment is one of the same client (asked when either
 * changes; both are rows the writer may see by then). */
static int visit_appointment(push_ctx *c, const kt_table *t, const kt_row *row, const mut_fields *mf, char *msg,
			     size_t cap)
{
	const char *appt = push_val(row, mf, "appointment_id"), *client = push_val(row, mf, "client_id");
	bool changed = false;
	char *locs = NULL, owner[KT_UUID_LEN + 1];
	int rc;
	if (strcmp(t->name, "visit") || !appt)
		return KT_OK;
	for (int i = 0; i < mf->n; i++)
		changed |= (!strcmp(mf->name[i], "appointment_id") || !strcmp(mf->name[i], "client_id")) &&
			   (!row || !push_same_value(row, mf->col[i], mf->text[i]));
	if (!changed)
		return KT_OK;
	rc = store_row_routing(c->st, kt_table_find("appointment", 11), appt, &locs, owner);
	free(locs);
	if (rc && rc != KT_ENOT_FOUND)
		return rc;
	if (rc || !client || strcmp(owner, client)) {
		snprintf(msg, cap, "appointment_id names an appointment of another client (a visit's appointment is "
			 "one of the same client)");
		return KT_EINVALID;
	}
	return KT_OK;
}

/* Every row the mutation names (client_id, specialist_id, appointment_id,
 * services, location_id) is one p may see, in p's organisation. A row that
 * does not exist, one at another branch and one of another organisation get
 * the same answer, KT_ENOT_FOUND naming the field, so that a writer learns
 * nothing about rows outside their sight. Unchanged values of an update are
 * not asked again. KT_OK, a refusal (msg set) or a database error. */
static int check_refs(push_ctx *c, const kt_table *t, const kt_row *row, const mut_fields *mf, char *msg, size_t cap)
{
	const kt_principal *p = c->p;
	if (p->is_client)
		return KT_OK; /* a client writes only their own consents: consent.c refuses any other id alike */
	for (int i = 0; i < mf->n; i++) {
		const kt_table *rt = policy_ref_target(t, mf->col[i]);
		if (!rt || !mf->text[i] || !mf->text[i][0] || (row && push_same_value(row, mf->col[i], mf->text[i])))
			continue;
		for (const char *e = mf->text[i]; e;) {
			const char *comma = strchr(e, ','); /* a list column: one row per element */
			size_t n = comma ? (size_t)(comma - e) : strlen(e);
			char rid[KT_UUID_LEN + 1];
			kt_row r;
			bool visible = false;
			int rc = KT_ENOT_FOUND;
			if (kt_uuid_valid(e, n)) {
				memcpy(rid, e, n);
				rid[n] = 0;
				rc = store_row_load_some(c->st, rt, rid, NULL, 0, &r); /* its routing is enough */
			}
			if (rc && rc != KT_ENOT_FOUND)
				return rc;
			if (!rc) {
				visible = policy_row_visible(p, rt, r.locs, r.client, &r);
				kt_row_free(&r);
			}
			if (!visible) {
				snprintf(msg, cap, "%s: no such %s %s", mf->name[i],
					 !strcmp(rt->name, "staff") ? "staff member" : rt->name,
					 p->role == KT_ROLE_OWNER || !strcmp(rt->name, "service") ? "in your organisation"
					 : !strcmp(rt->name, "client")
						 ? "known at your locations (a client new to your branch gets a card made there)"
						 : "at your locations");
				return KT_ENOT_FOUND;
			}
			e = comma ? comma + 1 : NULL;
		}
	}
	return visit_appointment(c, t, row, mf, msg, cap);
}

/* ---- the steps of one mutation ---- */

/* One mutation on its way through the steps. */
typedef struct mut_run {
	const kt_mut *m;
	size_t start;                 /* where its answer begins in the body */
	const kt_table *t;
	bool create;
	char id[KT_UUID_LEN + 1];
	mut_fields mf;                /* as pushed (texts owned) */
	int frc;                      /* the fields' verdict, answered by step_shape */
	kt_row row;                   /* valid when have_row */
	bool have_row;
	const kt_row *route;          /* the row as loaded, for an answer's audit entry (NULL: none) */
	const kt_row *seen;           /* the row, when the writer may see it */
	const char *loc;              /* location_id as the write leaves it */
	char *reason;                 /* a booking override's reason (owned) */
	unsigned rules;               /* the booking rules it overrides (ops.h) */
	kt_booking_verdict verdict;   /* what the booking rules let through */
	char *staff_locs;             /* time off: its person's locations (owned) */
	char msg[256];
	mut_fields apply;             /* the fields that still apply after the merge (borrowed texts) */
	bool keep[MAX_FIELDS];        /* mf's fields kept by the merge */
	int nkeep, nconf, nsame;
	kt_review_fill fill;          /* a review: what the server adds (feedback.h) */
} mut_run;

/* A step returns true to go on; false when the mutation is answered (or
 * c->rc holds a database failure that rolls the batch back). */
typedef bool (*mut_step)(push_ctx *c, mut_run *r);

static bool refuse(push_ctx *c, mut_run *r, int code, const char *msg, const kt_row *route, bool current)
{
	c->rc = push_reject(c, r->m, r->start, code, msg, route, current, &r->mf);
	return false;
}

static bool fail(push_ctx *c, int rc)
{
	c->rc = rc;
	return false;
}

/* 1. the same mutation again: the first answer, nothing changes (a mid
 * above the device's highest recorded one cannot be a replay). A lower
 * mid never answered is applied like any other: a push refused with
 * io_error may come again after a later one applied. Except at or below
 * the highest mid whose answer retention deleted: whether it was applied
 * cannot be known any more, and mids grow with time, so it is older than
 * the window too: mutation_expired, never applied a second time. */
static bool step_replay(push_ctx *c, mut_run *r)
{
	bool answered;
	int rc;
	if (c->any_mid && r->m->mid > c->max_mid)
		return true;
	if ((rc = push_replay(c, r->m, &answered)))
		return fail(c, rc);
	if (!answered && r->m->mid <= c->pruned_mid)
		return refuse(c, r, KT_EMUTATION_EXPIRED,
			      "mid: answered longer ago than the server keeps answers (changelog_days); "
			      "not applied again",
			      NULL, false);
	return !answered;
}

/* 2. a table a device writes, a canonical id; the shape of f, then the
 * values themselves (validate.c, the rules of every write path). Refused
 * fields are answered by step_shape, once the row is loaded. */
static bool step_decode(push_ctx *c, mut_run *r)
{
	const kt_mut *m = r->m;
	r->t = kt_table_find(m->tbl.s, m->tbl.len);
	r->create = kt_mp_str_eq(m->op.s, m->op.len, "create");
	if (!r->t || !strcmp(r->t->name, "organisation"))
		return refuse(c, r, KT_EINVALID, "unknown table", NULL, false);
	if (!kt_uuid_valid(m->id.s, m->id.len))
		return refuse(c, r, KT_EINVALID, "ids are UUIDs in canonical lower-case form", NULL, false);
	memcpy(r->id, m->id.s, KT_UUID_LEN);
	r->id[KT_UUID_LEN] = 0;
	if ((r->frc = push_fields_read(r->t, m, &r->mf, r->msg, sizeof r->msg)) == KT_OK)
		r->frc = validate_fields(r->t, r->mf.f, r->mf.n, r->msg, sizeof r->msg);
	if (r->frc)
		push_fields_free(&r->mf);
	return true;
}

/* 3. the row and its scope (of its sealed fields only the ones this
 * mutation names are opened: for the before image and the current values
 * of an answer); every answer about it, refused or not, is audited with
 * its client and location */
static bool step_load(push_ctx *c, mut_run *r)
{
	int rc = store_row_load_some(c->st, r->t, r->id, r->mf.col, r->mf.n, &r->row);
	r->have_row = rc == KT_OK;
	if (rc && rc != KT_ENOT_FOUND)
		return fail(c, rc);
	r->route = r->have_row ? &r->row : NULL;
	r->seen = egress_row_visible(c->p, r->route) ? &r->row : NULL; /* another branch's or org's: not */
	return true;
}

/* 4. shape: the operation, append-only tables, the fields' verdict */
static bool step_shape(push_ctx *c, mut_run *r)
{
	if (!r->create && !kt_mp_str_eq(r->m->op.s, r->m->op.len, "update"))
		return refuse(c, r, KT_EINVALID, "op is create or update", r->route, false);
	if (!r->create && r->t->immutable)
		return refuse(c, r, KT_EAPPEND_ONLY, "consents are append-only: record a new grant or withdrawal instead",
			      r->route, false);
	if (r->frc)
		return refuse(c, r, r->frc, r->msg, r->route, false);
	return true;
}

/* 5. write policy, field by field; creating rows; a booking override */
static bool step_policy(push_ctx *c, mut_run *r)
{
	const kt_principal *p = c->p;
	int ocode;
	for (int i = 0; i < r->mf.n; i++)
		if (!policy_write(p->role, r->t, r->mf.col[i])) {
			snprintf(r->msg, sizeof r->msg, "%s may not change %s.%s", kt_role_name(p->role), r->t->name,
				 r->mf.name[i]);
			return refuse(c, r, KT_EDENIED, r->msg, r->route, true);
		}
	if (r->create && !policy_create(p->role, r->t)) {
		snprintf(r->msg, sizeof r->msg, "%s may not create %s rows%s", kt_role_name(p->role), r->t->name,
			 !strcmp(r->t->name, "location") ? ": a new branch is the owner's"
			 : !strcmp(r->t->name, "staff")  ? ": staff are added with the admin command"
							 : "");
		return refuse(c, r, KT_EDENIED, r->msg, r->route, true);
	}
	r->reason = override_reason(p, r->t, r->m, &r->rules, &ocode, r->msg, sizeof r->msg);
	if (ocode == KT_ENOMEM)
		return fail(c, ocode);
	if (ocode)
		return refuse(c, r, ocode, r->msg, r->route, true);
	return true;
}

/* 6. scoped load: the row exists (or not, for a create), is the writer's,
 * and the device saw a version of it; a create has what it needs */
static bool step_exists(push_ctx *c, mut_run *r)
{
	const char *missing;
	if (r->create && r->have_row) /* values only for a row the writer may see */
		return refuse(c, r, KT_ECONFLICT, "a row with this id exists", r->route, true);
	if (r->create) {
		if (!(missing = push_create_complete(r->t, &r->mf)))
			return true;
		snprintf(r->msg, sizeof r->msg, "a new %s needs %s", r->t->name, missing);
		return refuse(c, r, KT_EINVALID, r->msg, NULL, false);
	}
	if (!r->have_row)
		return refuse(c, r, KT_ENOT_FOUND, "no such row (deleted, or never synced)", NULL, false);
	if (!r->seen)
		return refuse(c, r, KT_EDENIED, "this row is not at your locations", r->route, false);
	if (r->m->base > r->row.version)
		return refuse(c, r, KT_EINVALID, "base version from the future", r->route, true);
	if (r->m->base < 1) /* rows start at version 1: base 0 saw nothing to update */
		return refuse(c, r, KT_EINVALID,
			      "base must be the row version you saw (a create is version 1); 0 is only for create",
			      r->route, true);
	if (r->mf.n == 0)
		return refuse(c, r, KT_EINVALID, "an update needs fields", r->route, true);
	return true;
}

static bool has_field(const mut_fields *mf, const char *name)
{
	for (int i = 0; i < mf->n; i++)
		if (!strcmp(mf->name[i], name))
			return true;
	return false;
}

/* 7. the row as it is and as it would be stays in the writer's scope, and
 * every row it names is one the writer may see */
static bool step_scope(push_ctx *c, mut_run *r)
{
	const kt_row *row = r->have_row ? &r->row : NULL;
	int rc;
	const char *where;
	r->loc = push_val(row, &r->mf, "location_id");
	where = r->loc;
	if (r->t->route == KT_ROUTE_LOC_OPT) /* a service: its list, or the one location of an older device */
		where = has_field(&r->mf, "location_ids") || !has_field(&r->mf, "location_id")
				? push_val(row, &r->mf, "location_ids")
				: r->loc;
	else if (r->t->route == KT_ROUTE_VIA_STAFF && push_val(row, &r->mf, "staff_id")) {
		char owner[KT_UUID_LEN + 1];
		rc = store_row_routing(c->st, kt_table_find("staff", 5), push_val(row, &r->mf, "staff_id"),
				       &r->staff_locs, owner);
		if (rc && rc != KT_ENOT_FOUND)
			return fail(c, rc);
		where = r->staff_locs;
	}
	/* a new review's place is its visit's (step_review: the client's own) */
	bool new_review = r->create && !strcmp(r->t->name, "review");
	if (r->t->route != KT_ROUTE_VIA_CLIENT && !new_review && !in_scope(c->p, r->t, row, r->id, where))
		return refuse(c, r, KT_EDENIED, scope_why(c->p, r->t), r->route, true);
	if ((rc = check_refs(c, r->t, row, &r->mf, r->msg, sizeof r->msg)))
		return rc == KT_EIO || rc == KT_ENOMEM ? fail(c, rc) : refuse(c, r, rc, r->msg, r->route, true);
	return true;
}

/* 8. consents: whose, which purpose, which source (consent.c), then
 * recorded with the server's own recorded_by/recorded_kind. A consent is
 * answered here; other tables go on. */
static bool step_consent(push_ctx *c, mut_run *r)
{
	const kt_principal *p = c->p;
	kt_consent cs;
	int64_t v = 0, retry = 0;
	const char *why = NULL, *why2 = r->msg;
	int rc;
	if (strcmp(r->t->name, "consent"))
		return true;
	if ((rc = consent_from_fields(r->mf.f, r->mf.n, &cs, &why)))
		why2 = why;
	else if ((rc = consent_check(c->st, p, &cs, r->msg, sizeof r->msg)))
		;
	else if (consent_unchanged(c->st, &cs, &v)) /* the state it already is: permanent history gains nothing */
		;
	else if (p->is_client && (rc = consent_client_budget(c->st, p->id, kt_now_ms(), &retry))) {
		if (rc == KT_ERATE_LIMITED)
			snprintf(r->msg, sizeof r->msg,
				 "a portal client records at most %d consent entries per hour; retry in %lld s",
				 KT_CLIENT_CONSENTS, (long long)(retry + 999) / 1000);
	} else if ((rc = consent_record(c->st, r->id, &cs, &v)) == KT_EINVALID)
		why2 = "the values were refused by the database"; /* nothing was written */
	if (rc == KT_EINVALID || rc == KT_EDENIED || rc == KT_ENOT_FOUND || rc == KT_ECONFLICT ||
	    rc == KT_ERATE_LIMITED)
		return refuse(c, r, rc, why2, NULL, false);
	if (rc)
		return fail(c, rc); /* a database failure: the batch is rolled back */
	push_applied(c, r->m, v, false);
	c->rc = push_record(c, r->m, r->start, NULL);
	return false;
}

/* 9. field-level merge: a field already holding the value changes nothing
 * (and conflicts with nobody); fields changed by someone else since base
 * are not ours to overwrite; one's own earlier edits, from any of one's
 * devices, are not someone else's */
static bool step_merge(push_ctx *c, mut_run *r)
{
	const mut_fields *mf = &r->mf;
	r->nkeep = mf->n;
	for (int i = 0; i < mf->n; i++)
		r->keep[i] = true;
	if (!r->create) {
		int64_t fv[MAX_FIELDS];
		store_row_field_versions(&r->row, mf->name, mf->n, c->p->id, c->device, fv);
		for (int i = 0; i < mf->n; i++)
			if (push_same_value(&r->row, mf->col[i], mf->text[i]) || fv[i] > r->m->base) {
				r->keep[i] = false;
				r->nkeep--;
				if (push_same_value(&r->row, mf->col[i], mf->text[i]))
					r->nsame++;
				else
					r->nconf++;
			}
	}
	r->apply = *mf;
	r->apply.n = 0;
	for (int i = 0; i < mf->n; i++)
		if (r->keep[i]) {
			int k = r->apply.n++;
			r->apply.name[k] = mf->name[i];
			r->apply.col[k] = mf->col[i];
			r->apply.text[k] = mf->text[i];
			r->apply.f[k] = mf->f[i];
		}
	if (r->nkeep == 0 && r->nsame == 0)
		return refuse(c, r, KT_ECONFLICT, "every field was changed by someone else since your version", r->route,
			      true);
	return true;
}

/* 9b. a review: the client's own visit, once; a week to change it; a reply
 * signed by its writer. The fields the server fills in join what applies. */
static bool step_review(push_ctx *c, mut_run *r)
{
	int rc;
	if (strcmp(r->t->name, "review") || !r->nkeep)
		return true;
	rc = feedback_review_push(c->st, c->p, r->have_row ? &r->row : NULL, r->apply.f, r->apply.n, kt_now_ms(),
				  &r->fill, r->msg, sizeof r->msg);
	if (rc == KT_EIO || rc == KT_ENOMEM)
		return fail(c, rc);
	if (rc)
		return refuse(c, r, rc, r->msg, r->route, r->have_row);
	for (int i = 0; i < r->fill.n && r->apply.n < MAX_FIELDS; i++) {
		int k = r->apply.n++;
		r->apply.name[k] = r->fill.f[i].name;
		r->apply.col[k] = kt_col_index(r->t, r->fill.f[i].name);
		r->apply.text[k] = (char *)r->fill.f[i].text;
		r->apply.f[k] = r->fill.f[i];
	}
	if (r->create)
		r->loc = r->fill.loc;
	return true;
}

/* Does the write move the appointment (time, place, who, what)? A status
 * or note edit does not: the rules of time are not asked again. */
static bool moves_slot(const mut_run *r)
{
	static const char *const cols[] = {"location_id", "specialist_id", "start_at", "duration_min", "services"};
	if (r->create)
		return true;
	for (int i = 0; i < r->apply.n; i++)
		for (size_t k = 0; k < sizeof cols / sizeof cols[0]; k++)
			if (!strcmp(r->apply.name[i], cols[k]) &&
			    !push_same_value(&r->row, r->apply.col[i], r->apply.text[i]))
				return true;
	return false;
}

static bool status_active(const char *s)
{
	return s && (!strcmp(s, "booked") || !strcmp(s, "confirmed"));
}

/* Does the write touch what the booking rules look at? A status change
 * counts only when it brings a cancelled, no-show or done appointment
 * back into the calendar: confirming one that was booked anyway (an
 * override) must not refuse it for the overlap it was booked with. */
static bool touches_booking(const mut_run *r)
{
	static const char *const cols[] = {"location_id", "specialist_id", "client_id", "start_at",
					   "duration_min", "services"};
	if (r->create)
		return true;
	for (int i = 0; i < r->apply.n; i++) {
		if (!strcmp(r->apply.name[i], "status")) {
			int c = r->have_row ? kt_col_index(r->row.t, "status") : -1;
			const char *was = c >= 0 && !r->row.v[c].null ? r->row.v[c].s : NULL;
			if (status_active(r->apply.text[i]) && !status_active(was))
				return true;
			continue;
		}
		for (size_t k = 0; k < sizeof cols / sizeof cols[0]; k++)
			if (!strcmp(r->apply.name[i], cols[k]))
				return true;
	}
	return false;
}

/* 10. booking rules (ops.c: the same for every path that writes appointments);
 * a time off's period as the write leaves it */
static bool step_booking(push_ctx *c, mut_run *r)
{
	const kt_row *row = r->have_row ? &r->row : NULL;
	const mut_fields *a = &r->apply;
	int rc;
	if (!strcmp(r->t->name, "time_off") && r->nkeep &&
	    push_val_int(row, a, "from_at") >= push_val_int(row, a, "to_at")) /* one of the two moved past the other */
		return refuse(c, r, KT_EINVALID, "from_at must be before to_at", r->route, true);
	if (strcmp(r->t->name, "appointment") || !r->nkeep || !touches_booking(r))
		return true;
	kt_booking b = {c->p->org,
			push_val(row, a, "location_id"),
			push_val(row, a, "client_id"),
			push_val(row, a, "specialist_id"),
			push_val(row, a, "services"),
			push_val_int(row, a, "start_at"),
			push_val_int(row, a, "duration_min"),
			push_val(row, a, "status"),
			!moves_slot(r)};
	if (!(rc = ops_booking_check(c->st, r->id, &b, r->reason ? r->rules : 0, &r->verdict, r->msg,
				     sizeof r->msg)))
		return true;
	if (rc == KT_ECONFLICT && r->verdict.other[0] && !may_see(c->st, c->p, "appointment", r->verdict.other))
		/* the rule, without the id of an appointment the writer may not see */
		snprintf(r->msg, sizeof r->msg, "the specialist is already booked then (an appointment at a "
						 "location you do not see)");
	if (rc == KT_EBUFFER_OVERLAP && r->verdict.other[0] && !may_see(c->st, c->p, "appointment", r->verdict.other))
		snprintf(r->msg, sizeof r->msg, "the specialist's buffer time between bookings runs into an "
						 "appointment at a location you do not see (buffer)");
	return rc == KT_EIO ? fail(c, rc) : refuse(c, r, rc, r->msg, r->route, true);
}

/* The row and its links, written; *v the version it is at after (the
 * current one when nothing changes). */
static int write_row(push_ctx *c, mut_run *r, int64_t *v)
{
	kt_store *st = c->st;
	const kt_principal *p = c->p;
	const mut_fields *a = &r->apply;
	int rc = KT_OK;
	*v = r->have_row ? r->row.version : 0;
	if (r->create) {
		rc = store_insert(st, r->t->name, r->id, p->org, a->f, a->n, v);
		if (!rc && (r->t->route == KT_ROUTE_LOC_COL) && push_val(NULL, a, "client_id"))
			rc = store_link_client_location(st, push_val(NULL, a, "client_id"), r->loc);
		if (!rc && r->t->route == KT_ROUTE_CLIENT_LOCS && p->role != KT_ROLE_OWNER) {
			/* a new card is known at the branch that made it */
			char first[KT_UUID_LEN + 1] = "";
			snprintf(first, sizeof first, "%.*s", (int)strcspn(p->locs, ","), p->locs);
			rc = store_link_client_location(st, r->id, first);
		}
	} else if (r->nkeep)
		rc = store_update_loaded(st, &r->row, r->id, a->f, a->n, v);
	return rc;
}

/* 11. write and record: row + change log + audit, as this person on this
 * device (push_apply_step set the actor: rejections are theirs too). Only
 * conflicts carry values. */
static bool step_write(push_ctx *c, mut_run *r)
{
	int64_t v;
	int rc = write_row(c, r, &v);
	if (rc == KT_EINVALID || rc == KT_ECONFLICT || rc == KT_ENOT_FOUND)
		return refuse(c, r, rc, "the values were refused by the database", r->route, true);
	if (!rc && r->verdict.overridden) /* a booking rule broken on purpose, and why */
		rc = ops_booking_override_record(c->st, c->p->org, r->id,
						 push_val(r->have_row ? &r->row : NULL, &r->apply, "client_id"), r->loc,
						 &r->verdict, r->reason);
	if (rc)
		return fail(c, rc);
	push_applied(c, r->m, v, r->nconf > 0);
	if (r->nconf) {
		bool conf[MAX_FIELDS];
		for (int i = 0; i < r->mf.n; i++)
			conf[i] = !r->keep[i] && !push_same_value(&r->row, r->mf.col[i], r->mf.text[i]);
		egress_fields(c->body, c->p, &r->row, r->mf.col, r->mf.n, conf);
	}
	c->rc = push_record(c, r->m, r->start, r->have_row && r->nconf ? &r->row : NULL);
	return false;
}

/* The order of the checks; a step may answer and stop (see the top). */
static const mut_step steps[] = {
	step_replay, step_decode, step_load, step_shape,   step_policy, step_exists,
	step_scope,  step_consent, step_merge, step_review, step_booking, step_write,
};

static void apply_one(push_ctx *c, const kt_mut *m)
{
	mut_run r;
	if (c->rc)
		return;
	memset(&r, 0, sizeof r);
	r.m = m;
	r.start = c->body->sb.size;
	for (size_t i = 0; i < sizeof steps / sizeof steps[0] && steps[i](c, &r); i++)
		;
	free(r.reason);
	free(r.staff_locs);
	push_fields_free(&r.mf);
	if (r.have_row)
		kt_row_free(&r.row);
}

/* Views recorded lately, so that opening the same card again and again
 * writes one audit entry per KT_VIEWED_DEDUP_MS, not one per tap (entries
 * are permanent and hash-chained). In memory, per process: a restart or an
 * evicted slot costs one more entry, never a missing first one. */
#define VIEW_SLOTS 16384
#define VIEW_PROBE 8
static struct view_slot {
	uint8_t key[16];
	int64_t at;
} views[VIEW_SLOTS];
static pthread_mutex_t views_mu = PTHREAD_MUTEX_INITIALIZER;

static bool view_is_new(const char *person, const char *tbl, const char *id)
{
	uint8_t k[16];
	crypto_generichash_state gs;
	int64_t now = kt_now_ms();
	struct view_slot *old = NULL;
	bool fresh = true;
	crypto_generichash_init(&gs, NULL, 0, sizeof k);
	crypto_generichash_update(&gs, (const uint8_t *)person, strlen(person) + 1);
	crypto_generichash_update(&gs, (const uint8_t *)tbl, strlen(tbl) + 1);
	crypto_generichash_update(&gs, (const uint8_t *)id, strlen(id));
	crypto_generichash_final(&gs, k, sizeof k);
	uint32_t start = ((uint32_t)k[0] << 16 | (uint32_t)k[1] << 8 | k[2]) % VIEW_SLOTS;
	pthread_mutex_lock(&views_mu);
	for (int i = 0; i < VIEW_PROBE; i++) {
		struct view_slot *v = &views[(start + (uint32_t)i) % VIEW_SLOTS];
		if (!memcmp(v->key, k, sizeof k)) {
			fresh = now - v->at >= KT_VIEWED_DEDUP_MS;
			old = v;
			break;
		}
		if (!old || v->at < old->at)
			old = v;
	}
	if (fresh) {
		memcpy(old->key, k, sizeof k);
		old->at = now;
	}
	pthread_mutex_unlock(&views_mu);
	return fresh;
}

/* "I opened this card": an audit entry, if the row is one this person may
 * see (anything else is dropped: it reveals nothing and changes nothing),
 * and not one already recorded for this person and row within
 * KT_VIEWED_DEDUP_MS. */
static int record_event(void *user, const kt_event *e)
{
	push_ctx *c = user;
	const kt_principal *p = c->p;
	const kt_table *t = kt_table_find(e->tbl.s, e->tbl.len);
	char id[KT_UUID_LEN + 1], loc[KT_UUID_LEN + 1] = "";
	kt_row row;
	int rc = KT_OK;

	if (!t || !kt_mp_str_eq(e->kind.s, e->kind.len, "viewed") || !kt_uuid_valid(e->id.s, e->id.len))
		return KT_OK;
	memcpy(id, e->id.s, KT_UUID_LEN);
	id[KT_UUID_LEN] = 0;
	if (store_row_load_some(c->st, t, id, NULL, 0, &row) != KT_OK) /* its routing is enough */
		return KT_OK;
	if (policy_row_visible(p, t, row.locs, row.client, &row) && view_is_new(p->id, t->name, id)) {
		snprintf(loc, sizeof loc, "%.*s", (int)strcspn(row.locs, ","), row.locs);
		kt_audit_entry a = {p->org, "viewed", t->name, id, row.client[0] ? row.client : NULL,
				    strlen(loc) == KT_UUID_LEN ? loc : NULL, NULL, NULL, NULL};
		store_set_actor(c->st, p->is_client ? "client" : "staff", p->id, c->device, e->at);
		rc = audit_append(c->st, &a);
		store_set_actor(c->st, "system", NULL, NULL, 0);
	}
	kt_row_free(&row);
	return rc;
}

/* The highest mutation id this person recorded from this device, read in this transaction. */
static int highest_mid(push_ctx *c)
{
	/* with the mark of answers retention deleted (retention.c): those mids were answered too */
	sqlite3_stmt *q = store_prepare(c->st, "SELECT (SELECT max(mid) FROM mutation WHERE principal_id = ?1 AND "
					       "device_id = ?2), (SELECT max_mid FROM mutation_pruned WHERE "
					       "principal_id = ?1 AND device_id = ?2)");
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, c->p->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, c->device, -1, SQLITE_STATIC);
	int rc = sqlite3_step(q) == SQLITE_ROW ? KT_OK : KT_EIO;
	bool stored = !rc && sqlite3_column_type(q, 0) != SQLITE_NULL;
	bool pruned = !rc && sqlite3_column_type(q, 1) != SQLITE_NULL;
	c->pruned_mid = pruned ? sqlite3_column_int64(q, 1) : 0;
	c->any_mid = stored || pruned;
	c->max_mid = stored ? sqlite3_column_int64(q, 0) : 0;
	if (c->pruned_mid > c->max_mid)
		c->max_mid = c->pruned_mid;
	store_finish(c->st, q);
	return rc;
}

/* The pusher's rights as this transaction sees them: nothing can change
 * them between this read and the commit (the writer holds the write lock),
 * so a demotion committed by anyone before counts for every mutation. A
 * person deactivated or gone: KT_EREVOKED in j->rc, nothing applied. */
static int rights_now(kt_store *st, kt_push_job *j)
{
	int64_t g = store_rights_gen(st);
	kt_principal np;
	int rc;
	if (g < 0)
		return KT_EIO;
	if (g == j->rights_gen)
		return KT_OK;
	rc = store_principal_load(st, j->principal.is_client, j->principal.id, &np);
	if (rc == KT_ENOT_FOUND || (rc == KT_OK && !np.active)) {
		kt_principal_free(&np);
		j->rc = KT_EREVOKED;
		return KT_OK;
	}
	if (rc)
		return rc;
	kt_principal_free(&j->principal);
	j->principal = np;
	j->rights_gen = g;
	return KT_OK;
}

int push_apply_step(kt_store *st, kt_push_job *j, uint32_t max)
{
	push_ctx c = {st, &j->principal, j->device, &j->body, j->nres, KT_OK, false, 0};
	const char *kind = j->principal.is_client ? "client" : "staff";
	if ((c.rc = rights_now(st, j)) || j->rc)
		return c.rc;
	if (j->next_mut < j->nmuts && (c.rc = highest_mid(&c)))
		return c.rc;
	for (uint32_t k = 0; k < max && j->next_mut < j->nmuts && !c.rc; k++) {
		const kt_mut *m = &j->muts[j->next_mut++];
		/* who, from which device, at which device time: for the change and
		 * for a refused attempt alike */
		store_set_actor(st, kind, j->principal.id, j->device, m->at);
#ifdef KT_EGRESS_CHECK
		size_t before = j->body.sb.size;
		apply_one(&c, m);
		if (!c.rc) /* judged in the transaction that decided it */
			egress_check_answer(st, j->session_id, &j->principal, m,
					    (const uint8_t *)j->body.sb.data + before, j->body.sb.size - before);
#else
		apply_one(&c, m);
#endif
	}
	store_set_actor(st, "system", NULL, NULL, 0);
	j->nres = c.n;
	if (!c.rc && j->next_mut == j->nmuts && !j->events_done) {
		c.rc = proto_push_events_decode(j->buf, j->len, record_event, &c);
		j->events_done = true;
	}
	return c.rc;
}
