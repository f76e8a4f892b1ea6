/* Preloaded into the daemon by tests/daemon/test-close-once.sh: reports
 * on stderr every close() of a descriptor that was not open.  A number
 * closed twice is one a second close takes from whoever opened it in
 * between (another thread's socket); the first close that finds nothing
 * there is what a test can see. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

int
close(int fd)
{
	static int (*real_close)(int);
	char line[96];
	int rc, err, n;

	if (real_close == NULL)
		real_close = (int (*)(int))dlsym(RTLD_NEXT, "close");
	if (real_close == NULL) {
		errno = ENOSYS;
		return -1;
	}
	rc = real_close(fd);
	err = errno;
	if (rc != 0 && err == EBADF && fd >= 0) {
		n = snprintf(line, sizeof line, "close-once: close(%d): not "
		    "open (closed twice?)\n", fd);
		if (write(STDERR_FILENO, line, (size_t)n) < 0)
			err = EBADF;
	}
	errno = err;
	return rc;
}
