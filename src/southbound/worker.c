/* Link workers and the thread-safe interface to the event loop.
 *
 * A link is a TCP device (gateway connects), a charger that dials in
 * (tcp-listen), or an RTU bus with all its slaves.  Each RTU bus has a
 * worker thread of its own; a fixed pool of SB_TCP_WORKERS threads shares
 * the TCP links, one link per worker at a time.  The loop
 * thread never waits on Modbus: it stores setpoints in latest-wins slots
 * and commands in a short queue, wakes the worker, and later copies the
 * readings the worker published.  One mutex guards everything shared; it
 * is never held across a Modbus exchange. */
#define _GNU_SOURCE
#include "southbound/sb-private.h"

#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <modbus.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SB_MAX_COMMANDS 8

struct sb_cmd {
	uint64_t seq;
	int connector;
	enum sb_command cmd;
	int arg;
	char *url;
};

struct sb_link;

/* Per-device state shared with the loop thread (under sb->lock). */
struct sb_slot {
	struct sb_dev dev;          /* the worker's own */
	struct sb_link *link;
	int64_t turn_ms;            /* RTU: how long its last turn took */
	/* setpoints: latest wins */
	double sp[SB_MAX_CONNECTORS];
	uint64_t sp_gen[SB_MAX_CONNECTORS];     /* 0 = none submitted */
	uint64_t sp_done[SB_MAX_CONNECTORS];    /* generation written */
	double off[SB_MAX_CONNECTORS];
	uint64_t off_gen[SB_MAX_CONNECTORS];
	uint64_t off_done[SB_MAX_CONNECTORS];
	struct sb_cmd cmds[SB_MAX_COMMANDS];
	size_t n_cmds;
	uint64_t cmd_seq;
	/* published readings */
	struct sb_charger_reading snap;
	struct sb_meter_reading msnap;
	bool changed;
	bool poll_req;               /* sb_poll_now() */
	/* worker-only scheduling */
	bool online;
	unsigned failures;
	int64_t next_poll_ms;
	int64_t retry_at_ms;        /* offline: next attempt */
	int64_t backoff_ms;
	int64_t write_retry_ms;     /* after a failed read-back */
	int64_t refresh_ms;         /* next re-write of all setpoints */
	int64_t lost_ms;            /* tcp-listen: when the socket was lost */
	int64_t reprobe_ms;         /* refused registers asked again then
	                               (0: none refused) */
	/* what the log has said about it (worker-only) */
	bool ever_ok;               /* answered at least once */
	bool told_down;             /* a "not reached" line was logged */
	int64_t tell_ms;            /* next "still not reached" line */
	unsigned failed_total;      /* failed turns since the last good one */
	int64_t down_since_ms;      /* first failure of this episode */
};

/* A device that stays down is mentioned again at most this often. */
#define SB_TELL_EVERY_MS (5 * 60 * 1000)

struct sb_link {
	struct sb *sb;
	enum sb_link_kind kind;
	pthread_t thread;              /* RTU: its bus worker */
	bool started;
	pthread_cond_t cond;           /* RTU */
	bool wake;                     /* RTU */
	bool busy;                     /* TCP: held by a pool worker */
	modbus_t *ctx;
	bool connected;
	char *host;
	int port;
	struct sb_serial_conf serial;  /* device string owned */
	int gap_ms;                    /* silence between RTU frames */
	int64_t cycle_ms;              /* RTU: the sum of its devices' last
	                                  turns (worker's own) */
	int64_t last_io_ms;
	int pending_fd;                /* tcp-listen: handed over, -1 */
	int64_t due_ms;                /* TCP pool: none of its devices is
	                                  due before (0: look again) */
	struct sb_slot **slots;
	size_t n_slots;
};

struct sb {
	struct sb_conf conf;         /* copy; chargers pointer not kept */
	pthread_mutex_t lock;
	bool stop;
	int efd;
	struct sb_slot *chargers;
	size_t n_chargers;
	struct sb_slot *meter;       /* NULL without a meter */
	struct sb_link **links;
	size_t n_links;
	/* tcp-listen */
	int listen_fd;
	int listen_port;
	int stop_pipe[2];
	pthread_t listener;
	bool listener_started;
	/* the TCP pool */
	pthread_t pool[SB_TCP_WORKERS];
	size_t n_pool;
	pthread_cond_t pool_cond;
	size_t pool_next;            /* where the next scan starts */
};

/* Returns the text for an sb_err code.  Static storage. */
const char *
sb_strerror(int code)
{
	switch ((enum sb_err)code) {
	case SB_OK: return "success";
	case SB_ERR_CONFIG: return "invalid southbound description";
	case SB_ERR_RANGE: return "value out of range";
	case SB_ERR_NO_DEVICE: return "no such charger or connector";
	case SB_ERR_UNSUPPORTED: return "the charger model has no register for that";
	case SB_ERR_BUSY: return "too many commands waiting";
	case SB_ERR_SYSTEM: return "system error";
	case SB_ERR_OFFLINE: return "the charger is offline";
	case SB_ERR_DEVICE: return "the charger refused or did not answer";
	}
	return "unknown error";
}

/* Returns the name of a fault.  Static storage. */
const char *
sb_fault_name(enum sb_fault fault)
{
	switch (fault) {
	case SB_FAULT_NONE: return "none";
	case SB_FAULT_IO: return "io";
	case SB_FAULT_EXCEPTION: return "exception";
	case SB_FAULT_READBACK: return "read-back mismatch";
	case SB_FAULT_IDENTITY: return "identity mismatch";
	case SB_FAULT_STALE: return "stale";
	case SB_FAULT_IMPLAUSIBLE: return "implausible reading";
	}
	return "?";
}

/* Fills a description with defaults. */
void
sb_conf_defaults(struct sb_conf *conf)
{
	memset(conf, 0, sizeof *conf);
	conf->response_timeout_ms = 500;
	conf->rtu_response_timeout_ms = 500;
	conf->comm_timeout_s = 30;
	conf->offline_after_failures = 3;
	conf->poll_interval_ms = 1000;
	conf->backoff_min_ms = 1000;
	conf->backoff_max_ms = 30000;
	conf->meter_gap_ms = 100;
	conf->listen_unit_id = 1;
	conf->reprobe_ms = 10 * 60 * 1000;
	conf->meter.poll_interval_ms = 1000;
	conf->meter.max_age_s = 3;
	conf->meter.unit_id = 1;
}

/* ---- checking the description ------------------------------------------ */

struct errs {
	char *text;
	size_t n;
};

/* Appends one message to the collected errors (owned by e). */
static void LOG_PRINTF(2, 3)
err_add(struct errs *e, const char *fmt, ...)
{
	va_list ap;
	char *line, *joined;

	va_start(ap, fmt);
	if (vasprintf(&line, fmt, ap) < 0)
		line = NULL;
	va_end(ap);
	if (line == NULL)
		return;
	if (e->text == NULL)
		e->text = line;
	else {
		xasprintf(&joined, "%s; %s", e->text, line);
		free(e->text);
		free(line);
		e->text = joined;
	}
	e->n++;
}

/* Adds an error naming who, what, the value and the valid range. */
static void
check_range(struct errs *e, const char *who, const char *what, long v,
    long lo, long hi)
{
	if (v < lo || v > hi)
		err_add(e, "%s: %s %ld out of range %ld..%ld", who, what, v, lo,
		    hi);
}

/* Checks a serial line description. */
static void
check_serial(struct errs *e, const char *who, const struct sb_serial_conf *s)
{
	if (s->device == NULL || s->device[0] == '\0')
		err_add(e, "%s: rtu link needs a serial device", who);
	check_range(e, who, "baud", s->baud, 1200, 115200);
	if (s->parity != 'N' && s->parity != 'E' && s->parity != 'O')
		err_add(e, "%s: parity '%c' is not N, E or O", who,
		    s->parity ? s->parity : '?');
	check_range(e, who, "stop-bits", s->stop_bits, 1, 2);
}

/* Checks what devices must agree on: one serial number per dial-in
 * charger, and per RTU bus the same line settings and distinct unit ids
 * (the meter included). */
