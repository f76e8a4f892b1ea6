/* `ocpp-edgectl scan`: probes Modbus TCP hosts and an RS-485 bus for
 * Autel chargers and Eastron meters, and prints the matching sections of
 * ocpp-edge.conf (option names as in etc/ocpp-edge.conf).  Read-only:
 * nothing is written to the devices. */
#include "config.h"

#include "ctl/ctl.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "southbound/southbound.h"

/* Fills the scan defaults. */
void
ctl_scan_defaults(struct ctl_scan_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->unit_id = 1;
	o->baud = 9600;
	o->parity = 'N';
	o->stop_bits = 1;
	o->first_id = 1;
	o->last_id = 10;
	o->timeout_ms = 0; /* 300 TCP, 500 RTU */
	o->wait_s = 30;
	o->port = 502;
	o->parallel = 16;
}

/* Splits "HOST[:PORT]" / "[V6]:PORT" / "V6" into host and port (default
 * 502).  Returns 0, or -1 with a message in err. */
int
ctl_split_target(const char *t, char *host, size_t hlen, int *port, char *err,
    size_t elen)
{
	const char *colon, *end;
	char *stop;
	long p = 502;

	if (t[0] == '[') {
		end = strchr(t, ']');
		if (end == NULL || (end[1] != '\0' && end[1] != ':')) {
			snprintf(err, elen, "'%s': expected [ADDRESS]:PORT", t);
			return -1;
		}
		snprintf(host, hlen, "%.*s", (int)(end - t - 1), t + 1);
		colon = end[1] == ':' ? end + 1 : NULL;
	} else {
		colon = strrchr(t, ':');
		if (colon != NULL && strchr(t, ':') != colon)
			colon = NULL; /* a bare IPv6 address */
		snprintf(host, hlen, "%.*s", colon != NULL ?
		    (int)(colon - t) : (int)strlen(t), t);
	}
	if (host[0] == '\0') {
		snprintf(err, elen, "'%s': no host", t);
		return -1;
	}
	if (colon != NULL) {
		p = strtol(colon + 1, &stop, 10);
		if (colon[1] == '\0' || *stop != '\0' || p < 1 || p > 65535) {
			snprintf(err, elen, "'%s': port '%s' out of range "
			    "1..65535", t, colon + 1);
			return -1;
		}
	}
	*port = (int)p;
	return 0;
}

/* A configuration name from the serial number: characters outside
 * A-Z a-z 0-9 - _ . become '-', at most 63. */
static void
name_from(const struct sb_probe_result *r, int n, char *out, size_t len)
{
	size_t i = 0;

	if (r->serial[0] == '\0') {
		snprintf(out, len, "charger%d", n);
		return;
	}
	for (const char *s = r->serial; *s != '\0' && i + 1 < len && i < 63;
	    s++, i++)
		out[i] = isalnum((unsigned char)*s) || *s == '-' ||
		    *s == '_' || *s == '.' ? *s : '-';
	out[i] = '\0';
}

/* A maximum in kW to 0.1 kW, rounded down (7400 W -> 7.4); 0 when
 * unknown. */
static double
kw(double w)
{
	return isnan(w) ? 0 : floor(w / 100 + 1e-9) / 10;
}

/* Prints one charger section: TCP (host set), dial-in (host NULL,
 * port -1) or RTU (host NULL). */
