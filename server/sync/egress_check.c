/* egress_check.c - see egress_check.h. Written from the README ("Access
 * policy") and PROTOCOL.md §7 (the same sources as tests/integration/oracle.py), never
 * from policy.c: a mistake in the policy code shows up here as a frame the
 * independent rules refuse. Compiled only with KT_EGRESS_CHECK. */
#ifdef KT_EGRESS_CHECK
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sync/egress_check.h"

/* Who may read which field, role order: owner, manager,
 * reception, specialist, client. */
static const struct {
	const char *tbl;
	const char *fields[5];
} read_fields[] = {
#define ORG_FIELDS "name,updated_at,country,currency,language,privacy_notice"
	{"organisation", {ORG_FIELDS, ORG_FIELDS, ORG_FIELDS, ORG_FIELDS, ORG_FIELDS}},
#undef ORG_FIELDS
	{"location",
	 {"name,address,phone,time_zone,updated_at,closed_at", "name,address,phone,time_zone,updated_at,closed_at",
	  "name,address,phone,time_zone,updated_at,closed_at", "name,address,phone,time_zone,updated_at,closed_at",
	  "name,address,phone,time_zone,updated_at,closed_at"}},
	{"staff",
	 {"display_name,email,phone,role,active,updated_at,location_ids",
	  "display_name,email,phone,role,active,updated_at,location_ids", "display_name,role,updated_at,location_ids",
	  "display_name,role,updated_at,location_ids", "display_name,updated_at"}},
	{"service",
	 {"location_id,name,duration_min,price_cents,updated_at,location_ids,specialist_ids,buffer_min",
	  "location_id,name,duration_min,price_cents,updated_at,location_ids,specialist_ids,buffer_min",
	  "location_id,name,duration_min,price_cents,updated_at,location_ids,specialist_ids,buffer_min",
	  "location_id,name,duration_min,price_cents,updated_at,location_ids,specialist_ids,buffer_min",
	  "name,duration_min,price_cents,updated_at"}},
	{"opening_hours",
	 {"location_id,weekday,intervals,updated_at", "location_id,weekday,intervals,updated_at",
	  "location_id,weekday,intervals,updated_at", "location_id,weekday,intervals,updated_at",
	  "location_id,weekday,intervals,updated_at"}},
	{"closed_day",
	 {"location_id,day,reason,updated_at", "location_id,day,reason,updated_at", "location_id,day,reason,updated_at",
	  "location_id,day,reason,updated_at", "location_id,day,reason,updated_at"}},
	{"working_hours",
	 {"staff_id,location_id,weekday,intervals,updated_at", "staff_id,location_id,weekday,intervals,updated_at",
	  "staff_id,location_id,weekday,intervals,updated_at", "staff_id,location_id,weekday,intervals,updated_at", ""}},
	{"time_off",
	 {"staff_id,from_at,to_at,reason,updated_at", "staff_id,from_at,to_at,reason,updated_at",
	  "staff_id,from_at,to_at,updated_at", "staff_id,from_at,to_at,reason,updated_at", ""}},
	/* language: the one a client reads messages in, read like contact data */
	{"client",
	 {"name,email,phone,birthday,address,allergies,conditions,medications,skin_hair_type,patch_tests,preferences,"
	  "internal_notes,portal_enabled,updated_at,language",
	  "name,email,phone,birthday,address,allergies,conditions,medications,skin_hair_type,patch_tests,preferences,"
	  "internal_notes,portal_enabled,updated_at,language",
	  "name,email,phone,birthday,address,allergy_alert,preferences,internal_notes,portal_enabled,updated_at,language",
	  "name,allergies,conditions,medications,skin_hair_type,patch_tests,preferences,internal_notes,updated_at",
	  "name,email,phone,birthday,address,allergies,conditions,medications,skin_hair_type,patch_tests,preferences,"
	  "updated_at,language"}},
	/* the names a row was written with: everyone who sees the row (PROTOCOL.md §7);
	 * why it was cancelled or a no-show: staff only */
#define NAMES ",specialist_name,service_names"
#define REASON ",status_reason"
	{"appointment",
	 {"location_id,client_id,specialist_id,start_at,duration_min,services,status,client_note,internal_note,updated_at"
	  NAMES REASON,
	  "location_id,client_id,specialist_id,start_at,duration_min,services,status,client_note,internal_note,updated_at"
	  NAMES REASON,
	  "location_id,client_id,specialist_id,start_at,duration_min,services,status,client_note,internal_note,updated_at"
	  NAMES REASON,
	  "location_id,client_id,specialist_id,start_at,duration_min,services,status,client_note,internal_note,updated_at"
	  NAMES REASON,
	  "location_id,client_id,specialist_id,start_at,duration_min,services,status,client_note,updated_at" NAMES}},
	{"visit",
	 {"location_id,client_id,specialist_id,appointment_id,visit_date,services,products_formulas,treatment_notes,"
	  "photos,updated_at" NAMES,
	  "location_id,client_id,specialist_id,appointment_id,visit_date,services,products_formulas,treatment_notes,"
	  "photos,updated_at" NAMES,
	  "location_id,client_id,specialist_id,appointment_id,visit_date,services,updated_at" NAMES,
	  "location_id,client_id,specialist_id,appointment_id,visit_date,services,products_formulas,treatment_notes,"
	  "photos,updated_at" NAMES,
	  "location_id,client_id,specialist_id,appointment_id,visit_date,services,updated_at" NAMES}},
#undef NAMES
#undef REASON
	{"consent",
	 {"client_id,purpose,granted,at,source,text_version,recorded_by,recorded_kind,updated_at",
	  "client_id,purpose,granted,at,source,text_version,recorded_by,recorded_kind,updated_at",
	  "client_id,purpose,granted,at,source,text_version,recorded_by,recorded_kind,updated_at",
	  "client_id,purpose,granted,at,source,text_version,recorded_by,recorded_kind,updated_at",
	  "client_id,purpose,granted,at,source,text_version,recorded_kind,updated_at"}},
	/* reviews (PROTOCOL-feedback.md): the branch's staff read all; the
	 * client their own with the reply's signature by name only */
#define REVIEW "location_id,client_id,visit_id,specialist_id,stars,text,public_ok,reply,reply_name,replied_at," \
	       "created_at,updated_at"
	{"review",
	 {REVIEW ",reply_by,highlighted,hidden", REVIEW ",reply_by,highlighted,hidden",
	  REVIEW ",reply_by,highlighted,hidden", REVIEW ",reply_by,highlighted,hidden", REVIEW}},
#undef REVIEW
};

