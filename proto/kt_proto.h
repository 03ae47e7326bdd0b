/* kt_proto.h - protocol v1 messages (proto/PROTOCOL.md). Each message type has
 * its encoder and decoder in one file (proto/msg_<type>.c). Decoders never
 * allocate: kt_str fields point into the caller's frame buffer, which must
 * outlive the decoded struct. Encoders append one whole message to a kt_mpw
 * and report failure through w->err. */
#ifndef KT_PROTO_H
#define KT_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "kt_err.h"
#include "kt_limits.h"
#include "kt_mp.h"

typedef enum kt_msgtype {
	KT_MSG_UNKNOWN = 0,
	KT_MSG_HELLO,
	KT_MSG_WELCOME,
	KT_MSG_LOGIN,
	KT_MSG_RESUME,
	KT_MSG_AUTH_OK,
	KT_MSG_SYNC,
	KT_MSG_ACK,
	KT_MSG_SNAPSHOT_BEGIN,
	KT_MSG_PAGE,
	KT_MSG_SNAPSHOT_END,
	KT_MSG_CHANGES,
	KT_MSG_SYNCED,
	KT_MSG_ERROR,
	KT_MSG_PUSH,
	KT_MSG_PUSH_RESULT,
	KT_MSG_AUDIT_QUERY,
	KT_MSG_AUDIT_RESULT,
	KT_MSG_LOGOUT,
	KT_MSG_MANAGE,
	KT_MSG_MANAGE_RESULT,
	KT_MSG_PRIVACY,
	KT_MSG_PRIVACY_RESULT,
	/* portal accounts */
	KT_MSG_PORTAL_INVITE,
	KT_MSG_PORTAL_FORGOT,
	KT_MSG_PORTAL_SET_PASSWORD,
	KT_MSG_CHANGE_PASSWORD,
	KT_MSG_PORTAL_RESULT,
	KT_MSG_PORTAL_CONFIRM_EMAIL,
	/* one-purpose links in messages (confirm, unsubscribe, review, ...) */
	KT_MSG_LINK,
	KT_MSG_LINK_RESULT,
	KT_MSG_COUNT
} kt_msgtype;

/* A borrowed string or binary view; not NUL-terminated. */
typedef struct kt_str {
	const char *s;
	size_t len;
} kt_str;

const char *proto_msg_name(kt_msgtype t);
kt_msgtype proto_msg_from_name(const char *s, size_t len);

/* Check a whole frame (one map, depth <= KT_MAX_DEPTH, strings valid and
 * <= max_str, no trailing bytes) and find its "t". Returns KT_OK,
 * KT_EMALFORMED, KT_ETOO_LARGE or KT_EUNKNOWN_TYPE (*type = KT_MSG_UNKNOWN). */
int proto_msg_type(const void *buf, size_t len, size_t max_str, kt_msgtype *type) KT_MUST_CHECK;

/* Find "t" without walking the whole message first. For a device reading
 * large server messages: every decoder is bounded on its own, so the full
 * validation pass is not needed for safety there. The server always uses
 * proto_msg_type on untrusted input. */
int proto_msg_peek_type(const void *buf, size_t len, kt_msgtype *type) KT_MUST_CHECK;

/* Helper for decoders: position r at the value of key in the top-level map.
 * KT_ENOT_FOUND when absent. */
int proto_find_key(const void *buf, size_t len, const char *key, kt_mp *r) KT_MUST_CHECK;

/* hello: device -> server */
typedef struct kt_hello {
	uint32_t versions; /* bit v set when version v (1..31) is offered */
	kt_str device;     /* UUID text */
	kt_str app;
} kt_hello;
void proto_hello_encode(kt_mpw *w, const kt_hello *m);
int proto_hello_decode(const void *buf, size_t len, kt_hello *m) KT_MUST_CHECK;

/* welcome: server -> device */
typedef struct kt_welcome {
	int64_t v;
	int64_t server_time;
	int64_t frame_preauth, frame, depth, str, page_rows, batch_ops, auth_deadline_ms;
} kt_welcome;
void proto_welcome_encode(kt_mpw *w, const kt_welcome *m);
int proto_welcome_decode(const void *buf, size_t len, kt_welcome *m) KT_MUST_CHECK;

