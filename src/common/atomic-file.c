/* Atomic file replacement: temporary file, fsync, rename, fsync of the
 * directory. */
#include "common/atomic-file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"

/* Sets *cause to "STEP PATH: strerror(errno)" when cause is not NULL,
 * keeping errno. */
static void
set_cause(char **cause, const char *step, const char *path)
{
	int saved = errno;

	if (cause != NULL)
		xasprintf(cause, "%s %s: %s", step, path, strerror(saved));
	errno = saved;
}

/* Writes all of data to fd, retrying short writes and EINTR. */
static int
write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
atomic_write_file(const char *path, const void *data, size_t len,
    mode_t mode, char **cause)
{
	char *tmp, *dircopy, *dir;
	int fd, dfd, saved;
	struct stat st;

	/* Renaming over a device, a socket or a directory would destroy it
	 * (think --write-config /dev/null): only regular files are replaced. */
	if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		errno = EEXIST;
		if (cause != NULL)
			xasprintf(cause, "cannot replace %s: not a regular file",
			    path);
		return -1;
	}
	xasprintf(&tmp, "%s.tmp.XXXXXX", path);
	fd = mkstemp(tmp);
	if (fd >= 0)
		(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	if (fd < 0) {
		set_cause(cause, "cannot create", tmp);
		free(tmp);
		return -1;
	}
	{
		mode_t mask = umask(0);

		umask(mask);
		if (fchmod(fd, mode & ~mask) != 0) {
			set_cause(cause, "cannot chmod", tmp);
			goto fail;
		}
	}
	if (write_all(fd, data, len) != 0) {
		set_cause(cause, "cannot write", tmp);
		goto fail;
	}
	if (fsync(fd) != 0) {
		set_cause(cause, "cannot fsync", tmp);
		goto fail;
	}
	if (close(fd) != 0) {
		fd = -1;
		set_cause(cause, "cannot close", tmp);
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		set_cause(cause, "cannot rename to", path);
		goto fail;
	}
	free(tmp);

	/* The rename itself is durable once the directory is synced. */
	dircopy = xstrdup(path);
	dir = dirname(dircopy);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) != 0) {
		set_cause(cause, "cannot fsync directory", dir);
		saved = errno;
		if (dfd >= 0)
			close(dfd);
		free(dircopy);
		errno = saved;
		return -1;
	}
	close(dfd);
	free(dircopy);
	return 0;

fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(tmp);
	errno = saved;
	return -1;
}
