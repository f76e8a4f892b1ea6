/* The southbound module against the site simulator (ocpp-edge-sim, an
 * independent reading of the manual): real libmodbus traffic on loopback
 * TCP, a dial-in charger, and the meter and a charger on the simulator's
 * RTU pseudo-terminal at an emulated 9600 baud.  What the gateway reads is
 * compared with what the simulator reports over its control socket, and
 * what the gateway writes with the registers the simulator says it got.
 * Skips (77) when the simulator was not built. */
#define _GNU_SOURCE
#include "southbound/sb-private.h"
#include "southbound/southbound.h"

#include "common/util.h"
#include "cu.h"
#include "sbtest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

enum { WALLBOX, COMPACT, ULTRA, SINGLE, DC, DCHP, DIALER, RTU1, N_CHARGERS };
static const char *const names[N_CHARGERS] = {
	"wallbox1", "compact1", "ultra1", "single1", "dc1", "dchp1", "dialer1",
	"rtu1",
};

static pid_t sim_pid = -1;
static char dir[64];
static char control[100];
static json_t *ready;
static struct sb *sb;
static int gateway_port;
static struct sb_charger_conf ch[N_CHARGERS];
static struct sb_conf conf;

/* ---- the simulator process --------------------------------------------- */

/* The simulator binary in the build tree.  Static storage. */
static const char *
sim_path(void)
{
	static char path[512];
	const char *b = getenv("top_builddir");
	snprintf(path, sizeof path, "%s/ocpp-edge-sim", b ? b : ".");
	return path;
}

/* A free loopback port: bound, read, released (the simulator's chargers
 * dial it, so it must be known before either side starts). */
