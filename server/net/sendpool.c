/* sendpool.c - sender threads for the fan-out (sendpool.h). Items are
 * published to the senders a few at a time as the loop adds them, and
 * claimed in chunks under one mutex: a few hundred lock operations for a
 * thousand sends, each of which costs the kernel microseconds. A sender
 * never retries a partial send: what the kernel did not take goes back to
 * the loop, which hands it to lws (the same as a partial lws_write). */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "kt_util.h"
#include "kt_err.h"
#include "kt_log.h"
#include "net/sendpool.h"

#define MAX_THREADS 8
#define CLAIM 8            /* items a thread takes at once */
#define PUBLISH_EVERY 4    /* items added before the senders are told */
#define BLOCK_BYTES (256 * 1024)
/* bytes copied into one batch at most; past it, add() says no and the loop
 * sends the rest itself (a large change times many devices) */
#define BATCH_BYTES (8 * 1024 * 1024)
/* larger items are the loop's: copying them would cost about what sending does */
#define ITEM_BYTES (16 * 1024)

struct item {
	int fd;
	size_t len;
	const unsigned char *data;
	void *tag;
	ssize_t res;
};

struct block {
	struct block *next;
	size_t cap, used;
	unsigned char data[];
};

struct kt_sendpool {
	pthread_mutex_t mu;
	pthread_cond_t work; /* items published, or stop */
	pthread_cond_t idle; /* the batch's last item done */
	pthread_t th[MAX_THREADS];
	int nthreads;
	int waiting;         /* senders asleep on work */
	bool stop;
	/* under mu: the batch as the senders see it */
	int published, next, done;
	bool closed;         /* finish() has published the last item */
	/* the loop's own */
	struct item *items;
	int count, cap;
	struct block *blocks, *cur;
	size_t bytes;
};

static void send_item(struct item *it)
{
	ssize_t n;
	do
		n = send(it->fd, it->data, it->len, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	it->res = n < 0 ? -(ssize_t)errno : n;
}

/* Claim up to CLAIM published items and send them; mu held on entry and
 * on return. Returns false when nothing was left to claim. */
static bool claim_and_send(kt_sendpool *p)
{
	if (p->next >= p->published)
		return false;
	int a = p->next, b = a + CLAIM < p->published ? a + CLAIM : p->published;
	p->next = b;
	struct item *items = p->items;
	pthread_mutex_unlock(&p->mu);
	for (int i = a; i < b; i++)
		send_item(&items[i]);
	pthread_mutex_lock(&p->mu);
	p->done += b - a;
	if (p->closed && p->done == p->published)
		pthread_cond_signal(&p->idle);
	return true;
}

static void *sender_main(void *arg)
{
	kt_sendpool *p = arg;
	pthread_mutex_lock(&p->mu);
	while (!p->stop) {
		if (claim_and_send(p))
			continue;
		p->waiting++;
		pthread_cond_wait(&p->work, &p->mu);
		p->waiting--;
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static int configured = -1; /* auto */
static int min_devices = KT_SENDPOOL_MIN_DEVICES;

int sendpool_config_set(const char *k, const char *v, const char **why)
{
	if (!strcmp(k, "send_threads_min_devices")) {
		if (!kt_parse_int(v, 2, 100000, &min_devices)) {
			*why = "a whole number of devices, 2 to 100000";
			return -1;
		}
		return 0;
	}
	if (strcmp(k, "send_threads"))
		return 1;
	if (!strcmp(v, "auto")) {
		configured = -1;
		return 0;
	}
	if (!kt_parse_int(v, 0, MAX_THREADS, &configured)) {
		*why = "auto, or a whole number of threads, 0 to 8";
		return -1;
	}
	return 0;
}

int sendpool_min_devices(void)
{
	return min_devices;
}

int sendpool_configured_threads(void)
{
	if (configured >= 0)
		return configured;
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n <= 1)
		return 0;
	return n - 1 > 3 ? 3 : (int)(n - 1);
}

kt_sendpool *sendpool_new(int threads)
{
	kt_sendpool *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->idle, NULL);
	if (threads > MAX_THREADS)
		threads = MAX_THREADS;
	for (int i = 0; i < threads; i++) {
		int rc = pthread_create(&p->th[p->nthreads], NULL, sender_main, p);
		if (rc) {
			kt_warn("cannot start a sender thread (%s): the fan-out sends on %d", strerror(rc),
				p->nthreads + 1);
			break;
		}
		p->nthreads++;
	}
	return p;
}

void sendpool_free(kt_sendpool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < p->nthreads; i++)
		pthread_join(p->th[i], NULL);
	pthread_cond_destroy(&p->idle);
	pthread_cond_destroy(&p->work);
	pthread_mutex_destroy(&p->mu);
	for (struct block *b = p->blocks, *nx; b; b = nx) {
		nx = b->next;
		free(b);
	}
	free(p->items);
	free(p);
}

