/* listener.h - the listener: the event loop, the WebSocket vhost, the wake-ups from
 * other threads and the WAL watcher. */
#ifndef KT_LISTENER_H
#define KT_LISTENER_H

#include "server.h"

/* Run the server until SIGINT/SIGTERM. Prints "listening on HOST:PORT". */
int server_run(const kt_serve_opts *o);

#endif