static int
free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* Starts the simulator and reads its "ready {json}" line from stdout. */
static int
sim_start(void)
{
	const char *src = getenv("top_srcdir");
	char scen[512], readyf[100], gw[64];
	int out[2];
	char line[8192];
	size_t len = 0;
	int64_t end;

	snprintf(dir, sizeof dir, "/tmp/sb-sim-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(scen, sizeof scen, "%s/tests/southbound/sim-site.json",
	    src ? src : ".");
	snprintf(control, sizeof control, "%s/control.sock", dir);
	snprintf(readyf, sizeof readyf, "%s/ready.json", dir);
	gateway_port = free_port();
	snprintf(gw, sizeof gw, "127.0.0.1:%d", gateway_port);
	if (pipe(out) != 0)
		return -1;
	sim_pid = fork();
	if (sim_pid < 0)
		return -1;
	if (sim_pid == 0) {
		dup2(out[1], 1);
		close(out[0]);
		close(out[1]);
		execl(sim_path(), "ocpp-edge-sim", "-q", "--scenario", scen,
		    "--control", control, "--ready-file", readyf,
		    "--gateway", gw, "--redial-ms", "100", (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	end = mono_now_ms() + 10000;
	while (mono_now_ms() < end && len < sizeof line - 1) {
		struct pollfd p = { out[0], POLLIN, 0 };
		ssize_t n;
		char *nl;

		if (poll(&p, 1, 200) <= 0)
			continue;
		n = read(out[0], line + len, sizeof line - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		line[len] = '\0';
		if ((nl = strchr(line, '\n')) != NULL) {
			*nl = '\0';
			if (strncmp(line, "ready ", 6) == 0)
				ready = json_loads(line + 6, 0, NULL);
			break;
		}
	}
	close(out[0]);
	return ready != NULL ? 0 : -1;
}

/* Stops the simulator by its PID and removes its files. */
static void
sim_stop(void)
{
	char path[160];

	if (sim_pid > 0) {
		kill(sim_pid, SIGTERM);
		waitpid(sim_pid, NULL, 0);
		sim_pid = -1;
	}
	json_decref(ready);
	ready = NULL;
	snprintf(path, sizeof path, "%s/control.sock", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/ready.json", dir);
	unlink(path);
	rmdir(dir);
}

/* Sends one control command; returns the JSON after "ok " (caller
 * decrefs; an empty object for a bare "ok"), or NULL on "error". */
static json_t *
sim_cmd(const char *fmt, ...)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char cmd[256], reply[65536];
	size_t len = 0;
	va_list ap;
	int fd;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd - 1, fmt, ap);
	va_end(ap);
	strcat(cmd, "\n");
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", control);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    write(fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd)) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	while (len < sizeof reply - 1) {
		ssize_t n = read(fd, reply + len, sizeof reply - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		if (memchr(reply, '\n', len) != NULL)
			break;
	}
	close(fd);
	reply[len] = '\0';
	if (strncmp(reply, "ok", 2) != 0) {
		fprintf(stderr, "sim: %s -> %s", cmd, reply);
		return NULL;
	}
	return reply[2] == ' ' ? json_loads(reply + 3, 0, NULL) :
	    json_object();
}

/* The ready file's entry for a charger (borrowed), or NULL. */
static json_t *
ready_charger(const char *name)
{
	size_t i;
	json_t *c;

	json_array_foreach(json_object_get(ready, "chargers"), i, c)
		if (strcmp(json_string_value(json_object_get(c, "name")),
		    name) == 0)
			return c;
	return NULL;
}

/* A number at a dotted path ("connectors.0.power_w"), or NAN. */
static double
jnum(json_t *o, const char *path)
{
	/* "a.b.2.c": object keys and array indexes */
	char buf[128], *save = NULL, *tok;

	snprintf(buf, sizeof buf, "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok != NULL && o != NULL;
	    tok = strtok_r(NULL, ".", &save))
		o = json_is_array(o) ? json_array_get(o, (size_t)atoi(tok)) :
		    json_object_get(o, tok);
	return o != NULL ? json_number_value(o) : NAN;
}

/* ---- waiting ------------------------------------------------------------ */

/* Waits for n fresh polls of charger i (after now). */
static bool
fresh(size_t i, unsigned n, struct sb_charger_reading *rd)
{
	sb_charger_snapshot(sb, i, rd);
	uint64_t want = rd->polls + n;
	return sbt_wait_charger(sb, i, sbt_polled_n, &want, 5000, rd);
}

/* ---- suite set-up ------------------------------------------------------ */

/* Starts the simulator, then the southbound side on its site. */
static int
suite_init(void)
{
	static char listen[64];
	struct sb_conf c;
	char *cause = NULL;
	const char *pty;

	if (sim_start() != 0)
		return 1;
	pty = json_string_value(json_object_get(json_object_get(ready, "rtu"),
	    "pty"));
	memset(ch, 0, sizeof ch);
	for (int i = 0; i < N_CHARGERS; i++) {
		json_t *r = ready_charger(names[i]);
		if (r == NULL)
			return 1;
		ch[i].name = names[i];
		sb_model_parse(json_string_value(json_object_get(r,
		    "gateway_model")), &ch[i].model);
		ch[i].link = SB_LINK_TCP;
		ch[i].host = "127.0.0.1";
		ch[i].port = (int)json_integer_value(json_object_get(r, "port"));
		ch[i].unit_id = (int)json_integer_value(json_object_get(r,
		    "unit_id"));
		ch[i].connectors = (int)json_integer_value(json_object_get(r,
		    "connectors"));
		ch[i].serial = json_string_value(json_object_get(r, "serial"));
	}
	ch[WALLBOX].offline_limit[0] = 3680;       /* W */
	ch[COMPACT].control_unit = SB_CONTROL_CURRENT;
	ch[COMPACT].offline_limit[0] = 6;          /* A -> 600 */
	ch[ULTRA].word_order = SB_WORDS_LOW_FIRST; /* as the scenario says */
	ch[DIALER].link = SB_LINK_TCP_LISTEN;
	ch[RTU1].link = SB_LINK_RTU;
	ch[RTU1].rtu = (struct sb_serial_conf){ pty, 9600, 'E', 1 };

	sb_conf_defaults(&c);
	c.response_timeout_ms = 300;
	c.poll_interval_ms = 200;
	c.backoff_min_ms = 200;
	c.backoff_max_ms = 800;
	snprintf(listen, sizeof listen, "127.0.0.1:%d", gateway_port);
	c.listen = listen;
	c.chargers = ch;
	c.n_chargers = N_CHARGERS;
	c.meter.type = SB_METER_SDM630;
	c.meter.link = SB_LINK_RTU;
	c.meter.unit_id = 3;
	c.meter.rtu = ch[RTU1].rtu;
	c.meter.poll_interval_ms = 500;
	conf = c;
	if (sb_start(&c, &sb, &cause) != 0) {
		fprintf(stderr, "sb_start: %s\n", cause ? cause : "?");
		free(cause);
		return 1;
	}
	return 0;
}

/* Stops both. */
static int
suite_cleanup(void)
{
	sb_stop(sb);
	sb = NULL;
	sim_stop();
	return 0;
}

/* ---- tests ------------------------------------------------------------- */

/* What the gateway reads equals what the simulator holds, for every
 * model, word order and link. */
static void
test_reads(void)
{
	struct sb_charger_reading rd;

	for (int i = 0; i < N_CHARGERS; i++) {
		json_t *r = ready_charger(names[i]), *g;
		uint64_t one = 1;

		CU_ASSERT_FATAL(sbt_wait_charger(sb, (size_t)i, sbt_polled_n, &one,
		    8000, &rd));
		CU_ASSERT_FATAL(fresh((size_t)i, 1, &rd));
		g = sim_cmd("get %s", names[i]);
		CU_ASSERT_PTR_NOT_NULL_FATAL(g);
		CU_ASSERT_STRING_EQUAL(rd.serial,
		    json_string_value(json_object_get(r, "serial")));
		/* the scenario names them "SB-<name>" and "FW-<name>" */
		char want[64];
		snprintf(want, sizeof want, "SB-%s", names[i]);
		CU_ASSERT_STRING_EQUAL(rd.product_type, want);
		snprintf(want, sizeof want, "FW-%s", names[i]);
		CU_ASSERT_STRING_EQUAL(rd.firmware, want);
		CU_ASSERT_EQUAL(rd.n_connectors,
		    json_integer_value(json_object_get(r, "connectors")));
		for (int k = 0; k < rd.n_connectors; k++) {
			char p[64];
			snprintf(p, sizeof p, "connectors.%d.status", k);
			CU_ASSERT_EQUAL(rd.conn[k].status, (int)jnum(g, p));
			snprintf(p, sizeof p, "connectors.%d.power_w", k);
			CU_ASSERT(fabs(rd.conn[k].power_w - jnum(g, p)) <= 1);
			snprintf(p, sizeof p, "connectors.%d.energy_wh", k);
			/* the simulator's count runs on: ours is not ahead */
			if (i != DC && i != DCHP)
				CU_ASSERT(rd.conn[k].energy_wh <= jnum(g, p) + 0.1);
		}
		json_decref(g);
	}

	/* hand-checked: the scenario's EVs (follow delay 0, no limits
	 * written yet, factory limit = maximum) */
	sb_charger_snapshot(sb, WALLBOX, &rd);
	CU_ASSERT_EQUAL(rd.conn[0].status, 3);            /* charging */
	CU_ASSERT(fabs(rd.conn[0].power_w - 11000) < 1);  /* EV max 11 kW */
	CU_ASSERT_STRING_EQUAL(rd.conn[0].id_token, "TAG-W1");
	CU_ASSERT(fabs(rd.conn[0].voltage_v[0] - 230.0) < 0.01);
	/* 11 kW on three phases at 230 V: 11000 / 690 = 15.94 A */
	CU_ASSERT(fabs(rd.conn[0].current_a[0] - 15.94) < 0.02);
	/* the energy count is a slow value: a full poll comes within
	 * SB_SLOW_EVERY polls */
	CU_ASSERT_FATAL(fresh(WALLBOX, SB_SLOW_EVERY, &rd));
	CU_ASSERT(rd.conn[0].energy_wh > 0);
	/* the Wallbox lists 10117 (maximum current), not 10119:
	 * 22000 W / (230 V x 3) = 31.88 A */
	CU_ASSERT(fabs(rd.max_current_a - 31.88) < 0.01);
	CU_ASSERT(isnan(rd.max_power_w));
	sb_charger_snapshot(sb, ULTRA, &rd);              /* low word first */
	CU_ASSERT(fabs(rd.conn[1].power_w - 7400) < 1);
	CU_ASSERT_STRING_EQUAL(rd.conn[1].id_token, "TAG-U2");
	CU_ASSERT_EQUAL(rd.conn[0].status, 0);            /* available */
	CU_ASSERT(fabs(rd.max_power_w - 22000) < 1);
	sb_charger_snapshot(sb, DC, &rd);
	CU_ASSERT(fabs(rd.conn[0].power_w - 40000) < 1);  /* capped: 40 kW */
	CU_ASSERT(rd.conn[0].soc_pct >= 35 && rd.conn[0].soc_pct <= 36);
	CU_ASSERT(fabs(rd.max_offline_power_w - 10000) < 1);
	/* 40 kW at the 400 V DC link: 100 A */
	CU_ASSERT(fabs(rd.conn[0].current_a[0] - 100) < 0.5);
	/* the RFID card number at 2400 + 18 x 1 (DC Compact / Fast) */
	CU_ASSERT_STRING_EQUAL(rd.conn[0].id_token, "TAG-D1");
	/* energy: the running total of 1500+x (kWh/100, rounded to 10 Wh),
	 * which the simulator's own count (in Wh) is never more than the
	 * rounding behind */
	{
		json_t *g = sim_cmd("get dc1");

		CU_ASSERT(rd.conn[0].energy_wh >= 0);
		CU_ASSERT(rd.conn[0].energy_wh <=
		    jnum(g, "connectors.0.session_wh") + 5);
		CU_ASSERT(rd.conn[0].energy_wh >
		    jnum(g, "connectors.0.session_wh") - 20);
		json_decref(g);
	}
	/* DC HiPower: its connector count at 150, 10116 refused; a DC
	 * Compact the other way round */
	sb_charger_snapshot(sb, DCHP, &rd);
	CU_ASSERT_EQUAL(rd.n_connectors, 2);
	CU_ASSERT(strstr(rd.unsupported, "10116 connectors") != NULL);
	CU_ASSERT(strstr(rd.unsupported, "150 ") == NULL);
	CU_ASSERT(fabs(rd.conn[1].power_w - 60000) < 1);
	sb_charger_snapshot(sb, DC, &rd);
	CU_ASSERT(strstr(rd.unsupported, "150 connectors") != NULL);
	CU_ASSERT(strstr(rd.unsupported, "10116") == NULL);
	sb_charger_snapshot(sb, SINGLE, &rd);             /* refuses 04 */
	CU_ASSERT(rd.ro_uses_fc03);
	CU_ASSERT(fabs(rd.max_power_w - 11000) < 1);
	sb_charger_snapshot(sb, WALLBOX, &rd);
	CU_ASSERT(!rd.ro_uses_fc03);
	CU_ASSERT_EQUAL(rd.bus_cycle_ms, 0); /* TCP: no bus */
	/* the RS-485 bus (rtu1 and the meter) measures its cycle: at least
	 * the wire time of one shortest exchange (8-byte request, 7-byte
	 * answer, 11 bits a byte at 9600 baud) for each of its two devices */
	CU_ASSERT_FATAL(fresh(RTU1, 2, &rd));
	CU_ASSERT(rd.bus_cycle_ms >= 2 * (8 + 7) * 11 * 1000 / 9600);
	CU_ASSERT(rd.bus_cycle_ms < 10000);
}

/* Limits land in the right register with the right scale. */
static void
test_writes(void)
{
	struct sb_charger_reading rd;
	uint64_t g[2];
	json_t *j;

	/* configuration on connect: mode, comm timeout where the model
	 * lists it (not the Wallbox), offline limits */
	j = sim_cmd("get wallbox1");
	CU_ASSERT_EQUAL((int)jnum(j, "control_mode"), 0);
	CU_ASSERT_EQUAL((int)jnum(j, "comm_timeout_s"), 0);
	CU_ASSERT_EQUAL((int)jnum(j, "connectors.0.limits.offline_power_w"), 3680);
	json_decref(j);
	j = sim_cmd("get ultra1");
	CU_ASSERT_EQUAL((int)jnum(j, "comm_timeout_s"), 30);
	json_decref(j);
	j = sim_cmd("get compact1");
	CU_ASSERT_EQUAL((int)jnum(j, "control_mode"), 1);
	CU_ASSERT_EQUAL((int)jnum(j, "connectors.0.limits.offline_current_ca"), 600);
	json_decref(j);

	/* 7.4 kW on the Wallbox (W) */
	g[0] = 1;
	CU_ASSERT_EQUAL(sb_submit_setpoint(sb, WALLBOX, 1, 7400, &g[1]), 0);
	CU_ASSERT_FATAL(sbt_wait_charger(sb, WALLBOX, sbt_gen_done, g, 3000,
	    &rd));
	j = sim_cmd("get wallbox1");
	CU_ASSERT_EQUAL((int)jnum(j, "connectors.0.limits.power_w"), 7400);
	json_decref(j);
	/* the EV follows (delay 0): the next polls read 7.4 kW */
	CU_ASSERT(fresh(WALLBOX, 2, &rd));
	CU_ASSERT(fabs(rd.conn[0].power_w - 7400) < 1);

	/* 16 A on the Compact (0.01 A): 1600 */
	CU_ASSERT_EQUAL(sb_submit_setpoint(sb, COMPACT, 1, 16, &g[1]), 0);
	CU_ASSERT_FATAL(sbt_wait_charger(sb, COMPACT, sbt_gen_done, g, 3000,
	    &rd));
	j = sim_cmd("get compact1");
	CU_ASSERT_EQUAL((int)jnum(j, "connectors.0.limits.current_ca"), 1600);
	json_decref(j);

	/* Ultra connector 2, low word first: the simulator decodes 3.7 kW */
	g[0] = 2;
	CU_ASSERT_EQUAL(sb_submit_setpoint(sb, ULTRA, 2, 3700, &g[1]), 0);
	CU_ASSERT_FATAL(sbt_wait_charger(sb, ULTRA, sbt_gen_done, g, 3000,
	    &rd));
	j = sim_cmd("get ultra1");
	CU_ASSERT_EQUAL((int)jnum(j, "connectors.1.limits.power_w"), 3700);
	CU_ASSERT_EQUAL((int)jnum(j, "connectors.0.limits.power_w"), 22000);
	json_decref(j);
	CU_ASSERT(fresh(ULTRA, 2, &rd));
	CU_ASSERT(fabs(rd.conn[1].power_w - 3700) < 1);

	/* DC connector 1 (1604): 25 kW; 70000 W (above 65535) on connector 2
	 * needs both words */
	g[0] = 1;
	CU_ASSERT_EQUAL(sb_submit_setpoint(sb, DC, 1, 25000, &g[1]), 0);
	CU_ASSERT_FATAL(sbt_wait_charger(sb, DC, sbt_gen_done, g, 3000, &rd));
	g[0] = 2;
	CU_ASSERT_EQUAL(sb_submit_setpoint(sb, DC, 2, 70000, &g[1]), 0);
	CU_ASSERT_FATAL(sbt_wait_charger(sb, DC, sbt_gen_done, g, 3000, &rd));
	j = sim_cmd("get dc1");
	CU_ASSERT_EQUAL((int)jnum(j, "connectors.0.limits.power_w"), 25000);
	CU_ASSERT_EQUAL((int)jnum(j, "connectors.1.limits.power_w"), 70000);
	json_decref(j);
	CU_ASSERT(fresh(DC, 2, &rd));
	CU_ASSERT(fabs(rd.conn[0].power_w - 25000) < 1);

	/* the Single that refuses 04 still writes (06/16 and 03 read-back) */
	g[0] = 1;
	CU_ASSERT_EQUAL(sb_submit_setpoint(sb, SINGLE, 1, 4000, &g[1]), 0);
	CU_ASSERT_FATAL(sbt_wait_charger(sb, SINGLE, sbt_gen_done, g, 3000,
	    &rd));
	j = sim_cmd("get single1");
	CU_ASSERT_EQUAL((int)jnum(j, "connectors.0.limits.power_w"), 4000);
	json_decref(j);

	/* the RTU charger, over the 9600-baud pty */
	CU_ASSERT_EQUAL(sb_submit_setpoint(sb, RTU1, 1, 5000, &g[1]), 0);
	CU_ASSERT_FATAL(sbt_wait_charger(sb, RTU1, sbt_gen_done, g, 5000, &rd));
	j = sim_cmd("get rtu1");
	CU_ASSERT_EQUAL((int)jnum(j, "connectors.0.limits.power_w"), 5000);
	json_decref(j);
}

/* Commands: stop and unlock (Ultra), firmware URL (Wallbox), phase. */
static void
test_commands(void)
{
	struct sb_charger_reading rd;
	uint64_t seq;
	json_t *j;
	const char *url = "https://fw.example.test/autel/v2.0.bin";

	CU_ASSERT_EQUAL(sb_submit_command(sb, ULTRA, 2, SB_CMD_STOP, 0, NULL,
	    NULL), 0);
	CU_ASSERT_EQUAL(sb_submit_command(sb, ULTRA, 2, SB_CMD_UNLOCK, 0, NULL,
	    &seq), 0);
	CU_ASSERT_FATAL(sbt_wait_charger(sb, ULTRA, sbt_cmd_done, &seq, 3000,
	    &rd));
	CU_ASSERT_EQUAL(rd.command_result, 0);
	j = sim_cmd("get ultra1");
	CU_ASSERT_EQUAL((int)jnum(j, "connectors.1.status"), 6); /* finishing */
	CU_ASSERT_EQUAL((int)jnum(j, "unlocks"), 1);
	json_decref(j);
	CU_ASSERT(fresh(ULTRA, 1, &rd));
	CU_ASSERT_EQUAL(rd.conn[1].status, 6);

	CU_ASSERT_EQUAL(sb_submit_command(sb, WALLBOX, 1, SB_CMD_FIRMWARE, 0,
	    url, &seq), 0);
	CU_ASSERT_FATAL(sbt_wait_charger(sb, WALLBOX, sbt_cmd_done, &seq, 3000,
	    &rd));
	CU_ASSERT_EQUAL(rd.command_result, 0);
	j = sim_cmd("get wallbox1");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "fw_url")),
	    url);
	json_decref(j);

	CU_ASSERT_EQUAL(sb_submit_command(sb, SINGLE, 1, SB_CMD_PHASE, 2, NULL,
	    &seq), 0);
	CU_ASSERT_FATAL(sbt_wait_charger(sb, SINGLE, sbt_cmd_done, &seq, 3000,
	    &rd));
	CU_ASSERT_EQUAL(rd.command_result, 0);
	CU_ASSERT_EQUAL(rd.phase_switch, 2); /* read back */
	j = sim_cmd("get single1");
	CU_ASSERT_EQUAL((int)jnum(j, "phase_switch"), 2);
	json_decref(j);

	/* a car drawing: the charger refuses the switch; the command fails,
	 * the value stays and the charger stays online */
	json_decref(sim_cmd("plug single1 1 evmax=7000"));
	for (int i = 0; i < 60; i++) {
		double w;

		j = sim_cmd("get single1");
		w = jnum(j, "power_w");
		json_decref(j);
		if (w > 0)
			break;
		usleep(50000);
	}
	CU_ASSERT_EQUAL(sb_submit_command(sb, SINGLE, 1, SB_CMD_PHASE, 0, NULL,
	    &seq), 0);
	CU_ASSERT_FATAL(sbt_wait_charger(sb, SINGLE, sbt_cmd_done, &seq, 3000,
	    &rd));
	CU_ASSERT_EQUAL(rd.command_result, SB_ERR_DEVICE);
	CU_ASSERT_EQUAL(rd.phase_switch, 2);
	CU_ASSERT_TRUE(rd.online);
	j = sim_cmd("get single1");
	CU_ASSERT_EQUAL((int)jnum(j, "phase_switch"), 2);
	CU_ASSERT_EQUAL((int)jnum(j, "phase_switches_refused"), 1);
	json_decref(j);
	json_decref(sim_cmd("unplug single1 1"));
}

