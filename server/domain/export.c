/* export.c - see export.h. Rows are read through the store (store_row_load,
 * store_client_rows) and the access log through audit.c, never with SQL of
 * its own: personal columns and audit before/after are ciphertext in the
 * encrypted store and only those modules can read them. The document is
 * built with jansson, never by hand. */
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "db/audit.h"
#include "domain/export.h"
#include "domain/feedback.h"
#include "domain/revoke.h"

#define EXPORT_FORMAT "kartoteka.export.v1"

/* What belongs to a client besides the card: (document key, table, the
 * column naming the client). A table another branch adds (consents,
 * reviews) is one line here; a table this build does not have is left out
 * of the document rather than shown empty. */
static const struct {
	const char *key, *table, *client_col;
} kt_export_tables[] = {
	{"appointments", "appointment", "client_id"},
	{"visits", "visit", "client_id"},
	{"consents", "consent", "client_id"},
	{"reviews", "review", "client_id"},
};

/* Columns that are never part of anyone's data: secrets, and the server's
 * merge bookkeeping (which device changed which field at which version). */
static bool secret_column(const char *name)
{
	size_t n = strlen(name);
	return !strcmp(name, "password_hash") || (n > 5 && !strcmp(name + n - 5, "_hash")) ||
	       !strcmp(name, "field_versions");
}

static json_t *value_json(const kt_col *c, const kt_val *v)
{
	if (v->null)
		return json_null();
	switch (c->type) {
	case KT_COL_INT: return json_integer(v->i);
	case KT_COL_BOOL: return json_boolean(v->i != 0);
	case KT_COL_TEXT: return json_stringn(v->s ? v->s : "", v->s ? v->len : 0);
	case KT_COL_LIST: {
		json_t *a = json_array();
		const char *p = v->s ? v->s : "";
		while (a && *p) {
			size_t n = strcspn(p, ",");
			json_array_append_new(a, json_stringn(p, n));
			p += n + (p[n] == ',');
		}
		return a;
	}
	case KT_COL_NAMES: {
		json_t *a = v->s ? json_loadb(v->s, v->len, 0, NULL) : NULL;
		return json_is_array(a) ? a : (json_decref(a), json_null());
	}
	}
	return json_null();
}