static void
print_charger(FILE *out, const struct sb_probe_result *r, int n,
    const char *host, int port, const struct ctl_scan_opts *o, int unit)
{
	char name[64];
	double max_kw = kw(r->max_power_w);
	int conns = r->n_connectors > 0 ? r->n_connectors : 1;

	name_from(r, n, name, sizeof(name));
	fprintf(out, "# %s, firmware %s, serial %s%s\n",
	    r->product_type[0] != '\0' ? r->product_type : "(no product type)",
	    r->firmware[0] != '\0' ? r->firmware : "-",
	    r->serial[0] != '\0' ? r->serial : "-",
	    r->ro_uses_fc03 ? ", refuses function 04 (read with 03)" : "");
	if (!isnan(r->max_power_w))
		fprintf(out, "# rated %.0f W", r->max_power_w);
	else
		fprintf(out, "# rated power not reported");
	if (!isnan(r->max_current_a))
		fprintf(out, ", %.2f A", r->max_current_a);
	if (!isnan(r->max_offline_power_w))
		fprintf(out, ", offline maximum %.0f W",
		    r->max_offline_power_w);
	fprintf(out, "\n");
	if (r->model_guessed)
		fprintf(out, "# product type not recognised: the model is a "
		    "guess, check it\n");
	fprintf(out, "charger \"%s\" {\n", name);
	fprintf(out, "\tmodel = \"%s\"\n", sb_model_name(r->model));
	if (host != NULL) {
		fprintf(out, "\tlink = \"tcp\"\n");
		fprintf(out, "\thost = \"%s\"\n", host);
		fprintf(out, "\tport = %d\n", port);
	} else if (port < 0) {
		fprintf(out, "\tlink = \"tcp-listen\"\n");
	} else {
		fprintf(out, "\tlink = \"rtu\"\n");
		fprintf(out, "\tdevice = \"%s\"\n", o->rtu_device);
		fprintf(out, "\tbaud = %d\n", o->baud);
		fprintf(out, "\tparity = \"%s\"\n", o->parity == 'E' ? "even" :
		    o->parity == 'O' ? "odd" : "none");
		fprintf(out, "\tstop-bits = %d\n", o->stop_bits);
	}
	fprintf(out, "\tunit-id = %d\n", unit);
	if (r->serial[0] != '\0')
		fprintf(out, "\tserial = \"%s\"\n", r->serial);
	fprintf(out, "\tconnectors = %d\n", conns);
	if (r->phases != 0)
		fprintf(out, "\tphases = %d\n", r->phases);
	else
		fprintf(out, "\t# phases: could not tell (no voltage on the "
		    "connector); 1 or 3\n");
	if (max_kw >= 1)
		fprintf(out, "\tmax-power-kw = %g\n", max_kw);
	else
		fprintf(out, "\tmax-power-kw = 0 # not reported: set the "
		    "charger's rating\n");
	if (r->word_order == SB_WORDS_LOW_FIRST)
		fprintf(out, "\tword-order = \"low-first\"\n");
	fprintf(out, "}\n\n");
}

/* Prints one meter section. */
static void
print_meter(FILE *out, const struct sb_probe_result *r, const char *host,
    int port, const struct ctl_scan_opts *o, int unit)
{
	const char *type = r->meter_type == SB_METER_SDM630 ? "sdm630" :
	    "sdm230";

	fprintf(out, "# Eastron %s meter: %.1f / %.1f / %.1f V, total "
	    "%.0f W%s\n", r->meter_type == SB_METER_SDM630 ?
	    "three-phase" : "single-phase", r->voltage_v[0], r->voltage_v[1],
	    r->voltage_v[2], r->total_power_w,
	    r->meter_type == SB_METER_SDM630 ? "" :
	    " (an SDM120 looks the same: set type accordingly)");
	fprintf(out, "meter {\n\ttype = \"%s\"\n", type);
	if (host != NULL) {
		fprintf(out, "\tlink = \"tcp\"\n\thost = \"%s\"\n\tport = %d\n",
		    host, port);
	} else {
		fprintf(out, "\tlink = \"rtu\"\n\tdevice = \"%s\"\n"
		    "\tbaud = %d\n\tparity = \"%s\"\n\tstop-bits = %d\n",
		    o->rtu_device, o->baud, o->parity == 'E' ? "even" :
		    o->parity == 'O' ? "odd" : "none", o->stop_bits);
	}
	fprintf(out, "\tunit-id = %d\n}\n\n", unit);
}

/* Opens a listening TCP socket on "HOST:PORT"; the fd, or -1 with a
 * message in err. */
