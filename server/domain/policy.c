/* policy.c - who may read which table and column. This file is the policy:
 * README's "Access policy" section is printed from it (kartoteka-server
 * policy) and tests/unit/test_policy.c fails when a schema column has no
 * entry here. Change the table, not the code around it. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "domain/policy.h"

/* read[] order: owner, manager, reception, specialist, client (self) */
#define Y KT_P_YES
#define N KT_P_NO
#define A KT_P_ALERT
#define M KT_P_META
#define ROW(t, c, o, m, r, s, cl) {t, c, {o, m, r, s, cl}, NULL}
#define ALERT(t, c, o, m, r, s, cl, an) {t, c, {o, m, r, s, cl}, an}
#define INTERNAL(t, c) {t, c, {N, N, N, N, N}, NULL}

const kt_policy_entry kt_policy[] = {
	/*    table           column            owner mgr rec spec client */
	ROW("organisation", "id",                M, M, M, M, M),
	ROW("organisation", "name",              Y, Y, Y, Y, Y),
	ROW("organisation", "version",           M, M, M, M, M),
	ROW("organisation", "updated_at",        Y, Y, Y, Y, Y),
	ROW("organisation", "country",           Y, Y, Y, Y, Y),
	ROW("organisation", "currency",          Y, Y, Y, Y, Y),
	ROW("organisation", "language",          Y, Y, Y, Y, Y),
	ROW("organisation", "privacy_notice",    Y, Y, Y, Y, Y),

	ROW("location", "id",                    M, M, M, M, M),
	ROW("location", "org_id",                N, N, N, N, N),
	ROW("location", "name",                  Y, Y, Y, Y, Y),
	ROW("location", "address",               Y, Y, Y, Y, Y),
	ROW("location", "phone",                 Y, Y, Y, Y, Y),
	ROW("location", "time_zone",             Y, Y, Y, Y, Y),
	ROW("location", "version",               M, M, M, M, M),
	ROW("location", "updated_at",            Y, Y, Y, Y, Y),
	ROW("location", "closed_at",             Y, Y, Y, Y, Y),

	ROW("staff", "id",                       M, M, M, M, M),
	ROW("staff", "org_id",                   N, N, N, N, N),
	ROW("staff", "display_name",             Y, Y, Y, Y, Y),
	ROW("staff", "email",                    Y, Y, N, N, N),
	ROW("staff", "phone",                    Y, Y, N, N, N),
	/* a specialist's tablet shows the branch's specialists (the calendar's
	 * columns), so it needs to know who they are; clients never see roles */
	ROW("staff", "role",                     Y, Y, Y, Y, N),
	ROW("staff", "active",                   Y, Y, N, N, N),
	ROW("staff", "password_hash",            N, N, N, N, N),
	ROW("staff", "version",                  M, M, M, M, M),
	ROW("staff", "updated_at",               Y, Y, Y, Y, Y),
	/* where the person works (staff_location), set by the server: the
	 * calendar's columns of a branch; not the clients' business */
	ROW("staff", "location_ids",             Y, Y, Y, Y, N),

	ROW("service", "id",                     M, M, M, M, M),
	ROW("service", "org_id",                 N, N, N, N, N),
	ROW("service", "location_id",            Y, Y, Y, Y, N),
	ROW("service", "name",                   Y, Y, Y, Y, Y),
	ROW("service", "duration_min",           Y, Y, Y, Y, Y),
	ROW("service", "price_cents",            Y, Y, Y, Y, Y),
	ROW("service", "version",                M, M, M, M, M),
	ROW("service", "updated_at",             Y, Y, Y, Y, Y),
	ROW("service", "location_ids",           Y, Y, Y, Y, N),
	ROW("service", "specialist_ids",         Y, Y, Y, Y, N),
	ROW("service", "buffer_min",             Y, Y, Y, Y, N),

	/* what the booking rules use (ops.c). Clients see when their branches are
	 * open; working hours and time off are the staff's: reception books with
	 * them, a specialist sees only their own (row rule in policy_row_visible),
	 * and why someone is off stays with the managers and the person. */
	ROW("opening_hours", "id",               M, M, M, M, M),
	ROW("opening_hours", "org_id",           N, N, N, N, N),
	ROW("opening_hours", "location_id",      Y, Y, Y, Y, Y),
	ROW("opening_hours", "weekday",          Y, Y, Y, Y, Y),
	ROW("opening_hours", "intervals",        Y, Y, Y, Y, Y),
	ROW("opening_hours", "version",          M, M, M, M, M),
	ROW("opening_hours", "updated_at",       Y, Y, Y, Y, Y),

	ROW("closed_day", "id",                  M, M, M, M, M),
	ROW("closed_day", "org_id",              N, N, N, N, N),
	ROW("closed_day", "location_id",         Y, Y, Y, Y, Y),
	ROW("closed_day", "day",                 Y, Y, Y, Y, Y),
	ROW("closed_day", "reason",              Y, Y, Y, Y, Y),
	ROW("closed_day", "version",             M, M, M, M, M),
	ROW("closed_day", "updated_at",          Y, Y, Y, Y, Y),

	ROW("working_hours", "id",               M, M, M, M, M),
	ROW("working_hours", "org_id",           N, N, N, N, N),
	ROW("working_hours", "staff_id",         Y, Y, Y, Y, N),
	ROW("working_hours", "location_id",      Y, Y, Y, Y, N),
	ROW("working_hours", "weekday",          Y, Y, Y, Y, N),
	ROW("working_hours", "intervals",        Y, Y, Y, Y, N),
	ROW("working_hours", "version",          M, M, M, M, M),
	ROW("working_hours", "updated_at",       Y, Y, Y, Y, N),

	ROW("time_off", "id",                    M, M, M, M, M),
	ROW("time_off", "org_id",                N, N, N, N, N),
	ROW("time_off", "staff_id",              Y, Y, Y, Y, N),
	ROW("time_off", "from_at",               Y, Y, Y, Y, N),
	ROW("time_off", "to_at",                 Y, Y, Y, Y, N),
	ROW("time_off", "reason",                Y, Y, N, Y, N),
	ROW("time_off", "version",               M, M, M, M, M),
	ROW("time_off", "updated_at",            Y, Y, Y, Y, N),

	ROW("client", "id",                      M, M, M, M, M),
	ROW("client", "org_id",                  N, N, N, N, N),
	ROW("client", "name",                    Y, Y, Y, Y, Y),
	ROW("client", "email",                   Y, Y, Y, N, Y),
	ROW("client", "phone",                   Y, Y, Y, N, Y),
	ROW("client", "birthday",                Y, Y, Y, N, Y),
	ROW("client", "address",                 Y, Y, Y, N, Y),
	/* the language messages to the client are written in (messages.c) */
	ROW("client", "language",                Y, Y, Y, N, Y),
	ALERT("client", "allergies",             Y, Y, A, Y, Y, "allergy_alert"),
	ROW("client", "conditions",              Y, Y, N, Y, Y),
	ROW("client", "medications",             Y, Y, N, Y, Y),
	ROW("client", "skin_hair_type",          Y, Y, N, Y, Y),
	ROW("client", "patch_tests",             Y, Y, N, Y, Y),
	ROW("client", "preferences",             Y, Y, Y, Y, Y),
	ROW("client", "internal_notes",          Y, Y, Y, Y, N),
	ROW("client", "portal_enabled",          Y, Y, Y, N, N),
	ROW("client", "password_hash",           N, N, N, N, N),
	ROW("client", "version",                 M, M, M, M, M),
	ROW("client", "updated_at",              Y, Y, Y, Y, Y),
	INTERNAL("client", "email_hash"),

	ROW("appointment", "id",                 M, M, M, M, M),
	ROW("appointment", "org_id",             N, N, N, N, N),
	ROW("appointment", "location_id",        Y, Y, Y, Y, Y),
	ROW("appointment", "client_id",          Y, Y, Y, Y, Y),
	ROW("appointment", "specialist_id",      Y, Y, Y, Y, Y),
	ROW("appointment", "start_at",           Y, Y, Y, Y, Y),
	ROW("appointment", "duration_min",       Y, Y, Y, Y, Y),
	ROW("appointment", "services",           Y, Y, Y, Y, Y),
	ROW("appointment", "status",             Y, Y, Y, Y, Y),
	ROW("appointment", "client_note",        Y, Y, Y, Y, Y),
	ROW("appointment", "internal_note",      Y, Y, Y, Y, N),
	ROW("appointment", "version",            M, M, M, M, M),
	ROW("appointment", "updated_at",         Y, Y, Y, Y, Y),
	/* the names the row was written with (set by the server, never by a
	 * device): the client's history reads after the specialist left the
	 * branch or the service the menu, when those rows are out of their sight */
	ROW("appointment", "specialist_name",    Y, Y, Y, Y, Y),
	ROW("appointment", "service_names",      Y, Y, Y, Y, Y),
	/* why it was cancelled or a no-show: the salon's note, often about the
	 * client, so not the client's to read */
	ROW("appointment", "status_reason",      Y, Y, Y, Y, N),

	ROW("visit", "id",                       M, M, M, M, M),
	ROW("visit", "org_id",                   N, N, N, N, N),
	ROW("visit", "location_id",              Y, Y, Y, Y, Y),
	ROW("visit", "client_id",                Y, Y, Y, Y, Y),
	ROW("visit", "specialist_id",            Y, Y, Y, Y, Y),
	ROW("visit", "appointment_id",           Y, Y, Y, Y, Y),
	ROW("visit", "visit_date",               Y, Y, Y, Y, Y),
	ROW("visit", "services",                 Y, Y, Y, Y, Y),
	ROW("visit", "products_formulas",        Y, Y, N, Y, N),
	ROW("visit", "treatment_notes",          Y, Y, N, Y, N),
	ROW("visit", "photos",                   Y, Y, N, Y, N),
	ROW("visit", "version",                  M, M, M, M, M),
	ROW("visit", "updated_at",               Y, Y, Y, Y, Y),
	ROW("visit", "specialist_name",          Y, Y, Y, Y, Y),
	ROW("visit", "service_names",            Y, Y, Y, Y, Y),

	/* consent: the salon must know what it may send or do (marketing, photos,
	 * health data), so owner, manager and reception see every consent of the
	 * clients known at their locations. A specialist sees only the photo_use
	 * and health_data rows (row rule in policy_row_visible): what they need
	 * before they photograph or treat, not the client's marketing choices.
	 * The client sees their own history, without the staff id that recorded it
	 * (recorded_kind says whether it was them or the salon). */
	ROW("consent", "id",                     M, M, M, M, M),
	ROW("consent", "org_id",                 N, N, N, N, N),
	ROW("consent", "client_id",              Y, Y, Y, Y, Y),
	ROW("consent", "purpose",                Y, Y, Y, Y, Y),
	ROW("consent", "granted",                Y, Y, Y, Y, Y),
	ROW("consent", "at",                     Y, Y, Y, Y, Y),
	ROW("consent", "source",                 Y, Y, Y, Y, Y),
	ROW("consent", "text_version",           Y, Y, Y, Y, Y),
	ROW("consent", "recorded_by",            Y, Y, Y, Y, N),
	ROW("consent", "recorded_kind",          Y, Y, Y, Y, Y),
	ROW("consent", "version",                M, M, M, M, M),
	ROW("consent", "updated_at",             Y, Y, Y, Y, Y),

	/* review: a client's rating of their visit. Staff of the branch get it
	 * on their devices (specialists too: it is about their work); the
	 * client reads their own with the salon's reply and who wrote it (by
	 * name: reply_name; the staff id is the salon's). Whether the salon
	 * highlighted or hid it from the public feed is the salon's business. */
	ROW("review", "id",                      M, M, M, M, M),
	ROW("review", "org_id",                  N, N, N, N, N),
	ROW("review", "location_id",             Y, Y, Y, Y, Y),
	ROW("review", "client_id",               Y, Y, Y, Y, Y),
	ROW("review", "visit_id",                Y, Y, Y, Y, Y),
	ROW("review", "specialist_id",           Y, Y, Y, Y, Y),
	ROW("review", "stars",                   Y, Y, Y, Y, Y),
	ROW("review", "text",                    Y, Y, Y, Y, Y),
	ROW("review", "public_ok",               Y, Y, Y, Y, Y),
	ROW("review", "reply",                   Y, Y, Y, Y, Y),
	ROW("review", "reply_by",                Y, Y, Y, Y, N),
	ROW("review", "reply_name",              Y, Y, Y, Y, Y),
	ROW("review", "replied_at",              Y, Y, Y, Y, Y),
	ROW("review", "highlighted",             Y, Y, Y, Y, N),
	ROW("review", "hidden",                  Y, Y, Y, Y, N),
	ROW("review", "created_at",              Y, Y, Y, Y, Y),
	ROW("review", "version",                 M, M, M, M, M),
	ROW("review", "updated_at",              Y, Y, Y, Y, Y),

	/* server-internal tables: never synced, listed so that a new column is a
	 * conscious decision */
	INTERNAL("meta", "key"), INTERNAL("meta", "value"),
	INTERNAL("staff_location", "staff_id"), INTERNAL("staff_location", "location_id"),
	INTERNAL("client_location", "client_id"), INTERNAL("client_location", "location_id"),
	INTERNAL("changelog", "seq"), INTERNAL("changelog", "org_id"), INTERNAL("changelog", "tbl"),
	INTERNAL("changelog", "row_id"), INTERNAL("changelog", "op"), INTERNAL("changelog", "loc_old"),
	INTERNAL("changelog", "loc_new"), INTERNAL("changelog", "client_old"),
	INTERNAL("changelog", "client_new"), INTERNAL("changelog", "at"),
	INTERNAL("auth_session", "token_hash"), INTERNAL("auth_session", "kind"),
	INTERNAL("auth_session", "principal_id"), INTERNAL("auth_session", "device_id"),
	INTERNAL("auth_session", "created_at"), INTERNAL("auth_session", "expires_at"),
	INTERNAL("auth_session", "revoked"),
	INTERNAL("device", "id"), INTERNAL("device", "kind"), INTERNAL("device", "principal_id"),
	INTERNAL("device", "app"), INTERNAL("device", "first_seen"), INTERNAL("device", "last_seen"),
	INTERNAL("device", "last_ack_seq"), INTERNAL("device", "revoked"),
	INTERNAL("device", "lost_at"), INTERNAL("device", "lost_by"), INTERNAL("device", "released_at"),
	INTERNAL("rights_gen", "id"), INTERNAL("rights_gen", "gen"),
	INTERNAL("revocation", "seq"), INTERNAL("revocation", "kind"), INTERNAL("revocation", "target"),
	INTERNAL("revocation", "at"),
	INTERNAL("audit", "seq"), INTERNAL("audit", "org_id"), INTERNAL("audit", "actor_kind"),
	INTERNAL("audit", "actor_id"), INTERNAL("audit", "device_id"), INTERNAL("audit", "action"),
	INTERNAL("audit", "entity"), INTERNAL("audit", "entity_id"), INTERNAL("audit", "client_id"),
	INTERNAL("audit", "location_id"), INTERNAL("audit", "fields"), INTERNAL("audit", "before"),
	INTERNAL("audit", "after"), INTERNAL("audit", "device_time"), INTERNAL("audit", "server_time"),
	INTERNAL("audit", "prev_hash"), INTERNAL("audit", "hash"),
	/* which field changed at which version, by which device (store_write.c) */
	INTERNAL("organisation", "field_versions"), INTERNAL("location", "field_versions"),
	INTERNAL("staff", "field_versions"), INTERNAL("service", "field_versions"),
	INTERNAL("client", "field_versions"), INTERNAL("appointment", "field_versions"),
	INTERNAL("visit", "field_versions"), INTERNAL("opening_hours", "field_versions"),
	INTERNAL("closed_day", "field_versions"), INTERNAL("working_hours", "field_versions"),
	INTERNAL("time_off", "field_versions"), INTERNAL("review", "field_versions"),
	INTERNAL("mutation", "principal_id"), INTERNAL("mutation", "device_id"), INTERNAL("mutation", "mid"),
	INTERNAL("mutation", "result"), INTERNAL("mutation", "at"),
	INTERNAL("mutation_pruned", "principal_id"), INTERNAL("mutation_pruned", "device_id"),
	INTERNAL("mutation_pruned", "max_mid"), INTERNAL("mutation_pruned", "at"),
	INTERNAL("outbox_tally", "org_id"), INTERNAL("outbox_tally", "location_id"),
	INTERNAL("outbox_tally", "hour"), INTERNAL("outbox_tally", "purpose"), INTERNAL("outbox_tally", "channel"),
	INTERNAL("outbox_tally", "state"), INTERNAL("outbox_tally", "n"),
	/* erasures and their purge receipts (erasure.c) */
	INTERNAL("erasure", "id"), INTERNAL("erasure", "client_id"), INTERNAL("erasure", "org_id"),
	INTERNAL("erasure", "status"), INTERNAL("erasure", "requested_at"), INTERNAL("erasure", "requested_by"),
	INTERNAL("erasure", "confirmed_by"), INTERNAL("erasure", "done_at"), INTERNAL("erasure", "seq"),
	INTERNAL("erasure_device", "erasure_id"), INTERNAL("erasure_device", "device_id"),
	INTERNAL("erasure_device", "kind"), INTERNAL("erasure_device", "principal_id"),
	INTERNAL("erasure_device", "role"), INTERNAL("erasure_device", "seq"),
	INTERNAL("erasure_device", "purged_at"),
	INTERNAL("erasure_placeholder", "org_id"), INTERNAL("erasure_placeholder", "client_id"),
	/* portal accounts and the outbox */
	INTERNAL("setup_token", "token_hash"), INTERNAL("setup_token", "client_id"),
	INTERNAL("setup_token", "org_id"), INTERNAL("setup_token", "created_at"),
	INTERNAL("setup_token", "expires_at"), INTERNAL("setup_token", "used_at"),
	INTERNAL("setup_token", "replaced_at"), INTERNAL("setup_token", "purpose"),
	/* a client's e-mail changes: the hold and the suspension (portal.c) */
	INTERNAL("email_change", "client_id"), INTERNAL("email_change", "org_id"),
	INTERNAL("email_change", "changed_at"), INTERNAL("email_change", "old_email_hash"),
	INTERNAL("email_change", "suspended"), INTERNAL("email_change", "confirm_queued_at"),
	INTERNAL("email_change", "confirmed_at"),
	INTERNAL("outbox", "id"), INTERNAL("outbox", "org_id"), INTERNAL("outbox", "client_id"),
	INTERNAL("outbox", "purpose"), INTERNAL("outbox", "to_addr"), INTERNAL("outbox", "subject"),
	INTERNAL("outbox", "body"), INTERNAL("outbox", "state"), INTERNAL("outbox", "attempts"),
	INTERNAL("outbox", "next_at"), INTERNAL("outbox", "created_at"), INTERNAL("outbox", "sent_at"),
	INTERNAL("outbox", "last_error"), INTERNAL("outbox", "channel"), INTERNAL("outbox", "idem_key"),
	INTERNAL("outbox", "appointment_id"), INTERNAL("outbox", "visit_id"), INTERNAL("outbox", "location_id"),
	INTERNAL("outbox", "consent_purpose"), INTERNAL("outbox", "extra_headers"),
	INTERNAL("outbox", "drop_reason"), INTERNAL("outbox", "claimed_by"), INTERNAL("outbox", "claimed_at"),
	/* messages: the planner's settings and an organisation's own wording
	 * (read and written through manage ops and admin commands, never synced),
	 * and one-purpose links (links.c) */
	INTERNAL("message_settings", "org_id"), INTERNAL("message_settings", "reminder1_min"),
	INTERNAL("message_settings", "reminder2_min"), INTERNAL("message_settings", "review_request_days"),
	INTERNAL("message_settings", "review_request_marketing"), INTERNAL("message_settings", "birthday"),
	INTERNAL("message_settings", "quiet_from"), INTERNAL("message_settings", "quiet_to"),
	INTERNAL("message_settings", "daily_cap"), INTERNAL("message_settings", "csat_every_days"),
	INTERNAL("message_settings", "nps_every_days"), INTERNAL("message_settings", "ces_every_days"),
	INTERNAL("message_settings", "survey_delay_min"), INTERNAL("message_settings", "updated_at"),
	INTERNAL("message_template", "org_id"), INTERNAL("message_template", "kind"),
	INTERNAL("message_template", "lang"), INTERNAL("message_template", "channel"),
	INTERNAL("message_template", "subject"), INTERNAL("message_template", "body"),
	INTERNAL("message_template", "updated_at"),
	INTERNAL("link_token", "token_hash"), INTERNAL("link_token", "kind"), INTERNAL("link_token", "org_id"),
	INTERNAL("link_token", "client_id"), INTERNAL("link_token", "target_id"),
	INTERNAL("link_token", "created_at"), INTERNAL("link_token", "expires_at"),
	INTERNAL("link_token", "used_at"),
	/* survey answers (CSAT, NPS, CES) feed statistics (stats.c) and the
	 * client's export; review_anon: an erased client's stars, without
	 * the client (feedback.c) */
	INTERNAL("survey_answer", "id"), INTERNAL("survey_answer", "org_id"),
	INTERNAL("survey_answer", "location_id"), INTERNAL("survey_answer", "client_id"),
	INTERNAL("survey_answer", "visit_id"), INTERNAL("survey_answer", "specialist_id"),
	INTERNAL("survey_answer", "services"), INTERNAL("survey_answer", "kind"),
	INTERNAL("survey_answer", "score"), INTERNAL("survey_answer", "created_at"),
	INTERNAL("review_anon", "org_id"), INTERNAL("review_anon", "location_id"),
	INTERNAL("review_anon", "specialist_id"), INTERNAL("review_anon", "services"),
	INTERNAL("review_anon", "stars"), INTERNAL("review_anon", "created_at"),
};
const int kt_policy_count = sizeof kt_policy / sizeof kt_policy[0];