/* A charger that stops answering goes offline and comes back; meanwhile
 * another link is not slowed down. */
static void
test_offline_back(void)
{
	struct sb_charger_reading rd, other;
	uint64_t g[2];
	json_t *j;

	sb_charger_snapshot(sb, WALLBOX, &other);
	uint64_t wallbox_polls = other.polls;
	j = sim_cmd("silence compact1 on");
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	json_decref(j);
	/* while the Compact's worker waits out its timeouts, the Wallbox
	 * takes a setpoint; the Compact is still short of offline then */
	g[0] = 1;
	CU_ASSERT_EQUAL(sb_submit_setpoint(sb, WALLBOX, 1, 6900, &g[1]), 0);
	CU_ASSERT(sbt_wait_charger(sb, WALLBOX, sbt_gen_done, g, 1000, &other));
	sb_charger_snapshot(sb, COMPACT, &rd);
	CU_ASSERT(rd.online);
	/* 3 timeouts of 300 ms (plus poll gaps of 200 ms) */
	CU_ASSERT_FATAL(sbt_wait_charger(sb, COMPACT, sbt_offline, NULL, 4000,
	    &rd));
	CU_ASSERT_EQUAL(rd.fault, SB_FAULT_IO);
	/* the Wallbox kept its 200 ms polls meanwhile (some 5; >= 2) */
	sb_charger_snapshot(sb, WALLBOX, &other);
	CU_ASSERT(other.polls >= wallbox_polls + 2);

	j = sim_cmd("silence compact1 off");
	json_decref(j);
	CU_ASSERT(fresh(COMPACT, 1, &rd));
	CU_ASSERT(rd.online);
	CU_ASSERT_EQUAL(rd.failures, 0);
	/* after the reconnect the mode and offline limit are written again */
	j = sim_cmd("get compact1");
	CU_ASSERT_EQUAL((int)jnum(j, "control_mode"), 1);
	CU_ASSERT_EQUAL((int)jnum(j, "connectors.0.limits.offline_current_ca"), 600);
	json_decref(j);
}

