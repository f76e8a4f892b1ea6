/* ocpp-edgectl's client and renderers against a small server in this
 * process that speaks the control-socket contract (docs/control.md) over
 * a real Unix socket: replies, refusals, malformed and late answers, a
 * daemon that is not running, a socket the caller may not use. */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "ctl/ctl.h"
#include "cu.h"

/* ---- the fake daemon ---------------------------------------------------- */

enum fake_mode {
	FAKE_ANSWER,     /* one reply line per request (reply text below) */
	FAKE_SPLIT,      /* the reply in 3-byte pieces */
	FAKE_CLOSE,      /* close without answering */
	FAKE_SILENT,     /* read the request, never answer */
};

static struct {
	char dir[64];
	char path[128];
	int lfd;
	pthread_t thread;
	pthread_mutex_t lock;
	enum fake_mode mode;
	const char *reply;      /* used for every request */
	char last_request[4096];
	int connections;
	int requests;
	int stop_pipe[2];
} fake;

/* Serves connections one after the other until the stop pipe is
 * written. */
static void *
fake_main(void *arg)
{
	(void)arg;
	for (;;) {
		struct pollfd pfd[2] = { { fake.lfd, POLLIN, 0 },
		    { fake.stop_pipe[0], POLLIN, 0 } };
		char buf[8192];
		size_t len = 0;
		int fd;

		if (poll(pfd, 2, -1) < 0 || (pfd[1].revents & POLLIN))
			return NULL;
		fd = accept(fake.lfd, NULL, NULL);
		if (fd < 0)
			continue;
		pthread_mutex_lock(&fake.lock);
		fake.connections++;
		pthread_mutex_unlock(&fake.lock);
		for (;;) {
			struct pollfd p2[2] = { { fd, POLLIN, 0 },
			    { fake.stop_pipe[0], POLLIN, 0 } };
			char *nl;
			ssize_t n;

			if (poll(p2, 2, -1) < 0 || (p2[1].revents & POLLIN)) {
				close(fd);
				return NULL;
			}
			n = read(fd, buf + len, sizeof(buf) - len - 1);
			if (n <= 0)
				break;
			len += (size_t)n;
			while ((nl = memchr(buf, '\n', len)) != NULL) {
				size_t l = (size_t)(nl - buf);
				enum fake_mode mode;
				const char *reply;

				pthread_mutex_lock(&fake.lock);
				snprintf(fake.last_request,
				    sizeof(fake.last_request), "%.*s", (int)l,
				    buf);
				fake.requests++;
				mode = fake.mode;
				reply = fake.reply;
				pthread_mutex_unlock(&fake.lock);
				memmove(buf, nl + 1, len - l - 1);
				len -= l + 1;
				if (mode == FAKE_CLOSE)
					goto next;
				if (mode == FAKE_SILENT)
					continue;
				if (mode == FAKE_SPLIT) {
					for (size_t i = 0; i < strlen(reply);
					    i += 3) {
						size_t k = strlen(reply) - i;

						if (write(fd, reply + i, k < 3 ?
						    k : 3) < 0)
							break;
						usleep(200);
					}
					if (write(fd, "\n", 1) < 0)
						break;
				} else {
					if (write(fd, reply, strlen(reply)) < 0
					    || write(fd, "\n", 1) < 0)
						break;
				}
			}
		}
next:
		close(fd);
	}
}

/* Starts the fake daemon on a fresh socket in a fresh directory. */
static void
fake_start(enum fake_mode mode, const char *reply)
{
	struct sockaddr_un sun;

	memset(&fake, 0, sizeof(fake));
	pthread_mutex_init(&fake.lock, NULL);
	snprintf(fake.dir, sizeof(fake.dir), "/tmp/test-ctl.XXXXXX");
	CU_ASSERT_FATAL(mkdtemp(fake.dir) != NULL);
	snprintf(fake.path, sizeof(fake.path), "%s/ctl.sock", fake.dir);
	fake.mode = mode;
	fake.reply = reply;
	CU_ASSERT_FATAL(pipe(fake.stop_pipe) == 0);
	fake.lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, fake.path);
	CU_ASSERT_FATAL(bind(fake.lfd, (struct sockaddr *)&sun,
	    sizeof(sun)) == 0);
	CU_ASSERT_FATAL(chmod(fake.path, 0660) == 0);
	CU_ASSERT_FATAL(listen(fake.lfd, 4) == 0);
	CU_ASSERT_FATAL(pthread_create(&fake.thread, NULL, fake_main,
	    NULL) == 0);
}

