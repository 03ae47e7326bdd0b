/* writer.c - the one thread that applies devices' pushes, with its own
 * database connection, so the event loop never waits for a disk.
 *
 * Group commit: each transaction takes work from every waiting push in
 * turn (at most CHUNK mutations of each per round) until it has run for
 * BUDGET_US or nothing is left, then commits once: one fsync serves many
 * devices. A push answered only after its last piece is committed and
 * synced keeps "the answer after the commit"; a big push that spans
 * transactions is exactly-once all the same (each mutation's answer is
 * recorded with it).
 *
 * Pipelined sync: the commit only writes its WAL frames (walbuf_arm), and
 * the sync thread fsyncs them while this thread applies the next
 * transaction, instead of waiting for the disk itself. The sync
 * thread then hands the commit's finished pushes to the loop and releases
 * the change log it held (store_log_hold): no answer and no streamed change
 * before the fsync. The next commit waits for that fsync, so at most one
 * commit is ever published and not yet durable. A failed fsync answers its
 * pushes with an error (they are committed: pushed again, "duplicate"),
 * and nothing more commits until walbuf_resync has written the kept
 * frames again and synced them.
 * Rounds keep a single mutation from waiting behind other devices' big
 * batches: its wait is bounded by about two transactions.
 *
 * Order: pushes of one device are applied in the order they arrived, never
 * interleaved. A database failure rolls back the open transaction; every
 * push with a piece in it is answered with an error (the device pushes it
 * again and gets "duplicate" for what was already committed).
 *
 * Acknowledged cursors (the device register) ride along in the next
 * transaction instead of costing the loop an fsync each.
 *
 * One file although past 800 lines: the writer, the sync thread and the
 * checkpointer hand work to each other under kt_writer's one lock. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "sync/after_commit.h"
#include "write/push_apply.h"
#include "db/walbuf.h"
#include "write/writer.h"
#include "conn/conn.h"
#include "kt_metrics.h"

#define CHUNK 32          /* mutations per push per round */
/* Work per transaction before it commits. Only big pushes wait for this
 * budget: a small push cuts the transaction it joins or starts to
 * BUDGET_SMALL_US. Longer transactions mean fewer commits and write a page
 * changed twice in one transaction once; longer still and single mutations
 * wait too long (docs/benchmarks.md, "Commit syncs on a sync thread"). */
#define BUDGET_US 8000
#define BUDGET_SMALL_US 2000 /* ...when it will answer a small push */
#define MAX_INFLIGHT 2    /* pushes per connection before we stop reading it */
#define ACK_FLUSH_MS 1000 /* acks alone are written at least this often */
#define CHECKPOINT_PAGES 1000 /* WAL pages are copied to the database after this many new ones... */
#define CHECKPOINT_MS 1000    /* ...or after this long */
/* The WAL's bound. A PASSIVE checkpoint never catches up with a steady
 * stream of commits, so the WAL would grow for as long as the stream lasts
 * (4 KB per pushed edit). Past this many frames (59 MiB of 4 KiB pages)
 * the writer waits between two transactions while the checkpointer copies
 * the rest (store_checkpoint_restart); its next commit starts the WAL
 * again from its beginning. RESTART, not TRUNCATE: freeing the blocks of
 * a large file makes that wait longer. */
#define WAL_MAX_FRAMES 15000
/* Up to this many more, the writer does not wait behind a running PASSIVE
 * checkpoint, nor while more than CUT_BACKLOG frames are left to copy: it
 * has the checkpointer run PASSIVE ones back to back instead, and keeps its
 * own transactions short (BUDGET_SMALL_US), so each PASSIVE one leaves
 * little. The wait then copies and syncs that little, not the 1,000 or
 * more frames a PASSIVE one woken every CHECKPOINT_PAGES leaves behind a
 * long transaction: a database fsync's time grows with the pages it writes
 * (about 3 ms for 100 pages, 13 ms for 1,000 on the test machine's disk). */
#define WAL_SLACK_FRAMES 2000
#define CUT_BACKLOG 256
#define WAL_CUT_WAIT_MS 200    /* how long the cut waits for readers to leave the WAL */
#define WAL_CUT_RETRY_MS 1000  /* after a cut that a reader kept from finishing */

#define STAGE_SAMPLES 4096 /* single-mutation pushes timed per stage (the latest) */

typedef struct ack {
	char device[KT_UUID_LEN + 1];
	int64_t seq;
} ack;

/* Finished pushes of one transaction, answered once its frames are synced. */
typedef struct batch {
	struct batch *next;
	kt_push_job *jobs; /* in order */
	int64_t end;       /* WAL bytes to sync first (walbuf_owed); 0: nothing */
	int64_t hold;      /* the change log held from (store_log_hold), released once synced */
	uint64_t gen;      /* store_publish_unsynced's count of that commit */
} batch;

