/* push_fields.c - a pushed mutation's fields in the store's text form:
 * decoded and type-checked against the table, a create's required fields
 * and defaults, and the row as the mutation would leave it. Writer thread;
 * reads nothing from the database. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "write/push_internal.h"

void push_fields_free(mut_fields *mf)
{
	for (int i = 0; i < mf->n; i++)
		free(mf->text[i]);
	mf->n = 0;
}

/* Decode and type-check the f map against the table. why (cap bytes) gets
 * a reason that names the field. */
int push_fields_read(const kt_table *t, const kt_mut *m, mut_fields *mf, char *why, size_t cap)
{
	kt_mp r;
	uint32_t n;
	memset(mf, 0, sizeof *mf);
	if (!m->fields)
		return KT_OK;
	kt_mp_init(&r, m->fields, m->fields_len);
	if (kt_mp_read_map(&r, &n))
		return snprintf(why, cap, "f must be a map"), KT_EMALFORMED;
	if (n > MAX_FIELDS)
		return snprintf(why, cap, "at most %d fields per mutation", MAX_FIELDS), KT_ETOO_LARGE;
	for (uint32_t i = 0; i < n; i++) {
		const char *k;
		size_t kl;
		char name[64];
		if (kt_mp_read_str(&r, &k, &kl, 63))
			return snprintf(why, cap, "field names are strings of at most 63 bytes"), KT_EMALFORMED;
		memcpy(name, k, kl);
		name[kl] = 0;
		int c = kt_col_index(t, name);
		if (c < 0 || !strcmp(name, "id") || !strcmp(name, "org_id") || !strcmp(name, "version") ||
		    !strcmp(name, "updated_at") || kt_col_server_set(t, name))
			return snprintf(why, cap, "%s is not a field of %s that a device may write", name, t->name), KT_EINVALID;
		for (int k2 = 0; k2 < mf->n; k2++)
			if (mf->col[k2] == c)
				return snprintf(why, cap, "%s appears twice", name), KT_EMALFORMED;
		int j = mf->n++;
		mf->col[j] = c;
		mf->name[j] = t->cols[c].name;
		char buf[32];
		const char *str;
		size_t len;
		int64_t iv;
		bool b;
		uint32_t an;
		if (kt_mp_peek(&r) == KT_MP_NIL) {
			if (kt_mp_read_nil(&r))
				return KT_EMALFORMED;
			mf->text[j] = NULL;
		} else
			switch (t->cols[c].type) {
			case KT_COL_INT:
				if (kt_mp_read_int(&r, &iv))
					return snprintf(why, cap, "%s must be a whole number", name), KT_EINVALID;
				snprintf(buf, sizeof buf, "%lld", (long long)iv);
				mf->text[j] = strdup(buf);
				break;
			case KT_COL_BOOL:
				if (kt_mp_read_bool(&r, &b))
					return snprintf(why, cap, "%s must be true or false", name), KT_EINVALID;
				mf->text[j] = strdup(b ? "1" : "0");
				break;
			case KT_COL_TEXT:
				if (kt_mp_read_str(&r, &str, &len, KT_MAX_STR))
					return snprintf(why, cap, "%s must be a string", name), KT_EINVALID;
				mf->text[j] = kt_strndup(str, len);
				break;
			case KT_COL_LIST: {
				if (kt_mp_read_array(&r, &an) || an > 64)
					return snprintf(why, cap, "%s must be an array of at most 64 strings", name), KT_EINVALID;
				char *out = calloc(1, (size_t)an * 65 + 1);
				for (uint32_t e = 0; out && e < an; e++) {
					if (kt_mp_read_str(&r, &str, &len, 64) || memchr(str, ',', len) || len == 0) {
						free(out);
						return snprintf(why, cap, "%s elements are non-empty strings without commas", name), KT_EINVALID;
					}
					if (e)
						strcat(out, ",");
					strncat(out, str, len);
				}
				mf->text[j] = out;
				break;
			}
			case KT_COL_NAMES: /* server-set (refused above) */
				return snprintf(why, cap, "%s is not a field of %s that a device may write", name,
						t->name), KT_EINVALID;
			}
		mf->f[j] = (kt_field){mf->name[j], mf->text[j]};
	}
	return KT_OK;
}