typedef struct kt_login {
	kt_str email;
	kt_str password;
} kt_login;
void proto_login_encode(kt_mpw *w, const kt_login *m);
int proto_login_decode(const void *buf, size_t len, kt_login *m) KT_MUST_CHECK;

typedef struct kt_resume {
	kt_str token;
} kt_resume;
void proto_resume_encode(kt_mpw *w, const kt_resume *m);
int proto_resume_decode(const void *buf, size_t len, kt_resume *m) KT_MUST_CHECK;

typedef struct kt_auth_ok {
	kt_str kind, id, role, name, org, token;
	int64_t expires_at;
} kt_auth_ok;
void proto_auth_ok_encode(kt_mpw *w, const kt_auth_ok *m);
int proto_auth_ok_decode(const void *buf, size_t len, kt_auth_ok *m) KT_MUST_CHECK;

/* sync and ack carry an optional opaque cursor (bin). */
typedef struct kt_cursor_msg {
	bool has_cursor;
	kt_str cursor;
} kt_cursor_msg;
void proto_sync_encode(kt_mpw *w, const kt_cursor_msg *m);
int proto_sync_decode(const void *buf, size_t len, kt_cursor_msg *m) KT_MUST_CHECK;
void proto_ack_encode(kt_mpw *w, const kt_cursor_msg *m);
int proto_ack_decode(const void *buf, size_t len, kt_cursor_msg *m) KT_MUST_CHECK;
void proto_snapshot_end_encode(kt_mpw *w, const kt_cursor_msg *m);
int proto_snapshot_end_decode(const void *buf, size_t len, kt_cursor_msg *m) KT_MUST_CHECK;
void proto_synced_encode(kt_mpw *w, const kt_cursor_msg *m);
int proto_synced_decode(const void *buf, size_t len, kt_cursor_msg *m) KT_MUST_CHECK;

typedef struct kt_snapshot_begin {
	int64_t total;
} kt_snapshot_begin;
void proto_snapshot_begin_encode(kt_mpw *w, const kt_snapshot_begin *m);
int proto_snapshot_begin_decode(const void *buf, size_t len, kt_snapshot_begin *m) KT_MUST_CHECK;

typedef struct kt_error_msg {
	kt_str code, msg, re; /* re.s == NULL when absent */
	bool fatal;
	int64_t retry_after_ms; /* rate_limited: when to try again; 0 = absent */
} kt_error_msg;
void proto_error_encode(kt_mpw *w, const kt_error_msg *m);
int proto_error_decode(const void *buf, size_t len, kt_error_msg *m) KT_MUST_CHECK;

/* Rows (page) and ops (changes). The server packs each row/op into a body
 * buffer, counting them, then wraps the body into one message. */
typedef enum kt_opkind { KT_OP_PUT, KT_OP_DELETE, KT_OP_EVICT } kt_opkind;
/* Start a put row/op: writes {op?, tbl, id, v, f: <map of nfields>} up to the
 * f map header; the caller then writes nfields key/value pairs. with_op is
 * false inside a page (page rows carry no "op"). */
void proto_put_begin(kt_mpw *body, bool with_op, const char *tbl, const char *id, int64_t v,
		     uint32_t nfields);
void proto_gone_encode(kt_mpw *body, kt_opkind op, const char *tbl, const char *id); /* delete/evict */
void proto_page_encode(kt_mpw *w, uint32_t nrows, const void *body, size_t len);
void proto_changes_encode(kt_mpw *w, uint32_t nops, const void *body, size_t len, const void *cursor,
			  size_t cursor_len);

/* A decoded row/op. fields is a reader positioned on the f map (valid only
 * for a put); fields_len is the byte length of that map. */
typedef struct kt_op {
	kt_opkind op;
	kt_str tbl, id;
	int64_t v;
	const uint8_t *fields; /* raw MessagePack map of field -> value; NULL for delete/evict */
	size_t fields_len;
} kt_op;
typedef int (*kt_op_cb)(void *user, const kt_op *op);
/* Decode a page or changes message, calling cb for each row/op in order;
 * a non-zero return from cb stops and is returned. For changes, *cursor gets
 * the cursor (may be NULL for page). */
int proto_page_decode(const void *buf, size_t len, kt_op_cb cb, void *user) KT_MUST_CHECK;
int proto_changes_decode(const void *buf, size_t len, kt_op_cb cb, void *user, kt_str *cursor) KT_MUST_CHECK;

