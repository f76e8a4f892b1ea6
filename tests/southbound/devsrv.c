/* Test devices: libmodbus servers on loopback and pseudo-terminals, served
 * by one thread (see devsrv.h). */
#define _GNU_SOURCE
#include "devsrv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <modbus.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define HOLD_N 32200
#define INPUT_N 13000
#define MAX_DEVS 256
#define MAX_CLIENTS 4
#define MAX_LIST 8
#define MAX_BUSES 4
#define MAX_PFD (1 + MAX_DEVS * (1 + MAX_CLIENTS) + MAX_BUSES)

enum kind { K_TCP, K_DIALER, K_RTU };

struct dev {
	enum kind kind;
	int unit;
	modbus_mapping_t *map;
	modbus_t *ctx;         /* TCP devices: for framing replies */
	int lfd;
	int port;
	int clients[MAX_CLIENTS];
	int n_clients;
	int bus;
	bool no04, mute;
	unsigned ign[MAX_LIST];
	int n_ign;
	unsigned holes[MAX_LIST];
	int n_holes;
	uint16_t *wcount;
	unsigned reqs;
	unsigned fc_reqs[17];
};

struct bus {
	int master, slave;
	char path[64];
	int baud;
	uint8_t buf[600];
	size_t len;
	modbus_t *ctx;
};

struct devsrv {
	pthread_mutex_t lock;
	pthread_t thread;
	int wake[2];
	bool stop;
	struct dev *devs[MAX_DEVS];
	int n;
	struct bus buses[MAX_BUSES];
	int n_buses;
};

/* Wakes the serving thread so that it sees new sockets. */
static void
kick(struct devsrv *srv)
{
	char c = 'w';
	if (write(srv->wake[1], &c, 1) < 0)
		perror("devsrv: wake");
}

/* CRC-16/MODBUS (reflected polynomial 0xA001, initial 0xFFFF). */
static uint16_t
crc16(const uint8_t *p, size_t n)
{
	uint16_t crc = 0xFFFF;

	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		for (int b = 0; b < 8; b++)
			crc = (crc & 1) ? (uint16_t)((crc >> 1) ^ 0xA001) :
			    (uint16_t)(crc >> 1);
	}
	return crc;
}

/* True when an address of the list lies in [lo, lo + count). */
static bool
in_list(const unsigned *list, int n, unsigned lo, unsigned count)
{
	for (int i = 0; i < n; i++)
		if (list[i] >= lo && list[i] < lo + count)
			return true;
	return false;
}

/* Serves one request frame (called with the lock). */
static void
handle(struct dev *d, modbus_t *ctx, const uint8_t *req, int len)
{
	int hl = modbus_get_header_length(ctx);
	int fc = req[hl];
	unsigned addr = (unsigned)(req[hl + 1] << 8 | req[hl + 2]);
	unsigned n = (unsigned)(req[hl + 3] << 8 | req[hl + 4]);
	uint16_t saved[MAX_LIST];

	d->reqs++;
	if (fc >= 0 && fc <= 16)
		d->fc_reqs[fc]++;
	if (d->mute)
		return;
	if (fc == 4 && d->no04) {
		modbus_reply_exception(ctx, req,
		    MODBUS_EXCEPTION_ILLEGAL_FUNCTION);
		return;
	}
	if ((fc == 3 || fc == 4) && in_list(d->holes, d->n_holes, addr, n)) {
		modbus_reply_exception(ctx, req,
		    MODBUS_EXCEPTION_ILLEGAL_DATA_ADDRESS);
		return;
	}
	if (fc == 6)
		n = 1;
	if (fc == 6 || fc == 16) {
		for (int i = 0; i < d->n_ign; i++)
			if (d->ign[i] < HOLD_N)
				saved[i] = d->map->tab_registers[d->ign[i]];
		modbus_reply(ctx, req, len, d->map);
		for (int i = 0; i < d->n_ign; i++)
			if (d->ign[i] < HOLD_N)
				d->map->tab_registers[d->ign[i]] = saved[i];
		for (unsigned a = addr; a < addr + n && a < HOLD_N; a++)
			d->wcount[a]++;
		return;
	}
	modbus_reply(ctx, req, len, d->map);
}