/* Stops the fake daemon and removes its files. */
static void
fake_stop(void)
{
	if (write(fake.stop_pipe[1], "x", 1) != 1)
		abort();
	pthread_join(fake.thread, NULL);
	close(fake.lfd);
	close(fake.stop_pipe[0]);
	close(fake.stop_pipe[1]);
	unlink(fake.path);
	rmdir(fake.dir);
	pthread_mutex_destroy(&fake.lock);
}

/* ---- a status result as the contract shows it --------------------------- */

/* The site: cloud offline for 8m05s (07:01:55 -> 07:10:00), ALM, cap from
 * the offline fallback, two chargers, one of them unreachable. */
static const char status_reply[] =
"{\"ok\":true,\"result\":{\"version\":\"0.1.0\",\"site_id\":\"demo-site\","
"\"uptime_s\":7384,\"now\":\"2026-11-26T07:10:00Z\","
"\"cloud\":{\"url\":\"ws://127.0.0.1:9000/ocpp\",\"ocpp_version\":\"1.6\","
"\"identity\":\"demo-site\",\"state\":\"offline\","
"\"since\":\"2026-11-26T07:01:55Z\",\"queued\":12,\"dropped\":0},"
"\"settings\":{\"mode\":\"alm\",\"pv_mode\":\"green-priority\","
"\"reserve_pct\":10,\"available_power_w\":60000,\"min_power_1ph_w\":1400,"
"\"min_power_3ph_w\":4200,\"offline_meter_power_w\":4000,"
"\"offline_site_power_w\":22000,\"source\":{\"mode\":\"file\","
"\"reserve_pct\":\"backend\",\"available_power_w\":\"file\","
"\"offline_site_power_w\":\"backend\"}},"
"\"site_cap\":{\"w\":22000,\"source\":\"offline-fallback\","
"\"profile_id\":null},"
"\"meter\":{\"type\":\"sdm630\",\"online\":true,\"since\":\"2026-11-26T07:02:30Z\",\"healthy\":true,"
"\"age_ms\":400,\"total_w\":12300,\"household_w\":3100,\"household_clamped\":false,\"surplus_w\":null,"
"\"phases\":[{\"v\":230.1,\"a\":10.2,\"w\":2300},"
"{\"v\":229.8,\"a\":20.0,\"w\":4600},{\"v\":231.0,\"a\":23.4,\"w\":5400}]},"
"\"chargers\":[{\"name\":\"wallbox1\",\"model\":\"autel-ac-wallbox\","
"\"serial\":\"AW22-0001\",\"firmware\":\"V1.2.3\","
"\"link\":\"tcp 127.0.0.1:5021\",\"online\":true,\"offline_since\":null,"
"\"connectors\":[{\"connector\":1,\"ocpp_id\":1,\"status\":\"Charging\","
"\"power_w\":7260,\"energy_wh\":123456,\"setpoint_w\":7300,"
"\"setpoint_a\":10.6,\"paused\":false,\"reason\":\"share\","
"\"transaction\":\"42\"}]},"
"{\"name\":\"compact1\",\"model\":\"autel-ac-compact\","
"\"serial\":\"AC07-0002\",\"firmware\":null,\"link\":\"tcp-listen\","
"\"online\":false,\"offline_since\":\"2026-11-26T07:09:15Z\","
"\"connectors\":[{\"connector\":1,\"ocpp_id\":2,\"status\":\"Unavailable\","
"\"power_w\":0,\"energy_wh\":null,\"setpoint_w\":0,\"setpoint_a\":0.0,"
"\"paused\":false,\"reason\":\"offline-reserve\",\"transaction\":null}]}]}}";

/* Renders through fn into a string (caller frees). */
static char *
render(int (*fn)(FILE *, json_t *), json_t *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	fn(f, r);
	fclose(f);
	return buf;
}

/* True when text has a line equal to line. */
static bool
has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; p != NULL && *p != '\0';) {
		const char *e = strchr(p, '\n');
		size_t l = e != NULL ? (size_t)(e - p) : strlen(p);

		if (l == n && memcmp(p, line, n) == 0)
			return true;
		p = e != NULL ? e + 1 : NULL;
	}
	printf("\nmissing line '%s' in:\n%s\n", line, text);
	return false;
}

/* ---- tests ---------------------------------------------------------------- */

