/* push_job.c - a push as the writer's unit of work: decoded from the
 * frame on the loop (mutations and events walked once each, pointing into
 * the job's own copy of the frame), applied on the writer, freed by
 * whoever holds it last. No database, no session after it is made. */
#include <stdlib.h>
#include <string.h>
#include "write/push.h"

typedef struct collect {
	kt_mut *muts;
	uint32_t n, cap;
} collect;

static int collect_mut(void *user, const kt_mut *m)
{
	collect *c = user;
	if (c->n == c->cap) { /* the decoder checked the count against KT_PUSH_MAX */
		uint32_t cap = c->cap ? c->cap * 2 : 32;
		kt_mut *more = realloc(c->muts, cap * sizeof *more);
		if (!more)
			return KT_ENOMEM;
		c->muts = more;
		c->cap = cap;
	}
	c->muts[c->n++] = *m;
	return KT_OK;
}

static int count_event(void *user, const kt_event *e)
{
	(void)e;
	(*(uint32_t *)user)++;
	return KT_OK;
}

kt_push_job *push_job_new(const kt_session *s, const unsigned char *buf, size_t len, int *rc)
{
	kt_push_job *j = calloc(1, sizeof *j);
	*rc = KT_ENOMEM;
	if (!j)
		return NULL;
	j->session_id = s->id;
	memcpy(j->device, s->device, sizeof j->device);
	j->principal = s->principal;
	j->principal.locs = s->principal.locs ? strdup(s->principal.locs) : NULL;
	j->rights_gen = s->rights_gen;
	j->buf = malloc(len ? len : 1);
	kt_mpw_init(&j->body);
	if (!j->buf || (s->principal.locs && !j->principal.locs)) {
		push_job_free(j);
		return NULL;
	}
	memcpy(j->buf, buf, len);
	j->len = len;
	/* decoded from our copy: the kt_str and field pointers point into it */
	collect c = {NULL, 0, 0};
	uint32_t count = 0, nevents = 0;
	*rc = proto_push_decode(j->buf, len, collect_mut, &c, &count);
	j->muts = c.muts;
	if (!*rc && c.n != count)
		*rc = KT_EMALFORMED;
	/* the events are counted by a second walk of the whole frame (about a
	 * third of the decode): a frame in which the bytes "events" occur
	 * nowhere has no such key, whatever its encoding, and the walk above
	 * has already checked the frame's shape */
	if (!*rc && memmem(j->buf, len, "events", 6))
		*rc = proto_push_events_decode(j->buf, len, count_event, &nevents);
	if (*rc) {
		push_job_free(j);
		return NULL;
	}
	j->nmuts = c.n;
	/* a push without events costs the writer no second walk of the frame */
	j->nevents = nevents;
	j->events_done = nevents == 0;
	return j;
}

void push_job_free(kt_push_job *j)
{
	if (!j)
		return;
	kt_principal_free(&j->principal);
	kt_mpw_free(&j->body);
	free(j->muts);
	free(j->buf);
	free(j);
}

bool push_job_finished(const kt_push_job *j)
{
	return j->rc || (j->next_mut == j->nmuts && j->events_done);
}
