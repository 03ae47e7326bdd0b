/* fuzz_proto.c - the bounded MessagePack reader (common/kt_mp.h) and every
 * message decoder of proto/. Input: one option byte, then the message.
 * Beyond "no crash", it checks invariants: a failed read never moves the
 * cursor; kt_mp_validate agrees with a walk made of the typed reads; and
 * whatever a decoder accepts, its encoder writes back into bytes that decode
 * to the same values. It must never trust a decoder's output blindly. */
#include <stdbool.h>
#include <string.h>
#include "fuzz_common.h"
#include "kt_proto.h"
#include "kt_util.h"

#define MAX_ITEMS 256 /* rows, ops, mutations or maps kept for a round trip */

static kt_mpw w, body;

static bool same(kt_str a, kt_str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.s, b.s, a.len) == 0);
}

static bool same_bytes(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	return al == bl && (al == 0 || memcmp(a, b, al) == 0);
}

/* ---- the reader ---- */

/* One value read with the typed functions only; checks that every failed
 * read leaves the cursor where it was. */
static int walk_typed(kt_mp *r, int depth, int max_depth, size_t max_str)
{
	size_t before = r->pos;
	int rc = KT_EMALFORMED;
	switch (kt_mp_peek(r)) {
	case KT_MP_NIL:
		rc = kt_mp_read_nil(r);
		break;
	case KT_MP_BOOL: {
		bool b;
		rc = kt_mp_read_bool(r, &b);
		break;
	}
	case KT_MP_INT: {
		int64_t i;
		uint64_t u;
		kt_mp again = *r;
		if ((rc = kt_mp_read_int(r, &i)) == KT_OK) {
			/* the unsigned reading agrees wherever the value is >= 0 */
			int urc = kt_mp_read_uint(&again, &u);
			FUZZ_CHECK(i < 0 ? urc != KT_OK : urc == KT_OK && u == (uint64_t)i);
			FUZZ_CHECK(urc || again.pos == r->pos);
		} else {
			FUZZ_CHECK(r->pos == before);
			rc = kt_mp_read_uint(r, &u);
			FUZZ_CHECK(rc || u > (uint64_t)INT64_MAX); /* only past int64 may int fail */
		}
		break;
	}
	case KT_MP_FLOAT: {
		double d;
		rc = kt_mp_read_float(r, &d);
		break;
	}
	case KT_MP_STR: {
		const char *s;
		size_t len;
		rc = kt_mp_read_str(r, &s, &len, max_str);
		if (!rc) {
			FUZZ_CHECK(len <= max_str && kt_utf8_valid((const uint8_t *)s, len));
			FUZZ_CHECK((const uint8_t *)s + len == r->buf + r->pos);
		}
		break;
	}
	case KT_MP_BIN: {
		const uint8_t *b;
		size_t len;
		rc = kt_mp_read_bin(r, &b, &len, max_str);
		FUZZ_CHECK(rc || (len <= max_str && b + len == r->buf + r->pos));
		break;
	}
	case KT_MP_ARRAY:
	case KT_MP_MAP: {
		bool map = kt_mp_peek(r) == KT_MP_MAP;
		uint32_t n;
		if (depth >= max_depth)
			return KT_EMALFORMED; /* as kt_mp_validate: too deep is malformed */
		rc = map ? kt_mp_read_map(r, &n) : kt_mp_read_array(r, &n);
		if (rc)
			break;
		FUZZ_CHECK((uint64_t)n * (map ? 2 : 1) <= r->len - r->pos);
		for (uint64_t k = 0; k < (uint64_t)n * (map ? 2 : 1); k++)
			if ((rc = walk_typed(r, depth + 1, max_depth, max_str)))
				return rc; /* an inner value failed: the cursor is inside */
		return KT_OK;
	}
	default:
		/* ext, 0xc1 or the end: no typed read accepts them */
		FUZZ_CHECK(kt_mp_read_nil(r) && r->pos == before);
		return KT_EMALFORMED;
	}
	FUZZ_CHECK(rc == KT_OK || r->pos == before);
	FUZZ_CHECK(r->pos <= r->len);
	return rc;
}

