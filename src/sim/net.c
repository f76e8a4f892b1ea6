/* The simulator's one poll() loop: a Modbus TCP listener per charger and
 * for the meter, chargers that dial the gateway, the RTU bus on a
 * pseudo-terminal (replies delayed by their wire time), the control
 * socket, the physics tick and the scenario's timeline. */
#define _GNU_SOURCE
#include "sim/sim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"

#define RBUF 4096
#define WBUF 8192
#define RTU_QUEUE 64

enum kind { K_CHARGER, K_METER, K_DIAL, K_CONTROL };

struct netconn {
	int fd;
	enum kind kind;
	struct sim_charger *c;
	bool connecting;
	uint8_t rbuf[RBUF];
	size_t rlen;
	uint8_t wbuf[WBUF];
	size_t wlen;
	int64_t send_at_ms;	/* a charger's delayed reply: not before */
};

struct rtu_reply {
	int64_t due_ms;
	bool from_meter;
	size_t len;
	uint8_t buf[260];
};

static struct {
	struct sim_site *site;
	const struct sim_net_options *opt;
	int meter_fd;
	int control_fd;
	struct netconn **conns;
	size_t n_conns, cap_conns;
	uint8_t rtu_buf[RBUF];
	size_t rtu_len;
	struct rtu_reply rtu_q[RTU_QUEUE];
	size_t rtu_qlen;
	int64_t bus_free_ms;
} net = { .meter_fd = -1, .control_fd = -1 };

/* Makes fd non-blocking and close-on-exec; 0 or -1 with errno. */
static int
set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -1;
	return fcntl(fd, F_SETFD, FD_CLOEXEC);
}

/* Opens a listening TCP socket on 127.0.0.1:*port (0 = pick); stores the
 * bound port.  Returns the fd or -1 with errno. */
static int
tcp_listen(int *port)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd, one = 1, saved;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)*port);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 16) < 0 || set_nonblock(fd) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		goto fail;
	*port = ntohs(sa.sin_port);
	return fd;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/* Registers a new connection (owned by the loop until closed). */
static struct netconn *
conn_add(int fd, enum kind kind, struct sim_charger *c)
{
	struct netconn *nc = xcalloc(1, sizeof(*nc));

	nc->fd = fd;
	nc->kind = kind;
	nc->c = c;
	if (net.n_conns == net.cap_conns) {
		net.cap_conns = net.cap_conns == 0 ? 16 : 2 * net.cap_conns;
		net.conns = xrealloc(net.conns,
		    net.cap_conns * sizeof(*net.conns));
	}
	net.conns[net.n_conns++] = nc;
	return nc;
}

/* Closes connection i (the array is compacted later). */
static void
conn_close(struct netconn *nc, int64_t now_ms)
{
	if (nc->fd < 0)
		return;
	close(nc->fd);
	nc->fd = -1;
	if (nc->kind == K_DIAL) {
		nc->c->dial_fd = -1;
		nc->c->dial_connecting = false;
		nc->c->redial_at_ms = now_ms + net.opt->redial_ms;
		if (!nc->connecting)
			log_info("%s: connection to the gateway closed; "
			    "dialling again in %d ms", nc->c->name,
			    net.opt->redial_ms);
	}
}

/* Frees the connections closed during this turn of the loop. */
static void
conns_compact(void)
{
	size_t j = 0;

	for (size_t i = 0; i < net.n_conns; i++) {
		if (net.conns[i]->fd < 0)
			free(net.conns[i]);
		else
			net.conns[j++] = net.conns[i];
	}
	net.n_conns = j;
}

/* Queues bytes for a connection; drops the connection if its buffer is
 * full (a client that does not read). */
static void
conn_send(struct netconn *nc, const void *buf, size_t len, int64_t now_ms)
{
	if (nc->wlen + len > WBUF) {
		conn_close(nc, now_ms);
		return;
	}
	memcpy(nc->wbuf + nc->wlen, buf, len);
	nc->wlen += len;
}

