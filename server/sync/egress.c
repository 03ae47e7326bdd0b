/* egress.c - see egress.h. The only place that turns a row's values into
 * bytes for a device; it asks the read policy (policy.c) for every row and
 * every field, so a handler cannot send what the policy would not show. */
#include <string.h>
#include <jansson.h>
#include "sync/egress.h"
#include "sync/egress_check.h"
#include "kt_util.h"

static void pack_list(kt_mpw *w, const kt_val *v)
{
	uint32_t n = 0;
	const char *p = v->s;
	if (v->null || !p) {
		kt_mpw_nil(w);
		return;
	}
	if (*p)
		for (n = 1; *p; p++)
			n += *p == ',';
	kt_mpw_array(w, n);
	for (p = v->s; n; n--) {
		const char *c = strchr(p, ',');
		size_t len = c ? (size_t)(c - p) : strlen(p);
		kt_mpw_strn(w, p, len);
		p += len + (c ? 1 : 0);
	}
}

/* A JSON array of names as the store keeps it (model.h, KT_COL_NAMES);
 * anything else in it, which only a damaged file could hold, goes out as
 * nil rather than as a guess. */
/* The common case without a parser: ["a","b"] with no escapes in it;
 * false when the text is anything else (then jansson reads it). */
static bool pack_names_plain(kt_mpw *w, const char *s, size_t len)
{
	uint32_t n = 0;
	size_t i;
	if (len < 2 || s[0] != '[' || s[len - 1] != ']' || memchr(s, '\\', len))
		return false;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20)
			return false; /* not JSON: jansson says so */
	if (!kt_utf8_valid((const uint8_t *)s, len))
		return false;
	/* count and check: "..." items separated by commas, nothing else */
	for (i = 1; i < len - 1;) {
		const char *q;
		if (s[i] != '"' || !(q = memchr(s + i + 1, '"', len - 1 - (i + 1))))
			return false;
		n++;
		i = (size_t)(q - s) + 1;
		if (i < len - 1 && s[i++] != ',')
			return false;
		if (i == len - 1 && s[i - 1] == ',')
			return false;
	}
	kt_mpw_array(w, n);
	for (i = 1; i < len - 1;) {
		const char *q = memchr(s + i + 1, '"', len - 1 - (i + 1));
		kt_mpw_strn(w, s + i + 1, (size_t)(q - (s + i + 1)));
		i = (size_t)(q - s) + 2;
	}
	return true;
}

static void pack_names(kt_mpw *w, const kt_val *v)
{
	if (v->s && pack_names_plain(w, v->s, v->len))
		return;
	json_t *a = v->s ? json_loadb(v->s, v->len, 0, NULL) : NULL;
	size_t i, n = json_is_array(a) ? json_array_size(a) : 0;
	for (i = 0; i < n && json_is_string(json_array_get(a, i)); i++)
		;
	if (!json_is_array(a) || i < n || n > UINT32_MAX)
		kt_mpw_nil(w);
	else {
		kt_mpw_array(w, (uint32_t)n);
		for (i = 0; i < n; i++) {
			json_t *e = json_array_get(a, i);
			kt_mpw_strn(w, json_string_value(e), json_string_length(e));
		}
	}
	json_decref(a);
}

/* One column value as the wire shows it (lists as arrays, bools as bools). */
static void pack_value(kt_mpw *w, const kt_col *c, const kt_val *v)
{
	if (v->null) {
		kt_mpw_nil(w);
		return;
	}
	switch (c->type) {
	case KT_COL_INT: kt_mpw_int(w, v->i); break;
	case KT_COL_BOOL: kt_mpw_bool(w, v->i != 0); break;
	case KT_COL_TEXT: kt_mpw_strn(w, v->s ? v->s : "", v->s ? v->len : 0); break;
	case KT_COL_LIST: pack_list(w, v); break;
	case KT_COL_NAMES: pack_names(w, v); break;
	}
}

/* Test builds can be told to leak (egress_check.h), to show that the
 * check catches it; the production build has no such switch. */
#ifdef KT_EGRESS_CHECK
static bool test_leak_row(void)
{
	return egress_test_leak() == 2;
}

static kt_access read_access(const kt_principal *p, const kt_table *t, int col)
{
	if (egress_test_leak() == 1 && !strcmp(t->name, "client") && !strcmp(t->cols[col].name, "email"))
		return KT_P_YES;
	return policy_read(p->role, t, col);
}
#else
#define test_leak_row() false
#define read_access(p, t, col) policy_read((p)->role, t, col)
#endif

