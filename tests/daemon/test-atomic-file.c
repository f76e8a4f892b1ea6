/* Tests for src/common/atomic-file.c: new and replaced files, failures
 * leave no temporary file, and a reader racing a writer only ever sees
 * one whole version. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/atomic-file.h"
#include "common/util.h"
#include "tests/cu.h"

static char dir[] = "/tmp/test-atomic.XXXXXX";

/* Reads a whole file; returns its length or -1.  Caller frees *out. */
static long
slurp(const char *path, char **out)
{
	FILE *fp = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (fp == NULL)
		return -1;
	do {
		if (len == cap) {
			cap = cap ? cap * 2 : 4096;
			buf = xrealloc(buf, cap + 1);
		}
		n = fread(buf + len, 1, cap - len, fp);
		len += n;
	} while (n > 0);
	fclose(fp);
	buf[len] = '\0';
	*out = buf;
	return (long)len;
}

/* Number of entries in dir other than "." and "..". */
static int
count_entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void
test_create_and_replace(void)
{
	char *path, *got = NULL, *cause = NULL;
	struct stat st;

	xasprintf(&path, "%s/state.json", dir);
	CU_ASSERT_EQUAL(atomic_write_file(path, "first\n", 6, 0600, &cause), 0);
	CU_ASSERT_EQUAL(slurp(path, &got), 6);
	CU_ASSERT_STRING_EQUAL(got, "first\n");
	free(got);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);

	CU_ASSERT_EQUAL(atomic_write_file(path, "second, longer\n", 15, 0644,
	    &cause), 0);
	CU_ASSERT_EQUAL(slurp(path, &got), 15);
	CU_ASSERT_STRING_EQUAL(got, "second, longer\n");
	free(got);
	/* Only the file itself: no temporary left behind. */
	CU_ASSERT_EQUAL(count_entries(), 1);
	unlink(path);
	free(path);
}

static void
test_failures_leave_nothing(void)
{
	char *path, *cause = NULL;

	/* No such directory: the temporary file cannot even be made. */
	xasprintf(&path, "%s/missing/state.json", dir);
	errno = 0;
	CU_ASSERT_EQUAL(atomic_write_file(path, "x", 1, 0600, &cause), -1);
	CU_ASSERT_EQUAL(errno, ENOENT);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "cannot create"));
	free(cause);
	cause = NULL;
	free(path);

	/* The target is a directory: refused before anything is written. */
	xasprintf(&path, "%s/adir", dir);
	CU_ASSERT_EQUAL_FATAL(mkdir(path, 0700), 0);
	CU_ASSERT_EQUAL(atomic_write_file(path, "x", 1, 0600, &cause), -1);
	CU_ASSERT_EQUAL(errno, EEXIST);
	CU_ASSERT_PTR_NOT_NULL(cause != NULL ?
	    strstr(cause, "not a regular file") : NULL);
	free(cause);
	cause = NULL;
	CU_ASSERT_EQUAL(count_entries(), 1); /* just adir */
	rmdir(path);
	free(path);

	/* A special file (what --write-config /dev/null once destroyed) stays
	 * what it is: a FIFO stands in for the device. */
	xasprintf(&path, "%s/fifo", dir);
	CU_ASSERT_EQUAL_FATAL(mkfifo(path, 0600), 0);
	CU_ASSERT_EQUAL(atomic_write_file(path, "x", 1, 0600, &cause), -1);
	CU_ASSERT_EQUAL(errno, EEXIST);
	free(cause);
	{
		struct stat st;

		CU_ASSERT_EQUAL(lstat(path, &st), 0);
		CU_ASSERT_TRUE(S_ISFIFO(st.st_mode));
	}
	CU_ASSERT_EQUAL(count_entries(), 1); /* just the fifo */
	unlink(path);
	rmdir(path);
	free(path);
}

static void
test_reader_sees_whole_versions(void)
{
	enum { SIZE = 256 * 1024, ROUNDS = 40 };
	char *path, *a = xmalloc(SIZE), *b = xmalloc(SIZE);
	int torn = 0, reads = 0;
	pid_t child;

	memset(a, 'A', SIZE);
	memset(b, 'B', SIZE);
	xasprintf(&path, "%s/big", dir);
	CU_ASSERT_EQUAL_FATAL(atomic_write_file(path, a, SIZE, 0600, NULL), 0);

	/* The child rewrites the file ROUNDS times, alternating contents;
	 * the parent reads it meanwhile.  A plain write() in place would
	 * show mixed or short contents. */
	child = fork();
	CU_ASSERT_FATAL(child >= 0);
	if (child == 0) {
		for (int i = 0; i < ROUNDS; i++)
			if (atomic_write_file(path, i % 2 ? a : b, SIZE, 0600,
			    NULL) != 0)
				_exit(1);
		_exit(0);
	}
	for (;;) {
		char *got = NULL;
		long n = slurp(path, &got);
		int status;

		reads++;
		if (n != SIZE || (memcmp(got, a, SIZE) != 0 &&
		    memcmp(got, b, SIZE) != 0))
			torn++;
		free(got);
		if (waitpid(child, &status, WNOHANG) == child) {
			CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
			break;
		}
	}
	printf("(%d reads, %d torn) ", reads, torn);
	CU_ASSERT_EQUAL(torn, 0);
	CU_ASSERT_EQUAL(count_entries(), 1);
	unlink(path);
	free(path);
	free(a);
	free(b);
}

/* Creates the scratch directory. */
static int
setup(void)
{
	return mkdtemp(dir) != NULL ? 0 : -1;
}

/* Removes the scratch directory (empty by then). */
static int
teardown(void)
{
	return rmdir(dir);
}

int
main(void)
{
	static const struct cu_test tests[] = {
		{ "create and replace", test_create_and_replace },
		{ "failures leave nothing behind", test_failures_leave_nothing },
		{ "a reader sees whole versions only",
		  test_reader_sees_whole_versions },
		{ NULL, NULL },
	};
	static const struct cu_suite suites[] = {
		{ "atomic-file", setup, teardown, tests },
		{ NULL, NULL, NULL, NULL },
	};

	return cu_run(suites);
}