/* The dial-in charger is recognised by its serial and served. */
static void
test_dial_in(void)
{
	struct sb_charger_reading rd;
	uint64_t g[2] = { 1, 0 };
	json_t *j;

	CU_ASSERT_FATAL(fresh(DIALER, 1, &rd));
	CU_ASSERT_STRING_EQUAL(rd.serial, "AW-DIAL");
	CU_ASSERT(rd.identified);
	CU_ASSERT_EQUAL(sb_submit_setpoint(sb, DIALER, 1, 4600, &g[1]), 0);
	CU_ASSERT_FATAL(sbt_wait_charger(sb, DIALER, sbt_gen_done, g, 3000,
	    &rd));
	j = sim_cmd("get dialer1");
	CU_ASSERT_EQUAL((int)jnum(j, "connectors.0.limits.power_w"), 4600);
	json_decref(j);

	/* it hangs up and stays away: offline; it dials again: back, and
	 * its setpoint is written again on the new connection */
	j = sim_cmd("silence dialer1 close");
	json_decref(j);
	CU_ASSERT_FATAL(sbt_wait_charger(sb, DIALER, sbt_offline, NULL, 4000,
	    &rd));
	j = sim_cmd("silence dialer1 off");
	json_decref(j);
	CU_ASSERT_FATAL(fresh(DIALER, 1, &rd));
	CU_ASSERT(rd.online && rd.identified);
	j = sim_cmd("get dialer1");
	CU_ASSERT_EQUAL((int)jnum(j, "connectors.0.limits.power_w"), 4600);
	CU_ASSERT_EQUAL((int)jnum(j, "control_mode"), 0);
	json_decref(j);
}

