/* push_internal.h - what the writer side of a push shares between its
 * files: push_apply.c runs the steps, push_fields.c reads a mutation's
 * fields, push_answer.c packs and records the answers. Only these three
 * include it; everyone else goes through push_apply.h. */
#ifndef KT_PUSH_INTERNAL_H
#define KT_PUSH_INTERNAL_H

#include "server.h"

#define MAX_FIELDS 32

/* One piece of a push, applied in the writer's open transaction. */
typedef struct push_ctx {
	kt_store *st;             /* the writer's connection, in its transaction */
	const kt_principal *p;
	const char *device;
	kt_mpw *body;             /* results */
	uint32_t n;
	int rc;                   /* a database failure aborts the whole batch */
	bool any_mid;             /* the device has recorded mutations... */
	int64_t max_mid;          /* ...none above this one (none recorded: any_mid false) */
	int64_t pruned_mid;       /* answers of mids up to this one were deleted (retention.c); 0: none */
} push_ctx;

/* A mutation's fields, converted to the store's text form. */
typedef struct mut_fields {
	int n;
	const char *name[MAX_FIELDS];
	int col[MAX_FIELDS];
	char *text[MAX_FIELDS]; /* owned; NULL = SQL NULL */
	kt_field f[MAX_FIELDS];
} mut_fields;

/* ---- push_fields.c ---- */

/* Decode and type-check the f map against the table into mf (its texts
 * owned by mf: push_fields_free, also after a failure). why (cap bytes)
 * gets a reason that names the field. */
int push_fields_read(const kt_table *t, const kt_mut *m, mut_fields *mf, char *why, size_t cap);
void push_fields_free(mut_fields *mf);
/* Column col as the mutation leaves the row (row NULL: a create); the
 * text is borrowed from mf or the row. */
const char *push_val(const kt_row *row, const mut_fields *mf, const char *col);
int64_t push_val_int(const kt_row *row, const mut_fields *mf, const char *col);
/* The loaded row's column col already holds text: writing it changes nothing. */
bool push_same_value(const kt_row *row, int col, const char *text);
/* Fill in the defaults of a create; the first required field it lacks
 * (also one given as nil), or NULL. */
const char *push_create_complete(const kt_table *t, mut_fields *mf);

/* ---- push_answer.c: each packs one result into c->body and counts it ---- */

/* Applied at version v; with_conflicts: the caller appends the conflicts map. */
void push_applied(push_ctx *c, const kt_mut *m, int64_t v, bool with_conflicts);
/* Keep the answer packed from body offset start for replays (sealed with
 * the client's key when row names one). KT_OK or a database error. */
int push_record(push_ctx *c, const kt_mut *m, size_t start, const kt_row *row) KT_MUST_CHECK;
/* A refusal with its reason, audited and recorded (see push_answer.c). */
int push_reject(push_ctx *c, const kt_mut *m, size_t start, int code, const char *msg, const kt_row *route,
		bool current, const mut_fields *mf) KT_MUST_CHECK;
/* This (person, device, mid) was answered before: *answered, and the
 * first answer packed again under the rights of now. KT_OK or KT_EIO. */
int push_replay(push_ctx *c, const kt_mut *m, bool *answered) KT_MUST_CHECK;

#endif
