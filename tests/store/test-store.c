/* Tests for src/store: refusing foreign/newer/corrupt files, migrations,
 * read-only and full storage, profiles, settings layering, transactions and
 * the queue (order, acknowledgements, id resolution, batching, bound). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "store/store-private.h"
#include "store/store.h"
#include "tests/cu.h"

static char tmpdir[256];
static int file_no;

/* A fresh database path in the test directory (static buffer). */
static const char *
fresh_path(void)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/t%d.db", tmpdir, ++file_no);
	return path;
}

/* nftw callback: removes one entry of the test directory. */
static int
rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	return remove(p);
}

/* Creates the suite's scratch directory under $TMPDIR or /tmp. */
static int
suite_init(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/store-test.XXXXXX",
	    base != NULL ? base : "/tmp");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

/* Removes the scratch directory and all it holds. */
static int
suite_cleanup(void)
{
	chmod(tmpdir, 0700);
	return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Reads a whole file into a malloc'd buffer; *len gets its size. */
static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = xmalloc((size_t)n + 1);
	*len = fread(buf, 1, (size_t)n, f);
	fclose(f);
	return buf;
}

/* Replaces path's content with len bytes of data. */
static void
write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(fwrite(data, 1, len, f), len);
	fclose(f);
}

/* Runs SQL on a plain SQLite connection (not through the store). */
static void
raw_exec(const char *path, const char *sql)
{
	sqlite3 *db;

	CU_ASSERT_EQUAL_FATAL(sqlite3_open(path, &db), SQLITE_OK);
	CU_ASSERT_EQUAL(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* One integer from a plain SQLite connection. */
static int64_t
raw_int(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *s;
	int64_t v = -12345;

	CU_ASSERT_EQUAL_FATAL(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY,
	    NULL), SQLITE_OK);
	CU_ASSERT_EQUAL_FATAL(sqlite3_prepare_v2(db, sql, -1, &s, NULL),
	    SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

/* Opens path with opt or fails the test. */
static struct store *
open_ok(const char *path, const struct store_options *opt)
{
	struct store *st = NULL;
	char *cause = NULL;
	int rc = store_open(path, opt, &st, &cause);

	if (rc != 0)
		fprintf(stderr, "store_open: %s\n", cause);
	free(cause);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	return st;
}

/* Builds a queue message on the stack. */
static struct store_msg
msg_of(enum store_msg_kind kind, const char *action, const char *payload,
    int connector, int64_t created_ms)
{
	struct store_msg m;

	memset(&m, 0, sizeof(m));
	m.kind = kind;
	snprintf(m.action, sizeof(m.action), "%s", action);
	m.payload = payload;
	m.connector = connector;
	m.created_ms = created_ms;
	return m;
}

/* ---- Opening and refusing. ---- */

static void
test_new_file_gets_schema(void)
{
	const char *path = fresh_path();
	struct store *st = open_ok(path, NULL);

	CU_ASSERT_EQUAL(store_opened_version(st), 0);
	CU_ASSERT_EQUAL(store_close(st), 0);
	CU_ASSERT_EQUAL(raw_int(path, "PRAGMA user_version"),
	    STORE_SCHEMA_VERSION);
	CU_ASSERT_EQUAL(raw_int(path, "PRAGMA application_id"),
	    STORE_APPLICATION_ID);
	/* WAL is a property of the file, kept after close. */
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM "
	    "pragma_journal_mode WHERE journal_mode = 'wal'"), 1);
	st = open_ok(path, NULL);
	CU_ASSERT_EQUAL(store_opened_version(st), STORE_SCHEMA_VERSION);
	/* The handle commits with synchronous=FULL (2). */
	{
		sqlite3_stmt *s;
		sqlite3_prepare_v2(store_sqlite(st), "PRAGMA synchronous", -1,
		    &s, NULL);
		CU_ASSERT_EQUAL(sqlite3_step(s), SQLITE_ROW);
		CU_ASSERT_EQUAL(sqlite3_column_int(s, 0), 2);
		sqlite3_finalize(s);
	}
	store_close(st);
}

/* Asserts that opening path fails with want, that the cause names the
 * path and that the file's bytes are unchanged. */
static void
assert_refused(const char *path, int want, const char *cause_has)
{
	struct store *st = NULL;
	char *cause = NULL, *before, *after;
	size_t n_before = 0, n_after = 0;
	int rc;

	before = slurp(path, &n_before);
	CU_ASSERT_PTR_NOT_NULL_FATAL(before);
	rc = store_open(path, NULL, &st, &cause);
	CU_ASSERT_EQUAL(rc, want);
	CU_ASSERT_PTR_NULL(st);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, path));
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, cause_has));
	after = slurp(path, &n_after);
	CU_ASSERT_PTR_NOT_NULL_FATAL(after);
	CU_ASSERT_EQUAL(n_before, n_after);
	CU_ASSERT(n_before == n_after && memcmp(before, after, n_after) == 0);
	free(before);
	free(after);
	free(cause);
	store_close(st);
}

static void
test_refuses_non_database(void)
{
	const char *path = fresh_path();
	char text[8192];

	/* 8 KiB of text: longer than SQLite's 100-byte header. */
	for (size_t i = 0; i < sizeof(text); i++)
		text[i] = (char)('a' + i % 26);
	write_file(path, text, sizeof(text));
	assert_refused(path, STORE_ERR_NOT_DATABASE, "not an SQLite database");
}

static void
test_refuses_foreign_database(void)
{
	const char *path = fresh_path();

	/* Application id 0 but tables of its own: someone else's file. */
	raw_exec(path, "PRAGMA journal_mode = DELETE;"
	    "CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT);"
	    "INSERT INTO photos (name) VALUES ('cat.jpg');");
	assert_refused(path, STORE_ERR_FOREIGN, "another application");

	path = fresh_path();
	raw_exec(path, "PRAGMA application_id = 305419896;"
	    "PRAGMA user_version = 1; CREATE TABLE x (a);");
	assert_refused(path, STORE_ERR_FOREIGN, "0x12345678");
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM x"), 0);
}

static void
test_refuses_newer_schema(void)
{
	const char *path = fresh_path();
	struct store *st = open_ok(path, NULL);

	store_close(st);
	raw_exec(path, "PRAGMA user_version = 99;");
	assert_refused(path, STORE_ERR_TOO_NEW, "schema version 99");
	CU_ASSERT_EQUAL(raw_int(path, "PRAGMA user_version"), 99);
}

static void
test_refuses_corrupt_file(void)
{
	const char *path = fresh_path();
	struct store *st = open_ok(path, NULL);
	char json[600], junk[4096];
	int fd;

	/* 200 profiles of ~600 bytes: about 30 pages of 4 KiB. */
	memset(json, 'x', sizeof(json) - 1);
	json[sizeof(json) - 1] = '\0';
	for (int i = 1; i <= 200; i++) {
		struct store_profile p = { i, 1, "TxDefaultProfile", i, NULL,
			json, 0, 0 };
		CU_ASSERT_EQUAL(store_profile_put(st, &p, NULL, NULL), 0);
	}
	store_close(st);
	CU_ASSERT(raw_int(path, "PRAGMA page_count") > 10);
	/* Checkpointed at close: scribble over page 3 (bytes 8192..12287). */
	memset(junk, 0xa5, sizeof(junk));
	fd = open(path, O_WRONLY);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(pwrite(fd, junk, sizeof(junk), 8192),
	    (ssize_t)sizeof(junk));
	close(fd);
	assert_refused(path, STORE_ERR_CORRUPT, "");
}

/* A zero-length file is an empty database: it gets the schema. */
static void
test_empty_file_is_new(void)
{
	const char *path = fresh_path();
	struct store *st;

	write_file(path, "", 0);
	st = open_ok(path, NULL);
	CU_ASSERT_EQUAL(store_opened_version(st), 0);
	store_close(st);
	CU_ASSERT_EQUAL(raw_int(path, "PRAGMA user_version"),
	    STORE_SCHEMA_VERSION);
}

static void
test_rejects_bad_options(void)
{
	struct store_options o = { -5, 0, 0 };
	struct store *st = NULL;
	char *cause = NULL;

	CU_ASSERT_EQUAL(store_open(fresh_path(), &o, &st, &cause),
	    STORE_ERR_INVALID);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "1..100000000"));
	free(cause);
	cause = NULL;
	o = (struct store_options){ 0, 0, 1000 };
	CU_ASSERT_EQUAL(store_open(fresh_path(), &o, &st, &cause),
	    STORE_ERR_INVALID);
	CU_ASSERT_PTR_NOT_NULL(cause != NULL ? strstr(cause, "65536") : NULL);
	free(cause);
	CU_ASSERT_PTR_NULL(st);
	CU_ASSERT_EQUAL(store_open("", NULL, &st, NULL), STORE_ERR_INVALID);
}

/* Every code has its own message (the enum switch has no default). */
static void
test_strerror(void)
{
	for (int c = STORE_ERR_INTERNAL; c <= 0; c++)
		CU_ASSERT_STRING_NOT_EQUAL(store_strerror(c),
		    "unknown store error");
	CU_ASSERT_STRING_EQUAL(store_strerror(-100), "unknown store error");
}

/* ---- Migrations. ---- */