/* Which rows: ?1 row id, ?2 organisation, ?3 principal id,
 * ?4 role name, ?5 the principal's locations as a JSON array. */
#define MINE "(SELECT value FROM json_each(?5))"
static const struct {
	const char *tbl, *sql;
} read_rows[] = {
	{"organisation", "SELECT 1 FROM organisation WHERE id = ?1 AND id = ?2 AND ?3 IS NOT NULL"},
	{"location", "SELECT 1 FROM location WHERE id = ?1 AND org_id = ?2 AND (?4 = 'owner' OR id IN " MINE ")"},
	{"staff", "SELECT 1 FROM staff t WHERE id = ?1 AND org_id = ?2 AND (?4 = 'owner' OR (t.role <> 'owner' AND "
		  "(?4 <> 'client' OR (t.role = 'specialist' AND t.active = 1)) AND EXISTS (SELECT 1 FROM "
		  "staff_location sl WHERE sl.staff_id = t.id AND sl.location_id IN " MINE ")))"},
	/* a service's locations: its list, else (a row from before the list) its one location, else all */
	{"service", "SELECT 1 FROM service WHERE id = ?1 AND org_id = ?2 AND (?4 <> 'client' OR "
		    "coalesce(nullif(location_ids, ''), location_id) IS NULL OR EXISTS (SELECT 1 FROM json_each(?5) m "
		    "WHERE instr(',' || coalesce(nullif(location_ids, ''), location_id) || ',', ',' || m.value || ',') > 0))"},
	{"opening_hours", "SELECT 1 FROM opening_hours WHERE id = ?1 AND org_id = ?2 AND (?4 = 'owner' OR location_id IN "
			  MINE ")"},
	{"closed_day", "SELECT 1 FROM closed_day WHERE id = ?1 AND org_id = ?2 AND (?4 = 'owner' OR location_id IN "
		       MINE ")"},
	/* working hours and time off: staff only; a specialist only their own */
	{"working_hours", "SELECT 1 FROM working_hours WHERE id = ?1 AND org_id = ?2 AND ?4 <> 'client' AND (?4 = "
			  "'owner' OR (location_id IN " MINE " AND (?4 <> 'specialist' OR staff_id = ?3)))"},
	{"time_off", "SELECT 1 FROM time_off o WHERE id = ?1 AND org_id = ?2 AND ?4 <> 'client' AND (?4 = 'owner' OR "
		     "((?4 <> 'specialist' OR o.staff_id = ?3) AND (SELECT role FROM staff WHERE id = o.staff_id) <> "
		     "'owner' AND EXISTS (SELECT 1 FROM staff_location sl WHERE sl.staff_id = o.staff_id AND "
		     "sl.location_id IN " MINE ")))"},
	{"client", "SELECT 1 FROM client c WHERE id = ?1 AND org_id = ?2 AND (?4 = 'owner' OR (?4 = 'client' AND "
		   "c.id = ?3) OR (?4 <> 'client' AND EXISTS (SELECT 1 FROM client_location cl WHERE cl.client_id = "
		   "c.id AND cl.location_id IN " MINE ")))"},
	{"appointment", "SELECT 1 FROM appointment WHERE id = ?1 AND org_id = ?2 AND (?4 = 'owner' OR (?4 = 'client' "
			"AND client_id = ?3) OR (?4 <> 'client' AND location_id IN " MINE "))"},
	{"visit", "SELECT 1 FROM visit WHERE id = ?1 AND org_id = ?2 AND (?4 = 'owner' OR (?4 = 'client' AND "
		  "client_id = ?3) OR (?4 <> 'client' AND location_id IN " MINE "))"},
	{"review", "SELECT 1 FROM review WHERE id = ?1 AND org_id = ?2 AND (?4 = 'owner' OR (?4 = 'client' AND "
		   "client_id = ?3) OR (?4 <> 'client' AND location_id IN " MINE "))"},
	{"consent", "SELECT 1 FROM consent k WHERE id = ?1 AND org_id = ?2 AND (?4 = 'owner' OR (?4 = 'client' AND "
		    "client_id = ?3) OR (?4 <> 'client' AND (?4 <> 'specialist' OR purpose IN ('photo_use', "
		    "'health_data')) AND EXISTS (SELECT 1 FROM client_location cl WHERE cl.client_id = k.client_id "
		    "AND cl.location_id IN " MINE ")))"},
};
#undef MINE

