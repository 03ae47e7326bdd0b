/* kt_err.h - the one error space of Kartoteka.
 * 0 is success; every other code has a stable wire name (kt_err_name) that is
 * exactly what goes into an `error` message's `code` field. Never renumber. */
#ifndef KT_ERR_H
#define KT_ERR_H

typedef enum kt_err {
	KT_OK = 0,
	KT_EMALFORMED,      /* "malformed": bytes are not the MessagePack we expect */
	KT_ETOO_LARGE,      /* "too_large": frame, string, batch or nesting over a limit */
	KT_EUNKNOWN_TYPE,   /* "unknown_type": message type we do not know */
	KT_ETEXT_FRAME,     /* "text_frame": only binary frames are accepted */
	KT_EPROTO_VERSION,  /* "unsupported_version": no common protocol version */
	KT_EBAD_STATE,      /* "bad_state": message not allowed now (e.g. login twice) */
	KT_EUNAUTH,         /* "unauthenticated": sign in first */
	KT_EAUTH_FAILED,    /* "auth_failed": wrong e-mail, password or token (one generic error) */
	KT_ETHROTTLED,      /* "throttled": too many failed sign-ins, retry later */
	KT_EBAD_CURSOR,     /* "bad_cursor": cursor forged, foreign or expired; a snapshot follows */
	KT_EDENIED,         /* "forbidden": the principal may not do this */
	KT_ENOT_FOUND,      /* "not_found" */
	KT_ECONFLICT,       /* "conflict" */
	KT_EBUSY,           /* "busy": server is overloaded, retry later */
	KT_ETIMEOUT,        /* "timeout": a deadline passed (e.g. sign-in deadline) */
	KT_ENOMEM,          /* "no_memory" */
	KT_EIO,             /* "io_error": database or file error */
	KT_EINVALID,        /* "invalid": well-formed but not acceptable (bad argument) */
	KT_EINTERNAL,       /* "internal" */
	KT_EREVOKED,        /* "revoked": the session was ended (signed out, account deactivated) */
	KT_EDEVICE_REVOKED, /* "device_revoked": this device lost access; wipe its local data */
	KT_EAPPEND_ONLY,    /* "append_only": history rows (consents) are never changed; add a new one */
	KT_ERR_COUNT
} kt_err;

/* Stable wire name of a code ("malformed", ...). Never NULL. */
const char *kt_err_name(int code);
/* Human text for logs and CLI output. Never NULL. */
const char *kt_strerror(int code);
/* Reverse of kt_err_name; unknown names map to KT_EINTERNAL. */
int kt_err_from_name(const char *name, size_t len);

#define KT_MUST_CHECK __attribute__((warn_unused_result))

#endif