static void check_reader(const uint8_t *buf, size_t len, int max_depth, size_t max_str)
{
	kt_mp r;
	int vrc = kt_mp_validate(buf, len, max_depth, max_str);
	int wrc;

	kt_mp_init(&r, buf, len);
	wrc = walk_typed(&r, 0, max_depth, max_str);
	FUZZ_CHECK((vrc == KT_OK) == (wrc == KT_OK && kt_mp_at_end(&r)));

	/* skip does not look inside strings, so it accepts whatever validate
	 * accepts and may accept more; a failed skip does not move */
	kt_mp_init(&r, buf, len);
	if (kt_mp_skip(&r, max_depth) == KT_OK)
		FUZZ_CHECK(r.pos > 0 && r.pos <= len);
	else
		FUZZ_CHECK(r.pos == 0 && vrc != KT_OK);
	if (vrc == KT_OK)
		FUZZ_CHECK(r.pos == len);

	/* a whole buffer of values one after another */
	kt_mp_init(&r, buf, len);
	for (int i = 0; i < 64 && !kt_mp_at_end(&r); i++)
		if (kt_mp_skip(&r, max_depth))
			break;
}

/* ---- messages with plain structs ---- */

static void rt_hello(const kt_hello *a)
{
	kt_hello b;
	kt_mpw_reset(&w);
	proto_hello_encode(&w, a);
	FUZZ_CHECK(w.err == KT_OK);
	FUZZ_CHECK(proto_hello_decode(w.sb.data, w.sb.size, &b) == KT_OK);
	FUZZ_CHECK(a->versions == b.versions && same(a->device, b.device) && same(a->app, b.app));
}

static void rt_welcome(const kt_welcome *a)
{
	kt_welcome b;
	kt_mpw_reset(&w);
	proto_welcome_encode(&w, a);
	FUZZ_CHECK(w.err == KT_OK);
	FUZZ_CHECK(proto_welcome_decode(w.sb.data, w.sb.size, &b) == KT_OK);
	FUZZ_CHECK(memcmp(a, &b, sizeof b) == 0); /* all int64: no padding */
}

static void rt_login(const kt_login *a)
{
	kt_login b;
	kt_mpw_reset(&w);
	proto_login_encode(&w, a);
	FUZZ_CHECK(proto_login_decode(w.sb.data, w.sb.size, &b) == KT_OK);
	FUZZ_CHECK(same(a->email, b.email) && same(a->password, b.password));
}

static void rt_resume(const kt_resume *a)
{
	kt_resume b;
	kt_mpw_reset(&w);
	proto_resume_encode(&w, a);
	FUZZ_CHECK(proto_resume_decode(w.sb.data, w.sb.size, &b) == KT_OK);
	FUZZ_CHECK(same(a->token, b.token));
}

static void rt_auth_ok(const kt_auth_ok *a)
{
	kt_auth_ok b;
	kt_mpw_reset(&w);
	proto_auth_ok_encode(&w, a);
	FUZZ_CHECK(proto_auth_ok_decode(w.sb.data, w.sb.size, &b) == KT_OK);
	FUZZ_CHECK(same(a->kind, b.kind) && same(a->id, b.id) && same(a->role, b.role) && same(a->name, b.name) &&
		   same(a->org, b.org) && same(a->token, b.token) && a->expires_at == b.expires_at);
}

typedef void (*cursor_enc)(kt_mpw *, const kt_cursor_msg *);
typedef int (*cursor_dec)(const void *, size_t, kt_cursor_msg *);

static void rt_cursor(const kt_cursor_msg *a, cursor_enc enc, cursor_dec dec)
{
	kt_cursor_msg b;
	kt_mpw_reset(&w);
	enc(&w, a);
	FUZZ_CHECK(dec(w.sb.data, w.sb.size, &b) == KT_OK);
	FUZZ_CHECK(a->has_cursor == b.has_cursor && (!a->has_cursor || same(a->cursor, b.cursor)));
}

static void rt_snapshot_begin(const kt_snapshot_begin *a)
{
	kt_snapshot_begin b;
	kt_mpw_reset(&w);
	proto_snapshot_begin_encode(&w, a);
	FUZZ_CHECK(proto_snapshot_begin_decode(w.sb.data, w.sb.size, &b) == KT_OK && a->total == b.total);
}

static void rt_error(const kt_error_msg *a)
{
	kt_error_msg b;
	kt_mpw_reset(&w);
	proto_error_encode(&w, a);
	FUZZ_CHECK(proto_error_decode(w.sb.data, w.sb.size, &b) == KT_OK);
	FUZZ_CHECK(same(a->code, b.code) && same(a->msg, b.msg) && a->fatal == b.fatal);
	FUZZ_CHECK((a->re.s == NULL) == (b.re.s == NULL) && (!a->re.s || same(a->re, b.re)));
}