struct kt_writer {
	kt_server *srv;
	pthread_mutex_t mu;
	pthread_cond_t cv, ckpt_cv, sync_cv, cut_cv;
	/* the thread has opened its database (or failed to), under mu: the
	 * listener says "listening" only then, so /healthz answers from the start */
	pthread_cond_t start_cv;
	bool started;
	/* pushes submitted, not yet seen by the thread (taken all at once),
	 * and answered ones for the loop: a queue without workers of its own,
	 * as the thread's wait also covers acks and a sync's redo (cv) */
	kt_workq *q;
	batch *sync_head, *sync_tail;       /* committed, for the sync thread */
	bool sync_ended;                    /* the sync thread's result for sync_end is in sync_rc */
	int sync_rc;
	bool sync_stop;
	ack *acks;
	int nacks, acks_cap;
	bool stop;
	bool cut_want, cut_ok; /* the writer waits for a WAL cut (checkpoint_main), and its result */
	bool ckpt_busy;        /* the checkpointer runs a PASSIVE checkpoint */
	int backfilled;        /* WAL frames copied into the database by the last one (0 after a cut) */
	atomic_bool small_waiting; /* a push of at most CHUNK mutations was submitted */
	pthread_t th, ckpt_th, sync_th;
	bool running, ckpt_running, sync_running;
	walbuf_syncer *syncer; /* the sync thread's; opened by the writer thread */
	/* thread-private */
	kt_push_job *active; /* taken from todo, in arrival order */
	int64_t sync_end;    /* the WAL end a sync is running for; 0: none */
	int64_t held;        /* the change log seq held until then */
	uint64_t gen;        /* and that commit's store_publish_unsynced count */
	bool resync;         /* that sync failed: walbuf_resync before the next commit */
	uint64_t sync_waits, sync_wait_us; /* commits that waited for the last one's sync */
	uint64_t cuts, cuts_failed, cut_us, cut_max_us; /* WAL cuts the writer waited for */
	int64_t cut_next;    /* no cut before this (kt_mono_us) after one that failed */
	uint64_t cut_written; /* store_wal_written at the last cut: the next needs new frames */
	uint64_t txs, muts, apply_us, commit_us; /* statistics */
	uint64_t commit_max_us, commits_over[3];  /* commits longer than 5, 10, 20 ms */
	/* loop side: where a single mutation's answer spends its time, in µs:
	 * waiting for the writer, in the writer until committed and synced, back to the loop */
	float stage[3][STAGE_SAMPLES];
	int nstage;
};

/* ---- other serve processes on the same database ----
 *
 * Another process reads our commits through SQLite's shared WAL index and
 * knows nothing of our sync thread: while one is there, every commit is
 * synced before SQLite publishes it (not armed). Each serve process holds
 * a read lock on byte PRESENT of the database file; a commit about to be
 * published unsynced holds a write lock on byte PUBLISHING while it looks
 * for others and commits. A process that arrives takes its PRESENT lock,
 * waits out PUBLISHING (a commit that looked before it arrived), and
 * fsyncs the WAL: from then on nothing unsynced is published to it. The
 * locks are open-file-description locks (they conflict between
 * descriptors of one process too) on bytes SQLite never locks. The
 * descriptor stays open until the process ends: closing any descriptor of
 * the file would drop the POSIX locks SQLite's connections hold on it. */
#define LOCK_PRESENT 0x40000400
#define LOCK_PUBLISHING 0x40000401

static int peers_fd = -1; /* -1: no locks, so never armed */

static int ofd_lock(short type, off_t at, bool wait)
{
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = at, .l_len = 1};
	return fcntl(peers_fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl);
}

/* Announce this process and make durable what a process already there
 * may have published unsynced. Before the loop serves anything. */
static void peers_join(const char *db_path)
{
	char wal[4096];
	if (peers_fd < 0 && (peers_fd = open(db_path, O_RDWR | O_CLOEXEC)) < 0)
		goto fail;
	if (ofd_lock(F_RDLCK, LOCK_PRESENT, false) || ofd_lock(F_RDLCK, LOCK_PUBLISHING, true) ||
	    ofd_lock(F_UNLCK, LOCK_PUBLISHING, false))
		goto fail;
	snprintf(wal, sizeof wal, "%s-wal", db_path);
	int fd = open(wal, O_RDWR | O_CLOEXEC); /* (no locks on the WAL file: closing it is safe) */
	if (fd >= 0) {
		int rc = fdatasync(fd);
		close(fd);
		if (rc)
			goto fail;
	}
	return;
fail:
	kt_warn("writer: cannot tell other server processes on this database apart (%s); every commit is "
		"synced before it is published", strerror(errno));
	peers_fd = -1; /* (a descriptor opened stays open: see above) */
}

/* True, holding PUBLISHING, when no other serve process is on the
 * database: the commit may be published before its sync. Then
 * peers_published() after the commit. */
static bool peers_none(void)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = LOCK_PRESENT, .l_len = 1};
	if (peers_fd < 0 || ofd_lock(F_WRLCK, LOCK_PUBLISHING, false))
		return false; /* one is arriving */
	if (!fcntl(peers_fd, F_OFD_GETLK, &fl) && fl.l_type == F_UNLCK)
		return true;
	ofd_lock(F_UNLCK, LOCK_PUBLISHING, false);
	return false;
}