bool egress_row_visible(const kt_principal *p, const kt_row *row)
{
	return row && row->t->synced && strcmp(row->org, p->org) == 0 &&
	       policy_row_visible(p, row->t, row->locs, row->client, row);
}

/* What egress_put sends of a table to a role: each column's access, the
 * alert names and how many fields go out, worked out once per (role,
 * table) and kept per thread (a snapshot page is hundreds of rows of one
 * table for one principal), instead of asking the policy for every column of
 * every row. The policy's answers are fixed for a build (policy_read's
 * table); test builds, which can be told to leak, ask every time. */
typedef struct put_plan {
	const kt_table *t;
	int role;
	int nc;
	uint32_t n;
	kt_access acc[64];
	const char *alert[64];
} put_plan;

static void plan_fill(put_plan *pl, const kt_principal *p, const kt_table *t)
{
	pl->t = t;
	pl->role = p->role;
	pl->nc = t->ncols < 64 ? t->ncols : 64; /* policy_read sends nothing past column 32 */
	pl->n = 0;
	for (int i = 0; i < pl->nc; i++) {
		kt_access a = pl->acc[i] = read_access(p, t, i);
		pl->alert[i] = NULL;
		if (a == KT_P_ALERT)
			pl->alert[i] = policy_entry(t->name, t->cols[i].name)->alert_name;
		pl->n += pl->acc[i] == KT_P_YES || pl->acc[i] == KT_P_ALERT;
	}
}

static const put_plan *plan_for(const kt_principal *p, const kt_table *t, put_plan *tmp)
{
#ifdef KT_EGRESS_CHECK
	plan_fill(tmp, p, t);
	return tmp;
#else
	static _Thread_local put_plan last;
	(void)tmp;
	if (last.t != t || last.role != p->role)
		plan_fill(&last, p, t);
	return &last;
#endif
}

bool egress_put(kt_mpw *w, const kt_principal *p, const kt_row *row, egress_how how, bool with_op)
{
	const kt_table *t = row->t;
	const put_plan *pl;
	put_plan tmp;

	/* a selected row was chosen by the snapshot condition, which holds the
	 * organisation too; checked again because it costs nothing */
	if (!t->synced || !p->active || strcmp(row->org, p->org) != 0)
		return false;
	if (how == EGRESS_ROUTED && !policy_row_visible(p, t, row->locs, row->client, row) && !test_leak_row())
		return false;
	pl = plan_for(p, t, &tmp);
	proto_put_begin(w, with_op, t->name, row->v[0].s ? row->v[0].s : "", row->version, pl->n);
	for (int i = 0; i < pl->nc; i++) {
		kt_access a = pl->acc[i];
		if (a == KT_P_YES) {
			kt_mpw_str(w, t->cols[i].name);
			pack_value(w, &t->cols[i], &row->v[i]);
		} else if (a == KT_P_ALERT) {
			kt_mpw_str(w, pl->alert[i]);
			kt_mpw_bool(w, !row->v[i].null && row->v[i].len > 0);
		}
	}
	return true;
}

uint64_t egress_cols_read(const kt_principal *p, const kt_table *t)
{
	uint64_t m = 0;
	for (int i = 0; i < t->ncols; i++) {
		kt_access a = read_access(p, t, i);
		if (i >= 64 || a == KT_P_YES || a == KT_P_ALERT)
			m |= i < 64 ? 1ull << i : 0;
	}
	if (t->ncols > 64)
		m = ~0ull;
	return m;
}

void egress_fields(kt_mpw *w, const kt_principal *p, const kt_row *row, const int *cols, int n, const bool *only)
{
	uint32_t k = 0;
	bool seen = egress_row_visible(p, row);

	if (!seen) {
		kt_warn("egress: values of %s %s asked for a principal that may not see it; none sent",
			row ? row->t->name : "?", row && row->v && row->v[0].s ? row->v[0].s : "?");
		kt_mpw_map(w, 0);
		return;
	}
	for (int i = 0; i < n; i++)
		k += (!only || only[i]) && policy_read(p->role, row->t, cols[i]) == KT_P_YES;
	kt_mpw_map(w, k);
	for (int i = 0; i < n; i++)
		if ((!only || only[i]) && policy_read(p->role, row->t, cols[i]) == KT_P_YES) {
			kt_mpw_str(w, row->t->cols[cols[i]].name);
			pack_value(w, &row->t->cols[cols[i]], &row->v[cols[i]]);
		}
}

void egress_gone(kt_mpw *w, kt_opkind op, const kt_table *t, const char *id)
{
	proto_gone_encode(w, op, t->name, id);
}