static void rt_audit_query(const kt_audit_query *a)
{
	kt_audit_query b;
	kt_mpw_reset(&w);
	proto_audit_query_encode(&w, a);
	FUZZ_CHECK(proto_audit_query_decode(w.sb.data, w.sb.size, &b) == KT_OK);
	FUZZ_CHECK((a->client.s == NULL) == (b.client.s == NULL) && (!a->client.s || same(a->client, b.client)));
	FUZZ_CHECK(a->before == b.before && a->limit == b.limit);
}

/* ---- rows and ops (page, changes) ---- */

typedef struct ops {
	kt_op op[MAX_ITEMS];
	int n;
	bool overflow;
} ops;

static int collect_op(void *user, const kt_op *op)
{
	ops *o = user;
	FUZZ_CHECK(op->tbl.len > 0 && op->id.len > 0);
	FUZZ_CHECK((op->op == KT_OP_PUT) == (op->fields != NULL));
	if (o->n == MAX_ITEMS)
		o->overflow = true;
	else
		o->op[o->n++] = *op;
	return 0;
}

/* Pack the ops again as a body of rows (page) or ops (changes). */
static void pack_ops(const ops *o, bool with_op)
{
	kt_mpw_reset(&body);
	for (int i = 0; i < o->n; i++) {
		const kt_op *op = &o->op[i];
		char tbl[65], id[65];
		FUZZ_CHECK(op->tbl.len < sizeof tbl && op->id.len < sizeof id);
		memcpy(tbl, op->tbl.s, op->tbl.len);
		tbl[op->tbl.len] = 0;
		memcpy(id, op->id.s, op->id.len);
		id[op->id.len] = 0;
		if (op->op == KT_OP_PUT) {
			kt_mp f;
			uint32_t nf;
			kt_mp_init(&f, op->fields, op->fields_len);
			FUZZ_CHECK(kt_mp_read_map(&f, &nf) == KT_OK);
			proto_put_begin(&body, with_op, tbl, id, op->v, nf);
			kt_mpw_raw(&body, op->fields + f.pos, op->fields_len - f.pos);
		} else {
			proto_gone_encode(&body, op->op, tbl, id);
		}
	}
	FUZZ_CHECK(body.err == KT_OK);
}

static void same_ops(const ops *a, const ops *b)
{
	FUZZ_CHECK(a->n == b->n);
	for (int i = 0; i < a->n; i++) {
		const kt_op *x = &a->op[i], *y = &b->op[i];
		FUZZ_CHECK(x->op == y->op && same(x->tbl, y->tbl) && same(x->id, y->id));
		if (x->op == KT_OP_PUT)
			FUZZ_CHECK(x->v == y->v && same_bytes(x->fields, x->fields_len, y->fields, y->fields_len));
	}
}

static ops ops_a, ops_b; /* big: kept off the stack */

static void fuzz_page(const uint8_t *buf, size_t len)
{
	ops_a.n = 0;
	ops_a.overflow = false;
	if (proto_page_decode(buf, len, collect_op, &ops_a) || ops_a.overflow)
		return;
	pack_ops(&ops_a, false);
	kt_mpw_reset(&w);
	proto_page_encode(&w, (uint32_t)ops_a.n, body.sb.data, body.sb.size);
	ops_b.n = 0;
	ops_b.overflow = false;
	FUZZ_CHECK(proto_page_decode(w.sb.data, w.sb.size, collect_op, &ops_b) == KT_OK);
	same_ops(&ops_a, &ops_b);
}

static void fuzz_changes(const uint8_t *buf, size_t len)
{
	kt_str c1, c2;
	ops_a.n = 0;
	ops_a.overflow = false;
	if (proto_changes_decode(buf, len, collect_op, &ops_a, &c1) || ops_a.overflow)
		return;
	FUZZ_CHECK(c1.s != NULL && c1.len <= KT_MAX_CURSOR);
	pack_ops(&ops_a, true);
	kt_mpw_reset(&w);
	proto_changes_encode(&w, (uint32_t)ops_a.n, body.sb.data, body.sb.size, c1.s, c1.len);
	ops_b.n = 0;
	ops_b.overflow = false;
	FUZZ_CHECK(proto_changes_decode(w.sb.data, w.sb.size, collect_op, &ops_b, &c2) == KT_OK);
	same_ops(&ops_a, &ops_b);
	FUZZ_CHECK(same(c1, c2));
}