static void
check_shared(const struct sb_conf *c, struct errs *e)
{
	size_t n = c->n_chargers < SB_MAX_CHARGERS ? c->n_chargers :
	    SB_MAX_CHARGERS;
	bool meter_rtu = c->meter.type != SB_METER_NONE &&
	    c->meter.link == SB_LINK_RTU && c->meter.rtu.device != NULL;

	for (size_t i = 0; i < n; i++) {
		const struct sb_charger_conf *a = &c->chargers[i];
		const char *an = a->name ? a->name : "?";

		if (a->link == SB_LINK_RTU && a->rtu.device != NULL &&
		    meter_rtu && strcmp(a->rtu.device, c->meter.rtu.device) == 0) {
			if (a->unit_id == c->meter.unit_id)
				err_add(e, "charger \"%s\": unit-id %d is the "
				    "meter's on %s", an, a->unit_id,
				    a->rtu.device);
			if (a->rtu.baud != c->meter.rtu.baud ||
			    a->rtu.parity != c->meter.rtu.parity ||
			    a->rtu.stop_bits != c->meter.rtu.stop_bits)
				err_add(e, "charger \"%s\": baud, parity and "
				    "stop-bits must be the meter's on %s", an,
				    a->rtu.device);
		}
		for (size_t j = 0; j < i; j++) {
			const struct sb_charger_conf *b = &c->chargers[j];
			const char *bn = b->name ? b->name : "?";

			if (a->link == SB_LINK_TCP_LISTEN &&
			    b->link == SB_LINK_TCP_LISTEN && a->serial != NULL &&
			    b->serial != NULL && a->serial[0] != '\0' &&
			    strcmp(a->serial, b->serial) == 0)
				err_add(e, "charger \"%s\": serial \"%s\" is "
				    "also charger \"%s\"'s", an, a->serial, bn);
			if (a->link != SB_LINK_RTU || b->link != SB_LINK_RTU ||
			    a->rtu.device == NULL || b->rtu.device == NULL ||
			    strcmp(a->rtu.device, b->rtu.device) != 0)
				continue;
			if (a->unit_id == b->unit_id)
				err_add(e, "charger \"%s\": unit-id %d is also "
				    "charger \"%s\"'s on %s", an, a->unit_id, bn,
				    a->rtu.device);
			if (a->rtu.baud != b->rtu.baud ||
			    a->rtu.parity != b->rtu.parity ||
			    a->rtu.stop_bits != b->rtu.stop_bits)
				err_add(e, "charger \"%s\": baud, parity and "
				    "stop-bits must be charger \"%s\"'s on %s", an,
				    bn, a->rtu.device);
		}
	}
}

/* Checks a whole description, collecting every problem in e. */
static void
check_conf(const struct sb_conf *c, struct errs *e)
{
	check_range(e, "southbound", "response-timeout-ms",
	    c->response_timeout_ms, 10, 60000);
	check_range(e, "southbound", "rtu response timeout (ms)",
	    c->rtu_response_timeout_ms, 10, 60000);
	check_range(e, "southbound", "comm-timeout-s", c->comm_timeout_s, 3,
	    65535);
	check_range(e, "southbound", "offline-after-failures",
	    c->offline_after_failures, 1, 100);
	check_range(e, "southbound", "poll interval (ms)", c->poll_interval_ms,
	    10, 600000);
	check_range(e, "southbound", "backoff min (ms)", c->backoff_min_ms, 10,
	    600000);
	check_range(e, "southbound", "re-probe interval (ms)", c->reprobe_ms,
	    100, 86400000);
	if (c->backoff_max_ms < c->backoff_min_ms)
		err_add(e, "southbound: backoff max %d ms below min %d ms",
		    c->backoff_max_ms, c->backoff_min_ms);
	if (c->n_chargers > SB_MAX_CHARGERS)
		err_add(e, "southbound: %zu chargers, at most %d", c->n_chargers,
		    SB_MAX_CHARGERS);
	for (size_t i = 0; i < c->n_chargers && i < SB_MAX_CHARGERS; i++) {
		const struct sb_charger_conf *ch = &c->chargers[i];
		char who[96];
		const struct sb_model_desc *m = sb_model_desc(ch->model);

		snprintf(who, sizeof who, "charger \"%s\"",
		    ch->name ? ch->name : "?");
		if (m == NULL) {
			err_add(e, "%s: unknown model %d", who, (int)ch->model);
			continue;
		}
		check_range(e, who, "connectors", ch->connectors, 1,
		    m->max_connectors);
		switch (ch->link) {
		case SB_LINK_TCP:
			if (ch->host == NULL || ch->host[0] == '\0')
				err_add(e, "%s: tcp link needs a host", who);
			check_range(e, who, "port", ch->port, 1, 65535);
			check_range(e, who, "unit-id", ch->unit_id, 0, 255);
			break;
		case SB_LINK_TCP_LISTEN:
			if (ch->serial == NULL || ch->serial[0] == '\0')
				err_add(e, "%s: tcp-listen needs the serial "
				    "number the charger reports", who);
			if (c->listen == NULL || c->listen[0] == '\0')
				err_add(e, "%s: tcp-listen needs southbound "
				    "listen = \"host:port\"", who);
			break;
		case SB_LINK_RTU:
			check_serial(e, who, &ch->rtu);
			check_range(e, who, "unit-id", ch->unit_id, 1, 247);
			break;
		default:
			err_add(e, "%s: unknown link %d", who, (int)ch->link);
		}
		for (int k = 0; k < ch->connectors && k < SB_MAX_CONNECTORS;
		    k++)
		{
			if (!(ch->offline_limit[k] >= 0))
				err_add(e, "%s: offline limit of connector %d "
				    "must be >= 0", who, k + 1);
			if (!(ch->energy_base_wh[k] >= 0 &&
			    ch->energy_base_wh[k] <= SB_ENERGY_MAX_WH) ||
			    !(ch->session_last_wh[k] >= 0 &&
			    ch->session_last_wh[k] <= SB_ENERGY_MAX_WH))
				err_add(e, "%s: restored energy of connector %d "
				    "out of range 0..1e15 Wh", who, k + 1);
		}
	}
	check_shared(c, e);
	if (c->meter.type != SB_METER_NONE) {
		if (sb_meter_desc(c->meter.type) == NULL)
			err_add(e, "meter: unknown type %d", (int)c->meter.type);
		if (c->meter.link == SB_LINK_TCP) {
			if (c->meter.host == NULL || c->meter.host[0] == '\0')
				err_add(e, "meter: tcp link needs a host");
			check_range(e, "meter", "port", c->meter.port, 1, 65535);
		} else if (c->meter.link == SB_LINK_RTU) {
			check_serial(e, "meter", &c->meter.rtu);
		} else
			err_add(e, "meter: link must be tcp or rtu");
		check_range(e, "meter", "unit-id", c->meter.unit_id, 1, 247);
		check_range(e, "meter", "poll-interval-ms",
		    c->meter.poll_interval_ms, 100, 600000);
		check_range(e, "meter", "max-age-s", c->meter.max_age_s, 1,
		    3600);
	}
}

/* ---- the workers ------------------------------------------------------- */

/* Makes the readings descriptor readable. */
static void
notify(struct sb *sb)
{
	uint64_t one = 1;
	ssize_t n = write(sb->efd, &one, sizeof one);
	(void)n; /* EAGAIN: the counter is already non-zero */
}

/* Copies the worker's reading to the shared snapshot. */
static void
publish(struct sb *sb, struct sb_slot *s)
{
	pthread_mutex_lock(&sb->lock);
	s->dev.rd.online = s->online;
	s->dev.rd.failures = s->failures;
	s->dev.rd.identified = s->dev.identified;
	s->dev.rd.io = s->dev.mrd.io = s->dev.io;
	s->dev.rd.bus_cycle_ms = s->link->cycle_ms;
	if (s->dev.is_meter)
		s->msnap = s->dev.mrd;
	else
		s->snap = s->dev.rd;
	s->changed = true;
	pthread_mutex_unlock(&sb->lock);
	notify(sb);
}

/* Closes the link's connection and forgets what each device learnt on it;
 * the next connection asks the registers they refused again (a device
 * may have been updated, or a refusal come from a confused link). */