#undef Y
#undef N
#undef A
#undef M

/* Writes, by column group. A column missing here cannot be written by any
 * device (deny by default); bookkeeping columns (id, org_id, version,
 * updated_at), the names the server keeps on appointments and visits
 * (specialist_name, service_names) and a staff row's location_ids (set
 * from staff_location, see kt_col_server_set) never can. */
#define O (1u << KT_ROLE_OWNER)
#define MG (1u << KT_ROLE_MANAGER)
#define RC (1u << KT_ROLE_RECEPTION)
#define SP (1u << KT_ROLE_SPECIALIST)
#define CL (1u << KT_ROLE_CLIENT)
static const struct {
	const char *table, *columns;
	unsigned roles;
} write_rules[] = {
	{"client", "name,email,phone,birthday,address,preferences,language", O | MG | RC},
	{"client", "allergies,conditions,medications,skin_hair_type,patch_tests,internal_notes", O | MG | SP},
	{"appointment",
	 "location_id,client_id,specialist_id,start_at,duration_min,services,status,client_note,internal_note",
	 O | MG | RC},
	/* a specialist says why their client did not come (not the status itself) */
	{"appointment", "status_reason", O | MG | RC | SP},
	{"visit",
	 "location_id,client_id,specialist_id,appointment_id,visit_date,services,products_formulas,"
	 "treatment_notes,photos",
	 O | MG | SP},
	{"service", "location_id,name,duration_min,price_cents,location_ids,specialist_ids,buffer_min", O | MG},
	{"opening_hours", "location_id,weekday,intervals", O | MG},
	{"closed_day", "location_id,day,reason", O | MG},
	{"working_hours", "staff_id,location_id,weekday,intervals", O | MG},
	{"time_off", "staff_id,from_at,to_at,reason", O | MG},
	{"location", "name,address,phone,time_zone", O | MG},
	{"location", "closed_at", O},
	{"staff", "display_name,phone", O | MG},
	/* create only (append-only); recorded_by/recorded_kind are set by the
	 * server. Row rules in consent.c: a client only for themselves with source
	 * portal, staff never portal, specialists only photo_use and health_data. */
	{"consent", "client_id,purpose,granted,at,source,text_version", O | MG | RC | SP | CL},
	/* a client rates their own visit (once; editable for 7 days) and the
	 * salon's owners and managers answer, highlight or hide it; the rest
	 * the server fills in (feedback.c) */
	{"review", "visit_id,stars,text,public_ok", CL},
	{"review", "reply,highlighted,hidden", O | MG},
};
/* Who may create rows of a table (besides writing its columns): a new
 * branch is the owner's; staff are added with the admin command. */