/* status: the request sent, the result parsed, the screen rendered. */
static void
test_status_roundtrip(void)
{
	json_t *req = json_pack("{s:s}", "cmd", "status"), *res = NULL;
	char *cause = NULL, *text;

	fake_start(FAKE_ANSWER, status_reply);
	CU_ASSERT_EQUAL(ctl_request(fake.path, req, 2000, &res, &cause),
	    CTL_OK);
	CU_ASSERT_STRING_EQUAL(fake.last_request, "{\"cmd\":\"status\"}");
	CU_ASSERT_PTR_NULL(cause);
	CU_ASSERT_FATAL(res != NULL);
	text = render(ctl_render_status, res);
	/* uptime 7384 s = 2 h 3 min 4 s -> "2h03m" */
	CU_ASSERT(has_line(text, "ocpp-edge 0.1.0  site demo-site  up 2h03m  "
	    "2026-11-26T07:10:00Z"));
	/* 07:10:00 - 07:01:55 = 8 min 5 s */
	CU_ASSERT(has_line(text, "Cloud     offline since 07:01:55Z (8m05s "
	    "ago): running on local fallback"));
	CU_ASSERT(has_line(text, "          queued 12 messages, dropped 0"));
	/* two settings overridden by the backend */
	CU_ASSERT(has_line(text, "Mode      ALM  reserve 10 %  available "
	    "60.0 kW  (settings from file; from the backend: reserve_pct, "
	    "offline_site_power_w)"));
	CU_ASSERT(has_line(text, "          if the meter is lost: 4.0 kW "
	    "shared; if the cloud is lost: site cap 22.0 kW"));
	CU_ASSERT(has_line(text, "Site cap  22.0 kW  offline fallback (cloud "
	    "unreachable)"));
	CU_ASSERT(has_line(text, "Meter     sdm630  online since 07:02:30Z "
	    "(7m30s ago)  (reading 0s old)"));
	CU_ASSERT(has_line(text, "          total 12.3 kW  household 3.1 kW"));
	CU_ASSERT(has_line(text, "          L1 230.1 V 10.2 A 2.3 kW | L2 "
	    "229.8 V 20.0 A 4.6 kW | L3 231.0 V 23.4 A 5.4 kW"));
	/* 7260 W + 0 W measured; one of two connectors charging */
	CU_ASSERT(has_line(text, "Charging  7.3 kW in total, 1 of 2 connectors "
	    "charging"));
	/* the chargers' table: widths from the longest cell per column;
	 * 07:10:00 - 07:09:15 = 45 s */
	CU_ASSERT(has_line(text, "CHARGER   MODEL             SERIAL     "
	    "FIRMWARE  LINK                STATE"));
	CU_ASSERT(has_line(text, "wallbox1  autel-ac-wallbox  AW22-0001  "
	    "V1.2.3    tcp 127.0.0.1:5021  online"));
	CU_ASSERT(has_line(text, "compact1  autel-ac-compact  AC07-0002  "
	    "-         tcp-listen          OFFLINE since 07:09:15Z (45s ago)"));
	/* the connectors: 7260 W -> 7.3 kW (one decimal), energy 123456 Wh
	 * -> 123.5 kWh; amps next to a setpoint above 0 (7300 W / (230 V x
	 * 3) = 10.6 A), so SETPOINT is 15 wide ("7.3 kW (10.6 A)") and
	 * right-aligned like POWER (6 wide) */
	CU_ASSERT(has_line(text, "EVSE  CONNECTOR   STATUS        POWER  "
	    "       SETPOINT  REASON           SESSION"));
	CU_ASSERT(has_line(text, "   1  wallbox1/1  Charging     7.3 kW  "
	    "7.3 kW (10.6 A)  share            tx 42, meter 123.5 kWh"));
	CU_ASSERT(has_line(text, "   2  compact1/1  Unavailable     0 W  "
	    "            0 W  offline-reserve  -"));
	free(text);
	json_decref(res);
	json_decref(req);
	fake_stop();
}

/* explain: the connector goes in the request; the sentence comes
 * first, then each cap's value and room, the binding one marked once
 * (from the daemon's "bound", not guessed from its name); the balancer's
 * debugging line is not shown. */
