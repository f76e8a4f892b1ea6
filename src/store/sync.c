/* The store's sync thread: makes commits taken with synchronous=NORMAL
 * (charging profiles, attempt counters) power-cut durable off the event
 * loop, and checkpoints the WAL, so that the loop's thread never waits for
 * a sync except for the commits that must be durable before they return
 * (synchronous=FULL: transaction messages and the state riding with them).
 *
 * In WAL mode a NORMAL commit is in the WAL file (the operating system's
 * page cache) when it returns: a crash or kill -9 of the process keeps
 * it, a power cut may roll it back.  The main connection's WAL hook asks
 * this thread for a sync after each such commit; the thread syncs the WAL
 * through a connection of its own (SQLite's file handle for the WAL, its
 * xSync), so every commit made before the sync starts is on stable storage
 * when it ends.  A sync starts STORE_SYNC_COALESCE_MS after the request
 * that woke the thread, so a burst of commits costs one; requests that
 * arrive during a sync are served together by the next one.  Automatic
 * checkpoints are off on the main connection (the WAL hook replaces them);
 * the thread runs a PASSIVE checkpoint, which never blocks a writer, when
 * the WAL has grown past STORE_WAL_CHECKPOINT_PAGES. */
#include "store/store-private.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/util.h"

struct store_syncer {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;    /* to the thread: something to do */
	pthread_cond_t done;    /* to store_sync_wait: a sync ended */
	sqlite3 *db;            /* the thread's own connection */
	/* Under lock: */
	uint64_t asked;         /* NORMAL commits made so far */
	uint64_t synced;        /* of them, known to be on stable storage */
	bool checkpoint;        /* the WAL passed the checkpoint size */
	bool stop;
	int64_t syncs;
	int64_t failures;
	int64_t first_ask_ns;   /* when the oldest request not synced came */
	int64_t window_max_ns;  /* longest request-to-synced time seen */
};

/* CLOCK_MONOTONIC in nanoseconds (the window's measure only). */
static int64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Syncs the WAL file through SQLite's handle for it on the thread's
 * connection.  SQLITE_OK or an SQLite code. */
static int
sync_wal(sqlite3 *db)
{
	sqlite3_file *f = NULL;
	int rc;

	rc = sqlite3_file_control(db, "main", SQLITE_FCNTL_JOURNAL_POINTER,
	    &f);
	if (rc != SQLITE_OK)
		return rc;
	if (f == NULL || f->pMethods == NULL)
		return SQLITE_CANTOPEN;
	return f->pMethods->xSync(f, SQLITE_SYNC_NORMAL);
}

/* Waits STORE_SYNC_COALESCE_MS (or until told to stop) with the lock
 * held by the caller; requests arriving meanwhile are only counted (they
 * do not signal a thread with work pending). */
static void
coalesce(struct store_syncer *y)
{
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_nsec += STORE_SYNC_COALESCE_MS * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	while (!y->stop && pthread_cond_timedwait(&y->wake, &y->lock,
	    &until) == 0)
		;
}

