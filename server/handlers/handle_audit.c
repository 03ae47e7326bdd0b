/* handle_audit.c - owners and managers read the audit log over the
 * protocol: owners all of their organisation, managers what concerns their
 * locations (entries at them, or about clients known there). Nobody else. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "db/audit.h"
#include "domain/revoke.h"
#include "server.h"
#include "handlers/handlers.h"
#include "conn/conn.h"

static void pack_text(kt_mpw *w, sqlite3_stmt *q, int col)
{
	if (sqlite3_column_type(q, col) == SQLITE_NULL)
		kt_mpw_nil(w);
	else
		kt_mpw_strn(w, (const char *)sqlite3_column_text(q, col), (size_t)sqlite3_column_bytes(q, col));
}

int handle_audit_query(kt_session *s, const unsigned char *buf, size_t len)
{
	static const char *const cols[] = {"seq", "server_time", "device_time", "actor_kind", "actor_id", "device_id",
					   "action", "entity", "entity_id", "client_id", "location_id", "fields",
					   "before", "after"};
	kt_server *srv = s->srv;
	kt_principal *p = &s->principal;
	kt_audit_query aq;
	char client[KT_UUID_LEN + 1] = "";
	sqlite3_stmt *q;
	kt_mpw body;
	uint32_t n = 0;
	int rc = proto_audit_query_decode(buf, len, &aq);

	if (rc) {
		session_error(s, rc, "audit_query takes client (UUID or nil), before (>= 0), limit (1-500)", "audit_query",
			      false);
		return 0;
	}
	if (!policy_may(p, KT_ACT_QUERY_AUDIT)) {
		session_error(s, KT_EDENIED, "only owners and managers read the audit log", "audit_query", false);
		return 0;
	}
	if (aq.client.s) {
		if (!kt_uuid_valid(aq.client.s, aq.client.len)) {
			session_error(s, KT_EINVALID, "client must be a UUID", "audit_query", false);
			return 0;
		}
		memcpy(client, aq.client.s, KT_UUID_LEN);
		client[KT_UUID_LEN] = 0;
	}
	/* ?1 org, ?2 principal (its locations), ?3 the whole organisation?, ?4 client or '', ?5 before or 0,
	 * ?6 limit; otherwise the scope "known" of KT_ACT_QUERY_AUDIT (policy.c) in SQL */
	q = store_prepare(srv->st,
			  "SELECT seq, server_time, device_time, actor_kind, actor_id, device_id, action, entity, "
			  "entity_id, client_id, location_id, fields, before, after FROM audit a WHERE org_id = ?1 "
			  "AND (?4 = '' OR client_id = ?4) AND (?5 = 0 OR seq < ?5) AND (?3 OR location_id IN "
			  "(SELECT location_id FROM staff_location WHERE staff_id = ?2) OR client_id IN (SELECT "
			  "cl.client_id FROM client_location cl JOIN staff_location sl ON sl.location_id = "
			  "cl.location_id WHERE sl.staff_id = ?2)) ORDER BY seq DESC LIMIT ?6");
	if (!q) {
		session_error(s, KT_EIO, NULL, "audit_query", false);
		return 0;
	}
	sqlite3_bind_text(q, 1, p->org, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, p->id, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 3, policy_scope(p, KT_ACT_QUERY_AUDIT) == KT_SCOPE_ORG);
	sqlite3_bind_text(q, 4, client, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 5, aq.before);
	sqlite3_bind_int64(q, 6, aq.limit);
	kt_device_view dv = {.viewer = p};
	kt_mpw_init(&body);
	while (sqlite3_step(q) == SQLITE_ROW) {
		kt_mpw_map(&body, 14);
		for (int i = 0; i < 14; i++) {
			kt_mpw_str(&body, cols[i]);
			if (i < 3)
				sqlite3_column_type(q, i) == SQLITE_NULL ? kt_mpw_nil(&body)
									 : kt_mpw_int(&body, sqlite3_column_int64(q, i));
			else if (i == 5 && sqlite3_column_type(q, i) != SQLITE_NULL &&
				 !revoke_device_shown(srv->st, &dv, (const char *)sqlite3_column_text(q, i)))
				kt_mpw_nil(&body); /* another person's device id is theirs to sign in with */
			else if (i < 12)
				pack_text(&body, q, i);
			else {
				/* sealed with the client's key; nil once the client is erased */
				char *v = NULL;
				if (audit_value(srv->st, q, i, sqlite3_column_int64(q, 0), cols[i], &v) == KT_OK && v)
					kt_mpw_str(&body, v);
				else
					kt_mpw_nil(&body);
				free(v);
			}
		}
		n++;
	}
	store_finish(srv->st, q);
	frame_begin(srv);
	proto_audit_result_encode(&srv->frame, n, body.sb.data, body.sb.size);
	if (session_queue_frame(s, false))
		session_error(s, KT_EBUSY, NULL, "audit_query", false);
	kt_mpw_free(&body);
	return 0;
}