/* Sleeps for us microseconds. */
static void
sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Takes complete RTU frames out of a bus buffer and serves them. */
static void
bus_frames(struct devsrv *srv, struct bus *b)
{
	for (;;) {
		size_t need;
		int fc;
		struct dev *d = NULL;

		if (b->len < 2)
			return;
		fc = b->buf[1];
		if (fc == 3 || fc == 4 || fc == 6)
			need = 8;
		else if (fc == 16)
			need = b->len >= 7 ? 9 + (size_t)b->buf[6] : 0;
		else {
			b->len = 0; /* resynchronise */
			return;
		}
		if (need == 0 || b->len < need)
			return;
		if (crc16(b->buf, need - 2) ==
		    (uint16_t)(b->buf[need - 2] | b->buf[need - 1] << 8)) {
			for (int i = 0; i < srv->n; i++)
				if (srv->devs[i]->kind == K_RTU &&
				    &srv->buses[srv->devs[i]->bus] == b &&
				    srv->devs[i]->unit == b->buf[0])
					d = srv->devs[i];
		}
		if (d != NULL && !d->mute && b->baud > 0) {
			/* the request, 3.5 characters of silence and the
			 * answer on the wire, 11 bits a character */
			unsigned cnt = (unsigned)(b->buf[4] << 8 | b->buf[5]);
			size_t rsp = (fc == 3 || fc == 4) ? 5 + 2 * cnt : 8;
			sleep_us((long)(((double)(need + rsp) + 3.5) * 11 *
			    1e6 / b->baud));
		}
		if (d != NULL)
			handle(d, b->ctx, b->buf, (int)need);
		memmove(b->buf, b->buf + need, b->len - need);
		b->len -= need;
	}
}

/* Closes a client connection of a device (called with the lock). */
static void
drop_client(struct dev *d, int i)
{
	close(d->clients[i]);
	d->clients[i] = d->clients[--d->n_clients];
}

