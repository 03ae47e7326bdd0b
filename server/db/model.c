/* model.c - table and column definitions of the synced data. Adding a column
 * to the schema without adding it here and to policy.c fails the unit test
 * test_policy_covers_schema. */
#include <string.h>
#include <stdlib.h>
#include "db/model.h"

#define T(n) n, (sizeof n / sizeof n[0])
#define S true /* sealed: see keyring.h */

static const kt_col organisation_cols[] = {
	{"id", KT_COL_TEXT}, {"name", KT_COL_TEXT}, {"version", KT_COL_INT}, {"updated_at", KT_COL_INT},
	{"field_versions", KT_COL_TEXT}, {"country", KT_COL_TEXT}, {"currency", KT_COL_TEXT},
	{"language", KT_COL_TEXT}, {"privacy_notice", KT_COL_TEXT},
};
static const kt_col location_cols[] = {
	{"id", KT_COL_TEXT}, {"org_id", KT_COL_TEXT}, {"name", KT_COL_TEXT}, {"address", KT_COL_TEXT},
	{"phone", KT_COL_TEXT}, {"time_zone", KT_COL_TEXT}, {"version", KT_COL_INT},
	{"updated_at", KT_COL_INT}, {"field_versions", KT_COL_TEXT}, {"closed_at", KT_COL_INT},
};
static const kt_col staff_cols[] = {
	{"id", KT_COL_TEXT}, {"org_id", KT_COL_TEXT}, {"display_name", KT_COL_TEXT},
	{"email", KT_COL_TEXT}, {"phone", KT_COL_TEXT}, {"role", KT_COL_TEXT},
	{"active", KT_COL_BOOL}, {"password_hash", KT_COL_TEXT}, {"version", KT_COL_INT},
	{"updated_at", KT_COL_INT}, {"field_versions", KT_COL_TEXT}, {"location_ids", KT_COL_LIST},
};
static const kt_col service_cols[] = {
	{"id", KT_COL_TEXT}, {"org_id", KT_COL_TEXT}, {"location_id", KT_COL_TEXT},
	{"name", KT_COL_TEXT}, {"duration_min", KT_COL_INT}, {"price_cents", KT_COL_INT},
	{"version", KT_COL_INT}, {"updated_at", KT_COL_INT}, {"field_versions", KT_COL_TEXT},
	{"location_ids", KT_COL_LIST}, {"specialist_ids", KT_COL_LIST}, {"buffer_min", KT_COL_INT},
};
static const kt_col opening_hours_cols[] = {
	{"id", KT_COL_TEXT}, {"org_id", KT_COL_TEXT}, {"location_id", KT_COL_TEXT}, {"weekday", KT_COL_INT},
	{"intervals", KT_COL_TEXT}, {"version", KT_COL_INT}, {"updated_at", KT_COL_INT},
	{"field_versions", KT_COL_TEXT},
};
static const kt_col closed_day_cols[] = {
	{"id", KT_COL_TEXT}, {"org_id", KT_COL_TEXT}, {"location_id", KT_COL_TEXT}, {"day", KT_COL_TEXT},
	{"reason", KT_COL_TEXT}, {"version", KT_COL_INT}, {"updated_at", KT_COL_INT},
	{"field_versions", KT_COL_TEXT},
};
static const kt_col working_hours_cols[] = {
	{"id", KT_COL_TEXT}, {"org_id", KT_COL_TEXT}, {"staff_id", KT_COL_TEXT}, {"location_id", KT_COL_TEXT},
	{"weekday", KT_COL_INT}, {"intervals", KT_COL_TEXT}, {"version", KT_COL_INT},
	{"updated_at", KT_COL_INT}, {"field_versions", KT_COL_TEXT},
};
static const kt_col time_off_cols[] = {
	{"id", KT_COL_TEXT}, {"org_id", KT_COL_TEXT}, {"staff_id", KT_COL_TEXT}, {"from_at", KT_COL_INT},
	{"to_at", KT_COL_INT}, {"reason", KT_COL_TEXT}, {"version", KT_COL_INT}, {"updated_at", KT_COL_INT},
	{"field_versions", KT_COL_TEXT},
};
static const kt_col client_cols[] = {
	{"id", KT_COL_TEXT}, {"org_id", KT_COL_TEXT}, {"name", KT_COL_TEXT, S}, {"email", KT_COL_TEXT, S},
	{"phone", KT_COL_TEXT, S}, {"birthday", KT_COL_TEXT, S}, {"address", KT_COL_TEXT, S},
	{"allergies", KT_COL_TEXT, S}, {"conditions", KT_COL_TEXT, S}, {"medications", KT_COL_TEXT, S},
	{"skin_hair_type", KT_COL_TEXT, S}, {"patch_tests", KT_COL_TEXT, S}, {"preferences", KT_COL_TEXT, S},
	{"internal_notes", KT_COL_TEXT, S}, {"portal_enabled", KT_COL_BOOL},
	{"password_hash", KT_COL_TEXT}, {"version", KT_COL_INT}, {"updated_at", KT_COL_INT}, {"email_hash", KT_COL_TEXT},
	{"field_versions", KT_COL_TEXT}, {"language", KT_COL_TEXT},
};
static const kt_col appointment_cols[] = {
	{"id", KT_COL_TEXT}, {"org_id", KT_COL_TEXT}, {"location_id", KT_COL_TEXT},
	{"client_id", KT_COL_TEXT}, {"specialist_id", KT_COL_TEXT}, {"start_at", KT_COL_INT},
	{"duration_min", KT_COL_INT}, {"services", KT_COL_LIST}, {"status", KT_COL_TEXT},
	{"client_note", KT_COL_TEXT, S}, {"internal_note", KT_COL_TEXT, S}, {"version", KT_COL_INT},
	{"updated_at", KT_COL_INT}, {"field_versions", KT_COL_TEXT}, {"specialist_name", KT_COL_TEXT},
	{"service_names", KT_COL_NAMES}, {"status_reason", KT_COL_TEXT, S},
};
static const kt_col visit_cols[] = {
	{"id", KT_COL_TEXT}, {"org_id", KT_COL_TEXT}, {"location_id", KT_COL_TEXT},
	{"client_id", KT_COL_TEXT}, {"specialist_id", KT_COL_TEXT}, {"appointment_id", KT_COL_TEXT},
	{"visit_date", KT_COL_TEXT}, {"services", KT_COL_LIST}, {"products_formulas", KT_COL_TEXT, S},
	{"treatment_notes", KT_COL_TEXT, S}, {"photos", KT_COL_LIST, S}, {"version", KT_COL_INT},
	{"updated_at", KT_COL_INT}, {"field_versions", KT_COL_TEXT}, {"specialist_name", KT_COL_TEXT},
	{"service_names", KT_COL_NAMES},
};
static const kt_col consent_cols[] = {
	{"id", KT_COL_TEXT}, {"org_id", KT_COL_TEXT}, {"client_id", KT_COL_TEXT}, {"purpose", KT_COL_TEXT},
	{"granted", KT_COL_BOOL}, {"at", KT_COL_INT}, {"source", KT_COL_TEXT}, {"text_version", KT_COL_TEXT},
	{"recorded_by", KT_COL_TEXT}, {"recorded_kind", KT_COL_TEXT}, {"version", KT_COL_INT},
	{"updated_at", KT_COL_INT},
};
static const kt_col review_cols[] = {
	{"id", KT_COL_TEXT}, {"org_id", KT_COL_TEXT}, {"location_id", KT_COL_TEXT},
	{"client_id", KT_COL_TEXT}, {"visit_id", KT_COL_TEXT}, {"specialist_id", KT_COL_TEXT},
	{"stars", KT_COL_INT}, {"text", KT_COL_TEXT, S}, {"public_ok", KT_COL_BOOL}, {"reply", KT_COL_TEXT, S},
	{"reply_by", KT_COL_TEXT}, {"reply_name", KT_COL_TEXT}, {"replied_at", KT_COL_INT},
	{"highlighted", KT_COL_BOOL}, {"hidden", KT_COL_BOOL}, {"created_at", KT_COL_INT},
	{"version", KT_COL_INT}, {"updated_at", KT_COL_INT}, {"field_versions", KT_COL_TEXT},
};

