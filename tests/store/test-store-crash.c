/* Crash test for src/store: a child process queues and acknowledges
 * messages in a loop and is killed with SIGKILL at a random moment; after
 * each kill the database must open cleanly and hold exactly the messages
 * queued and not acknowledged, once each, in order.
 *
 * The child reports on a pipe: "R" once its store is open; "e N" before it
 * queues message N and "E N" once the call returned (durable, with every
 * buffered meter value before it); "m N" before it queues meter value N (batched) and "C N" when that
 * call returned with nothing left in the buffer; "a N" / "A N" around the
 * acknowledgement of N.  So after a kill the parent knows the lower bound
 * (everything confirmed and not acknowledged must be there, every A must
 * be gone) and the messages that may or may not have committed: of those,
 * an in-order prefix may be there, nothing else.
 *
 * Session state rides on the queue as the OCPP session uses it: each
 * StatusNotification N is queued with state key "q.N" set and acknowledged
 * with "q.N" deleted; each StopTransaction N (connector c = 1 + N % 8) is
 * queued with "c.<c>" = N (the connector's record closed by that stop, all
 * or nothing) and acknowledged with "last_stop" = N.  After every kill the
 * "q." keys must be exactly those of the queued notifications, each "c."
 * key the newest stop of its connector that was confirmed or is queued,
 * and "last_stop" the last stop acknowledged (the one in flight included
 * exactly when it left the queue).
 *
 * Built twice: as a `make check` test (200 kills) and as the benchmark
 * soak (CRASH_BENCH, 1000 kills, one summary line). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "store/store.h"
#include "tests/cu.h"

#ifndef CRASH_KILLS
#define CRASH_KILLS 200
#endif
#define MAX_KILL_DELAY_MS 30
#define MAX_MODEL 4096
#define CRASH_CONNECTORS 8

static char tmpdir[256];
static char db_path[300];

/* What the parent knows about the queue, oldest first: confirmed
 * messages, then those announced whose commit is not confirmed yet
 * (buffered meter values, and the call in progress at the kill). */
struct model {
	int64_t seq[MAX_MODEL];
	int n;
	int64_t maybe[MAX_MODEL];
	int n_maybe;
	int64_t pending_ack; /* announced with "a", not confirmed; -1 none */
	int64_t last_stop;   /* "last_stop" as of the last confirmed stop ack */
	/* "c.<c>" as of the last confirmed stop of connector c (0: none). */
	int64_t conn_stop[CRASH_CONNECTORS + 1];
	int64_t next_seq;
};

static struct {
	int kills;
	int violations;
	int maybe_all, maybe_part, maybe_none;
	int maybe_ack_present, maybe_ack_absent;
	int64_t confirmed_ops;
	int64_t state_checks;
	int max_queue;
} totals;

/* Writes one report line; a short write means the parent is gone. */
static void
report(int fd, char op, int64_t seq)
{
	char line[32];
	int n = snprintf(line, sizeof(line), "%c %" PRId64 "\n", op, seq);

	if (write(fd, line, (size_t)n) != n)
		_exit(3);
}