static void
link_close(struct sb_link *l)
{
	if (l->ctx == NULL)
		return;
	modbus_close(l->ctx);
	modbus_free(l->ctx);
	l->ctx = NULL;
	l->connected = false;
	for (size_t i = 0; i < l->n_slots; i++) {
		sb_drv_reprobe(&l->slots[i]->dev);
		sb_drv_reset(&l->slots[i]->dev);
	}
}

/* Asks a device's refused registers again every reprobe_ms, counted from
 * the turn that first finds one refused. */
static void
reprobe_timer(struct sb_slot *s, int64_t now)
{
	int every = s->link->sb->conf.reprobe_ms;

	if (s->dev.n_unsup == 0)
		s->reprobe_ms = 0;
	else if (s->reprobe_ms == 0)
		s->reprobe_ms = now + every;
	else if (now >= s->reprobe_ms) {
		sb_drv_reprobe(&s->dev);
		s->reprobe_ms = now + every;
	}
}

/* Sets the response and byte timeouts of a context, in ms. */
static void
set_timeouts(modbus_t *ctx, int ms, int byte_ms)
{
	modbus_set_response_timeout(ctx, (uint32_t)(ms / 1000),
	    (uint32_t)(ms % 1000) * 1000);
	modbus_set_byte_timeout(ctx, (uint32_t)(byte_ms / 1000),
	    (uint32_t)(byte_ms % 1000) * 1000);
}

/* Opens the link's connection; 0 or -1 with errno. */
static int
link_open(struct sb_link *l)
{
	const struct sb_conf *c = &l->sb->conf;
	char port[16];
	int err;

	if (l->connected)
		return 0;
	switch (l->kind) {
	case SB_LINK_TCP:
		snprintf(port, sizeof port, "%d", l->port);
		l->ctx = modbus_new_tcp_pi(l->host, port);
		if (l->ctx == NULL)
			return -1;
		set_timeouts(l->ctx, c->response_timeout_ms,
		    c->response_timeout_ms);
		break;
	case SB_LINK_RTU:
		l->ctx = modbus_new_rtu(l->serial.device, l->serial.baud,
		    l->serial.parity, 8, l->serial.stop_bits);
		if (l->ctx == NULL)
			return -1;
		/* a byte gap of more than 100 ms ends a broken frame */
		set_timeouts(l->ctx, c->rtu_response_timeout_ms, 100);
		/* after a garbled frame, wait out the rest and flush it;
		 * a TCP connection is closed instead (turn_failed) */
		modbus_set_error_recovery(l->ctx,
		    MODBUS_ERROR_RECOVERY_PROTOCOL);
		break;
	case SB_LINK_TCP_LISTEN:
	default:
		errno = ENOTCONN;
		return -1; /* sockets arrive through pending_fd */
	}
	if (modbus_connect(l->ctx) != 0) {
		err = errno;
		modbus_free(l->ctx);
		l->ctx = NULL;
		errno = err;
		return -1;
	}
	l->connected = true;
	return 0;
}

/* Writes why the link could not be opened ("connect to 10.0.0.11:502:
 * Connection refused", "open /dev/ttyS1: No such file or directory"). */
static void
link_error(const struct sb_link *l, int err, char *buf, size_t len)
{
	if (l->kind == SB_LINK_RTU)
		snprintf(buf, len, "open %s: %s", l->serial.device,
		    modbus_strerror(err));
	else
		snprintf(buf, len, "connect to %s:%d: %s",
		    l->host != NULL ? l->host : "?", l->port,
		    modbus_strerror(err));
}

/* Adopts a socket the listener handed over (called with the lock). */
static void
link_adopt(struct sb_link *l, int fd)
{
	const struct sb_conf *c = &l->sb->conf;

	link_close(l);
	l->ctx = modbus_new_tcp("127.0.0.1", 502);
	if (l->ctx == NULL) {
		close(fd);
		return;
	}
	modbus_set_socket(l->ctx, fd);
	set_timeouts(l->ctx, c->response_timeout_ms, c->response_timeout_ms);
	l->connected = true;
	for (size_t i = 0; i < l->n_slots; i++) {
		/* served at once; failures count on across connections */
		struct sb_slot *s = l->slots[i];
		s->retry_at_ms = 0;
		s->next_poll_ms = 0;
		s->lost_ms = 0;
	}
}

/* Says, from the first failed attempt, that a device is not reached (or
 * reads out of range) and why, then at most every SB_TELL_EVERY_MS while
 * it stays so: one line per episode, none per poll. */
static void
tell_down(struct sb_slot *s, const char *why, int64_t now)
{
	const struct sb_conf *c = &s->link->sb->conf;
	int first_s = (s->dev.is_meter ? c->meter.poll_interval_ms :
	    c->poll_interval_ms) / 1000;
	bool absurd = (s->dev.is_meter ? s->dev.mrd.why : s->dev.rd.fault) ==
	    SB_FAULT_IMPLAUSIBLE;
	const char *state = absurd ? "implausible reading, not used" :
	    s->ever_ok ? "not reached" : "not reached yet";

	if (s->failed_total++ == 0)
		s->down_since_ms = now;
	if (s->told_down && now < s->tell_ms)
		return;
	if (first_s < 1)
		first_s = 1;
	if (!s->told_down)
		log_warnx("%s: %s: %s (retrying every %d-%d s)", s->dev.name,
		    state, why, first_s, c->backoff_max_ms / 1000);
	else
		log_warnx("%s: still failing after %lld min: %s "
		    "(%u attempts)", s->dev.name,
		    (long long)((now - s->down_since_ms) / 60000), why,
		    s->failed_total);
	s->told_down = true;
	s->tell_ms = now + SB_TELL_EVERY_MS;
}

/* A good turn: says so when a "not reached" line was logged. */
static void
tell_up(struct sb_slot *s)
{
	if (s->told_down)
		log_info("%s: back after %u failed attempt%s", s->dev.name,
		    s->failed_total, s->failed_total == 1 ? "" : "s");
	s->told_down = false;
	s->failed_total = 0;
	s->ever_ok = true;
}

/* Counts a failed turn: offline after N in a row, retried with backoff.
 * A TCP connection is dropped (a late answer must not be taken for the
 * next one); an RTU bus is flushed. */
static void
turn_failed(struct sb_link *l, struct sb_slot *s, int64_t now, bool io)
{
	const struct sb_conf *c = &l->sb->conf;

	if (!io) {
		/* the device answered wrongly: try again in a poll interval */
		s->write_retry_ms = now + c->poll_interval_ms;
		if (s->next_poll_ms <= now)
			s->next_poll_ms = now + c->poll_interval_ms;
		return;
	}
	s->failures++;
	if (l->kind == SB_LINK_RTU) {
		if (l->ctx != NULL)
			modbus_flush(l->ctx);
		s->dev.identified = false;
	} else if (l->kind == SB_LINK_TCP) {
		link_close(l);
	} else {
		/* tcp-listen: drop the socket (a late answer must not be
		 * taken for the next one); the charger dials again */
		link_close(l);
		s->lost_ms = now;
	}
	if ((int)s->failures >= c->offline_after_failures) {
		if (s->online)
			log_debug("sb", "%s: offline after %u failures",
			    s->dev.name, s->failures);
		s->online = false;
		/* waiting commands fail now rather than run much later */
		pthread_mutex_lock(&l->sb->lock);
		for (size_t i = 0; i < s->n_cmds; i++) {
			s->dev.rd.commands_done = s->cmds[i].seq;
			s->dev.rd.command_result = SB_ERR_DEVICE;
			free(s->cmds[i].url);
		}
		s->n_cmds = 0;
		pthread_mutex_unlock(&l->sb->lock);
		s->retry_at_ms = now + s->backoff_ms;
		s->backoff_ms *= 2;
		if (s->backoff_ms > c->backoff_max_ms)
			s->backoff_ms = c->backoff_max_ms;
	} else {
		s->retry_at_ms = now + (s->dev.is_meter ?
		    c->meter.poll_interval_ms : c->poll_interval_ms);
	}
}

/* One turn for a charger: identity and configuration after a (re)connect,
 * offline limits and setpoints that changed (or are due for the
 * comm-timeout/3 refresh), queued commands, and the poll when due. */