static void peers_published(void)
{
	ofd_lock(F_UNLCK, LOCK_PUBLISHING, false);
}

static void append(kt_push_job **head, kt_push_job **tail, kt_push_job *j)
{
	j->next = NULL;
	if (*tail)
		(*tail)->next = j;
	else
		*head = j;
	*tail = j;
}

static void append_batch(kt_writer *w, batch *b)
{
	b->next = NULL;
	if (w->sync_tail)
		w->sync_tail->next = b;
	else
		w->sync_head = b;
	w->sync_tail = b;
}

static kt_push_job *link_job(kt_wq_item *it)
{
	return (kt_push_job *)((char *)it - offsetof(kt_push_job, link));
}

/* Move what was submitted to the end of the active list. */
static void take_todo(kt_writer *w)
{
	kt_push_job **end = &w->active;
	while (*end)
		end = &(*end)->next;
	for (kt_wq_item *it = kt_workq_take_all(w->q); it; it = it->next) {
		*end = link_job(it);
		end = &(*end)->next;
	}
	*end = NULL;
}

/* An earlier unfinished push of the same device goes first. */
static bool blocked(const kt_writer *w, const kt_push_job *j)
{
	for (const kt_push_job *e = w->active; e && e != j; e = e->next)
		if (!push_job_finished(e) && !strcmp(e->device, j->device))
			return true;
	return false;
}

static int write_acks(kt_store *st, ack *a, int n)
{
	for (int i = 0; i < n; i++) {
		int rc = store_device_ack(st, a[i].device, a[i].seq);
		if (rc)
			return rc;
	}
	return KT_OK;
}

/* A push nobody has started on that someone waits on for a quick answer. */
static bool small_unstarted(const kt_push_job *j)
{
	return j->next_mut == 0 && j->nmuts <= CHUNK;
}

/* Apply the next piece of job j in the open transaction. */
static int step(kt_store *st, kt_push_job *j, uint64_t *n)
{
	uint32_t before = j->next_mut;
	if (!j->t_start)
		j->t_start = kt_mono_us();
	j->in_tx = true;
	int rc = push_apply_step(st, j, CHUNK);
	*n += j->next_mut - before;
	return rc;
}

/* A small push that arrived while this transaction runs joins it at once
 * (the caller then shortens the transaction to the small budget): its
 * answer waits for this commit, not for the rest of this transaction, its
 * commit, and a transaction of its own. True when one joined. */
static bool join_small(kt_writer *w, kt_store *st, int *rc, uint64_t *n)
{
	bool joined = false;
	if (!atomic_exchange(&w->small_waiting, 0))
		return false;
	take_todo(w);
	for (kt_push_job *j = w->active; j && !*rc; j = j->next)
		if (!push_job_finished(j) && small_unstarted(j) && !blocked(w, j)) {
			*rc = step(st, j, n);
			joined = true;
		}
	return joined;
}

/* The last commit's sync: wait for its result (or only look, !wait) and
 * act on it. A failed sync is redone here, writing every frame since the
 * last good one again (walbuf_resync), before anything else commits. */
static int settle_sync(kt_writer *w, kt_store *st, bool wait)
{
	if (w->sync_end) {
		int rc;
		pthread_mutex_lock(&w->mu);
		if (wait && !w->sync_ended) {
			int64_t t0 = kt_mono_us();
			while (!w->sync_ended)
				pthread_cond_wait(&w->cv, &w->mu);
			w->sync_waits++;
			w->sync_wait_us += (uint64_t)(kt_mono_us() - t0);
		}
		bool ended = w->sync_ended;
		rc = w->sync_rc;
		w->sync_ended = false;
		pthread_mutex_unlock(&w->mu);
		if (!ended)
			return KT_OK;
		if (rc == SQLITE_OK)
			walbuf_synced(store_db(st), w->sync_end);
		else
			w->resync = true;
		w->sync_end = 0;
	}
	if (w->resync) {
		int rc = walbuf_resync(store_db(st));
		if (rc != SQLITE_OK) {
			kt_warn("writer: the WAL sync failed again (SQLite code %d); nothing more is committed until it "
				"succeeds", rc);
			return KT_EIO;
		}
		kt_info("writer: the WAL is synced again after a failed sync");
		w->resync = false;
		store_log_release(w->held); /* durable now: the others may see it */
		store_published_synced(w->gen);
		kt_wake_post(&w->srv->wake, KT_WAKE_DATA);
	}
	return KT_OK;
}