/* The child: queue and acknowledge forever, reporting each step. */
static void
child_loop(int fd, int64_t next_seq, unsigned seed)
{
	struct store_queue_stats qs;
	struct store *st = NULL;
	char payload[64], key[32], value[32], *cause = NULL;
	struct store_msg m;
	bool found;

	if (store_open(db_path, NULL, &st, &cause) != 0) {
		fprintf(stderr, "child: %s\n", cause);
		_exit(2);
	}
	report(fd, 'R', 0);
	for (int64_t now_ms = 0;; now_ms += 40) {
		store_queue_stats(st, &qs);
		if (qs.committed < 3 || (qs.committed < 200 &&
		    rand_r(&seed) % 100 < 55)) {
			int64_t seq = next_seq++;

			memset(&m, 0, sizeof(m));
			m.created_ms = seq;
			snprintf(payload, sizeof(payload), "{\"seq\":%" PRId64 "}",
			    seq);
			m.payload = payload;
			if (seq % 3 == 0) {
				/* A stop and its connector's record,
				 * atomically. */
				m.kind = STORE_MSG_TX_END;
				m.connector = 1 + (int)(seq % CRASH_CONNECTORS);
				snprintf(m.action, sizeof(m.action),
				    "StopTransaction");
				snprintf(key, sizeof(key), "c.%d", m.connector);
				snprintf(value, sizeof(value), "%" PRId64, seq);
				report(fd, 'e', seq);
				if (store_queue_enqueue_with_state(st, &m, key,
				    value, now_ms, NULL, &cause) != 0)
					break;
				report(fd, 'E', seq);
			} else if (seq % 3 == 1) {
				m.kind = STORE_MSG_OTHER;
				snprintf(m.action, sizeof(m.action),
				    "StatusNotification");
				snprintf(key, sizeof(key), "q.%" PRId64, seq);
				report(fd, 'e', seq);
				if (store_queue_enqueue_with_state(st, &m, key,
				    "queued", now_ms, NULL, &cause) != 0)
					break;
				report(fd, 'E', seq);
			} else {
				/* Batched: committed once a second of the
				 * child's clock (40 ms a step) has passed. */
				m.kind = STORE_MSG_METER;
				snprintf(m.action, sizeof(m.action),
				    "MeterValues");
				report(fd, 'm', seq);
				if (store_enqueue(st, &m, now_ms, NULL,
				    &cause) != 0)
					break;
				store_queue_stats(st, &qs);
				if (qs.buffered == 0)
					report(fd, 'C', seq);
			}
		} else {
			int64_t seq;
			int rc;

			if (store_queue_peek(st, &m, &found, &cause) != 0 ||
			    !found)
				break;
			seq = strtoll(m.payload + strlen("{\"seq\":"), NULL, 10);
			report(fd, 'a', seq);
			if (seq % 3 == 1) {
				snprintf(key, sizeof(key), "q.%" PRId64, seq);
				rc = store_queue_ack_with_state(st, m.id, key,
				    NULL, &cause);
			} else if (seq % 3 == 0) {
				snprintf(value, sizeof(value), "%" PRId64, seq);
				rc = store_queue_ack_with_state(st, m.id,
				    "last_stop", value, &cause);
			} else {
				rc = store_queue_ack_with_state(st, m.id, NULL, NULL, &cause);
			}
			if (rc != 0)
				break;
			report(fd, 'A', seq);
		}
	}
	fprintf(stderr, "child: %s\n", cause != NULL ? cause : "queue empty");
	_exit(4);
}

/* Applies one report line to the model; returns -1 on a line that
 * contradicts it. */
static int
apply_line(struct model *md, const char *line)
{
	char op;
	int64_t seq;

	if (sscanf(line, "%c %" SCNd64, &op, &seq) != 2)
		return -1;
	switch (op) {
	case 'e':
	case 'm':
		if (md->n_maybe >= MAX_MODEL)
			return -1;
		md->maybe[md->n_maybe++] = seq;
		break;
	case 'E':
	case 'C':
		/* This commit carried every buffered message before it. */
		if (md->n_maybe == 0 || md->maybe[md->n_maybe - 1] != seq ||
		    md->n + md->n_maybe > MAX_MODEL)
			return -1;
		memcpy(&md->seq[md->n], md->maybe,
		    (size_t)md->n_maybe * sizeof(md->seq[0]));
		if (op == 'E' && seq % 3 == 0)
			md->conn_stop[1 + seq % CRASH_CONNECTORS] = seq;
		md->n += md->n_maybe;
		totals.confirmed_ops += md->n_maybe;
		md->n_maybe = 0;
		break;
	case 'a':
		if (md->n == 0 || md->seq[0] != seq)
			return -1; /* acks go head first */
		md->pending_ack = seq;
		break;
	case 'A':
		if (seq != md->pending_ack || md->n == 0 || md->seq[0] != seq)
			return -1;
		memmove(&md->seq[0], &md->seq[1],
		    (size_t)(md->n - 1) * sizeof(md->seq[0]));
		md->n--;
		md->pending_ack = -1;
		if (seq % 3 == 0)
			md->last_stop = seq;
		totals.confirmed_ops++;
		break;
	default:
		return -1;
	}
	if (seq >= md->next_seq)
		md->next_seq = seq + 1;
	return 0;
}