static const struct {
	const char *table;
	unsigned roles;
} create_rules[] = {
	{"client", O | MG | RC},  {"appointment", O | MG | RC}, {"visit", O | MG | SP},
	{"service", O | MG},      {"location", O},              {"consent", O | MG | RC | SP | CL},
	{"opening_hours", O | MG}, {"closed_day", O | MG},      {"working_hours", O | MG},
	{"time_off", O | MG},     {"review", CL},
};

/* Columns that name other rows: a write may only name rows the writer may
 * see (policy_row_visible), or a device could pull a card from another
 * branch to its own by naming it. */
static const struct {
	const char *table, *column, *target;
} ref_rules[] = {
	{"appointment", "location_id", "location"}, {"appointment", "client_id", "client"},
	{"appointment", "specialist_id", "staff"},  {"appointment", "services", "service"},
	{"visit", "location_id", "location"},       {"visit", "client_id", "client"},
	{"visit", "specialist_id", "staff"},        {"visit", "appointment_id", "appointment"},
	{"visit", "services", "service"},           {"service", "location_id", "location"},
	{"consent", "client_id", "client"},
	{"service", "location_ids", "location"},    {"service", "specialist_ids", "staff"},
	{"opening_hours", "location_id", "location"}, {"closed_day", "location_id", "location"},
	{"working_hours", "location_id", "location"}, {"working_hours", "staff_id", "staff"},
	{"time_off", "staff_id", "staff"},
	{"review", "visit_id", "visit"},
};
#undef O
#undef MG
#undef RC
#undef SP
#undef CL

