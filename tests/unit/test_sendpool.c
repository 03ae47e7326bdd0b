/* The fan-out's sender threads (net/sendpool.h) on socket pairs: every
 * item's bytes reach its own socket whole and once, whichever thread sent
 * them; a full socket and a closed one come back as results for the loop;
 * what the pool refuses to take; the send_threads key. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>
#include "kt_err.h"
#include "net/sendpool.h"

#define NSOCK 200
#define NFULL 16

static int pair[NSOCK][2];

static void open_pairs(int n)
{
	for (int i = 0; i < n; i++) {
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, pair[i]), 0);
		fcntl(pair[i][0], F_SETFL, O_NONBLOCK);
		fcntl(pair[i][1], F_SETFL, O_NONBLOCK);
	}
}

static void close_pairs(int n)
{
	for (int i = 0; i < n; i++) {
		close(pair[i][0]);
		close(pair[i][1]);
	}
}

/* item i's bytes in batch b: its length and content differ per socket */
static size_t fill(unsigned char *buf, int i, int b)
{
	size_t len = 100 + (size_t)((i * 37 + b * 11) % 900);
	for (size_t k = 0; k < len; k++)
		buf[k] = (unsigned char)(i * 7 + b * 3 + k);
	return len;
}

static void expect_received(int i, int b)
{
	unsigned char want[1024], got[2048];
	size_t len = fill(want, i, b);
	ssize_t n = read(pair[i][1], got, sizeof got);
	assert_int_equal(n, (ssize_t)len);
	assert_memory_equal(got, want, len);
	assert_int_equal(read(pair[i][1], got, sizeof got), -1); /* nothing more: sent once */
	assert_int_equal(errno, EAGAIN);
}

static void batches_with(int threads)
{
	kt_sendpool *p = sendpool_new(threads);
	assert_non_null(p);
	assert_int_equal(sendpool_threads(p), threads);
	open_pairs(NSOCK);
	for (int b = 0; b < 3; b++) { /* the blocks and the item array are reused */
		unsigned char buf[1024];
		assert_int_equal(sendpool_begin(p, NSOCK), KT_OK);
		for (int i = 0; i < NSOCK; i++) {
			size_t len = fill(buf, i, b);
			assert_int_equal(sendpool_add(p, pair[i][0], buf, len, &pair[i]), i);
		}
		sendpool_finish(p);
		assert_int_equal(sendpool_count(p), NSOCK);
		for (int i = 0; i < NSOCK; i++) {
			const unsigned char *data;
			size_t len;
			void *tag;
			ssize_t res = sendpool_result(p, i, &data, &len, &tag);
			assert_int_equal(res, (ssize_t)len);
			assert_ptr_equal(tag, &pair[i]);
			assert_int_equal(len, fill(buf, i, b));
			assert_memory_equal(data, buf, len);
			expect_received(i, b);
		}
	}
	close_pairs(NSOCK);
	sendpool_free(p);
}

static void test_every_item_reaches_its_socket_once(void **state)
{
	(void)state;
	batches_with(1);
	batches_with(3);
}

static void test_without_threads_the_caller_sends(void **state)
{
	(void)state;
	batches_with(0);
}

/* A socket whose buffer is full takes part or none; a socket whose peer is
 * gone fails. Both are the loop's to handle, and the others go out. */
