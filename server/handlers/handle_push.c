/* handle_push.c - the loop side of a device's push: the portal clients'
 * rate limit, the frame decoded into a job (push_job.c) and handed to the
 * writer thread, and the answer sent once the writer has committed it.
 * What the push does to the data is the writer's (push_apply.c): nothing
 * here reads or writes the database. */
#include <stdio.h>
#include <string.h>
#include "write/push.h"
#include "write/writer.h"
#include "handlers/handlers.h"
#include "conn/conn.h"

/* Portal clients' pushes per person (loop thread only): a fixed window of
 * KT_CLIENT_PUSH_WINDOW_MS counting mutations and events. A push is
 * refused while the window's count has reached KT_CLIENT_PUSH_ITEMS; a
 * push that is let in counts whole, so a window holds at most that plus
 * one push. Keyed by person, so more connections buy nothing. */
#define PUSH_SLOTS 4096
#define PUSH_PROBE 16
static struct push_slot {
	char person[KT_UUID_LEN + 1];
	int64_t start;
	uint32_t count;
} push_slots[PUSH_SLOTS];

static struct push_slot *push_slot(const char *person, int64_t now)
{
	uint32_t h = 2166136261u;
	struct push_slot *old = NULL;
	for (const char *c = person; *c; c++)
		h = (h ^ (uint8_t)*c) * 16777619u;
	for (int i = 0; i < PUSH_PROBE; i++) {
		struct push_slot *p = &push_slots[(h + (uint32_t)i) % PUSH_SLOTS];
		if (!strcmp(p->person, person)) {
			if (now - p->start >= KT_CLIENT_PUSH_WINDOW_MS) {
				p->start = now;
				p->count = 0;
			}
			return p;
		}
		if (!old || p->start < old->start)
			old = p;
	}
	snprintf(old->person, sizeof old->person, "%s", person);
	old->start = now;
	old->count = 0;
	return old;
}

/* Loop side, after the commit (writer_deliver): the results, or why the
 * whole push was not applied. */
static void push_answer(kt_session *s, const kt_push_job *j)
{
	kt_server *srv = s->srv;
	if (j->rc == KT_EREVOKED)
		session_error(s, KT_EREVOKED, "the account was deactivated: the push was not applied", "push", true);
	else if (j->rc)
		session_error(s, j->rc == KT_EBUSY ? KT_EBUSY : KT_EIO,
			      j->rc == KT_EBUSY ? "database busy; push again" : "the push was not saved; push it again",
			      "push", false);
	else {
		frame_begin(srv);
		proto_push_result_encode(&srv->frame, j->nres, j->body.sb.data, j->body.sb.size);
		if (session_queue_frame(s, false))
			kt_warn("session %llu: push result not queued", (unsigned long long)s->id);
	}
}

/* Check the frame, hand it to the writer thread. The answer comes back
 * through writer_deliver (push_answer) once everything is committed. */
int handle_push(kt_session *s, const unsigned char *buf, size_t len)
{
	int rc;
	struct push_slot *ps = NULL;
	int64_t now = kt_now_ms();
	if (s->principal.is_client) {
		ps = push_slot(s->principal.id, now);
		if (ps->count >= KT_CLIENT_PUSH_ITEMS) {
			char why[160];
			int64_t retry = ps->start + KT_CLIENT_PUSH_WINDOW_MS - now;
			snprintf(why, sizeof why,
				 "muts and events: a portal client pushes at most %d per minute; retry in %lld s",
				 KT_CLIENT_PUSH_ITEMS, (long long)(retry + 999) / 1000);
			session_error_retry(s, KT_ERATE_LIMITED, why, "push", false, retry > 0 ? retry : 1);
			return 0;
		}
	}
	kt_push_job *j = push_job_new(s, buf, len, &rc);
	if (!j) {
		const char *why = rc == KT_ENOMEM ? "out of memory; push again later"
				  : rc == KT_ETOO_LARGE ? "at most 500 mutations or events per push"
							: "push needs muts: [{mid, tbl, id, op, base, f, at}]";
		session_error(s, rc, why, "push", false);
		return 0;
	}
	if (ps)
		ps->count += j->nmuts + j->nevents;
	j->answer = push_answer;
	writer_submit(s, j);
	return 0;
}
