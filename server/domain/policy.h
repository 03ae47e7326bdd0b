/* policy.h - the access policy (README, "Access policy") as one table in
 * code. Deny by default: a (table, column) with no entry is never sent. The
 * policy is consulted when a snapshot is built and again when each change is sent. */
#ifndef KT_POLICY_H
#define KT_POLICY_H

#include <stdio.h>
#include "db/model.h"
#include "db/store.h"

typedef enum kt_access {
	KT_P_NO = 0, /* never sent */
	KT_P_YES,    /* sent as is */
	KT_P_ALERT,  /* sent as "<column>_alert"-style bool: value present (see alert_name) */
	KT_P_META,   /* row metadata (id -> "id", version -> "v"), not a field */
} kt_access;

typedef struct kt_policy_entry {
	const char *table;
	const char *column;
	unsigned char read[KT_ROLE_COUNT];
	const char *alert_name; /* field name sent for KT_P_ALERT */
} kt_policy_entry;

extern const kt_policy_entry kt_policy[];
extern const int kt_policy_count;

/* Access of one column for a role; KT_P_NO when there is no entry. */
const kt_policy_entry *policy_entry(const char *table, const char *column);
kt_access policy_read(int role, const kt_table *t, int col);

/* May principal p see a row of t with these routing keys? row may be NULL
 * when only routing is known (change-log pre-filter); then the answer is an
 * over-approximation used only to decide whether to look closer or evict. */
bool policy_row_visible(const kt_principal *p, const kt_table *t, const char *locs,
			const char *client, const kt_row *row);

/* The consent purposes a specialist sees and may record: photo_use and
 * health_data (what they need before photographing or treating). */
bool policy_specialist_purpose(const char *purpose);

/* SQL condition selecting the rows of t that principal p may see, for
 * snapshots. Parameters: ?1 = principal id, ?2 = organisation id. Static string. */
const char *policy_snapshot_where(const kt_principal *p, const kt_table *t);

/* The same for a staff member with their locations read from parameter
 * ?param (a JSON array of location ids) instead of the database: for the
 * difference a change of locations makes (sync.c). Owned string; NULL for a
 * client principal or out of memory. */
char *policy_locs_where(const kt_principal *p, const kt_table *t, int param);

/* May a role write this column (of a row it may see, at its locations)?
 * The default policy: owners everything; managers everything at their locations;
 * reception client contact data and appointments; specialists visits and
 * treatment data; clients nothing through the device write path except
 * their own consents (row rules in consent.c). */
bool policy_write(int role, const kt_table *t, int col);

/* May a role create rows of t (it must also be allowed each column it
 * writes)? Locations are created by the owner only; staff by nobody
 * through the device write path. */
bool policy_create(int role, const kt_table *t);

/* The table column col of t names rows of (appointment.client_id:
 * client), or NULL. A write may name only rows the writer may see
 * (policy_row_visible); a list column (services) names one per element. */
const kt_table *policy_ref_target(const kt_table *t, int col);

/* May principal p write a row of t routed to locs? Checked for the row as
 * it is and as the write would leave it (a row cannot be moved out of, or
 * into, another branch). Owners: any row of their organisation. Others: a
 * client card known at one of their locations; any other row only when
 * every location of it is theirs, so never a row of every location ("*":
 * the owner's staff row, a service of the whole menu) nor a staff member
 * who also works at a branch that is not theirs. */
bool policy_write_scope(const kt_principal *p, const kt_table *t, const char *locs);

/* ---- actions: calls that are not row edits ----
 * Who may do what is one table in policy.c (printed into the README with
 * the matrices above). policy_may is the role column, checked first, so
 * that a refusal does not depend on whether the target exists;
 * policy_may_on adds the target's scope once it is loaded. A target
 * outside the principal's organisation is the caller's "not found". */