static const char *const roles[5] = {"owner", "manager", "reception", "specialist", "client"};

/* One state of the principal's rights: as the session holds them, and as
 * the database holds them in the transaction the frame was read in. */
typedef struct who {
	bool ok, active;
	int role; /* index into roles */
	char org[40], id[40];
	char *locs; /* JSON array */
} who;

static int role_index(const char *name)
{
	for (int i = 0; i < 5; i++)
		if (name && !strcmp(name, roles[i]))
			return i;
	return -1;
}

/* A comma list of ids as a JSON array (ids are UUIDs: nothing to escape;
 * anything else is left out). "*" (an owner) needs none: owners see all. */
static char *json_ids(const char *list)
{
	size_t n = list ? strlen(list) : 0;
	char *out = malloc(n * 2 + 8), *o = out;
	const char *p = list;
	if (!out)
		return NULL;
	*o++ = '[';
	while (p && *p && strcmp(p, "*")) {
		size_t len = strcspn(p, ",");
		if (len && !memchr(p, '"', len) && !memchr(p, '\\', len)) {
			if (o[-1] != '[')
				*o++ = ',';
			*o++ = '"';
			memcpy(o, p, len);
			o += len;
			*o++ = '"';
		}
		p += len + (p[len] == ',');
	}
	*o++ = ']';
	*o = 0;
	return out;
}

static void who_from_session(who *w, const kt_principal *p)
{
	memset(w, 0, sizeof *w);
	w->ok = true;
	w->active = p->active;
	w->role = p->is_client ? 4 : p->role;
	snprintf(w->org, sizeof w->org, "%s", p->org);
	snprintf(w->id, sizeof w->id, "%s", p->id);
	w->locs = json_ids(p->locs);
}

