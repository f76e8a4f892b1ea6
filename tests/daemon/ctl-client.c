/* A minimal control-socket client for the tests: connects to SOCKET,
 * sends each REQUEST argument as one line, prints each reply line on
 * stdout.  With "-" as a request it copies stdin instead (raw bytes, for
 * the malformed-request tests).  Exit 0, 3 when it cannot connect, 1 on
 * any other failure.  Usage: ctl-client SOCKET REQUEST... */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Writes all of buf or fails. */
static int
write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads until want newlines were seen (or EOF / 10 s without data),
 * copying to stdout.  Returns the lines seen. */
static int
read_lines(int fd, int want)
{
	char buf[65536];
	int seen = 0;

	while (seen < want) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;

		if (poll(&p, 1, 10000) <= 0)
			break;
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		fwrite(buf, 1, (size_t)n, stdout);
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] == '\n')
				seen++;
	}
	fflush(stdout);
	return seen;
}

int
main(int argc, char **argv)
{
	struct sockaddr_un sa;
	int fd, want = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: ctl-client SOCKET REQUEST...\n");
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(argv[1]) >= sizeof(sa.sun_path))
		return 1;
	strcpy(sa.sun_path, argv[1]);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, "ctl-client: %s: %s\n", argv[1], strerror(errno));
		return 3;
	}
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "-") == 0) {
			char buf[8192];
			ssize_t n;

			while ((n = read(0, buf, sizeof(buf))) > 0) {
				if (write_all(fd, buf, (size_t)n) != 0)
					return 1;
				for (ssize_t k = 0; k < n; k++)
					if (buf[k] == '\n')
						want++;
			}
			continue;
		}
		if (write_all(fd, argv[i], strlen(argv[i])) != 0 ||
		    write_all(fd, "\n", 1) != 0)
			return 1;
		want++;
	}
	shutdown(fd, SHUT_WR);
	if (read_lines(fd, want) != want)
		return 1;
	close(fd);
	return 0;
}
