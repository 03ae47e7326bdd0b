/* phone.h - phone numbers in E.164 (+38641123456), through Google's
 * libphonenumber (C++, wrapped in phone.cc). Local forms ("041 123 456")
 * are read in the given country's numbering plan. Never reads the database. */
#ifndef KT_PHONE_H
#define KT_PHONE_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Is region a two-letter country code libphonenumber knows (SI, DE, PL, FI, ...)? */
bool phone_region_valid(const char *region);

/* text in local or international form, read with region's plan, into
 * out as E.164. 0 on success; -1 when text is not a valid number (out
 * untouched) or out is too small. */
int phone_e164(const char *text, const char *region, char *out, size_t cap);

#ifdef __cplusplus
}
#endif

#endif