static bool in_list(const char *list, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = list; p && *p;) {
		const char *c = strchr(p, ',');
		size_t len = c ? (size_t)(c - p) : strlen(p);
		if (len == n && memcmp(p, name, n) == 0)
			return true;
		p = c ? c + 1 : NULL;
	}
	return false;
}

bool policy_write(int role, const kt_table *t, int col)
{
	if (role < 0 || role >= KT_ROLE_COUNT || col < 0 || col >= t->ncols)
		return false;
	for (size_t i = 0; i < sizeof write_rules / sizeof write_rules[0]; i++)
		if ((write_rules[i].roles & (1u << role)) && strcmp(write_rules[i].table, t->name) == 0 &&
		    in_list(write_rules[i].columns, t->cols[col].name))
			return true;
	return false;
}

bool policy_create(int role, const kt_table *t)
{
	for (size_t i = 0; i < sizeof create_rules / sizeof create_rules[0]; i++)
		if (strcmp(create_rules[i].table, t->name) == 0)
			return role >= 0 && role < KT_ROLE_COUNT && (create_rules[i].roles & (1u << role));
	return false;
}

const kt_table *policy_ref_target(const kt_table *t, int col)
{
	if (col < 0 || col >= t->ncols)
		return NULL;
	for (size_t i = 0; i < sizeof ref_rules / sizeof ref_rules[0]; i++)
		if (strcmp(ref_rules[i].table, t->name) == 0 && strcmp(ref_rules[i].column, t->cols[col].name) == 0)
			return kt_table_find(ref_rules[i].target, strlen(ref_rules[i].target));
	return NULL;
}