/* ---- push ---- */

typedef struct muts {
	kt_mut m[KT_PUSH_MAX];
	kt_event e[KT_PUSH_MAX];
	int n, ne;
} muts;

static muts muts_a, muts_b;

static int collect_mut(void *user, const kt_mut *m)
{
	muts *o = user;
	FUZZ_CHECK(m->mid > 0 && m->base >= 0);
	FUZZ_CHECK(o->n < KT_PUSH_MAX); /* the decoder enforces the limit */
	o->m[o->n++] = *m;
	return 0;
}

static int collect_event(void *user, const kt_event *e)
{
	muts *o = user;
	FUZZ_CHECK(o->ne < KT_PUSH_MAX);
	o->e[o->ne++] = *e;
	return 0;
}

static void fuzz_push(const uint8_t *buf, size_t len)
{
	static const uint8_t empty_map = 0x80;
	uint32_t count = 0;
	int rc;

	rc = proto_push_decode(buf, len, NULL, NULL, &count); /* counting pass, as the server does */
	if (rc)
		return;
	FUZZ_CHECK(count <= KT_PUSH_MAX);
	muts_a.n = muts_a.ne = 0;
	FUZZ_CHECK(proto_push_decode(buf, len, collect_mut, &muts_a, &count) == KT_OK);
	FUZZ_CHECK((int)count == muts_a.n);
	if ((rc = proto_push_events_decode(buf, len, collect_event, &muts_a)))
		return;

	kt_mpw_reset(&w);
	proto_push_begin(&w, count, true);
	for (int i = 0; i < muts_a.n; i++)
		proto_mut_encode(&w, &muts_a.m[i]);
	proto_push_events_begin(&w, (uint32_t)muts_a.ne);
	for (int i = 0; i < muts_a.ne; i++)
		proto_event_encode(&w, &muts_a.e[i]);
	FUZZ_CHECK(w.err == KT_OK);

	muts_b.n = muts_b.ne = 0;
	FUZZ_CHECK(proto_push_decode(w.sb.data, w.sb.size, collect_mut, &muts_b, &count) == KT_OK);
	FUZZ_CHECK(proto_push_events_decode(w.sb.data, w.sb.size, collect_event, &muts_b) == KT_OK);
	FUZZ_CHECK(muts_a.n == muts_b.n && muts_a.ne == muts_b.ne);
	for (int i = 0; i < muts_a.n; i++) {
		const kt_mut *x = &muts_a.m[i], *y = &muts_b.m[i];
		const uint8_t *xf = x->fields ? x->fields : &empty_map; /* an absent f is {} */
		size_t xl = x->fields ? x->fields_len : 1;
		FUZZ_CHECK(x->mid == y->mid && x->base == y->base && x->at == y->at);
		FUZZ_CHECK(same(x->tbl, y->tbl) && same(x->id, y->id) && same(x->op, y->op));
		FUZZ_CHECK(same_bytes(xf, xl, y->fields, y->fields_len));
	}
	for (int i = 0; i < muts_a.ne; i++) {
		const kt_event *x = &muts_a.e[i], *y = &muts_b.e[i];
		FUZZ_CHECK(same(x->kind, y->kind) && same(x->tbl, y->tbl) && same(x->id, y->id) && x->at == y->at);
	}
}

/* ---- push_result and audit_result: arrays of raw maps ---- */

typedef struct raws {
	const uint8_t *p[MAX_ITEMS];
	size_t len[MAX_ITEMS];
	int n;
	bool overflow;
} raws;

static raws raws_a, raws_b;

static int collect_raw(void *user, const uint8_t *map, size_t len)
{
	raws *o = user;
	kt_mp r;
	kt_mp_init(&r, map, len);
	FUZZ_CHECK(len > 0 && kt_mp_peek(&r) == KT_MP_MAP);
	if (o->n == MAX_ITEMS)
		o->overflow = true;
	else {
		o->p[o->n] = map;
		o->len[o->n++] = len;
	}
	return 0;
}

typedef void (*raws_enc)(kt_mpw *, uint32_t, const void *, size_t);
typedef int (*raws_dec)(const void *, size_t, kt_raw_cb, void *);

