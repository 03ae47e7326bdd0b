/* msg_row.c - rows inside page and changes: put {op?, tbl, id, v, f},
 * delete/evict {op, tbl, id}. */
#include <string.h>
#include "proto_internal.h"

void proto_put_begin(kt_mpw *body, bool with_op, const char *tbl, const char *id, int64_t v,
		     uint32_t nfields)
{
	kt_mpw_map(body, with_op ? 5 : 4);
	if (with_op) {
		kt_mpw_str(body, "op");
		kt_mpw_str(body, "put");
	}
	kt_mpw_str(body, "tbl");
	kt_mpw_str(body, tbl);
	kt_mpw_str(body, "id");
	kt_mpw_str(body, id);
	kt_mpw_str(body, "v");
	kt_mpw_int(body, v);
	kt_mpw_str(body, "f");
	kt_mpw_map(body, nfields);
}

void proto_gone_encode(kt_mpw *body, kt_opkind op, const char *tbl, const char *id)
{
	kt_mpw_map(body, 3);
	kt_mpw_str(body, "op");
	kt_mpw_str(body, op == KT_OP_DELETE ? "delete" : "evict");
	kt_mpw_str(body, "tbl");
	kt_mpw_str(body, tbl);
	kt_mpw_str(body, "id");
	kt_mpw_str(body, id);
}

int proto_op_decode(kt_mp *r, bool with_op, kt_op *op)
{
	uint32_t n, seen = 0;
	memset(op, 0, sizeof *op);
	op->op = KT_OP_PUT;
	if (kt_mp_read_map(r, &n))
		return KT_EMALFORMED;
	for (uint32_t i = 0; i < n; i++) {
		const char *k;
		size_t kl;
		if (kt_mp_read_str(r, &k, &kl, 64))
			return KT_EMALFORMED;
		if (kt_mp_str_eq(k, kl, "op")) {
			kt_str s;
			if (!with_op || proto_seen(&seen, 0) || proto_read_str(r, &s, 16))
				return KT_EMALFORMED;
			if (kt_mp_str_eq(s.s, s.len, "put"))
				op->op = KT_OP_PUT;
			else if (kt_mp_str_eq(s.s, s.len, "delete"))
				op->op = KT_OP_DELETE;
			else if (kt_mp_str_eq(s.s, s.len, "evict"))
				op->op = KT_OP_EVICT;
			else
				return KT_EMALFORMED;
		} else if (kt_mp_str_eq(k, kl, "tbl")) {
			if (proto_seen(&seen, 1) || proto_read_str(r, &op->tbl, 64))
				return KT_EMALFORMED;
		} else if (kt_mp_str_eq(k, kl, "id")) {
			if (proto_seen(&seen, 2) || proto_read_str(r, &op->id, 64))
				return KT_EMALFORMED;
		} else if (kt_mp_str_eq(k, kl, "v")) {
			if (proto_seen(&seen, 3) || kt_mp_read_int(r, &op->v))
				return KT_EMALFORMED;
		} else if (kt_mp_str_eq(k, kl, "f")) {
			size_t start = r->pos;
			if (proto_seen(&seen, 4) || kt_mp_peek(r) != KT_MP_MAP || kt_mp_skip(r, KT_MAX_DEPTH))
				return KT_EMALFORMED;
			op->fields = r->buf + start;
			op->fields_len = r->pos - start;
		} else if (kt_mp_skip(r, KT_MAX_DEPTH))
			return KT_EMALFORMED;
	}
	if (with_op && !(seen & 1))
		return KT_EMALFORMED;
	if ((seen & 6) != 6 || op->tbl.len == 0 || op->id.len == 0)
		return KT_EMALFORMED;
	if (op->op == KT_OP_PUT && (seen & 0x18) != 0x18)
		return KT_EMALFORMED; /* a put needs v and f */
	if (op->op != KT_OP_PUT) {
		op->fields = NULL;
		op->fields_len = 0;
	}
	return KT_OK;
}

int proto_ops_decode(kt_mp *r, bool with_op, kt_op_cb cb, void *user)
{
	uint32_t n;
	int rc;
	if (kt_mp_read_array(r, &n))
		return KT_EMALFORMED;
	for (uint32_t i = 0; i < n; i++) {
		kt_op op;
		if ((rc = proto_op_decode(r, with_op, &op)))
			return rc;
		if (cb && (rc = cb(user, &op)))
			return rc;
	}
	return KT_OK;
}