/* Sends as much of the output buffer as the socket takes. */
static void
conn_flush(struct netconn *nc, int64_t now_ms)
{
	if (now_ms < nc->send_at_ms)
		return;
	while (nc->wlen > 0 && nc->fd >= 0) {
		ssize_t w = send(nc->fd, nc->wbuf, nc->wlen, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			conn_close(nc, now_ms);
			return;
		}
		memmove(nc->wbuf, nc->wbuf + w, nc->wlen - (size_t)w);
		nc->wlen -= (size_t)w;
	}
}

/* Handles the complete Modbus TCP frames in a connection's buffer. */
static void
handle_tcp(struct netconn *nc, int64_t now_ms)
{
	size_t off = 0;

	while (nc->rlen - off >= 8) {
		const uint8_t *f = nc->rbuf + off;
		size_t len = (size_t)(f[4] << 8 | f[5]);
		uint8_t out[7 + 256];
		size_t plen;
		bool silent;

		if (f[2] != 0 || f[3] != 0 || len < 2 || len > 254) {
			log_debug("sim", "bad MBAP header; closing");
			conn_close(nc, now_ms);
			return;
		}
		if (nc->rlen - off < 6 + len)
			break;
		silent = nc->kind == K_METER ? net.site->meter.silent :
		    nc->c->silence != SIM_SILENCE_OFF;
		if (!silent) {
			plen = sim_modbus_pdu(net.site, nc->c, f + 7, len - 1,
			    out + 7, now_ms);
			memcpy(out, f, 4);
			out[4] = (uint8_t)((plen + 1) >> 8);
			out[5] = (uint8_t)((plen + 1) & 0xff);
			out[6] = f[6];
			if (nc->kind == K_CHARGER && nc->c->reply_delay_ms > 0 &&
			    nc->wlen == 0)
				nc->send_at_ms = now_ms + nc->c->reply_delay_ms;
			conn_send(nc, out, 7 + plen, now_ms);
			if (nc->fd < 0)
				return;
		}
		off += 6 + len;
	}
	memmove(nc->rbuf, nc->rbuf + off, nc->rlen - off);
	nc->rlen -= off;
}

/* Splits control-socket input into lines and answers each. */
static void
handle_control(struct netconn *nc, int64_t now_ms)
{
	uint8_t *nl;

	while ((nl = memchr(nc->rbuf, '\n', nc->rlen)) != NULL) {
		size_t n = (size_t)(nl - nc->rbuf);
		char *line = xmalloc(n + 1), *reply;

		memcpy(line, nc->rbuf, n);
		line[n] = '\0';
		reply = sim_control(net.site, line, now_ms);
		log_debug("sim", "control: %s -> %.80s", line, reply);
		if (nc->wlen + strlen(reply) + 1 > WBUF) {
			/* A large `status`: send directly, blocking for at
			 * most a second on a client that does not read. */
			struct timeval tv = { 1, 0 };
			int fl = fcntl(nc->fd, F_GETFL);

			conn_flush(nc, now_ms);
			(void)setsockopt(nc->fd, SOL_SOCKET, SO_SNDTIMEO, &tv,
			    sizeof(tv));
			(void)fcntl(nc->fd, F_SETFL, fl & ~O_NONBLOCK);
			if (nc->fd >= 0 && (send(nc->fd, reply, strlen(reply),
			    MSG_NOSIGNAL) < 0 || send(nc->fd, "\n", 1,
			    MSG_NOSIGNAL) < 0))
				conn_close(nc, now_ms);
			if (nc->fd >= 0)
				(void)fcntl(nc->fd, F_SETFL, fl);
		} else {
			conn_send(nc, reply, strlen(reply), now_ms);
			conn_send(nc, "\n", 1, now_ms);
		}
		free(line);
		free(reply);
		if (nc->fd < 0)
			return;
		memmove(nc->rbuf, nl + 1, nc->rlen - n - 1);
		nc->rlen -= n + 1;
	}
	if (nc->rlen == RBUF) {
		const char e[] = "error line too long\n";

		conn_send(nc, e, sizeof(e) - 1, now_ms);
		nc->rlen = 0;
	}
}

