/* password.c - see password.h. The common list is a sorted array generated
 * at build time (server/data/gen_common_passwords.cmake). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "kt_err.h"
#include "kt_limits.h"
#include "domain/password.h"

extern const size_t kt_common_password_count;
extern const char *const kt_common_passwords[];

static int cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int password_is_common(const char *pw, size_t len)
{
	char low[KT_MAX_PASSWORD + 1];
	const char *key = low;
	int found;
	if (len > KT_MAX_PASSWORD)
		return 0;
	for (size_t i = 0; i < len; i++)
		low[i] = pw[i] >= 'A' && pw[i] <= 'Z' ? (char)(pw[i] + 32) : pw[i];
	low[len] = 0;
	found = bsearch(&key, kt_common_passwords, kt_common_password_count, sizeof *kt_common_passwords, cmp) != NULL;
	sodium_memzero(low, sizeof low);
	return found;
}

/* Decode one UTF-8 sequence (input already validated); returns its length. */
static size_t utf8_next(const unsigned char *s, size_t left, uint32_t *cp)
{
	if (s[0] < 0x80 || left < 2) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		*cp = (uint32_t)(s[0] & 0x1f) << 6 | (s[1] & 0x3f);
		return 2;
	}
	if ((s[0] & 0xf0) == 0xe0 && left >= 3) {
		*cp = (uint32_t)(s[0] & 0x0f) << 12 | (uint32_t)(s[1] & 0x3f) << 6 | (s[2] & 0x3f);
		return 3;
	}
	if (left >= 4) {
		*cp = (uint32_t)(s[0] & 0x07) << 18 | (uint32_t)(s[1] & 0x3f) << 12 | (uint32_t)(s[2] & 0x3f) << 6 |
		      (s[3] & 0x3f);
		return 4;
	}
	*cp = s[0];
	return 1;
}

/* Case of a letter in the ranges salons here meet (ASCII, Latin-1, Latin
 * Extended-A): 1 upper, -1 lower, 0 neither. In Latin Extended-A the pairs
 * alternate upper/lower, with the parity shifted in 0139-0148 and 0179-017E. */
static int letter_case(uint32_t c)
{
	if (c >= 'A' && c <= 'Z')
		return 1;
	if (c >= 'a' && c <= 'z')
		return -1;
	if (c >= 0xc0 && c <= 0xde && c != 0xd7)
		return 1;
	if (c >= 0xdf && c <= 0xff && c != 0xf7)
		return -1;
	if (c >= 0x100 && c <= 0x17f) {
		if (c == 0x138 || c == 0x149 || c == 0x17f)
			return -1;
		if (c == 0x178)
			return 1;
		bool odd_upper = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e);
		return (c & 1) == odd_upper ? 1 : -1;
	}
	return 0;
}

int password_check(const char *pw, size_t len)
{
	const unsigned char *s = (const unsigned char *)pw;
	size_t chars = 0;
	bool upper = false, lower = false, digit = false;
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		i += utf8_next(s + i, len - i, &cp);
		chars++;
		int lc = letter_case(cp);
		upper |= lc > 0;
		lower |= lc < 0;
		digit |= cp >= '0' && cp <= '9';
	}
	if (chars < 8)
		return KT_EPW_TOO_SHORT;
	if (!lower)
		return KT_EPW_NO_LOWER;
	if (!upper)
		return KT_EPW_NO_UPPER;
	if (!digit)
		return KT_EPW_NO_DIGIT;
	if (password_is_common(pw, len))
		return KT_EPW_COMMON;
	return KT_OK;
}

const char *password_rule_text(int rc)
{
	switch (rc) {
	case KT_EPW_TOO_SHORT: return "rule min_length: at least 8 characters";
	case KT_EPW_NO_UPPER: return "rule upper: needs an upper-case letter";
	case KT_EPW_NO_LOWER: return "rule lower: needs a lower-case letter";
	case KT_EPW_NO_DIGIT: return "rule digit: needs a digit";
	case KT_EPW_COMMON: return "rule not_common: this password is on the list of common passwords";
	default: return NULL;
	}
}
