/* walwatch.c - commits by other processes: inotify says the WAL was
 * written, the wal-index says when that commit can be read. Never takes a
 * lock SQLite uses and never writes the -shm: it reads the header and asks
 * the kernel (F_GETLK) whether another process holds the write lock.
 *
 * Why not wake the loop at the first write, as before: a commit's pages are
 * written before the WAL's fsync, and the commit is readable only after it.
 * The loop found nothing then and looked again every millisecond (its
 * timer's resolution, often 2 ms in practice): about 1 ms of every external
 * commit's latency was that wait. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>
#include "kt_util.h"
#include "net/walwatch.h"

/* SQLite's wal-index (the -shm file) is memory shared between processes,
 * which may run different SQLite versions, so its layout is a file format
 * (https://www.sqlite.org/walformat.html, "The WAL-Index Format"): two
 * copies of a 48-byte header (bytes 0-47 and 48-95; a writer writes the
 * second first), which every commit changes (iChange at 8, mxFrame at 16;
 * a WAL restart writes it with mxFrame 0 before the next commit's frames).
 * The unix VFS's lock on byte 120 (WAL_WRITE_LOCK) is held from a
 * connection's first write until after its commit is in that header, which
 * is after the WAL's fsync (synchronous=FULL), or until its rollback. */
#define HDR_LEN 48
#define HDR_MXFRAME 16
#define WRITE_LOCK_BYTE 120

/* How often to look while another process holds the write lock: every
 * STEP_FINE_US for FINE_FOR_US (a commit's fsync ends in there), then
 * doubling up to STEP_MAX_US (a long transaction, e.g. an import); after
 * GIVE_UP_US the loop is woken anyway and looks on its own (listener.c
 * on_data_wake). Each look costs a thread wake-up, nearly all of the
 * watcher's CPU (10-20 µs each on the 2-core test machine), so the first
 * look waits for the shortest of the last RECENT commits' times (first
 * write to release, minus one step): the earliest this one is likely done.
 * A 100-device bench then looks about twice per commit. */
#define STEP_FINE_US 50
#define FINE_FOR_US 5000
#define STEP_MAX_US 5000
#define GIVE_UP_US 5000000
#define RECENT 8

typedef struct watch_state {
	unsigned char seen[HDR_LEN]; /* the header when last looked at */
	int64_t took[RECENT];        /* the last commits' times from first write to release, µs */
	int ntook;
} watch_state;

static void sleep_us(long us)
{
	nanosleep(&(struct timespec){us / 1000000, (us % 1000000) * 1000}, NULL);
}

/* Read the queued events (their content does not matter): 0, or -1 when
 * the descriptor failed. */
static int drain(int fd)
{
	char buf[4096] __attribute__((aligned(8)));
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n > 0)
			continue;
		return n < 0 && (errno == EAGAIN || errno == EINTR) ? 0 : -1;
	}
}

/* The header, when its two copies agree (they differ only while a writer
 * is between them). */
static bool header_read(int shm, unsigned char h[HDR_LEN])
{
	unsigned char b[2 * HDR_LEN];
	if (pread(shm, b, sizeof b, 0) != (ssize_t)sizeof b || memcmp(b, b + HDR_LEN, HDR_LEN) != 0)
		return false;
	memcpy(h, b, HDR_LEN);
	return true;
}

/* Another process holds the WAL write lock (this process's own locks,
 * the push writer's, never conflict with a query of its own). */
static bool other_writer(int shm)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = WRITE_LOCK_BYTE, .l_len = 1};
	return fcntl(shm, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
}

/* The shortest time of the last RECENT commits (0: none seen yet). */
static int64_t quickest(const watch_state *w)
{
	int64_t q = 0;
	for (int i = 0; i < w->ntook && i < RECENT; i++)
		if (!q || w->took[i] < q)
			q = w->took[i];
	return q;
}

/* The WAL was written by another process (at t0): wait until none holds
 * the write lock, then wake the loop when the header says something was
 * committed since w->seen (a rollback, or a restart that was not followed
 * by a commit, wakes nobody). Events read meanwhile are of the commits
 * waited for here: a later writer writes only after this one's lock is
 * released, and its events stay queued for the next round. 0, or -1 when
 * inotify failed. */
