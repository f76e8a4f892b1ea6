/* Benchmarks for src/store: durable enqueue+ack throughput, profile puts
 * and their sync window, batched meter values, the file size of queued
 * meter values and the open time of a full default-bound queue.  One line
 * per figure, with unit and target. */
#define _GNU_SOURCE
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "store/store.h"

static char dir[256];
static int failures;

/* nftw callback: removes one entry of the bench directory. */
static int
rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	return remove(p);
}

/* Opens a fresh database file named name in the bench directory, with
 * the default options. */
static struct store *
open_fresh(const char *name, char *path, size_t len)
{
	struct store *st = NULL;
	char *cause = NULL;

	snprintf(path, len, "%s/%s", dir, name);
	if (store_open(path, NULL, &st, &cause) != 0) {
		fprintf(stderr, "bench-store: %s\n", cause);
		exit(1);
	}
	return st;
}

/* Dies on a store error: a benchmark has nothing useful to say then. */
static void
check(int rc, const char *what)
{
	if (rc != 0) {
		fprintf(stderr, "bench-store: %s: %s\n", what,
		    store_strerror(rc));
		exit(1);
	}
}

/* A MeterValues payload of typical size (about 330 bytes). */
static void
meter_payload(char *buf, size_t len, int i)
{
	snprintf(buf, len, "{\"connectorId\":%d,\"meterValue\":[{\"timestamp\":"
	    "\"2026-11-26T06:%02d:%02d.000Z\",\"sampledValue\":["
	    "{\"value\":\"%d\",\"measurand\":\"Energy.Active.Import.Register\","
	    "\"unit\":\"Wh\"},{\"value\":\"%d\",\"measurand\":"
	    "\"Power.Active.Import\",\"unit\":\"W\"},{\"value\":\"%d.%d\","
	    "\"measurand\":\"Current.Import\",\"unit\":\"A\",\"phase\":\"L1\"}"
	    "]}]}", 1 + i % 200, (i / 60) % 60, i % 60, 1000000 + i * 7,
	    7000 + i % 4000, 16 + i % 16, i % 10);
}

/* Fills *m as the i-th message of a bench: kind and action as given, the
 * i-th meter payload (written into buf), no transaction, no seqNo. */
static void
bench_msg(struct store_msg *m, enum store_msg_kind kind, const char *action,
    char *buf, size_t len, int i)
{
	memset(m, 0, sizeof(*m));
	m->kind = kind;
	snprintf(m->action, sizeof(m->action), "%s", action);
	meter_payload(buf, len, i);
	m->payload = buf;
	m->connector = kind == STORE_MSG_METER ? 1 + i % 200 : 0;
}

/* Durable enqueue (fsync) then ack (fsync) of status messages. */
static void
bench_enqueue_ack(void)
{
	char path[320], payload[400];
	struct store *st = open_fresh("ea.db", path, sizeof(path));
	const int n = 2000;
	int64_t t0, t1, id;
	double rate;

	t0 = mono_now_ms();
	for (int i = 0; i < n; i++) {
		struct store_msg m;

		bench_msg(&m, STORE_MSG_OTHER, "StatusNotification", payload,
		    sizeof(payload), i);
		check(store_enqueue(st, &m, i, &id, NULL), "enqueue");
		check(store_queue_ack_with_state(st, id, NULL, NULL, NULL), "ack");
	}
	t1 = mono_now_ms();
	rate = n * 1000.0 / (double)(t1 - t0 > 0 ? t1 - t0 : 1);
	/* Draining 290,000 queued messages within an hour needs 81/s. */
	printf("store.enqueue_ack_durable: %.0f messages/s "
	    "(target > 100 messages/s)\n", rate);
	if (rate <= 100)
		failures++;
	store_close(st);
}

/* Profile puts as a backend sends them back to back, then one every
 * 50 ms: what a put costs the caller (no sync on its path), and the
 * longest time from a put to the sync thread's sync of it, the window a
 * power cut can take a profile from. */