/* The principal as the database says now (own SQL, not store.c's). */
static void who_from_db(who *w, kt_store *st, const kt_principal *p)
{
	static const char staff[] =
		"SELECT role, org_id, active, (SELECT json_group_array(location_id) FROM staff_location WHERE "
		"staff_id = s.id) FROM staff s WHERE id = ?1";
	static const char client[] =
		"SELECT 'client', org_id, 1, (SELECT json_group_array(location_id) FROM client_location WHERE "
		"client_id = c.id) FROM client c WHERE id = ?1";
	sqlite3_stmt *q;
	memset(w, 0, sizeof *w);
	if (!(q = store_prepare(st, p->is_client ? client : staff)))
		return;
	sqlite3_bind_text(q, 1, p->id, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW && (w->role = role_index((const char *)sqlite3_column_text(q, 0))) >= 0) {
		w->ok = true;
		snprintf(w->org, sizeof w->org, "%s", (const char *)sqlite3_column_text(q, 1));
		snprintf(w->id, sizeof w->id, "%s", p->id);
		w->active = sqlite3_column_int(q, 2) != 0;
		w->locs = strdup(sqlite3_column_text(q, 3) ? (const char *)sqlite3_column_text(q, 3) : "[]");
	}
	store_finish(st, q);
}

static void who_free(who *w)
{
	free(w->locs);
	w->locs = NULL;
}

static bool in_list(const char *list, const char *name, size_t n)
{
	for (const char *p = list; p && *p;) {
		size_t len = strcspn(p, ",");
		if (len == n && !memcmp(p, name, n))
			return true;
		p += len + (p[len] == ',');
	}
	return false;
}

static bool field_ok(const char *tbl, int role, const char *f, size_t n)
{
	for (size_t i = 0; i < sizeof read_fields / sizeof read_fields[0]; i++)
		if (!strcmp(read_fields[i].tbl, tbl))
			return in_list(read_fields[i].fields[role], f, n);
	return false;
}

/* Visible under rights (role, locations of w; role may be another state's) */
static bool row_ok(kt_store *st, const char *tbl, const char *id, const who *w, int role, const char *locs)
{
	const char *sql = NULL;
	sqlite3_stmt *q = NULL;
	bool yes = false;
	if (!w->ok || !w->active)
		return false;
	for (size_t i = 0; i < sizeof read_rows / sizeof read_rows[0]; i++)
		if (!strcmp(read_rows[i].tbl, tbl))
			sql = read_rows[i].sql;
	if (!sql || !(q = store_prepare(st, sql)))
		return false;
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, w->org, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, w->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, roles[role], -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 5, locs ? locs : "[]", -1, SQLITE_STATIC);
	yes = sqlite3_step(q) == SQLITE_ROW;
	store_finish(st, q);
	return yes;
}

/* Has the row (or the client it belongs to) changed in a commit after
 * `after`? Then the value that went out may be the row as it was before
 * that commit (a row read for a change log entry is shared until the loop
 * takes in the next commits), and the stream brings the change next: the
 * row is not judged against the newer state. */
static bool changed_since(kt_store *st, int64_t after, const char *tbl, const char *id, const char *client)
{
	static const char sql[] = "SELECT 1 FROM changelog WHERE seq > ?1 AND ((tbl = ?2 AND row_id = ?3) OR "
				  "(tbl = 'client' AND row_id = ?4)) LIMIT 1";
	sqlite3_stmt *q = NULL;
	bool yes = false;
	if (after < 0 || !(q = store_prepare(st, sql)))
		return false;
	sqlite3_bind_int64(q, 1, after);
	sqlite3_bind_text(q, 2, tbl, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, client ? client : "", -1, SQLITE_STATIC);
	yes = sqlite3_step(q) == SQLITE_ROW;
	store_finish(st, q);
	return yes;
}

/* A staff row's location_ids as sent (an array of strings at r) against
 * staff_location now: the same ids, ascending. False on anything else. */
static bool staff_locations_ok(kt_store *st, const char *id, kt_mp *r)
{
	static const char sql[] = "SELECT location_id FROM staff_location WHERE staff_id = ?1 ORDER BY location_id";
	sqlite3_stmt *q;
	uint32_t n, i = 0;
	bool ok = true;
	if (kt_mp_read_array(r, &n) || !(q = store_prepare(st, sql)))
		return false;
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	for (; ok && i < n; i++) {
		const char *s;
		size_t sl;
		ok = !kt_mp_read_str(r, &s, &sl, 64) && sqlite3_step(q) == SQLITE_ROW &&
		     (size_t)sqlite3_column_bytes(q, 0) == sl && !memcmp(sqlite3_column_text(q, 0), s, sl);
	}
	ok = ok && sqlite3_step(q) == SQLITE_DONE; /* no id left out */
	store_finish(st, q);
	for (; i < n; i++) /* past a mismatch: the rest of the array */
		if (kt_mp_skip(r, 8))
			return false;
	return ok;
}