/* One group transaction over the active pushes (and the pending acks). */
static void one_transaction(kt_writer *w, kt_store *st, ack *acks, int nacks)
{
	int64_t t0 = kt_mono_us();
	atomic_store(&w->srv->writer_busy, 1);
	int rc = store_begin(st);
	bool progress = true;
	uint64_t n0 = 0;
	/* this transaction's change log entries start here (we hold the write lock) */
	int64_t first = rc ? 0 : store_max_seq(st) + 1;

	if (!rc)
		rc = write_acks(st, acks, nacks);
	/* pushes nobody has started on go first (a single mutation is answered
	 * after this transaction), then rounds over all until the budget is spent */
	/* past the WAL's bound, short transactions until the cut: what is
	 * left to copy when the writer waits for it is about one of them */
	int64_t budget = store_wal_pages(st) >= WAL_MAX_FRAMES ? BUDGET_SMALL_US : BUDGET_US;
	for (int pass = 0; !rc && progress; pass++) {
		progress = false;
		for (kt_push_job *j = w->active; j && !rc; j = j->next) {
			if (join_small(w, st, &rc, &n0) && budget > BUDGET_SMALL_US)
				budget = BUDGET_SMALL_US; /* it waits for this transaction's commit */
			if (push_job_finished(j) || (pass == 0 && j->next_mut > 0) || blocked(w, j))
				continue;
			if (pass > 0 && kt_mono_us() - t0 >= budget)
				break;
			if (small_unstarted(j) && budget > BUDGET_SMALL_US)
				budget = BUDGET_SMALL_US; /* someone waits for one quick answer */
			rc = step(st, j, &n0);
			progress = true;
		}
		if (pass == 0)
			progress = true;
		if (pass > 0 && kt_mono_us() - t0 >= budget)
			break;
		if (!rc) /* pushes that arrived meanwhile join this transaction */
			take_todo(w);
	}
	int64_t t1 = kt_mono_us();
	/* the commit publishes its frames before they are synced (walbuf.h):
	 * the last commit's sync must have succeeded, and the loop reads no
	 * change of this one until this one's has */
	if (!rc)
		rc = settle_sync(w, st, true);
	if (!rc) {
		store_log_hold(first);
		/* counted before it is published: durable reads (store.h) wait for it */
		uint64_t gen = store_publish_unsynced();
		bool arm = w->syncer && peers_none();
		walbuf_arm(store_db(st), arm);
		rc = store_commit(st);
		walbuf_arm(store_db(st), false);
		if (arm)
			peers_published();
		w->sync_end = rc ? 0 : walbuf_owed(store_db(st));
		if (w->sync_end) {
			w->held = first;
			w->gen = gen;
		} else {
			store_log_release(first);
			store_published_synced(gen);
		}
	} else
		store_rollback(st);
	atomic_store(&w->srv->writer_busy, 0);
	if (atomic_exchange(&w->srv->wal_events_skipped, 0)) {
		kt_wake_post(&w->srv->wake, KT_WAKE_DATA); /* whatever the watcher let pass */
	}
	w->apply_us += (uint64_t)(t1 - t0);
	uint64_t took = (uint64_t)(kt_mono_us() - t1);
	w->commit_us += took;
	if (took > w->commit_max_us)
		w->commit_max_us = took;
	for (int i = 0; i < 3; i++)
		w->commits_over[i] += took > (uint64_t)(5000 << i);
	w->txs++;
	w->muts += n0;
	if (rc) {
		kt_log_code(KT_LOG_WARN, rc, "writer: transaction failed (%s); %llu mutations not saved",
			    kt_err_name(rc), (unsigned long long)n0);
		/* every unfinished push fails, not only those in this transaction:
		 * a later push of the same device must not overtake a failed one */
		for (kt_push_job *j = w->active; j; j = j->next)
			if (!push_job_finished(j) || j->in_tx)
				j->rc = rc == KT_EBUSY ? KT_EBUSY : KT_EIO;
		/* the acks are dropped too: they are advisory, the device's next ack carries them */
	}
	for (kt_push_job *j = w->active; j; j = j->next)
		j->in_tx = false;
}

/* Past WAL_MAX_FRAMES: wait, holding no lock and with nothing published
 * unsynced, while the checkpointer copies the rest of the WAL. Pushes wait
 * meanwhile; docs/benchmarks.md gives what that costs. */
static void cut_wal(kt_writer *w, kt_store *st)
{
	if (store_wal_pages(st) < WAL_MAX_FRAMES || kt_mono_us() < w->cut_next ||
	    store_wal_written(st) == w->cut_written)
		return;
	int pages = store_wal_pages(st);
	pthread_mutex_lock(&w->mu);
	if (pages < WAL_MAX_FRAMES + WAL_SLACK_FRAMES &&
	    (w->ckpt_busy || pages - w->backfilled > CUT_BACKLOG)) {
		/* not behind a whole checkpoint, nor while much is left to copy:
		 * the checkpointer copies it meanwhile, and we look again after
		 * the next transaction */
		if (!w->ckpt_busy)
			pthread_cond_signal(&w->ckpt_cv);
		pthread_mutex_unlock(&w->mu);
		return;
	}
	pthread_mutex_unlock(&w->mu);
	int64_t t0 = kt_mono_us();
	if (settle_sync(w, st, true))
		return; /* a failed sync is redone first */
	pthread_mutex_lock(&w->mu);
	w->cut_want = true;
	pthread_cond_signal(&w->ckpt_cv);
	while (w->cut_want && !w->stop)
		pthread_cond_wait(&w->cut_cv, &w->mu);
	bool ok = w->cut_ok && !w->cut_want;
	w->cut_want = false;
	pthread_mutex_unlock(&w->mu);
	w->cut_written = store_wal_written(st);
	uint64_t took = (uint64_t)(kt_mono_us() - t0);
	w->cuts++;
	w->cut_us += took;
	if (took > w->cut_max_us)
		w->cut_max_us = took;
	if (!ok) {
		w->cuts_failed++;
		w->cut_next = kt_mono_us() + WAL_CUT_RETRY_MS * 1000;
	}
}

