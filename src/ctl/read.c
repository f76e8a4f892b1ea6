/* `ocpp-edgectl read`: shows registers of one Modbus device as they are,
 * for commissioning ("what does this charger answer at 10119?").  It only
 * reads: functions 03 and 04, never a write. */
#include "ctl/ctl.h"

#include <stdio.h>
#include <stdlib.h>

#include "southbound/southbound.h"

/* Reads and prints; returns an exit code. */
int
ctl_read(const struct ctl_scan_opts *o, const char *target, int fc,
    unsigned addr, unsigned count, FILE *out, FILE *err)
{
	struct sb_serial_conf serial = { o->rtu_device, o->baud, o->parity,
	    o->stop_bits };
	struct sb_prober *p = NULL;
	uint16_t regs[125];
	char host[256], msg[300], text[251];
	char *cause = NULL;
	int port = 502, used = 0, rc;
	size_t n = 0;

	if (target != NULL && ctl_split_target(target, host, sizeof host,
	    &port, msg, sizeof msg) != 0) {
		fprintf(err, "ocpp-edgectl: read %s\n", msg);
		return CTL_EXIT_USAGE;
	}
	rc = sb_probe_open(target != NULL ? host : NULL, port,
	    target != NULL ? NULL : &serial, o->timeout_ms > 0 ?
	    o->timeout_ms : 1000, &p, &cause);
	if (rc == 0)
		rc = sb_probe_read(p, o->unit_id, fc, addr, count, regs, &used,
		    &cause);
	sb_probe_close(p);
	if (rc != 0) {
		fprintf(err, "ocpp-edgectl: read %s unit %d: %s\n",
		    target != NULL ? target : o->rtu_device, o->unit_id,
		    cause != NULL ? cause : "failed");
		free(cause);
		return rc == SB_ERR_RANGE ? CTL_EXIT_USAGE : CTL_EXIT_ERROR;
	}
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
