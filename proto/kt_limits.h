/* kt_limits.h - every protocol limit in one place. proto/PROTOCOL.md section
 * "Limits" repeats these numbers; change both together. Limits before sign-in
 * are deliberately small: an unauthenticated peer can make us hold little. */
#ifndef KT_LIMITS_H
#define KT_LIMITS_H

#define KT_PROTO_VERSION 1
#define KT_SUBPROTOCOL "kartoteka.v1"

/* inbound frames (device -> server) */
#define KT_MAX_FRAME_PREAUTH 4096      /* bytes, whole message, before sign-in */
#define KT_MAX_FRAME (1024 * 1024)     /* bytes, whole message, after sign-in */
#define KT_MAX_DEPTH 8                 /* nested containers in one message */
#define KT_MAX_STR_PREAUTH 512         /* bytes in one string before sign-in */
#define KT_MAX_STR (64 * 1024)         /* bytes in one string after sign-in */
#define KT_MAX_EMAIL 254
#define KT_MAX_PASSWORD 256
#define KT_MAX_APP 64
#define KT_MAX_CURSOR 128              /* bytes of an opaque cursor */
#define KT_MAX_TOKEN 128               /* chars of a session token */

/* manage: the setup ops (invite_staff, find_clients) */
#define KT_MANAGE_MAX_LOCATIONS 64     /* location ids in one invite_staff */
#define KT_MANAGE_MAX_TEXT 200         /* bytes in a name, address, phone, search text */
#define KT_MANAGE_MAX_NOTICE (64 * 1024) /* bytes of set_privacy_notice's text (its only long field) */
#define KT_MANAGE_FIND_MAX 100         /* cards one find_clients answers with */
#define KT_MANAGE_FIND_SCAN 2000       /* sealed cards one find_clients opens (on the event loop) */

/* pushes (device -> server) */
#define KT_PUSH_MAX 500                /* mutations in one push */

/* outbound batching (server -> device) */
#define KT_PAGE_ROWS 1000              /* rows per snapshot page */
#define KT_BATCH_OPS 500               /* ops per changes message */
#define KT_OUT_SOFT_BYTES (256 * 1024) /* a page/batch is closed once it passes this */
#define KT_MAX_OUT_FRAME (2 * 1024 * 1024) /* client-side cap on one server message */

/* privacy export over the protocol (privacy_result, op "export"): the JSON
 * document goes in parts of at most this many bytes, one after the other,
 * as many as it takes */
#define KT_EXPORT_PART_BYTES (1024 * 1024)

/* time limits */
#define KT_AUTH_DEADLINE_MS 10000      /* hello + successful sign-in within this */
#define KT_IDLE_TIMEOUT_S 120          /* no traffic (incl. ws ping/pong) -> close */
#define KT_SESSION_TTL_S (30 * 24 * 3600)

/* sign-in throttling */
#define KT_MAX_AUTH_FAILS_PER_CONN 5   /* then the connection is closed */
#define KT_THROTTLE_ACCOUNT_FREE 5     /* failures per account before lock-out */
#define KT_THROTTLE_ADDR_FREE 20       /* failures per address before lock-out */
#define KT_THROTTLE_MAX_LOCK_S 900     /* lock-out doubles from 1 s up to this */
#define KT_THROTTLE_REPLY_MS 1000     /* a throttled login is answered after this */
#define KT_THROTTLE_ENTRIES 65536      /* throttle table: accounts, addresses, sign-in addresses (48 B each) */
#define KT_AUTH_WORKERS 2              /* Argon2id worker threads */
#define KT_CTL_PAUSE 16                /* answers waiting for a peer: stop reading it */
#define KT_CTL_MAX 1024                /* never reached while paused; beyond -> close 1008 busy */
#define KT_AUTH_QUEUE 64               /* queued sign-ins; beyond -> busy */

/* portal accounts; proto/PROTOCOL.md §10 repeats these */
#define KT_SETUP_TOKEN_HEX 64             /* chars of a setup token in a link */
#define KT_FORGOT_PER_EMAIL_MS 60000      /* at most one reset link per e-mail per minute */
#define KT_FORGOT_PER_ADDR 10             /* portal_forgot requests per address ... */
#define KT_PORTAL_ADDR_WINDOW_MS 600000   /* ... per ten minutes */
#define KT_SETUP_BAD_TOKENS_PER_ADDR 20   /* unknown setup tokens per address per ten minutes */
#define KT_CHANGE_PW_FAILS 5              /* wrong old passwords per account ... */
#define KT_CHANGE_PW_WINDOW_MS 900000     /* ... per fifteen minutes */
#define KT_PORTAL_QUEUE 16                /* password jobs waiting for the worker; beyond -> busy */

/* what a portal client may write (proto/PROTOCOL.md, "Rate limits"); the
 * rows it writes are permanent (audit entries, consent history) */
#define KT_CLIENT_PUSH_ITEMS 120          /* mutations + events a portal client pushes ... */
#define KT_CLIENT_PUSH_WINDOW_MS 60000    /* ... per minute, over all its connections; then rate_limited */
#define KT_CLIENT_CONSENTS 20             /* consent entries a portal client records ... */
#define KT_CLIENT_CONSENT_WINDOW_MS 3600000 /* ... per hour; then the mutation is rejected rate_limited */
#define KT_VIEWED_DEDUP_MS 900000         /* one 'viewed' audit entry per person, row and 15 minutes */

/* one-purpose links in messages (PROTOCOL-links.md): the message `link`
 * before sign-in. Its text (a review) may be longer than other strings
 * before sign-in; the frame limit stays KT_MAX_FRAME_PREAUTH. */
#define KT_LINK_TOKEN_CHARS 22            /* base64url of 16 random bytes */
#define KT_LINK_MAX_TEXT 2000             /* bytes of `text` in a link act */
#define KT_LINK_PER_ADDR 60               /* link messages per address ... */
#define KT_LINK_BAD_PER_ADDR 10           /* ... unknown tokens per address (also by POST) ... */
#define KT_LINK_ADDR_WINDOW_MS 600000     /* ... per ten minutes; then rate_limited */
#define KT_LINK_POST_BODY 512             /* bytes of a one-click unsubscribe POST body */

#endif