/* Reads what arrived on a connection and answers complete requests. */
static void
conn_read(struct netconn *nc, int64_t now_ms)
{
	ssize_t r = read(nc->fd, nc->rbuf + nc->rlen, RBUF - nc->rlen);

	if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
		conn_close(nc, now_ms);
		return;
	}
	if (r < 0)
		return;
	nc->rlen += (size_t)r;
	if (nc->kind == K_CONTROL)
		handle_control(nc, now_ms);
	else
		handle_tcp(nc, now_ms);
	if (nc->fd >= 0 && nc->kind != K_CONTROL && nc->rlen == RBUF)
		conn_close(nc, now_ms);
}

/* Wire time in ms of n characters at the bus speed (11 bits each). */
static double
wire_ms(double chars)
{
	return chars * 11.0 * 1000.0 / net.site->bus.baud;
}

/* Queues an RTU reply for after its wire time. */
static void
rtu_queue(const uint8_t *req, size_t req_len, const uint8_t *resp,
    size_t resp_len, bool from_meter, int64_t now_ms)
{
	struct rtu_reply *r;
	int64_t start = now_ms > net.bus_free_ms ? now_ms : net.bus_free_ms;

	if (net.rtu_qlen == RTU_QUEUE)
		return;
	r = &net.rtu_q[net.rtu_qlen++];
	r->len = resp_len;
	r->from_meter = from_meter;
	memcpy(r->buf, resp, resp_len);
	r->due_ms = start;
	if (net.site->bus.emulate_speed)
		r->due_ms += (int64_t)(wire_ms((double)req_len + 3.5 +
		    (double)resp_len) + 0.999);
	net.bus_free_ms = r->due_ms;
}

/* Answers one RTU frame (CRC already checked). */
static void
rtu_frame(const uint8_t *f, size_t len, int64_t now_ms)
{
	struct sim_site *s = net.site;
	uint8_t out[260];
	size_t plen;
	uint16_t crc;
	int unit = f[0];
	struct sim_charger *c = NULL;

	if (unit == 0) {
		/* Broadcast: writes go to every RTU charger, no reply. */
		for (size_t i = 0; i < s->n_chargers; i++)
			if (s->chargers[i].link == SIM_LINK_RTU &&
			    s->chargers[i].silence == SIM_SILENCE_OFF &&
			    (f[1] == 6 || f[1] == 16))
				(void)sim_modbus_pdu(s, &s->chargers[i], f + 1,
				    len - 3, out, now_ms);
		return;
	}
	if (s->meter.present && s->meter.rtu && unit == s->meter.unit_id) {
		if (s->meter.silent)
			return;
		/* An Eastron meter polled too soon after its last reply
		 * does not answer. */
		if (s->meter.min_gap_ms > 0 && s->meter.last_reply_ms > 0 &&
		    now_ms - s->meter.last_reply_ms < s->meter.min_gap_ms) {
			s->meter.ignored++;
			return;
		}
	} else if ((c = sim_site_charger_by_unit(s, unit)) == NULL ||
	    c->silence != SIM_SILENCE_OFF) {
		return;
	}
	out[0] = (uint8_t)unit;
	plen = sim_modbus_pdu(s, c, f + 1, len - 3, out + 1, now_ms);
	crc = sim_crc16(out, plen + 1);
	out[plen + 1] = (uint8_t)(crc & 0xff);
	out[plen + 2] = (uint8_t)(crc >> 8);
	rtu_queue(f, len, out, plen + 3, c == NULL, now_ms);
}