/* Every element of the comma list a is in b; never for an empty a nor for
 * "*" (every location, present and future). */
static bool locset_within(const char *a, const char *b)
{
	char id[KT_UUID_LEN + 1];
	if (!a || !*a || strcmp(a, "*") == 0)
		return false;
	for (const char *q = a; q;) {
		const char *c = strchr(q, ',');
		size_t n = c ? (size_t)(c - q) : strlen(q);
		if (n == 0 || n > KT_UUID_LEN)
			return false;
		memcpy(id, q, n);
		id[n] = 0;
		if (!kt_locset_has(b, id))
			return false;
		q = c ? c + 1 : NULL;
	}
	return true;
}

bool policy_write_scope(const kt_principal *p, const kt_table *t, const char *locs)
{
	if (!p->active)
		return false;
	if (p->role == KT_ROLE_OWNER && !p->is_client)
		return true;
	switch (t->route) {
	case KT_ROUTE_CLIENT_LOCS: /* a card is shared by the branches that know it */
	case KT_ROUTE_VIA_CLIENT:  /* consents: whose and which, in consent.c */
		return kt_locset_meets(locs, p->locs);
	case KT_ROUTE_ORG:
		return false;
	default:
		return locset_within(locs, p->locs);
	}
}

/* Actions that are not row edits: the scope each role has. Cells in the
 * order owner, manager, reception, specialist, client (self). A missing
 * cell is "may not". Device actions also cover one's own devices
 * (revoke_may_device), since signing oneself out needs no rights. */
#define NO KT_SCOPE_NONE
#define ORG KT_SCOPE_ORG
#define KNOWN KT_SCOPE_KNOWN
#define WITHIN KT_SCOPE_WITHIN
#define TEAM KT_SCOPE_TEAM
#define SELF KT_SCOPE_SELF
static const struct {
	kt_action action;
	const char *name; /* the call, as README and PROTOCOL.md name it */
	unsigned char scope[KT_ROLE_COUNT];
	const char *note;
} action_rules[] = {
	{KT_ACT_LIST_DEVICES, "manage list_devices", {ORG, TEAM, NO, NO, NO},
	 "also which device ids an export or the audit log shows"},
	{KT_ACT_SIGN_OUT_DEVICE, "manage sign_out_device", {ORG, TEAM, NO, NO, NO}, ""},
	{KT_ACT_REVOKE_DEVICE, "manage revoke_device", {ORG, TEAM, NO, NO, NO}, ""},
	{KT_ACT_MARK_DEVICE_LOST, "manage mark_device_lost", {ORG, NO, NO, NO, NO}, ""},
	{KT_ACT_DEACTIVATE_STAFF, "manage deactivate_staff", {ORG, TEAM, NO, NO, NO}, "never oneself"},
	{KT_ACT_EXPORT_CLIENT, "privacy export", {ORG, KNOWN, NO, NO, SELF}, ""},
	{KT_ACT_REQUEST_ERASURE, "privacy erasure_request; erasure_status of one's own request", {NO, NO, NO, NO, SELF},
	 "state and dates only"},
	{KT_ACT_ERASE_CLIENT, "privacy erase", {ORG, NO, NO, NO, NO}, ""},
	{KT_ACT_SEE_ERASURES, "privacy erasure_pending, erasure_status", {ORG, NO, NO, NO, NO}, ""},
	{KT_ACT_RECORD_CONSENT, "record a consent: marketing_email, marketing_sms, birthday_greetings, review_requests",
	 {ORG, KNOWN, KNOWN, NO, SELF}, "see Consent for the sources"},
	{KT_ACT_RECORD_CARE_CONSENT, "record a consent: photo_use, health_data", {ORG, KNOWN, KNOWN, KNOWN, SELF},
	 "see Consent for the sources"},
	{KT_ACT_QUERY_AUDIT, "audit_query", {ORG, KNOWN, NO, NO, NO},
	 "known: entries at their locations or about clients known there"},
	{KT_ACT_PORTAL_INVITE, "portal_invite", {ORG, KNOWN, KNOWN, NO, NO}, ""},
	/* reception's own edit of an address plus reception's invite must not
	 * hand over an account: during the hold it is a manager's call */
	{KT_ACT_INVITE_HELD_EMAIL, "portal_invite to an address changed within the e-mail hold",
	 {ORG, KNOWN, NO, NO, NO}, ""},
	{KT_ACT_OVERRIDE_BOOKING, "push: override a booking rule (overlap, hours, time off, services, buffer)",
	 {ORG, WITHIN, WITHIN, NO, NO},
	 "on an appointment they may write"},
	{KT_ACT_MANAGE_LOCATION, "manage create_location, edit_location, close_location", {ORG, NO, NO, NO, NO},
	 ""},
	{KT_ACT_INVITE_STAFF, "manage invite_staff", {ORG, TEAM, NO, NO, NO},
	 "team: reception or specialists for their own locations"},
	{KT_ACT_RESET_STAFF_PASSWORD, "manage reset_staff_password", {ORG, TEAM, NO, NO, NO},
	 "a link mailed to the person; old sessions end when it is used"},
	{KT_ACT_SET_STAFF_ROLE, "manage set_staff_role", {ORG, TEAM, NO, NO, NO},
	 "team: to reception or specialist only; never one's own role"},
	{KT_ACT_SET_STAFF_LOCATIONS, "manage set_staff_locations", {ORG, TEAM, NO, NO, NO},
	 "team: only their own locations given"},
	{KT_ACT_MERGE_CLIENTS, "manage merge_clients", {ORG, KNOWN, NO, NO, NO}, "both cards"},
	{KT_ACT_FIND_CLIENTS, "manage find_clients", {ORG, KNOWN, KNOWN, NO, NO},
	 "by name, phone or e-mail; names and ids of cards they may see"},
	{KT_ACT_SET_PRIVACY_NOTICE, "manage set_privacy_notice", {ORG, NO, NO, NO, NO},
	 "the organisation's privacy notice, which clients read"},
	{KT_ACT_SEE_STATS, "manage stats (ratings, CSAT, NPS, CES)", {ORG, WITHIN, NO, NO, NO},
	 "within: the figures of their locations"},
	{KT_ACT_ANSWER_REVIEW, "manage reviews, review_reply, review_set", {ORG, WITHIN, NO, NO, NO},
	 "within: reviews of visits at their locations (devices: push update of reply, highlighted, hidden)"},
	{KT_ACT_CLIENT_MESSAGES, "manage messages", {ORG, KNOWN, KNOWN, NO, NO},
	 "kinds, channels, states and times; never addresses or texts"},
	{KT_ACT_UNCONFIRMED, "manage unconfirmed", {ORG, WITHIN, WITHIN, NO, NO},
	 "a branch's booked, unconfirmed appointments of a day, with the client's phone"},
	{KT_ACT_MESSAGE_COUNTS, "manage message_counts", {ORG, WITHIN, NO, NO, NO},
	 "within: one of their branches"},
	{KT_ACT_READ_MESSAGE_SETTINGS, "manage message_settings (read), templates, message_preview",
	 {ORG, ORG, NO, NO, NO}, ""},
	{KT_ACT_SET_MESSAGE_SETTINGS, "manage message_settings (change), set_template", {ORG, NO, NO, NO, NO}, ""},
	{KT_ACT_CAMPAIGN, "manage campaign", {ORG, NO, NO, NO, NO},
	 "only to clients whose consent for the channel is granted"},
};
#undef NO
#undef ORG
#undef KNOWN
#undef WITHIN
#undef TEAM
#undef SELF