static void *writer_main(void *arg)
{
	kt_writer *w = arg;
	kt_server *srv = w->srv;
	kt_store *st = NULL;
	const char *msg;
	int64_t last_pass = kt_mono_us();
	pthread_setname_np(pthread_self(), "kt-writer"); /* shown by top -H and ps -L */
	/* WAL frames written when we last woke the checkpointer. Counted from
	 * the frames written, not from the WAL's size: under a steady load a
	 * checkpoint never catches up with the writer, the WAL does not restart
	 * and its size stays over any threshold, so a size test would wake the
	 * checkpointer after every commit. Not more than CHECKPOINT_PAGES: a
	 * larger checkpoint ends in a longer database fsync, which the sync
	 * thread's WAL fsync waits behind (docs/benchmarks.md, "The checkpointer
	 * woken by frames written"). */
	uint64_t ckpt_asked = 0;

	/* WAL frames written 31 to a pwrite instead of two pwrites each
	 * (walbuf.c says why that is safe with the store's synchronous=FULL) */
	if (store_open(srv->db_path, KT_STORE_WALBUF, &st, &msg)) {
		kt_err_log("writer: cannot open database: %s", msg);
		st = NULL;
	}
	if (st)
		store_checkpoint_by_hand(st); /* checkpoint_main does it, off our path */
	/* the WAL opened once more, for the sync thread (opened now: it exists) */
	if (st && walbuf_syncer_open(store_db(st), &w->syncer) != SQLITE_OK)
		kt_warn("writer: cannot open the WAL for the sync thread; every commit syncs before the next");
	pthread_mutex_lock(&w->mu);
	w->started = true;
	pthread_cond_broadcast(&w->start_cv);
	for (;;) {
		if (st) /* /healthz: the writer goes round (at least every second, below) */
			atomic_store_explicit(&kt_writer_beat_us, kt_mono_us(), memory_order_relaxed);
		/* acks alone, a failed sync's redo and its retries wait a while */
		while (!w->stop && !kt_workq_count(w->q) && !w->active &&
		       !((w->nacks || w->resync) && kt_mono_us() - last_pass >= ACK_FLUSH_MS * 1000) &&
		       !(w->sync_ended && w->sync_rc != SQLITE_OK)) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&w->cv, &w->mu, &ts);
			if (st)
				atomic_store_explicit(&kt_writer_beat_us, kt_mono_us(), memory_order_relaxed);
		}
		if (w->stop && !w->active && !kt_workq_count(w->q) && !w->nacks)
			break;
		take_todo(w);
		ack *acks = w->acks;
		int nacks = w->nacks;
		w->acks = NULL;
		w->nacks = w->acks_cap = 0;
		pthread_mutex_unlock(&w->mu);

		if (st)
			(void)settle_sync(w, st, false); /* a failed sync is redone at once */
		if (st && (w->active || nacks))
			one_transaction(w, st, acks, nacks);
		else if (!st)
			for (kt_push_job *j = w->active; j; j = j->next)
				j->rc = KT_EIO;
		free(acks);
		last_pass = kt_mono_us();
		if (st && store_wal_written(st) - ckpt_asked >= CHECKPOINT_PAGES) {
			ckpt_asked = store_wal_written(st);
			pthread_cond_signal(&w->ckpt_cv); /* we hold no lock: a missed signal waits 1 s */
		}

		/* finished pushes go to the sync thread, in order: answered once
		 * this transaction's frames are synced */
		batch *b = calloc(1, sizeof *b);
		kt_push_job *jt = NULL;
		pthread_mutex_lock(&w->mu);
		for (kt_push_job **pp = &w->active; *pp;) {
			kt_push_job *j = *pp;
			if (b && push_job_finished(j)) {
				*pp = j->next;
				append(&b->jobs, &jt, j);
			} else
				pp = &j->next;
		}
		if (b && (b->jobs || w->sync_end)) {
			b->end = w->sync_end;
			b->hold = w->held;
			b->gen = w->gen;
			append_batch(w, b);
			pthread_cond_signal(&w->sync_cv);
		} else {
			free(b); /* nothing to hand over; or no memory, and the pushes wait for the next batch */
			if (w->sync_end) { /* no memory: nobody syncs it, so sync for real before the next commit */
				w->sync_end = 0;
				w->resync = true;
			}
		}
		if (w->stop)
			break; /* the rest is not answered: devices push it again */
		if (st && store_wal_pages(st) >= WAL_MAX_FRAMES) {
			pthread_mutex_unlock(&w->mu);
			cut_wal(w, st);
			pthread_mutex_lock(&w->mu);
		}
	}
	pthread_mutex_unlock(&w->mu);
	atomic_store(&kt_writer_beat_us, 0); /* not running any more */
	if (st) /* the last commit's sync (and a resync if it failed), before the file goes */
		(void)settle_sync(w, st, true);
	uint64_t frames = st ? store_wal_written(st) : 0;
	/* the thread's own CPU time: unlike the wall times above it does not
	 * grow when other work shares the cores (benchmarks compare it) */
	struct timespec cpu = {0, 0};
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
	double cpu_ms = (double)cpu.tv_sec * 1e3 + (double)cpu.tv_nsec / 1e6;
	store_close(st);
	walbuf_stats wb;
	walbuf_stats_get(&wb); /* only this connection uses the shim */
	kt_info("writer: %llu transactions, %llu mutations, %.1f ms applying, %.1f ms committing, %llu WAL frames, "
		"%llu WAL writes as %llu pwrites, %llu syncs on the sync thread (%llu commits waited for one, "
		"%.1f ms), %.1f ms CPU (%.1f us per mutation); commits over 5/10/20 ms: %llu/%llu/%llu, "
		"longest %.1f ms; WAL restarts waited for: %llu (%llu kept from finishing by a reader), %.1f ms in all, "
		"longest %.1f ms",
		(unsigned long long)w->txs, (unsigned long long)w->muts, (double)w->apply_us / 1000,
		(double)w->commit_us / 1000, (unsigned long long)frames, (unsigned long long)wb.writes,
		(unsigned long long)wb.pwrites, (unsigned long long)wb.deferred, (unsigned long long)w->sync_waits,
		(double)w->sync_wait_us / 1000, cpu_ms, w->muts ? cpu_ms * 1000 / (double)w->muts : 0.0,
		(unsigned long long)w->commits_over[0], (unsigned long long)w->commits_over[1],
		(unsigned long long)w->commits_over[2], (double)w->commit_max_us / 1000, (unsigned long long)w->cuts,
		(unsigned long long)w->cuts_failed, (double)w->cut_us / 1000, (double)w->cut_max_us / 1000);
	return NULL;
}

