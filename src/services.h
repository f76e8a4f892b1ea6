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
};

#endif