/* The SDM630 over RTU on the pseudo-terminal matches the simulator and
 * follows a change of the household load. */
static void
test_meter_rtu(void)
{
	struct sb_meter_reading m;
	json_t *j;
	int64_t end = mono_now_ms() + 8000;
	uint64_t polls;

	j = sim_cmd("household 2500");
	json_decref(j);
	/* wait for a reading taken after the change: total = simulator's */
	do {
		struct pollfd p = { sb_fd(sb), POLLIN, 0 };
		poll(&p, 1, 100);
		sb_meter_snapshot(sb, mono_now_ms(), &m);
		j = sim_cmd("get meter");
		double want = jnum(j, "total_w");
		json_decref(j);
		if (m.polls > 0 && fabs(m.total_power_w - want) < 1)
			break;
	} while (mono_now_ms() < end);
	CU_ASSERT_FATAL(m.polls > 0);
	CU_ASSERT(!m.fault);
	j = sim_cmd("get meter");
	CU_ASSERT(fabs(m.total_power_w - jnum(j, "total_w")) < 1);
	CU_ASSERT(fabs(m.voltage_v[0] - jnum(j, "voltage_v.0")) < 0.01);
	CU_ASSERT(fabs(m.power_w[1] - jnum(j, "power_w.1")) < 1);
	CU_ASSERT(fabs(m.frequency_hz - 50) < 0.01);
	json_decref(j);

	/* 1 kW more household load shows in the total */
	double before = m.total_power_w;
	j = sim_cmd("household 3500");
	json_decref(j);
	polls = m.polls;
	end = mono_now_ms() + 8000;
	do {
		struct pollfd p = { sb_fd(sb), POLLIN, 0 };
		poll(&p, 1, 100);
		sb_meter_snapshot(sb, mono_now_ms(), &m);
	} while ((m.polls < polls + 2 || fabs(m.total_power_w - before - 1000) > 1)
	    && mono_now_ms() < end);
	CU_ASSERT(fabs(m.total_power_w - before - 1000) < 1);

	/* the meter falls silent: a fault (3 s max age) */
	j = sim_cmd("meter silence on");
	json_decref(j);
	end = mono_now_ms() + 8000;
	do {
		struct pollfd p = { sb_fd(sb), POLLIN, 0 };
		poll(&p, 1, 100);
		sb_meter_snapshot(sb, mono_now_ms(), &m);
	} while (!m.fault && mono_now_ms() < end);
	CU_ASSERT(m.fault);
	j = sim_cmd("meter silence off");
	json_decref(j);
}