static void
test_migrates_version_1(void)
{
	const char *path = fresh_path();
	struct store_queue_stats qs;
	struct store_msg m;
	struct store *st;
	sqlite3 *db;
	bool found;
	char *v = NULL;

	CU_ASSERT_EQUAL_FATAL(sqlite3_open(path, &db), SQLITE_OK);
	CU_ASSERT_EQUAL_FATAL(store_schema_create_version(db, 1, NULL), 0);
	CU_ASSERT_EQUAL(sqlite3_exec(db,
	    "INSERT INTO profiles VALUES (7, 0, 'ChargePointMaxProfile', 0, "
	    " NULL, '{\"a\":1}', 0, 0);"
	    "INSERT INTO settings VALUES ('AvailablePowerKw', '40', '50');"
	    "INSERT INTO transactions (ref, tx_id, connector, id_token, "
	    " meter_start_wh, state, started_ms) "
	    " VALUES (3, '', 2, 'TAG1', 1000, 0, 5);"
	    "INSERT INTO queue (id, kind, action, payload, connector, tx_ref, "
	    " created_ms) VALUES (11, 0, 'StartTransaction', '{}', 2, 3, 5);",
	    NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	CU_ASSERT_EQUAL(raw_int(path, "PRAGMA user_version"), 1);

	st = open_ok(path, NULL);
	CU_ASSERT_EQUAL(store_opened_version(st), 1);
	CU_ASSERT_EQUAL(store_queue_peek(st, &m, &found, NULL), 0);
	CU_ASSERT_TRUE_FATAL(found);
	CU_ASSERT_EQUAL(m.id, 11);
	CU_ASSERT_EQUAL(m.connector, 2);
	CU_ASSERT_STRING_EQUAL(m.action, "StartTransaction");
	store_queue_stats(st, &qs);
	CU_ASSERT_EQUAL(qs.committed, 1);
	CU_ASSERT_EQUAL(qs.dropped, 0);
	CU_ASSERT_EQUAL(store_setting_get(st, "AvailablePowerKw", "50", &v,
	    NULL, NULL), 0);
	CU_ASSERT_STRING_EQUAL(v, "40");
	free(v);
	/* New ids continue after the migrated ones. */
	{
		struct store_msg n = msg_of(STORE_MSG_OTHER, "StatusNotification",
		    "{}", 0, 6);
		int64_t id = 0;
		CU_ASSERT_EQUAL(store_enqueue(st, &n, 0, &id, NULL), 0);
		CU_ASSERT_EQUAL(id, 12);
	}
	store_close(st);
	CU_ASSERT_EQUAL(raw_int(path, "PRAGMA user_version"),
	    STORE_SCHEMA_VERSION);
	CU_ASSERT_EQUAL(raw_int(path, "SELECT value FROM counters WHERE "
	    "name = 'queue_dropped'"), 0);
}

/* Version 3 -> 4: the unused transactions table and the queue's tx_ref
 * and seq_no columns go; the open transactions (the session's connector
 * records), the queue, profiles, settings and history stay as they were. */
static void
test_migrates_version_3(void)
{
	static const char rec[] = "{\"status\":\"Charging\",\"token\":"
	    "\"TAG-0001\",\"wh\":12500.0,\"seen\":1764750000000,\"tx\":7,"
	    "\"txtoken\":\"TAG-0001\",\"central\":false,\"type\":\"ISO14443\","
	    "\"txwh\":12000.0}";
	char path[512];
	struct store_msg m;
	struct store *st;
	sqlite3 *db;
	bool found;
	char *v = NULL;

	snprintf(path, sizeof(path), "%s", fresh_path());
	CU_ASSERT_EQUAL_FATAL(sqlite3_open(path, &db), SQLITE_OK);
	CU_ASSERT_EQUAL_FATAL(store_schema_create_version(db, 3, NULL), 0);
	CU_ASSERT_EQUAL(sqlite3_exec(db,
	    "INSERT INTO profiles VALUES (9, 1, 'TxProfile', 1, '7', "
	    " '{\"b\":2}', 0, 0);"
	    "INSERT INTO settings VALUES ('ocpp.state.run', 'running', NULL);"
	    "INSERT INTO settings VALUES ('ocpp.state.tx16.id.7', '4711', "
	    " NULL);"
	    "INSERT INTO queue (id, kind, action, payload, connector, "
	    " created_ms, seq_no) VALUES (20, 3, 'MeterValues', '{\"v\":1}', "
	    " 1, 5, -1);"
	    "INSERT INTO queue (id, kind, action, payload, connector, "
	    " created_ms) VALUES (21, 1, 'StopTransaction', '{\"s\":1}', 2, 6);"
	    "INSERT INTO history_site VALUES (1000, 2000, 22000, 21000);"
	    "UPDATE counters SET value = 3 WHERE name = 'queue_dropped';",
	    NULL, NULL, NULL), SQLITE_OK);
	{
		sqlite3_stmt *q;
		CU_ASSERT_EQUAL_FATAL(sqlite3_prepare_v2(db, "INSERT INTO "
		    "settings VALUES ('ocpp.state.tx16.c1', ?1, NULL)", -1, &q,
		    NULL), SQLITE_OK);
		sqlite3_bind_text(q, 1, rec, -1, SQLITE_STATIC);
		CU_ASSERT_EQUAL(sqlite3_step(q), SQLITE_DONE);
		sqlite3_finalize(q);
	}
	sqlite3_close(db);

	st = open_ok(path, NULL);
	CU_ASSERT_EQUAL(store_opened_version(st), 3);
	/* The open transaction and its backend id, byte for byte. */
	CU_ASSERT_EQUAL(store_setting_get(st, "ocpp.state.tx16.c1", NULL, &v,
	    NULL, NULL), 0);
	CU_ASSERT_STRING_EQUAL(v != NULL ? v : "", rec);
	free(v);
	v = NULL;
	CU_ASSERT_EQUAL(store_setting_get(st, "ocpp.state.tx16.id.7", NULL, &v,
	    NULL, NULL), 0);
	CU_ASSERT_STRING_EQUAL(v != NULL ? v : "", "4711");
	free(v);
	/* The queue in order, with its drop counter. */
	CU_ASSERT_EQUAL(store_queue_peek(st, &m, &found, NULL), 0);
	CU_ASSERT_TRUE_FATAL(found);
	CU_ASSERT_EQUAL(m.id, 20);
	CU_ASSERT_EQUAL(m.kind, STORE_MSG_METER);
	CU_ASSERT_EQUAL(store_queue_ack_with_state(st, 20, NULL, NULL, NULL), 0);
	CU_ASSERT_EQUAL(store_queue_peek(st, &m, &found, NULL), 0);
	CU_ASSERT_EQUAL(m.id, 21);
	CU_ASSERT_EQUAL(m.connector, 2);
	CU_ASSERT_STRING_EQUAL(m.payload, "{\"s\":1}");
	{
		struct store_queue_stats qs;
		store_queue_stats(st, &qs);
		CU_ASSERT_EQUAL(qs.committed, 1);
		CU_ASSERT_EQUAL(qs.dropped, 3);
	}
	CU_ASSERT_EQUAL(store_close(st), 0);
	CU_ASSERT_EQUAL(raw_int(path, "PRAGMA user_version"), 4);
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM sqlite_schema "
	    "WHERE name IN ('transactions', 'queue_tx')"), 0);
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM "
	    "pragma_table_info('queue') WHERE name IN ('tx_ref', 'seq_no')"),
	    0);
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM profiles WHERE "
	    "tx_id = '7'"), 1);
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM history_site"), 1);
	/* A new store has exactly the migrated schema. */
	{
		const char *fresh = fresh_path();
		st = open_ok(fresh, NULL);
		store_close(st);
		CU_ASSERT_EQUAL(raw_int(fresh, "SELECT count(*) FROM "
		    "pragma_table_info('queue')"), raw_int(path, "SELECT "
		    "count(*) FROM pragma_table_info('queue')"));
		CU_ASSERT_EQUAL(raw_int(fresh, "SELECT count(*) FROM "
		    "sqlite_schema"), raw_int(path, "SELECT count(*) FROM "
		    "sqlite_schema"));
	}
}

/* ---- Read-only directory and full disk. ---- */

/* In a child that is not root (drops to nobody when root), tries to open
 * a database in a read-only directory, and a read-only file in a writable
 * directory.  Exit status: 0 = both refused with STORE_ERR_READONLY. */
static int
readonly_child(const char *rodir, const char *rofile, const char *indir)
{
	struct store *st = NULL;
	char path[600], *cause = NULL;
	int rc;

	if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
		return 77;
	snprintf(path, sizeof(path), "%s/new.db", rodir);
	rc = store_open(path, NULL, &st, &cause);
	if (rc != STORE_ERR_READONLY || st != NULL || cause == NULL ||
	    strstr(cause, "not writable") == NULL) {
		fprintf(stderr, "read-only dir: rc %d (%s)\n", rc,
		    cause != NULL ? cause : "");
		return 1;
	}
	free(cause);
	cause = NULL;
	rc = store_open(rofile, NULL, &st, &cause);
	if (rc != STORE_ERR_READONLY || st != NULL || cause == NULL ||
	    strstr(cause, "not writable") == NULL) {
		fprintf(stderr, "read-only file: rc %d (%s)\n", rc,
		    cause != NULL ? cause : "");
		return 2;
	}
	free(cause);
	cause = NULL;
	/* A writable file in a read-only directory: WAL needs its -wal and
	 * -shm files next to it. */
	rc = store_open(indir, NULL, &st, &cause);
	if (rc != STORE_ERR_READONLY || st != NULL || cause == NULL ||
	    strstr(cause, "not writable") == NULL) {
		fprintf(stderr, "file in read-only dir: rc %d (%s)\n", rc,
		    cause != NULL ? cause : "");
		store_close(st);
		return 4;
	}
	free(cause);
	return access(path, F_OK) == 0 ? 3 : 0;
}

static void
test_readonly_directory(void)
{
	char rodir[300], rwdir[300], rofile[400], indir[400];
	struct store *st;
	pid_t pid;
	int status;

	snprintf(rodir, sizeof(rodir), "%s/ro", tmpdir);
	snprintf(rwdir, sizeof(rwdir), "%s/rw", tmpdir);
	CU_ASSERT_EQUAL_FATAL(mkdir(rodir, 0555), 0);
	CU_ASSERT_EQUAL_FATAL(mkdir(rwdir, 0777), 0);
	chmod(rodir, 0555);
	chmod(rwdir, 0777);
	chmod(tmpdir, 0755);
	snprintf(rofile, sizeof(rofile), "%s/ro.db", rwdir);
	st = open_ok(rofile, NULL);
	store_close(st);
	CU_ASSERT_EQUAL(chmod(rofile, 0444), 0);
	snprintf(indir, sizeof(indir), "%s/in.db", rodir);
	chmod(rodir, 0755);
	st = open_ok(indir, NULL);
	store_close(st);
	CU_ASSERT_EQUAL(chmod(indir, 0666), 0);
	CU_ASSERT_EQUAL(chmod(rodir, 0555), 0);
	fflush(NULL);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0)
		_exit(readonly_child(rodir, rofile, indir));
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT_TRUE(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		fprintf(stderr, "read-only test: cannot drop privileges\n");
	else
		CU_ASSERT_EQUAL(WEXITSTATUS(status), 0);
	chmod(tmpdir, 0700);
}