static const char *const scope_names[] = {"–", "all", "known", "within", "team", "self"};

const char *policy_action_name(kt_action a)
{
	for (size_t i = 0; i < sizeof action_rules / sizeof action_rules[0]; i++)
		if (action_rules[i].action == a)
			return action_rules[i].name;
	return "none";
}

kt_scope policy_scope(const kt_principal *p, kt_action a)
{
	int role = p->is_client ? KT_ROLE_CLIENT : p->role;
	if (!p->active || role < 0 || role >= KT_ROLE_COUNT)
		return KT_SCOPE_NONE;
	for (size_t i = 0; i < sizeof action_rules / sizeof action_rules[0]; i++)
		if (action_rules[i].action == a)
			return (kt_scope)action_rules[i].scope[role];
	return KT_SCOPE_NONE; /* deny by default */
}

bool policy_may(const kt_principal *p, kt_action a)
{
	return policy_scope(p, a) != KT_SCOPE_NONE;
}

bool policy_may_on(const kt_principal *p, kt_action a, const kt_target *t)
{
	switch (policy_scope(p, a)) {
	case KT_SCOPE_ORG:
		return true;
	case KT_SCOPE_KNOWN:
		return kt_locset_meets(t->locs, p->locs);
	case KT_SCOPE_WITHIN:
		return locset_within(t->locs, p->locs);
	case KT_SCOPE_TEAM:
		return (t->role == KT_ROLE_RECEPTION || t->role == KT_ROLE_SPECIALIST) &&
		       locset_within(t->locs, p->locs);
	case KT_SCOPE_SELF:
		return t->id && strcmp(t->id, p->id) == 0;
	case KT_SCOPE_NONE:
		break;
	}
	return false;
}

kt_action policy_consent_action(const char *purpose)
{
	return policy_specialist_purpose(purpose) ? KT_ACT_RECORD_CARE_CONSENT : KT_ACT_RECORD_CONSENT;
}

const kt_policy_entry *policy_entry(const char *table, const char *column)
{
	for (int i = 0; i < kt_policy_count; i++)
		if (strcmp(kt_policy[i].table, table) == 0 && strcmp(kt_policy[i].column, column) == 0)
			return &kt_policy[i];
	return NULL;
}

/* Column access is looked up once per (table, column) and cached: the send
 * path calls this for every field of every row. */
static unsigned char access_cache[16][32][KT_ROLE_COUNT];
/* the loop, the writer and the workers may each be first to read the policy */
static pthread_once_t access_once = PTHREAD_ONCE_INIT;

static void access_init(void)
{
	for (int t = 0; t < kt_table_count && t < 16; t++)
		for (int c = 0; c < kt_tables[t].ncols && c < 32; c++) {
			const kt_policy_entry *e = policy_entry(kt_tables[t].name, kt_tables[t].cols[c].name);
			for (int r = 0; r < KT_ROLE_COUNT; r++)
				access_cache[t][c][r] = e ? e->read[r] : KT_P_NO;
		}
}

kt_access policy_read(int role, const kt_table *t, int col)
{
	int ti = (int)(t - kt_tables);
	if (role < 0 || role >= KT_ROLE_COUNT || ti < 0 || ti >= kt_table_count || col < 0 || col >= 32)
		return KT_P_NO;
	pthread_once(&access_once, access_init);
	return (kt_access)access_cache[ti][col][role];
}

static const char *row_text(const kt_row *row, const char *col)
{
	int i = kt_col_index(row->t, col);
	if (i < 0 || row->v[i].null)
		return NULL;
	return row->v[i].s;
}