/* push: device -> server, a batch of mutations in the device's order. */
typedef struct kt_mut {
	int64_t mid;           /* per-device increasing mutation id, > 0 */
	kt_str tbl, id, op;    /* op: "create" or "update" */
	int64_t base;          /* the row version the device saw; 0 for create */
	const uint8_t *fields; /* raw MessagePack map field -> value */
	size_t fields_len;
	int64_t at;            /* device time, ms (informational: never decides anything) */
	/* override: {rule, reason}, a booking rule broken on purpose (the
	 * server decides who may); rule.s NULL when absent */
	kt_str ovr_rule, ovr_reason;
	bool ovr_bad; /* an override of another shape: the server refuses the mutation, naming it */
} kt_mut;
typedef int (*kt_mut_cb)(void *user, const kt_mut *m);
/* Count, then (cb != NULL) visit each mutation. KT_ETOO_LARGE over KT_PUSH_MAX. */
int proto_push_decode(const void *buf, size_t len, kt_mut_cb cb, void *user, uint32_t *count) KT_MUST_CHECK;
/* {t:"push", muts:[ ...n follow; with_events: the caller then writes
 * proto_push_events_begin and the events */
void proto_push_begin(kt_mpw *w, uint32_t n, bool with_events);
void proto_mut_encode(kt_mpw *w, const kt_mut *m);

/* Things staff looked at on the device ("viewed" a client card), for the
 * audit log: {kind, tbl, id, at}. */
typedef struct kt_event {
	kt_str kind, tbl, id;
	int64_t at;
} kt_event;
typedef int (*kt_event_cb)(void *user, const kt_event *e);
void proto_push_events_begin(kt_mpw *w, uint32_t n);
void proto_event_encode(kt_mpw *w, const kt_event *e);
/* Visit the events of a push (none when absent). KT_ETOO_LARGE over KT_PUSH_MAX. */
int proto_push_events_decode(const void *buf, size_t len, kt_event_cb cb, void *user) KT_MUST_CHECK;

/* push_result: server -> device, one result per mutation, in order. The
 * server packs each result map into a body and wraps it here. */
void proto_push_result_encode(kt_mpw *w, uint32_t n, const void *body, size_t len);
/* One result map each. The row values a result carries are not packed
 * here: with_conflicts / with_current / the duplicate's first answer leave
 * the last key's value to the caller, who must append exactly one value
 * (a field map, packed by the server's egress). code is a kt_err_name. */
void proto_push_applied_encode(kt_mpw *w, int64_t mid, int64_t v, bool with_conflicts);
void proto_push_rejected_encode(kt_mpw *w, int64_t mid, const char *code, const char *msg, bool with_current);
void proto_push_duplicate_encode(kt_mpw *w, int64_t mid);
/* Results as raw maps (decoded by the client with kt_mp). */
typedef int (*kt_raw_cb)(void *user, const uint8_t *map, size_t len);
int proto_push_result_decode(const void *buf, size_t len, kt_raw_cb cb, void *user) KT_MUST_CHECK;

/* audit_query: owners and managers read the audit log (their locations).
 * client: only entries about this client (s == NULL: all); before: entries
 * with seq < before (0: newest); limit 1..500. */
typedef struct kt_audit_query {
	kt_str client;
	int64_t before, limit;
} kt_audit_query;
void proto_audit_query_encode(kt_mpw *w, const kt_audit_query *q);
int proto_audit_query_decode(const void *buf, size_t len, kt_audit_query *q) KT_MUST_CHECK;
/* audit_result {t, entries:[map...]}, newest first; entries packed by the server. */
void proto_audit_result_encode(kt_mpw *w, uint32_t n, const void *body, size_t len);
int proto_audit_result_decode(const void *buf, size_t len, kt_raw_cb cb, void *user) KT_MUST_CHECK;

/* logout {t}: the device signs itself out; the server ends the session
 * (its token is refused from now on) and closes the connection. */
void proto_logout_encode(kt_mpw *w);

/* manage {t, op, id?}: owners and managers take access away or list the
 * device register. op: "list_devices", "sign_out_device" (id: device),
 * "revoke_device" (id: device), "deactivate_staff" (id: staff). */