static void
test_full_disk_is_an_error(void)
{
	const char *path = fresh_path();
	struct store_options o = { 0, 0, 65536 }; /* 16 pages of 4 KiB */
	struct store_queue_stats qs;
	struct store *st = open_ok(path, &o);
	char payload[1500], *cause = NULL;
	int rc = 0, ok = 0;
	struct store_msg m;
	bool found;

	memset(payload, 'p', sizeof(payload) - 1);
	payload[sizeof(payload) - 1] = '\0';
	/* 16 pages hold well under 100 messages of 1.5 KB. */
	for (int i = 0; i < 100 && rc == 0; i++) {
		struct store_msg tm = msg_of(STORE_MSG_OTHER, "DataTransfer",
		    payload, 0, i);
		rc = store_enqueue(st, &tm, i, NULL, &cause);
		if (rc == 0)
			ok++;
	}
	CU_ASSERT_EQUAL(rc, STORE_ERR_FULL);
	CU_ASSERT_PTR_NOT_NULL(cause);
	free(cause);
	CU_ASSERT(ok > 5 && ok < 100);
	store_queue_stats(st, &qs);
	CU_ASSERT_EQUAL(qs.committed, ok);
	/* Still usable: acknowledging frees room, and the next one fits. */
	CU_ASSERT_EQUAL(store_queue_peek(st, &m, &found, NULL), 0);
	CU_ASSERT_TRUE(found);
	CU_ASSERT_EQUAL(store_queue_ack_with_state(st, m.id, NULL, NULL, NULL), 0);
	store_close(st);
	st = open_ok(path, NULL);
	store_queue_stats(st, &qs);
	CU_ASSERT_EQUAL(qs.committed, ok - 1);
	store_close(st);
}

/* Meter values that cannot be committed stay in memory, bounded. */
static void
test_full_disk_meter_buffer_bounded(void)
{
	const char *path = fresh_path();
	struct store_options o = { 0, 0, 65536 };
	struct store_queue_stats qs;
	struct store *st = open_ok(path, &o);
	char payload[1500];
	int rc = 0, ok = 0, full = 0;

	memset(payload, 'p', sizeof(payload) - 1);
	payload[sizeof(payload) - 1] = '\0';
	for (int i = 0; i < 100 && rc == 0; i++) {
		struct store_msg tm = msg_of(STORE_MSG_OTHER, "DataTransfer",
		    payload, 0, i);
		rc = store_enqueue(st, &tm, 0, NULL, NULL);
		ok += rc == 0;
	}
	CU_ASSERT_EQUAL_FATAL(rc, STORE_ERR_FULL);
	/* STORE_PENDING_MAX + 10 samples of 1.5 KB at t = 5000: the first
	 * commit attempt fails, the others within the second do not retry;
	 * the buffer keeps the newest STORE_PENDING_MAX, 10 are dropped. */
	for (int i = 0; i < STORE_PENDING_MAX + 10; i++) {
		struct store_msg mv = msg_of(STORE_MSG_METER, "MeterValues",
		    payload, 1, i);
		rc = store_enqueue(st, &mv, 5000, NULL, NULL);
		full += rc == STORE_ERR_FULL;
		CU_ASSERT(rc == 0 || rc == STORE_ERR_FULL);
	}
	CU_ASSERT_EQUAL(full, 1);
	store_queue_stats(st, &qs);
	CU_ASSERT_EQUAL(qs.buffered, STORE_PENDING_MAX);
	CU_ASSERT_EQUAL(qs.dropped, 10);
	CU_ASSERT_EQUAL(qs.committed, ok);
	/* One second later the timer's flush retries and reports again. */
	CU_ASSERT_EQUAL(store_flush(st, 5999, false, NULL), 0);
	CU_ASSERT_EQUAL(store_flush(st, 6000, false, NULL), STORE_ERR_FULL);
	/* Close cannot write them either: it says so. */
	CU_ASSERT_EQUAL(store_close(st), STORE_ERR_FULL);
	st = open_ok(path, NULL);
	store_queue_stats(st, &qs);
	CU_ASSERT_EQUAL(qs.committed, ok);
	store_close(st);
}

/* Another process holding the write lock: an error after a short wait. */
static void
test_locked_by_another_is_busy(void)
{
	const char *path = fresh_path();
	struct store *st = open_ok(path, NULL);
	struct store_queue_stats qs;
	struct store_msg m = msg_of(STORE_MSG_OTHER, "Heartbeat", "{}", 0, 0);
	char *cause = NULL;
	sqlite3 *other;

	CU_ASSERT_EQUAL_FATAL(sqlite3_open(path, &other), SQLITE_OK);
	CU_ASSERT_EQUAL_FATAL(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL,
	    NULL, NULL), SQLITE_OK);
	CU_ASSERT_EQUAL(store_enqueue(st, &m, 0, NULL, &cause),
	    STORE_ERR_BUSY);
	CU_ASSERT_PTR_NOT_NULL(cause);
	free(cause);
	store_queue_stats(st, &qs);
	CU_ASSERT_EQUAL(qs.committed, 0);
	sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(other);
	/* Once released, the same call works. */
	CU_ASSERT_EQUAL(store_enqueue(st, &m, 0, NULL, NULL), 0);
	store_queue_stats(st, &qs);
	CU_ASSERT_EQUAL(qs.committed, 1);
	store_close(st);
}

/* ---- Profiles. ---- */

struct profile_seen {
	int n;
	int64_t ids[16];
	char json[16][64];
};

/* foreach callback: records the ids and JSON of the profiles seen. */
static int
collect_profile(const struct store_profile *p, void *arg)
{
	struct profile_seen *s = arg;

	if (s->n < 16) {
		s->ids[s->n] = p->id;
		snprintf(s->json[s->n], sizeof(s->json[0]), "%s", p->json);
	}
	s->n++;
	return 0;
}

static void
test_profiles_put_unchanged_not_rewritten(void)
{
	const char *path = fresh_path();
	struct store *st = open_ok(path, NULL);
	struct store_profile p = { 101, 1, "TxDefaultProfile", 2, NULL,
		"{\"chargingProfileId\":101}", 1000, 0 };
	struct store_queue_stats before, after;
	int changes;
	bool changed = false;

	CU_ASSERT_EQUAL(store_profile_put(st, &p, &changed, NULL), 0);
	CU_ASSERT_TRUE(changed);
	changes = sqlite3_total_changes(store_sqlite(st));
	store_queue_stats(st, &before);
	/* The very same profile again: nothing is written. */
	CU_ASSERT_EQUAL(store_profile_put(st, &p, &changed, NULL), 0);
	CU_ASSERT_FALSE(changed);
	CU_ASSERT_EQUAL(sqlite3_total_changes(store_sqlite(st)), changes);
	store_queue_stats(st, &after);
	CU_ASSERT_EQUAL(after.commits, before.commits);
	/* One field differs (valid_to): rewritten, one row changed. */
	p.valid_to_ms = 5000;
	CU_ASSERT_EQUAL(store_profile_put(st, &p, &changed, NULL), 0);
	CU_ASSERT_TRUE(changed);
	CU_ASSERT(sqlite3_total_changes(store_sqlite(st)) > changes);
	/* tx_id NULL vs "" are different profiles too. */
	changes = sqlite3_total_changes(store_sqlite(st));
	p.tx_id = "";
	CU_ASSERT_EQUAL(store_profile_put(st, &p, &changed, NULL), 0);
	CU_ASSERT_TRUE(changed);
	CU_ASSERT_EQUAL(store_profile_put(st, &p, &changed, NULL), 0);
	CU_ASSERT_FALSE(changed);
	CU_ASSERT_EQUAL(sqlite3_total_changes(store_sqlite(st)), changes + 1);
	store_close(st);
}

