/* model.h - the synced tables as data: their columns, types and how a row is
 * routed (which locations / client it belongs to). The store loads rows
 * generically from these definitions; policy.c says who sees which column. */
#ifndef KT_MODEL_H
#define KT_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "kt_util.h"

typedef enum kt_coltype {
	KT_COL_TEXT,
	KT_COL_INT,
	KT_COL_BOOL, /* stored 0/1, sent as bool */
	KT_COL_LIST, /* stored comma-separated, sent as array of strings */
	KT_COL_NAMES, /* stored as a JSON array of strings (names may hold commas), sent as array */
} kt_coltype;

typedef struct kt_col {
	const char *name;
	kt_coltype type;
	bool sealed; /* stored encrypted with the owning client's key (keyring.h) */
} kt_col;

/* How a row's routing keys are found. */
typedef enum kt_route {
	KT_ROUTE_ORG,          /* organisation: belongs to the whole org */
	KT_ROUTE_SELF_LOC,     /* location: its own id is the location */
	KT_ROUTE_LOC_COL,      /* appointment, visit: location_id column; client_id column */
	KT_ROUTE_LOC_OPT,      /* service: location_ids list column, empty = every location */
	KT_ROUTE_LOC_ROW,      /* opening_hours, closed_day, working_hours: location_id column, no client */
	KT_ROUTE_VIA_STAFF,    /* time_off: goes where its staff_id's staff row goes */
	KT_ROUTE_STAFF_LOCS,   /* staff: locations from staff_location */
	KT_ROUTE_CLIENT_LOCS,  /* client: locations from client_location; client = itself */
	KT_ROUTE_VIA_CLIENT,   /* consent: goes where its client_id's client row goes */
} kt_route;

typedef struct kt_table {
	const char *name;
	const kt_col *cols; /* cols[0] is always "id" */
	int ncols;
	kt_route route;
	bool synced; /* false: server-internal, never sent (still needs policy entries) */
	bool immutable; /* rows never change once inserted (append-only history): what a
			 * row's own fields make visible stays so (see sync.c entry_op) */
	const char *owner_col; /* sealed columns belong to the client in this column; NULL: none */
} kt_table;

extern const kt_table kt_tables[];
extern const int kt_table_count;
const kt_table *kt_table_find(const char *name, size_t len);
/* Index of a column in t->cols, or -1. */
int kt_col_index(const kt_table *t, const char *name);
/* True for the columns the server sets from other rows (an appointment's or
 * visit's specialist_name and service_names, a staff row's location_ids from
 * staff_location): no device or caller writes them. t may be NULL (then the
 * names that are server-set in every table). */
bool kt_col_server_set(const kt_table *t, const char *name);

/* One loaded value. Text is owned by the row (freed by kt_row_free). */
typedef struct kt_val {
	bool null;
	int64_t i;
	char *s;
	size_t len;
} kt_val;

#define KT_MAX_ROW_LOCS 64

/* A row as loaded for sending: values in table column order plus routing. */
typedef struct kt_row {
	const kt_table *t;
	kt_val *v;        /* t->ncols values */
	int64_t version;
	char org[KT_UUID_LEN + 1];
	char *locs;       /* routing: comma list, "*" for all, "" for none (owned) */
	char client[KT_UUID_LEN + 1]; /* routing: client the row belongs to, "" if none */
	uint64_t unopened; /* bit i: sealed column i was left closed (read as NULL), see store_row_load_some */
} kt_row;

void kt_row_free(kt_row *r); /* accepts NULL; frees members, not r itself */

/* True when the comma list `set` ("*" = everything) contains id. */
bool kt_locset_has(const char *set, const char *id);
/* True when the two comma lists share an element ("*" matches any non-empty). */
bool kt_locset_meets(const char *a, const char *b);

/* The roles a principal can have; stored by name (staff.role). */
enum { KT_ROLE_OWNER, KT_ROLE_MANAGER, KT_ROLE_RECEPTION, KT_ROLE_SPECIALIST, KT_ROLE_CLIENT,
       KT_ROLE_COUNT };
const char *kt_role_name(int role);
int kt_role_from_name(const char *name); /* -1 when unknown */

#endif