/* An idle charger (the Single, no car) is read for its statuses only
 * between full polls; a car plugged in is seen in full at once. */
static void
test_idle_polls(void)
{
	struct sb_charger_reading rd;
	json_t *j;
	double r0, w0, r1, w1;

	CU_ASSERT_FATAL(fresh(SINGLE, 1, &rd));
	CU_ASSERT_EQUAL(rd.conn[0].status, SB_STATUS_AVAILABLE);
	j = sim_cmd("get single1");
	r0 = jnum(j, "requests");
	w0 = jnum(j, "writes");
	json_decref(j);
	CU_ASSERT_FATAL(fresh(SINGLE, SB_SLOW_EVERY, &rd));
	j = sim_cmd("get single1");
	r1 = jnum(j, "requests");
	w1 = jnum(j, "writes");
	json_decref(j);
	/* a status poll is one read (11000: the charger's 10000 feeds
	 * nothing beside it), a full poll of about eight every
	 * SB_IDLE_FULL_EVERY polls: at most one in these ten (a fast poll
	 * of an idle Single would be six or more reads) */
	CU_ASSERT((r1 - r0) - (w1 - w0) <= SB_SLOW_EVERY + 9);
	CU_ASSERT((r1 - r0) - (w1 - w0) >= SB_SLOW_EVERY);

	json_decref(sim_cmd("plug single1 1 evmax=7400"));
	CU_ASSERT_FATAL(fresh(SINGLE, 2, &rd));
	CU_ASSERT_NOT_EQUAL(rd.conn[0].status, SB_STATUS_AVAILABLE);
	CU_ASSERT(rd.conn[0].power_w > 0);
	json_decref(sim_cmd("unplug single1"));
	CU_ASSERT_FATAL(fresh(SINGLE, 2, &rd));
	CU_ASSERT_EQUAL(rd.conn[0].status, SB_STATUS_AVAILABLE);
}

