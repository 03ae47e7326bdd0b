/* msg_push.c - push {t, muts:[{mid, tbl, id, op, base, f, at, override?}]} and
 * push_result {t, results:[{mid, status, ...}]}. */
#include <string.h>
#include "proto_internal.h"

void proto_push_begin(kt_mpw *w, uint32_t n, bool with_events)
{
	kt_mpw_map(w, with_events ? 3 : 2);
	kt_mpw_str(w, "t");
	kt_mpw_str(w, "push");
	kt_mpw_str(w, "muts");
	kt_mpw_array(w, n);
}

void proto_mut_encode(kt_mpw *w, const kt_mut *m)
{
	kt_mpw_map(w, m->ovr_rule.s ? 8 : 7);
	kt_mpw_str(w, "mid");
	kt_mpw_int(w, m->mid);
	kt_mpw_str(w, "tbl");
	kt_mpw_strn(w, m->tbl.s, m->tbl.len);
	kt_mpw_str(w, "id");
	kt_mpw_strn(w, m->id.s, m->id.len);
	kt_mpw_str(w, "op");
	kt_mpw_strn(w, m->op.s, m->op.len);
	kt_mpw_str(w, "base");
	kt_mpw_int(w, m->base);
	kt_mpw_str(w, "f");
	if (m->fields)
		kt_mpw_raw(w, m->fields, m->fields_len);
	else
		kt_mpw_map(w, 0);
	kt_mpw_str(w, "at");
	kt_mpw_int(w, m->at);
	if (m->ovr_rule.s) {
		kt_mpw_str(w, "override");
		kt_mpw_map(w, 2);
		kt_mpw_str(w, "rule");
		kt_mpw_strn(w, m->ovr_rule.s, m->ovr_rule.len);
		kt_mpw_str(w, "reason");
		kt_mpw_strn(w, m->ovr_reason.s ? m->ovr_reason.s : "", m->ovr_reason.len);
	}
}

/* override: {rule: string, reason: string}. A value of another shape is
 * skipped and marked (ovr_bad): one mutation is refused for it, naming the
 * field, not the whole push. */
static int override_decode(kt_mp *r, kt_mut *m)
{
	kt_mp at = *r;
	uint32_t n, seen = 0;
	bool ok = kt_mp_peek(r) == KT_MP_MAP && !kt_mp_read_map(r, &n);
	for (uint32_t i = 0; ok && i < n; i++) {
		const char *k;
		size_t kl;
		if (kt_mp_read_str(r, &k, &kl, 16))
			ok = false;
		else if (kt_mp_str_eq(k, kl, "rule"))
			ok = !proto_seen(&seen, 0) && kt_mp_peek(r) == KT_MP_STR && !proto_read_str(r, &m->ovr_rule, 160);
		else if (kt_mp_str_eq(k, kl, "reason"))
			ok = !proto_seen(&seen, 1) && kt_mp_peek(r) == KT_MP_STR &&
			     !proto_read_str(r, &m->ovr_reason, KT_MAX_STR);
		else
			ok = !kt_mp_skip(r, KT_MAX_DEPTH);
	}
	if (ok && seen == 3)
		return KT_OK;
	*r = at; /* from the start of the value again, to step over it whole */
	m->ovr_rule = m->ovr_reason = (kt_str){0};
	m->ovr_bad = true;
	return kt_mp_skip(r, KT_MAX_DEPTH) ? KT_EMALFORMED : KT_OK;
}

