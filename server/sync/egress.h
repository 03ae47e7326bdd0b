/* egress.h - the one exit for rows toward a device. Every value of a synced
 * row that goes out (snapshot pages, streamed changes, a rights difference,
 * the current values in a push answer) is packed here, for one principal:
 * the row must be visible to it (organisation, locations, client link) and
 * only the fields policy_read allows its role are packed. Handlers never
 * pack row fields themselves. With KT_EGRESS_CHECK (test builds) every frame
 * is re-checked on its way out by egress_check.c. */
#ifndef KT_EGRESS_H
#define KT_EGRESS_H

#include "db/model.h"
#include "domain/policy.h"
#include "kt_proto.h"

/* How the caller found the row. */
typedef enum egress_how {
	EGRESS_ROUTED,   /* loaded with its routing (row->locs, row->client): checked here */
	EGRESS_SELECTED, /* read by a query whose condition is policy_snapshot_where (or
			  * policy_locs_where) for this principal: the locations were
			  * decided by that condition; the organisation is checked here */
} egress_how;

/* May p see this row now? (routing from the row itself; EGRESS_ROUTED) */
bool egress_row_visible(const kt_principal *p, const kt_row *row);

/* Append the row as a put (with "op" when with_op) to w, with the fields p's
 * role may read. Returns false, and appends nothing, when p may not see it. */
bool egress_put(kt_mpw *w, const kt_principal *p, const kt_row *row, egress_how how, bool with_op);
/* The columns of t egress_put reads for p (bit i = column i): those sent
 * and those whose presence is sent (alerts). A snapshot page reads only
 * these (store_snapshot_page_some); the rest may be left NULL. */
uint64_t egress_cols_read(const kt_principal *p, const kt_table *t);

/* Append a map of the current values of columns cols[0..n) (only those with
 * only[i], when only is given) that p's role may read. Call it only for a
 * row egress_row_visible said p may see; for any other it appends an empty
 * map (and says so in the log): nothing of a row out of sight goes out. */
void egress_fields(kt_mpw *w, const kt_principal *p, const kt_row *row, const int *cols, int n, const bool *only);

/* delete / evict: an id and a table, no values. */
void egress_gone(kt_mpw *w, kt_opkind op, const kt_table *t, const char *id);

#endif
