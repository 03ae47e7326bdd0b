/* policy.h - the access policy (design §4) as one table in code. Deny by
 * default: a (table, column) with no entry is never sent. The policy is
 * consulted when a snapshot is built and again when each change is sent. */
#ifndef KT_POLICY_H
#define KT_POLICY_H

#include <stdio.h>
#include "model.h"
#include "store.h"

enum { KT_ROLE_OWNER, KT_ROLE_MANAGER, KT_ROLE_RECEPTION, KT_ROLE_SPECIALIST, KT_ROLE_CLIENT,
       KT_ROLE_COUNT };

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

const char *kt_role_name(int role);
int kt_role_from_name(const char *name); /* -1 when unknown */

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
 * Design §4: owners everything; managers everything at their locations;
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

/* Print the policy matrix as the Markdown table that README.md shows. */
void policy_print_markdown(FILE *out);

#endif