static void
charger_turn(struct sb_link *l, struct sb_slot *s, int64_t now)
{
	struct sb *sb = l->sb;
	const struct sb_conf *c = &sb->conf;
	struct sb_dev *d = &s->dev;
	modbus_t *ctx;
	int n = d->n_conn, rc = 0;
	bool poll_due, requested, refresh;

	reprobe_timer(s, now);
	pthread_mutex_lock(&sb->lock);
	requested = s->poll_req;
	poll_due = now >= s->next_poll_ms || requested;
	s->poll_req = false;
	pthread_mutex_unlock(&sb->lock);
	if (link_open(l) != 0) {
		sb_io_count(d, 0, errno);
		link_error(l, errno, d->rd.error, sizeof d->rd.error);
		d->rd.fault = SB_FAULT_IO;
		tell_down(s, d->rd.error, now);
		turn_failed(l, s, now, true);
		publish(sb, s);
		return;
	}
	ctx = l->ctx;
	modbus_set_slave(ctx, d->unit_id);
	sb_pace(l->last_io_ms, l->gap_ms); /* RTU bus silence */

	if (!d->identified) {
		if ((rc = sb_drv_identify(d, ctx, c->comm_timeout_s)) != 0)
			goto failed;
		/* a new connection: every limit is written again */
		pthread_mutex_lock(&sb->lock);
		for (int k = 0; k < n; k++) {
			s->off_done[k] = 0;
			s->sp_done[k] = 0;
		}
		pthread_mutex_unlock(&sb->lock);
		s->write_retry_ms = 0;
	}

	refresh = now >= s->refresh_ms;
	for (int k = 0; k < n; k++) {
		uint64_t gen;
		double v;
		bool offline;

		for (int pass = 0; pass < 2; pass++) {
			offline = pass == 0;
			pthread_mutex_lock(&sb->lock);
			gen = offline ? s->off_gen[k] : s->sp_gen[k];
			v = offline ? s->off[k] : s->sp[k];
			bool todo = gen != 0 && (gen != (offline ?
			    s->off_done[k] : s->sp_done[k]) ||
			    (refresh && !offline));
			pthread_mutex_unlock(&sb->lock);
			if (!todo || now < s->write_retry_ms)
				continue;
			rc = sb_drv_write_limit(d, ctx, k + 1, offline, v);
			if (rc != 0)
				goto failed;
			pthread_mutex_lock(&sb->lock);
			if (offline)
				s->off_done[k] = gen;
			else {
				s->sp_done[k] = gen;
				d->rd.conn[k].limit_written = v;
				d->rd.conn[k].limit_generation = gen;
			}
			pthread_mutex_unlock(&sb->lock);
		}
	}
	if (refresh)
		s->refresh_ms = now + (int64_t)c->comm_timeout_s * 1000 / 3;

	for (;;) {
		struct sb_cmd cmd;

		pthread_mutex_lock(&sb->lock);
		if (s->n_cmds == 0) {
			pthread_mutex_unlock(&sb->lock);
			break;
		}
		cmd = s->cmds[0];
		memmove(&s->cmds[0], &s->cmds[1],
		    (s->n_cmds - 1) * sizeof s->cmds[0]);
		s->n_cmds--;
		pthread_mutex_unlock(&sb->lock);
		rc = sb_drv_command(d, ctx, cmd.connector, cmd.cmd, cmd.arg,
		    cmd.url);
		free(cmd.url);
		d->rd.commands_done = cmd.seq;
		d->rd.command_result = rc == 0 ? 0 : SB_ERR_DEVICE;
		if (rc == SB_DRV_IO)
			goto failed;
	}

	if (poll_due) {
		/* polled on request (after each meter reading): the own
		 * interval only takes over when the requests stop */
		s->next_poll_ms = now + c->poll_interval_ms +
		    (requested ? c->poll_interval_ms / 2 : 0);
		if ((rc = sb_drv_poll(d, ctx, mono_now_ms())) != 0)
			goto failed;
	}
	l->last_io_ms = mono_now_ms();
	tell_up(s);
	if (!s->online)
		log_debug("sb", "%s: online", d->name);
	s->online = true;
	s->failures = 0;
	s->backoff_ms = c->backoff_min_ms;
	if (d->rd.fault != SB_FAULT_READBACK) {
		d->rd.fault = SB_FAULT_NONE;
		d->rd.error[0] = '\0';
	}
	publish(sb, s);
	return;

failed:
	l->last_io_ms = mono_now_ms();
	if (rc == SB_DRV_IO || d->rd.fault == SB_FAULT_IDENTITY)
		tell_down(s, d->rd.error, now);
	turn_failed(l, s, now, rc == SB_DRV_IO);
	publish(sb, s);
}

/* One turn for the meter: a poll. */
static void
meter_turn(struct sb_link *l, struct sb_slot *s, int64_t now)
{
	struct sb *sb = l->sb;
	struct sb_dev *d = &s->dev;
	int rc;

	s->next_poll_ms = now + sb->conf.meter.poll_interval_ms;
	reprobe_timer(s, now);
	pthread_mutex_lock(&sb->lock);
	s->poll_req = false;
	pthread_mutex_unlock(&sb->lock);
	if (link_open(l) != 0) {
		sb_io_count(d, 0, errno);
		link_error(l, errno, d->mrd.error, sizeof d->mrd.error);
		d->mrd.why = SB_FAULT_IO;
		tell_down(s, d->mrd.error, now);
		turn_failed(l, s, now, true);
		publish(sb, s);
		return;
	}
	modbus_set_slave(l->ctx, d->unit_id);
	sb_pace(l->last_io_ms, l->gap_ms); /* RTU bus silence */
	rc = sb_drv_poll(d, l->ctx, mono_now_ms());
	l->last_io_ms = mono_now_ms();
	if (rc != 0) {
		tell_down(s, d->mrd.error, now);
		turn_failed(l, s, now, true);
	} else {
		tell_up(s);
		s->online = true;
		s->failures = 0;
		s->backoff_ms = sb->conf.backoff_min_ms;
		d->mrd.why = SB_FAULT_NONE;
		d->mrd.error[0] = '\0';
	}
	publish(sb, s);
}

/* Called with the lock: does the device want a turn now?  Otherwise
 * lowers *next to when it will. */
static bool
wants_turn(struct sb *sb, struct sb_slot *s, int64_t now, int64_t *next)
{
	int64_t due = s->next_poll_ms;
	bool writes = false;

	if (s->link->kind == SB_LINK_TCP_LISTEN && !s->link->connected &&
	    !s->ever_ok) {
		/* never dialled in: said after the grace, then now and then */
		if (now >= s->tell_ms) {
			log_warnx("%s: not reached yet: no charger with serial "
			    "number \"%s\" has dialled in to %s", s->dev.name,
			    s->dev.want_serial, sb->conf.listen);
			s->told_down = true;
			s->tell_ms = now + SB_TELL_EVERY_MS;
		}
		if (s->tell_ms < *next)
			*next = s->tell_ms;
		return false;
	}
	if (s->link->kind == SB_LINK_TCP_LISTEN && !s->link->connected) {
		/* a charger that does not dial again within as many poll
		 * intervals as failures make a device offline is offline */
		int64_t grace = (int64_t)sb->conf.offline_after_failures *
		    sb->conf.poll_interval_ms;
		if (s->online && s->lost_ms != 0) {
			if (now < s->lost_ms + grace) {
				if (s->lost_ms + grace < *next)
					*next = s->lost_ms + grace;
			} else {
				s->online = false;
				s->snap.online = false;
				snprintf(s->snap.error, sizeof s->snap.error,
				    "the charger hung up and has not dialled "
				    "in again");
				s->snap.fault = SB_FAULT_IO;
				s->dev.rd.fault = SB_FAULT_IO;
				strlcpy_ok(s->dev.rd.error, s->snap.error,
				    sizeof s->dev.rd.error);
				s->changed = true;
				notify(sb);
			}
		}
		return false;
	}
	if (s->failures > 0 && now < s->retry_at_ms) {
		if (s->retry_at_ms < *next)
			*next = s->retry_at_ms;
		return false;
	}
	if (s->poll_req)
		return true;
	if (!s->dev.is_meter) {
		for (int k = 0; k < s->dev.n_conn; k++)
			if ((s->sp_gen[k] != s->sp_done[k]) ||
			    (s->off_gen[k] != s->off_done[k]))
				writes = true;
		if (writes || s->n_cmds > 0) {
			if (s->write_retry_ms <= now)
				return true;
			if (s->write_retry_ms < due)
				due = s->write_retry_ms;
		}
		if (s->dev.identified && s->refresh_ms < due)
			due = s->refresh_ms;
	}
	if (due <= now)
		return true;
	if (due < *next)
		*next = due;
	return false;
}