/* A specialist's working hours and time off are their own business: of
 * those tables a specialist sees only their own rows (with no row, only the
 * routing: maybe). */
static bool own_rows_only(const kt_principal *p, const kt_table *t, const kt_row *row)
{
	const char *staff;
	if (p->role != KT_ROLE_SPECIALIST || !row ||
	    (strcmp(t->name, "working_hours") != 0 && strcmp(t->name, "time_off") != 0))
		return true;
	staff = row_text(row, "staff_id");
	return staff && strcmp(staff, p->id) == 0;
}

bool policy_row_visible(const kt_principal *p, const kt_table *t, const char *locs,
			const char *client, const kt_row *row)
{
	bool is_client = p->role == KT_ROLE_CLIENT;

	if (!p->active)
		return false;
	if (row && strcmp(row->org, p->org) != 0)
		return false;
	if (p->role == KT_ROLE_OWNER)
		return true; /* every location of the organisation (the org is checked by callers) */
	switch (t->route) {
	case KT_ROUTE_ORG:
		return true; /* org checked above; routing-only callers pass the org's own entries */
	case KT_ROUTE_SELF_LOC:
		return kt_locset_meets(locs, p->locs);
	case KT_ROUTE_LOC_OPT:
		/* the service menu: every staff member sees all of it; a client only
		 * what their branches offer */
		return is_client ? kt_locset_meets(locs, p->locs) : true;
	case KT_ROUTE_STAFF_LOCS:
		/* an owner's row ("*": every location) is the owners' alone, in
		 * snapshots and streams alike: it is at no branch of anyone else's */
		if (locs && strcmp(locs, "*") == 0)
			return false;
		if (is_client && row) {
			const char *role = row_text(row, "role");
			int ai = kt_col_index(t, "active");
			if (!role || strcmp(role, "specialist") != 0 || row->v[ai].i == 0)
				return false;
		}
		return kt_locset_meets(locs, p->locs);
	case KT_ROUTE_CLIENT_LOCS:
		if (is_client)
			return client && strcmp(client, p->id) == 0;
		return kt_locset_meets(locs, p->locs);
	case KT_ROUTE_LOC_COL:
		if (is_client)
			return client && strcmp(client, p->id) == 0;
		return kt_locset_meets(locs, p->locs);
	case KT_ROUTE_VIA_CLIENT:
		if (is_client)
			return client && strcmp(client, p->id) == 0;
		if (p->role == KT_ROLE_SPECIALIST && row && !policy_specialist_purpose(row_text(row, "purpose")))
			return false;
		return kt_locset_meets(locs, p->locs);
	case KT_ROUTE_LOC_ROW:
		if (is_client && strcmp(t->name, "working_hours") == 0)
			return false; /* clients see when the branch is open, not who works when */
		if (!own_rows_only(p, t, row))
			return false;
		return kt_locset_meets(locs, p->locs);
	case KT_ROUTE_VIA_STAFF:
		if (is_client || (locs && strcmp(locs, "*") == 0)) /* an owner's time off is the owners' */
			return false;
		if (!own_rows_only(p, t, row))
			return false;
		return kt_locset_meets(locs, p->locs);
	}
	return false;
}

bool policy_specialist_purpose(const char *purpose)
{
	return purpose && (strcmp(purpose, "photo_use") == 0 || strcmp(purpose, "health_data") == 0);
}

/* Snapshot conditions mirror policy_row_visible in SQL. ?1 = principal id,
 * ?2 = organisation. They are kept next to the in-memory rule on purpose. */
#define MY_LOCS "(SELECT location_id FROM staff_location WHERE staff_id = ?1)"
#define CLIENT_LOCS "(SELECT location_id FROM client_location WHERE client_id = ?1)"

const char *policy_snapshot_where(const kt_principal *p, const kt_table *t)
{
	bool owner = p->role == KT_ROLE_OWNER, client = p->role == KT_ROLE_CLIENT;
	const char *n = t->name;

	if (!p->active)
		return "0";
	if (strcmp(n, "organisation") == 0)
		return "id = ?2 AND ?1 IS NOT NULL";
	if (owner)
		return "org_id = ?2 AND ?1 IS NOT NULL";
	if (strcmp(n, "location") == 0)
		return client ? "org_id = ?2 AND id IN " CLIENT_LOCS : "org_id = ?2 AND id IN " MY_LOCS;
	if (strcmp(n, "staff") == 0)
		return client ? "org_id = ?2 AND role = 'specialist' AND active = 1 AND EXISTS (SELECT 1 "
				"FROM staff_location sl WHERE sl.staff_id = staff.id AND sl.location_id IN " CLIENT_LOCS ")"
			      : "org_id = ?2 AND role <> 'owner' AND EXISTS (SELECT 1 FROM staff_location sl WHERE "
				"sl.staff_id = staff.id AND sl.location_id IN " MY_LOCS ")";
	if (strcmp(n, "service") == 0)
		/* its locations: the list, else (a row from before the list) its one location, else all */
		return client ? "org_id = ?2 AND (coalesce(nullif(location_ids, ''), location_id) IS NULL OR EXISTS "
				"(SELECT 1 FROM client_location cl WHERE cl.client_id = ?1 AND instr(',' || "
				"coalesce(nullif(location_ids, ''), location_id) || ',', ',' || cl.location_id || ',') > 0))"
			      : "org_id = ?2 AND ?1 IS NOT NULL";
	if (strcmp(n, "opening_hours") == 0 || strcmp(n, "closed_day") == 0)
		return client ? "org_id = ?2 AND location_id IN " CLIENT_LOCS : "org_id = ?2 AND location_id IN " MY_LOCS;
	if (strcmp(n, "working_hours") == 0)
		return client ? "0"
		       : p->role == KT_ROLE_SPECIALIST ? "org_id = ?2 AND staff_id = ?1 AND location_id IN " MY_LOCS
						       : "org_id = ?2 AND location_id IN " MY_LOCS;
	if (strcmp(n, "time_off") == 0)
		return client ? "0"
		       : p->role == KT_ROLE_SPECIALIST
			       ? "org_id = ?2 AND staff_id = ?1 AND EXISTS (SELECT 1 FROM staff s WHERE s.id = "
				 "time_off.staff_id AND s.role <> 'owner') AND EXISTS (SELECT 1 FROM staff_location sl "
				 "WHERE sl.staff_id = time_off.staff_id AND sl.location_id IN " MY_LOCS ")"
			       : "org_id = ?2 AND EXISTS (SELECT 1 FROM staff s WHERE s.id = time_off.staff_id AND "
				 "s.role <> 'owner') AND EXISTS (SELECT 1 FROM staff_location sl WHERE sl.staff_id = "
				 "time_off.staff_id AND sl.location_id IN " MY_LOCS ")";
	if (strcmp(n, "client") == 0)
		return client ? "org_id = ?2 AND id = ?1"
			      : "org_id = ?2 AND EXISTS (SELECT 1 FROM client_location cl WHERE "
				"cl.client_id = client.id AND cl.location_id IN " MY_LOCS ")";
	if (strcmp(n, "appointment") == 0 || strcmp(n, "visit") == 0 || strcmp(n, "review") == 0)
		return client ? "org_id = ?2 AND client_id = ?1" : "org_id = ?2 AND location_id IN " MY_LOCS;
	if (strcmp(n, "consent") == 0)
		return client ? "org_id = ?2 AND client_id = ?1"
		       : p->role == KT_ROLE_SPECIALIST
			       ? "org_id = ?2 AND purpose IN ('photo_use', 'health_data') AND client_id IN (SELECT "
				 "client_id FROM client_location WHERE location_id IN " MY_LOCS ")"
			       : "org_id = ?2 AND client_id IN (SELECT client_id FROM client_location WHERE "
				 "location_id IN " MY_LOCS ")";
	return "0"; /* deny by default */
}

