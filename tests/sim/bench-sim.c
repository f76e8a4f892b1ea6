/* Benchmark of ocpp-edge-sim itself, so that southbound figures measured
 * against it are known not to be the simulator's: start-up of a 200-charger
 * site, Modbus TCP round trip, a sweep over 200 chargers, and how close the
 * RTU line-speed emulation is to the wire time. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <modbus.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"

static char dir[64];
static char ready[128];

/* Starts the simulator on scenario; waits for its ready file (10 s at
 * most).  Returns the pid and the ready JSON (caller decrefs), or -1. */
static pid_t
start(const char *scenario, json_t **out, int64_t *ms_to_ready)
{
	const char *b = getenv("top_builddir");
	char path[512];
	int64_t t0 = mono_now_ms();
	pid_t pid;

	snprintf(path, sizeof(path), "%s/ocpp-edge-sim", b != NULL ? b : ".");
	unlink(ready);
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", 1);

		dup2(null, 1);
		execl(path, "ocpp-edge-sim", "-q", "--scenario", scenario,
		    "--ready-file", ready, "--follow-delay-ms=0", (char *)NULL);
		_exit(127);
	}
	while (pid > 0 && mono_now_ms() - t0 < 10000) {
		if ((*out = json_load_file(ready, 0, NULL)) != NULL) {
			*ms_to_ready = mono_now_ms() - t0;
			return pid;
		}
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return -1;
		poll(NULL, 0, 2);
	}
	return -1;
}

