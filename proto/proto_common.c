/* proto_common.c - message type names, whole-frame validation and key lookup
 * shared by every message decoder. */
#include <string.h>
#include "kt_proto.h"

static const char *const names[KT_MSG_COUNT] = {
	[KT_MSG_UNKNOWN] = "unknown",
	[KT_MSG_HELLO] = "hello",
	[KT_MSG_WELCOME] = "welcome",
	[KT_MSG_LOGIN] = "login",
	[KT_MSG_RESUME] = "resume",
	[KT_MSG_AUTH_OK] = "auth_ok",
	[KT_MSG_SYNC] = "sync",
	[KT_MSG_ACK] = "ack",
	[KT_MSG_SNAPSHOT_BEGIN] = "snapshot_begin",
	[KT_MSG_PAGE] = "page",
	[KT_MSG_SNAPSHOT_END] = "snapshot_end",
	[KT_MSG_CHANGES] = "changes",
	[KT_MSG_SYNCED] = "synced",
	[KT_MSG_ERROR] = "error",
	[KT_MSG_PUSH] = "push",
	[KT_MSG_PUSH_RESULT] = "push_result",
	[KT_MSG_AUDIT_QUERY] = "audit_query",
	[KT_MSG_AUDIT_RESULT] = "audit_result",
	[KT_MSG_LOGOUT] = "logout",
	[KT_MSG_MANAGE] = "manage",
	[KT_MSG_MANAGE_RESULT] = "manage_result",
	[KT_MSG_PRIVACY] = "privacy",
	[KT_MSG_PRIVACY_RESULT] = "privacy_result",
	/* portal accounts */
	[KT_MSG_PORTAL_INVITE] = "portal_invite",
	[KT_MSG_PORTAL_FORGOT] = "portal_forgot",
	[KT_MSG_PORTAL_SET_PASSWORD] = "portal_set_password",
	[KT_MSG_CHANGE_PASSWORD] = "change_password",
	[KT_MSG_PORTAL_RESULT] = "portal_result",
	[KT_MSG_PORTAL_CONFIRM_EMAIL] = "portal_confirm_email",
	[KT_MSG_LINK] = "link",
	[KT_MSG_LINK_RESULT] = "link_result",
};

const char *proto_msg_name(kt_msgtype t)
{
	return t > 0 && t < KT_MSG_COUNT ? names[t] : "unknown";
}

kt_msgtype proto_msg_from_name(const char *s, size_t len)
{
	for (int i = 1; i < KT_MSG_COUNT; i++)
		if (kt_mp_str_eq(s, len, names[i]))
			return (kt_msgtype)i;
	return KT_MSG_UNKNOWN;
}

int proto_find_key(const void *buf, size_t len, const char *key, kt_mp *r)
{
	uint32_t n;
	kt_mp_init(r, buf, len);
	if (kt_mp_read_map(r, &n))
		return KT_EMALFORMED;
	for (uint32_t i = 0; i < n; i++) {
		const char *k;
		size_t klen;
		if (kt_mp_read_str(r, &k, &klen, SIZE_MAX))
			return KT_EMALFORMED;
		if (kt_mp_str_eq(k, klen, key))
			return KT_OK;
		if (kt_mp_skip(r, KT_MAX_DEPTH))
			return KT_EMALFORMED;
	}
	return KT_ENOT_FOUND;
}

int proto_msg_type(const void *buf, size_t len, size_t max_str, kt_msgtype *type)
{
	kt_mp r;
	const char *t;
	size_t tlen;
	int rc;

	*type = KT_MSG_UNKNOWN;
	if ((rc = kt_mp_validate(buf, len, KT_MAX_DEPTH, max_str)))
		return rc;
	kt_mp_init(&r, buf, len);
	if (kt_mp_peek(&r) != KT_MP_MAP)
		return KT_EMALFORMED;
	if (proto_find_key(buf, len, "t", &r) || kt_mp_read_str(&r, &t, &tlen, 64))
		return KT_EMALFORMED;
	*type = proto_msg_from_name(t, tlen);
	return *type == KT_MSG_UNKNOWN ? KT_EUNKNOWN_TYPE : KT_OK;
}

int proto_msg_peek_type(const void *buf, size_t len, kt_msgtype *type)
{
	kt_mp r;
	const char *t;
	size_t tlen;

	*type = KT_MSG_UNKNOWN;
	if (proto_find_key(buf, len, "t", &r) || kt_mp_read_str(&r, &t, &tlen, 64))
		return KT_EMALFORMED;
	*type = proto_msg_from_name(t, tlen);
	return *type == KT_MSG_UNKNOWN ? KT_EUNKNOWN_TYPE : KT_OK;
}