static void
test_explain(void)
{
	static const char reply[] =
	    "{\"ok\":true,\"result\":{\"connector\":\"bay1/1\",\"ocpp_id\":1,"
	    "\"setpoint_w\":7300,\"reason\":\"capped-by-circuit\","
	    "\"summary\":\"Limited to 7.3 kW by circuit main (27.6 kW): the "
	    "other chargers use the rest.\","
	    "\"bound_by\":\"circuit\",\"caps\":["
	    "{\"what\":\"profile\",\"w\":11000,\"detail\":\"TxDefaultProfile "
	    "id 7 stack 0\",\"bound\":false},"
	    "{\"what\":\"max\",\"w\":22000,\"bound\":false},"
	    "{\"what\":\"circuit\",\"w\":27600,\"room_w\":7300,"
	    "\"detail\":\"main, 40 A\",\"bound\":true},"
	    "{\"what\":\"phase\",\"w\":null,\"detail\":\"L1\","
	    "\"bound\":false},"
	    "{\"what\":\"share\",\"w\":9100,\"bound\":false},"
	    "{\"what\":\"site\",\"w\":40000,\"room_w\":12000,"
	    "\"detail\":\"config\",\"bound\":false}],"
	    "\"line\":\"7300 W capped-by-circuit: target 9100 W\"}}";
	json_t *req = json_pack("{s:s,s:s}", "cmd", "explain", "connector",
	    "bay1/1"), *res = NULL;
	char *cause = NULL, *text;

	fake_start(FAKE_ANSWER, reply);
	CU_ASSERT_EQUAL_FATAL(ctl_request(fake.path, req, 2000, &res, &cause),
	    CTL_OK);
	CU_ASSERT_STRING_EQUAL(fake.last_request,
	    "{\"cmd\":\"explain\",\"connector\":\"bay1/1\"}");
	text = render(ctl_render_explain, res);
	CU_ASSERT(has_line(text, "Connector bay1/1 (EVSE 1): setpoint 7.3 kW, "
	    "reason capped-by-circuit"));
	CU_ASSERT(has_line(text, "Limited to 7.3 kW by circuit main (27.6 kW): "
	    "the other chargers use the rest."));
	CU_ASSERT(has_line(text, "      CAP        VALUE     ROOM  DETAIL"));
	CU_ASSERT(has_line(text, "      profile  11.0 kW           "
	    "TxDefaultProfile id 7 stack 0"));
	CU_ASSERT(has_line(text, "  =>  circuit  27.6 kW   7.3 kW  main, 40 A"));
	CU_ASSERT(has_line(text, "      phase          -           L1"));
	CU_ASSERT(has_line(text, "      site     40.0 kW  12.0 kW  config"));
	CU_ASSERT_PTR_NULL(strstr(text, "balancer"));
	CU_ASSERT_PTR_NULL(strstr(strstr(text, "=>") + 1, "=>"));
	free(text);
	json_decref(res);
	json_decref(req);
	fake_stop();
}

/* The daemon's refusal text reaches the user; exit code 1. */
static void
test_refused(void)
{
	json_t *req = json_pack("{s:s,s:s}", "cmd", "explain", "connector",
	    "99"), *res = NULL;
	char *cause = NULL;
	int r;

	fake_start(FAKE_ANSWER, "{\"ok\":false,\"error\":\"unknown connector "
	    "'99': 1..6, CHARGER/K or CHARGER\"}");
	r = ctl_request(fake.path, req, 2000, &res, &cause);
	CU_ASSERT_EQUAL(r, CTL_ERR_REFUSED);
	CU_ASSERT_EQUAL(ctl_exit_code(r), CTL_EXIT_ERROR);
	CU_ASSERT_PTR_NULL(res);
	CU_ASSERT_STRING_EQUAL(cause, "unknown connector '99': 1..6, "
	    "CHARGER/K or CHARGER");
	free(cause);
	json_decref(req);
	fake_stop();
}

/* Runs one status request against a fake in mode/reply; returns the
 * client's code and leaves the cause in *cause. */
static int
one(enum fake_mode mode, const char *reply, int timeout_ms, char **cause)
{
	json_t *req = json_pack("{s:s}", "cmd", "status"), *res = NULL;
	int r;

	*cause = NULL;
	fake_start(mode, reply);
	r = ctl_request(fake.path, req, timeout_ms, &res, cause);
	CU_ASSERT_PTR_NULL(res);
	json_decref(res);
	json_decref(req);
	fake_stop();
	return r;
}