struct seen {
	int64_t seq[MAX_MODEL];
	int64_t id[MAX_MODEL];
	int n;
	bool overflow;
};

/* foreach callback: records each queued message's seq and id. */
static int
collect(const struct store_msg *m, void *arg)
{
	struct seen *s = arg;

	if (s->n >= MAX_MODEL) {
		s->overflow = true;
		return 1;
	}
	s->seq[s->n] = strtoll(m->payload + strlen("{\"seq\":"), NULL, 10);
	s->id[s->n] = m->id;
	s->n++;
	return 0;
}

/* What the session state keys say after a kill. */
struct state_seen {
	int64_t q[MAX_MODEL]; /* N of every "q.N" key, in key order */
	int n_q;
	int64_t last_stop;    /* 0 when absent */
	int64_t conn[CRASH_CONNECTORS + 1]; /* "c.<c>"; 0 when absent */
	bool bad;             /* a key or value the child never writes */
};

/* store_setting_foreach callback: sorts the keys into a struct state_seen. */
static int
collect_state(const char *key, const char *value, const char *file_value,
    void *arg)
{
	struct state_seen *ss = arg;

	if (strncmp(key, "q.", 2) == 0 && strcmp(value, "queued") == 0 &&
	    file_value == NULL && ss->n_q < MAX_MODEL)
		ss->q[ss->n_q++] = strtoll(key + 2, NULL, 10);
	else if (strcmp(key, "last_stop") == 0 && file_value == NULL)
		ss->last_stop = strtoll(value, NULL, 10);
	else if (strncmp(key, "c.", 2) == 0 && file_value == NULL &&
	    atoi(key + 2) >= 1 && atoi(key + 2) <= CRASH_CONNECTORS)
		ss->conn[atoi(key + 2)] = strtoll(value, NULL, 10);
	else
		ss->bad = true;
	return 0;
}

/* Compares two int64_t for qsort. */
static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Complains about one violation (only the first few are printed). */
static void
violation(int kill_no, const char *what)
{
	if (++totals.violations <= 10)
		fprintf(stderr, "kill %d: %s\n", kill_no, what);
}

/* Opens the database after a kill and compares it with the model; then
 * resolves the uncertain operation from what is there. */