/* Stops the simulator. */
static void
stop(pid_t pid)
{
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

/* A connected TCP client on 127.0.0.1:port, or NULL.  Caller frees. */
static modbus_t *
client(int port)
{
	modbus_t *m = modbus_new_tcp("127.0.0.1", port);

	if (m != NULL && modbus_connect(m) != 0) {
		modbus_free(m);
		m = NULL;
	}
	return m;
}

/* Runs the benchmarks; prints one line per figure.  Exit 0, or 1 when a
 * figure misses its target, 99 when it could not be measured. */
int
main(void)
{
	char scenario[160];
	FILE *sf;
	json_t *r = NULL, *chargers;
	modbus_t *m[200];
	uint16_t regs[80];
	int64_t ms, t0;
	double rtt_us, sweep_ms, ratio;
	pid_t pid;
	size_t n, i;
	int rc = 0;
	const int reps = 2000;

	snprintf(dir, sizeof(dir), "/tmp/bench-sim-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 99;
	snprintf(ready, sizeof(ready), "%s/ready.json", dir);
	/* The 200 chargers of etc/sim/site-200.json. */
	snprintf(scenario, sizeof(scenario), "%s/site-200.json", dir);
	sf = fopen(scenario, "w");
	if (sf == NULL)
		return 99;
	fputs("{\"follow_delay_ms\": 0, \"meter\": {\"type\": \"sdm630\"},"
	    " \"chargers\": ["
	    "{\"name\": \"wb\", \"model\": \"autel-ac-wallbox\", \"count\": 120,"
	    " \"evs\": [{\"connector\": 1, \"evmax_w\": 11000}]},"
	    "{\"name\": \"ul\", \"model\": \"autel-ac-ultra\", \"count\": 40,"
	    " \"connectors\": 2},"
	    "{\"name\": \"dc\", \"model\": \"autel-dc\", \"count\": 40,"
	    " \"connectors\": 2, \"max_power_w\": 120000}]}", sf);
	fclose(sf);
	pid = start(scenario, &r, &ms);
	unlink(scenario);
	if (pid < 0) {
		fprintf(stderr, "bench-sim: the simulator did not start\n");
		rmdir(dir);
		return 99;
	}
	printf("sim.startup_200_chargers: %lld ms to ready (target < 1000 ms)\n",
	    (long long)ms);
	if (ms >= 1000)
		rc = 1;

	chargers = json_object_get(r, "chargers");
	n = json_array_size(chargers);
	if (n > 200)
		n = 200;
	for (i = 0; i < n; i++) {
		int port = (int)json_integer_value(json_object_get(
		    json_array_get(chargers, i), "port"));

		m[i] = client(port);
		if (m[i] == NULL) {
			fprintf(stderr, "bench-sim: cannot connect to %d\n",
			    port);
			stop(pid);
			return 99;
		}
	}
	/* Round trip: the 16 registers 10005..10020 of a Wallbox (the
	 * longest run its table lists: the simulator refuses a span over an
	 * address the manual does not list for the model), reps times. */
	t0 = mono_now_ms();
	for (int k = 0; k < reps; k++)
		if (modbus_read_input_registers(m[0], 10005, 16, regs) != 16) {
			fprintf(stderr, "bench-sim: read 10005..10020: %s\n",
			    modbus_strerror(errno));
			rc = 99;
			break;
		}
	rtt_us = (double)(mono_now_ms() - t0) * 1000.0 / reps;
	printf("sim.tcp_read_16_regs: %.1f us/request (target < 500 us)\n",
	    rtt_us);
	if (rtt_us >= 500)
		rc = rc == 0 ? 1 : rc;
	/* Sweep: one read (the charger status, listed for every model) and
	 * one limit write on each charger, 10 times. */
	t0 = mono_now_ms();
	for (int k = 0; k < 10; k++) {
		for (i = 0; i < n; i++) {
			const char *model = json_string_value(json_object_get(
			    json_array_get(chargers, i), "model"));
			bool dc = strcmp(model, "autel-dc") == 0;
			uint16_t lim[2] = { 0, (uint16_t)(4000 + k) };

			if (modbus_read_input_registers(m[i], dc ? 1000 : 10000,
			    1, regs) != 1 || modbus_write_registers(m[i],
			    dc ? 1604 : 21000, 2, lim) != 2) {
				fprintf(stderr, "bench-sim: %s charger %zu: %s\n",
				    model, i, modbus_strerror(errno));
				rc = 99;
			}
		}
	}
	sweep_ms = (double)(mono_now_ms() - t0) / 10.0;
	printf("sim.sweep_%zu_chargers: %.2f ms per read+write of each "
	    "(target < 200 ms)\n", n, sweep_ms);
	if (sweep_ms >= 200)
		rc = rc == 0 ? 1 : rc;
	for (i = 0; i < n; i++) {
		modbus_close(m[i]);
		modbus_free(m[i]);
	}
	json_decref(r);
	stop(pid);

	/* RTU: 76 registers from the meter at 9600 baud.  Wire floor:
	 * (8 + 3.5 + 157) characters x 11 bits / 9600 = 193.1 ms. */
	{
		char scen[160];
		FILE *f;
		const char *pty;
		modbus_t *rtu;

		snprintf(scen, sizeof(scen), "%s/rtu.json", dir);
		f = fopen(scen, "w");
		if (f == NULL)
			return 99;
		fputs("{\"meter\": {\"type\": \"sdm630\", \"tcp\": false, "
		    "\"rtu\": true}}", f);
		fclose(f);
		pid = start(scen, &r, &ms);
		unlink(scen);
		if (pid < 0)
			return 99;
		pty = json_string_value(json_object_get(json_object_get(r,
		    "meter"), "pty"));
		rtu = pty != NULL ? modbus_new_rtu(pty, 9600, 'N', 8, 1) : NULL;
		if (rtu == NULL || modbus_connect(rtu) != 0) {
			stop(pid);
			return 99;
		}
		modbus_set_slave(rtu, 1);
		t0 = mono_now_ms();
		for (int k = 0; k < 5; k++)
			if (modbus_read_input_registers(rtu, 0, 76, regs) != 76)
				rc = 99;
		ratio = (double)(mono_now_ms() - t0) / 5.0 /
		    ((8 + 3.5 + 157) * 11.0 * 1000.0 / 9600.0);
		printf("sim.rtu_76_regs_9600: %.3f ratio to the wire time "
		    "(target 1.0 .. 1.1)\n", ratio);
		if (ratio < 1.0 || ratio > 1.1)
			rc = rc == 0 ? 1 : rc;
		modbus_close(rtu);
		modbus_free(rtu);
		json_decref(r);
		stop(pid);
	}
	unlink(ready);
	rmdir(dir);
	return rc;
}