static void
bench_profile_puts(void)
{
	char path[320], json[400];
	struct store *st = open_fresh("pp.db", path, sizeof(path));
	struct store_profile p = { 1, 0, "ChargePointMaxProfile", 0, NULL,
		json, 0, 0 };
	struct store_sync_stats ss;
	const int n = 2000, spaced = 40;
	int64_t t0, t1;

	t0 = mono_now_ms();
	for (int i = 0; i < n; i++) {
		snprintf(json, sizeof(json), "{\"connectorId\":0,"
		    "\"csChargingProfiles\":{\"chargingProfileId\":1,"
		    "\"limit\":%d}}", 30000 + i % 2 * 10000);
		check(store_profile_put(st, &p, NULL, NULL), "profile put");
	}
	t1 = mono_now_ms();
	printf("store.profile_put: %.1f us per put, %d puts back to back "
	    "(target < 100 us)\n", (double)(t1 - t0) * 1000.0 / n, n);
	for (int i = 0; i < spaced; i++) {
		snprintf(json, sizeof(json), "{\"limit\":%d}", i);
		check(store_profile_put(st, &p, NULL, NULL), "profile put");
		usleep(50000);
	}
	store_sync_wait(st);
	store_sync_stats(st, &ss);
	printf("store.profile_sync_window: max %.1f ms from a put to its sync, "
	    "%" PRId64 " syncs for %d puts, %" PRId64 " failed "
	    "(target <= 100 ms)\n", ss.window_max_us / 1000.0, ss.syncs,
	    n + spaced, ss.failures);
	if (ss.window_max_us > 100000 || ss.failures > 0)
		failures++;
	store_close(st);
}

/* Meter values arrive 10 ms apart: batched, one commit per second. */
static void
bench_meter_batched(void)
{
	char path[320], payload[400];
	struct store *st = open_fresh("mv.db", path, sizeof(path));
	struct store_queue_stats qs;
	const int n = 10000;
	int64_t t0, t1, c0;
	struct stat sb;
	double rate, per_msg;

	store_queue_stats(st, &qs);
	c0 = qs.commits;
	t0 = mono_now_ms();
	for (int i = 0; i < n; i++) {
		struct store_msg m;

		bench_msg(&m, STORE_MSG_METER, "MeterValues", payload,
		    sizeof(payload), i);
		m.created_ms = 1795672881000LL + i * 10;
		check(store_enqueue(st, &m, (int64_t)i * 10, NULL, NULL),
		    "enqueue meter value");
	}
	check(store_flush(st, (int64_t)n * 10, true, NULL), "flush");
	t1 = mono_now_ms();
	store_queue_stats(st, &qs);
	rate = n * 1000.0 / (double)(t1 - t0 > 0 ? t1 - t0 : 1);
	printf("store.meter_enqueue_batched: %.0f messages/s, %" PRId64
	    " commits for %d messages 10 ms apart (target <= %d commits)\n",
	    rate, qs.commits - c0, n, n * 10 / STORE_METER_FLUSH_MS + 1);
	if (qs.commits - c0 > n * 10 / STORE_METER_FLUSH_MS + 1)
		failures++;
	check(store_close(st), "close");
	if (stat(path, &sb) != 0) {
		perror(path);
		exit(1);
	}
	per_msg = (double)sb.st_size / n;
	/* 290,000 messages at < 600 B each stay under 175 MB of flash. */
	printf("store.db_size_10000_meter_values: %lld bytes, %.0f bytes/"
	    "message (target < 600 bytes/message)\n", (long long)sb.st_size,
	    per_msg);
	if (per_msg >= 600)
		failures++;
}

/* A full default-bound queue: how long opening it takes (integrity check
 * included), and its file size. */
static void
bench_full_queue_open(void)
{
	char path[320], payload[400];
	struct store *st = open_fresh("full.db", path, sizeof(path));
	const int n = 290000;
	int64_t t0, t1;
	struct stat sb;

	for (int i = 0; i < n; i++) {
		struct store_msg m;

		bench_msg(&m, STORE_MSG_METER, "MeterValues", payload,
		    sizeof(payload), i);
		/* Pretend 60 s of site time per 200 messages. */
		check(store_enqueue(st, &m, (int64_t)i * 300, NULL, NULL),
		    "enqueue meter value");
	}
	check(store_close(st), "close");
	if (stat(path, &sb) != 0) {
		perror(path);
		exit(1);
	}
	t0 = mono_now_ms();
	st = NULL;
	check(store_open(path, NULL, &st, NULL), "reopen");
	t1 = mono_now_ms();
	printf("store.open_290000_queued: %" PRId64 " ms, file %lld MB "
	    "(target < 3000 ms)\n", t1 - t0, (long long)sb.st_size >> 20);
	if (t1 - t0 >= 3000)
		failures++;
	store_close(st);
}

int
main(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/bench-store.XXXXXX",
	    base != NULL ? base : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror(dir);
		return 1;
	}
	bench_enqueue_ack();
	bench_profile_puts();
	bench_meter_batched();
	bench_full_queue_open();
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return failures == 0 ? 0 : 1;
}