typedef struct kt_manage {
	kt_str op, id; /* id.s == NULL when absent */
	/* the setup ops (PROTOCOL.md, manage): each s == NULL when absent */
	kt_str name, address, phone, time_zone, email, role, into, text, after;
	kt_str locations[KT_MANAGE_MAX_LOCATIONS]; /* "locations": an array of location ids */
	int nlocations;                            /* -1 when absent */
	int64_t limit;                             /* 0 when absent */
} kt_manage;
void proto_manage_encode(kt_mpw *w, const kt_manage *m);
int proto_manage_decode(const void *buf, size_t len, kt_manage *m) KT_MUST_CHECK;
/* manage_result of a setup op: {t, op, id?, expires_at?, clients?:[map...]}
 * (clients: packed by the server, for find_clients, whose id is where the
 * search goes on, absent when it reached the end; n = -1: no clients key). */
void proto_manage_done_encode(kt_mpw *w, const char *op, const char *id, int64_t expires_at, int32_t n,
			      const void *body, size_t len);
/* manage_result {t, op, id?, devices:[map...]} (devices empty unless listing). */
void proto_manage_result_encode(kt_mpw *w, const kt_manage *m, uint32_t ndevices, const void *body, size_t len);
int proto_manage_result_decode(const void *buf, size_t len, kt_raw_cb cb, void *user) KT_MUST_CHECK;

/* The message ops of manage (msg_message_ops.c; PROTOCOL-plan.md): the
 * keys besides op. Strings: s == NULL when absent. Settings (message_settings
 * keys such as reminder1_min, quiet_from) as text in the order sent. */
#define KT_MESSAGE_OP_SETTINGS 12
#define KT_MESSAGE_OP_MAX_SUBJECT 200
#define KT_MESSAGE_OP_MAX_BODY (16 * 1024)
typedef struct kt_msg_setting_wire {
	char key[32], value[32];
} kt_msg_setting_wire;
typedef struct kt_message_op {
	kt_str kind, lang, channel, appointment, client, location, day, subject, body;
	int64_t from, to;
	bool has_from, has_to, bad_from, bad_to; /* bad: sent, but not an integer */
	bool has_audience;
	kt_str audience_location, visited_since; /* audience {location?, visited_since?} */
	kt_msg_setting_wire settings[KT_MESSAGE_OP_SETTINGS];
	int nsettings;
} kt_message_op;
int proto_message_op_decode(const void *buf, size_t len, kt_message_op *m) KT_MUST_CHECK;
/* manage_result {t, op, then npairs key/value pairs packed by the server in body}. */
void proto_message_result_encode(kt_mpw *w, const char *op, uint32_t npairs, const void *body, size_t len);

/* A device as the device list (manage) and an erasure's status (privacy)
 * show it: these eight fields, then nextra more pairs the caller packs. */
typedef struct kt_device_wire {
	const char *id, *kind, *principal, *name, *role, *app;
	int64_t last_seen, last_ack_seq;
} kt_device_wire;
void proto_device_begin(kt_mpw *w, const kt_device_wire *d, uint32_t nextra);


/* privacy {t, op, client?}: a client's data (PROTOCOL.md, "Privacy").
 * op: "export" (owners, managers for clients at their locations, a client
 * for themself), "erasure_request" (a client for themself), "erase",
 * "erasure_pending", "erasure_status" (owners). client: a client id
 * (client.s == NULL when absent). */
typedef struct kt_privacy {
	kt_str op, client;
} kt_privacy;
void proto_privacy_encode(kt_mpw *w, const kt_privacy *m);
int proto_privacy_decode(const void *buf, size_t len, kt_privacy *m) KT_MUST_CHECK;
/* privacy_result {t, op, client?, <npairs key/value pairs packed by the
 * server in body>}. Devices read it with kt_mp (its keys depend on op). */
void proto_privacy_result_encode(kt_mpw *w, const kt_privacy *m, uint32_t npairs, const void *body, size_t len);
/* ---- portal accounts ---- */

/* portal_invite {t, client}: staff (reception and up) send a client a
 * password-setup link by e-mail. */
typedef struct kt_portal_invite {
	kt_str client;
} kt_portal_invite;
void proto_portal_invite_encode(kt_mpw *w, const kt_portal_invite *m);
int proto_portal_invite_decode(const void *buf, size_t len, kt_portal_invite *m) KT_MUST_CHECK;