/* One row as an object of all its columns but secrets (caller owns it). */
static json_t *row_json(const kt_row *r)
{
	json_t *o = json_object();
	for (int i = 0; o && i < r->t->ncols; i++) {
		const kt_col *c = &r->t->cols[i];
		if (secret_column(c->name))
			continue;
		if (json_object_set_new(o, c->name, value_json(c, &r->v[i]))) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

struct rows_ctx {
	kt_store *st;
	const kt_table *t;
	json_t *arr;
};

static int add_row(void *user, const char *id)
{
	struct rows_ctx *c = user;
	kt_row row;
	int rc = store_row_load(c->st, c->t, id, &row);
	if (rc)
		return rc;
	json_t *o = row_json(&row);
	kt_row_free(&row);
	return o && json_array_append_new(c->arr, o) == 0 ? KT_OK : KT_ENOMEM;
}

/* A stored JSON text (audit before/after) as a value; text that does not
 * parse is kept as a string rather than lost. */
static json_t *embedded_json(const char *text)
{
	if (!text)
		return json_null();
	json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
	return v ? v : json_string(text);
}

static json_t *opt_string(const char *s)
{
	return s ? json_string(s) : json_null();
}

struct audit_ctx {
	kt_store *st;
	json_t *arr;
	kt_device_view dv;
};

static int add_audit(void *user, const kt_audit_row *r)
{
	struct audit_ctx *c = user;
	json_t *arr = c->arr, *fields = json_array(), *e;
	const char *device = r->device_id && revoke_device_shown(c->st, &c->dv, r->device_id) ? r->device_id : NULL;
	const char *p = r->fields ? r->fields : "";
	while (fields && *p) {
		size_t n = strcspn(p, ",");
		json_array_append_new(fields, json_stringn(p, n));
		p += n + (p[n] == ',');
	}
	e = json_pack("{s:I, s:I, s:o, s:{s:s, s:o, s:s, s:s}, s:o, s:s, s:s, s:s, s:o, s:o, s:o, s:o}",
		      "seq", (json_int_t)r->seq, "at", (json_int_t)r->server_time, "device_time",
		      r->device_time ? json_integer(r->device_time) : json_null(), "actor", "kind", r->actor_kind,
		      "id", opt_string(r->actor_id), "name", r->actor_name, "role", r->actor_role, "device",
		      opt_string(device), "action", r->action, "entity", r->entity, "entity_id", r->entity_id,
		      "location_id", opt_string(r->location_id), "fields", fields ? fields : json_array(),
		      "before", embedded_json(r->before), "after", embedded_json(r->after));
	return e && json_array_append_new(arr, e) == 0 ? KT_OK : KT_ENOMEM;
}

static int record_export(kt_store *st, const kt_row *client)
{
	char loc[KT_UUID_LEN + 1] = "";
	size_t n = strcspn(client->locs, ",");
	if (n == KT_UUID_LEN)
		snprintf(loc, sizeof loc, "%.*s", (int)n, client->locs);
	kt_audit_entry e = {client->org, "exported", "client", client->v[0].s, client->v[0].s, loc[0] ? loc : NULL,
			    NULL, NULL, NULL};
	return audit_append(st, &e);
}

int export_client(kt_store *st, const char *client_id, char **json)
{
	return export_client_as(st, client_id, NULL, json);
}

int export_client_as(kt_store *st, const char *client_id, const kt_principal *viewer, char **json)
{
	struct audit_ctx ac = {st, NULL, {.viewer = viewer}};
	const kt_table *ct = kt_table_find("client", 6);
	json_t *doc = NULL, *log = NULL;
	kt_row client = {0};
	int rc;

	*json = NULL;
	if (!client_id || !kt_uuid_valid(client_id, strlen(client_id)))
		return KT_EINVALID;
	/* one transaction: the document is consistent and the export is recorded
	 * with it (a database opened read-only, a backup, records nothing) */
	bool ro = store_read_only(st);
	if ((rc = ro ? store_begin_read(st) : store_begin(st)))
		return rc;
	if ((rc = store_row_load(st, ct, client_id, &client)))
		goto out;
	if (!ro && (rc = record_export(st, &client)))
		goto out;
	doc = json_pack("{s:s, s:I, s:o}", "format", EXPORT_FORMAT, "generated_at", (json_int_t)kt_now_ms(), "client",
			row_json(&client));
	if (!doc) {
		rc = KT_ENOMEM;
		goto out;
	}
	json_t *locs = value_json(&(kt_col){"locations", KT_COL_LIST}, &(kt_val){.s = client.locs,
										   .len = strlen(client.locs)});
	json_object_set_new(doc, "locations", locs);
	for (size_t i = 0; i < sizeof kt_export_tables / sizeof kt_export_tables[0]; i++) {
		struct rows_ctx c = {st, kt_table_find(kt_export_tables[i].table, strlen(kt_export_tables[i].table)),
				     json_array()};
		if (!c.arr) {
			rc = KT_ENOMEM;
			goto out;
		}
		rc = store_client_rows(st, kt_export_tables[i].table, kt_export_tables[i].client_col, client_id, add_row,
				       &c);
		if (rc == KT_ENOT_FOUND && !c.t) { /* not in this build */
			json_decref(c.arr);
			rc = KT_OK;
			continue;
		}
		if (rc || json_object_set_new(doc, kt_export_tables[i].key, c.arr)) {
			if (!rc)
				rc = KT_ENOMEM;
			else
				json_decref(c.arr);
			goto out;
		}
	}
	/* survey answers are server-internal rows: not a synced table */
	char *answers = NULL;
	if ((rc = feedback_export_answers(st, client_id, &answers)))
		goto out;
	json_object_set_new(doc, "survey_answers", json_loads(answers, 0, NULL));
	free(answers);
	if (!(log = ac.arr = json_array()) || (rc = audit_client_entries(st, client_id, add_audit, &ac)))
		goto out;
	json_object_set_new(doc, "access_log", log);
	log = NULL;
	if (!(*json = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS)))
		rc = KT_ENOMEM;
out:
	json_decref(log);
	json_decref(doc);
	kt_row_free(&client);
	if (rc) {
		free(*json);
		*json = NULL;
		store_rollback(st);
		return rc;
	}
	if ((rc = store_commit(st))) {
		free(*json);
		*json = NULL;
	}
	return rc;
}