static int mut_decode(kt_mp *r, kt_mut *m)
{
	uint32_t n, seen = 0;
	memset(m, 0, sizeof *m);
	if (kt_mp_read_map(r, &n))
		return KT_EMALFORMED;
	for (uint32_t i = 0; i < n; i++) {
		const char *k;
		size_t kl;
		int rc = KT_OK;
		if (kt_mp_read_str(r, &k, &kl, 64))
			return KT_EMALFORMED;
		if (kt_mp_str_eq(k, kl, "mid"))
			rc = proto_seen(&seen, 0) || kt_mp_read_int(r, &m->mid) ? KT_EMALFORMED : KT_OK;
		else if (kt_mp_str_eq(k, kl, "tbl"))
			rc = proto_seen(&seen, 1) ? KT_EMALFORMED : proto_read_str(r, &m->tbl, 64);
		else if (kt_mp_str_eq(k, kl, "id"))
			rc = proto_seen(&seen, 2) ? KT_EMALFORMED : proto_read_str(r, &m->id, 64);
		else if (kt_mp_str_eq(k, kl, "op"))
			rc = proto_seen(&seen, 3) ? KT_EMALFORMED : proto_read_str(r, &m->op, 16);
		else if (kt_mp_str_eq(k, kl, "base"))
			rc = proto_seen(&seen, 4) || kt_mp_read_int(r, &m->base) ? KT_EMALFORMED : KT_OK;
		else if (kt_mp_str_eq(k, kl, "f")) {
			size_t start = r->pos;
			if (proto_seen(&seen, 5) || kt_mp_peek(r) != KT_MP_MAP || kt_mp_skip(r, KT_MAX_DEPTH))
				return KT_EMALFORMED;
			m->fields = r->buf + start;
			m->fields_len = r->pos - start;
		} else if (kt_mp_str_eq(k, kl, "at"))
			rc = proto_seen(&seen, 6) || kt_mp_read_int(r, &m->at) ? KT_EMALFORMED : KT_OK;
		else if (kt_mp_str_eq(k, kl, "override"))
			rc = proto_seen(&seen, 7) ? KT_EMALFORMED : override_decode(r, m);
		else if (kt_mp_skip(r, KT_MAX_DEPTH))
			return KT_EMALFORMED;
		if (rc)
			return rc;
	}
	/* mid, tbl, id, op and base are required; f defaults to {} */
	return (seen & 0x1f) == 0x1f && m->mid > 0 && m->base >= 0 ? KT_OK : KT_EMALFORMED;
}

struct ctx {
	kt_mut_cb cb;
	void *user;
	uint32_t count, seen;
};

void proto_push_events_begin(kt_mpw *w, uint32_t n)
{
	kt_mpw_str(w, "events");
	kt_mpw_array(w, n);
}

void proto_event_encode(kt_mpw *w, const kt_event *e)
{
	kt_mpw_map(w, 4);
	kt_mpw_str(w, "kind");
	kt_mpw_strn(w, e->kind.s, e->kind.len);
	kt_mpw_str(w, "tbl");
	kt_mpw_strn(w, e->tbl.s, e->tbl.len);
	kt_mpw_str(w, "id");
	kt_mpw_strn(w, e->id.s, e->id.len);
	kt_mpw_str(w, "at");
	kt_mpw_int(w, e->at);
}

struct ectx {
	kt_event_cb cb;
	void *user;
	uint32_t seen;
};

static int event_key(void *user, const char *k, size_t kl, kt_mp *r)
{
	struct ectx *c = user;
	uint32_t n;
	if (!kt_mp_str_eq(k, kl, "events"))
		return KT_ENOT_FOUND;
	if (proto_seen(&c->seen, 0) || kt_mp_read_array(r, &n))
		return KT_EMALFORMED;
	if (n > KT_PUSH_MAX)
		return KT_ETOO_LARGE;
	for (uint32_t i = 0; i < n; i++) {
		kt_event e;
		uint32_t m, seen = 0;
		int rc;
		memset(&e, 0, sizeof e);
		if (kt_mp_read_map(r, &m))
			return KT_EMALFORMED;
		for (uint32_t j = 0; j < m; j++) {
			const char *ek;
			size_t ekl;
			rc = KT_OK;
			if (kt_mp_read_str(r, &ek, &ekl, 16))
				return KT_EMALFORMED;
			if (kt_mp_str_eq(ek, ekl, "kind"))
				rc = proto_seen(&seen, 0) ? KT_EMALFORMED : proto_read_str(r, &e.kind, 32);
			else if (kt_mp_str_eq(ek, ekl, "tbl"))
				rc = proto_seen(&seen, 1) ? KT_EMALFORMED : proto_read_str(r, &e.tbl, 64);
			else if (kt_mp_str_eq(ek, ekl, "id"))
				rc = proto_seen(&seen, 2) ? KT_EMALFORMED : proto_read_str(r, &e.id, 64);
			else if (kt_mp_str_eq(ek, ekl, "at"))
				rc = proto_seen(&seen, 3) || kt_mp_read_int(r, &e.at) ? KT_EMALFORMED : KT_OK;
			else if (kt_mp_skip(r, KT_MAX_DEPTH))
				return KT_EMALFORMED;
			if (rc)
				return rc;
		}
		if ((seen & 7) != 7)
			return KT_EMALFORMED;
		if (c->cb && (rc = c->cb(c->user, &e)))
			return rc;
	}
	return KT_OK;
}

