/* A websocket client that stops reading: connects to 127.0.0.1:PORT with
 * a receive buffer of 1 kB, asks for the live status (PATH, subprotocol
 * ocpp-edge.status), prints the answer's status line, then reads nothing
 * more until it is killed, so that what the server sends piles up in the
 * server.  Exit 1 when it cannot connect or gets no answer.
 * Usage: ws-stall PORT PATH */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	char req[512], line[256];
	int fd, rcvbuf = 1024, port;
	size_t n = 0;
	int len;

	if (argc != 3 || (port = atoi(argv[1])) <= 0 || port > 65535) {
		fprintf(stderr, "usage: ws-stall PORT PATH\n");
		return 2;
	}
	sa.sin_port = htons((unsigned short)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	/* Before connect, so the window offered is small from the start. */
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
	    sizeof(rcvbuf)) != 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		perror("ws-stall: connect");
		return 1;
	}
	len = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\n"
	    "Host: 127.0.0.1:%d\r\nConnection: Upgrade\r\n"
	    "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "Sec-WebSocket-Protocol: ocpp-edge.status\r\n\r\n", argv[2],
	    port);
	if (len <= 0 || (size_t)len >= sizeof(req) ||
	    write(fd, req, (size_t)len) != len) {
		perror("ws-stall: write");
		return 1;
	}
	/* The status line, a byte at a time so nothing more is taken. */
	while (n < sizeof(line) - 1 && read(fd, &line[n], 1) == 1 &&
	    line[n] != '\n')
		n++;
	line[n] = '\0';
	if (n == 0)
		return 1;
	printf("%s\n", strtok(line, "\r"));
	fflush(stdout);
	for (;;)
		pause();
}
