/* init_demo.h - a deterministic demo salon business for a fresh database, so a
 * newcomer (and the integration tests) can sign in and see realistic data. */
#ifndef KT_DEMO_H
#define KT_DEMO_H

#include <stdint.h>
#include <stdio.h>
#include "db/store.h"

/* Fill st (schema applied, no data yet) with one organisation, 2 locations,
 * 9 staff, a service menu, 500 clients (20 with portal accounts), 5,000
 * appointments over the past 6 and next 3 months and the visits of the past
 * ones. Everything but the dates (which follow today's date) is the same for
 * the same seed, ids included. All rows go through store_insert/store_link_*
 * in one transaction: on failure nothing is written.
 *
 * After the commit, writes the sign-ins to out as tab-separated lines: the
 * header "role\tlocation\temail\tpassword\tname", one line per staff member
 * (location "*" for the owner), then one per portal client (role "client",
 * location = home branch). Nothing else goes to out; out is borrowed and
 * flushed, not closed. Returns KT_OK or a kt_err code (KT_EIO also when
 * writing to out failed after the data was committed). */
int demo_populate(kt_store *st, uint64_t seed, FILE *out) KT_MUST_CHECK;

/* The most organisations demo_populate_orgs makes. */
#define DEMO_MAX_ORGS 2

/* Like demo_populate, with norgs (1..DEMO_MAX_ORGS) independent organisations
 * of the same shape in the one transaction: the first is exactly
 * demo_populate's ("Studio Lepota d.o.o."), the second "Salon Svila d.o.o."
 * (its own locations, staff of every role, clients, portal clients,
 * appointments, visits and consents; e-mail domains of its own). With
 * norgs > 1 the sign-in table has a last column "organisation" (the
 * organisation's name), and lists the first organisation's accounts first.
 * norgs out of range: KT_EINVALID, nothing written. */
int demo_populate_orgs(kt_store *st, uint64_t seed, int norgs, FILE *out) KT_MUST_CHECK;

#endif