static void violation(uint64_t session, const kt_principal *p, const char *tbl, const char *id, const char *field,
		      size_t flen, const char *why)
{
	fprintf(stderr, "EGRESS VIOLATION: session %llu (%s %s) table %s id %s field %.*s: %s\n",
		(unsigned long long)session, p->is_client ? "client" : roles[p->role < 0 || p->role > 4 ? 0 : p->role],
		p->id, tbl, id, (int)flen, field, why);
	fflush(stderr);
	abort();
}

typedef struct judge {
	kt_store *st; /* its prepared-statement cache only; the SQL is this file's */
	uint64_t session;
	const kt_principal *p;
	who w[2];        /* session's rights, database's rights */
	int64_t after;   /* changes after this seq are not judged (-1: judge all) */
} judge;

static void judge_init(judge *j, kt_store *st, uint64_t session, const kt_principal *p, int64_t after)
{
	j->st = st;
	j->session = session;
	j->p = p;
	j->after = after;
	who_from_session(&j->w[0], p);
	who_from_db(&j->w[1], st, p);
}

static void judge_free(judge *j)
{
	who_free(&j->w[0]);
	who_free(&j->w[1]);
}

/* A row's values (fields: a map of name -> value) going to j's principal.
 * Passes when some state of its rights (the session's or the database's,
 * role and locations taken from either) shows the row, and each field is
 * readable by the session's or the database's role. */
static void judge_values(judge *j, const char *tbl, const char *id, const uint8_t *fields, size_t flen)
{
	char client[40] = "";
	bool seen = false;
	kt_mp r;
	uint32_t n;

	if (!fields)
		return; /* delete / evict: an id, no values */
	kt_mp_init(&r, fields, flen);
	if (kt_mp_read_map(&r, &n))
		violation(j->session, j->p, tbl, id, "", 0, "fields are not a map");
	/* the row's client (for a consent, from the values it carries) */
	if (!strcmp(tbl, "client"))
		snprintf(client, sizeof client, "%s", id);
	for (int a = 0; a < 2 && !seen; a++)
		for (int b = 0; b < 2 && !seen; b++)
			seen = j->w[a].ok && j->w[b].ok && row_ok(j->st, tbl, id, &j->w[a], j->w[a].role, j->w[b].locs);
	for (uint32_t i = 0; i < n; i++) {
		const char *k, *s;
		size_t kl, sl;
		if (kt_mp_read_str(&r, &k, &kl, 64))
			violation(j->session, j->p, tbl, id, "", 0, "a field name is not a string");
		if (kt_mp_str_eq(k, kl, "client_id") && kt_mp_peek(&r) == KT_MP_STR && !kt_mp_read_str(&r, &s, &sl, 64)) {
			snprintf(client, sizeof client, "%.*s", (int)sl, s);
		} else if (!strcmp(tbl, "staff") && kt_mp_str_eq(k, kl, "location_ids")) {
			/* a value the server derives: it must say what staff_location says */
			if (!staff_locations_ok(j->st, id, &r) && !changed_since(j->st, j->after, tbl, id, NULL))
				violation(j->session, j->p, tbl, id, k, kl, "not the locations staff_location holds");
		} else if (kt_mp_skip(&r, 8))
			violation(j->session, j->p, tbl, id, k, kl, "a value does not decode");
		if (!(j->w[0].ok && field_ok(tbl, j->w[0].role, k, kl)) && !(j->w[1].ok && field_ok(tbl, j->w[1].role, k, kl)))
			violation(j->session, j->p, tbl, id, k, kl, "the role may not read this field");
	}
	if (!seen && !changed_since(j->st, j->after, tbl, id, client))
		violation(j->session, j->p, tbl, id, "", 0, "the principal may not see this row");
}

static int judge_op(void *user, const kt_op *op)
{
	judge *j = user;
	char tbl[40], id[40];
	snprintf(tbl, sizeof tbl, "%.*s", (int)op->tbl.len, op->tbl.s);
	snprintf(id, sizeof id, "%.*s", (int)op->id.len, op->id.s);
	if (op->op != KT_OP_PUT) {
		if (op->fields)
			violation(j->session, j->p, tbl, id, "", 0, "a delete or evict carries values");
		return 0;
	}
	judge_values(j, tbl, id, op->fields, op->fields_len);
	return 0;
}