/* Syncs each commit's frames while the writer applies the next
 * transaction, then hands that commit's pushes to the loop, in order, and
 * lets the loop read its changes. A failed sync answers them with an
 * error (they are committed: pushed again they answer "duplicate"); the
 * writer redoes the sync before it commits anything more. */
static void *sync_main(void *arg)
{
	kt_writer *w = arg;
	kt_server *srv = w->srv;
	pthread_setname_np(pthread_self(), "kt-sync"); /* shown by top -H and ps -L */

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->sync_head && !w->sync_stop)
			pthread_cond_wait(&w->sync_cv, &w->mu);
		batch *b = w->sync_head;
		if (!b)
			break;
		w->sync_head = b->next;
		if (!w->sync_head)
			w->sync_tail = NULL;
		pthread_mutex_unlock(&w->mu);
		int rc = SQLITE_OK;
		bool data = false;
		if (b->end) {
			rc = w->syncer ? walbuf_syncer_sync(w->syncer) : SQLITE_IOERR;
			if (rc == SQLITE_OK) {
				store_log_release(b->hold);
				store_published_synced(b->gen);
				data = true;
			} else {
				store_published_failed(); /* nothing of it is read for devices until the redo */
				kt_warn("writer: WAL sync failed (SQLite code %d); its pushes are answered with an error",
					rc);
			}
		}
		int64_t now = kt_mono_us();
		kt_wq_item *answers = NULL, **at = &answers;
		for (kt_push_job *j = b->jobs; j; j = j->next) {
			if (rc != SQLITE_OK)
				j->rc = KT_EIO;
			j->t_done = now;
			j->link.next = NULL;
			*at = &j->link;
			at = &j->link.next;
		}
		pthread_mutex_lock(&w->mu);
		if (b->end) {
			w->sync_ended = true;
			w->sync_rc = rc;
			pthread_cond_signal(&w->cv);
		}
		/* answers first, then the commit for everyone else (posted
		 * while the answers' bit is pending, it costs no second kick) */
		kt_workq_finish(w->q, answers);
		if (data)
			kt_wake_post(&srv->wake, KT_WAKE_DATA);
		free(b);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Copies committed WAL pages into the database file while the writer goes
 * on appending (a PASSIVE checkpoint never blocks it), so commits do not
 * pay for checkpoints. The writer wakes us each time it has written
 * CHECKPOINT_PAGES more WAL frames: rare, large checkpoints copy a page
 * edited many times once and cost fewer fsyncs competing with the
 * writer's. The WAL restarts from its beginning once a checkpoint has
 * caught up (under a steady load it cannot: the WAL then grows until the
 * load pauses). Logs its count and CPU time at shutdown. */
