/* kt_err.h - the one error space of Kartoteka.
 * 0 is success; every other code has a stable wire name (kt_err_name) that is
 * exactly what goes into an `error` message's `code` field. Never renumber. */
#ifndef KT_ERR_H
#define KT_ERR_H

#include <stddef.h>

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
	/* portal accounts: which password rule failed, what is wrong with a setup token */
	KT_EPW_TOO_SHORT,   /* "password_too_short": fewer than 8 characters */
	KT_EPW_NO_UPPER,    /* "password_no_upper": no upper-case letter */
	KT_EPW_NO_LOWER,    /* "password_no_lower": no lower-case letter */
	KT_EPW_NO_DIGIT,    /* "password_no_digit": no digit */
	KT_EPW_COMMON,      /* "password_common": on the list of common passwords */
	KT_ETOKEN_INVALID,  /* "token_invalid": not a setup token we issued */
	KT_ETOKEN_USED,     /* "token_used": the setup link was used already */
	KT_ETOKEN_EXPIRED,  /* "token_expired": the setup link is too old */
	KT_ETOKEN_REPLACED, /* "token_replaced": a newer setup link was sent */
	KT_ENO_EMAIL,       /* "no_email": the client has no e-mail address */
	KT_EACCOUNT_SUSPENDED, /* "account_suspended": the portal e-mail changed; confirm it from the link */
	KT_EEMAIL_RECENT,   /* "email_recently_changed": a link to a new address needs an owner or manager */
	KT_ERATE_LIMITED,   /* "rate_limited": too many requests of this kind from this person; retry later */
	KT_EDEVICE_TAKEN,   /* "device_taken": the device id is signed in as another person */
	/* booking rules (ops.c): which rule an appointment breaks; each can be
	 * overridden with a reason, like a double booking */
	KT_EOUTSIDE_OPENING_HOURS, /* "outside_opening_hours": the location is not open then */
	KT_ELOCATION_CLOSED,       /* "location_closed": a closed day (holiday) of the location */
	KT_EOUTSIDE_WORKING_HOURS, /* "outside_working_hours": the specialist does not work then there */
	KT_ESTAFF_TIME_OFF,        /* "staff_time_off": the specialist is off then */
	KT_ESERVICE_NOT_BY_SPECIALIST, /* "service_not_by_specialist": not one of their services */
	KT_ESERVICE_NOT_AT_LOCATION,   /* "service_not_at_location": the location does not offer it */
	KT_EBUFFER_OVERLAP,        /* "buffer_overlap": a service's buffer time runs into another booking */
	/* one-purpose links (confirm attendance) */
	KT_EAPPOINTMENT_CANCELLED, /* "appointment_cancelled": the appointment a link confirms was cancelled */
	KT_EAPPOINTMENT_PAST,      /* "appointment_past": it has started, or is done or a no-show */
	/* retention (PROTOCOL §5) */
	KT_EMUTATION_EXPIRED,      /* "mutation_expired": a replay of a mid whose stored answer is past the window */
	KT_ERR_COUNT
} kt_err;

/* Stable wire name of a code ("malformed", ...). Never NULL. */
const char *kt_err_name(int code);
/* Human text for logs and CLI output. Never NULL. */
const char *kt_strerror(int code);

/* Put one sentence for a person into err[errlen] (either may be NULL/0)
 * and return code: `return kt_fail(err, errlen, KT_EINVALID, "name: ...")`. */
int kt_fail(char *err, size_t errlen, int code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Reverse of kt_err_name; unknown names map to KT_EINTERNAL. */
int kt_err_from_name(const char *name, size_t len);

#define KT_MUST_CHECK __attribute__((warn_unused_result))

#endif