/* Rights diff: the snapshot condition of a staff member with the
 * locations taken from parameter ?param, a JSON array of location ids,
 * instead of from staff_location (which holds only the rights of now), so
 * that the rows of the old and of the new locations can be told apart.
 * NULL for a client (their locations come from client_location: no diff)
 * or when out of memory; the caller frees it. */
char *policy_locs_where(const kt_principal *p, const kt_table *t, int param)
{
	static const char my[] = MY_LOCS;
	const char *w = policy_snapshot_where(p, t), *q;
	char with[48], *out, *o;
	size_t n = 1;

	if (p->role == KT_ROLE_CLIENT || p->is_client)
		return NULL;
	snprintf(with, sizeof with, "(SELECT value FROM json_each(?%d))", param);
	for (q = w; (q = strstr(q, my)); q += sizeof my - 1)
		n++;
	if (!(out = malloc(strlen(w) + n * strlen(with) + 1)))
		return NULL;
	for (o = out, q = w;;) {
		const char *m = strstr(q, my);
		size_t len = m ? (size_t)(m - q) : strlen(q);
		memcpy(o, q, len);
		o += len;
		if (!m)
			break;
		memcpy(o, with, strlen(with));
		o += strlen(with);
		q = m + sizeof my - 1;
	}
	*o = 0;
	return out;
}

void policy_print_markdown(FILE *out)
{
	static const char *sym[] = {"–", "yes", "alert", "id"};
	fprintf(out, "| table | column | owner | manager | reception | specialist | client (self) |\n");
	fprintf(out, "|---|---|---|---|---|---|---|\n");
	for (int i = 0; i < kt_policy_count; i++) {
		const kt_policy_entry *e = &kt_policy[i];
		if (!kt_table_find(e->table, strlen(e->table)))
			continue; /* internal tables: listed after the matrix */
		fprintf(out, "| %s | %s |", e->table, e->column);
		for (int r = 0; r < KT_ROLE_COUNT; r++) {
			if (e->read[r] == KT_P_ALERT)
				fprintf(out, " %s only |", e->alert_name);
			else
				fprintf(out, " %s |", sym[e->read[r]]);
		}
		fputc('\n', out);
	}
	fprintf(out, "\nWrites (device pushes). The row, as it is and as the write leaves it, must also be "
		     "the writer's: the owner's, any row of the organisation; a client card, one known at one of "
		     "the writer's locations; any other row, one whose every location is the writer's (so never a "
		     "row of every location: a service of the whole menu, the owner's staff row):\n\n");
	fprintf(out, "| table | columns | written by |\n|---|---|---|\n");
	for (size_t i = 0; i < sizeof write_rules / sizeof write_rules[0]; i++) {
		fprintf(out, "| %s | %s |", write_rules[i].table, write_rules[i].columns);
		for (int r = 0, first = 1; r < KT_ROLE_COUNT; r++)
			if (write_rules[i].roles & (1u << r)) {
				fprintf(out, "%s%s", first ? " " : ", ", kt_role_name(r));
				first = 0;
			}
		fprintf(out, " |\n");
	}
	fprintf(out, "\nCreating a row (besides writing its columns):");
	for (size_t i = 0; i < sizeof create_rules / sizeof create_rules[0]; i++) {
		fprintf(out, "%s %s by", i ? ";" : "", create_rules[i].table);
		for (int r = 0, first = 1; r < KT_ROLE_COUNT; r++)
			if (create_rules[i].roles & (1u << r)) {
				fprintf(out, "%s%s", first ? " " : ", ", kt_role_name(r));
				first = 0;
			}
	}
	fprintf(out, "; staff by nobody (the admin command adds them).\n");
	fprintf(out, "\nColumns that name other rows must name rows the writer may see:");
	for (size_t i = 0; i < sizeof ref_rules / sizeof ref_rules[0]; i++)
		fprintf(out, "%s %s.%s → %s", i ? "," : "", ref_rules[i].table, ref_rules[i].column,
			ref_rules[i].target);
	fprintf(out, ".\n");
	fprintf(out, "\nActions (calls that are not row edits), and on what: all = anything of the organisation; "
		     "known = a client known at one of their locations; within = a row whose every location is "
		     "theirs; team = reception and specialists who work only at their locations, and those staff's "
		     "devices; self = themselves only. Device actions also cover one's own devices:\n\n");
	fprintf(out, "| action | owner | manager | reception | specialist | client (self) | notes |\n");
	fprintf(out, "|---|---|---|---|---|---|---|\n");
	for (size_t i = 0; i < sizeof action_rules / sizeof action_rules[0]; i++) {
		fprintf(out, "| %s |", action_rules[i].name);
		for (int r = 0; r < KT_ROLE_COUNT; r++)
			fprintf(out, " %s |", scope_names[action_rules[i].scope[r]]);
		fprintf(out, "%s%s |\n", *action_rules[i].note ? " " : "", action_rules[i].note);
	}
	fprintf(out, "\nServer-internal, never sent to any device:");
	const char *last = "";
	for (int i = 0; i < kt_policy_count; i++)
		if (!kt_table_find(kt_policy[i].table, strlen(kt_policy[i].table)) &&
		    strcmp(last, kt_policy[i].table) != 0)
			fprintf(out, " `%s`", last = kt_policy[i].table);
	fprintf(out, ".\n");
}
