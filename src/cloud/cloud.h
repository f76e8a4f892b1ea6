/* The backend side of the daemon: the OCPP session on the daemon's loop,
 * its station model filled from the site model, its durable queue in the
 * store, its callbacks turned into southbound commands and settings, and
 * the charging profiles (smart-charging engine, persisted in the store)
 * turned into caps for the balancer.  Everything runs on the loop. */
#ifndef EDGE_CLOUD_H
#define EDGE_CLOUD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct daemon;
struct lws_context_creation_info;

/* Before the lws context exists: checks the session settings (the
 * configuration's, then the values the backend set and the store kept)
 * and fills info's protocols and TLS material.  extra is the daemon's own
 * protocol list (terminated), appended after the session's.  Returns 0,
 * or -1 with *cause.  Does nothing when no backend is configured. */
int cloud_prepare(struct daemon *d, struct lws_context_creation_info *info,
    const void *extra_protocols, char **cause);
/* Loads the stored profiles and creates the session (it connects on the
 * next service).  Returns 0, or -1 with *cause. */
int cloud_init(struct daemon *d, char **cause);
/* Closes the session and frees the profiles. */
void cloud_finalise(struct daemon *d);
/* Puts the latest readings into the station model and runs the session's
 * timers; call every 100 ms or so. */
void cloud_service(struct daemon *d, int64_t now_ms);
/* The open transaction id of connector k (1..n) as the backend knows it
 * into buf; false when none (or no backend). */
bool cloud_transaction(const struct daemon *d, int k, char *buf, size_t len);

/* Evaluates the profiles now and hands the caps to the site model.
 * Returns the wall-clock time (epoch ms) of the next change, or -1. */
int64_t cloud_apply_profiles(struct daemon *d);

#endif