/* Order matters for snapshots: referenced tables first. */
const kt_table kt_tables[] = {
	{"organisation", T(organisation_cols), KT_ROUTE_ORG, true},
	{"location", T(location_cols), KT_ROUTE_SELF_LOC, true},
	{"staff", T(staff_cols), KT_ROUTE_STAFF_LOCS, true},
	{"service", T(service_cols), KT_ROUTE_LOC_OPT, true},
	{"opening_hours", T(opening_hours_cols), KT_ROUTE_LOC_ROW, true},
	{"closed_day", T(closed_day_cols), KT_ROUTE_LOC_ROW, true},
	{"working_hours", T(working_hours_cols), KT_ROUTE_LOC_ROW, true},
	{"time_off", T(time_off_cols), KT_ROUTE_VIA_STAFF, true},
	{"client", T(client_cols), KT_ROUTE_CLIENT_LOCS, true, false, "id"},
	{"appointment", T(appointment_cols), KT_ROUTE_LOC_COL, true, false, "client_id"},
	{"visit", T(visit_cols), KT_ROUTE_LOC_COL, true, false, "client_id"},
	{"consent", T(consent_cols), KT_ROUTE_VIA_CLIENT, true, true},
	{"review", T(review_cols), KT_ROUTE_LOC_COL, true, false, "client_id"},
};
const int kt_table_count = sizeof kt_tables / sizeof kt_tables[0];

