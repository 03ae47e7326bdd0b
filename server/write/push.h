/* push.h - a device's push as a unit of work for the writer thread.
 * The event loop checks the frame and copies what the apply needs (the
 * frame, the principal, the device); the writer applies it in pieces
 * (push_apply.h), possibly across several of its group transactions, and
 * hands it back to the loop once the last piece is committed (writer.c),
 * where its answer callback sends the answer (handle_push.c). */
#ifndef KT_PUSH_H
#define KT_PUSH_H

#include "server.h"

typedef struct kt_push_job {
	struct kt_push_job *next;
	kt_wq_item link;        /* in the writer's queue (kt_workq): submitted, then answered */
	uint64_t session_id;
	char device[KT_UUID_LEN + 1];
	kt_principal principal; /* a copy: the session may change or go meanwhile */
	int64_t rights_gen;     /* rights_gen the copy was read at (the writer re-reads it when moved) */
	unsigned char *buf;     /* the push frame (owned); muts point into it */
	size_t len;
	kt_mut *muts;
	uint32_t nmuts;
	uint32_t next_mut;      /* the first mutation not yet applied */
	uint32_t nevents;       /* "viewed" events after the mutations (counted on the loop) */
	bool events_done;
	bool in_tx;             /* part of it is in the open transaction */
	kt_mpw body;            /* the results so far, one map per mutation */
	uint32_t nres;
	int rc;                 /* KT_OK, or why the whole push was not saved */
	int64_t t_submit, t_start, t_done; /* kt_mono_us: handed over, first applied, committed */
	/* loop thread, once committed: answer the session that pushed (still
	 * connected) with j->rc or the results. Set by whoever submits the job. */
	void (*answer)(kt_session *s, const struct kt_push_job *j);
} kt_push_job;

/* Loop side: decode a push frame into a job, walking it once for its
 * mutations and once for its events. NULL with *rc the reason: the frame's
 * shape (KT_EMALFORMED, KT_ETOO_LARGE, ...) or KT_ENOMEM. */
kt_push_job *push_job_new(const kt_session *s, const unsigned char *buf, size_t len, int *rc);
void push_job_free(kt_push_job *j); /* accepts NULL */
/* True when every mutation and event has been applied. */
bool push_job_finished(const kt_push_job *j);


#endif