/* The serving thread: polls every socket and answers requests. */
static void *
serve(void *arg)
{
	struct devsrv *srv = arg;
	struct who { int dev, client, bus; };
	struct pollfd *pfd = calloc(MAX_PFD, sizeof *pfd);
	struct who *who = calloc(MAX_PFD, sizeof *who);

	if (pfd == NULL || who == NULL)
		abort();

	for (;;) {
		int n = 0;

		pthread_mutex_lock(&srv->lock);
		if (srv->stop) {
			pthread_mutex_unlock(&srv->lock);
			break;
		}
		pfd[n] = (struct pollfd){ srv->wake[0], POLLIN, 0 };
		who[n++] = (struct who){ -1, -1, -1 };
		for (int i = 0; i < srv->n; i++) {
			struct dev *d = srv->devs[i];
			if (d->lfd >= 0) {
				pfd[n] = (struct pollfd){ d->lfd, POLLIN, 0 };
				who[n++] = (struct who){ i, -1, -1 };
			}
			for (int c = 0; c < d->n_clients; c++) {
				pfd[n] = (struct pollfd){ d->clients[c],
				    POLLIN, 0 };
				who[n++] = (struct who){ i, c, -1 };
			}
		}
		for (int b = 0; b < srv->n_buses; b++) {
			pfd[n] = (struct pollfd){ srv->buses[b].master, POLLIN,
			    0 };
			who[n++] = (struct who){ -1, -1, b };
		}
		pthread_mutex_unlock(&srv->lock);

		if (poll(pfd, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		pthread_mutex_lock(&srv->lock);
		/* back to front: dropping a client moves the last one */
		for (int k = n - 1; k >= 0; k--) {
			if (pfd[k].revents == 0)
				continue;
			if (k == 0) {
				char buf[64];
				if (read(srv->wake[0], buf, sizeof buf) < 0)
					perror("devsrv: wake read");
				continue;
			}
			if (who[k].bus >= 0) {
				struct bus *b = &srv->buses[who[k].bus];
				ssize_t r = read(b->master, b->buf + b->len,
				    sizeof b->buf - b->len);
				if (r > 0) {
					b->len += (size_t)r;
					bus_frames(srv, b);
					if (b->len == sizeof b->buf)
						b->len = 0;
				}
				continue;
			}
			struct dev *d = srv->devs[who[k].dev];
			if (who[k].client < 0) {
				int fd = accept4(d->lfd, NULL, NULL,
				    SOCK_CLOEXEC);
				if (fd < 0)
					continue;
				if (d->n_clients == MAX_CLIENTS)
					close(fd);
				else
					d->clients[d->n_clients++] = fd;
				continue;
			}
			if (who[k].client >= d->n_clients)
				continue;
			{
				uint8_t req[MODBUS_TCP_MAX_ADU_LENGTH];
				int fd = d->clients[who[k].client], rc;

				modbus_set_socket(d->ctx, fd);
				rc = modbus_receive(d->ctx, req);
				if (rc < 0)
					drop_client(d, who[k].client);
				else if (rc > 0)
					handle(d, d->ctx, req, rc);
			}
		}
		pthread_mutex_unlock(&srv->lock);
	}
	free(pfd);
	free(who);
	return NULL;
}

/* Starts the serving thread. */
struct devsrv *
devsrv_new(void)
{
	struct devsrv *srv = calloc(1, sizeof *srv);

	if (srv == NULL)
		return NULL;
	pthread_mutex_init(&srv->lock, NULL);
	if (pipe2(srv->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		free(srv);
		return NULL;
	}
	if (pthread_create(&srv->thread, NULL, serve, srv) != 0) {
		close(srv->wake[0]);
		close(srv->wake[1]);
		free(srv);
		return NULL;
	}
	return srv;
}

/* Stops and frees everything. */
void
devsrv_free(struct devsrv *srv)
{
	pthread_mutex_lock(&srv->lock);
	srv->stop = true;
	pthread_mutex_unlock(&srv->lock);
	kick(srv);
	pthread_join(srv->thread, NULL);
	for (int i = 0; i < srv->n; i++) {
		struct dev *d = srv->devs[i];
		while (d->n_clients > 0)
			drop_client(d, 0);
		if (d->lfd >= 0)
			close(d->lfd);
		if (d->ctx != NULL)
			modbus_free(d->ctx);
		modbus_mapping_free(d->map);
		free(d->wcount);
		free(d);
	}
	for (int b = 0; b < srv->n_buses; b++) {
		modbus_free(srv->buses[b].ctx);
		close(srv->buses[b].master);
		close(srv->buses[b].slave);
	}
	close(srv->wake[0]);
	close(srv->wake[1]);
	pthread_mutex_destroy(&srv->lock);
	free(srv);
}

/* Allocates a device with its register space.  Caller frees. */
static struct dev *
new_dev(enum kind kind)
{
	struct dev *d = calloc(1, sizeof *d);

	if (d == NULL)
		return NULL;
	d->kind = kind;
	d->lfd = -1;
	d->bus = -1;
	d->map = modbus_mapping_new_start_address(0, 0, 0, 0, 0, HOLD_N, 0,
	    INPUT_N);
	d->wcount = calloc(HOLD_N, sizeof *d->wcount);
	if (kind != K_RTU)
		d->ctx = modbus_new_tcp("127.0.0.1", 502);
	if (d->map == NULL || d->wcount == NULL ||
	    (kind != K_RTU && d->ctx == NULL)) {
		if (d->map != NULL)
			modbus_mapping_free(d->map);
		if (d->ctx != NULL)
			modbus_free(d->ctx);
		free(d->wcount);
		free(d);
		return NULL;
	}
	return d;
}

/* Registers a device; returns its index or -1. */
static int
add_dev(struct devsrv *srv, struct dev *d)
{
	int idx;

	pthread_mutex_lock(&srv->lock);
	if (srv->n == MAX_DEVS) {
		pthread_mutex_unlock(&srv->lock);
		return -1;
	}
	idx = srv->n;
	srv->devs[srv->n++] = d;
	pthread_mutex_unlock(&srv->lock);
	kick(srv);
	return idx;
}

/* Adds a device listening on a kernel-chosen loopback port. */
int
devsrv_add_tcp(struct devsrv *srv)
{
	struct dev *d = new_dev(K_TCP);
	struct sockaddr_in sa;
	socklen_t sl = sizeof sa;
	int one = 1;

	if (d == NULL)
		return -1;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	d->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (d->lfd < 0 ||
	    setsockopt(d->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
	    bind(d->lfd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    listen(d->lfd, 8) != 0 ||
	    getsockname(d->lfd, (struct sockaddr *)&sa, &sl) != 0) {
		perror("devsrv: listen");
		return -1;
	}
	d->port = ntohs(sa.sin_port);
	return add_dev(srv, d);
}

/* Adds a device that dials out. */
int
devsrv_add_dialer(struct devsrv *srv)
{
	struct dev *d = new_dev(K_DIALER);
	return d == NULL ? -1 : add_dev(srv, d);
}

/* Dials the gateway and serves over the connection. */
int
devsrv_dial(struct devsrv *srv, int idx, const char *host, int port)
{
	struct sockaddr_in sa;
	int fd;
	struct dev *d = srv->devs[idx];

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return -1;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		close(fd);
		return -1;
	}
	pthread_mutex_lock(&srv->lock);
	if (d->n_clients == MAX_CLIENTS) {
		pthread_mutex_unlock(&srv->lock);
		close(fd);
		return -1;
	}
	d->clients[d->n_clients++] = fd;
	pthread_mutex_unlock(&srv->lock);
	kick(srv);
	return 0;
}

/* Adds RTU devices on a new pseudo-terminal bus. */
int
devsrv_add_rtu_bus(struct devsrv *srv, const int *unit_ids, size_t n,
    int baud, const char **path)
{
	struct bus *b;
	struct termios tio;
	int first = -1;

	pthread_mutex_lock(&srv->lock);
	if (srv->n_buses == MAX_BUSES) {
		pthread_mutex_unlock(&srv->lock);
		return -1;
	}
	b = &srv->buses[srv->n_buses];
	memset(b, 0, sizeof *b);
	if (openpty(&b->master, &b->slave, b->path, NULL, NULL) != 0) {
		pthread_mutex_unlock(&srv->lock);
		return -1;
	}
	/* raw: no echo, no line editing, on both sides of the terminal */
	tcgetattr(b->slave, &tio);
	cfmakeraw(&tio);
	tcsetattr(b->slave, TCSANOW, &tio);
	b->baud = baud;
	b->ctx = modbus_new_rtu("/dev/null", baud > 0 ? baud : 9600, 'N', 8,
	    1);
	modbus_set_socket(b->ctx, b->master);
	srv->n_buses++;
	pthread_mutex_unlock(&srv->lock);
	for (size_t i = 0; i < n; i++) {
		struct dev *d = new_dev(K_RTU);
		int idx;
		if (d == NULL)
			return -1;
		d->unit = unit_ids[i];
		d->bus = (int)(b - srv->buses);
		idx = add_dev(srv, d);
		if (i == 0)
			first = idx;
	}
	*path = b->path;
	return first;
}

/* Returns the TCP port of a device. */
int
devsrv_port(struct devsrv *srv, int idx)
{
	return srv->devs[idx]->port;
}

/* Writes register values (input ones mirrored into holding). */
void
devsrv_set(struct devsrv *srv, int idx, bool input, unsigned addr,
    unsigned count, const uint16_t *regs)
{
	struct dev *d = srv->devs[idx];

	pthread_mutex_lock(&srv->lock);
	for (unsigned i = 0; i < count; i++) {
		unsigned a = addr + i;
		if (input && a < INPUT_N)
			d->map->tab_input_registers[a] = regs[i];
		if (a < HOLD_N)
			d->map->tab_registers[a] = regs[i];
	}
	pthread_mutex_unlock(&srv->lock);
}

/* Reads holding registers. */
void
devsrv_get(struct devsrv *srv, int idx, unsigned addr, unsigned count,
    uint16_t *out)
{
	struct dev *d = srv->devs[idx];

	pthread_mutex_lock(&srv->lock);
	for (unsigned i = 0; i < count; i++)
		out[i] = addr + i < HOLD_N ? d->map->tab_registers[addr + i] :
		    0;
	pthread_mutex_unlock(&srv->lock);
}

/* Makes a device answer "illegal function" to 04. */
void
devsrv_no_fc04(struct devsrv *srv, int idx, bool on)
{
	pthread_mutex_lock(&srv->lock);
	srv->devs[idx]->no04 = on;
	pthread_mutex_unlock(&srv->lock);
}

/* Makes a device stop answering (or answer again). */
void
devsrv_mute(struct devsrv *srv, int idx, bool on)
{
	pthread_mutex_lock(&srv->lock);
	srv->devs[idx]->mute = on;
	pthread_mutex_unlock(&srv->lock);
}

/* Makes a device acknowledge but not store writes to addr. */
void
devsrv_ignore_writes(struct devsrv *srv, int idx, unsigned addr, bool on)
{
	struct dev *d = srv->devs[idx];

	pthread_mutex_lock(&srv->lock);
	if (on && d->n_ign < MAX_LIST)
		d->ign[d->n_ign++] = addr;
	else if (!on)
		for (int i = 0; i < d->n_ign; i++)
			if (d->ign[i] == addr)
				d->ign[i--] = d->ign[--d->n_ign];
	pthread_mutex_unlock(&srv->lock);
}

/* Makes reads that cover addr answer "illegal data address". */
void
devsrv_hole(struct devsrv *srv, int idx, unsigned addr)
{
	struct dev *d = srv->devs[idx];

	pthread_mutex_lock(&srv->lock);
	if (d->n_holes < MAX_LIST)
		d->holes[d->n_holes++] = addr;
	pthread_mutex_unlock(&srv->lock);
}

/* Makes reads that cover addr answer again. */
void
devsrv_hole_clear(struct devsrv *srv, int idx, unsigned addr)
{
	struct dev *d = srv->devs[idx];

	pthread_mutex_lock(&srv->lock);
	for (int i = 0; i < d->n_holes; i++)
		if (d->holes[i] == addr)
			d->holes[i--] = d->holes[--d->n_holes];
	pthread_mutex_unlock(&srv->lock);
}

/* Closes every client connection of a device. */
void
devsrv_drop_clients(struct devsrv *srv, int idx)
{
	struct dev *d = srv->devs[idx];

	pthread_mutex_lock(&srv->lock);
	while (d->n_clients > 0)
		drop_client(d, 0);
	pthread_mutex_unlock(&srv->lock);
	kick(srv);
}

/* Returns how many writes covered holding register addr. */
unsigned
devsrv_writes(struct devsrv *srv, int idx, unsigned addr)
{
	unsigned n;

	pthread_mutex_lock(&srv->lock);
	n = addr < HOLD_N ? srv->devs[idx]->wcount[addr] : 0;
	pthread_mutex_unlock(&srv->lock);
	return n;
}

/* Returns how many requests a device received. */
unsigned
devsrv_requests(struct devsrv *srv, int idx)
{
	unsigned n;

	pthread_mutex_lock(&srv->lock);
	n = srv->devs[idx]->reqs;
	pthread_mutex_unlock(&srv->lock);
	return n;
}

/* Returns how many requests with function fc a device received. */
unsigned
devsrv_requests_fc(struct devsrv *srv, int idx, int fc)
{
	unsigned n;

	pthread_mutex_lock(&srv->lock);
	n = fc >= 0 && fc <= 16 ? srv->devs[idx]->fc_reqs[fc] : 0;
	pthread_mutex_unlock(&srv->lock);
	return n;
}

/* Resets a device's counters. */
void
devsrv_reset_counts(struct devsrv *srv, int idx)
{
	struct dev *d = srv->devs[idx];

	pthread_mutex_lock(&srv->lock);
	d->reqs = 0;
	memset(d->fc_reqs, 0, sizeof d->fc_reqs);
	memset(d->wcount, 0, HOLD_N * sizeof *d->wcount);
	pthread_mutex_unlock(&srv->lock);
}