/* ---- the row as the mutation would leave it ---- */

const char *push_val(const kt_row *row, const mut_fields *mf, const char *col)
{
	for (int i = 0; i < mf->n; i++)
		if (!strcmp(mf->name[i], col))
			return mf->text[i];
	if (!row)
		return NULL;
	int c = kt_col_index(row->t, col);
	return c >= 0 && !row->v[c].null ? row->v[c].s : NULL;
}

int64_t push_val_int(const kt_row *row, const mut_fields *mf, const char *col)
{
	for (int i = 0; i < mf->n; i++)
		if (!strcmp(mf->name[i], col))
			return mf->text[i] ? atoll(mf->text[i]) : 0;
	int c = row ? kt_col_index(row->t, col) : -1;
	return c >= 0 ? row->v[c].i : 0;
}

/* True when column col of the loaded row already holds text (the store's
 * text form of a pushed value): writing it would change nothing. */
bool push_same_value(const kt_row *row, int col, const char *text)
{
	const kt_val *v = &row->v[col];
	char buf[24];
	if (col < 64 && (row->unopened >> col & 1))
		return false;
	if (!text || v->null)
		return !text && v->null;
	if (row->t->cols[col].type == KT_COL_INT || row->t->cols[col].type == KT_COL_BOOL) {
		snprintf(buf, sizeof buf, "%lld", (long long)v->i);
		return !strcmp(buf, text);
	}
	return v->s && strlen(text) == v->len && !memcmp(v->s, text, v->len);
}

/* ---- the rules ---- */

/* What a create must carry, and the value a left-out field gets (NULL:
 * none, the create is refused naming the field). PROTOCOL.md lists it. */
static const struct {
	const char *tbl, *col, *dflt;
} create_fields[] = {
	{"client", "name", NULL},
	{"appointment", "location_id", NULL},
	{"appointment", "client_id", NULL},
	{"appointment", "specialist_id", NULL},
	{"appointment", "start_at", NULL},
	{"appointment", "duration_min", NULL},
	{"appointment", "services", ""},
	{"appointment", "status", "booked"},
	{"visit", "location_id", NULL},
	{"visit", "client_id", NULL},
	{"visit", "specialist_id", NULL},
	{"visit", "visit_date", NULL},
	{"visit", "services", ""},
	{"service", "name", NULL},
	{"service", "duration_min", NULL},
	{"service", "price_cents", NULL},
	{"location", "name", NULL},
	{"location", "time_zone", NULL},
	{"staff", "display_name", NULL},
	{"staff", "email", NULL},
	{"staff", "role", NULL},
	{"opening_hours", "location_id", NULL},
	{"opening_hours", "weekday", NULL},
	{"opening_hours", "intervals", ""},
	{"closed_day", "location_id", NULL},
	{"closed_day", "day", NULL},
	{"working_hours", "staff_id", NULL},
	{"working_hours", "location_id", NULL},
	{"working_hours", "weekday", NULL},
	{"working_hours", "intervals", ""},
	{"time_off", "staff_id", NULL},
	{"time_off", "from_at", NULL},
	{"time_off", "to_at", NULL},
	{"review", "visit_id", NULL},
	{"review", "stars", NULL},
};

/* Fill in the defaults of a create; the first required field it lacks
 * (also one given as nil), or NULL. */
const char *push_create_complete(const kt_table *t, mut_fields *mf)
{
	for (size_t k = 0; k < sizeof create_fields / sizeof create_fields[0]; k++) {
		int c, i;
		if (strcmp(create_fields[k].tbl, t->name) || (c = kt_col_index(t, create_fields[k].col)) < 0)
			continue;
		for (i = 0; i < mf->n && mf->col[i] != c; i++)
			;
		if (i < mf->n && mf->text[i])
			continue;
		if (!create_fields[k].dflt || mf->n == MAX_FIELDS)
			return create_fields[k].col;
		if (i == mf->n) {
			mf->n++;
			mf->col[i] = c;
			mf->name[i] = t->cols[c].name;
		}
		if (!(mf->text[i] = strdup(create_fields[k].dflt)))
			return create_fields[k].col;
		mf->f[i] = (kt_field){mf->name[i], mf->text[i]};
	}
	return NULL;
}