/* Called with the lock: takes over a socket the listener handed to link l,
 * and collects l's devices that want a turn now into due[]; lowers *next
 * to when the others will.  Returns how many are due. */
static size_t
link_due(struct sb *sb, struct sb_link *l, int64_t now, int64_t *next,
    struct sb_slot **due)
{
	size_t n_due = 0;

	if (l->pending_fd >= 0) {
		link_adopt(l, l->pending_fd);
		l->pending_fd = -1;
	}
	for (size_t i = 0; i < l->n_slots; i++)
		if (wants_turn(sb, l->slots[i], now, next))
			due[n_due++] = l->slots[i];
	return n_due;
}

/* An RS-485 bus's cycle: the time its devices' last turns took together,
 * what the bus needs to give each of them one (a silent slave's costs its
 * response timeout). */
static void
bus_cycle(struct sb_link *l, struct sb_slot *s, int64_t took_ms)
{
	int64_t sum = 0;

	s->turn_ms = took_ms;
	for (size_t i = 0; i < l->n_slots; i++)
		sum += l->slots[i]->turn_ms;
	l->cycle_ms = sum;
}

/* Gives each due device of link l a turn (called without the lock, by the
 * one thread that holds the link). */
static void
link_serve(struct sb_link *l, struct sb_slot **due, size_t n_due)
{
	for (size_t i = 0; i < n_due &&
	    !__atomic_load_n(&l->sb->stop, __ATOMIC_RELAXED); i++) {
		int64_t start = mono_now_ms();

		if (due[i]->dev.is_meter)
			meter_turn(l, due[i], start);
		else
			charger_turn(l, due[i], start);
		if (l->kind == SB_LINK_RTU)
			bus_cycle(l, due[i], mono_now_ms() - start);
	}
}

/* Called with the lock: waits on cond until the monotonic time next_ms. */
static void
wait_until(pthread_cond_t *cond, pthread_mutex_t *lock, int64_t next_ms)
{
	struct timespec ts = { (time_t)(next_ms / 1000),
	    (long)(next_ms % 1000) * 1000000L };

	pthread_cond_timedwait(cond, lock, &ts);
}

/* An RTU bus worker: the bus is serial, so one thread serves its devices
 * in turn, waiting until one is due. */
static void *
link_main(void *arg)
{
	struct sb_link *l = arg;
	struct sb *sb = l->sb;
	struct sb_slot *due[SB_MAX_CHARGERS + 1];

	pthread_mutex_lock(&sb->lock);
	while (!sb->stop) {
		int64_t now = mono_now_ms(), next = now + 60000;
		size_t n_due = link_due(sb, l, now, &next, due);

		if (n_due == 0) {
			if (!l->wake)
				wait_until(&l->cond, &sb->lock, next);
			l->wake = false;
			continue;
		}
		l->wake = false;
		pthread_mutex_unlock(&sb->lock);
		link_serve(l, due, n_due);
		pthread_mutex_lock(&sb->lock);
	}
	pthread_mutex_unlock(&sb->lock);
	return NULL;
}

/* A worker of the TCP pool: takes the next free TCP link with a device
 * due (round robin from where the last taker stopped), serves it and puts
 * it back.  A link is held by one worker at a time, so its requests stay
 * in order; a charger that does not answer holds one worker for its
 * response timeout while the others serve the rest. */
static void *
pool_main(void *arg)
{
	struct sb *sb = arg;
	struct sb_slot *due[SB_MAX_CHARGERS + 1];

	pthread_mutex_lock(&sb->lock);
	while (!sb->stop) {
		int64_t now = mono_now_ms(), next = now + 60000;
		struct sb_link *l = NULL;
		size_t n_due = 0;

		for (size_t j = 0; j < sb->n_links && l == NULL; j++) {
			size_t k = (sb->pool_next + j) % sb->n_links;
			struct sb_link *c = sb->links[k];
			int64_t c_next = now + 60000;

			if (c->kind == SB_LINK_RTU || c->busy)
				continue;
			/* a link's devices are looked at again only when
			 * the time they gave comes, or a wake-up or a
			 * turn changed them */
			if (c->due_ms > now) {
				if (c->due_ms < next)
					next = c->due_ms;
				continue;
			}
			n_due = link_due(sb, c, now, &c_next, due);
			c->due_ms = n_due > 0 ? 0 : c_next;
			if (c_next < next)
				next = c_next;
			if (n_due > 0) {
				l = c;
				sb->pool_next = (k + 1) % sb->n_links;
			}
		}
		if (l == NULL) {
			wait_until(&sb->pool_cond, &sb->lock, next);
			continue;
		}
		l->busy = true;
		/* more may be due: let an idle worker look */
		pthread_cond_signal(&sb->pool_cond);
		pthread_mutex_unlock(&sb->lock);
		link_serve(l, due, n_due);
		pthread_mutex_lock(&sb->lock);
		l->busy = false;
		l->due_ms = 0;
	}
	pthread_mutex_unlock(&sb->lock);
	return NULL;
}

/* Wakes a link's worker: its bus worker, or a worker of the TCP pool
 * (called with the lock). */
static void
wake_link(struct sb_link *l)
{
	if (l->kind != SB_LINK_RTU) {
		l->due_ms = 0;
		pthread_cond_signal(&l->sb->pool_cond);
		return;
	}
	l->wake = true;
	pthread_cond_signal(&l->cond);
}

/* ---- tcp-listen -------------------------------------------------------- */

/* Reads the serial number of a charger that dialled in, with 04 then 03. */
static int
dialin_serial(struct sb *sb, int fd, char *serial, size_t len)
{
	modbus_t *ctx = modbus_new_tcp("127.0.0.1", 502);
	uint16_t regs[16];
	int rc;

	if (ctx == NULL)
		return -1;
	modbus_set_socket(ctx, fd);
	modbus_set_slave(ctx, sb->conf.listen_unit_id);
	set_timeouts(ctx, sb->conf.response_timeout_ms,
	    sb->conf.response_timeout_ms);
	rc = modbus_read_input_registers(ctx, 10100, 16, regs);
	if (rc < 0 && errno == EMBXILFUN)
		rc = modbus_read_registers(ctx, 10100, 16, regs);
	modbus_free(ctx); /* does not close fd */
	if (rc != 16)
		return -1;
	sb_decode_ascii(regs, 16, serial, len);
	return 0;
}

/* Accepts dial-in chargers and hands each socket to its worker. */
static void *
listener_main(void *arg)
{
	struct sb *sb = arg;

	for (;;) {
		struct pollfd pfd[2] = {
			{ sb->listen_fd, POLLIN, 0 },
			{ sb->stop_pipe[0], POLLIN, 0 },
		};
		char serial[40], esc[64];
		int fd;
		struct sb_link *found = NULL;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents != 0)
			break;
		fd = accept4(sb->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		if (dialin_serial(sb, fd, serial, sizeof serial) != 0) {
			log_debug("sb", "dial-in: no serial number, closed");
			close(fd);
			continue;
		}
		pthread_mutex_lock(&sb->lock);
		for (size_t i = 0; i < sb->n_chargers; i++) {
			struct sb_slot *s = &sb->chargers[i];
			if (s->link->kind == SB_LINK_TCP_LISTEN &&
			    strcmp(s->dev.want_serial, serial) == 0)
				found = s->link;
		}
		if (found != NULL) {
			if (found->pending_fd >= 0)
				close(found->pending_fd);
			found->pending_fd = fd;
			wake_link(found);
		}
		pthread_mutex_unlock(&sb->lock);
		if (found == NULL) {
			log_escape(serial, strlen(serial), esc, sizeof esc);
			log_warnx("southbound: a charger with serial number "
			    "\"%s\" dialled in but none is configured", esc);
			close(fd);
		}
	}
	return NULL;
}

