/* clients.c - see clients.h. Client names, e-mails and phones are sealed
 * with each client's key: the search opens them row by row (bounded by
 * the organisation's cards), nothing is indexed in plain text. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "kt_mp.h"
#include "db/audit.h"
#include "domain/clients.h"
#include "domain/feedback.h"
#include "domain/org.h"
#include "domain/policy.h"

static const kt_table *client_table(void)
{
	return kt_table_find("client", 6);
}

/* The card's organisation and branches (comma list, owned). */
static int card_scope(kt_store *st, const char *id, char org[KT_UUID_LEN + 1], char **locs)
{
	char c[KT_UUID_LEN + 1];
	sqlite3_stmt *q = store_prepare(st, "SELECT org_id FROM client WHERE id = ?1");
	int rc;
	*locs = NULL;
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		snprintf(org, KT_UUID_LEN + 1, "%s", (const char *)sqlite3_column_text(q, 0));
	store_finish(st, q);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? KT_ENOT_FOUND : KT_EIO;
	return store_row_routing(st, client_table(), id, locs, c);
}

int client_create(kt_store *st, const kt_principal *by, const char *org, const kt_client_args *a,
		  char id_out[KT_UUID_LEN + 1], char *err, size_t errlen)
{
	int rc;
	if (by && !policy_create(by->role, client_table()))
		return kt_fail(err, errlen, KT_EDENIED, "only reception, managers and owners create client cards");
	if (!a->name || !a->name[0] || strlen(a->name) > 200 ||
	    !kt_utf8_valid((const uint8_t *)a->name, strlen(a->name)) || strpbrk(a->name, "\r\n\t"))
		return kt_fail(err, errlen, KT_EINVALID, "name: 1 to 200 characters of text on one line");
	if (a->email && a->email[0] && (rc = org_check_email(a->email, err, errlen)))
		return rc;
	if (a->phone && a->phone[0] && (strlen(a->phone) > 40 || strspn(a->phone, "+0123456789 ()/-.") != strlen(a->phone)))
		return kt_fail(err, errlen, KT_EINVALID, "phone: digits, spaces and + ( ) / - . only, at most 40");
	if (by && !by->is_client && by->role != KT_ROLE_OWNER &&
	    (!a->location_id || !kt_locset_has(by->locs, a->location_id)))
		return kt_fail(err, errlen, KT_EDENIED, "location: a new card belongs to one of your locations");
	if ((rc = store_begin(st)))
		return kt_fail(err, errlen, rc, "the database is busy; try again");
	if (a->location_id) {
		sqlite3_stmt *q = store_prepare(st, "SELECT closed_at IS NULL FROM location WHERE id = ?1 AND org_id = ?2");
		int s = SQLITE_ERROR, open = 0;
		if (q) {
			sqlite3_bind_text(q, 1, a->location_id, -1, SQLITE_STATIC);
			sqlite3_bind_text(q, 2, org, -1, SQLITE_STATIC);
			if ((s = sqlite3_step(q)) == SQLITE_ROW)
				open = sqlite3_column_int(q, 0);
			store_finish(st, q);
		}
		if (s != SQLITE_ROW)
			return store_end(st, kt_fail(err, errlen, KT_ENOT_FOUND, "location: no such location"), NULL, 0);
		if (!open)
			return store_end(st, kt_fail(err, errlen, KT_EINVALID, "location: it is closed"), NULL, 0);
	}
	kt_uuid7(id_out);
	kt_field f[] = {{"name", a->name},
			{"email", a->email && a->email[0] ? a->email : NULL},
			{"phone", a->phone && a->phone[0] ? a->phone : NULL}};
	rc = store_insert(st, "client", id_out, org, f, 3, NULL);
	if (!rc && a->location_id)
		rc = store_link_client_location(st, id_out, a->location_id);
	if (rc)
		kt_fail(err, errlen, rc, "could not save the card (%s)", kt_strerror(rc));
	return store_end(st, rc, NULL, 0);
}

/* ---- merge ---- */

typedef struct id_list {
	char (*ids)[KT_UUID_LEN + 1];
	int n, cap;
} id_list;

