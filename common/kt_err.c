/* kt_err.c - names and texts of the error space. The wire names are a public
 * contract (proto/PROTOCOL.md lists them); add at the end, never rename. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "kt_err.h"

static const struct {
	const char *name;
	const char *text;
} errs[KT_ERR_COUNT] = {
	[KT_OK] = {"ok", "success"},
	[KT_EMALFORMED] = {"malformed", "malformed message"},
	[KT_ETOO_LARGE] = {"too_large", "over a protocol limit"},
	[KT_EUNKNOWN_TYPE] = {"unknown_type", "unknown message type"},
	[KT_ETEXT_FRAME] = {"text_frame", "text frames are not accepted; send binary MessagePack"},
	[KT_EPROTO_VERSION] = {"unsupported_version", "no common protocol version"},
	[KT_EBAD_STATE] = {"bad_state", "message not allowed in this state"},
	[KT_EUNAUTH] = {"unauthenticated", "sign in first"},
	[KT_EAUTH_FAILED] = {"auth_failed", "wrong e-mail, password or token"},
	[KT_ETHROTTLED] = {"throttled", "too many failed sign-ins; retry later"},
	[KT_EBAD_CURSOR] = {"bad_cursor", "cursor not valid for this device; sending a snapshot"},
	[KT_EDENIED] = {"forbidden", "not allowed for this principal"},
	[KT_ENOT_FOUND] = {"not_found", "not found"},
	[KT_ECONFLICT] = {"conflict", "conflicting change"},
	[KT_EBUSY] = {"busy", "server busy; retry later"},
	[KT_ETIMEOUT] = {"timeout", "deadline passed"},
	[KT_ENOMEM] = {"no_memory", "out of memory"},
	[KT_EIO] = {"io_error", "database or file error"},
	[KT_EINVALID] = {"invalid", "invalid argument"},
	[KT_EINTERNAL] = {"internal", "internal error"},
	[KT_EREVOKED] = {"revoked", "signed out by the salon, or the account was deactivated"},
	[KT_EDEVICE_REVOKED] = {"device_revoked", "this device's access was revoked; its local data must be wiped"},
	[KT_EAPPEND_ONLY] = {"append_only", "history is append-only: record a new entry instead"},
	/* portal accounts */
	[KT_EPW_TOO_SHORT] = {"password_too_short", "the password needs at least 8 characters"},
	[KT_EPW_NO_UPPER] = {"password_no_upper", "the password needs an upper-case letter"},
	[KT_EPW_NO_LOWER] = {"password_no_lower", "the password needs a lower-case letter"},
	[KT_EPW_NO_DIGIT] = {"password_no_digit", "the password needs a digit"},
	[KT_EPW_COMMON] = {"password_common", "the password is too common; choose another"},
	[KT_ETOKEN_INVALID] = {"token_invalid", "this setup link is not valid"},
	[KT_ETOKEN_USED] = {"token_used", "this setup link was used already; ask for a new one"},
	[KT_ETOKEN_EXPIRED] = {"token_expired", "this setup link has expired; ask for a new one"},
	[KT_ETOKEN_REPLACED] = {"token_replaced", "a newer setup link was sent; use that one"},
	[KT_ENO_EMAIL] = {"no_email", "the client has no e-mail address"},
	[KT_EACCOUNT_SUSPENDED] = {"account_suspended",
				   "the account's e-mail address was changed; confirm the new address from the link "
				   "sent to it"},
	[KT_EEMAIL_RECENT] = {"email_recently_changed",
			      "the client's e-mail address changed recently; an owner or manager sends this link"},
	[KT_ERATE_LIMITED] = {"rate_limited", "too many requests of this kind; retry later"},
	[KT_EDEVICE_TAKEN] = {"device_taken", "this device is signed in as another person"},
	[KT_EOUTSIDE_OPENING_HOURS] = {"outside_opening_hours", "the location is not open then"},
	[KT_ELOCATION_CLOSED] = {"location_closed", "the location is closed that day"},
	[KT_EOUTSIDE_WORKING_HOURS] = {"outside_working_hours", "the specialist does not work then at that location"},
	[KT_ESTAFF_TIME_OFF] = {"staff_time_off", "the specialist is off then"},
	[KT_ESERVICE_NOT_BY_SPECIALIST] = {"service_not_by_specialist", "the specialist does not do that service"},
	[KT_ESERVICE_NOT_AT_LOCATION] = {"service_not_at_location", "the location does not offer that service"},
	[KT_EBUFFER_OVERLAP] = {"buffer_overlap", "the service's buffer time runs into the next booking"},
	[KT_EAPPOINTMENT_CANCELLED] = {"appointment_cancelled", "the appointment was cancelled"},
	[KT_EAPPOINTMENT_PAST] = {"appointment_past", "the appointment has started or is over"},
	[KT_EMUTATION_EXPIRED] = {"mutation_expired",
				  "this mutation id was answered longer ago than the server keeps answers; not applied"},
};

const char *kt_err_name(int code)
{
	if (code < 0 || code >= KT_ERR_COUNT)
		return "internal";
	return errs[code].name;
}

const char *kt_strerror(int code)
{
	if (code < 0 || code >= KT_ERR_COUNT)
		return "internal error";
	return errs[code].text;
}

int kt_err_from_name(const char *name, size_t len)
{
	for (int i = 0; i < KT_ERR_COUNT; i++)
		if (strlen(errs[i].name) == len && memcmp(errs[i].name, name, len) == 0)
			return i;
	return KT_EINTERNAL;
}

int kt_fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;
	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}
