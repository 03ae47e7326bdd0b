/* keepalive.h - idle pings and hang-up from one sweep timer (loop thread). */
#ifndef KT_KEEPALIVE_H
#define KT_KEEPALIVE_H

#include "server.h"

void keepalive_start(kt_server *srv);
void keepalive_stop(kt_server *srv);
/* config keys ping_idle_s, idle_timeout_s: 0 set, 1 not ours, -1 bad value (*why) */
int keepalive_config_set(const char *k, const char *v, const char **why);
const char *keepalive_config_check(void); /* NULL, or what is wrong with the pair */
int keepalive_write_ping(kt_session *s);

#endif