static void *checkpoint_main(void *arg)
{
	kt_writer *w = arg;
	kt_store *st = NULL;
	const char *msg;
	pthread_setname_np(pthread_self(), "kt-checkpoint"); /* shown by top -H and ps -L */
	int n = 0;                            /* checkpoints that found frames to copy */
	int last_frames = -1, last_copied = -1; /* the WAL as the last one left it */
	int64_t cut_us = 0, cut_max_us = 0;     /* in WAL cuts (the writer waits for them) */

	if (store_open(w->srv->db_path, 0, &st, &msg)) {
		kt_err_log("checkpointer: cannot open database: %s", msg);
		return NULL;
	}
	pthread_mutex_lock(&w->mu);
	while (!w->stop) {
		if (!w->cut_want) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += CHECKPOINT_MS / 1000;
			pthread_cond_timedwait(&w->ckpt_cv, &w->mu, &ts);
		}
		if (w->stop)
			break;
		bool cut = w->cut_want;
		w->ckpt_busy = !cut;
		pthread_mutex_unlock(&w->mu);
		int frames = 0, copied = 0;
		if (cut) {
			/* the writer waits for this: copy the rest, so that its next
			 * commit starts the WAL again */
			int64_t t0 = kt_mono_us();
			bool ok = store_checkpoint_restart(st, WAL_CUT_WAIT_MS) == KT_OK;
			int64_t took = kt_mono_us() - t0;
			cut_us += took;
			cut_max_us = took > cut_max_us ? took : cut_max_us;
			n++;
			kt_metric_inc(KT_M_CHECKPOINTS, 0);
			last_frames = last_copied = -1;
			pthread_mutex_lock(&w->mu);
			w->ckpt_busy = false;
			w->cut_want = false;
			w->cut_ok = ok;
			w->backfilled = 0; /* the writer's next commit starts the WAL again */
			pthread_cond_signal(&w->cut_cv);
			continue;
		}
		if (store_checkpoint(st, &frames, &copied))
			kt_warn("checkpointer: checkpoint failed; trying again");
		else if (frames != last_frames || copied != last_copied) {
			n++; /* not an idle second's look at a WAL already copied */
			kt_metric_inc(KT_M_CHECKPOINTS, 0);
			last_frames = frames;
			last_copied = copied;
		}
		pthread_mutex_lock(&w->mu);
		w->ckpt_busy = false;
		if (copied >= 0)
			w->backfilled = copied;
	}
	w->cut_want = false; /* a writer waiting for a cut stops waiting */
	pthread_cond_signal(&w->cut_cv);
	pthread_mutex_unlock(&w->mu);
	if (store_checkpoint(st, NULL, NULL))
		kt_warn("checkpointer: last checkpoint failed (the WAL keeps the data)");
	store_close(st);
	struct timespec cpu;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
	if (n)
		kt_info("checkpointer: %d checkpoints, %.1f ms CPU; WAL restarts took %.1f ms in all, the longest %.1f ms", n,
			(double)cpu.tv_sec * 1e3 + (double)cpu.tv_nsec / 1e6, (double)cut_us / 1000,
			(double)cut_max_us / 1000);
	return NULL;
}

static void free_linked(kt_wq_item *it)
{
	push_job_free(link_job(it));
}

int writer_start(kt_server *srv)
{
	kt_writer *w = calloc(1, sizeof *w);
	if (!w)
		return KT_ENOMEM;
	w->srv = srv;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	pthread_cond_init(&w->ckpt_cv, NULL);
	pthread_cond_init(&w->sync_cv, NULL);
	pthread_cond_init(&w->cut_cv, NULL);
	pthread_cond_init(&w->start_cv, NULL);
	srv->writer = w;
	kt_workq_cfg cfg = {
		.free_job = free_linked,
		.wake = &srv->wake,
		.wake_bit = KT_WAKE_PUSH,
	};
	if (kt_workq_new(&cfg, &w->q)) {
		writer_stop(srv);
		return KT_ENOMEM;
	}
	peers_join(srv->db_path);
	w->sync_running = pthread_create(&w->sync_th, NULL, sync_main, w) == 0;
	w->running = w->sync_running && pthread_create(&w->th, NULL, writer_main, w) == 0;
	w->ckpt_running = w->running && pthread_create(&w->ckpt_th, NULL, checkpoint_main, w) == 0;
	if (!w->ckpt_running) {
		writer_stop(srv);
		return KT_ENOMEM;
	}
	pthread_mutex_lock(&w->mu);
	while (!w->started)
		pthread_cond_wait(&w->start_cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
	return KT_OK;
}

static void free_list(kt_push_job *j)
{
	while (j) {
		kt_push_job *n = j->next;
		push_job_free(j);
		j = n;
	}
}

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return (x > y) - (x < y);
}

/* p50 and p99 of the first n values of v (sorted in place), in ms. */
static void p50_p99(float *v, int n, double *p50, double *p99)
{
	qsort(v, (size_t)n, sizeof *v, cmp_float);
	*p50 = v[n / 2] / 1000.0;
	*p99 = v[(n * 99) / 100] / 1000.0;
}

/* Where single-mutation answers spent their time: a latency tail can be
 * told apart as queueing behind other pushes, the writer's transaction and
 * commit, or the loop's delivery. */
