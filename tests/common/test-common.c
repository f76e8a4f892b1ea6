/* Tests for src/common: escaping of untrusted text, date-time parsing. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "tests/cu.h"

static void
test_escape_plain_and_control(void)
{
	char buf[64];
	const char in[] = "ok\n\"q\"\x01";

	log_escape(in, sizeof(in) - 1, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "ok\\x0a\\\"q\\\"\\x01");
}

static void
test_escape_truncates(void)
{
	char buf[10];
	const char in[] = "abcdefghijklmnop";

	log_escape(in, sizeof(in) - 1, buf, sizeof(buf));
	CU_ASSERT_EQUAL(strlen(buf), 9);
	CU_ASSERT_STRING_EQUAL(buf, "abcdef...");
}

static void
test_rfc3339_round_trip(void)
{
	int64_t ms = 0;
	char buf[32];

	CU_ASSERT_EQUAL(parse_rfc3339("2026-11-26T06:01:21.5Z", &ms), 0);
	CU_ASSERT_EQUAL(ms, 1795672881500LL);
	CU_ASSERT_STRING_EQUAL(format_rfc3339(ms, buf, sizeof(buf)),
	    "2026-11-26T06:01:21.500Z");
	CU_ASSERT_EQUAL(parse_rfc3339("2026-11-26T07:01:21+01:00", &ms), 0);
	CU_ASSERT_EQUAL(ms, 1795672881000LL);
}

static void
test_rfc3339_rejects_garbage(void)
{
	int64_t ms;

	CU_ASSERT_EQUAL(parse_rfc3339("2026-11-26", &ms), -1);
	CU_ASSERT_EQUAL(parse_rfc3339("2026-11-26T06:01:21", &ms), -1);
	CU_ASSERT_EQUAL(parse_rfc3339("2026-11-26T06:01:21Zjunk", &ms), -1);
	CU_ASSERT_EQUAL(parse_rfc3339("2026-11-26T06:01:21.Z", &ms), -1);
}

static void
test_debug_tokens(void)
{
	char *cause = NULL;

	CU_ASSERT_EQUAL(log_enable_tokens("sb,bogus", &cause), -1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "bogus"));
	free(cause);
	log_init("test", LOG_LEVEL_DEBUG, false);
	CU_ASSERT_TRUE(log_debug_enabled("sb"));
	CU_ASSERT_FALSE(log_debug_enabled("ocpp"));
}

static void
test_unlink_if_type(void)
{
	char dir[] = "/tmp/test-common-XXXXXX", path[64], link[64];
	struct stat st;
	FILE *f;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/file", dir);
	snprintf(link, sizeof(link), "%s/link", dir);
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fclose(f);
	/* A regular file where a socket was expected is left alone. */
	errno = 0;
	CU_ASSERT_EQUAL(unlink_if_type(path, S_IFSOCK), -1);
	CU_ASSERT_EQUAL(errno, EEXIST);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	/* A link is removed when a link is expected, not its target. */
	CU_ASSERT_EQUAL_FATAL(symlink(path, link), 0);
	CU_ASSERT_EQUAL(unlink_if_type(link, S_IFLNK), 0);
	CU_ASSERT_NOT_EQUAL(lstat(link, &st), 0);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	/* Nothing there is success. */
	CU_ASSERT_EQUAL(unlink_if_type(link, S_IFLNK), 0);
	unlink(path);
	rmdir(dir);
}

static const struct cu_test common_tests[] = {
	{ "unlink only the expected file type", test_unlink_if_type },
	{ "escape plain and control bytes", test_escape_plain_and_control },
	{ "escape truncates with ellipsis", test_escape_truncates },
	{ "rfc3339 round trip", test_rfc3339_round_trip },
	{ "rfc3339 rejects garbage", test_rfc3339_rejects_garbage },
	{ "debug tokens", test_debug_tokens },
	{ NULL, NULL },
};

int
main(void)
{
	const struct cu_suite suites[] = {
		{ "common", NULL, NULL, common_tests },
		{ NULL, NULL, NULL, NULL },
	};
	return cu_run(suites);
}
