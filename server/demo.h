/* demo.h - deterministic demo salon data. */
#ifndef KT_DEMO_H
#define KT_DEMO_H
#include <stdio.h>
#include "store.h"
int demo_populate(kt_store *st, uint64_t seed, FILE *out) KT_MUST_CHECK;
#endif