/* Malformed and missing answers: exit code 5 with a clear message. */
static void
test_malformed(void)
{
	char *cause;

	CU_ASSERT_EQUAL(one(FAKE_ANSWER, "state: running", 2000, &cause),
	    CTL_ERR_PROTOCOL);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "malformed reply from "));
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "not JSON"));
	free(cause);
	CU_ASSERT_EQUAL(one(FAKE_ANSWER, "[1,2]", 2000, &cause),
	    CTL_ERR_PROTOCOL);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "with a boolean \"ok\""));
	free(cause);
	CU_ASSERT_EQUAL(one(FAKE_ANSWER, "{\"ok\":true,\"result\":3}", 2000,
	    &cause), CTL_ERR_PROTOCOL);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "without a \"result\" object"));
	free(cause);
	CU_ASSERT_EQUAL(one(FAKE_CLOSE, NULL, 2000, &cause), CTL_ERR_PROTOCOL);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "connection closed without an "
	    "answer"));
	free(cause);
	/* silent daemon: 200 ms timeout, not the default 5 s */
	{
		int64_t t0 = mono_now_ms();

		CU_ASSERT_EQUAL(one(FAKE_SILENT, NULL, 200, &cause),
		    CTL_ERR_PROTOCOL);
		CU_ASSERT(mono_now_ms() - t0 < 4000);
		CU_ASSERT_PTR_NOT_NULL(strstr(cause, "no answer from "));
		CU_ASSERT_PTR_NOT_NULL(strstr(cause, "within 200 ms"));
		free(cause);
	}
	CU_ASSERT_EQUAL(ctl_exit_code(CTL_ERR_PROTOCOL), CTL_EXIT_PROTOCOL);
}

/* A reply that arrives in 3-byte pieces is reassembled. */
static void
test_split_reply(void)
{
	char *cause;
	json_t *req = json_pack("{s:s}", "cmd", "status"), *res = NULL;

	fake_start(FAKE_SPLIT, "{\"ok\":true,\"result\":{\"site_id\":\"s1\","
	    "\"chargers\":[]}}");
	CU_ASSERT_EQUAL(ctl_request(fake.path, req, 2000, &res, &cause),
	    CTL_OK);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(res,
	    "site_id")), "s1");
	json_decref(res);
	json_decref(req);
	fake_stop();
}

/* Several requests on one connection (what --watch does). */
static void
test_one_connection(void)
{
	struct ctl_conn *c;
	json_t *req = json_pack("{s:s}", "cmd", "status"), *res;
	char *cause = NULL;

	fake_start(FAKE_ANSWER, "{\"ok\":true,\"result\":{}}");
	CU_ASSERT_EQUAL_FATAL(ctl_connect(fake.path, &c, &cause), CTL_OK);
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(ctl_call(c, req, 2000, &res, &cause), CTL_OK);
		CU_ASSERT(json_is_object(res));
		json_decref(res);
	}
	ctl_close(c);
	CU_ASSERT_EQUAL(fake.connections, 1);
	CU_ASSERT_EQUAL(fake.requests, 3);
	json_decref(req);
	fake_stop();
}

/* No daemon: no socket file, or a socket nobody listens on: exit 3. */
static void
test_not_running(void)
{
	char dir[] = "/tmp/test-ctl.XXXXXX", path[128], *cause = NULL;
	struct sockaddr_un sun;
	struct ctl_conn *c;
	int fd, r;

	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/ctl.sock", dir);
	r = ctl_connect(path, &c, &cause);
	CU_ASSERT_EQUAL(r, CTL_ERR_NOT_RUNNING);
	CU_ASSERT_EQUAL(ctl_exit_code(r), CTL_EXIT_NOT_RUNNING);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "daemon not running (no socket "
	    "at /tmp/test-ctl."));
	free(cause);

	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, path);
	CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0);
	close(fd); /* the file stays, nobody listens */
	r = ctl_connect(path, &c, &cause);
	CU_ASSERT_EQUAL(r, CTL_ERR_NOT_RUNNING);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "exists but nobody listens"));
	free(cause);
	unlink(path);
	rmdir(dir);

	{
		char longp[200];

		memset(longp, 'x', sizeof(longp) - 1);
		longp[sizeof(longp) - 1] = '\0';
		r = ctl_connect(longp, &c, &cause);
		CU_ASSERT_EQUAL(r, CTL_ERR_USAGE);
		CU_ASSERT_PTR_NOT_NULL(strstr(cause, "too long (199 bytes)"));
		free(cause);
	}
}

/* A socket of mode 0660 owned by root: another user gets EACCES and
 * exit code 4.  As root the child drops to uid/gid 65534 (nobody) first;
 * as another user the socket is made mode 0000. */