static int collect(void *user, const char *id)
{
	id_list *l = user;
	if (l->n == l->cap) {
		int cap = l->cap ? l->cap * 2 : 16;
		void *p = realloc(l->ids, (size_t)cap * sizeof *l->ids);
		if (!p)
			return KT_ENOMEM;
		l->ids = p;
		l->cap = cap;
	}
	snprintf(l->ids[l->n++], KT_UUID_LEN + 1, "%s", id);
	return 0;
}

/* The row as it is, with client_id set to keep: every sealed column is
 * written again so that keep's key seals it. */
static int move_row(kt_store *st, const kt_table *t, const char *id, const char *keep)
{
	kt_row row = {0};
	kt_field f[32];
	int n = 0, rc = store_row_load(st, t, id, &row);
	if (rc)
		return rc;
	f[n++] = (kt_field){"client_id", keep};
	for (int i = 0; i < t->ncols && n < 32; i++)
		if (t->cols[i].sealed)
			f[n++] = (kt_field){t->cols[i].name, row.v[i].null ? NULL : row.v[i].s};
	rc = store_update(st, t->name, id, f, n, NULL);
	kt_row_free(&row);
	return rc;
}

/* Consents are history: a copy on keep (same time, source, recorder), the
 * duplicate's row removed. */
static int move_consent(kt_store *st, const char *org, const char *id, const char *keep)
{
	const kt_table *t = kt_table_find("consent", 7);
	kt_row row = {0};
	kt_field f[16];
	char nid[KT_UUID_LEN + 1], num[2][24];
	int n = 0, rc = store_row_load(st, t, id, &row);
	if (rc)
		return rc;
	for (int i = 0; i < t->ncols; i++) {
		const char *c = t->cols[i].name;
		if (!strcmp(c, "id") || !strcmp(c, "org_id") || !strcmp(c, "version") || !strcmp(c, "updated_at"))
			continue;
		if (!strcmp(c, "client_id")) {
			f[n++] = (kt_field){c, keep};
			continue;
		}
		if (t->cols[i].type == KT_COL_INT || t->cols[i].type == KT_COL_BOOL) {
			char *b = num[!strcmp(c, "at") ? 0 : 1];
			snprintf(b, 24, "%lld", (long long)row.v[i].i);
			f[n++] = (kt_field){c, row.v[i].null ? NULL : b};
		} else
			f[n++] = (kt_field){c, row.v[i].null ? NULL : row.v[i].s};
	}
	kt_uuid7(nid);
	rc = store_insert(st, "consent", nid, org, f, n, NULL);
	if (!rc)
		rc = store_delete(st, "consent", id);
	kt_row_free(&row);
	return rc;
}

static const char *const fill_cols[] = {"email", "phone", "birthday", "address", "allergies", "conditions",
					"medications", "skin_hair_type", "patch_tests", "preferences", "internal_notes"};

