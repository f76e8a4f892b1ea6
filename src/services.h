/* What the daemon's event loop offers the services it creates (the cloud,
 * the control socket): a small table of functions handed over at
 * creation, so that nothing calls back up into daemon.c.  Everything
 * runs on the loop's thread and nothing here blocks. */
#ifndef EDGE_SERVICES_H
#define EDGE_SERVICES_H

#include <stdint.h>

struct lws;
struct svc_timer;

/* A descriptor watched by the loop (a raw-file wsi of libwebsockets):
 * cb gets the lws callback reason (LWS_CALLBACK_RAW_RX_FILE, ..._WRITEABLE_
 * FILE, ..._CLOSE_FILE); a negative return closes it.  Owned by the
 * service; it must outlive the watch. */
struct svc_fd {
	int (*cb)(struct svc_fd *df, struct lws *wsi, int reason);
	struct lws *wsi;
	void *arg;
};

/* The answer to a backend's DataTransfer for the gateway's own vendorId. */
enum svc_transfer {
	SVC_TRANSFER_ACCEPTED,
	SVC_TRANSFER_REJECTED,
	SVC_TRANSFER_UNKNOWN_MESSAGE_ID,
};

struct services {
	void *ud; /* the loop's own, passed back to each function */
	/* Asks for one balancer run on the loop soon; calls coalesce. */
	void (*schedule_run)(void *ud);
	/* Stops the loop and starts the daemon again (backend Reset). */
	void (*restart)(void *ud);
	/* Watches fd with df (cb and arg set).  0, or -1 when refused. */
	int (*watch_fd)(void *ud, int fd, struct svc_fd *df);
	/* A timer that calls fire(arg) on the loop once armed; the caller
	 * frees it with timer_free. */
	struct svc_timer *(*timer_new)(void *ud, void (*fire)(void *arg),
	    void *arg);
	/* Fires t once after delay_ms (re-arming replaces the previous
	 * time); a negative delay disarms it. */
	void (*timer_arm)(struct svc_timer *t, int64_t delay_ms);
	/* Disarms and frees t (NULL is ignored). */
	void (*timer_free)(struct svc_timer *t);
	/* The site configuration from the backend (provision.c): one of
	 * SetSiteConfiguration, GetSiteConfiguration, RevertSiteConfiguration
	 * with its data (NULL: none); *reply (caller frees, may stay NULL)
	 * is the answer's data. */
	enum svc_transfer (*site_config)(void *ud, const char *message_id,
	    const char *data, char **reply);
	/* Where the site configuration in force came from: "file",
	 * "backend" or "none" (provisioning mode), the backend's version
	 * and when it was pushed (0 for the file). */
	void (*site_origin)(void *ud, const char **source, int *version,
	    int64_t *set_epoch_ms);
};

#endif
