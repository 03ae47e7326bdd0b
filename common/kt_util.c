/* kt_util.c - clocks, ids. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>
#include "kt_util.h"

int64_t kt_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t kt_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void kt_hex(char *out, const uint8_t *in, size_t n)
{
	static const char d[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[in[i] >> 4];
		out[2 * i + 1] = d[in[i] & 15];
	}
	out[2 * n] = 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool kt_unhex(uint8_t *out, size_t n, const char *hex, size_t hexlen)
{
	if (hexlen != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

void kt_uuid7_from(char out[KT_UUID_LEN + 1], int64_t ms, const uint8_t rnd[10])
{
	uint8_t b[16];
	char hex[33];
	for (int i = 0; i < 6; i++)
		b[i] = (uint8_t)(ms >> (8 * (5 - i)));
	memcpy(b + 6, rnd, 10);
	b[6] = (uint8_t)(0x70 | (b[6] & 0x0f)); /* version 7 */
	b[8] = (uint8_t)(0x80 | (b[8] & 0x3f)); /* RFC 4122 variant */
	kt_hex(hex, b, 16);
	snprintf(out, KT_UUID_LEN + 1, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16,
		 hex + 20);
}

void kt_uuid7(char out[KT_UUID_LEN + 1])
{
	uint8_t rnd[10];
	randombytes_buf(rnd, sizeof rnd);
	kt_uuid7_from(out, kt_now_ms(), rnd);
}

bool kt_uuid_valid(const char *s, size_t len)
{
	if (len != KT_UUID_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return true;
}

bool kt_uuid_list_valid(const char *s)
{
	while (*s) {
		size_t n = strcspn(s, ",");
		if (!kt_uuid_valid(s, n))
			return false;
		s += n + (s[n] == ',');
	}
	return true;
}

char *kt_strndup(const char *s, size_t n)
{
	char *p = malloc(n + 1);
	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = 0;
	return p;
}

bool kt_parse_int(const char *s, int lo, int hi, int *out)
{
	char *end;
	if (!((*s >= '0' && *s <= '9') || *s == '-' || *s == '+')) /* strtol would skip blanks */
		return false;
	errno = 0;
	long n = strtol(s, &end, 10);
	if (errno || *end || end == s || n < lo || n > hi)
		return false;
	*out = (int)n;
	return true;
}

size_t kt_strcpy_cut(char *dst, size_t cap, const char *src)
{
	size_t n = src ? strnlen(src, cap ? cap - 1 : 0) : 0;
	if (!cap)
		return 0;
	if (n)
		memcpy(dst, src, n);
	dst[n] = 0;
	return n;
}

size_t kt_i64_text(char out[KT_I64_TEXT], int64_t v)
{
	char tmp[KT_I64_TEXT];
	/* in unsigned arithmetic, so that INT64_MIN negates */
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	size_t n = 0, len = 0;
	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		out[len++] = '-';
	while (n)
		out[len++] = tmp[--n];
	out[len] = 0;
	return len;
}

const char *kt_arg_value(int argc, char **argv, const char *name)
{
	for (int i = 0; i < argc - 1; i++)
		if (!strcmp(argv[i], name))
			return argv[i + 1];
	return NULL;
}

bool kt_arg_flag(int argc, char **argv, const char *name)
{
	for (int i = 0; i < argc; i++)
		if (!strcmp(argv[i], name))
			return true;
	return false;
}