static void log_stages(kt_writer *w)
{
	int n = w->nstage < STAGE_SAMPLES ? w->nstage : STAGE_SAMPLES;
	double p[3][2];
	if (!n)
		return;
	for (int i = 0; i < 3; i++)
		p50_p99(w->stage[i], n, &p[i][0], &p[i][1]);
	kt_info("writer: %d single-mutation pushes, p50/p99 ms: waiting %.1f/%.1f, applied, committed and synced "
		"%.1f/%.1f, back to the loop %.1f/%.1f",
		n, p[0][0], p[0][1], p[1][0], p[1][1], p[2][0], p[2][1]);
}

void writer_stop(kt_server *srv)
{
	kt_writer *w = srv->writer;
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_signal(&w->cv);
	pthread_cond_signal(&w->ckpt_cv);
	pthread_cond_signal(&w->cut_cv);
	pthread_mutex_unlock(&w->mu);
	if (w->running)
		pthread_join(w->th, NULL);
	if (w->ckpt_running)
		pthread_join(w->ckpt_th, NULL);
	pthread_mutex_lock(&w->mu);
	w->sync_stop = true; /* after the writer: it waited for its last sync */
	pthread_cond_signal(&w->sync_cv);
	pthread_mutex_unlock(&w->mu);
	if (w->sync_running)
		pthread_join(w->sync_th, NULL);
	walbuf_syncer_close(w->syncer);
	log_stages(w);
	free_list(w->active);
	kt_workq_free(w->q); /* submitted and answered, not taken */
	free(w->acks);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	pthread_cond_destroy(&w->ckpt_cv);
	pthread_cond_destroy(&w->sync_cv);
	pthread_cond_destroy(&w->cut_cv);
	pthread_cond_destroy(&w->start_cv);
	free(w);
	srv->writer = NULL;
}

void writer_submit(kt_session *s, kt_push_job *j)
{
	kt_writer *w = s->srv->writer;
	j->t_submit = kt_mono_us();
	kt_metric_inc(KT_M_WRITER_QUEUE, 0);
	if (kt_workq_submit(w->q, &j->link) != KT_OK) { /* no bound: cannot happen; answered as busy */
		j->rc = KT_EBUSY;
		j->link.next = NULL;
		kt_workq_finish(w->q, &j->link);
	} else if (j->nmuts <= CHUNK)
		atomic_store(&w->small_waiting, 1); /* after the push is in: join_small takes it */
	pthread_mutex_lock(&w->mu); /* the thread waits on cv for pushes, acks and a sync's redo alike */
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	/* a device that pushes faster than we apply waits in TCP, not in our memory */
	if (++s->pushes_inflight >= MAX_INFLIGHT)
		lws_rx_flow_control(s->wsi, 0);
}

void writer_note_ack(kt_server *srv, const char *device, int64_t seq)
{
	kt_writer *w = srv->writer;
	if (!w)
		return; /* shutting down */
	pthread_mutex_lock(&w->mu);
	int i;
	for (i = w->nacks - 1; i >= 0 && i >= w->nacks - 8; i--) /* a device acks often: merge recent ones */
		if (!strcmp(w->acks[i].device, device))
			break;
	if (i >= 0 && i >= w->nacks - 8 && w->nacks) {
		if (seq > w->acks[i].seq)
			w->acks[i].seq = seq;
	} else {
		if (w->nacks == w->acks_cap) {
			int cap = w->acks_cap ? w->acks_cap * 2 : 64;
			ack *a = realloc(w->acks, (size_t)cap * sizeof *a);
			if (!a) {
				pthread_mutex_unlock(&w->mu);
				return; /* advisory: the next ack carries it */
			}
			w->acks = a;
			w->acks_cap = cap;
		}
		memcpy(w->acks[w->nacks].device, device, sizeof w->acks[0].device);
		w->acks[w->nacks++].seq = seq;
	}
	pthread_mutex_unlock(&w->mu);
}

/* Loop thread: answer the finished pushes, then tell everyone else. */
void writer_deliver(kt_server *srv)
{
	kt_writer *w = srv->writer;
	kt_wq_item *list = kt_workq_take_done(w->q);
	bool applied = false;

	while (list) {
		kt_push_job *j = link_job(list);
		kt_session *s = session_find(srv, j->session_id);
		list = list->next;
		kt_metric_add(KT_M_WRITER_QUEUE, 0, -1);
		applied |= j->rc == KT_OK || j->rc == KT_EREVOKED; /* (earlier pieces of it may have committed) */
		if (j->nmuts == 1 && !j->rc && j->t_start && j->t_done) {
			int k = w->nstage++ % STAGE_SAMPLES;
			w->stage[0][k] = (float)(j->t_start - j->t_submit);
			w->stage[1][k] = (float)(j->t_done - j->t_start);
			w->stage[2][k] = (float)(kt_mono_us() - j->t_done);
		}
		if (s) {
			j->answer(s, j); /* the handler's: the answer is the message's */
			if (s->pushes_inflight-- == MAX_INFLIGHT)
				lws_rx_flow_control(s->wsi, 1);
		}
		push_job_free(j);
	}
	if (applied)
		after_commit(srv); /* the answers are after the commit; now everyone else */
}
