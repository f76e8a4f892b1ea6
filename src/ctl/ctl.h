/* ocpp-edgectl: the client side of the daemon's control socket
 * (docs/control.md), the renderers of its replies, and the Modbus scan.
 * Built as a library so the tests link everything but main(). */
#ifndef EDGE_CTL_H
#define EDGE_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "paths.h"

#define CTL_DEFAULT_SOCKET RUNSTATEDIR "/ocpp-edge/ctl.sock"

/* Exit codes of ocpp-edgectl (documented in --help and
 * docs/ocpp-edgectl.md). */
#define CTL_EXIT_OK 0
#define CTL_EXIT_ERROR 1        /* the daemon refused the request, or I/O */
#define CTL_EXIT_USAGE 2        /* bad command line */
#define CTL_EXIT_NOT_RUNNING 3  /* no daemon behind the socket */
#define CTL_EXIT_ACCESS 4       /* no permission to use the socket */
#define CTL_EXIT_PROTOCOL 5     /* no answer in time, or a malformed one */
#define CTL_EXIT_SCAN_MISSED 6  /* scan: some targets had no device */

/* Return codes of the client functions (0 = success). */
enum ctl_err {
	CTL_OK = 0,
	CTL_ERR_NOT_RUNNING = -1, /* no socket, or nobody listening */
	CTL_ERR_ACCESS = -2,      /* EACCES / EPERM on the socket */
	CTL_ERR_PROTOCOL = -3,    /* timeout, closed early, malformed reply */
	CTL_ERR_REFUSED = -4,     /* {"ok":false,"error":...} */
	CTL_ERR_IO = -5,          /* another system error */
	CTL_ERR_USAGE = -6,       /* e.g. a socket path too long */
};
/* The process exit code for a ctl_err. */
int ctl_exit_code(int err);

/* Default time to wait for a reply, ms. */
#define CTL_TIMEOUT_MS 5000
/* Largest reply line accepted, bytes (a 200-charger status is ~100 KiB). */
#define CTL_MAX_REPLY (8u << 20)

struct ctl_conn;
typedef struct json_t json_t;

/* Connects to the control socket at path.  Returns 0 and *out (close with
 * ctl_close), or a negative ctl_err with *cause (caller frees). */
int ctl_connect(const char *path, struct ctl_conn **out, char **cause);
/* Sends one request object and waits up to timeout_ms for its reply line.
 * On {"ok":true} returns 0 and *result (a new reference; caller
 * json_decref's it); otherwise a negative ctl_err with *cause (caller
 * frees): the daemon's own text for CTL_ERR_REFUSED. */
int ctl_call(struct ctl_conn *c, json_t *request, int timeout_ms,
    json_t **result, char **cause);
/* Closes the connection and frees it (NULL is accepted). */
void ctl_close(struct ctl_conn *c);
/* Connects, runs one request and closes: ctl_connect + ctl_call. */
int ctl_request(const char *path, json_t *request, int timeout_ms,
    json_t **result, char **cause);

/* Writes the status result as the operator's screen.  Tolerates missing
 * or null fields ("-"); returns 0. */
int ctl_render_status(FILE *out, json_t *result);
/* Writes the explain result: the caps, which one bound, the balancer's
 * line.  Returns 0. */
int ctl_render_explain(FILE *out, json_t *result);
/* Renders the answer to reload. */
int ctl_render_reload(FILE *out, json_t *result);
/* Renders the answer to limit, pause or resume. */
int ctl_render_local(FILE *out, json_t *result);
/* Renders a history result: the site's range, then the changes. */
int ctl_render_history(FILE *out, json_t *result);

/* Power for people: "850 W", "7.3 kW"; buf of at least 24 bytes. */
const char *ctl_fmt_power(double w, char *buf, size_t len);
/* A duration for people: "45s", "8m05s", "2h03m", "3d04h". */
const char *ctl_fmt_duration(int64_t ms, char *buf, size_t len);

/* Options of `ocpp-edgectl scan`. */
struct ctl_scan_opts {
	const char *const *targets; /* HOST[:PORT] (IPv6 as [ADDR]:PORT) */
	size_t n_targets;
	int unit_id;                /* TCP unit id; default 1 */
	const char *rtu_device;     /* NULL: no RTU scan */
	int baud;                   /* default 9600 */
	char parity;                /* 'N', 'E', 'O' */
	int stop_bits;              /* 1 or 2 */
	int first_id, last_id;      /* RTU slave ids to try; default 1..10 */
	int timeout_ms;             /* per request; default 300 (RTU 500) */
	const char *listen;         /* HOST:PORT for dial-in chargers, or NULL */
	int wait_s;                 /* how long to listen; default 30 */
	int count;                  /* stop after this many (0 = wait_s) */
	int port;                   /* port of A.B.C.D/N targets; default 502 */
	int parallel;               /* probes at once in a range; default 16 */
};
/* Fills the defaults. */
void ctl_scan_defaults(struct ctl_scan_opts *o);
/* Splits "HOST[:PORT]" / "[V6]:PORT" / "V6" into host and port (default
 * 502).  Returns 0, or -1 with a message in err. */
int ctl_split_target(const char *t, char *host, size_t hlen, int *port,
    char *err, size_t elen);
/* `ocpp-edgectl read`: reads count registers from addr of the device at
 * target (HOST[:PORT], or NULL with o->rtu_device), unit o->unit_id, with
 * function fc (0: 04, then 03 if refused); never writes.  Prints one line
 * per register on out (and the text they hold); returns an exit code. */
int ctl_read(const struct ctl_scan_opts *o, const char *target, int fc,
    unsigned addr, unsigned count, FILE *out, FILE *err);
/* When target names a charger of the daemon at sock, its TCP address
 * into host_port (and o->unit_id): 1; 0 when it names none; -1 after a
 * message on err when only the daemon can reach it. */
int ctl_resolve_charger(const char *sock, const char *target,
    struct ctl_scan_opts *o, char *host_port, size_t len, FILE *err);
/* `ocpp-edgectl slave-id`: gives the device at target (or on
 * o->rtu_device), unit o->unit_id, the slave id new_id (registers 3 then
 * 4).  Returns an exit code. */
int ctl_slave_id(const struct ctl_scan_opts *o, const char *target,
    int new_id, FILE *out, FILE *err);
/* Probes every target and prints a configuration block per device found
 * on out, one line per miss on err.  Returns an exit code: 0 when every
 * target had a device, CTL_EXIT_SCAN_MISSED otherwise. */
int ctl_scan(const struct ctl_scan_opts *o, FILE *out, FILE *err);

#endif
