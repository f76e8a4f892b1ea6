/* Commissioning one Modbus device: `ocpp-edgectl read` shows registers as
 * the device answers them ("what does this charger answer at 10119?"),
 * reading only (functions 03 and 04); `ocpp-edgectl slave-id` changes its
 * RS-485 address, the one write (registers 3 then 4, manual §5.5). */
#include "ctl/ctl.h"

#include <stdio.h>
#include <stdlib.h>

#include "southbound/southbound.h"

/* Opens the device of target (HOST[:PORT]) or of o->rtu_device; 0, or an
 * exit code after a message on err. */
static int
open_device(const struct ctl_scan_opts *o, const char *target,
    struct sb_prober **p, FILE *err)
{
	struct sb_serial_conf serial = { o->rtu_device, o->baud, o->parity,
	    o->stop_bits };
	char host[256], msg[300];
	char *cause = NULL;
	int port = 502;

	if (target != NULL && ctl_split_target(target, host, sizeof host,
	    &port, msg, sizeof msg) != 0) {
		fprintf(err, "ocpp-edgectl: %s\n", msg);
		return CTL_EXIT_USAGE;
	}
	if (sb_probe_open(target != NULL ? host : NULL, port,
	    target != NULL ? NULL : &serial, o->timeout_ms > 0 ?
	    o->timeout_ms : 1000, p, &cause) != 0) {
		fprintf(err, "ocpp-edgectl: %s: %s\n", target != NULL ?
		    target : o->rtu_device, cause != NULL ? cause : "failed");
		free(cause);
		return CTL_EXIT_ERROR;
	}
	return CTL_EXIT_OK;
}

/* Says why verb failed (frees cause); returns the exit code. */
static int
failed(const struct ctl_scan_opts *o, const char *target, const char *verb,
    int rc, char *cause, FILE *err)
{
	fprintf(err, "ocpp-edgectl: %s %s unit %d: %s\n", verb,
	    target != NULL ? target : o->rtu_device, o->unit_id,
	    cause != NULL ? cause : "failed");
	free(cause);
	return rc == SB_ERR_RANGE ? CTL_EXIT_USAGE : CTL_EXIT_ERROR;
}

/* Changes the slave id; returns an exit code. */
int
ctl_slave_id(const struct ctl_scan_opts *o, const char *target, int new_id,
    FILE *out, FILE *err)
{
	struct sb_prober *p = NULL;
	char *cause = NULL;
	int rc;

	if ((rc = open_device(o, target, &p, err)) != 0)
		return rc;
	rc = sb_probe_set_slave_id(p, o->unit_id, new_id, &cause);
	sb_probe_close(p);
	if (rc != 0)
		return failed(o, target, "slave-id", rc, cause, err);
	fprintf(out, "slave id %d -> %d (registers 3 and 4 written)\n",
	    o->unit_id, new_id);
	return CTL_EXIT_OK;
}

/* Reads and prints; returns an exit code. */
int
ctl_read(const struct ctl_scan_opts *o, const char *target, int fc,
    unsigned addr, unsigned count, FILE *out, FILE *err)
{
	struct sb_prober *p = NULL;
	uint16_t regs[125];
	char text[251];
	char *cause = NULL;
	int used = 0, rc;
	size_t n = 0;

	if ((rc = open_device(o, target, &p, err)) != 0)
		return rc;
	rc = sb_probe_read(p, o->unit_id, fc, addr, count, regs, &used,
	    &cause);
	sb_probe_close(p);
	if (rc != 0)
		return failed(o, target, "read", rc, cause, err);
	fprintf(out, "# %s unit %d, function %02d\n",
	    target != NULL ? target : o->rtu_device, o->unit_id, used);
	for (unsigned i = 0; i < count; i++) {
		unsigned char hi = (unsigned char)(regs[i] >> 8);
		unsigned char lo = (unsigned char)(regs[i] & 0xff);

		fprintf(out, "%u\t0x%04x\t%u\n", addr + i, regs[i], regs[i]);
		text[n++] = hi >= 0x20 && hi < 0x7f ? (char)hi : '.';
		text[n++] = lo >= 0x20 && lo < 0x7f ? (char)lo : '.';
	}
	text[n] = '\0';
	fprintf(out, "# text: \"%s\"\n", text);
	return CTL_EXIT_OK;
}
