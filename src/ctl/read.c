/* Commissioning one Modbus device: `ocpp-edgectl read` shows registers as
 * the device answers them ("what does this charger answer at 10119?"),
 * reading only (functions 03 and 04); `ocpp-edgectl slave-id` changes its
 * RS-485 address, the one write (registers 3 then 4, manual §5.5). */
#include "ctl/ctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

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

/* When target is the name of a charger the daemon at sock runs (not a
 * HOST:PORT), fills host_port and o->unit_id from its link.  Returns 1
 * when resolved, 0 when target is not such a name (or no daemon
 * answers), or -1 after a message on err when the charger cannot be
 * reached beside the daemon. */
int
ctl_resolve_charger(const char *sock, const char *target,
    struct ctl_scan_opts *o, char *host_port, size_t len, FILE *err)
{
	json_t *req, *res = NULL, *ch;
	char *cause = NULL;
	size_t i;
	int rc = 0;

	if (sock == NULL || strchr(target, ':') != NULL)
		return 0;
	req = json_pack("{s:s}", "cmd", "status");
	if (ctl_request(sock, req, CTL_TIMEOUT_MS, &res, &cause) != CTL_OK) {
		json_decref(req);
		free(cause);
		return 0;
	}
	json_decref(req);
	json_array_foreach(json_object_get(res, "chargers"), i, ch) {
		const char *name = json_string_value(json_object_get(ch, "name"));
		const char *link = json_string_value(json_object_get(ch, "link"));
		json_t *unit = json_object_get(ch, "unit_id");

		if (name == NULL || strcmp(name, target) != 0 || link == NULL)
			continue;
		if (strncmp(link, "tcp ", 4) == 0 && json_is_integer(unit)) {
			snprintf(host_port, len, "%s", link + 4);
			o->unit_id = (int)json_integer_value(unit);
			rc = 1;
		} else {
			fprintf(err, "ocpp-edgectl: %s: %s: only the daemon "
			    "can reach it (a charger that dials in, or the "
			    "RS-485 bus it holds); stop the daemon and use "
			    "--rtu DEVICE --unit-id N for a bus\n", target, link);
			rc = -1;
		}
		break;
	}
	json_decref(res);
	return rc;
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
