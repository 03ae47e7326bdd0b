/* password.h - the password rule for portal accounts and password changes:
 * at least 8 characters, an upper-case letter, a lower-case letter, a digit, and not on the list of common passwords compiled in from
 * server/data/common-passwords.txt. Never logs a password. */
#ifndef KT_PASSWORD_H
#define KT_PASSWORD_H

#include <stddef.h>

/* KT_OK, or the first rule that fails, checked in this order:
 * KT_EPW_TOO_SHORT, KT_EPW_NO_LOWER, KT_EPW_NO_UPPER, KT_EPW_NO_DIGIT,
 * KT_EPW_COMMON. pw is UTF-8 (already validated), not NUL-terminated;
 * length counts characters, not bytes. Letters are ASCII, Latin-1 and
 * Latin Extended-A (so "Č" and "ž" count). */
int password_check(const char *pw, size_t len);

/* True when the lower-case (ASCII) form of pw is on the common list. */
int password_is_common(const char *pw, size_t len);

/* The rule a password_check code names, for people ("rule digit: needs a
 * digit"); NULL for other codes. */
const char *password_rule_text(int rc);

#endif