int client_merge(kt_store *st, const kt_principal *by, const char *org, const char *keep, const char *dup,
		 char *err, size_t errlen)
{
	char org_k[KT_UUID_LEN + 1] = "", org_d[KT_UUID_LEN + 1] = "", after[128];
	char *locs_k = NULL, *locs_d = NULL;
	kt_row rk = {0}, rd = {0};
	id_list l = {0};
	int rc;

	if (by && !policy_may(by, KT_ACT_MERGE_CLIENTS))
		return kt_fail(err, errlen, KT_EDENIED, "only owners and managers merge client cards");
	if (!keep || !dup || !kt_uuid_valid(keep, strlen(keep)) || !kt_uuid_valid(dup, strlen(dup)))
		return kt_fail(err, errlen, KT_EINVALID, "keep and duplicate: two client ids");
	if (!strcmp(keep, dup))
		return kt_fail(err, errlen, KT_EINVALID, "keep and duplicate are the same card");
	if ((rc = store_begin(st)))
		return kt_fail(err, errlen, rc, "the database is busy; try again");
	if ((rc = card_scope(st, keep, org_k, &locs_k)) || (rc = card_scope(st, dup, org_d, &locs_d)) ||
	    strcmp(org_k, org) || strcmp(org_d, org)) {
		rc = rc && rc != KT_ENOT_FOUND ? rc : KT_ENOT_FOUND;
		kt_fail(err, errlen, rc, rc == KT_ENOT_FOUND ? "no such client card in this organisation" : "database error");
		goto out;
	}
	if (by && (!policy_may_on(by, KT_ACT_MERGE_CLIENTS, &(kt_target){keep, KT_ROLE_CLIENT, locs_k}) ||
		   !policy_may_on(by, KT_ACT_MERGE_CLIENTS, &(kt_target){dup, KT_ROLE_CLIENT, locs_d}))) {
		rc = kt_fail(err, errlen, KT_EDENIED, "managers merge only cards known at their locations");
		goto out;
	}
	if ((rc = store_row_load(st, client_table(), keep, &rk)) || (rc = store_row_load(st, client_table(), dup, &rd)))
		goto io;
	int pe = kt_col_index(client_table(), "portal_enabled");
	if (!rd.v[pe].null && rd.v[pe].i) {
		rc = kt_fail(err, errlen, KT_EINVALID,
			  "the duplicate has a portal account: keep that card and merge the other one into it");
		goto out;
	}
	static const char *const tables[] = {"appointment", "visit", "review"}; /* a visit's review goes with it */
	for (size_t k = 0; k < 3; k++) {
		const kt_table *t = kt_table_find(tables[k], strlen(tables[k]));
		l.n = 0;
		if ((rc = store_client_rows(st, t->name, "client_id", dup, collect, &l)))
			goto io;
		for (int i = 0; i < l.n && !rc; i++)
			rc = move_row(st, t, l.ids[i], keep);
		if (rc)
			goto io;
	}
	if ((rc = feedback_merge_clients(st, keep, dup)))
		goto io;
	l.n = 0;
	if ((rc = store_client_rows(st, "consent", "client_id", dup, collect, &l)))
		goto io;
	for (int i = 0; i < l.n && !rc; i++)
		rc = move_consent(st, org, l.ids[i], keep);
	if (rc)
		goto io;
	for (char *save = NULL, *p = locs_d && *locs_d ? strtok_r(locs_d, ",", &save) : NULL; p && !rc;
	     p = strtok_r(NULL, ",", &save))
		if (!kt_locset_has(locs_k, p))
			rc = store_link_client_location(st, keep, p);
	if (rc)
		goto io;
	/* what the kept card lacks, the duplicate may know */
	kt_field f[16];
	int n = 0;
	for (size_t i = 0; i < sizeof fill_cols / sizeof fill_cols[0]; i++) {
		int c = kt_col_index(client_table(), fill_cols[i]);
		if (c >= 0 && rk.v[c].null && !rd.v[c].null && rd.v[c].s && rd.v[c].s[0])
			f[n++] = (kt_field){fill_cols[i], rd.v[c].s};
	}
	/* the e-mail is the portal sign-in of a kept card with an account: not taken over */
	if (n && !rk.v[pe].null && rk.v[pe].i)
		for (int i = 0; i < n; i++)
			if (!strcmp(f[i].name, "email"))
				f[i--] = f[--n];
	if (n && (rc = store_update(st, "client", keep, f, n, NULL)))
		goto io;
	snprintf(after, sizeof after, "{\"merged\":\"%s\"}", dup);
	kt_audit_entry e = {org, "client_merged", "client", keep, keep, NULL, NULL, NULL, after};
	if ((rc = audit_append(st, &e)) || (rc = store_delete(st, "client", dup)))
		goto io;
	goto out;
io:
	kt_fail(err, errlen, rc, "could not merge (%s)", kt_strerror(rc));
out:
	free(l.ids);
	free(locs_k);
	free(locs_d);
	kt_row_free(&rk);
	kt_row_free(&rd);
	return store_end(st, rc, NULL, 0);
}

/* ---- search ---- */

static bool contains_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (; hay && *hay; hay++)
		if (!strncasecmp(hay, needle, n))
			return true;
	return false;
}