/* Binds "host:port" (IPv6 in brackets); 0 or -1 with *cause. */
static int
open_listener(struct sb *sb, const char *spec, char **cause)
{
	char host[128];
	const char *colon = strrchr(spec, ':');
	const char *port;
	struct addrinfo hints, *res = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	int fd = -1, one = 1, rc;

	if (colon == NULL || colon == spec) {
		xasprintf(cause, "southbound listen \"%s\": expected "
		    "host:port", spec);
		return -1;
	}
	if (spec[0] == '[' && colon[-1] == ']')
		snprintf(host, sizeof host, "%.*s", (int)(colon - spec - 2),
		    spec + 1);
	else
		snprintf(host, sizeof host, "%.*s", (int)(colon - spec), spec);
	port = colon + 1;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		xasprintf(cause, "southbound listen \"%s\": %s", spec,
		    gai_strerror(rc));
		return -1;
	}
	fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
	    sizeof one) != 0 || bind(fd, res->ai_addr, res->ai_addrlen) != 0 ||
	    listen(fd, 16) != 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
		xasprintf(cause, "southbound listen \"%s\": %s", spec,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	sb->listen_fd = fd;
	sb->listen_port = ss.ss_family == AF_INET6 ?
	    ntohs(((struct sockaddr_in6 *)&ss)->sin6_port) :
	    ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return 0;
}

/* ---- start and stop ---------------------------------------------------- */

/* Creates a link (owned by sb->links). */
static struct sb_link *
new_link(struct sb *sb, enum sb_link_kind kind)
{
	struct sb_link *l = xcalloc(1, sizeof *l);
	pthread_condattr_t ca;

	l->sb = sb;
	l->kind = kind;
	l->pending_fd = -1;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->cond, &ca);
	pthread_condattr_destroy(&ca);
	sb->links = xrealloc(sb->links, (sb->n_links + 1) * sizeof *sb->links);
	sb->links[sb->n_links++] = l;
	return l;
}

/* Puts a device on a link. */
static void
link_add(struct sb_link *l, struct sb_slot *s)
{
	l->slots = xrealloc(l->slots, (l->n_slots + 1) * sizeof *l->slots);
	l->slots[l->n_slots++] = s;
	s->link = l;
}

/* Finds or creates the RTU link for a serial device. */
static struct sb_link *
rtu_link(struct sb *sb, const struct sb_serial_conf *sc)
{
	struct sb_link *l;

	for (size_t i = 0; i < sb->n_links; i++) {
		l = sb->links[i];
		if (l->kind == SB_LINK_RTU &&
		    strcmp(l->serial.device, sc->device) == 0)
			return l;
	}
	l = new_link(sb, SB_LINK_RTU);
	l->serial = *sc;
	l->serial.device = xstrdup(sc->device);
	/* 3.5 characters of 11 bits, rounded up, plus 1 ms */
	l->gap_ms = (int)((3.5 * 11 * 1000 + sc->baud - 1) / sc->baud) + 1;
	return l;
}

/* Sets a device's name, empty readings and plans. */
static void
slot_init(struct sb *sb, struct sb_slot *s, const char *name)
{
	struct sb_dev *d = &s->dev;

	snprintf(d->name, sizeof d->name, "%s", name);
	d->rd.index = d->index;
	sb_reading_clear(&d->rd);
	sb_meter_reading_clear(&d->mrd);
	sb_drv_reset(d);
	s->backoff_ms = sb->conf.backoff_min_ms;
	s->snap = d->rd;
	s->msnap = d->mrd;
}

/* Builds a context from conf (checked): its devices, links and readings
 * descriptor, no thread yet.  NULL with *cause on a system failure. */
static struct sb *
build(const struct sb_conf *conf, char **cause)
{
	struct sb *sb;
	pthread_condattr_t ca;

	sb = xcalloc(1, sizeof *sb);
	sb->conf = *conf;
	sb->conf.chargers = NULL;
	sb->listen_fd = -1;
	sb->listen_port = -1;
	sb->stop_pipe[0] = sb->stop_pipe[1] = -1;
	pthread_mutex_init(&sb->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&sb->pool_cond, &ca);
	pthread_condattr_destroy(&ca);
	sb->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (sb->efd < 0) {
		if (cause != NULL)
			xasprintf(cause, "eventfd: %s", strerror(errno));
		pthread_cond_destroy(&sb->pool_cond);
		pthread_mutex_destroy(&sb->lock);
		free(sb);
		return NULL;
	}

	sb->n_chargers = conf->n_chargers;
	sb->chargers = xcalloc(conf->n_chargers + 1, sizeof *sb->chargers);
	for (size_t i = 0; i < conf->n_chargers; i++) {
		const struct sb_charger_conf *ch = &conf->chargers[i];
		struct sb_slot *s = &sb->chargers[i];
		struct sb_dev *d = &s->dev;
		struct sb_link *l;

		d->index = i;
		d->model = sb_model_desc(ch->model);
		d->words = sb_words_for(d->model, ch->word_order);
		d->unit_id = ch->link == SB_LINK_TCP_LISTEN && ch->unit_id == 0 ?
		    conf->listen_unit_id : ch->unit_id;
		d->n_conn = ch->connectors;
		d->unit = ch->control_unit;
		d->max_power_w = ch->max_power_w;
		if (ch->serial != NULL)
			strlcpy_ok(d->want_serial, ch->serial,
			    sizeof d->want_serial);
		for (int k = 0; k < ch->connectors; k++) {
			s->off[k] = ch->offline_limit[k];
			s->off_gen[k] = 1;
			d->energy_base_wh[k] = ch->energy_base_wh[k];
			d->session_last_wh[k] = ch->session_last_wh[k];
			if (ch->control_unit == SB_CONTROL_POWER)
				d->offline_total_w += ch->offline_limit[k];
		}
		slot_init(sb, s, ch->name != NULL ? ch->name : "charger");
		if (ch->link == SB_LINK_TCP_LISTEN)
			s->tell_ms = mono_now_ms() +
			    (int64_t)conf->offline_after_failures *
			    conf->poll_interval_ms;
		if (ch->link == SB_LINK_RTU) {
			l = rtu_link(sb, &ch->rtu);
			d->min_gap_ms = l->gap_ms; /* silence between frames */
		} else {
			l = new_link(sb, ch->link);
			l->host = ch->host != NULL ? xstrdup(ch->host) : NULL;
			l->port = ch->port;
		}
		link_add(l, s);
	}
	if (conf->meter.type != SB_METER_NONE) {
		struct sb_slot *s = xcalloc(1, sizeof *s);
		struct sb_dev *d = &s->dev;
		struct sb_link *l;

		sb->meter = s;
		d->is_meter = true;
		d->model = sb_meter_desc(conf->meter.type);
		d->words = sb_words_for(d->model, SB_WORDS_MODEL);
		d->unit_id = conf->meter.unit_id;
		d->max_power_w = conf->meter.max_power_w;
		slot_init(sb, s, "meter");
		s->msnap.present = s->dev.mrd.present = true;
		if (conf->meter.link == SB_LINK_RTU) {
			l = rtu_link(sb, &conf->meter.rtu);
			d->min_gap_ms = conf->meter_gap_ms > l->gap_ms ?
			    conf->meter_gap_ms : l->gap_ms;
		} else {
			l = new_link(sb, SB_LINK_TCP);
			l->host = xstrdup(conf->meter.host);
			l->port = conf->meter.port;
		}
		link_add(l, s);
	}
	return sb;
}

/* Starts what serves a built context: the listener for tcp-listen
 * chargers, one worker per RTU bus, the TCP pool.  0, or a negative
 * sb_err with *cause. */
