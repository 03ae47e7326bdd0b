/* dispatch.c - the table of inbound messages: for each type, the session
 * states that accept it and its handler (one handle_*.c file). A new
 * message is one row here and one handler; nothing else decides state.
 * The refusal of a message out of state never closes the connection. */
#include "net/dispatch.h"
#include "handlers/handlers.h"

/* before sign-in */
#define PRE_HELLO KT_IN(KT_SS_HELLO)
#define PRE_AUTH KT_IN(KT_SS_AUTH)
/* signed in: before the first sync, or any time */
#define READY KT_IN(KT_SS_READY)
#define SIGNED (KT_IN(KT_SS_READY) | KT_IN(KT_SS_SNAPSHOT) | KT_IN(KT_SS_STREAM))

#define DEVICE_ONLY(t) [t] = {t, 0, KT_DF_TO_DEVICE, NULL}

static const kt_dispatch table[KT_MSG_COUNT] = {
	/* type: {type, states that accept it, flags, handler} */
	[KT_MSG_HELLO] = {KT_MSG_HELLO, PRE_HELLO, 0, handle_hello},
	[KT_MSG_LOGIN] = {KT_MSG_LOGIN, PRE_AUTH, 0, handle_login},
	[KT_MSG_RESUME] = {KT_MSG_RESUME, PRE_AUTH, 0, handle_resume},
	[KT_MSG_SYNC] = {KT_MSG_SYNC, READY, KT_DF_SIGNED_IN | KT_DF_ANSWER_NOW, handle_sync},
	[KT_MSG_ACK] = {KT_MSG_ACK, SIGNED, KT_DF_SIGNED_IN | KT_DF_ANSWER_NOW, handle_ack},
	[KT_MSG_PUSH] = {KT_MSG_PUSH, SIGNED, KT_DF_SIGNED_IN | KT_DF_ANSWER_NOW, handle_push},
	[KT_MSG_AUDIT_QUERY] = {KT_MSG_AUDIT_QUERY, SIGNED, KT_DF_SIGNED_IN | KT_DF_ANSWER_NOW, handle_audit_query},
	[KT_MSG_LOGOUT] = {KT_MSG_LOGOUT, SIGNED, KT_DF_SIGNED_IN | KT_DF_ANSWER_NOW, handle_logout},
	[KT_MSG_MANAGE] = {KT_MSG_MANAGE, SIGNED, KT_DF_SIGNED_IN | KT_DF_ANSWER_NOW, handle_manage},
	[KT_MSG_PRIVACY] = {KT_MSG_PRIVACY, SIGNED, KT_DF_SIGNED_IN | KT_DF_ANSWER_NOW, handle_privacy},
	/* portal accounts: a client sets or resets a password before signing in */
	[KT_MSG_PORTAL_FORGOT] = {KT_MSG_PORTAL_FORGOT, PRE_AUTH, 0, handle_portal_forgot},
	[KT_MSG_PORTAL_SET_PASSWORD] = {KT_MSG_PORTAL_SET_PASSWORD, PRE_AUTH, 0, handle_portal_set_password},
	[KT_MSG_PORTAL_CONFIRM_EMAIL] = {KT_MSG_PORTAL_CONFIRM_EMAIL, PRE_AUTH, 0, handle_portal_confirm_email},
	[KT_MSG_PORTAL_INVITE] = {KT_MSG_PORTAL_INVITE, SIGNED, KT_DF_SIGNED_IN, handle_portal_invite},
	[KT_MSG_CHANGE_PASSWORD] = {KT_MSG_CHANGE_PASSWORD, SIGNED, KT_DF_SIGNED_IN, handle_change_password},
	/* a one-purpose link in a message (confirm, unsubscribe, review, ...): signs nothing in */
	[KT_MSG_LINK] = {KT_MSG_LINK, PRE_AUTH, 0, handle_link},
	/* what the server sends; a device that sends one is answered unknown_type */
	DEVICE_ONLY(KT_MSG_WELCOME),
	DEVICE_ONLY(KT_MSG_AUTH_OK),
	DEVICE_ONLY(KT_MSG_SNAPSHOT_BEGIN),
	DEVICE_ONLY(KT_MSG_PAGE),
	DEVICE_ONLY(KT_MSG_SNAPSHOT_END),
	DEVICE_ONLY(KT_MSG_CHANGES),
	DEVICE_ONLY(KT_MSG_SYNCED),
	DEVICE_ONLY(KT_MSG_ERROR),
	DEVICE_ONLY(KT_MSG_PUSH_RESULT),
	DEVICE_ONLY(KT_MSG_AUDIT_RESULT),
	DEVICE_ONLY(KT_MSG_MANAGE_RESULT),
	DEVICE_ONLY(KT_MSG_PRIVACY_RESULT),
	DEVICE_ONLY(KT_MSG_LINK_RESULT),
	[KT_MSG_PORTAL_RESULT] = {KT_MSG_PORTAL_RESULT, 0, KT_DF_TO_DEVICE | KT_DF_ANSWER_NOW, NULL},
};

const kt_dispatch *dispatch_find(kt_msgtype t)
{
	static const kt_dispatch none = {KT_MSG_UNKNOWN, 0, 0, NULL};
	if ((unsigned)t >= KT_MSG_COUNT || table[t].type != t)
		return &none;
	return &table[t];
}

int dispatch_refusal(const kt_dispatch *d, kt_sess_state st, bool signed_in, const char **msg)
{
	*msg = NULL;
	if (d->states & KT_IN(st))
		return KT_OK;
	if (st == KT_SS_AUTH_PENDING && !(d->flags & KT_DF_ANSWER_NOW)) {
		*msg = "a sign-in is being checked";
		return KT_EBUSY;
	}
	if ((d->flags & KT_DF_SIGNED_IN) && !signed_in)
		return KT_EUNAUTH;
	if (d->flags & KT_DF_TO_DEVICE) {
		*msg = "a server-to-device message type";
		return KT_EUNKNOWN_TYPE;
	}
	*msg = "message not allowed now";
	return KT_EBAD_STATE;
}