static int wait_published(kt_server *srv, watch_state *w, int64_t t0)
{
	long step = STEP_FINE_US;
	int64_t first = quickest(w) - STEP_FINE_US, held_at = -1;
	if (first > FINE_FOR_US)
		first = FINE_FOR_US;
	if (first > 0)
		sleep_us((long)first);
	for (;;) {
		unsigned char h[HDR_LEN];
		if (drain(srv->watch_fd))
			return -1;
		if (!other_writer(srv->watch_shm) && header_read(srv->watch_shm, h)) {
			uint32_t mx;
			memcpy(&mx, h + HDR_MXFRAME, sizeof mx);
			if (memcmp(h, w->seen, HDR_LEN) != 0 && mx != 0)
				kt_wake_post(&srv->wake, KT_WAKE_DATA);
			memcpy(w->seen, h, HDR_LEN);
			/* how long it took is known only to lie between the last
			 * look that found the lock held and this one: keep the lower
			 * end, or, found free at the first look, less than was slept
			 * (kept as it was, the estimate could only grow) */
			w->took[w->ntook++ % RECENT] = held_at >= 0 ? held_at : first > 0 ? first * 3 / 4 : 0;
			return 0;
		}
		int64_t waited = kt_mono_us() - t0;
		held_at = waited;
		if (waited >= GIVE_UP_US || atomic_load(&srv->stop)) {
			kt_wake_post(&srv->wake, KT_WAKE_DATA);
			return 0;
		}
		if (waited >= FINE_FOR_US && step < STEP_MAX_US)
			step *= 2;
		sleep_us(step);
	}
}

static void *watch_main(void *arg)
{
	kt_server *srv = arg;
	watch_state w = {.ntook = 0};
	struct pollfd pfd = {.fd = srv->watch_fd, .events = POLLIN};

	pthread_setname_np(pthread_self(), "kt-walwatch"); /* shown by top -H and ps -L */
	/* a 50 µs sleep, not the default slack's 100 */
	prctl(PR_SET_TIMERSLACK, 10000UL, 0, 0, 0);
	if (srv->watch_shm >= 0 && !header_read(srv->watch_shm, w.seen))
		memset(w.seen, 0, sizeof w.seen);
	while (!atomic_load(&srv->stop)) {
		if (poll(&pfd, 1, 200) <= 0)
			continue; /* time-out: look at the stop flag again */
		int64_t t0 = kt_mono_us();
		if (drain(srv->watch_fd))
			break;
		/* while our own writer holds the write lock, the WAL writes are its
		 * own (or a commit from just before, which its hand-back ingests):
		 * do not wake the loop for each page it writes. The flag is raised
		 * before the writer is looked at, never after: raised after, a
		 * writer that finished in between would not see it, and another
		 * process's commit would wait for the next write to be streamed. */
		atomic_store(&srv->wal_events_skipped, 1);
		if (atomic_load(&srv->writer_busy)) {
			sleep_us(1000);
			continue;
		}
		atomic_store(&srv->wal_events_skipped, 0);
		if (srv->watch_shm >= 0) {
			if (wait_published(srv, &w, t0))
				break;
			continue;
		}
		/* no wal-index to read: wake the loop now, which looks again
		 * until the commit is readable; let the kernel merge a commit's
		 * many events meanwhile (costs at most 1 ms of latency) */
		kt_wake_post(&srv->wake, KT_WAKE_DATA);
		sleep_us(1000);
	}
	return NULL;
}

void walwatch_start(kt_server *srv)
{
	char path[4096];
	snprintf(path, sizeof path, "%s-wal", srv->db_path);
	srv->watch_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (srv->watch_fd < 0 || inotify_add_watch(srv->watch_fd, path, IN_MODIFY) < 0) {
		kt_warn("inotify unavailable; changes by other processes are polled every 250 ms");
		if (srv->watch_fd >= 0)
			close(srv->watch_fd);
		srv->watch_fd = -1;
		return;
	}
	snprintf(path, sizeof path, "%s-shm", srv->db_path);
	srv->watch_shm = open(path, O_RDONLY | O_CLOEXEC);
	if (srv->watch_shm < 0)
		kt_warn("cannot read the wal-index (%s): commits by other processes are found up to a few ms later",
			strerror(errno));
	srv->watching = pthread_create(&srv->watch_thread, NULL, watch_main, srv) == 0;
}

void walwatch_stop(kt_server *srv)
{
	if (srv->watching)
		pthread_join(srv->watch_thread, NULL); /* it looks at the stop flag every 200 ms */
	srv->watching = false;
	if (srv->watch_fd >= 0)
		close(srv->watch_fd);
	srv->watch_fd = -1;
}

void walwatch_close(kt_server *srv)
{
	if (srv->watch_shm >= 0)
		close(srv->watch_shm);
	srv->watch_shm = -1;
}