static int
launch(struct sb *sb, const struct sb_conf *conf, char **cause)
{
	size_t n_tcp = 0;
	bool wanted = false;

	for (size_t i = 0; i < conf->n_chargers; i++)
		if (conf->chargers[i].link == SB_LINK_TCP_LISTEN)
			wanted = true;
	if (wanted && conf->listen != NULL && conf->listen[0] != '\0') {
		char *why = NULL;

		if (open_listener(sb, conf->listen, &why) != 0 ||
		    pipe2(sb->stop_pipe, O_CLOEXEC) != 0) {
			if (cause != NULL)
				*cause = why != NULL ? why :
				    xstrdup("pipe failed");
			else
				free(why);
			return SB_ERR_SYSTEM;
		}
	}
	for (size_t i = 0; i < sb->n_links; i++) {
		struct sb_link *l = sb->links[i];
		if (l->kind != SB_LINK_RTU) {
			n_tcp++;
			continue;
		}
		if (pthread_create(&l->thread, NULL, link_main, l) != 0) {
			if (cause != NULL)
				xasprintf(cause, "cannot start a bus worker");
			return SB_ERR_SYSTEM;
		}
		l->started = true;
	}
	while (sb->n_pool < n_tcp && sb->n_pool < SB_TCP_WORKERS) {
		if (pthread_create(&sb->pool[sb->n_pool], NULL, pool_main,
		    sb) != 0) {
			if (cause != NULL)
				xasprintf(cause, "cannot start a TCP worker");
			return SB_ERR_SYSTEM;
		}
		sb->n_pool++;
	}
	if (sb->listen_fd >= 0) {
		if (pthread_create(&sb->listener, NULL, listener_main, sb) != 0) {
			if (cause != NULL)
				xasprintf(cause, "cannot start the listener");
			return SB_ERR_SYSTEM;
		}
		sb->listener_started = true;
	}
	return 0;
}

/* Checks conf; 0, or SB_ERR_CONFIG with *cause naming every problem. */
static int
check(const struct sb_conf *conf, char **cause)
{
	struct errs e = { NULL, 0 };

	if (cause != NULL)
		*cause = NULL;
	check_conf(conf, &e);
	if (e.n == 0)
		return 0;
	if (cause != NULL)
		*cause = e.text;
	else
		free(e.text);
	return SB_ERR_CONFIG;
}

/* Starts the southbound side; see southbound.h. */
int
sb_start(const struct sb_conf *conf, struct sb **out, char **cause)
{
	struct sb *sb;
	int rc;

	*out = NULL;
	if ((rc = check(conf, cause)) != 0)
		return rc;
	if ((sb = build(conf, cause)) == NULL)
		return SB_ERR_SYSTEM;
	if ((rc = launch(sb, conf, cause)) != 0) {
		sb_stop(sb);
		return rc;
	}
	*out = sb;
	return 0;
}

/* Stops the workers and the listener, each after its current exchange;
 * the links stay as they are. */
static void
halt(struct sb *sb)
{
	pthread_mutex_lock(&sb->lock);
	__atomic_store_n(&sb->stop, true, __ATOMIC_RELAXED);
	for (size_t i = 0; i < sb->n_links; i++)
		wake_link(sb->links[i]);
	pthread_cond_broadcast(&sb->pool_cond);
	pthread_mutex_unlock(&sb->lock);
	for (size_t i = 0; i < sb->n_pool; i++)
		pthread_join(sb->pool[i], NULL);
	sb->n_pool = 0;
	if (sb->listener_started) {
		char c = 'q';
		if (write(sb->stop_pipe[1], &c, 1) != 1)
			log_debug("sb", "stop pipe: %s", strerror(errno));
		pthread_join(sb->listener, NULL);
		sb->listener_started = false;
	}
	for (size_t i = 0; i < sb->n_links; i++) {
		if (sb->links[i]->started)
			pthread_join(sb->links[i]->thread, NULL);
		sb->links[i]->started = false;
	}
}

/* Closes what a halted context still holds and frees it. */
static void
release(struct sb *sb)
{
	for (size_t i = 0; i < sb->n_links; i++) {
		struct sb_link *l = sb->links[i];

		link_close(l);
		if (l->pending_fd >= 0)
			close(l->pending_fd);
		pthread_cond_destroy(&l->cond);
		free(l->host);
		free((char *)l->serial.device);
		free(l->slots);
		free(l);
	}
	free(sb->links);
	for (size_t i = 0; i < sb->n_chargers; i++)
		for (size_t k = 0; k < sb->chargers[i].n_cmds; k++)
			free(sb->chargers[i].cmds[k].url);
	free(sb->chargers);
	free(sb->meter);
	if (sb->listen_fd >= 0)
		close(sb->listen_fd);
	if (sb->stop_pipe[0] >= 0) {
		close(sb->stop_pipe[0]);
		close(sb->stop_pipe[1]);
	}
	if (sb->efd >= 0)
		close(sb->efd);
	pthread_cond_destroy(&sb->pool_cond);
	pthread_mutex_destroy(&sb->lock);
	free(sb);
}

/* Stops workers and listener, frees everything. */
void
sb_stop(struct sb *sb)
{
	if (sb == NULL)
		return;
	halt(sb);
	release(sb);
}

/* Gives dst (a device of the new context) what src (the same device in
 * the old one) knows: its state, setpoints, commands and latest reading,
 * under dst's index and link. */
static void
slot_take(struct sb_slot *dst, struct sb_slot *src)
{
	struct sb_link *l = dst->link;
	size_t index = dst->dev.index;
	int gap = dst->dev.min_gap_ms;
	double max_w = dst->dev.max_power_w;

	*dst = *src;
	src->n_cmds = 0; /* their urls are dst's now */
	dst->link = l;
	dst->dev.index = index;
	dst->dev.rd.index = index;
	dst->snap.index = index;
	dst->dev.min_gap_ms = gap;
	dst->dev.max_power_w = max_w; /* the meter's: from the site */
	dst->changed = true;
}

/* True when new link l and old link o reach the same device or bus and
 * every device on l came from o (from[] maps the new slots to the old). */
static bool
same_link(const struct sb_link *l, const struct sb_link *o,
    struct sb_slot *const *from, const struct sb *sb)
{
	if (l->kind != o->kind)
		return false;
	if (l->kind == SB_LINK_RTU)
		return strcmp(l->serial.device, o->serial.device) == 0 &&
		    l->serial.baud == o->serial.baud &&
		    l->serial.parity == o->serial.parity &&
		    l->serial.stop_bits == o->serial.stop_bits;
	if (l->n_slots != 1 || o->n_slots != 1)
		return false;
	if (l->slots[0] == sb->meter)
		return from[sb->n_chargers] == o->slots[0];
	return from[l->slots[0]->dev.index] == o->slots[0];
}

/* Moves into sb (built, not launched) what old (halted) knows of the
 * devices it keeps, and the open connections of the links that stay the
 * same; the readings descriptor is old's. */
static void
take_over(struct sb *sb, struct sb *old, const int *keep, bool keep_meter)
{
	struct sb_slot **from = xcalloc(sb->n_chargers + 1, sizeof *from);

	for (size_t i = 0; i < sb->n_chargers; i++)
		if (keep != NULL && keep[i] >= 0 &&
		    (size_t)keep[i] < old->n_chargers)
			from[i] = &old->chargers[keep[i]];
	if (keep_meter && sb->meter != NULL && old->meter != NULL)
		from[sb->n_chargers] = old->meter;
	for (size_t i = 0; i < sb->n_links; i++) {
		struct sb_link *l = sb->links[i];

		for (size_t j = 0; j < old->n_links; j++) {
			struct sb_link *o = old->links[j];

			if (o->ctx == NULL || !same_link(l, o, from, sb))
				continue;
			l->ctx = o->ctx;
			l->connected = o->connected;
			l->last_io_ms = o->last_io_ms;
			l->cycle_ms = o->cycle_ms;
			if (l->kind == SB_LINK_RTU)
				set_timeouts(l->ctx,
				    sb->conf.rtu_response_timeout_ms, 100);
			else
				set_timeouts(l->ctx, sb->conf.response_timeout_ms,
				    sb->conf.response_timeout_ms);
			o->ctx = NULL;
			o->connected = false;
			break;
		}
	}
	for (size_t i = 0; i <= sb->n_chargers; i++) {
		struct sb_slot *s = i < sb->n_chargers ? &sb->chargers[i] :
		    sb->meter;

		if (s == NULL || from[i] == NULL)
			continue;
		slot_take(s, from[i]);
		/* on a new connection it is identified again */
		if (s->link->ctx == NULL)
			sb_drv_reset(&s->dev);
	}
	free(from);
	close(sb->efd);
	sb->efd = old->efd;
	old->efd = -1;
}

