/* Modbus TCP exchanges for the TCP links, in fewer system calls than
 * libmodbus's receive path (a send, then a select + recv pair for each of
 * the header, the byte count and the data: 7 calls a request): one send,
 * then poll + recv of whatever has arrived until the MBAP frame is whole
 * (3 calls a request when the answer comes in one segment).  The socket is
 * the one libmodbus connected or accepted; RTU stays with libmodbus.
 * Errors are libmodbus's errno values, so the driver treats both alike. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <modbus.h>

#include "southbound/sb-private.h"

#define MBAP_LEN 7		/* transaction, protocol, length, unit */
#define PDU_MAX 253		/* Modbus application data unit limit */

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sends n bytes, waiting for room until deadline_ms; 0 or -1 with errno. */
static int
send_all(int fd, const uint8_t *p, size_t n, int64_t deadline_ms)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd pfd = { fd, POLLOUT, 0 };
			int64_t left = deadline_ms - now_ms();

			if (left <= 0) {
				errno = ETIMEDOUT;
				return -1;
			}
			if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
				return -1;
			continue;
		}
		return -1;
	}
	return 0;
}

/* Drops whatever is waiting on the socket (a stream out of step). */
static void
drain(int fd)
{
	uint8_t junk[256];

	while (recv(fd, junk, sizeof(junk), MSG_DONTWAIT) > 0)
		;
}

int
sb_tcp_exchange(int fd, uint16_t *tid, int unit, const uint8_t *pdu,
    size_t pdu_len, uint8_t *rsp, size_t rsp_max, int timeout_ms)
{
	uint8_t req[MBAP_LEN + PDU_MAX], in[MBAP_LEN + PDU_MAX + 1];
	int64_t deadline = now_ms() + timeout_ms;
	size_t have = 0;
	uint16_t id;

	if (fd < 0) {
		errno = ENOTCONN;
		return -1;
	}
	if (pdu_len < 1 || pdu_len > PDU_MAX || unit < 0 || unit > 255) {
		errno = EINVAL;
		return -1;
	}
	id = ++*tid;
	req[0] = (uint8_t)(id >> 8);
	req[1] = (uint8_t)id;
	req[2] = req[3] = 0;
	req[4] = (uint8_t)((pdu_len + 1) >> 8);
	req[5] = (uint8_t)(pdu_len + 1);
	req[6] = (uint8_t)unit;
	memcpy(req + MBAP_LEN, pdu, pdu_len);
	if (send_all(fd, req, MBAP_LEN + pdu_len, deadline) != 0)
		return -1;
	for (;;) {
		size_t len, frame;
		ssize_t r;

		/* A whole frame in: check it, answer it or skip it. */
		while (have >= MBAP_LEN) {
			len = (size_t)in[4] << 8 | in[5];
			if (in[2] != 0 || in[3] != 0 || len < 2 ||
			    len > PDU_MAX + 1) {
				drain(fd);
				errno = EMBBADDATA;
				return -1;
			}
			frame = MBAP_LEN - 1 + len;
			if (have < frame)
				break;
			if ((uint16_t)(in[0] << 8 | in[1]) == id) {
				size_t n = len - 1;

				if (in[6] != unit || (in[7] & 0x7f) != pdu[0]) {
					drain(fd);
					errno = EMBBADDATA;
					return -1;
				}
				if (in[7] & 0x80) {
					if (n != 2 || in[8] == 0 ||
					    in[8] >= MODBUS_EXCEPTION_MAX)
						errno = EMBBADEXC;
					else
						errno = MODBUS_ENOBASE + in[8];
					return -1;
				}
				if (n > rsp_max) {
					errno = EMBBADDATA;
					return -1;
				}
				memcpy(rsp, in + MBAP_LEN, n);
				return (int)n;
			}
			/* An answer to an earlier request that timed out. */
			memmove(in, in + frame, have - frame);
			have -= frame;
		}
		{
			struct pollfd pfd = { fd, POLLIN, 0 };
			int64_t left = deadline - now_ms();
			int p;

			if (left <= 0) {
				errno = ETIMEDOUT;
				return -1;
			}
			p = poll(&pfd, 1, (int)left);
			if (p < 0 && errno == EINTR)
				continue;
			if (p < 0)
				return -1;
			if (p == 0) {
				errno = ETIMEDOUT;
				return -1;
			}
		}
		r = recv(fd, in + have, sizeof(in) - have, MSG_DONTWAIT);
		if (r == 0) {
			errno = ECONNRESET;
			return -1;
		}
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN ||
			    errno == EWOULDBLOCK)
				continue;
			return -1;
		}
		have += (size_t)r;
	}
}

int
sb_tcp_read(int fd, uint16_t *tid, int unit, int fc, unsigned addr,
    unsigned count, uint16_t *out, int timeout_ms)
{
	uint8_t pdu[5], rsp[PDU_MAX];
	int n;

	if (count < 1 || count > 125 || addr > 0xffff || (fc != 3 && fc != 4)) {
		errno = EMBMDATA;
		return -1;
	}
	pdu[0] = (uint8_t)fc;
	pdu[1] = (uint8_t)(addr >> 8);
	pdu[2] = (uint8_t)addr;
	pdu[3] = 0;
	pdu[4] = (uint8_t)count;
	n = sb_tcp_exchange(fd, tid, unit, pdu, sizeof(pdu), rsp, sizeof(rsp),
	    timeout_ms);
	if (n < 0)
		return -1;
	if (n != 2 + 2 * (int)count || rsp[1] != 2 * count) {
		errno = EMBBADDATA;
		return -1;
	}
	for (unsigned i = 0; i < count; i++)
		out[i] = (uint16_t)(rsp[2 + 2 * i] << 8 | rsp[3 + 2 * i]);
	return (int)count;
}

int
sb_tcp_write(int fd, uint16_t *tid, int unit, unsigned addr, unsigned count,
    const uint16_t *regs, int timeout_ms)
{
	uint8_t pdu[6 + 2 * 123], rsp[PDU_MAX];
	size_t len;
	int n;

	if (count < 1 || count > 123 || addr > 0xffff) {
		errno = EMBMDATA;
		return -1;
	}
	pdu[1] = (uint8_t)(addr >> 8);
	pdu[2] = (uint8_t)addr;
	if (count == 1) {	/* 06, the answer its echo */
		pdu[0] = 6;
		pdu[3] = (uint8_t)(regs[0] >> 8);
		pdu[4] = (uint8_t)regs[0];
		len = 5;
	} else {		/* 16, the answer address and count */
		pdu[0] = 16;
		pdu[3] = 0;
		pdu[4] = (uint8_t)count;
		pdu[5] = (uint8_t)(2 * count);
		for (unsigned i = 0; i < count; i++) {
			pdu[6 + 2 * i] = (uint8_t)(regs[i] >> 8);
			pdu[7 + 2 * i] = (uint8_t)regs[i];
		}
		len = 6 + 2 * count;
	}
	n = sb_tcp_exchange(fd, tid, unit, pdu, len, rsp, sizeof(rsp),
	    timeout_ms);
	if (n < 0)
		return -1;
	if (n != 5 || memcmp(rsp, pdu, 5) != 0) {
		errno = EMBBADDATA;
		return -1;
	}
	return (int)count;
}