static void fuzz_raws(const uint8_t *buf, size_t len, raws_enc enc, raws_dec dec)
{
	raws_a.n = 0;
	raws_a.overflow = false;
	if (dec(buf, len, collect_raw, &raws_a) || raws_a.overflow)
		return;
	kt_mpw_reset(&body);
	for (int i = 0; i < raws_a.n; i++)
		kt_mpw_raw(&body, raws_a.p[i], raws_a.len[i]);
	kt_mpw_reset(&w);
	enc(&w, (uint32_t)raws_a.n, body.sb.data, body.sb.size);
	raws_b.n = 0;
	raws_b.overflow = false;
	FUZZ_CHECK(dec(w.sb.data, w.sb.size, collect_raw, &raws_b) == KT_OK);
	FUZZ_CHECK(raws_a.n == raws_b.n);
	for (int i = 0; i < raws_a.n; i++)
		FUZZ_CHECK(same_bytes(raws_a.p[i], raws_a.len[i], raws_b.p[i], raws_b.len[i]));
}

static int count_map(void *user, const uint8_t *map, size_t len)
{
	(void)user;
	FUZZ_CHECK(map && len > 0);
	return 0;
}

/* ---- dispatch ---- */

/* Decode buf as message type t; round-trip what decodes. */
static void decode_as(kt_msgtype t, const uint8_t *buf, size_t len)
{
	union {
		kt_hello hello;
		kt_welcome welcome;
		kt_login login;
		kt_resume resume;
		kt_auth_ok auth_ok;
		kt_cursor_msg cursor;
		kt_snapshot_begin snap;
		kt_error_msg error;
		kt_audit_query audit;
		kt_manage manage;
	} m;

	switch (t) {
	case KT_MSG_HELLO:
		if (proto_hello_decode(buf, len, &m.hello) == KT_OK) {
			FUZZ_CHECK(m.hello.device.len == KT_UUID_LEN && m.hello.app.len <= KT_MAX_APP);
			rt_hello(&m.hello);
		}
		break;
	case KT_MSG_WELCOME:
		if (proto_welcome_decode(buf, len, &m.welcome) == KT_OK)
			rt_welcome(&m.welcome);
		break;
	case KT_MSG_LOGIN:
		if (proto_login_decode(buf, len, &m.login) == KT_OK) {
			FUZZ_CHECK(m.login.email.len <= KT_MAX_EMAIL && m.login.password.len <= KT_MAX_PASSWORD);
			rt_login(&m.login);
		}
		break;
	case KT_MSG_RESUME:
		if (proto_resume_decode(buf, len, &m.resume) == KT_OK) {
			FUZZ_CHECK(m.resume.token.len <= KT_MAX_TOKEN);
			rt_resume(&m.resume);
		}
		break;
	case KT_MSG_AUTH_OK:
		if (proto_auth_ok_decode(buf, len, &m.auth_ok) == KT_OK)
			rt_auth_ok(&m.auth_ok);
		break;
	case KT_MSG_SYNC:
		if (proto_sync_decode(buf, len, &m.cursor) == KT_OK)
			rt_cursor(&m.cursor, proto_sync_encode, proto_sync_decode);
		break;
	case KT_MSG_ACK:
		if (proto_ack_decode(buf, len, &m.cursor) == KT_OK) {
			FUZZ_CHECK(m.cursor.has_cursor && m.cursor.cursor.len <= KT_MAX_CURSOR);
			rt_cursor(&m.cursor, proto_ack_encode, proto_ack_decode);
		}
		break;
	case KT_MSG_SNAPSHOT_END:
		if (proto_snapshot_end_decode(buf, len, &m.cursor) == KT_OK)
			rt_cursor(&m.cursor, proto_snapshot_end_encode, proto_snapshot_end_decode);
		break;
	case KT_MSG_SYNCED:
		if (proto_synced_decode(buf, len, &m.cursor) == KT_OK)
			rt_cursor(&m.cursor, proto_synced_encode, proto_synced_decode);
		break;
	case KT_MSG_SNAPSHOT_BEGIN:
		if (proto_snapshot_begin_decode(buf, len, &m.snap) == KT_OK) {
			FUZZ_CHECK(m.snap.total >= 0);
			rt_snapshot_begin(&m.snap);
		}
		break;
	case KT_MSG_ERROR:
		if (proto_error_decode(buf, len, &m.error) == KT_OK) {
			FUZZ_CHECK(m.error.code.s && m.error.msg.s);
			rt_error(&m.error);
		}
		break;
	case KT_MSG_PAGE:
		fuzz_page(buf, len);
		break;
	case KT_MSG_CHANGES:
		fuzz_changes(buf, len);
		break;
	case KT_MSG_PUSH:
		fuzz_push(buf, len);
		break;
	case KT_MSG_PUSH_RESULT:
		fuzz_raws(buf, len, proto_push_result_encode, proto_push_result_decode);
		break;
	case KT_MSG_AUDIT_QUERY:
		if (proto_audit_query_decode(buf, len, &m.audit) == KT_OK) {
			FUZZ_CHECK(m.audit.limit >= 1 && m.audit.limit <= 500 && m.audit.before >= 0);
			rt_audit_query(&m.audit);
		}
		break;
	case KT_MSG_AUDIT_RESULT:
		fuzz_raws(buf, len, proto_audit_result_encode, proto_audit_result_decode);
		break;
	case KT_MSG_MANAGE:
		if (proto_manage_decode(buf, len, &m.manage) == KT_OK) {
			kt_manage again;
			kt_mpw out;
			FUZZ_CHECK(m.manage.op.s && m.manage.op.len <= 32 && m.manage.id.len <= 64);
			kt_mpw_init(&out);
			proto_manage_encode(&out, &m.manage);
			FUZZ_CHECK(!out.err && proto_manage_decode(out.sb.data, out.sb.size, &again) == KT_OK);
			FUZZ_CHECK(again.op.len == m.manage.op.len && !memcmp(again.op.s, m.manage.op.s, again.op.len));
			FUZZ_CHECK(!again.id.s == !m.manage.id.s && again.id.len == m.manage.id.len &&
				   (!again.id.len || !memcmp(again.id.s, m.manage.id.s, again.id.len)));
			kt_mpw_free(&out);
		}
		break;
	case KT_MSG_MANAGE_RESULT:
		if (proto_manage_result_decode(buf, len, count_map, NULL) == KT_OK)
			FUZZ_CHECK(proto_find_key(buf, len, "devices", &(kt_mp){0}) == KT_OK);
		break;
	default:
		break;
	}
}

