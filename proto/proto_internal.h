/* proto_internal.h - helpers shared by the message files: walking a
 * message's top-level map once, with duplicate-key detection. */
#ifndef KT_PROTO_INTERNAL_H
#define KT_PROTO_INTERNAL_H

#include "kt_proto.h"

/* Walk the top-level map; for each key call f(user, key, r). f reads the
 * value (must consume exactly one value) or returns KT_ENOT_FOUND to have it
 * skipped. Keys are matched by the callee; seen bits guard duplicates. */
typedef int (*proto_key_fn)(void *user, const char *key, size_t klen, kt_mp *r);
int proto_walk(const void *buf, size_t len, proto_key_fn f, void *user) KT_MUST_CHECK;

/* Mark key index i as seen; KT_EMALFORMED on a duplicate. */
int proto_seen(uint32_t *seen, int i) KT_MUST_CHECK;

int proto_read_str(kt_mp *r, kt_str *out, size_t max) KT_MUST_CHECK;

/* A message whose fields are all required strings (login, resume, the
 * portal messages): fill each out from its key, at most max bytes; any
 * missing or repeated field is KT_EMALFORMED. Unknown keys are skipped. */
typedef struct proto_strfield {
	const char *key;
	kt_str *out;
	size_t max;
} proto_strfield;
int proto_decode_strings(const void *buf, size_t len, const proto_strfield *f, int n) KT_MUST_CHECK;
int proto_read_bin(kt_mp *r, kt_str *out, size_t max) KT_MUST_CHECK;
/* The "t" key: check and skip (callers already know the type). */
bool proto_is_type_key(const char *key, size_t klen);



/* Messages that carry just a cursor: {t, cursor: bin | nil}. */
void proto_cursor_msg_encode(kt_mpw *w, const char *type, const kt_cursor_msg *m);
/* required: a nil/absent cursor is malformed. */
int proto_cursor_msg_decode(const void *buf, size_t len, kt_cursor_msg *m, bool required) KT_MUST_CHECK;

/* One row (page) or op (changes) at r; with_op: an "op" key is required. */
int proto_op_decode(kt_mp *r, bool with_op, kt_op *op) KT_MUST_CHECK;
/* Read an array of rows/ops at r, calling cb for each. */
int proto_ops_decode(kt_mp *r, bool with_op, kt_op_cb cb, void *user) KT_MUST_CHECK;

/* Visit each map of the array under key in a top-level map (the shape of
 * push_result and audit_result); cb gets each map's raw bytes. */
int proto_maps_decode(const void *buf, size_t len, const char *key, kt_raw_cb cb, void *user) KT_MUST_CHECK;

/* A call {t, op, <target_key>?} (manage: "id", privacy: "client"): the
 * op and target pairs, the whole message, and its decoding (op required,
 * at most 32 bytes; target at most 64). */
void proto_call_put(kt_mpw *w, const char *target_key, const kt_str *op, const kt_str *target);
void proto_call_encode(kt_mpw *w, const char *type, const char *target_key, const kt_str *op, const kt_str *target);
int proto_call_decode(const void *buf, size_t len, const char *target_key, kt_str *op, kt_str *target) KT_MUST_CHECK;

#endif