int proto_push_events_decode(const void *buf, size_t len, kt_event_cb cb, void *user)
{
	struct ectx c = {cb, user, 0};
	return proto_walk(buf, len, event_key, &c);
}

static int key(void *user, const char *k, size_t kl, kt_mp *r)
{
	struct ctx *c = user;
	uint32_t n;
	if (!kt_mp_str_eq(k, kl, "muts"))
		return KT_ENOT_FOUND;
	if (proto_seen(&c->seen, 0) || kt_mp_read_array(r, &n))
		return KT_EMALFORMED;
	if (n > KT_PUSH_MAX)
		return KT_ETOO_LARGE;
	c->count = n;
	for (uint32_t i = 0; i < n; i++) {
		kt_mut m;
		int rc;
		if ((rc = mut_decode(r, &m)))
			return rc;
		if (c->cb && (rc = c->cb(c->user, &m)))
			return rc;
	}
	return KT_OK;
}

int proto_push_decode(const void *buf, size_t len, kt_mut_cb cb, void *user, uint32_t *count)
{
	struct ctx c = {cb, user, 0, 0};
	int rc;
	if ((rc = proto_walk(buf, len, key, &c)))
		return rc;
	if (count)
		*count = c.count;
	return c.seen ? KT_OK : KT_EMALFORMED;
}

void proto_push_result_encode(kt_mpw *w, uint32_t n, const void *body, size_t len)
{
	kt_mpw_map(w, 2);
	kt_mpw_str(w, "t");
	kt_mpw_str(w, "push_result");
	kt_mpw_str(w, "results");
	kt_mpw_array(w, n);
	kt_mpw_raw(w, body, len);
}

/* {mid, status, ...: extra more keys follow} */
static void result_begin(kt_mpw *w, int64_t mid, const char *status, uint32_t extra)
{
	kt_mpw_map(w, 2 + extra);
	kt_mpw_str(w, "mid");
	kt_mpw_int(w, mid);
	kt_mpw_str(w, "status");
	kt_mpw_str(w, status);
}

void proto_push_applied_encode(kt_mpw *w, int64_t mid, int64_t v, bool with_conflicts)
{
	result_begin(w, mid, "applied", with_conflicts ? 2 : 1);
	kt_mpw_str(w, "v");
	kt_mpw_int(w, v);
	if (with_conflicts)
		kt_mpw_str(w, "conflicts");
}

void proto_push_rejected_encode(kt_mpw *w, int64_t mid, const char *code, const char *msg, bool with_current)
{
	result_begin(w, mid, "rejected", with_current ? 3 : 2);
	kt_mpw_str(w, "code");
	kt_mpw_str(w, code);
	kt_mpw_str(w, "msg");
	kt_mpw_str(w, msg);
	if (with_current)
		kt_mpw_str(w, "current");
}

void proto_push_duplicate_encode(kt_mpw *w, int64_t mid)
{
	result_begin(w, mid, "duplicate", 1);
	kt_mpw_str(w, "first");
}

int proto_push_result_decode(const void *buf, size_t len, kt_raw_cb cb, void *user)
{
	return proto_maps_decode(buf, len, "results", cb, user);
}