/* The server's path: validate the whole frame, then decode by its "t". The
 * device's shortcut (peek) must agree whenever the full check passes. */
static void check_frame(const uint8_t *buf, size_t len, size_t max_str)
{
	kt_msgtype t, pt;
	kt_mp r;
	int rc = proto_msg_type(buf, len, max_str, &t);
	if (rc == KT_OK || rc == KT_EUNKNOWN_TYPE) {
		FUZZ_CHECK(proto_msg_peek_type(buf, len, &pt) == rc && pt == t);
		FUZZ_CHECK(proto_find_key(buf, len, "t", &r) == KT_OK);
	} else
		FUZZ_CHECK(t == KT_MSG_UNKNOWN);
	if (rc == KT_OK) {
		FUZZ_CHECK(t > KT_MSG_UNKNOWN && t < KT_MSG_COUNT);
		FUZZ_CHECK(proto_msg_from_name(proto_msg_name(t), strlen(proto_msg_name(t))) == t);
		decode_as(t, buf, len);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	unsigned char *msg;
	size_t len;
	uint8_t opt;

	if (!ready) {
		kt_mpw_init(&w);
		kt_mpw_init(&body);
		ready = true;
	}
	if (size == 0)
		return 0;
	/* option byte: bit 0 picks the pre- or post-sign-in string limit, bits
	 * 1-3 a nesting limit for the reader checks (1..8) */
	opt = data[0];
	len = size - 1;
	msg = fuzz_copy(data + 1, len);

	check_reader(msg, len, 1 + ((opt >> 1) & 7), (opt & 1) ? KT_MAX_STR : KT_MAX_STR_PREAUTH);
	check_frame(msg, len, (opt & 1) ? KT_MAX_STR : KT_MAX_STR_PREAUTH);
	/* every decoder on every input: a decoder must be safe on any bytes,
	 * not only on frames whose "t" names it */
	for (int t = KT_MSG_UNKNOWN + 1; t < KT_MSG_COUNT; t++)
		decode_as((kt_msgtype)t, msg, len);
	free(msg);
	return 0;
}