/* Frames and answers the bytes read from the pty master. */
static void
handle_rtu(int64_t now_ms)
{
	for (;;) {
		int len = sim_rtu_request_len(net.rtu_buf, net.rtu_len);
		uint16_t crc;

		if (len == 0 || (len > 0 && (size_t)len > net.rtu_len))
			return;
		if (len < 0) {
			/* Unknown function: the whole read is one frame. */
			len = (int)net.rtu_len;
			if (len < 4) {
				net.rtu_len = 0;
				return;
			}
		}
		crc = sim_crc16(net.rtu_buf, (size_t)len - 2);
		if (net.rtu_buf[len - 2] == (crc & 0xff) &&
		    net.rtu_buf[len - 1] == (crc >> 8)) {
			rtu_frame(net.rtu_buf, (size_t)len, now_ms);
		} else {
			/* Noise: drop everything buffered (resynchronise). */
			log_debug("sim", "rtu: bad CRC, %zu bytes dropped",
			    net.rtu_len);
			len = (int)net.rtu_len;
		}
		memmove(net.rtu_buf, net.rtu_buf + len, net.rtu_len -
		    (size_t)len);
		net.rtu_len -= (size_t)len;
	}
}

/* Reads bytes from the pty master and answers complete frames. */
static void
rtu_read(int64_t now_ms)
{
	ssize_t r = read(net.site->bus.master_fd, net.rtu_buf + net.rtu_len,
	    RBUF - net.rtu_len);

	if (r <= 0)
		return;
	net.rtu_len += (size_t)r;
	handle_rtu(now_ms);
	if (net.rtu_len == RBUF)
		net.rtu_len = 0;
}

/* Writes the RTU replies whose wire time has passed. */
static void
rtu_send_due(int64_t now_ms)
{
	while (net.rtu_qlen > 0 && net.rtu_q[0].due_ms <= now_ms) {
		if (write(net.site->bus.master_fd, net.rtu_q[0].buf,
		    net.rtu_q[0].len) < 0)
			log_debug("sim", "rtu: write: %s", strerror(errno));
		/* The meter's quiet time counts from when its reply is
		 * really out. */
		if (net.rtu_q[0].from_meter)
			net.site->meter.last_reply_ms = now_ms;
		memmove(&net.rtu_q[0], &net.rtu_q[1],
		    (net.rtu_qlen - 1) * sizeof(net.rtu_q[0]));
		net.rtu_qlen--;
	}
}

/* Opens the pseudo-terminal of the RTU bus in raw mode. */
static int
open_pty(struct sim_rtu_bus *b, char **cause)
{
	struct termios t;
	char name[128];

	if (openpty(&b->master_fd, &b->slave_fd, name, NULL, NULL) < 0) {
		xasprintf(cause, "openpty: %s", strerror(errno));
		return -1;
	}
	if (tcgetattr(b->slave_fd, &t) == 0) {
		cfmakeraw(&t);
		(void)tcsetattr(b->slave_fd, TCSANOW, &t);
	}
	if (set_nonblock(b->master_fd) < 0 ||
	    fcntl(b->slave_fd, F_SETFD, FD_CLOEXEC) < 0) {
		xasprintf(cause, "pty: %s", strerror(errno));
		return -1;
	}
	strlcpy_ok(b->path, name, sizeof(b->path));
	return 0;
}