static void
test_profiles_delete_and_reload(void)
{
	const char *path = fresh_path();
	struct store *st = open_ok(path, NULL);
	struct store_profile_filter f;
	struct profile_seen seen;
	int deleted = -1;
	char *cause = NULL;
	struct store_profile ps[] = {
		{ 1, 0, "ChargePointMaxProfile", 0, NULL, "{\"id\":1}", 0, 0 },
		{ 2, 1, "TxDefaultProfile", 0, NULL, "{\"id\":2}", 0, 0 },
		{ 3, 1, "TxDefaultProfile", 1, NULL, "{\"id\":3}", 0, 0 },
		{ 4, 2, "TxDefaultProfile", 1, NULL, "{\"id\":4}", 0, 0 },
		{ 5, 2, "TxProfile", 0, "77", "{\"id\":5}", 0, 0 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(ps); i++)
		CU_ASSERT_EQUAL(store_profile_put(st, &ps[i], NULL, NULL), 0);
	/* Bad input names the valid range. */
	ps[0].stack_level = -1;
	CU_ASSERT_EQUAL(store_profile_put(st, &ps[0], NULL, &cause),
	    STORE_ERR_INVALID);
	CU_ASSERT_PTR_NOT_NULL(cause != NULL ? strstr(cause, ">= 0") : NULL);
	free(cause);
	store_close(st);

	/* Reload at start: ordered by connector, purpose, stack level:
	 * (0,CPMax,0)=1, (1,TxDef,0)=2, (1,TxDef,1)=3, (2,TxDef,1)=4,
	 * (2,TxProfile,0)=5. */
	st = open_ok(path, NULL);
	memset(&seen, 0, sizeof(seen));
	CU_ASSERT_EQUAL(store_profile_foreach(st, collect_profile, &seen,
	    NULL), 0);
	CU_ASSERT_EQUAL_FATAL(seen.n, 5);
	for (int i = 0; i < 5; i++)
		CU_ASSERT_EQUAL(seen.ids[i], i + 1);
	CU_ASSERT_STRING_EQUAL(seen.json[4], "{\"id\":5}");

	/* By id: 3 goes, deleting it again finds nothing. */
	CU_ASSERT_EQUAL(store_profile_delete(st, 3, &deleted, NULL), 0);
	CU_ASSERT_EQUAL(deleted, 1);
	CU_ASSERT_EQUAL(store_profile_delete(st, 3, &deleted, NULL), 0);
	CU_ASSERT_EQUAL(deleted, 0);
	/* Purpose TxDefaultProfile, any connector, stack level 1: only 4
	 * (3 is gone). */
	f = (struct store_profile_filter){ -1, "TxDefaultProfile", 1 };
	CU_ASSERT_EQUAL(store_profile_delete_matching(st, &f, &deleted, NULL),
	    0);
	CU_ASSERT_EQUAL(deleted, 1);
	/* Connector 2, any purpose, any level: 5. */
	f = (struct store_profile_filter){ 2, NULL, -1 };
	CU_ASSERT_EQUAL(store_profile_delete_matching(st, &f, &deleted, NULL),
	    0);
	CU_ASSERT_EQUAL(deleted, 1);
	memset(&seen, 0, sizeof(seen));
	CU_ASSERT_EQUAL(store_profile_foreach(st, collect_profile, &seen,
	    NULL), 0);
	CU_ASSERT_EQUAL(seen.n, 2);
	CU_ASSERT_EQUAL(seen.ids[0], 1);
	CU_ASSERT_EQUAL(seen.ids[1], 2);
	/* Everything. */
	f = (struct store_profile_filter){ -1, NULL, -1 };
	CU_ASSERT_EQUAL(store_profile_delete_matching(st, &f, &deleted, NULL),
	    0);
	CU_ASSERT_EQUAL(deleted, 2);
	store_close(st);
}

/* The connection's PRAGMA synchronous (2 = FULL, 1 = NORMAL). */
static int
sync_mode(struct store *st)
{
	sqlite3_stmt *s;
	int v = -1;

	CU_ASSERT_EQUAL_FATAL(sqlite3_prepare_v2(store_sqlite(st),
	    "PRAGMA synchronous", -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* Size of path's WAL file in bytes (0 when absent). */
static int64_t
wal_bytes(const char *path)
{
	char wal[600];
	struct stat sb;

	snprintf(wal, sizeof(wal), "%s-wal", path);
	return stat(wal, &sb) == 0 ? (int64_t)sb.st_size : 0;
}

static void
test_profiles_synced_by_the_thread(void)
{
	const char *path = fresh_path();
	struct store *st = open_ok(path, NULL);
	struct store_profile p = { 7, 0, "ChargePointMaxProfile", 0, NULL,
		NULL, 0, 0 };
	struct store_sync_stats a, b;
	struct store_msg m;
	char *json = xmalloc(4096);
	int64_t wal;
	bool changed = true;

	/* A put does not wait for the sync: the thread makes it. */
	p.json = "{\"id\":7}";
	CU_ASSERT_EQUAL(store_profile_put(st, &p, NULL, NULL), 0);
	CU_ASSERT_EQUAL(sync_mode(st), 1);
	store_sync_wait(st);
	store_sync_stats(st, &a);
	CU_ASSERT_EQUAL(a.pending, 0);
	CU_ASSERT(a.syncs >= 1);
	CU_ASSERT_EQUAL(a.failures, 0);
	/* The same profile again writes nothing: no WAL frame, no sync. */
	wal = wal_bytes(path);
	CU_ASSERT_EQUAL(store_profile_put(st, &p, &changed, NULL), 0);
	CU_ASSERT_FALSE(changed);
	CU_ASSERT_EQUAL(wal_bytes(path), wal);
	store_sync_stats(st, &b);
	CU_ASSERT_EQUAL(b.pending, 0);
	CU_ASSERT_EQUAL(b.syncs, a.syncs);
	CU_ASSERT_EQUAL(store_profile_delete(st, 7, NULL, NULL), 0);
	CU_ASSERT_EQUAL(sync_mode(st), 1);
	store_sync_wait(st);
	store_sync_stats(st, &b);
	CU_ASSERT_EQUAL(b.pending, 0);
	CU_ASSERT(b.syncs > a.syncs);
	/* A transaction message syncs before it returns: nothing asked of
	 * the thread. */
	m = msg_of(STORE_MSG_TX_START, "StartTransaction", "{}", 1, 1);
	CU_ASSERT_EQUAL(store_enqueue(st, &m, 0, NULL, NULL), 0);
	CU_ASSERT_EQUAL(sync_mode(st), 2);
	store_sync_wait(st);
	store_sync_stats(st, &a);
	CU_ASSERT_EQUAL(a.syncs, b.syncs);
	/* So does a setting written after a profile. */
	CU_ASSERT_EQUAL(store_profile_put(st, &p, NULL, NULL), 0);
	CU_ASSERT_EQUAL(store_setting_set(st, "k", "v", NULL, NULL), 0);
	CU_ASSERT_EQUAL(sync_mode(st), 2);

	/* The WAL is checkpointed by the thread (the main connection's own
	 * automatic checkpoints are off): 3000 puts of 4 KB profiles, about
	 * 9000 pages without checkpoints, stay within a few thousand. */
	memset(json, 'x', 4095);
	json[0] = '"';
	json[4094] = '"';
	json[4095] = '\0';
	p.json = json;
	for (int i = 0; i < 3000; i++) {
		p.id = i % 50;
		p.stack_level = i;
		CU_ASSERT_EQUAL(store_profile_put(st, &p, NULL, NULL), 0);
		if (i % 500 == 499)
			store_sync_wait(st);
	}
	CU_ASSERT(wal_bytes(path) < 4000 * 4096);
	CU_ASSERT(wal_bytes(path) > 0);
	free(json);
	CU_ASSERT_EQUAL(store_close(st), 0);
	/* The last connection closed: the WAL went back into the file. */
	CU_ASSERT_EQUAL(wal_bytes(path), 0);
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM profiles"), 50);
}

/* ---- Settings layered over the file. ---- */

static void
test_settings_layering(void)
{
	const char *path = fresh_path();
	struct store *st = open_ok(path, NULL);
	enum store_setting_source src;
	struct store_kv file1[] = {
		{ "AvailablePowerKw", "50" }, { "ReservePercent", "10" },
	};
	struct store_kv file2[] = {
		{ "AvailablePowerKw", "60" }, { "ReservePercent", "10" },
	};
	struct store_kv file3[] = {
		{ "AvailablePowerKw", "60" }, { "ReservePercent", "10" },
		{ "HeartbeatInterval", "300" },
	};
	char *v = NULL;
	int dropped = -1;

	/* The backend sets two options while the file says 50 / (not set). */
	CU_ASSERT_EQUAL(store_setting_set(st, "AvailablePowerKw", "40", "50",
	    NULL), 0);
	CU_ASSERT_EQUAL(store_setting_set(st, "HeartbeatInterval", "120",
	    NULL, NULL), 0);
	CU_ASSERT_EQUAL(store_setting_get(st, "AvailablePowerKw", "50", &v,
	    &src, NULL), 0);
	CU_ASSERT_STRING_EQUAL(v, "40");
	CU_ASSERT_EQUAL(src, STORE_SETTING_BACKEND);
	free(v);
	/* An option the backend never set: the file's value. */
	CU_ASSERT_EQUAL(store_setting_get(st, "ReservePercent", "10", &v,
	    &src, NULL), 0);
	CU_ASSERT_STRING_EQUAL(v, "10");
	CU_ASSERT_EQUAL(src, STORE_SETTING_FILE);
	free(v);
	store_close(st);

	/* Restart, file unchanged: both overrides survive. */
	st = open_ok(path, NULL);
	CU_ASSERT_EQUAL(store_settings_reconcile(st, file1,
	    ARRAY_SIZE(file1), &dropped, NULL), 0);
	CU_ASSERT_EQUAL(dropped, 0);
	CU_ASSERT_EQUAL(store_setting_get(st, "HeartbeatInterval", NULL, &v,
	    &src, NULL), 0);
	CU_ASSERT_STRING_EQUAL(v, "120");
	free(v);
	store_close(st);

	/* The installer edits AvailablePowerKw to 60: the file wins. */
	st = open_ok(path, NULL);
	CU_ASSERT_EQUAL(store_settings_reconcile(st, file2,
	    ARRAY_SIZE(file2), &dropped, NULL), 0);
	CU_ASSERT_EQUAL(dropped, 1);
	CU_ASSERT_EQUAL(store_setting_get(st, "AvailablePowerKw", "60", &v,
	    &src, NULL), 0);
	CU_ASSERT_STRING_EQUAL(v, "60");
	CU_ASSERT_EQUAL(src, STORE_SETTING_FILE);
	free(v);
	/* The backend changes it again later: it wins over 60 now. */
	CU_ASSERT_EQUAL(store_setting_set(st, "AvailablePowerKw", "45", "60",
	    NULL), 0);
	CU_ASSERT_EQUAL(store_setting_get(st, "AvailablePowerKw", "60", &v,
	    &src, NULL), 0);
	CU_ASSERT_STRING_EQUAL(v, "45");
	free(v);
	store_close(st);

	/* The file starts setting HeartbeatInterval: that override goes. */
	st = open_ok(path, NULL);
	CU_ASSERT_EQUAL(store_settings_reconcile(st, file3,
	    ARRAY_SIZE(file3), &dropped, NULL), 0);
	CU_ASSERT_EQUAL(dropped, 1);
	CU_ASSERT_EQUAL(store_setting_get(st, "HeartbeatInterval", "300", &v,
	    &src, NULL), 0);
	CU_ASSERT_STRING_EQUAL(v, "300");
	free(v);
	CU_ASSERT_EQUAL(store_setting_get(st, "AvailablePowerKw", "60", &v,
	    &src, NULL), 0);
	CU_ASSERT_STRING_EQUAL(v, "45");
	free(v);
	/* Clearing returns to the file; unknown with no file value: NULL. */
	CU_ASSERT_EQUAL(store_setting_clear(st, "AvailablePowerKw", NULL), 0);
	CU_ASSERT_EQUAL(store_setting_get(st, "AvailablePowerKw", "60", &v,
	    &src, NULL), 0);
	CU_ASSERT_STRING_EQUAL(v, "60");
	free(v);
	CU_ASSERT_EQUAL(store_setting_get(st, "Nope", NULL, &v, &src, NULL), 0);
	CU_ASSERT_PTR_NULL(v);
	store_close(st);
}

/* ---- Queue: order, acknowledgements, attempts. ---- */

static void
test_queue_order_and_ack(void)
{
	const char *path = fresh_path();
	struct store *st = open_ok(path, NULL);
	struct store_msg m;
	int64_t ids[3];
	bool found;
	char payload[3][32];

	for (int i = 0; i < 3; i++) {
		snprintf(payload[i], sizeof(payload[i]), "{\"n\":%d}", i);
		m = msg_of(STORE_MSG_OTHER, "StatusNotification", payload[i],
		    i, 100 + i);
		CU_ASSERT_EQUAL(store_enqueue(st, &m, 0, &ids[i], NULL), 0);
	}
	CU_ASSERT(ids[0] < ids[1] && ids[1] < ids[2]);
	/* Peek twice: the same head until it is acknowledged. */
	CU_ASSERT_EQUAL(store_queue_peek(st, &m, &found, NULL), 0);
	CU_ASSERT_EQUAL(m.id, ids[0]);
	CU_ASSERT_EQUAL(store_queue_attempt(st, m.id, NULL), 0);
	CU_ASSERT_EQUAL(store_queue_attempt(st, m.id, NULL), 0);
	CU_ASSERT_EQUAL(store_queue_peek(st, &m, &found, NULL), 0);
	CU_ASSERT_EQUAL(m.id, ids[0]);
	CU_ASSERT_EQUAL(m.attempts, 2);
	CU_ASSERT_STRING_EQUAL(m.payload, "{\"n\":0}");
	CU_ASSERT_EQUAL(m.created_ms, 100);
	CU_ASSERT_EQUAL(store_queue_ack_with_state(st, ids[0], NULL, NULL, NULL), 0);
	CU_ASSERT_EQUAL(store_queue_ack_with_state(st, ids[0], NULL, NULL, NULL),
	    STORE_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(store_queue_attempt(st, ids[0], NULL),
	    STORE_ERR_NOT_FOUND);
	store_close(st);
	/* After a restart: 1 then 2, and acknowledging the last one does not
	 * let a new message reuse its id. */
	st = open_ok(path, NULL);
	CU_ASSERT_EQUAL(store_queue_peek(st, &m, &found, NULL), 0);
	CU_ASSERT_EQUAL(m.id, ids[1]);
	CU_ASSERT_EQUAL(m.connector, 1);
	CU_ASSERT_EQUAL(store_queue_ack_with_state(st, ids[1], NULL, NULL, NULL), 0);
	CU_ASSERT_EQUAL(store_queue_ack_with_state(st, ids[2], NULL, NULL, NULL), 0);
	CU_ASSERT_EQUAL(store_queue_peek(st, &m, &found, NULL), 0);
	CU_ASSERT_FALSE(found);
	store_close(st);
	st = open_ok(path, NULL);
	m = msg_of(STORE_MSG_OTHER, "Heartbeat", "{}", 0, 1);
	CU_ASSERT_EQUAL(store_enqueue(st, &m, 0, &ids[0], NULL), 0);
	CU_ASSERT_EQUAL(ids[0], ids[2] + 1);
	/* Bad input. */
	m.connector = -1;
	CU_ASSERT_EQUAL(store_enqueue(st, &m, 0, NULL, NULL),
	    STORE_ERR_INVALID);
	m = msg_of(STORE_MSG_OTHER, "", "{}", 0, 1);
	CU_ASSERT_EQUAL(store_enqueue(st, &m, 0, NULL, NULL),
	    STORE_ERR_INVALID);
	m = msg_of((enum store_msg_kind)9, "X", "{}", 0, 1);
	CU_ASSERT_EQUAL(store_enqueue(st, &m, 0, NULL, NULL),
	    STORE_ERR_INVALID);
	store_close(st);
}

/* A buffered meter value is the head once the committed ones are gone: it
 * is sent without waiting for its flush, and its acknowledgement removes it
 * from the buffer, so that no flush commits it afterwards. */
static void
test_queue_buffered_head(void)
{
	const char *path = fresh_path();
	struct store *st = open_ok(path, NULL);
	struct store_queue_stats qs;
	struct store_msg m;
	int64_t first, second, third;
	bool found;

	m = msg_of(STORE_MSG_METER, "MeterValues", "{\"n\":1}", 1, 0);
	CU_ASSERT_EQUAL(store_enqueue(st, &m, 0, &first, NULL), 0);
	m = msg_of(STORE_MSG_METER, "MeterValues", "{\"n\":2}", 1, 100);
	CU_ASSERT_EQUAL(store_enqueue(st, &m, 100, &second, NULL), 0);
	m = msg_of(STORE_MSG_METER, "MeterValues", "{\"n\":3}", 1, 200);
	CU_ASSERT_EQUAL(store_enqueue(st, &m, 200, &third, NULL), 0);
	store_queue_stats(st, &qs);
	CU_ASSERT_EQUAL(qs.committed, 1);
	CU_ASSERT_EQUAL(qs.buffered, 2);
	CU_ASSERT_EQUAL(store_queue_ack_with_state(st, first, NULL, NULL, NULL),
	    0);
	CU_ASSERT_EQUAL(store_queue_peek(st, &m, &found, NULL), 0);
	CU_ASSERT_TRUE_FATAL(found);
	CU_ASSERT_EQUAL(m.id, second);
	CU_ASSERT_STRING_EQUAL(m.payload, "{\"n\":2}");
	CU_ASSERT_EQUAL(m.created_ms, 100);
	CU_ASSERT_EQUAL(store_queue_attempt(st, second, NULL), 0);
	CU_ASSERT_EQUAL(store_queue_peek(st, &m, &found, NULL), 0);
	CU_ASSERT_EQUAL(m.attempts, 1);
	CU_ASSERT_EQUAL(store_queue_ack_with_state(st, second, "k", "v", NULL),
	    0);
	CU_ASSERT_EQUAL(store_queue_ack_with_state(st, second, NULL, NULL,
	    NULL), STORE_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(store_queue_peek(st, &m, &found, NULL), 0);
	CU_ASSERT_EQUAL(m.id, third);
	CU_ASSERT_EQUAL(store_queue_attempt(st, third, NULL), 0);
	/* The flush commits only the third, with its attempt. */
	CU_ASSERT_EQUAL(store_flush(st, 300, true, NULL), 0);
	store_queue_stats(st, &qs);
	CU_ASSERT_EQUAL(qs.committed, 1);
	CU_ASSERT_EQUAL(qs.buffered, 0);
	store_close(st);
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM queue"), 1);
	CU_ASSERT_EQUAL(raw_int(path, "SELECT attempts FROM queue"), 1);
	CU_ASSERT_EQUAL(raw_int(path, "SELECT id FROM queue"), third);
}

/* What the link carried: each message sent and whether its answer came. */
struct wire {
	int n;
	int64_t id[16];
	char payload[16][48];
	bool answered[16];
};

/* Sends the queue's head as the session does (peek); false when the
 * queue is empty. */
static bool
wire_send(struct store *st, struct wire *w)
{
	struct store_msg m;
	bool found = false;

	CU_ASSERT_EQUAL_FATAL(store_queue_peek(st, &m, &found, NULL), 0);
	if (!found)
		return false;
	CU_ASSERT_TRUE_FATAL(w->n < (int)ARRAY_SIZE(w->id));
	w->id[w->n] = m.id;
	snprintf(w->payload[w->n], sizeof(w->payload[0]), "%s", m.payload);
	w->answered[w->n] = false;
	w->n++;
	return true;
}

/* The answer to the message sent last arrives: it is acknowledged. */
static void
wire_answer(struct store *st, struct wire *w)
{
	CU_ASSERT_TRUE_FATAL(w->n > 0);
	CU_ASSERT_EQUAL(store_queue_ack_with_state(st, w->id[w->n - 1], NULL,
	    NULL, NULL), 0);
	w->answered[w->n - 1] = true;
}

/* The link carried want[0..n-1] in this order, each answered once; a
 * message went out again only when its answer had not come, with the same
 * id and payload; the queue is empty. */
static void
wire_check(struct store *st, const struct wire *w, const char *const *want,
    int n)
{
	struct store_msg m;
	bool found = true;
	int j = 0;

	for (int i = 0; i < w->n; i++) {
		CU_ASSERT_TRUE_FATAL(j < n);
		CU_ASSERT_STRING_EQUAL(w->payload[i], want[j]);
		if (w->answered[i]) {
			j++;
		} else if (i + 1 < w->n) {
			CU_ASSERT_EQUAL(w->id[i + 1], w->id[i]);
			CU_ASSERT_STRING_EQUAL(w->payload[i + 1], w->payload[i]);
		}
	}
	CU_ASSERT_EQUAL(j, n);
	CU_ASSERT_EQUAL(store_queue_peek(st, &m, &found, NULL), 0);
	CU_ASSERT_FALSE(found);
}

/* Enqueues one message of kind at now_ms. */
static void
put(struct store *st, enum store_msg_kind kind, const char *action,
    const char *payload, int64_t now_ms)
{
	struct store_msg m = msg_of(kind, action, payload, 1, now_ms);

	CU_ASSERT_EQUAL_FATAL(store_enqueue(st, &m, now_ms, NULL, NULL), 0);
}

/* The session's interleavings around the buffer: a message sent from the
 * buffer and then flushed, or committed with a start, before its answer;
 * the link or the daemon lost between a send and its answer.  Each message
 * goes out once, or again only while unanswered and then unchanged. */
static void
test_queue_send_flush_ack_interleavings(void)
{
	const char *path = fresh_path();
	static const char *const want[] = {
		"{\"u\":0}", "{\"u\":1}", "{\"startup\":1}", "{\"s\":3}",
		"{\"u\":2}", "{\"e\":3}", "{\"u\":3}", "{\"u\":4}",
		"{\"u\":5}",
	};
	struct store *st = open_ok(path, NULL);
	struct wire w = { 0 };

	/* The first meter value commits at once, later ones are buffered. */
	put(st, STORE_MSG_TX_UPDATE, "TransactionEvent", want[0], 0);
	CU_ASSERT_TRUE(wire_send(st, &w));
	wire_answer(st, &w);
	/* Sent from the buffer, flushed by time, then answered: the ack
	 * removes the committed row. */
	put(st, STORE_MSG_TX_UPDATE, "TransactionEvent", want[1], 100);
	CU_ASSERT_TRUE(wire_send(st, &w));
	CU_ASSERT_EQUAL(store_flush(st, 1200, false, NULL), 0);
	wire_answer(st, &w);
	/* The start-up event and a start commit while an update is in
	 * flight from the buffer: the update is not sent again. */
	put(st, STORE_MSG_OTHER, "SecurityEventNotification", want[2], 1300);
	CU_ASSERT_TRUE(wire_send(st, &w));
	put(st, STORE_MSG_TX_START, "TransactionEvent", want[3], 1400);
	put(st, STORE_MSG_TX_UPDATE, "TransactionEvent", want[4], 1500);
	wire_answer(st, &w);
	/* The start in flight, the buffer flushed, the link lost: the start
	 * again, same id, then the update. */
	CU_ASSERT_TRUE(wire_send(st, &w));
	CU_ASSERT_EQUAL(store_flush(st, 2600, true, NULL), 0);
	CU_ASSERT_TRUE(wire_send(st, &w));
	wire_answer(st, &w);
	/* An update sent from the buffer, the link lost, flushed with an
	 * end: the update again (now from SQLite), same id. */
	CU_ASSERT_TRUE(wire_send(st, &w));
	wire_answer(st, &w);
	put(st, STORE_MSG_TX_END, "TransactionEvent", want[5], 2700);
	CU_ASSERT_TRUE(wire_send(st, &w));
	store_close(st);
	/* The daemon restarts before the end's answer: sent again. */
	st = open_ok(path, NULL);
	CU_ASSERT_TRUE(wire_send(st, &w));
	wire_answer(st, &w);
	put(st, STORE_MSG_TX_UPDATE, "TransactionEvent", want[6], 3000);
	CU_ASSERT_TRUE(wire_send(st, &w));
	put(st, STORE_MSG_TX_UPDATE, "TransactionEvent", want[7], 3100);
	CU_ASSERT_TRUE(wire_send(st, &w));
	CU_ASSERT_EQUAL(store_flush(st, 4200, false, NULL), 0);
	CU_ASSERT_TRUE(wire_send(st, &w));
	wire_answer(st, &w);
	CU_ASSERT_TRUE(wire_send(st, &w));
	wire_answer(st, &w);
	/* Sent from the buffer and answered before the flush: the flush
	 * does not bring it back. */
	put(st, STORE_MSG_TX_UPDATE, "TransactionEvent", want[8], 4300);
	CU_ASSERT_TRUE(wire_send(st, &w));
	wire_answer(st, &w);
	CU_ASSERT_EQUAL(store_flush(st, 5400, true, NULL), 0);
	CU_ASSERT_FALSE(wire_send(st, &w));
	wire_check(st, &w, want, (int)ARRAY_SIZE(want));
	store_close(st);
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM queue"), 0);
}

/* ---- Transactions with the queue. ---- */

/* A connector's open transaction lives in its state row, written with
 * the message that opens or closes it: offline, a start (record set), a
 * meter value and a stop (record closed) survive a restart in order, with
 * the record as the last committed message left it. */
static void
test_tx_record_rides_with_messages(void)
{
	const char *path = fresh_path();
	struct store *st = open_ok(path, NULL);
	struct store_msg m;
	int64_t start_id, mv_id, stop_id;
	char *v = NULL;
	bool found;

	m = msg_of(STORE_MSG_TX_START, "StartTransaction",
	    "{\"connectorId\":2,\"meterStart\":12000}", 2, 1000);
	CU_ASSERT_EQUAL(store_queue_enqueue_with_state(st, &m, "tx16.c2",
	    "open 12000", 0, &start_id, NULL), 0);
	m = msg_of(STORE_MSG_TX_UPDATE, "MeterValues", "{\"v\":12500}", 2,
	    2000);
	CU_ASSERT_EQUAL(store_enqueue(st, &m, 5000, &mv_id, NULL), 0);
	store_close(st);

	st = open_ok(path, NULL);
	CU_ASSERT_EQUAL(store_setting_get(st, "tx16.c2", NULL, &v, NULL, NULL),
	    0);
	CU_ASSERT_STRING_EQUAL(v != NULL ? v : "", "open 12000");
	free(v);
	v = NULL;
	m = msg_of(STORE_MSG_TX_END, "StopTransaction",
	    "{\"meterStop\":13000}", 2, 3000);
	CU_ASSERT_EQUAL(store_queue_enqueue_with_state(st, &m, "tx16.c2",
	    "idle 13000", 6000, &stop_id, NULL), 0);
	CU_ASSERT(start_id < mv_id && mv_id < stop_id);
	store_close(st);

	st = open_ok(path, NULL);
	CU_ASSERT_EQUAL(store_queue_peek(st, &m, &found, NULL), 0);
	CU_ASSERT_TRUE_FATAL(found);
	CU_ASSERT_EQUAL(m.id, start_id);
	CU_ASSERT_EQUAL(m.kind, STORE_MSG_TX_START);
	CU_ASSERT_EQUAL(m.connector, 2);
	CU_ASSERT_EQUAL(m.created_ms, 1000);
	CU_ASSERT_EQUAL(store_queue_ack_with_state(st, start_id, NULL, NULL,
	    NULL), 0);
	CU_ASSERT_EQUAL(store_queue_peek(st, &m, &found, NULL), 0);
	CU_ASSERT_EQUAL(m.id, mv_id);
	CU_ASSERT_EQUAL(store_queue_ack_with_state(st, mv_id, NULL, NULL,
	    NULL), 0);
	CU_ASSERT_EQUAL(store_queue_peek(st, &m, &found, NULL), 0);
	CU_ASSERT_EQUAL(m.id, stop_id);
	CU_ASSERT_STRING_EQUAL(m.payload, "{\"meterStop\":13000}");
	CU_ASSERT_EQUAL(store_setting_get(st, "tx16.c2", NULL, &v, NULL, NULL),
	    0);
	CU_ASSERT_STRING_EQUAL(v != NULL ? v : "", "idle 13000");
	free(v);
	store_close(st);
}

/* ---- Queue operations carrying a session state change. ---- */

/* The value in force for a state key (a backend value with no file value);
 * a malloc'd copy or NULL when absent. */
static char *
state_of(struct store *st, const char *key)
{
	char *v = NULL;

	CU_ASSERT_EQUAL(store_setting_get(st, key, NULL, &v, NULL, NULL), 0);
	return v;
}

/* Runs one SQL text on the store's own connection; 0 when it worked. */
static int
conn_exec(struct store *st, const char *sql)
{
	return sqlite3_exec(store_sqlite(st), sql, NULL, NULL, NULL) ==
	    SQLITE_OK ? 0 : -1;
}

static void
test_enqueue_ack_with_state(void)
{
	const char *path = fresh_path();
	struct store *st = open_ok(path, NULL);
	struct store_queue_stats qs;
	struct store_msg m;
	int64_t id1, id2, id3;
	bool found;
	char *v, *cause = NULL;

	/* Start queued with "tx.1" = "open": both there after a reopen. */
	m = msg_of(STORE_MSG_TX_START, "StartTransaction", "{\"c\":1}", 1, 5);
	CU_ASSERT_EQUAL(store_queue_enqueue_with_state(st, &m, "tx.1", "open",
	    0, &id1, NULL), 0);
	/* Stop queued with "tx.1" deleted ("" deletes). */
	m = msg_of(STORE_MSG_TX_END, "StopTransaction", "{\"c\":1}", 1, 6);
	CU_ASSERT_EQUAL(store_queue_enqueue_with_state(st, &m, "tx.1", "",
	    0, &id2, NULL), 0);
	CU_ASSERT_EQUAL(id2, id1 + 1);
	v = state_of(st, "tx.1");
	CU_ASSERT_PTR_NULL(v);
	free(v);
	/* A message with no state key behaves as store_enqueue. */
	m = msg_of(STORE_MSG_OTHER, "StatusNotification", "{}", 1, 7);
	CU_ASSERT_EQUAL(store_queue_enqueue_with_state(st, &m, NULL, NULL, 0,
	    &id3, NULL), 0);
	CU_ASSERT_EQUAL(id3, id2 + 1);
	store_close(st);

	st = open_ok(path, NULL);
	/* Ack of the start sets "txid.1" = "42" (the backend's id). */
	CU_ASSERT_EQUAL(store_queue_ack_with_state(st, id1, "txid.1", "42",
	    NULL), 0);
	v = state_of(st, "txid.1");
	CU_ASSERT_STRING_EQUAL(v != NULL ? v : "", "42");
	free(v);
	/* Ack of a message that is not queued changes nothing. */
	CU_ASSERT_EQUAL(store_queue_ack_with_state(st, id1, "txid.1", "",
	    &cause), STORE_ERR_NOT_FOUND);
	free(cause);
	cause = NULL;
	v = state_of(st, "txid.1");
	CU_ASSERT_STRING_EQUAL(v != NULL ? v : "", "42");
	free(v);
	store_close(st);

	st = open_ok(path, NULL);
	CU_ASSERT_EQUAL(store_queue_peek(st, &m, &found, NULL), 0);
	CU_ASSERT_TRUE(found);
	CU_ASSERT_EQUAL(m.id, id2);
	v = state_of(st, "txid.1");
	CU_ASSERT_STRING_EQUAL(v != NULL ? v : "", "42");
	free(v);
	/* Ack of the stop deletes "txid.1". */
	CU_ASSERT_EQUAL(store_queue_ack_with_state(st, id2, "txid.1", NULL,
	    NULL), 0);
	store_close(st);
	st = open_ok(path, NULL);
	v = state_of(st, "txid.1");
	CU_ASSERT_PTR_NULL(v);
	free(v);
	/* Only the status notification is left: 3 queued - 2 acked = 1. */
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM queue"), 1);

	/* Bad input: a batched kind, an empty key; nothing written. */
	m = msg_of(STORE_MSG_METER, "MeterValues", "{}", 1, 8);
	CU_ASSERT_EQUAL(store_queue_enqueue_with_state(st, &m, "k", "v", 0,
	    NULL, &cause), STORE_ERR_INVALID);
	CU_ASSERT_PTR_NOT_NULL(cause);
	if (cause != NULL)
		CU_ASSERT_PTR_NOT_NULL(strstr(cause, "MeterValues"));
	free(cause);
	m = msg_of(STORE_MSG_OTHER, "Heartbeat", "{}", 0, 8);
	CU_ASSERT_EQUAL(store_queue_enqueue_with_state(st, &m, "", "v", 0,
	    NULL, NULL), STORE_ERR_INVALID);
	CU_ASSERT_EQUAL(store_queue_ack_with_state(st, id3, "", "v", NULL),
	    STORE_ERR_INVALID);
	store_queue_stats(st, &qs);
	CU_ASSERT_EQUAL(qs.committed, 1);
	store_close(st);
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM queue"), 1);
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM settings"), 0);
}

/* A failure of either half rolls back the other: triggers make SQLite
 * refuse one write inside the transaction. */
static void
test_with_state_all_or_nothing(void)
{
	const char *path = fresh_path();
	struct store *st = open_ok(path, NULL);
	struct store_queue_stats qs;
	struct store_msg m;
	int64_t id1, id2;
	char *v, *cause = NULL;

	m = msg_of(STORE_MSG_TX_START, "StartTransaction", "{}", 1, 1);
	CU_ASSERT_EQUAL(store_queue_enqueue_with_state(st, &m, "tx.1", "open",
	    0, &id1, NULL), 0);
	/* The state write fails: the message must not be queued. */
	CU_ASSERT_EQUAL_FATAL(conn_exec(st, "CREATE TEMP TRIGGER no_bad_key "
	    "BEFORE INSERT ON main.settings WHEN NEW.key = 'bad' BEGIN "
	    "SELECT RAISE(ABORT, 'refused'); END"), 0);
	m = msg_of(STORE_MSG_TX_END, "StopTransaction", "{}", 1, 2);
	CU_ASSERT_NOT_EQUAL(store_queue_enqueue_with_state(st, &m, "bad", "x",
	    0, NULL, &cause), 0);
	CU_ASSERT_PTR_NOT_NULL(cause);
	free(cause);
	cause = NULL;
	store_queue_stats(st, &qs);
	CU_ASSERT_EQUAL(qs.committed, 1);
	/* The message write fails: the state must not change. */
	CU_ASSERT_EQUAL_FATAL(conn_exec(st, "CREATE TEMP TRIGGER no_boom "
	    "BEFORE INSERT ON main.queue WHEN NEW.action = 'Boom' BEGIN "
	    "SELECT RAISE(ABORT, 'refused'); END"), 0);
	m = msg_of(STORE_MSG_OTHER, "Boom", "{}", 1, 3);
	CU_ASSERT_NOT_EQUAL(store_queue_enqueue_with_state(st, &m, "tx.1", "",
	    0, NULL, NULL), 0);
	v = state_of(st, "tx.1");
	CU_ASSERT_STRING_EQUAL(v != NULL ? v : "", "open");
	free(v);
	/* The ack's state write fails: the message stays queued. */
	CU_ASSERT_NOT_EQUAL(store_queue_ack_with_state(st, id1, "bad", "1",
	    NULL), 0);
	store_queue_stats(st, &qs);
	CU_ASSERT_EQUAL(qs.committed, 1);
	/* After the failures the next message gets the next id: id1 + 1. */
	m = msg_of(STORE_MSG_TX_END, "StopTransaction", "{}", 1, 4);
	CU_ASSERT_EQUAL(store_queue_enqueue_with_state(st, &m, "tx.1", NULL,
	    0, &id2, NULL), 0);
	CU_ASSERT_EQUAL(id2, id1 + 1);
	store_close(st);
	/* On disk: the start and the stop (2 rows), "tx.1" deleted by the
	 * stop, no "bad" key. */
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM queue"), 2);
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM settings"), 0);
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM queue WHERE "
	    "action = 'Boom'"), 0);
}

/* ---- Meter-value batching. ---- */

/* foreach callback: appends message ids; ids[0] holds the count. */
static int
count_msgs(const struct store_msg *m, void *arg)
{
	int64_t *ids = arg;

	ids[++ids[0]] = m->id;
	return 0;
}

static void
test_meter_values_batched(void)
{
	const char *path = fresh_path();
	struct store *st = open_ok(path, NULL);
	struct store_queue_stats qs;
	struct store_msg m;
	int64_t c0, ids[16], mid[4], sid;

	store_queue_stats(st, &qs);
	c0 = qs.commits;
	/* t = 0: the first meter value is committed at once (no commit in
	 * the last second). */
	m = msg_of(STORE_MSG_METER, "MeterValues", "{\"v\":1}", 1, 0);
	CU_ASSERT_EQUAL(store_enqueue(st, &m, 0, &mid[0], NULL), 0);
	store_queue_stats(st, &qs);
	CU_ASSERT_EQUAL(qs.commits, c0 + 1);
	CU_ASSERT_EQUAL(qs.committed, 1);
	/* t = 300 and 600: buffered, no commit, not visible to others. */
	m.payload = "{\"v\":2}";
	CU_ASSERT_EQUAL(store_enqueue(st, &m, 300, &mid[1], NULL), 0);
	m.payload = "{\"v\":3}";
	CU_ASSERT_EQUAL(store_enqueue(st, &m, 600, &mid[2], NULL), 0);
	store_queue_stats(st, &qs);
	CU_ASSERT_EQUAL(qs.commits, c0 + 1);
	CU_ASSERT_EQUAL(qs.buffered, 2);
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM queue"), 1);
	/* A flush at t = 999 is still within the second: nothing. */
	CU_ASSERT_EQUAL(store_flush(st, 999, false, NULL), 0);
	store_queue_stats(st, &qs);
	CU_ASSERT_EQUAL(qs.commits, c0 + 1);
	/* t = 1000: one commit carries both. */
	CU_ASSERT_EQUAL(store_flush(st, 1000, false, NULL), 0);
	store_queue_stats(st, &qs);
	CU_ASSERT_EQUAL(qs.commits, c0 + 2);
	CU_ASSERT_EQUAL(qs.buffered, 0);
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM queue"), 3);

	/* t = 1200: buffered; then a transaction start at t = 1300 commits
	 * it in the same commit, before the start in queue order. */
	m.payload = "{\"v\":4}";
	CU_ASSERT_EQUAL(store_enqueue(st, &m, 1200, &mid[3], NULL), 0);
	m = msg_of(STORE_MSG_TX_START, "StartTransaction", "{}", 1, 1300);
	CU_ASSERT_EQUAL(store_enqueue(st, &m, 1300, &sid, NULL), 0);
	store_queue_stats(st, &qs);
	CU_ASSERT_EQUAL(qs.commits, c0 + 3);
	CU_ASSERT_EQUAL(qs.buffered, 0);
	/* Durable before return: another connection sees all 5. */
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM queue"), 5);
	ids[0] = 0;
	CU_ASSERT_EQUAL(store_queue_foreach(st, count_msgs, ids, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(ids[0], 5);
	CU_ASSERT_EQUAL(ids[1], mid[0]);
	CU_ASSERT_EQUAL(ids[2], mid[1]);
	CU_ASSERT_EQUAL(ids[3], mid[2]);
	CU_ASSERT_EQUAL(ids[4], mid[3]);
	CU_ASSERT_EQUAL(ids[5], sid);
	/* Close commits what is buffered. */
	m = msg_of(STORE_MSG_METER, "MeterValues", "{\"v\":5}", 1, 0);
	CU_ASSERT_EQUAL(store_enqueue(st, &m, 1400, NULL, NULL), 0);
	CU_ASSERT_EQUAL(store_close(st), 0);
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM queue"), 6);
}

/* ---- The bound and its drop policy. ---- */

static void
test_bound_drops_meter_values_only(void)
{
	const char *path = fresh_path();
	struct store_options o = { 4, 0, 0 }; /* bound: 4 messages */
	struct store *st = open_ok(path, &o);
	struct store_queue_stats qs;
	struct store_msg m;
	int64_t ids[16], start_id, end_id, mv[6];
	char payload[6][16];

	m = msg_of(STORE_MSG_TX_START, "StartTransaction", "{}", 1, 0);
	CU_ASSERT_EQUAL(store_enqueue(st, &m, 0, &start_id, NULL), 0);
	/* Six meter values, each in its own second so each commits:
	 * after mv0..mv2 the queue holds start + 3 = 4 (at the bound);
	 * mv3 drops mv0, mv4 drops mv1, mv5 drops mv2: 3 dropped. */
	for (int i = 0; i < 6; i++) {
		snprintf(payload[i], sizeof(payload[i]), "{\"i\":%d}", i);
		m = msg_of(i % 2 ? STORE_MSG_METER : STORE_MSG_TX_UPDATE,
		    "MeterValues", payload[i], 1, i);
		CU_ASSERT_EQUAL(store_enqueue(st, &m, 1000 * (i + 1), &mv[i],
		    NULL), 0);
	}
	store_queue_stats(st, &qs);
	CU_ASSERT_EQUAL(qs.committed, 4);
	CU_ASSERT_EQUAL(qs.dropped, 3);
	CU_ASSERT_EQUAL(qs.bound, 4);
	/* The end: 5 > 4, mv3 (oldest droppable) goes: dropped = 4. */
	m = msg_of(STORE_MSG_TX_END, "StopTransaction", "{}", 1, 9);
	CU_ASSERT_EQUAL(store_enqueue(st, &m, 9000, &end_id, NULL), 0);
	store_queue_stats(st, &qs);
	CU_ASSERT_EQUAL(qs.committed, 4);
	CU_ASSERT_EQUAL(qs.dropped, 4);
	ids[0] = 0;
	CU_ASSERT_EQUAL(store_queue_foreach(st, count_msgs, ids, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(ids[0], 4);
	CU_ASSERT_EQUAL(ids[1], start_id);
	CU_ASSERT_EQUAL(ids[2], mv[4]);
	CU_ASSERT_EQUAL(ids[3], mv[5]);
	CU_ASSERT_EQUAL(ids[4], end_id);
	/* Starts and ends are never dropped: 3 more transactions (6 msgs)
	 * push the queue over its bound; mv4, mv5 go first (dropped 6). */
	for (int i = 0; i < 3; i++) {
		m = msg_of(STORE_MSG_TX_START, "StartTransaction", "{}", 2, 0);
		CU_ASSERT_EQUAL(store_enqueue(st, &m, 0, NULL, NULL), 0);
		m = msg_of(STORE_MSG_TX_END, "StopTransaction", "{}", 2, 0);
		CU_ASSERT_EQUAL(store_enqueue(st, &m, 0, NULL, NULL), 0);
	}
	store_queue_stats(st, &qs);
	CU_ASSERT_EQUAL(qs.committed, 8);
	CU_ASSERT_EQUAL(qs.dropped, 6);
	/* A new meter value now has nothing older to push out: it is the one
	 * dropped (queue stays 8, dropped 7). */
	m = msg_of(STORE_MSG_METER, "MeterValues", "{}", 1, 0);
	CU_ASSERT_EQUAL(store_enqueue(st, &m, 20000, NULL, NULL), 0);
	store_queue_stats(st, &qs);
	CU_ASSERT_EQUAL(qs.committed, 8);
	CU_ASSERT_EQUAL(qs.dropped, 7);
	store_close(st);
	/* The counter is durable. */
	st = open_ok(path, &o);
	store_queue_stats(st, &qs);
	CU_ASSERT_EQUAL(qs.dropped, 7);
	CU_ASSERT_EQUAL(qs.committed, 8);
	store_close(st);
}

/* A message already sent (attempts > 0) is not dropped under it. */
static void
test_bound_spares_message_in_flight(void)
{
	struct store_options o = { 2, 0, 0 };
	struct store *st = open_ok(fresh_path(), &o);
	struct store_queue_stats qs;
	struct store_msg m;
	int64_t first, ids[4];
	bool found;

	m = msg_of(STORE_MSG_METER, "MeterValues", "{\"a\":0}", 1, 0);
	CU_ASSERT_EQUAL(store_enqueue(st, &m, 0, &first, NULL), 0);
	CU_ASSERT_EQUAL(store_queue_peek(st, &m, &found, NULL), 0);
	CU_ASSERT_EQUAL(store_queue_attempt(st, m.id, NULL), 0);
	/* Three more, one per second: bound 2, the first is in flight, so
	 * the 2nd and 3rd go; queue = first + 4th. */
	for (int i = 1; i <= 3; i++) {
		m = msg_of(STORE_MSG_METER, "MeterValues", "{}", 1, i);
		CU_ASSERT_EQUAL(store_enqueue(st, &m, 1000 * i, &ids[i], NULL),
		    0);
	}
	store_queue_stats(st, &qs);
	CU_ASSERT_EQUAL(qs.dropped, 2);
	CU_ASSERT_EQUAL(qs.committed, 2);
	{
		int64_t q[8] = { 0 };
		CU_ASSERT_EQUAL(store_queue_foreach(st, count_msgs, q, NULL), 0);
		CU_ASSERT_EQUAL_FATAL(q[0], 2);
		CU_ASSERT_EQUAL(q[1], first);
		CU_ASSERT_EQUAL(q[2], ids[3]);
	}
	store_close(st);
}


/* ---- History ---------------------------------------------------------- */

struct hist_got {
	int n;
	int64_t first_ms, last_ms;
	char reasons[256];
};

static void
on_sample(void *arg, const struct store_site_sample *h)
{
	struct hist_got *g = arg;

	if (g->n++ == 0)
		g->first_ms = h->at_ms;
	g->last_ms = h->at_ms;
}

static void
on_change(void *arg, const struct store_setpoint_change *c)
{
	struct hist_got *g = arg;
	size_t n = strlen(g->reasons);

	if (g->n++ == 0)
		g->first_ms = c->at_ms;
	g->last_ms = c->at_ms;
	snprintf(g->reasons + n, sizeof(g->reasons) - n, "%s%d:%s:%s",
	    n > 0 ? " " : "", c->connector, c->reason, c->bound_by);
}

/* A change at t of connector k, reason r. */
static struct store_setpoint_change
change_of(int64_t t, int k, const char *r)
{
	return (struct store_setpoint_change){ t, k, 7300, r, "circuit",
		"Limited to 7.3 kW by circuit main.", "[{\"what\":\"max\"}]" };
}

/* Samples and changes read back while buffered, after the batch commit
 * and after a reopen; nothing is written before the interval; a range
 * and a connector filter; the newest N; thinning to max_points. */
static void
test_history_roundtrip(void)
{
	const char *path = fresh_path();
	struct store *st;
	struct hist_got g;
	int64_t base = 1700000000000LL;

	CU_ASSERT_EQUAL_FATAL(store_open(path, NULL, &st, NULL), 0);
	for (int i = 0; i < 60; i++) {
		struct store_site_sample h = { base + i * 10000LL,
			i % 2 ? STORE_HISTORY_NO_POWER : 1000 * i, 40000, 32000 };

		CU_ASSERT_EQUAL(store_history_add_sample(st, &h, 1000 + i, NULL),
		    0);
	}
	{
		struct store_setpoint_change c1 = change_of(base + 5000, 1,
		    "share"), c2 = change_of(base + 6000, 2, "paused-below-min"),
		    c3 = change_of(base + 7000, 1, "capped-by-circuit");

		CU_ASSERT_EQUAL(store_history_add_change(st, &c1, 2000, NULL), 0);
		CU_ASSERT_EQUAL(store_history_add_change(st, &c2, 2000, NULL), 0);
		CU_ASSERT_EQUAL(store_history_add_change(st, &c3, 2000, NULL), 0);
	}
	/* Buffered (the first add commits at once; the rest wait). */
	CU_ASSERT(raw_int(path, "SELECT count(*) FROM history_site") <= 1);
	memset(&g, 0, sizeof(g));
	CU_ASSERT_EQUAL(store_history_samples(st, base, base + 3600000, 0,
	    on_sample, &g, NULL), 0);
	CU_ASSERT_EQUAL(g.n, 60);
	memset(&g, 0, sizeof(g));
	CU_ASSERT_EQUAL(store_history_changes(st, 1, base, base + 3600000, 0,
	    on_change, &g, NULL), 0);
	CU_ASSERT_STRING_EQUAL(g.reasons, "1:share:circuit "
	    "1:capped-by-circuit:circuit");
	/* The interval passes: one batch. */
	CU_ASSERT_EQUAL(store_history_flush(st, 1000 + STORE_HISTORY_FLUSH_MS,
	    false, NULL), 0);
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM history_site"), 60);
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM history_changes"),
	    3);
	store_close(st);

	CU_ASSERT_EQUAL_FATAL(store_open(path, NULL, &st, NULL), 0);
	memset(&g, 0, sizeof(g));
	CU_ASSERT_EQUAL(store_history_samples(st, base + 100000,
	    base + 200000, 0, on_sample, &g, NULL), 0);
	CU_ASSERT_EQUAL(g.n, 11);
	CU_ASSERT_EQUAL(g.first_ms, base + 100000);
	memset(&g, 0, sizeof(g));
	CU_ASSERT_EQUAL(store_history_samples(st, base, base + 600000, 6,
	    on_sample, &g, NULL), 0);
	CU_ASSERT(g.n >= 5 && g.n <= 7);
	memset(&g, 0, sizeof(g));
	CU_ASSERT_EQUAL(store_history_changes(st, 0, base, base + 3600000, 2,
	    on_change, &g, NULL), 0);
	CU_ASSERT_STRING_EQUAL(g.reasons, "2:paused-below-min:circuit "
	    "1:capped-by-circuit:circuit");
	CU_ASSERT_EQUAL(store_history_samples(st, base + 1, base, 0, on_sample,
	    &g, NULL), STORE_ERR_INVALID);
	store_close(st);
}

/* A commit trims what is older than 7 days before the newest row. */
static void
test_history_trimmed_by_age(void)
{
	const char *path = fresh_path();
	struct store *st;
	int64_t base = 1700000000000LL;
	struct store_site_sample old = { base, 1, 2, 3 },
	    young = { base + STORE_HISTORY_KEEP_MS + 1000, 1, 2, 3 };
	struct store_setpoint_change c = change_of(base, 1, "share");

	CU_ASSERT_EQUAL_FATAL(store_open(path, NULL, &st, NULL), 0);
	CU_ASSERT_EQUAL(store_history_add_sample(st, &old, 0, NULL), 0);
	CU_ASSERT_EQUAL(store_history_add_change(st, &c, 0, NULL), 0);
	CU_ASSERT_EQUAL(store_history_flush(st, 0, true, NULL), 0);
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM history_site"), 1);
	CU_ASSERT_EQUAL(store_history_add_sample(st, &young, 1, NULL), 0);
	CU_ASSERT_EQUAL(store_history_flush(st, 1, true, NULL), 0);
	CU_ASSERT_EQUAL(raw_int(path, "SELECT min(at_ms) FROM history_site"),
	    young.at_ms);
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM history_changes"),
	    0);
	store_close(st);
}

static const struct cu_test history_tests[] = {
	{ "history: buffered, batched, read back, reopened",
	  test_history_roundtrip },
	{ "history: trimmed to 7 days", test_history_trimmed_by_age },
	{ NULL, NULL },
};

static const struct cu_test open_tests[] = {
	{ "new file gets the schema, WAL and FULL sync",
	  test_new_file_gets_schema },
	{ "an empty file becomes a new store", test_empty_file_is_new },
	{ "refuses a non-database file", test_refuses_non_database },
	{ "refuses another application's database",
	  test_refuses_foreign_database },
	{ "refuses a newer schema", test_refuses_newer_schema },
	{ "refuses a corrupt file", test_refuses_corrupt_file },
	{ "rejects bad options with the range", test_rejects_bad_options },
	{ "every error code has a message", test_strerror },
	{ "migrates a version 1 file", test_migrates_version_1 },
	{ "migrates a version 3 file, open transactions kept",
	  test_migrates_version_3 },
	{ "read-only directory and file are errors", test_readonly_directory },
	{ "full disk is an error, not a crash", test_full_disk_is_an_error },
	{ "full disk: meter buffer bounded, drops counted",
	  test_full_disk_meter_buffer_bounded },
	{ "locked by another process is an error",
	  test_locked_by_another_is_busy },
	{ NULL, NULL },
};

static const struct cu_test data_tests[] = {
	{ "unchanged profile is not rewritten",
	  test_profiles_put_unchanged_not_rewritten },
	{ "profiles delete by id / filter and reload",
	  test_profiles_delete_and_reload },
	{ "profiles synced by the thread, the WAL checkpointed",
	  test_profiles_synced_by_the_thread },
	{ "settings: file defaults, backend wins until file changes",
	  test_settings_layering },
	{ NULL, NULL },
};

static const struct cu_test queue_tests[] = {
	{ "queue order, attempts, acknowledgements", test_queue_order_and_ack },
	{ "queue: a buffered message is sent before its flush",
	    test_queue_buffered_head },
	{ "queue: send, flush, ack, reconnect and restart interleaved",
	    test_queue_send_flush_ack_interleavings },
	{ "a transaction's record rides with its messages",
	  test_tx_record_rides_with_messages },
	{ "enqueue / ack with a state change", test_enqueue_ack_with_state },
	{ "state change and message: all or nothing",
	  test_with_state_all_or_nothing },
	{ "meter values batched once per second", test_meter_values_batched },
	{ "bound drops meter values only, counted",
	  test_bound_drops_meter_values_only },
	{ "bound spares the message in flight",
	  test_bound_spares_message_in_flight },
	{ NULL, NULL },
};

int
main(void)
{
	const struct cu_suite suites[] = {
		{ "store-open", suite_init, suite_cleanup, open_tests },
		{ "store-data", suite_init, suite_cleanup, data_tests },
		{ "store-queue", suite_init, suite_cleanup, queue_tests },
		{ "store-history", suite_init, suite_cleanup, history_tests },
		{ NULL, NULL, NULL, NULL },
	};

	return cu_run(suites);
}