/* portal_forgot {t, email}: before sign-in; a new setup link goes to a
 * portal account with that e-mail, if there is one (the answer is the same
 * either way). */
typedef struct kt_portal_forgot {
	kt_str email;
} kt_portal_forgot;
void proto_portal_forgot_encode(kt_mpw *w, const kt_portal_forgot *m);
int proto_portal_forgot_decode(const void *buf, size_t len, kt_portal_forgot *m) KT_MUST_CHECK;

/* portal_set_password {t, token, password}: before sign-in; the token from
 * the setup link. */
typedef struct kt_portal_set_password {
	kt_str token, password;
} kt_portal_set_password;
void proto_portal_set_password_encode(kt_mpw *w, const kt_portal_set_password *m);
int proto_portal_set_password_decode(const void *buf, size_t len, kt_portal_set_password *m) KT_MUST_CHECK;

/* portal_confirm_email {t, token, password}: before sign-in; the token from
 * the link sent to a client's new e-mail address, the password the
 * account already has. Ends the account's suspension. */
typedef struct kt_portal_confirm_email {
	kt_str token, password;
} kt_portal_confirm_email;
void proto_portal_confirm_email_encode(kt_mpw *w, const kt_portal_confirm_email *m);
int proto_portal_confirm_email_decode(const void *buf, size_t len, kt_portal_confirm_email *m) KT_MUST_CHECK;

/* change_password {t, old, new}: a signed-in principal changes its own
 * password; its other sessions end. */
typedef struct kt_change_password {
	kt_str old_pw, new_pw;
} kt_change_password;
void proto_change_password_encode(kt_mpw *w, const kt_change_password *m);
int proto_change_password_decode(const void *buf, size_t len, kt_change_password *m) KT_MUST_CHECK;

/* portal_result {t, op, client?, expires_at?}: the answer to the four
 * messages above; op is "invite", "forgot", "set_password" or
 * "change_password". client.s == NULL and expires_at == 0 when absent. */
typedef struct kt_portal_result {
	kt_str op, client;
	int64_t expires_at;
} kt_portal_result;
void proto_portal_result_encode(kt_mpw *w, const kt_portal_result *m);
int proto_portal_result_decode(const void *buf, size_t len, kt_portal_result *m) KT_MUST_CHECK;

/* manage ops of reviews and statistics (PROTOCOL-feedback.md): the keys
 * besides op and id of {t: "manage", op: "stats" | "review_reply" |
 * "review_set" | "reviews", ...}. Strings s == NULL when absent; reply nil
 * is reply_nil (remove the reply); highlighted, hidden -1 when absent. */
typedef struct kt_manage_feedback {
	kt_str op, id, from, to, group, by, location, reply;
	bool reply_nil;
	int highlighted, hidden;
	int64_t limit; /* 0 when absent */
} kt_manage_feedback;
int proto_manage_feedback_decode(const void *buf, size_t len, kt_manage_feedback *m) KT_MUST_CHECK;
/* ---- one-purpose links in messages (PROTOCOL-links.md) ---- */

/* link {t, op, token, granted?, stars?, text?, score?, public_ok?}: before
 * sign-in; op "open" (what the link's page shows) or "act" (do the link's
 * one action). The act keys are read by the link's kind; each has_* is
 * false (text.s NULL) when the key is absent. On KT_EMALFORMED or
 * KT_ETOO_LARGE, bad names the key at fault (a static string; "" when the
 * message as a whole is at fault). */
typedef struct kt_link_msg {
	kt_str op, token;
	bool has_granted, granted;
	bool has_stars, has_score;
	int64_t stars, score;
	bool has_public_ok, public_ok;
	kt_str text;
	const char *bad;
} kt_link_msg;
void proto_link_encode(kt_mpw *w, const kt_link_msg *m);
int proto_link_decode(const void *buf, size_t len, kt_link_msg *m) KT_MUST_CHECK;

/* link_result {t, op, kind, <npairs key/value pairs packed by the server in
 * body>}: what the page shows. Devices read it with kt_mp (its keys depend
 * on the kind). */
void proto_link_result_encode(kt_mpw *w, const char *op, const char *kind, uint32_t npairs, const void *body,
			      size_t len);

#endif