/* The digits of s, at most cap - 1. */
static void digits_of(const char *s, char *out, size_t cap)
{
	size_t k = 0;
	for (; s && *s && k + 1 < cap; s++)
		if (isdigit((unsigned char)*s))
			out[k++] = *s;
	out[k] = 0;
}

int client_find(kt_store *st, const kt_principal *by, const char *org, const char *text, int limit,
		const char *after, int scan_max, kt_client_found_cb cb, void *user, char next[KT_UUID_LEN + 1],
		char *err, size_t errlen)
{
	const kt_table *t = client_table();
	int cols[3] = {kt_col_index(t, "name"), kt_col_index(t, "email"), kt_col_index(t, "phone")};
	char want_digits[64], last[KT_UUID_LEN + 1] = "";
	sqlite3_stmt *q;
	int found = 0, scanned = 0, rc = KT_OK;

	next[0] = 0;
	if (by && !policy_may(by, KT_ACT_FIND_CLIENTS))
		return kt_fail(err, errlen, KT_EDENIED, "only reception, managers and owners search client cards");
	if (!text || strlen(text) < 2 || strlen(text) > 100)
		return kt_fail(err, errlen, KT_EINVALID, "text: 2 to 100 characters of a name, phone or e-mail");
	if (limit < 1 || limit > 100)
		return kt_fail(err, errlen, KT_EINVALID, "limit: 1 to 100");
	if (after && *after && !kt_uuid_valid(after, strlen(after)))
		return kt_fail(err, errlen, KT_EINVALID, "after: the id a previous search answered as next");
	digits_of(text, want_digits, sizeof want_digits);
	bool by_phone = strlen(want_digits) >= 4 && strspn(text, "+0123456789 ()/-.") == strlen(text);
	q = store_prepare(st, "SELECT c.id, (SELECT group_concat(location_id) FROM client_location cl WHERE "
			      "cl.client_id = c.id) FROM client c WHERE c.org_id = ?1 AND c.id > ?2 ORDER BY c.id");
	if (!q)
		return kt_fail(err, errlen, KT_EIO, "database error");
	sqlite3_bind_text(q, 1, org, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, after ? after : "", -1, SQLITE_STATIC);
	while (!rc && sqlite3_step(q) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(q, 0);
		const char *locs = sqlite3_column_type(q, 1) == SQLITE_NULL ? "" : (const char *)sqlite3_column_text(q, 1);
		kt_row row = {0};
		if (found == limit || scanned == scan_max) {
			/* there is more to look at: where the next call goes on */
			memcpy(next, last, KT_UUID_LEN + 1);
			break;
		}
		snprintf(last, sizeof last, "%s", id); /* the last card looked at */
		/* a manager or receptionist searches the cards of their locations only */
		if (by && !policy_may_on(by, KT_ACT_FIND_CLIENTS, &(kt_target){id, KT_ROLE_CLIENT, locs}))
			continue;
		scanned++;
		if (store_row_load_some(st, t, id, cols, 3, &row))
			continue;
		const char *name = row.v[cols[0]].null ? "" : row.v[cols[0]].s;
		bool hit = contains_ci(name, text) || (!row.v[cols[1]].null && contains_ci(row.v[cols[1]].s, text));
		if (!hit && by_phone && !row.v[cols[2]].null) {
			char digits[64];
			digits_of(row.v[cols[2]].s, digits, sizeof digits);
			/* a local number (041 ...) and its international form (+386 41 ...)
			 * end alike: without trunk zeros, one is the tail of the other */
			const char *x = digits, *y = want_digits;
			while (*x == '0')
				x++;
			while (*y == '0')
				y++;
			size_t xl = strlen(x), yl = strlen(y);
			if (xl >= 6 && yl >= 6)
				hit = xl >= yl ? !strcmp(x + xl - yl, y) : !strcmp(y + yl - xl, x);
		}
		if (hit) {
			found++;
			rc = cb(user, id, name);
		}
		kt_row_free(&row);
	}
	store_finish(st, q);
	return rc;
}