/* Opens the Unix control socket at path (replacing a stale one). */
static int
open_control(const char *path, char **cause)
{
	struct sockaddr_un sa;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (!strlcpy_ok(sa.sun_path, path, sizeof(sa.sun_path))) {
		xasprintf(cause, "--control %s: path longer than %zu bytes",
		    path, sizeof(sa.sun_path) - 1);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0) {
		xasprintf(cause, "socket: %s", strerror(errno));
		return -1;
	}
	if (unlink_if_type(path, S_IFSOCK) != 0) {
		xasprintf(cause, "--control %s: %s", path,
		    errno == EEXIST ? "exists and is not a socket" :
		    strerror(errno));
		close(fd);
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 8) < 0 || set_nonblock(fd) < 0) {
		xasprintf(cause, "--control %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Starts a non-blocking connection from a dialling charger. */
static void
dial(struct sim_charger *c, int64_t now_ms)
{
	struct sockaddr_in sa;
	const char *host = c->dial_port != 0 ? c->dial_host :
	    net.site->gateway_host;
	int port = c->dial_port != 0 ? c->dial_port : net.site->gateway_port;
	int fd;
	struct netconn *nc;

	c->redial_at_ms = now_ms + net.opt->redial_ms;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		log_warnx("%s: dial address \"%s\" is not an IPv4 address",
		    c->name, host);
		c->redial_at_ms = now_ms + 60000;
		return;
	}
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || set_nonblock(fd) < 0) {
		if (fd >= 0)
			close(fd);
		return;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 &&
	    errno != EINPROGRESS) {
		close(fd);
		return;
	}
	nc = conn_add(fd, K_DIAL, c);
	nc->connecting = true;
	c->dial_fd = fd;
	c->dial_connecting = true;
}