static void
verify(struct model *md, int kill_no)
{
	static struct seen s;
	struct store *st = NULL;
	char *cause = NULL;
	int base, i, j;
	bool head_gone;
	int tail;

	if (store_open(db_path, NULL, &st, &cause) != 0) {
		violation(kill_no, cause);
		free(cause);
		return;
	}
	memset(&s, 0, sizeof(s));
	if (store_queue_foreach(st, collect, &s, NULL) != 0 || s.overflow) {
		violation(kill_no, "cannot list the queue");
		store_close(st);
		return;
	}
	for (i = 1; i < s.n; i++)
		if (s.id[i] <= s.id[i - 1] || s.seq[i] <= s.seq[i - 1])
			violation(kill_no, "queue out of order or duplicated");
	/* The head may be gone only if its ack was in progress. */
	head_gone = md->pending_ack >= 0 &&
	    (s.n == 0 || s.seq[0] != md->pending_ack);
	base = head_gone ? 1 : 0;
	/* Confirmed messages, then a prefix of the unconfirmed ones: whole
	 * commits are there or absent, in order. */
	tail = s.n - (md->n - base);
	if (tail < 0 || tail > md->n_maybe) {
		char buf[160];
		snprintf(buf, sizeof(buf), "queue holds %d messages, expected "
		    "%d to %d (pending ack %" PRId64 ")", s.n, md->n - base,
		    md->n - base + md->n_maybe, md->pending_ack);
		violation(kill_no, buf);
	} else {
		for (i = base, j = 0; i < md->n; i++, j++)
			if (s.seq[j] != md->seq[i]) {
				violation(kill_no, "a queued message is "
				    "missing or an acknowledged one returned");
				break;
			}
		for (i = 0; i < tail; i++, j++)
			if (s.seq[j] != md->maybe[i]) {
				violation(kill_no, "an uncommitted message is "
				    "there without those before it");
				break;
			}
	}
	/* Session state: a "q.N" key exactly for each queued notification N
	 * (seq % 3 == 1), both kept or dropped by the same commit. */
	{
		static struct state_seen ss;
		bool missing = false, extra = false;
		int k = 0;

		memset(&ss, 0, sizeof(ss));
		if (store_setting_foreach(st, collect_state, &ss, NULL) != 0 ||
		    ss.bad)
			violation(kill_no, "cannot read the session state");
		qsort(ss.q, (size_t)ss.n_q, sizeof(ss.q[0]), cmp_i64);
		/* Merge the two ascending lists. */
		for (i = 0; i < s.n; i++) {
			if (s.seq[i] % 3 != 1)
				continue;
			while (k < ss.n_q && ss.q[k] < s.seq[i]) {
				extra = true;
				k++;
			}
			if (k < ss.n_q && ss.q[k] == s.seq[i])
				k++;
			else
				missing = true;
		}
		if (k < ss.n_q)
			extra = true;
		if (missing)
			violation(kill_no, "a queued message without its "
			    "state key");
		if (extra)
			violation(kill_no, "a state key without its message");
		/* The stop whose ack was in flight set "last_stop" iff it
		 * left the queue. */
		if (ss.last_stop != (head_gone && md->pending_ack % 3 == 0 ?
		    md->pending_ack : md->last_stop))
			violation(kill_no, "last_stop does not match the "
			    "acknowledged stops");
		md->last_stop = ss.last_stop;
		/* Each connector's record: the newest stop confirmed before
		 * or queued now (the one in flight counts iff it is queued). */
		for (int c = 1; c <= CRASH_CONNECTORS; c++) {
			int64_t want = md->conn_stop[c];

			for (i = 0; i < s.n; i++)
				if (s.seq[i] % 3 == 0 &&
				    1 + s.seq[i] % CRASH_CONNECTORS == c &&
				    s.seq[i] > want)
					want = s.seq[i];
			if (ss.conn[c] != want)
				violation(kill_no, "a connector's record does "
				    "not match its queued stops");
			md->conn_stop[c] = ss.conn[c];
		}
		totals.state_checks += ss.n_q + 1 + CRASH_CONNECTORS;
	}
	if (md->n_maybe > 0) {
		if (tail == md->n_maybe)
			totals.maybe_all++;
		else if (tail > 0)
			totals.maybe_part++;
		else
			totals.maybe_none++;
	}
	if (md->pending_ack >= 0) {
		if (head_gone)
			totals.maybe_ack_absent++;
		else
			totals.maybe_ack_present++;
	}
	/* What is there now is the truth for the next round. */
	md->n = s.n;
	memcpy(md->seq, s.seq, (size_t)s.n * sizeof(s.seq[0]));
	md->n_maybe = 0;
	md->pending_ack = -1;
	if (s.n > totals.max_queue)
		totals.max_queue = s.n;
	store_close(st);
}

/* Reads the child's reports: a line buffer that survives across reads. */
struct reader {
	int fd;
	char line[64];
	size_t ll;
	bool ready;  /* the child reported "R": its store is open */
};

/* Reads what is available within timeout_ms (-1: until end of file) and
 * applies each complete line; returns false at end of file. */
static bool
read_reports(struct reader *r, struct model *md, int kill_no,
    int timeout_ms)
{
	struct pollfd p = { r->fd, POLLIN, 0 };
	char buf[4096];
	ssize_t n;

	if (timeout_ms >= 0 && poll(&p, 1, timeout_ms) <= 0)
		return true;
	n = read(r->fd, buf, sizeof(buf));
	if (n <= 0)
		return false;
	for (ssize_t k = 0; k < n; k++) {
		if (buf[k] != '\n') {
			if (r->ll < sizeof(r->line) - 1)
				r->line[r->ll++] = buf[k];
			continue;
		}
		r->line[r->ll] = '\0';
		r->ll = 0;
		if (r->line[0] == 'R')
			r->ready = true;
		else if (apply_line(md, r->line) != 0)
			violation(kill_no, "report contradicts model");
	}
	return true;
}

/* One round: fork, let the child run for a random time, kill, verify.
 * Three rounds in four count the time from the child's "ready" (so it
 * is killed mid-work even on a loaded machine); the fourth from the fork
 * (so some kills land while it opens and recovers the file). */
