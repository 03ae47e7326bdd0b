/* hourly.h - a pass of serve's that runs on a thread of its own, with its
 * own database connection, once at start and then every hour until stopped
 * (the birthday greetings, retention). Short transactions inside the pass
 * keep the writer's pushes from waiting. */
#ifndef KT_DOMAIN_HOURLY_H
#define KT_DOMAIN_HOURLY_H
#include "db/store.h"

typedef struct kt_hourly kt_hourly;
typedef void (*kt_hourly_fn)(kt_store *st);

/* Opens db_path and starts the thread (named for top and gdb); *out is the
 * caller's until hourly_stop. */
int hourly_start(const char *db_path, const char *thread_name, kt_hourly_fn fn, kt_hourly **out) KT_MUST_CHECK;
/* Wakes the thread, waits for the pass in hand to end, closes. NULL is fine. */
void hourly_stop(kt_hourly *h);

#endif