const kt_table *kt_table_find(const char *name, size_t len)
{
	for (int i = 0; i < kt_table_count; i++)
		if (strlen(kt_tables[i].name) == len && memcmp(kt_tables[i].name, name, len) == 0)
			return &kt_tables[i];
	return NULL;
}

int kt_col_index(const kt_table *t, const char *name)
{
	/* the first letter first: called ~100 times per pushed edit */
	for (int i = 0; i < t->ncols; i++)
		if (t->cols[i].name[0] == name[0] && strcmp(t->cols[i].name, name) == 0)
			return i;
	return -1;
}

bool kt_col_server_set(const kt_table *t, const char *name)
{
	return !strcmp(name, "specialist_name") || !strcmp(name, "service_names") ||
	       (t && !strcmp(t->name, "staff") && !strcmp(name, "location_ids"));
}

void kt_row_free(kt_row *r)
{
	if (!r)
		return;
	if (r->v && r->t)
		for (int i = 0; i < r->t->ncols; i++)
			free(r->v[i].s);
	free(r->v);
	free(r->locs);
	r->v = NULL;
	r->locs = NULL;
}

/* Walk a comma list; call f for each element until it returns true. */
static bool any_elem(const char *set, bool (*f)(const char *e, size_t n, const void *u), const void *u)
{
	const char *p = set;
	while (p && *p) {
		const char *c = strchr(p, ',');
		size_t n = c ? (size_t)(c - p) : strlen(p);
		if (n && f(p, n, u))
			return true;
		p = c ? c + 1 : NULL;
	}
	return false;
}

static bool elem_is(const char *e, size_t n, const void *u)
{
	const char *id = u;
	return strlen(id) == n && memcmp(e, id, n) == 0;
}

bool kt_locset_has(const char *set, const char *id)
{
	if (!set || !id || !*id)
		return false;
	if (strcmp(set, "*") == 0)
		return true;
	return any_elem(set, elem_is, id);
}

static bool elem_in(const char *e, size_t n, const void *u)
{
	char id[KT_UUID_LEN + 1];
	if (n > KT_UUID_LEN)
		return false;
	memcpy(id, e, n);
	id[n] = 0;
	return kt_locset_has(u, id);
}

bool kt_locset_meets(const char *a, const char *b)
{
	if (!a || !b || !*a || !*b)
		return false;
	if (strcmp(a, "*") == 0 || strcmp(b, "*") == 0)
		return true;
	return any_elem(a, elem_in, b);
}

static const char *const role_names[KT_ROLE_COUNT] = {"owner", "manager", "reception", "specialist",
						      "client"};

const char *kt_role_name(int role)
{
	return role >= 0 && role < KT_ROLE_COUNT ? role_names[role] : "none";
}

int kt_role_from_name(const char *name)
{
	for (int i = 0; i < KT_ROLE_COUNT; i++)
		if (name && strcmp(name, role_names[i]) == 0)
			return i;
	return -1;
}