int sendpool_threads(const kt_sendpool *p)
{
	return p ? p->nthreads : 0;
}

int sendpool_begin(kt_sendpool *p, int expect)
{
	/* the senders hold no index between batches (done == published), so
	 * the item array may move here */
	if (expect > p->cap) {
		struct item *ni = realloc(p->items, (size_t)expect * sizeof *ni);
		if (!ni)
			return KT_ENOMEM;
		p->items = ni;
		p->cap = expect;
	}
	for (struct block *b = p->blocks; b; b = b->next)
		b->used = 0;
	p->cur = p->blocks;
	p->count = 0;
	p->bytes = 0;
	pthread_mutex_lock(&p->mu);
	p->published = p->next = p->done = 0;
	p->closed = false;
	pthread_mutex_unlock(&p->mu);
	return KT_OK;
}

/* room for len bytes in the batch's blocks (kept from batch to batch) */
static unsigned char *room(kt_sendpool *p, size_t len)
{
	while (p->cur && p->cur->cap - p->cur->used < len)
		p->cur = p->cur->next;
	if (!p->cur) {
		struct block *b = malloc(sizeof *b + BLOCK_BYTES);
		if (!b)
			return NULL;
		b->cap = BLOCK_BYTES;
		b->used = 0;
		b->next = p->blocks; /* blocks before it are full or too small */
		p->blocks = b;
		p->cur = b;
	}
	unsigned char *at = p->cur->data + p->cur->used;
	p->cur->used += len;
	return at;
}

static void publish(kt_sendpool *p, bool last)
{
	pthread_mutex_lock(&p->mu);
	p->published = p->count;
	p->closed = last;
	if (p->waiting)
		pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
}

int sendpool_add(kt_sendpool *p, int fd, const void *data, size_t len, void *tag)
{
	if (p->count >= p->cap || len > ITEM_BYTES || p->bytes + len > BATCH_BYTES)
		return -1;
	unsigned char *at = room(p, len);
	if (!at)
		return -1;
	memcpy(at, data, len);
	p->bytes += len;
	struct item *it = &p->items[p->count];
	*it = (struct item){.fd = fd, .len = len, .data = at, .tag = tag, .res = 0};
	int i = p->count++;
	if (p->count % PUBLISH_EVERY == 0 || p->count == 1)
		publish(p, false);
	return i;
}

void sendpool_finish(kt_sendpool *p)
{
	publish(p, true);
	pthread_mutex_lock(&p->mu);
	while (claim_and_send(p))
		;
	while (p->done < p->published)
		pthread_cond_wait(&p->idle, &p->mu);
	pthread_mutex_unlock(&p->mu);
}

int sendpool_count(const kt_sendpool *p)
{
	return p->count;
}

ssize_t sendpool_result(const kt_sendpool *p, int i, const unsigned char **data, size_t *len, void **tag)
{
	const struct item *it = &p->items[i];
	*data = it->data;
	*len = it->len;
	*tag = it->tag;
	return it->res;
}