/* Replaces the running context; see southbound.h. */
int
sb_restart(struct sb **sbp, const struct sb_conf *conf, const int *keep,
    bool keep_meter, char **cause)
{
	struct sb *old = *sbp, *sb;
	int rc;

	if ((rc = check(conf, cause)) != 0)
		return rc;
	if ((sb = build(conf, cause)) == NULL)
		return SB_ERR_SYSTEM;
	halt(old);
	take_over(sb, old, keep, keep_meter);
	release(old);
	*sbp = NULL;
	if ((rc = launch(sb, conf, cause)) != 0) {
		sb_stop(sb);
		return rc;
	}
	notify(sb);
	*sbp = sb;
	return 0;
}

/* ---- the loop thread's side -------------------------------------------- */

/* Returns the wake-up descriptor.  Owned by sb. */
int
sb_fd(const struct sb *sb)
{
	return sb->efd;
}

/* Returns the bound listener port, or -1. */
int
sb_listen_port(const struct sb *sb)
{
	return sb->listen_port;
}

/* Checks a charger index and connector number; 0 or SB_ERR_NO_DEVICE. */
static int
check_target(struct sb *sb, size_t charger, int connector)
{
	if (charger >= sb->n_chargers)
		return SB_ERR_NO_DEVICE;
	if (connector < 1 || connector > sb->chargers[charger].dev.n_conn)
		return SB_ERR_NO_DEVICE;
	return 0;
}

/* Stores a setpoint (latest wins) and wakes the charger's worker. */
int
sb_submit_setpoint(struct sb *sb, size_t charger, int connector,
    double limit, uint64_t *generation)
{
	struct sb_slot *s;
	int rc;

	if ((rc = check_target(sb, charger, connector)) != 0)
		return rc;
	if (!(limit >= 0) || limit > 4e9)
		return SB_ERR_RANGE;
	s = &sb->chargers[charger];
	pthread_mutex_lock(&sb->lock);
	/* the same value again is no new write: its generation stands
	 * (written, or still pending); the periodic refresh re-writes it */
	if (s->sp_gen[connector - 1] == 0 || s->sp[connector - 1] != limit) {
		s->sp[connector - 1] = limit;
		s->sp_gen[connector - 1]++;
		wake_link(s->link);
	}
	if (generation != NULL)
		*generation = s->sp_gen[connector - 1];
	pthread_mutex_unlock(&sb->lock);
	return 0;
}

/* Changes an offline limit; written on the next turn. */
int
sb_set_offline_limit(struct sb *sb, size_t charger, int connector,
    double limit)
{
	struct sb_slot *s;
	int rc;

	if ((rc = check_target(sb, charger, connector)) != 0)
		return rc;
	if (!(limit >= 0) || limit > 4e9)
		return SB_ERR_RANGE;
	s = &sb->chargers[charger];
	pthread_mutex_lock(&sb->lock);
	if (s->off_gen[connector - 1] == 0 || s->off[connector - 1] != limit) {
		s->off[connector - 1] = limit;
		s->off_gen[connector - 1]++;
		wake_link(s->link);
	}
	pthread_mutex_unlock(&sb->lock);
	return 0;
}

bool
sb_charger_has_command(const struct sb *sb, size_t charger,
    enum sb_command cmd)
{
	return sb != NULL && charger < sb->n_chargers &&
	    sb_drv_command_row(sb->chargers[charger].dev.model, cmd) != NULL;
}

/* Queues a command for a charger. */
int
sb_submit_command(struct sb *sb, size_t charger, int connector,
    enum sb_command cmd, int arg, const char *url, uint64_t *seq)
{
	struct sb_slot *s;
	struct sb_cmd *c;
	int rc;

	if ((rc = check_target(sb, charger, connector)) != 0)
		return rc;
	s = &sb->chargers[charger];
	if (sb_drv_command_row(s->dev.model, cmd) == NULL)
		return SB_ERR_UNSUPPORTED;
	if (cmd == SB_CMD_PHASE && (arg < 0 || arg > 8))
		return SB_ERR_RANGE;
	if (cmd == SB_CMD_FIRMWARE && (url == NULL || strlen(url) >
	    SB_FW_URL_MAX))
		return SB_ERR_RANGE;
	pthread_mutex_lock(&sb->lock);
	if (!s->snap.online) {
		pthread_mutex_unlock(&sb->lock);
		return SB_ERR_OFFLINE;
	}
	if (s->n_cmds == SB_MAX_COMMANDS) {
		pthread_mutex_unlock(&sb->lock);
		return SB_ERR_BUSY;
	}
	c = &s->cmds[s->n_cmds++];
	c->seq = ++s->cmd_seq;
	c->connector = connector;
	c->cmd = cmd;
	c->arg = arg;
	c->url = url != NULL ? xstrdup(url) : NULL;
	if (seq != NULL)
		*seq = c->seq;
	wake_link(s->link);
	pthread_mutex_unlock(&sb->lock);
	return 0;
}

/* Wakes every charger's worker for an immediate poll (not the meter's:
 * its reading is what the chargers' are paired with). */
void
sb_poll_now(struct sb *sb)
{
	pthread_mutex_lock(&sb->lock);
	for (size_t i = 0; i < sb->n_chargers; i++)
		sb->chargers[i].poll_req = true;
	for (size_t i = 0; i < sb->n_links; i++)
		wake_link(sb->links[i]);
	pthread_mutex_unlock(&sb->lock);
}

/* Clears the readings descriptor. */
static void
drain(struct sb *sb)
{
	uint64_t v;
	ssize_t n = read(sb->efd, &v, sizeof v);
	(void)n;
}

/* Copies the changed chargers' readings; clears the descriptor. */
size_t
sb_take_chargers(struct sb *sb, struct sb_charger_reading *out, size_t max)
{
	size_t n = 0;

	drain(sb);
	pthread_mutex_lock(&sb->lock);
	for (size_t i = 0; i < sb->n_chargers && n < max; i++) {
		struct sb_slot *s = &sb->chargers[i];
		if (!s->changed)
			continue;
		out[n++] = s->snap;
		s->changed = false;
	}
	pthread_mutex_unlock(&sb->lock);
	return n;
}

/* Copies one charger's latest reading. */
int
sb_charger_snapshot(struct sb *sb, size_t charger,
    struct sb_charger_reading *out)
{
	if (charger >= sb->n_chargers)
		return SB_ERR_NO_DEVICE;
	pthread_mutex_lock(&sb->lock);
	*out = sb->chargers[charger].snap;
	pthread_mutex_unlock(&sb->lock);
	return 0;
}

/* Copies the meter's reading and judges its age. */
void
sb_meter_snapshot(struct sb *sb, int64_t now_ms, struct sb_meter_reading *out)
{
	if (sb->meter == NULL) {
		memset(out, 0, sizeof *out);
		sb_meter_reading_clear(out);
		out->present = false;
		return;
	}
	drain(sb);
	pthread_mutex_lock(&sb->lock);
	*out = sb->meter->msnap;
	sb->meter->changed = false;
	pthread_mutex_unlock(&sb->lock);
	out->present = true;
	out->age_ms = out->polls > 0 ? now_ms - out->updated_ms : -1;
	if (out->why == SB_FAULT_IMPLAUSIBLE)
		out->fault = true; /* at once: its last numbers are not used */
	if (out->age_ms < 0 ||
	    out->age_ms > (int64_t)sb->conf.meter.max_age_s * 1000) {
		out->fault = true;
		if (out->why == SB_FAULT_NONE)
			out->why = SB_FAULT_STALE;
		if (out->error[0] == '\0')
			snprintf(out->error, sizeof out->error,
			    "no reading for more than %d s",
			    sb->conf.meter.max_age_s);
	}
}