static void
test_access_denied(void)
{
	pid_t pid;
	int status;

	fake_start(FAKE_ANSWER, "{\"ok\":true,\"result\":{}}");
	if (geteuid() != 0)
		CU_ASSERT_FATAL(chmod(fake.path, 0) == 0);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		struct ctl_conn *c;
		char *cause = NULL;
		int r;

		if (geteuid() == 0 && (setgroups(0, NULL) != 0 ||
		    setgid(65534) != 0 || setuid(65534) != 0))
			_exit(98);
		r = ctl_connect(fake.path, &c, &cause);
		if (r == CTL_OK)
			_exit(97);
		_exit(strstr(cause, "permission denied on ") != NULL &&
		    strstr(cause, "daemon's user and group and root") != NULL ?
		    ctl_exit_code(r) : 96);
	}
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT(WIFEXITED(status));
	CU_ASSERT_EQUAL(WEXITSTATUS(status), CTL_EXIT_ACCESS);
	fake_stop();
}

/* Missing and null fields print as "-"; nothing crashes. */
static void
test_render_sparse(void)
{
	json_t *r = json_loads("{\"chargers\":[{\"name\":\"x\",\"connectors\":"
	    "[{}]}],\"cloud\":{\"state\":\"disabled\"},\"meter\":null}", 0,
	    NULL);
	char *text = render(ctl_render_status, r);

	CU_ASSERT(has_line(text, "ocpp-edge -  site -  up -  -"));
	CU_ASSERT(has_line(text, "Cloud     disabled (no backend configured): "
	    "running on local settings"));
	CU_ASSERT(has_line(text, "Meter     none (DLB: the available power is "
	    "shared as configured)"));
	CU_ASSERT(has_line(text, "Charging  0 W in total, 0 of 1 connector "
	    "charging"));
	CU_ASSERT(has_line(text, "x        -      -       -         -     -"));
	CU_ASSERT(has_line(text, "   -  x/-        -           -         -  "
	    "-       -"));
	free(text);
	json_decref(r);
	r = json_object();
	text = render(ctl_render_explain, r);
	CU_ASSERT(has_line(text, "Connector -: setpoint -, reason -"));
	CU_ASSERT(has_line(text, "  no caps reported"));
	free(text);
	json_decref(r);
}

/* The small formatters, worked by hand. */
static void
test_formats(void)
{
	char b[32];

	CU_ASSERT_STRING_EQUAL(ctl_fmt_power(7300, b, sizeof(b)), "7.3 kW");
	CU_ASSERT_STRING_EQUAL(ctl_fmt_power(999, b, sizeof(b)), "999 W");
	CU_ASSERT_STRING_EQUAL(ctl_fmt_power(-1500, b, sizeof(b)), "-1.5 kW");
	CU_ASSERT_STRING_EQUAL(ctl_fmt_power(0, b, sizeof(b)), "0 W");
	/* 485 s = 8 min 5 s; 7384 s = 2 h 3 min; 93784 s = 1 d 2 h */
	CU_ASSERT_STRING_EQUAL(ctl_fmt_duration(485000, b, sizeof(b)),
	    "8m05s");
	CU_ASSERT_STRING_EQUAL(ctl_fmt_duration(7384000, b, sizeof(b)),
	    "2h03m");
	CU_ASSERT_STRING_EQUAL(ctl_fmt_duration(93784000, b, sizeof(b)),
	    "1d02h");
	CU_ASSERT_STRING_EQUAL(ctl_fmt_duration(59999, b, sizeof(b)), "59s");
	CU_ASSERT_STRING_EQUAL(ctl_fmt_duration(-1, b, sizeof(b)), "-");
}

/* Runs the suites; non-zero when a test failed. */
int
main(void)
{
	static const struct cu_test client[] = {
		{ "status round trip and screen", test_status_roundtrip },
		{ "explain: request and binding cap", test_explain },
		{ "refusal text and exit 1", test_refused },
		{ "malformed, closed, late replies: exit 5", test_malformed },
		{ "reply in pieces", test_split_reply },
		{ "several requests on one connection", test_one_connection },
		{ "daemon not running: exit 3", test_not_running },
		{ "permission denied: exit 4", test_access_denied },
		{ NULL, NULL },
	};
	static const struct cu_test rend[] = {
		{ "sparse results", test_render_sparse },
		{ "formats", test_formats },
		{ NULL, NULL },
	};
	static const struct cu_suite suites[] = {
		{ "client", NULL, NULL, client },
		{ "render", NULL, NULL, rend },
		{ NULL, NULL, NULL, NULL },
	};

	return cu_run(suites);
}