/* Completes a pending dial once the socket is writable. */
static void
dial_done(struct netconn *nc, int64_t now_ms)
{
	int e = 0;
	socklen_t len = sizeof(e);

	if (getsockopt(nc->fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0 || e != 0) {
		struct sim_charger *c = nc->c;

		if (!c->dial_failing)
			log_info("%s: cannot reach the gateway at %s:%d (%s); "
			    "retrying every %d ms", c->name,
			    c->dial_port != 0 ? c->dial_host :
			    net.site->gateway_host, c->dial_port != 0 ?
			    c->dial_port : net.site->gateway_port,
			    strerror(e != 0 ? e : errno), net.opt->redial_ms);
		c->dial_failing = true;
		conn_close(nc, now_ms);
		return;
	}
	nc->connecting = false;
	nc->c->dial_failing = false;
	nc->c->dial_connecting = false;
	nc->c->dials++;
	log_info("%s: connected to the gateway", nc->c->name);
}

/* Opens every listener, the pty and the control socket. */
int
sim_net_open(struct sim_site *s, const struct sim_net_options *o,
    char **cause)
{
	net.site = s;
	net.opt = o;
	for (size_t i = 0; i < s->n_chargers; i++) {
		struct sim_charger *c = &s->chargers[i];

		if (c->link != SIM_LINK_TCP)
			continue;
		c->listen_fd = tcp_listen(&c->port);
		if (c->listen_fd < 0) {
			xasprintf(cause, "charger \"%s\": cannot listen on "
			    "127.0.0.1:%d: %s", c->name, c->port,
			    strerror(errno));
			return -1;
		}
	}
	if (s->meter.present && s->meter.tcp) {
		net.meter_fd = tcp_listen(&s->meter.port);
		if (net.meter_fd < 0) {
			xasprintf(cause, "meter: cannot listen on 127.0.0.1:%d: "
			    "%s", s->meter.port, strerror(errno));
			return -1;
		}
	}
	if (s->bus.present && open_pty(&s->bus, cause) != 0)
		return -1;
	if (s->bus.present && o->pty_link != NULL) {
		if (unlink_if_type(o->pty_link, S_IFLNK) != 0) {
			xasprintf(cause, "--pty-link %s: %s", o->pty_link,
			    errno == EEXIST ? "exists and is not a symbolic link" :
			    strerror(errno));
			return -1;
		}
		if (symlink(s->bus.path, o->pty_link) != 0) {
			xasprintf(cause, "--pty-link %s: %s", o->pty_link,
			    strerror(errno));
			return -1;
		}
	}
	if (o->control_path != NULL) {
		net.control_fd = open_control(o->control_path, cause);
		if (net.control_fd < 0)
			return -1;
	}
	return 0;
}

/* Closes or reopens a charger's links after a `silence` change. */
void
sim_net_silence_changed(struct sim_site *s, struct sim_charger *c)
{
	int64_t now = s->last_update_ms;

	if (net.site == NULL)
		return;
	if (c->silence == SIM_SILENCE_CLOSE) {
		for (size_t i = 0; i < net.n_conns; i++)
			if (net.conns[i]->c == c)
				conn_close(net.conns[i], now);
		if (c->listen_fd >= 0) {
			close(c->listen_fd);
			c->listen_fd = -1;
		}
		return;
	}
	if (c->link == SIM_LINK_TCP && c->listen_fd < 0) {
		c->listen_fd = tcp_listen(&c->port);
		if (c->listen_fd < 0)
			log_warn("%s: cannot listen again on port %d", c->name,
			    c->port);
	}
	if (c->link == SIM_LINK_TCP_DIAL && c->dial_fd < 0)
		c->redial_at_ms = now;
}

/* Number of open Modbus connections of charger c (the meter if NULL). */
int
sim_net_connections(const struct sim_charger *c)
{
	int n = 0;

	for (size_t i = 0; i < net.n_conns; i++) {
		const struct netconn *nc = net.conns[i];

		if (nc->fd >= 0 && nc->kind != K_CONTROL && nc->c == c &&
		    !nc->connecting)
			n++;
	}
	return n;
}

/* Accepts a connection on a listener. */
static void
accept_on(int lfd, enum kind kind, struct sim_charger *c)
{
	int fd = accept(lfd, NULL, NULL), one = 1;

	if (fd < 0)
		return;
	if (set_nonblock(fd) < 0) {
		close(fd);
		return;
	}
	if (kind != K_CONTROL)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	if (c != NULL)
		c->accepted++;
	conn_add(fd, kind, c);
}

/* What a pollfd entry stands for. */
enum slot_type { S_LISTEN, S_METER, S_CONTROL, S_RTU, S_CONN };
struct slot {
	enum slot_type type;
	void *p;
};

/* The loop: until *stop is set. */
int
sim_net_run(struct sim_site *s, const struct sim_net_options *o,
    volatile sig_atomic_t *stop)
{
	struct pollfd *pfd = NULL;
	struct slot *who = NULL;
	size_t cap = 0;
	int64_t next_tick = mono_now_ms();

	s->timeline_base_ms = s->start_ms;
	while (!*stop) {
		int64_t now = mono_now_ms(), next;
		size_t n = 0, need = s->n_chargers + net.n_conns + 4;
		int timeout, rc;

		if (now >= next_tick) {
			sim_site_update(s, now);
			sim_fw_advance(s, now);
			next_tick = now + o->tick_ms;
		}
		next = next_tick;
		sim_timeline_run(s, now, &next);
		rtu_send_due(now);
		if (net.rtu_qlen > 0 && net.rtu_q[0].due_ms < next)
			next = net.rtu_q[0].due_ms;
		for (size_t i = 0; i < s->n_chargers; i++) {
			struct sim_charger *c = &s->chargers[i];

			if (c->link != SIM_LINK_TCP_DIAL || c->dial_fd >= 0 ||
			    c->silence == SIM_SILENCE_CLOSE)
				continue;
			if (c->redial_at_ms <= now)
				dial(c, now);
			else if (c->redial_at_ms < next)
				next = c->redial_at_ms;
		}
		if (need > cap) {
			cap = need * 2;
			pfd = xrealloc(pfd, cap * sizeof(*pfd));
			who = xrealloc(who, cap * sizeof(*who));
		}
		for (size_t i = 0; i < s->n_chargers; i++) {
			if (s->chargers[i].listen_fd < 0)
				continue;
			pfd[n].fd = s->chargers[i].listen_fd;
			pfd[n].events = POLLIN;
			who[n++] = (struct slot){ S_LISTEN, &s->chargers[i] };
		}
		if (net.meter_fd >= 0) {
			pfd[n].fd = net.meter_fd;
			pfd[n].events = POLLIN;
			who[n++] = (struct slot){ S_METER, NULL };
		}
		if (net.control_fd >= 0) {
			pfd[n].fd = net.control_fd;
			pfd[n].events = POLLIN;
			who[n++] = (struct slot){ S_CONTROL, NULL };
		}
		if (s->bus.present) {
			pfd[n].fd = s->bus.master_fd;
			pfd[n].events = POLLIN;
			who[n++] = (struct slot){ S_RTU, NULL };
		}
		for (size_t i = 0; i < net.n_conns; i++) {
			struct netconn *nc = net.conns[i];
			bool held = nc->send_at_ms > now;

			if (nc->wlen > 0 && held && nc->send_at_ms < next)
				next = nc->send_at_ms;
			pfd[n].fd = nc->fd;
			pfd[n].events = (short)(nc->connecting ? POLLOUT :
			    POLLIN | (nc->wlen > 0 && !held ? POLLOUT : 0));
			who[n++] = (struct slot){ S_CONN, nc };
		}
		timeout = (int)(next - now);
		if (timeout < 0)
			timeout = 0;
		rc = poll(pfd, n, timeout);
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			log_warn("poll");
			free(pfd);
			free(who);
			return -1;
		}
		now = mono_now_ms();
		for (size_t i = 0; i < n && rc > 0; i++) {
			short ev = pfd[i].revents;

			if (ev == 0)
				continue;
			if (who[i].type == S_METER) {
				accept_on(net.meter_fd, K_METER, NULL);
			} else if (who[i].type == S_CONTROL) {
				accept_on(net.control_fd, K_CONTROL, NULL);
			} else if (who[i].type == S_RTU) {
				rtu_read(now);
			} else if (who[i].type == S_LISTEN) {
				struct sim_charger *c = who[i].p;

				if (c->listen_fd >= 0)
					accept_on(c->listen_fd, K_CHARGER, c);
			} else {
				struct netconn *nc = who[i].p;

				if (nc->fd < 0)
					continue;
				if (nc->connecting) {
					dial_done(nc, now);
					continue;
				}
				if (ev & (POLLIN | POLLHUP | POLLERR))
					conn_read(nc, now);
				if (nc->fd >= 0)
					conn_flush(nc, now);
			}
		}
		for (size_t i = 0; i < net.n_conns; i++)
			if (net.conns[i]->fd >= 0 && net.conns[i]->wlen > 0)
				conn_flush(net.conns[i], now);
		conns_compact();
	}
	free(pfd);
	free(who);
	return 0;
}

/* Closes everything and removes the control socket. */
void
sim_net_close(struct sim_site *s, const struct sim_net_options *o)
{
	for (size_t i = 0; i < net.n_conns; i++) {
		if (net.conns[i]->fd >= 0)
			close(net.conns[i]->fd);
		free(net.conns[i]);
	}
	free(net.conns);
	net.conns = NULL;
	net.n_conns = net.cap_conns = 0;
	for (size_t i = 0; i < s->n_chargers; i++) {
		if (s->chargers[i].listen_fd >= 0)
			close(s->chargers[i].listen_fd);
		s->chargers[i].listen_fd = -1;
		s->chargers[i].dial_fd = -1;
	}
	if (net.meter_fd >= 0)
		close(net.meter_fd);
	net.meter_fd = -1;
	if (net.control_fd >= 0) {
		close(net.control_fd);
		if (o->control_path != NULL)
			(void)unlink_if_type(o->control_path, S_IFSOCK);
	}
	net.control_fd = -1;
	if (s->bus.master_fd >= 0) {
		close(s->bus.master_fd);
		close(s->bus.slave_fd);
		if (o->pty_link != NULL)
			(void)unlink_if_type(o->pty_link, S_IFLNK);
	}
	net.site = NULL;
}