typedef enum kt_action {
	KT_ACT_LIST_DEVICES,     /* the device register (and which device ids an export or audit shows) */
	KT_ACT_SIGN_OUT_DEVICE,  /* end a device's sessions */
	KT_ACT_REVOKE_DEVICE,    /* end them and refuse the device from now on */
	KT_ACT_MARK_DEVICE_LOST, /* revoke, and stop erasures waiting for its purge receipt */
	KT_ACT_DEACTIVATE_STAFF,
	KT_ACT_EXPORT_CLIENT,
	KT_ACT_REQUEST_ERASURE,  /* a client asks for their own erasure */
	KT_ACT_ERASE_CLIENT,
	KT_ACT_SEE_ERASURES,     /* pending requests and an erasure's purge receipts */
	KT_ACT_RECORD_CONSENT,   /* marketing, birthday and review purposes */
	KT_ACT_RECORD_CARE_CONSENT, /* photo_use and health_data (policy_specialist_purpose) */
	KT_ACT_QUERY_AUDIT,
	KT_ACT_PORTAL_INVITE,    /* send a client a portal setup link */
	KT_ACT_INVITE_HELD_EMAIL, /* ... to an address changed within the e-mail hold (portal.h) */
	KT_ACT_OVERRIDE_BOOKING, /* book over the specialist-overlap rule, with a reason */
	KT_ACT_MANAGE_LOCATION,  /* create, edit, close a location (org.h) */
	KT_ACT_INVITE_STAFF,     /* add a staff member and mail them a password link (staff.h) */
	KT_ACT_RESET_STAFF_PASSWORD, /* mail a staff member a new password link */
	KT_ACT_SET_STAFF_ROLE,   /* change a staff member's role (staff.h) */
	KT_ACT_SET_STAFF_LOCATIONS, /* change where a staff member works */
	KT_ACT_MERGE_CLIENTS,    /* two cards of one person become one (clients.h) */
	KT_ACT_FIND_CLIENTS,     /* server-side search by name, phone or e-mail */
	KT_ACT_SET_PRIVACY_NOTICE, /* the organisation's privacy notice (org.h) */
	KT_ACT_SEE_STATS,        /* satisfaction statistics (stats.h) */
	KT_ACT_ANSWER_REVIEW,    /* reply to, highlight or hide a review (feedback.h) */
	/* messages (messages.h, templates.h; handle_messages.c) */
	KT_ACT_CLIENT_MESSAGES,  /* the messages of a client, with their state */
	KT_ACT_UNCONFIRMED,      /* a day's booked appointments nobody confirmed, to call */
	KT_ACT_MESSAGE_COUNTS,   /* delivery counts of the organisation or a branch */
	KT_ACT_READ_MESSAGE_SETTINGS, /* lead times, quiet hours, cap, survey rates; templates; previews */
	KT_ACT_SET_MESSAGE_SETTINGS,  /* change them, and the organisation's own wording */
	KT_ACT_CAMPAIGN,         /* a newsletter or re-consent campaign to the consenting clients */
	KT_ACTION_COUNT
} kt_action;

/* The scope of an action for one role: which targets it covers. */
typedef enum kt_scope {
	KT_SCOPE_NONE = 0, /* may not */
	KT_SCOPE_ORG,      /* any target of the organisation */
	KT_SCOPE_KNOWN,    /* a client known at one of the principal's locations */
	KT_SCOPE_WITHIN,   /* a target whose every location is the principal's */
	KT_SCOPE_TEAM,     /* reception and specialists who work only at the principal's
			    * locations, and their devices (not owners, managers, clients) */
	KT_SCOPE_SELF,     /* the principal themselves */
} kt_scope;

/* What an action is done to. */
typedef struct kt_target {
	const char *id;   /* the person it concerns (client or staff id), or NULL */
	int role;         /* their role: KT_ROLE_CLIENT for a client and their devices */
	const char *locs; /* their locations (comma list): a client's branches, a staff member's */
} kt_target;

const char *policy_action_name(kt_action a); /* "revoke_device"...; "none" out of range */
/* p's scope for a: KT_SCOPE_NONE when p's role may not do it, or p is inactive. */
kt_scope policy_scope(const kt_principal *p, kt_action a);
/* May p do a at all (to some target)? */
bool policy_may(const kt_principal *p, kt_action a);
/* May p do a to target t (of p's organisation)? */
bool policy_may_on(const kt_principal *p, kt_action a, const kt_target *t);

/* The consent action for a purpose: what a specialist needs before
 * photographing or treating is theirs to record too. */
kt_action policy_consent_action(const char *purpose);

/* Print the policy matrices (read, write, actions) as the Markdown that
 * README.md shows. */
void policy_print_markdown(FILE *out);

#endif