/* The reads (requests less writes and their read-backs) the simulator
 * has answered for charger i. */
static double
reads_of(size_t i)
{
	json_t *j = sim_cmd("get %s", names[i]);
	double n = j != NULL ? jnum(j, "requests") - 2 * jnum(j, "writes") :
	    NAN;

	json_decref(j);
	return n;
}

/* Predicate: connector 1's status is *(int *)arg. */
static bool
conn1_status(const struct sb_charger_reading *r, const void *arg)
{
	return r->conn[0].status == *(const int *)arg;
}

/* A charging charger (the Wallbox, its power steady) is read for its
 * status and power every poll, the medium values every SB_MEDIUM_EVERY-th
 * and the slow ones (the energy counter) every SB_SLOW_EVERY-th poll; the
 * poll that sees its status change reads everything; waiting for power,
 * what its derived status is made of is read every poll. */
static void
test_read_rates(void)
{
	struct sb_charger_reading rd;
	double r0, r1, energy, sim_wh;
	int changed = 0, polls = 2 * SB_SLOW_EVERY;
	json_t *j;

	CU_ASSERT_FATAL(fresh(WALLBOX, SB_SLOW_EVERY, &rd));
	CU_ASSERT_EQUAL_FATAL(rd.conn[0].status, SB_STATUS_CHARGING);
	energy = rd.conn[0].energy_wh;
	r0 = reads_of(WALLBOX);
	for (int i = 0; i < polls; i++) {
		CU_ASSERT_FATAL(fresh(WALLBOX, 1, &rd));
		CU_ASSERT(rd.conn[0].power_w > 0);
		if (rd.conn[0].energy_wh != energy)
			changed++;
		energy = rd.conn[0].energy_wh;
	}
	r1 = reads_of(WALLBOX);
	/* the counter runs on in the simulator (11 kW): a new value at
	 * every full poll, so twice or (one poll in flight) three times */
	CU_ASSERT(changed >= 2 && changed <= 3);
	/* a strict Wallbox: 10000 | 11023 a poll; the medium poll adds
	 * 10005..10020, 11027..11032, 11141..11144 and 11147..11164 (6),
	 * the full one 11035..11038 and 11145 (7): 2 x (7 + 6 + 8 x 2) =
	 * 58, a little more for a poll in flight; reading the medium
	 * values every poll would take at least 6 a poll (120) */
	CU_ASSERT(r1 - r0 >= 2.0 * (polls - 1));
	CU_ASSERT(r1 - r0 <= 2 * (7 + 6 + 8 * 2) + 7);

	/* the EV stops drawing: the status turns suspendedEVSE, and that
	 * poll reads the energy counter too, whatever the slow rate */
	json_decref(sim_cmd("suspend %s 1", names[WALLBOX]));
	CU_ASSERT_FATAL(sbt_wait_charger(sb, WALLBOX, conn1_status,
	    &(int){ SB_STATUS_SUSPENDED_EVSE }, 5000, &rd));
	j = sim_cmd("get %s", names[WALLBOX]);
	sim_wh = jnum(j, "connectors.0.energy_wh");
	json_decref(j);
	CU_ASSERT(fabs(rd.conn[0].energy_wh - sim_wh) <= 0.1);

	/* unplugged while waiting for power: its token and charging time
	 * (what the derived status is made of) are read every poll, so
	 * the next poll sees the session over, not the medium one */
	CU_ASSERT_FATAL(fresh(WALLBOX, 1, &rd));
	uint64_t p0 = rd.polls;
	json_decref(sim_cmd("unplug %s 1", names[WALLBOX]));
	CU_ASSERT_FATAL(sbt_wait_charger(sb, WALLBOX, conn1_status,
	    &(int){ SB_STATUS_AVAILABLE }, 5000, &rd));
	CU_ASSERT(rd.polls - p0 <= 2);
	json_decref(sim_cmd("plug %s 1 evmax=11000 phases=3 idtag=TAG-W1",
	    names[WALLBOX]));
	CU_ASSERT(sbt_wait_charger(sb, WALLBOX, conn1_status,
	    &(int){ SB_STATUS_CHARGING }, 5000, &rd));
}

