/* The backend side of the daemon: the OCPP session on the daemon's loop,
 * its station model filled from the site model, its durable queue in the
 * store, its callbacks turned into southbound commands and settings, and
 * the charging profiles (smart-charging engine, persisted in the store)
 * turned into caps for the site model.  An object made by cloud_new()
 * with the loop's services; everything runs on the loop. */
#ifndef EDGE_CLOUD_H
#define EDGE_CLOUD_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"

struct cfg;
struct cloud;
struct lws_context;
struct lws_context_creation_info;
struct sb;
struct services;
struct site;
struct store;

/* Before the lws context exists: checks the session settings of cfg
 * (borrowed, must outlive the object) and fills info's protocols and TLS
 * material; extra_protocols is the loop's own protocol list (terminated),
 * appended after the session's.  Without a csms url the object does
 * nothing and info gets the loop's list only.  svc is borrowed.  Returns
 * the object, or NULL with *cause (caller frees). */
struct cloud *cloud_new(const struct services *svc, const struct cfg *cfg,
    struct lws_context_creation_info *info, const void *extra_protocols,
    char **cause);
/* Applies the session keys the backend changed (kept in the store), loads
 * the stored profiles and availability, creates the session on lws (it
 * connects on its first tick) and starts its timers.  store, site and sb
 * (NULL: none) are borrowed until cloud_stop.  Returns 0, or -1 with
 * *cause. */
int cloud_start(struct cloud *c, struct lws_context *lws, struct store *store,
    struct site *site, struct sb *sb, char **cause);
/* The site (borrowed at cloud_start, the same object) was built again
 * with other connectors and sb replaced it southbound: the station model
 * follows, the session goes on (its link stays up; the kept connectors'
 * transactions go on; every status is reported again). */
void cloud_site_changed(struct cloud *c, struct sb *sb);
/* Closes the session, stops the timers and frees the profiles. */
void cloud_stop(struct cloud *c);
/* Frees c (after cloud_stop; NULL is ignored). */
void cloud_free(struct cloud *c);

/* The open transaction id of connector k (1..n) as the backend knows it
 * into buf; false when none (or no backend). */
bool cloud_transaction(const struct cloud *c, int k, char *buf, size_t len);

/* True while connector k (1..n) has an open transaction. */
bool cloud_tx_open(const struct cloud *c, int k);
/* Calls fn(arg) once the answer to the backend's call being handled has
 * been written (or the link went down).  0, or -1 when there is no link
 * (fn is not called). */
int cloud_after_answer(struct cloud *c, void (*fn)(void *arg), void *arg);

/* ResetRetries as the backend set it: how many more times a failed
 * restart is tried (0 without a backend). */
int cloud_reset_retries(const struct cloud *c);
/* Ends connector k's open transaction: its charger left the site (queued
 * durably on return).  Until the site is built again the connector counts
 * as absent: no transaction starts on it, no status is reported.  0, or
 * -1 when there was no transaction. */
int cloud_end_tx_removed(struct cloud *c, int k);

/* ---- ids.c: site connector index <-> OCPP id ---- */

/* The highest OCPP id a connector may have (as config's ocpp-id). */
#define CLOUD_IDS_MAX CFG_MAX_OCPP_ID

/* The site's connectors (index k, 0..n-1) and their OCPP ids (1.6
 * connectorId, 2.0.1 evseId), both ways; ids may leave gaps. */
struct cloud_ids {
	int n;      /* connectors */
	int max_id; /* the highest id in use; 0 with none */
	int *id_of; /* [k]: its id */
	int *k_of;  /* [id], 0..max_id: its index, -1 for none */
};

/* Builds t from ids[k], the id of connector k (n of them): each in
 * 1..CLOUD_IDS_MAX, none twice.  0, or -1 with *cause (t empty). */
int cloud_ids_init(struct cloud_ids *t, const int *ids, int n, char **cause);
/* Frees t's tables (t may be built again). */
void cloud_ids_free(struct cloud_ids *t);
/* The index of the connector with OCPP id id; -1 when none has it (0,
 * the station, a gap, out of range). */
int cloud_ids_k(const struct cloud_ids *t, int id);
/* The OCPP id of connector k; 0 when k is out of range. */
int cloud_ids_id(const struct cloud_ids *t, int k);

#endif