static int
listen_on(const char *addr, char *err, size_t elen)
{
	struct addrinfo hints, *res = NULL;
	char host[256], service[16];
	int port, fd, one = 1, rc;

	if (ctl_split_target(addr, host, sizeof(host), &port, err, elen) != 0)
		return -1;
	snprintf(service, sizeof(service), "%d", port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	rc = getaddrinfo(host, service, &hints, &res);
	if (rc != 0) {
		snprintf(err, elen, "--listen %s: %s", addr, gai_strerror(rc));
		return -1;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
	    sizeof(one)) != 0 || bind(fd, res->ai_addr, res->ai_addrlen) != 0 ||
	    listen(fd, 16) != 0) {
		snprintf(err, elen, "--listen %s: %s%s", addr, strerror(errno),
		    errno == EADDRINUSE ? " (is ocpp-edged running on it? "
		    "stop it while scanning)" : "");
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/* Waits for chargers that dial in ("charger as client") and probes each
 * over the socket it opened; a charger that dials again is printed once.
 * Returns the number of chargers found, or -1. */
static int
scan_listen(const struct ctl_scan_opts *o, FILE *out, FILE *err, int *n)
{
	char msg[300], seen[64][40];
	int lfd, found = 0, n_seen = 0;
	int64_t end = mono_now_ms() + (int64_t)o->wait_s * 1000;

	lfd = listen_on(o->listen, msg, sizeof(msg));
	if (lfd < 0) {
		fprintf(err, "ocpp-edgectl: scan: %s\n", msg);
		fprintf(out, "# %s\n\n", msg);
		return -1;
	}
	fprintf(err, "ocpp-edgectl: scan: waiting %d s for chargers dialling "
	    "%s\n", o->wait_s, o->listen);
	while (o->count == 0 || found < o->count) {
		struct pollfd pfd = { .fd = lfd, .events = POLLIN };
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct sb_probe_result r;
		struct sb_prober *p;
		char peer[INET6_ADDRSTRLEN + 8] = "?", *cause = NULL;
		int64_t left = end - mono_now_ms();
		bool dup = false;
		int fd;

		if (left <= 0)
			break;
		if (poll(&pfd, 1, (int)(left > 1000 ? 1000 : left)) <= 0)
			continue;
		fd = accept(lfd, (struct sockaddr *)&ss, &sl);
		if (fd < 0)
			continue;
		if (getnameinfo((struct sockaddr *)&ss, sl, peer, sizeof(peer),
		    NULL, 0, NI_NUMERICHOST) != 0)
			snprintf(peer, sizeof(peer), "?");
		if (sb_probe_adopt(fd, o->timeout_ms > 0 ? o->timeout_ms : 300,
		    &p, &cause) != 0) {
			fprintf(err, "ocpp-edgectl: scan: %s: %s\n", peer, cause);
			free(cause);
			continue;
		}
		sb_probe_unit(p, o->unit_id, &r);
		sb_probe_close(p);
		if (r.kind != SB_PROBE_CHARGER) {
			fprintf(err, "ocpp-edgectl: scan: %s dialled in: %s\n",
			    peer, r.kind == SB_PROBE_METER ? "a meter, not a "
			    "charger" : r.error);
			continue;
		}
		for (int i = 0; i < n_seen; i++)
			dup = dup || strcmp(seen[i], r.serial) == 0;
		if (dup)
			continue;
		if (n_seen < 64)
			snprintf(seen[n_seen++], sizeof(seen[0]), "%s",
			    r.serial);
		fprintf(out, "# dialled in from %s to %s (southbound listen)\n",
		    peer, o->listen);
		print_charger(out, &r, ++*n, NULL, -1, o, o->unit_id);
		found++;
	}
	close(lfd);
	return found;
}

/* ---- an IPv4 range: A.B.C.D/N ---- */

/* The most addresses one range may hold (a /20). */
#define CIDR_MAX_HOSTS 4096
#define CIDR_MAX_PARALLEL 64

/* One range being probed by a few threads; results by address index. */
struct cidr_scan {
	const struct ctl_scan_opts *o;
	uint32_t first;                 /* host order */
	int n;                          /* addresses */
	int next, done, found;          /* under mu */
	struct sb_probe_result *res;    /* n */
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

/* Parses "A.B.C.D/N": the first and the number of host addresses (the
 * network and broadcast addresses left out below /31).  0, or -1 with a
 * message in msg. */
static int
parse_cidr(const char *t, uint32_t *first, int *n, char *msg, size_t len)
{
	char addr[INET_ADDRSTRLEN], *end;
	const char *slash = strchr(t, '/');
	struct in_addr in;
	long bits;
	uint32_t a, mask, count;

	if (slash == NULL || (size_t)(slash - t) >= sizeof(addr)) {
		snprintf(msg, len, "'%s': expected A.B.C.D/N", t);
		return -1;
	}
	memcpy(addr, t, (size_t)(slash - t));
	addr[slash - t] = '\0';
	bits = strtol(slash + 1, &end, 10);
	if (inet_pton(AF_INET, addr, &in) != 1 || slash[1] == '\0' ||
	    *end != '\0' || bits < 20 || bits > 32) {
		snprintf(msg, len, "'%s': expected an IPv4 A.B.C.D/N with N "
		    "20..32 (at most %d addresses)", t, CIDR_MAX_HOSTS);
		return -1;
	}
	mask = 0xffffffffu << (32 - bits);
	a = ntohl(in.s_addr) & mask;
	count = (uint32_t)1 << (32 - bits);
	if (bits <= 30) {	/* no network nor broadcast address */
		a++;
		count -= 2;
	}
	*first = a;
	*n = (int)count;
	return 0;
}

/* A prober thread: takes the next address until none is left. */
static void *
cidr_worker(void *arg)
{
	struct cidr_scan *cs = arg;
	const struct ctl_scan_opts *o = cs->o;
	int tmo = o->timeout_ms > 0 ? o->timeout_ms : 300;

	for (;;) {
		struct sb_probe_result *r;
		struct sb_prober *p;
		struct in_addr in;
		char host[INET_ADDRSTRLEN], *cause = NULL;
		int i;

		pthread_mutex_lock(&cs->mu);
		i = cs->next < cs->n ? cs->next++ : -1;
		pthread_mutex_unlock(&cs->mu);
		if (i < 0)
			return NULL;
		r = &cs->res[i];
		in.s_addr = htonl(cs->first + (uint32_t)i);
		inet_ntop(AF_INET, &in, host, sizeof(host));
		if (sb_probe_open(host, o->port, NULL, tmo, &p, &cause) == 0) {
			sb_probe_unit(p, o->unit_id, r);
			sb_probe_close(p);
		} else {
			r->kind = SB_PROBE_NOTHING;
			snprintf(r->error, sizeof(r->error), "%s",
			    cause != NULL ? cause : "no answer");
			free(cause);
		}
		pthread_mutex_lock(&cs->mu);
		cs->done++;
		if (r->kind != SB_PROBE_NOTHING)
			cs->found++;
		pthread_cond_signal(&cs->cv);
		pthread_mutex_unlock(&cs->mu);
	}
}

/* Probes every address of the range target on o->port, o->parallel at
 * once, with a progress line on err at most once a second; prints what
 * answered in address order.  Returns the devices found, or -1 when the
 * range is not valid. */
static int
scan_cidr(const struct ctl_scan_opts *o, const char *target, FILE *out,
    FILE *err, int *n_chargers)
{
	struct cidr_scan cs;
	pthread_t th[CIDR_MAX_PARALLEL];
	int n_th, started = 0, last_done = -1;
	time_t next_line_s = 0;
	char msg[160];

	memset(&cs, 0, sizeof(cs));
	if (parse_cidr(target, &cs.first, &cs.n, msg, sizeof(msg)) != 0) {
		fprintf(err, "ocpp-edgectl: scan: %s\n", msg);
		fprintf(out, "# %s: not scanned: %s\n\n", target, msg);
		return -1;
	}
	cs.o = o;
	cs.res = xcalloc((size_t)cs.n, sizeof(*cs.res));
	pthread_mutex_init(&cs.mu, NULL);
	pthread_cond_init(&cs.cv, NULL);
	n_th = o->parallel < cs.n ? o->parallel : cs.n;
	if (n_th > CIDR_MAX_PARALLEL)
		n_th = CIDR_MAX_PARALLEL;
	for (int t = 0; t < n_th; t++)
		if (pthread_create(&th[started], NULL, cidr_worker, &cs) == 0)
			started++;
	if (started == 0)	/* no thread: probe here */
		cidr_worker(&cs);
	pthread_mutex_lock(&cs.mu);
	while (cs.done < cs.n) {
		struct timespec now, until;

		clock_gettime(CLOCK_REALTIME, &now);
		if (cs.done != last_done && now.tv_sec >= next_line_s) {
			fprintf(err, "ocpp-edgectl: scan: %s port %d: %d/%d "
			    "addresses probed, %d device%s\n", target, o->port,
			    cs.done, cs.n, cs.found, cs.found == 1 ? "" : "s");
			last_done = cs.done;
			next_line_s = now.tv_sec + 1;
		}
		until = now;
		until.tv_sec += 1;
		pthread_cond_timedwait(&cs.cv, &cs.mu, &until);
	}
	pthread_mutex_unlock(&cs.mu);
	for (int t = 0; t < started; t++)
		pthread_join(th[t], NULL);
	fprintf(err, "ocpp-edgectl: scan: %s port %d: %d/%d addresses probed, "
	    "%d device%s\n", target, o->port, cs.done, cs.n, cs.found,
	    cs.found == 1 ? "" : "s");
	for (int i = 0; i < cs.n; i++) {
		const struct sb_probe_result *r = &cs.res[i];
		struct in_addr in;
		char host[INET_ADDRSTRLEN];

		in.s_addr = htonl(cs.first + (uint32_t)i);
		inet_ntop(AF_INET, &in, host, sizeof(host));
		if (r->kind == SB_PROBE_CHARGER)
			print_charger(out, r, ++*n_chargers, host, o->port, o,
			    o->unit_id);
		else if (r->kind == SB_PROBE_METER)
			print_meter(out, r, host, o->port, o, o->unit_id);
	}
	if (cs.found == 0)
		fprintf(out, "# %s port %d: no device answered at unit %d "
		    "(%d addresses)\n\n", target, o->port, o->unit_id, cs.n);
	pthread_cond_destroy(&cs.cv);
	pthread_mutex_destroy(&cs.mu);
	free(cs.res);
	return cs.found;
}

/* Probes everything asked for; see ctl.h. */
int
ctl_scan(const struct ctl_scan_opts *o, FILE *out, FILE *err)
{
	struct sb_probe_result r;
	struct sb_prober *p;
	int missed = 0, found = 0, n = 0;
	char *cause;

	for (size_t i = 0; i < o->n_targets; i++) {
		char host[256], msg[160];
		int port, tmo = o->timeout_ms > 0 ? o->timeout_ms : 300;

		if (strchr(o->targets[i], '/') != NULL) {
			int got = scan_cidr(o, o->targets[i], out, err, &n);

			if (got > 0)
				found += got;
			else
				missed++;
			continue;
		}
		if (ctl_split_target(o->targets[i], host, sizeof(host), &port, msg,
		    sizeof(msg)) != 0) {
			fprintf(err, "ocpp-edgectl: scan: %s\n", msg);
			fprintf(out, "# %s: not scanned: %s\n\n", o->targets[i],
			    msg);
			missed++;
			continue;
		}
		cause = NULL;
		if (sb_probe_open(host, port, NULL, tmo, &p, &cause) != 0) {
			fprintf(err, "ocpp-edgectl: scan: %s:%d: %s\n", host,
			    port, cause);
			fprintf(out, "# %s:%d: %s\n\n", host, port, cause);
			free(cause);
			missed++;
			continue;
		}
		sb_probe_unit(p, o->unit_id, &r);
		sb_probe_close(p);
		if (r.kind == SB_PROBE_CHARGER) {
			print_charger(out, &r, ++n, host, port, o, o->unit_id);
			found++;
		} else if (r.kind == SB_PROBE_METER) {
			print_meter(out, &r, host, port, o, o->unit_id);
			found++;
		} else {
			fprintf(err, "ocpp-edgectl: scan: %s:%d unit %d: %s\n",
			    host, port, o->unit_id, r.error);
			fprintf(out, "# %s:%d unit %d: %s\n\n", host, port,
			    o->unit_id, r.error);
			missed++;
		}
	}

	if (o->listen != NULL) {
		int got = scan_listen(o, out, err, &n);

		if (got > 0)
			found += got;
		if (got <= 0 || (o->count > 0 && got < o->count)) {
			if (got >= 0)
				fprintf(out, "# %s: %d charger%s dialled in "
				    "within %d s%s\n\n", o->listen, got,
				    got == 1 ? "" : "s", o->wait_s,
				    o->count > 0 ? " (fewer than --count)" : "");
			missed++;
		}
	}

	if (o->rtu_device != NULL) {
		struct sb_serial_conf sc = { o->rtu_device, o->baud, o->parity,
		    o->stop_bits };
		int tmo = o->timeout_ms > 0 ? o->timeout_ms : 500;
		int on_bus = 0;

		cause = NULL;
		if (sb_probe_open(NULL, 0, &sc, tmo, &p, &cause) != 0) {
			fprintf(err, "ocpp-edgectl: scan: %s\n", cause);
			fprintf(out, "# %s\n\n", cause);
			free(cause);
			return CTL_EXIT_SCAN_MISSED;
		}
		for (int id = o->first_id; id <= o->last_id; id++) {
			sb_probe_unit(p, id, &r);
			if (r.kind == SB_PROBE_CHARGER)
				print_charger(out, &r, ++n, NULL, 0, o, id);
			else if (r.kind == SB_PROBE_METER)
				print_meter(out, &r, NULL, 0, o, id);
			else
				fprintf(err, "ocpp-edgectl: scan: %s slave %d: "
				    "%s\n", o->rtu_device, id, r.error);
			if (r.kind != SB_PROBE_NOTHING)
				on_bus++;
		}
		sb_probe_close(p);
		found += on_bus;
		if (on_bus == 0) {
			fprintf(out, "# %s: no device answered at slave ids "
			    "%d..%d (%d baud, parity %c, %d stop bit%s)\n\n",
			    o->rtu_device, o->first_id, o->last_id, o->baud,
			    o->parity, o->stop_bits, o->stop_bits == 1 ? "" :
			    "s");
			missed++;
		}
	}
	fprintf(err, "ocpp-edgectl: scan: %d device%s found, %d target%s "
	    "without one\n", found, found == 1 ? "" : "s", missed,
	    missed == 1 ? "" : "s");
	return missed == 0 ? CTL_EXIT_OK : CTL_EXIT_SCAN_MISSED;
}
