/* Modbus server side of the simulator: request PDUs to response PDUs
 * (functions 03, 04, 06, 16 with the standard exceptions), and RTU
 * framing helpers.  Written directly on the byte level so the simulator
 * controls every exception and can stay silent on purpose. */
#include "sim/sim.h"

#include <string.h>

/* Largest read (125) and write (123) register counts (Modbus spec). */
#define MAX_READ 125
#define MAX_WRITE 123

/* Writes an exception response PDU; returns its length. */
static size_t
exception(uint8_t fc, int code, uint8_t *resp)
{
	resp[0] = (uint8_t)(fc | 0x80);
	resp[1] = (uint8_t)code;
	return 2;
}

/* Reads a big-endian 16-bit value. */
static uint16_t
be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Handles one request PDU for charger c, or for the meter when c is NULL;
 * returns the length of the response PDU written into resp. */
size_t
sim_modbus_pdu(struct sim_site *s, struct sim_charger *c,
    const uint8_t *req, size_t len, uint8_t *resp, int64_t now_ms)
{
	uint8_t fc;
	uint16_t addr, n, regs[MAX_READ];
	int rc;

	if (len < 1)
		return exception(0, SIM_EX_ILLEGAL_FUNCTION, resp);
	fc = req[0];
	sim_site_update(s, now_ms);
	switch (fc) {
	case 3:
	case 4:
		if (len != 5)
			return exception(fc, SIM_EX_ILLEGAL_VALUE, resp);
		addr = be16(req + 1);
		n = be16(req + 3);
		if (n < 1 || n > MAX_READ)
			return exception(fc, SIM_EX_ILLEGAL_VALUE, resp);
		if (c == NULL) {
			if (fc != 4)
				return exception(fc, SIM_EX_ILLEGAL_FUNCTION,
				    resp);
			rc = sim_meter_read(&s->meter, addr, n, regs);
		} else {
			rc = sim_charger_read(s, c, fc, addr, n, regs);
		}
		if (rc != 0)
			return exception(fc, rc, resp);
		resp[0] = fc;
		resp[1] = (uint8_t)(2 * n);
		for (uint16_t i = 0; i < n; i++) {
			resp[2 + 2 * i] = (uint8_t)(regs[i] >> 8);
			resp[3 + 2 * i] = (uint8_t)(regs[i] & 0xff);
		}
		return 2 + 2 * (size_t)n;
	case 6:
		if (len != 5)
			return exception(fc, SIM_EX_ILLEGAL_VALUE, resp);
		if (c == NULL)
			return exception(fc, SIM_EX_ILLEGAL_FUNCTION, resp);
		addr = be16(req + 1);
		regs[0] = be16(req + 3);
		rc = sim_charger_write(s, c, addr, 1, regs, now_ms);
		if (rc != 0)
			return exception(fc, rc, resp);
		sim_site_update(s, now_ms);
		memcpy(resp, req, 5);
		return 5;
	case 16:
		if (len < 6)
			return exception(fc, SIM_EX_ILLEGAL_VALUE, resp);
		if (c == NULL)
			return exception(fc, SIM_EX_ILLEGAL_FUNCTION, resp);
		addr = be16(req + 1);
		n = be16(req + 3);
		if (n < 1 || n > MAX_WRITE || req[5] != 2 * n ||
		    len != 6 + 2 * (size_t)n)
			return exception(fc, SIM_EX_ILLEGAL_VALUE, resp);
		for (uint16_t i = 0; i < n; i++)
			regs[i] = be16(req + 6 + 2 * i);
		rc = sim_charger_write(s, c, addr, n, regs, now_ms);
		if (rc != 0)
			return exception(fc, rc, resp);
		sim_site_update(s, now_ms);
		memcpy(resp, req, 5);
		return 5;
	default:
		return exception(fc, SIM_EX_ILLEGAL_FUNCTION, resp);
	}
}

/* Computes the Modbus RTU CRC-16 (polynomial 0xA001, initial 0xFFFF). */
uint16_t
sim_crc16(const uint8_t *buf, size_t len)
{
	uint16_t crc = 0xffff;

	for (size_t i = 0; i < len; i++) {
		crc ^= buf[i];
		for (int b = 0; b < 8; b++)
			crc = (crc & 1) ? (uint16_t)((crc >> 1) ^ 0xa001) :
			    (uint16_t)(crc >> 1);
	}
	return crc;
}

/* Returns the length of the RTU request at buf: 0 = need more bytes,
 * -1 = unknown function (cannot be framed by length). */
int
sim_rtu_request_len(const uint8_t *buf, size_t n)
{
	if (n < 2)
		return 0;
	switch (buf[1]) {
	case 3:
	case 4:
	case 6:
		return 8;
	case 16:
		if (n < 7)
			return 0;
		return 9 + buf[6];
	default:
		return -1;
	}
}
