/* dispatch.h - which handler an inbound message goes to, and in which
 * session states it is accepted: one row per message type (dispatch.c),
 * like the command tables of Redis and mosquitto. session_on_message
 * checks the frame, looks the row up, and either refuses the message with
 * the row's error or calls the handler. A handler never re-checks state. */
#ifndef KT_DISPATCH_H
#define KT_DISPATCH_H

#include "server.h"

/* The bit of a session state in a row's states. */
#define KT_IN(st) (1u << (st))

/* One inbound message: buf/len are the whole frame, borrowed for the call.
 * Returns -1 when the connection must close now, else 0. */
typedef int (*kt_handler)(kt_session *s, const unsigned char *buf, size_t len);

enum {
	/* Needs a signed-in session: refused before sign-in as unauthenticated,
	 * and judged with the principal's current rights (re-read first when
	 * anyone's rights changed, rights.c). */
	KT_DF_SIGNED_IN = 1u << 0,
	/* A server-to-device type: a device that sends it is told the type is
	 * not one it may send (unknown type). */
	KT_DF_TO_DEVICE = 1u << 1,
	/* While a sign-in is being checked, a message not accepted then is
	 * answered busy (try again in a moment); these rows give their own
	 * refusal at once instead. */
	KT_DF_ANSWER_NOW = 1u << 2,
};

typedef struct kt_dispatch {
	kt_msgtype type;
	unsigned states;   /* KT_IN(state) bits in which it is handled */
	unsigned flags;    /* KT_DF_* */
	kt_handler handle; /* NULL: never handled (server-to-device types) */
} kt_dispatch;

/* The row of type t; a type without one gets an empty row (accepted in no
 * state). Never NULL; the row is static. */
const kt_dispatch *dispatch_find(kt_msgtype t);

/* Whether d's message is handled now: KT_OK, or the error it is refused
 * with and in *msg the text for it (static; NULL: the code's own text).
 * Decided from the row, the session's state and whether it signed in. */
int dispatch_refusal(const kt_dispatch *d, kt_sess_state st, bool signed_in, const char **msg);

#endif