/* The Modbus TCP connections the simulator accepted for a charger. */
static int
accepted(const char *name)
{
	json_t *j = sim_cmd("get %s", name);
	int n = j != NULL ? (int)jnum(j, "accepted") : -1;

	json_decref(j);
	return n;
}

/* A charger removed and added again at run time (sb_restart): the others
 * keep their connections (the simulator accepts none more), what was
 * learnt of them and their setpoints; the removed one is closed, the
 * added one is connected and identified.  Last: the indexes change. */
static void
test_restart(void)
{
	struct sb_charger_conf less[N_CHARGERS], more[N_CHARGERS];
	int keep[N_CHARGERS], fd = sb_fd(sb), n = 0;
	int wallbox0 = accepted("wallbox1"), compact0 = accepted("compact1");
	int ultra0 = accepted("ultra1");
	struct sb_charger_conf *bad;
	struct sb_charger_reading rd;
	struct sb_conf c = conf;
	uint64_t g[2] = { 1, 0 }, again;
	char *cause = NULL;
	json_t *j;

	CU_ASSERT_FATAL(wallbox0 >= 1 && compact0 >= 1 && ultra0 >= 1);
	CU_ASSERT_EQUAL(sb_submit_setpoint(sb, WALLBOX, 1, 5100, &g[1]), 0);
	CU_ASSERT_FATAL(sbt_wait_charger(sb, WALLBOX, sbt_gen_done, g, 3000,
	    &rd));

	/* an invalid description changes nothing */
	bad = xcalloc(1, sizeof(*bad));
	*bad = ch[WALLBOX];
	bad->unit_id = 300;
	c.chargers = bad;
	c.n_chargers = 1;
	CU_ASSERT_EQUAL(sb_restart(&sb, &c, NULL, true, &cause),
	    SB_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(cause);
	free(cause);
	cause = NULL;
	free(bad);
	CU_ASSERT_FATAL(fresh(COMPACT, 1, &rd));

	/* the Compact leaves: the rest move up one index */
	for (int i = 0; i < N_CHARGERS; i++)
		if (i != COMPACT) {
			keep[n] = i;
			less[n++] = ch[i];
		}
	c.chargers = less;
	c.n_chargers = (size_t)n;
	CU_ASSERT_FATAL(sb_restart(&sb, &c, keep, true, &cause) == 0);
	CU_ASSERT_EQUAL(sb_fd(sb), fd);
	/* the Wallbox's reading is there at once, still identified */
	CU_ASSERT_EQUAL(sb_charger_snapshot(sb, 0, &rd), 0);
	CU_ASSERT(rd.online && rd.identified);
	CU_ASSERT_EQUAL(rd.index, 0);
	CU_ASSERT_STRING_EQUAL(rd.serial, "AW-T1");
	/* its setpoint stands: the same value is no new write */
	CU_ASSERT_EQUAL(sb_submit_setpoint(sb, 0, 1, 5100, &again), 0);
	CU_ASSERT_EQUAL(again, g[1]);
	CU_ASSERT_FATAL(fresh(0, 2, &rd));
	CU_ASSERT(fresh(1, 2, &rd) && rd.online);
	CU_ASSERT_EQUAL(accepted("wallbox1"), wallbox0);
	CU_ASSERT_EQUAL(accepted("ultra1"), ultra0);
	j = sim_cmd("get compact1");
	CU_ASSERT_EQUAL((int)jnum(j, "connections"), 0);
	json_decref(j);
	CU_ASSERT_EQUAL(sb_charger_snapshot(sb, (size_t)n, &rd),
	    SB_ERR_NO_DEVICE);

	/* the Compact comes back, at the end: a new connection for it only */
	for (int i = 0; i < n; i++) {
		more[i] = less[i];
		keep[i] = i;
	}
	more[n] = ch[COMPACT];
	keep[n] = -1;
	c.chargers = more;
	c.n_chargers = (size_t)n + 1;
	CU_ASSERT_FATAL(sb_restart(&sb, &c, keep, true, &cause) == 0);
	CU_ASSERT_FATAL(fresh((size_t)n, 1, &rd));
	CU_ASSERT(rd.online && rd.identified);
	CU_ASSERT_EQUAL(accepted("compact1"), compact0 + 1);
	CU_ASSERT_EQUAL(accepted("wallbox1"), wallbox0);
	CU_ASSERT(fresh(0, 1, &rd) && rd.online);
	free(cause);
}

static const struct cu_test tests[] = {
	{ "reads match the simulator", test_reads },
	{ "an idle charger read for its statuses", test_idle_polls },
	{ "a charging charger's read rates", test_read_rates },
	{ "writes land with the right scale", test_writes },
	{ "commands", test_commands },
	{ "offline and back, other links unaffected", test_offline_back },
	{ "charger as client", test_dial_in },
	{ "meter over RTU", test_meter_rtu },
	{ "chargers removed and added at run time", test_restart },
	{ NULL, NULL },
};

static const struct cu_suite suites[] = {
	{ "southbound against ocpp-edge-sim", suite_init, suite_cleanup, tests },
	{ NULL, NULL, NULL, NULL },
};

int
main(void)
{
	if (access(sim_path(), X_OK) != 0) {
		fprintf(stderr, "%s not built: skipped\n", sim_path());
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	return cu_run(suites);
}
