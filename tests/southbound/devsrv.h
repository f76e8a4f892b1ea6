/* Test devices for the southbound tests and benchmark: real libmodbus
 * servers on loopback TCP ports (or dialling out to the gateway) and on
 * pseudo-terminals for RTU, all served by one thread.  Each device has its
 * own register space (holding 0..32199, input 0..12999) that tests fill and
 * inspect, and switches to misbehave: refuse function 04, stop answering,
 * ignore writes to a register, refuse an address. */
#ifndef EDGE_TESTS_DEVSRV_H
#define EDGE_TESTS_DEVSRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct devsrv;

/* Starts the serving thread.  Returns NULL on failure. */
struct devsrv *devsrv_new(void);
/* Stops the thread, closes every socket, frees everything. */
void devsrv_free(struct devsrv *srv);

/* Adds a device listening on 127.0.0.1 (port chosen by the kernel).
 * Returns its index, or -1. */
int devsrv_add_tcp(struct devsrv *srv);
/* Adds a device with no listener: it dials out with devsrv_dial(). */
int devsrv_add_dialer(struct devsrv *srv);
/* Connects device idx to host:port and serves requests arriving over
 * that socket (a charger "as client").  Returns 0 or -1. */
int devsrv_dial(struct devsrv *srv, int idx, const char *host, int port);
/* Adds RTU devices with the given unit ids on one new pseudo-terminal bus;
 * when baud is not 0 an answer is written after the wire time of the
 * request, 3.5 characters and the answer (11 bits per character).
 * Returns the index of the first (the others follow), or -1; *path
 * (borrowed) is the terminal to open. */
int devsrv_add_rtu_bus(struct devsrv *srv, const int *unit_ids, size_t n,
    int baud, const char **path);

/* The TCP port of device idx. */
int devsrv_port(struct devsrv *srv, int idx);

/* Writes values into the register space: input = true for the input
 * registers (they are mirrored into the holding space too, so that a
 * device that refuses 04 serves them with 03). */
void devsrv_set(struct devsrv *srv, int idx, bool input, unsigned addr,
    unsigned count, const uint16_t *regs);
/* Reads holding registers. */
void devsrv_get(struct devsrv *srv, int idx, unsigned addr, unsigned count,
    uint16_t *out);

/* Behaviour switches. */
void devsrv_no_fc04(struct devsrv *srv, int idx, bool on);
void devsrv_mute(struct devsrv *srv, int idx, bool on);
void devsrv_ignore_writes(struct devsrv *srv, int idx, unsigned addr,
    bool on);
void devsrv_hole(struct devsrv *srv, int idx, unsigned addr);
void devsrv_hole_clear(struct devsrv *srv, int idx, unsigned addr);
/* Closes every client connection of device idx (a charger rebooting). */
void devsrv_drop_clients(struct devsrv *srv, int idx);

/* Counters: write requests that covered holding register addr; all
 * requests served (or ignored while muted); requests with function fc. */
unsigned devsrv_writes(struct devsrv *srv, int idx, unsigned addr);
unsigned devsrv_requests(struct devsrv *srv, int idx);
unsigned devsrv_requests_fc(struct devsrv *srv, int idx, int fc);
/* Resets the counters of device idx. */
void devsrv_reset_counts(struct devsrv *srv, int idx);

#endif