void egress_check_frame(kt_session *s, const unsigned char *frame, size_t len)
{
	kt_msgtype t;
	judge j;
	int rc = 0;

	if (proto_msg_peek_type(frame, len, &t) || (t != KT_MSG_PAGE && t != KT_MSG_CHANGES))
		return; /* only these carry rows; push answers are judged where they are made */
	judge_init(&j, s->srv->st, s->id, &s->principal, s->srv->head_seq);
	if (t == KT_MSG_PAGE)
		rc = proto_page_decode(frame, len, judge_op, &j);
	else
		rc = proto_changes_decode(frame, len, judge_op, &j, NULL);
	if (rc)
		violation(s->id, &s->principal, "?", "?", "", 0, "an outgoing frame does not decode");
	judge_free(&j);
}

void egress_check_answer(kt_store *st, uint64_t session_id, const kt_principal *p, const kt_mut *m,
			 const uint8_t *result, size_t len)
{
	char tbl[40], id[40];
	judge j;
	kt_mp r;
	uint32_t n;

	snprintf(tbl, sizeof tbl, "%.*s", (int)m->tbl.len, m->tbl.s);
	snprintf(id, sizeof id, "%.*s", (int)m->id.len, m->id.s);
	judge_init(&j, st, session_id, p, -1); /* the writer's own transaction: nothing is newer */
	kt_mp_init(&r, result, len);
	if (kt_mp_read_map(&r, &n))
		violation(session_id, p, tbl, id, "", 0, "a push result is not a map");
	for (uint32_t i = 0; i < n; i++) {
		const char *k, *s;
		size_t kl, sl;
		if (kt_mp_read_str(&r, &k, &kl, 64))
			violation(session_id, p, tbl, id, "", 0, "a push result key is not a string");
		if (kt_mp_str_eq(k, kl, "current") || kt_mp_str_eq(k, kl, "conflicts")) {
			size_t at = r.pos;
			if (kt_mp_skip(&r, 8))
				violation(session_id, p, tbl, id, k, kl, "does not decode");
			judge_values(&j, tbl, id, r.buf + at, r.pos - at);
		} else if (kt_mp_str_eq(k, kl, "msg") && !kt_mp_read_str(&r, &s, &sl, 4096)) {
			/* an id a refusal names must be of a row the writer may see
			 * (or one the mutation itself sent) */
			for (size_t o = 0; o + 36 <= sl; o++) {
				char other[40];
				if (!kt_uuid_valid(s + o, 36))
					continue;
				snprintf(other, sizeof other, "%.*s", 36, s + o);
				if (!strcmp(other, id) || (m->fields && memmem(m->fields, m->fields_len, other, 36)))
					continue;
				static const char *const tables[] = {"appointment", "visit", "client", "staff", "location"};
				for (size_t ti = 0; ti < 5; ti++) {
					char q[96];
					sqlite3_stmt *e;
					bool exists;
					snprintf(q, sizeof q, "SELECT 1 FROM %s WHERE id = ?1", tables[ti]);
					if (!(e = store_prepare(j.st, q)))
						continue;
					sqlite3_bind_text(e, 1, other, -1, SQLITE_STATIC);
					exists = sqlite3_step(e) == SQLITE_ROW;
					store_finish(j.st, e);
					bool seen = false;
					for (int a = 0; a < 2 && exists && !seen; a++)
						for (int b = 0; b < 2 && !seen; b++)
							seen = j.w[a].ok && j.w[b].ok &&
							       row_ok(j.st, tables[ti], other, &j.w[a], j.w[a].role, j.w[b].locs);
					if (exists && !seen)
						violation(session_id, p, tables[ti], other, "msg", 3,
							  "a refusal names a row the principal may not see");
				}
				o += 35;
			}
		} else if (kt_mp_skip(&r, 8))
			violation(session_id, p, tbl, id, k, kl, "does not decode");
	}
	judge_free(&j);
}

int egress_test_leak(void)
{
	static _Atomic int v = -1; /* the loop and the push writer both ask; either may be first */
	if (v < 0) {
		const char *e = getenv("KT_EGRESS_TEST_LEAK");
		v = !e ? 0 : !strcmp(e, "field") ? 1 : !strcmp(e, "row") ? 2 : 0;
	}
	return v;
}
#endif