static void test_full_and_closed_sockets_come_back(void **state)
{
	(void)state;
	kt_sendpool *p = sendpool_new(1);
	static unsigned char big[16 * 1024], fillbuf[4096];
	memset(big, 'b', sizeof big);
	memset(fillbuf, 'f', sizeof fillbuf);
	open_pairs(NFULL);
	/* socket 0: fill it until the kernel takes nothing more */
	while (send(pair[0][0], fillbuf, sizeof fillbuf, MSG_DONTWAIT) > 0)
		;
	/* socket 1: its peer is gone */
	close(pair[1][1]);
	pair[1][1] = -1;
	assert_int_equal(sendpool_begin(p, NFULL), KT_OK);
	for (int i = 0; i < NFULL; i++)
		assert_int_equal(sendpool_add(p, pair[i][0], big, i < 2 ? sizeof big : 500, NULL), i);
	sendpool_finish(p);
	const unsigned char *data;
	size_t len;
	void *tag;
	ssize_t res = sendpool_result(p, 0, &data, &len, &tag);
	assert_true(res == -EAGAIN || (res >= 0 && res < (ssize_t)len));
	assert_int_equal(sendpool_result(p, 1, &data, &len, &tag), -EPIPE); /* and no SIGPIPE */
	for (int i = 2; i < NFULL; i++)
		assert_int_equal(sendpool_result(p, i, &data, &len, &tag), 500);
	close_pairs(NFULL);
	sendpool_free(p);
}

static void test_what_the_pool_does_not_take(void **state)
{
	(void)state;
	kt_sendpool *p = sendpool_new(1);
	static unsigned char big[16 * 1024 + 1];
	open_pairs(3);
	assert_int_equal(sendpool_begin(p, 2), KT_OK);
	/* larger than an item may be: the caller sends it */
	assert_int_equal(sendpool_add(p, pair[0][0], big, sizeof big, NULL), -1);
	assert_int_equal(sendpool_add(p, pair[0][0], big, 10, NULL), 0);
	assert_int_equal(sendpool_add(p, pair[1][0], big, 10, NULL), 1);
	/* more than the batch was begun for */
	assert_int_equal(sendpool_add(p, pair[2][0], big, 10, NULL), -1);
	sendpool_finish(p);
	assert_int_equal(sendpool_count(p), 2);
	close_pairs(3);
	sendpool_free(p);
	sendpool_free(NULL);
}

static void test_send_threads_key(void **state)
{
	(void)state;
	const char *why = NULL;
	assert_int_equal(sendpool_config_set("drain_timeout_s", "5", &why), 1);
	assert_int_equal(sendpool_config_set("send_threads", "2", &why), 0);
	assert_int_equal(sendpool_configured_threads(), 2);
	assert_int_equal(sendpool_config_set("send_threads", "0", &why), 0);
	assert_int_equal(sendpool_configured_threads(), 0);
	const char *bad[] = {"9", "-1", "two", "", "1x"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		why = NULL;
		assert_int_equal(sendpool_config_set("send_threads", bad[i], &why), -1);
		assert_string_equal(why, "auto, or a whole number of threads, 0 to 8");
	}
	assert_int_equal(sendpool_configured_threads(), 0); /* a bad value changed nothing */
	assert_int_equal(sendpool_config_set("send_threads", "auto", &why), 0);
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int want = cpus <= 1 ? 0 : cpus - 1 > 3 ? 3 : (int)cpus - 1;
	assert_int_equal(sendpool_configured_threads(), want);

	assert_int_equal(sendpool_min_devices(), KT_SENDPOOL_MIN_DEVICES);
	assert_int_equal(sendpool_config_set("send_threads_min_devices", "16", &why), 0);
	assert_int_equal(sendpool_min_devices(), 16);
	const char *bad_min[] = {"1", "100001", "many", ""};
	for (size_t i = 0; i < sizeof bad_min / sizeof bad_min[0]; i++) {
		why = NULL;
		assert_int_equal(sendpool_config_set("send_threads_min_devices", bad_min[i], &why), -1);
		assert_string_equal(why, "a whole number of devices, 2 to 100000");
	}
	assert_int_equal(sendpool_min_devices(), 16);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_item_reaches_its_socket_once),
		cmocka_unit_test(test_without_threads_the_caller_sends),
		cmocka_unit_test(test_full_and_closed_sockets_come_back),
		cmocka_unit_test(test_what_the_pool_does_not_take),
		cmocka_unit_test(test_send_threads_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