static void
one_round(struct model *md, int kill_no, unsigned *seed)
{
	int fds[2], status;
	int64_t delay_ms = rand_r(seed) % (MAX_KILL_DELAY_MS + 1);
	int64_t deadline;
	struct reader r;
	bool alive = true;
	pid_t pid;

	CU_ASSERT_FATAL(pipe(fds) == 0);
	fflush(NULL);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		child_loop(fds[1], md->next_seq, (unsigned)rand_r(seed));
	}
	close(fds[1]);
	memset(&r, 0, sizeof(r));
	r.fd = fds[0];
	if (kill_no % 4 != 0) {
		deadline = mono_now_ms() + 20000;
		while (alive && !r.ready && mono_now_ms() < deadline)
			alive = read_reports(&r, md, kill_no, 100);
		if (!r.ready)
			violation(kill_no, "child never opened the store");
	}
	deadline = mono_now_ms() + delay_ms;
	while (alive && mono_now_ms() < deadline)
		alive = read_reports(&r, md, kill_no,
		    (int)(deadline - mono_now_ms()));
	kill(pid, SIGKILL);
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
		violation(kill_no, "child ended before the kill");
	/* Whatever it wrote before dying. */
	while (read_reports(&r, md, kill_no, -1))
		;
	close(fds[0]);
	totals.kills++;
	verify(md, kill_no);
}

/* nftw callback: removes one entry of the test directory. */
static int
rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	return remove(p);
}

/* Runs CRASH_KILLS rounds on one database and checks the totals. */
static void
test_kill_loop(void)
{
	static struct model md;
	const char *base = getenv("TMPDIR"), *s = getenv("STORE_CRASH_SEED");
	unsigned seed = s != NULL ? (unsigned)strtoul(s, NULL, 10) :
	    (unsigned)(getpid() ^ mono_now_ms());

	snprintf(tmpdir, sizeof(tmpdir), "%s/store-crash.XXXXXX",
	    base != NULL ? base : "/tmp");
	CU_ASSERT_FATAL(mkdtemp(tmpdir) != NULL);
	snprintf(db_path, sizeof(db_path), "%s/crash.db", tmpdir);
	printf("\n  seed %u (STORE_CRASH_SEED to repeat), %d kills\n", seed,
	    CRASH_KILLS);
	memset(&md, 0, sizeof(md));
	md.pending_ack = -1;
	md.next_seq = 1;
	for (int k = 1; k <= CRASH_KILLS; k++)
		one_round(&md, k, &seed);
	printf("  %d kills, %" PRId64 " confirmed operations, queue up to %d; "
	    "unconfirmed enqueues at kill: all there %d, some %d, none %d; "
	    "ack in flight: done %d, not %d; %" PRId64 " state keys checked; "
	    "%d violations\n", totals.kills,
	    totals.confirmed_ops, totals.max_queue, totals.maybe_all,
	    totals.maybe_part, totals.maybe_none, totals.maybe_ack_absent,
	    totals.maybe_ack_present, totals.state_checks, totals.violations);
	CU_ASSERT_EQUAL(totals.kills, CRASH_KILLS);
	CU_ASSERT_EQUAL(totals.violations, 0);
	/* The test must have exercised something: operations confirmed. */
	CU_ASSERT(totals.confirmed_ops > CRASH_KILLS);
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static const struct cu_test crash_tests[] = {
	{ "SIGKILL at random moments loses nothing", test_kill_loop },
	{ NULL, NULL },
};

int
main(void)
{
	const struct cu_suite suites[] = {
		{ "store-crash", NULL, NULL, crash_tests },
		{ NULL, NULL, NULL, NULL },
	};
#ifdef CRASH_BENCH
	int64_t t0 = mono_now_ms(), t1;
	int rc;

	rc = cu_run(suites);
	t1 = mono_now_ms();
	printf("store.crash_soak_%d_kills: %d violations, %" PRId64
	    " operations checked in %.1f s (target 0 violations)\n",
	    CRASH_KILLS, totals.violations, totals.confirmed_ops,
	    (double)(t1 - t0) / 1000.0);
	return rc;
#else
	return cu_run(suites);
#endif
}