/* The thread: waits for requests, serves each batch with one sync. */
static void *
sync_main(void *arg)
{
	struct store_syncer *y = arg;

	pthread_mutex_lock(&y->lock);
	for (;;) {
		uint64_t gen;
		int64_t asked_ns;
		bool ckpt;
		int rc = SQLITE_OK;

		while (!y->stop && y->asked == y->synced && !y->checkpoint)
			pthread_cond_wait(&y->wake, &y->lock);
		if (y->asked == y->synced && !y->checkpoint)
			break;	/* stopping, nothing left */
		/* The commits of the next few milliseconds join this sync
		 * (a burst of profiles costs one). */
		if (!y->stop)
			coalesce(y);
		gen = y->asked;
		asked_ns = y->first_ask_ns;
		ckpt = y->checkpoint;
		y->checkpoint = false;
		pthread_mutex_unlock(&y->lock);

		/* A PASSIVE checkpoint syncs the WAL before copying it back
		 * and the database after; it may stop short of the newest
		 * frames (a reader), so the WAL is synced below anyway. */
		if (ckpt) {
			int ck = sqlite3_wal_checkpoint_v2(y->db, "main",
			    SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
			if (ck != SQLITE_OK && ck != SQLITE_BUSY)
				log_debug("store", "background checkpoint: %s",
				    sqlite3_errmsg(y->db));
		}
		if (gen != y->synced)
			rc = sync_wal(y->db);

		pthread_mutex_lock(&y->lock);
		if (rc != SQLITE_OK) {
			/* Counted (store_sync_stats); the next commit asks
			 * again.  The waiters are released: a disk that
			 * fails its syncs fails the FULL commits too, and
			 * those are reported where they happen. */
			y->failures++;
			log_debug("store", "background sync of the WAL: %s",
			    sqlite3_errstr(rc));
		} else if (gen != y->synced) {
			int64_t w = mono_ns() - asked_ns;

			y->syncs++;
			if (w > y->window_max_ns)
				y->window_max_ns = w;
		}
		y->synced = gen;
		/* Asked during the sync: waiting since about now. */
		if (y->asked != y->synced)
			y->first_ask_ns = mono_ns();
		pthread_cond_broadcast(&y->done);
	}
	pthread_mutex_unlock(&y->lock);
	return NULL;
}

/* The main connection's WAL hook, called after each commit on the loop's
 * thread: asks for a sync after a NORMAL commit, and for a checkpoint
 * once the WAL is large.  Takes the lock for a moment; never waits. */
static int
on_wal_commit(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct store *st = arg;
	struct store_syncer *y = st->syncer;
	bool ask, idle;

	(void)db;
	(void)name;
	ask = !st->sync_full || pages >= STORE_WAL_CHECKPOINT_PAGES;
	if (!ask)
		return SQLITE_OK;
	pthread_mutex_lock(&y->lock);
	/* A thread with work pending finds this one too: woken only from
	 * idle. */
	idle = y->asked == y->synced && !y->checkpoint;
	if (!st->sync_full) {
		if (y->asked == y->synced)
			y->first_ask_ns = mono_ns();
		y->asked++;
	}
	if (pages >= STORE_WAL_CHECKPOINT_PAGES)
		y->checkpoint = true;
	if (idle)
		pthread_cond_signal(&y->wake);
	pthread_mutex_unlock(&y->lock);
	return SQLITE_OK;
}

int
store_sync_start(struct store *st, char **cause)
{
	struct store_syncer *y;
	pthread_condattr_t ca;
	sqlite3_stmt *s = NULL;
	int rc;

	y = xcalloc(1, sizeof(*y));
	rc = sqlite3_open_v2(st->path, &y->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_busy_timeout(y->db, 200);
		/* A read opens the connection's handle for the WAL. */
		rc = sqlite3_prepare_v2(y->db, "SELECT count(*) FROM "
		    "sqlite_master", -1, &s, NULL);
		if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW)
			rc = SQLITE_OK;
		sqlite3_finalize(s);
	}
	if (rc == SQLITE_OK)
		rc = sync_wal(y->db);
	if (rc != SQLITE_OK) {
		store_set_cause(cause, "%s: opening the connection that syncs "
		    "the WAL: %s", st->path, y->db != NULL ?
		    sqlite3_errmsg(y->db) : sqlite3_errstr(rc));
		sqlite3_close(y->db);
		free(y);
		return STORE_ERR_IO;
	}
	pthread_mutex_init(&y->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&y->wake, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&y->done, NULL);
	if ((rc = pthread_create(&y->thread, NULL, sync_main, y)) != 0) {
		store_set_cause(cause, "starting the store's sync thread: %s",
		    strerror(rc));
		pthread_cond_destroy(&y->done);
		pthread_cond_destroy(&y->wake);
		pthread_mutex_destroy(&y->lock);
		sqlite3_close(y->db);
		free(y);
		return STORE_ERR_INTERNAL;
	}
	st->syncer = y;
	st->sync_full = true;
	sqlite3_wal_hook(st->db, on_wal_commit, st);
	return 0;
}

void
store_sync_stop(struct store *st)
{
	struct store_syncer *y = st->syncer;

	if (y == NULL)
		return;
	sqlite3_wal_hook(st->db, NULL, NULL);
	pthread_mutex_lock(&y->lock);
	y->stop = true;
	pthread_cond_signal(&y->wake);
	pthread_mutex_unlock(&y->lock);
	pthread_join(y->thread, NULL);
	sqlite3_close(y->db);
	pthread_cond_destroy(&y->done);
	pthread_cond_destroy(&y->wake);
	pthread_mutex_destroy(&y->lock);
	free(y);
	st->syncer = NULL;
}

void
store_sync_wait(struct store *st)
{
	struct store_syncer *y = st->syncer;
	uint64_t gen;

	if (y == NULL)
		return;
	pthread_mutex_lock(&y->lock);
	gen = y->asked;
	while (y->synced < gen)
		pthread_cond_wait(&y->done, &y->lock);
	pthread_mutex_unlock(&y->lock);
}

void
store_sync_stats(struct store *st, struct store_sync_stats *out)
{
	struct store_syncer *y = st->syncer;

	memset(out, 0, sizeof(*out));
	if (y == NULL)
		return;
	pthread_mutex_lock(&y->lock);
	out->pending = (int64_t)(y->asked - y->synced);
	out->syncs = y->syncs;
	out->failures = y->failures;
	out->window_max_us = y->window_max_ns / 1000;
	pthread_mutex_unlock(&y->lock);
}

int
store_sync_full(struct store *st, bool full, char **cause)
{
	sqlite3_stmt *s;
	int rc = 0;

	if (st->sync_full == full)
		return 0;
	if ((s = store_stmt(st, full ? SQ_SYNC_FULL : SQ_SYNC_NORMAL, &rc,
	    cause)) == NULL)
		return rc;
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return store_sqlite_error(st, rc, "setting synchronous", cause);
	st->sync_full = full;
	return 0;
}
