/* Fuzz target: the control socket's request handler, control_handle(),
 * called as the socket calls it with one line, on a site of two chargers
 * built from a fixed configuration and a store in a scratch file.  The
 * write verbs go to the site model through a check that what reaches it
 * is in range; every reply must be one JSON object with "ok". */
#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "balancer/balancer.h"
#include "common/util.h"
#include "config/config.h"
#include "control.h"
#include "site/site.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t len);

static const char conf_text[] =
    "site { id = \"fuzz\" available-power-kw = 25 main-breaker-a = 40 }\n"
    "csms { url = \"ws://127.0.0.1:1/ocpp\" identity = \"fuzz\" }\n"
    "charger \"a\" { model = \"autel-ac-wallbox\" host = \"127.0.0.1\" "
    "port = 1 max-power-kw = 11 }\n"
    "charger \"u\" { model = \"autel-ac-ultra\" host = \"127.0.0.1\" "
    "port = 2 connectors = 2 max-power-kw = 22 }\n";

static struct cfg cfg;
static struct site site;
static struct control_sources src;

/* The write verbs' way in: what the handler hands over must be a known
 * connector, a cap in range and a time that is not in the past. */
static int
set_local_cap(void *ud, int k, int32_t cap_w, int64_t until_ms,
    char **cause)
{
	(void)ud;
	(void)cause;
	if (k < 0 || k >= site.n_conns ||
	    (cap_w != BAL_NO_CAP && (cap_w < 0 || cap_w > 1000000)) ||
	    until_ms < 0)
		abort();
	site_set_local_cap(&site, k, cap_w, until_ms);
	return 0;
}

static char *scratch_dir;

/* At exit: the store closed, its files and the scratch directory gone. */
static void
cleanup(void)
{
	static const char *const suffixes[] = { "", "-wal", "-shm",
		"-journal" };
	char *f;

	store_close(src.store);
	src.store = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
		xasprintf(&f, "%s/state.db%s", scratch_dir, suffixes[i]);
		unlink(f);
		free(f);
	}
	rmdir(scratch_dir);
	free(scratch_dir);
	site_free(&site);
	cfg_clear(&cfg);
}

/* Builds the site and the store once, in a scratch directory under
 * $TMPDIR (or /tmp) removed at exit. */
static void
setup(void)
{
	struct cfg_errors errors = { 0 };
	const char *tmp = getenv("TMPDIR");
	char *cause = NULL, *db;
	struct store *st;

	if (tmp == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	xasprintf(&scratch_dir, "%s/fuzz-control.XXXXXX", tmp);
	if (cfg_load_string("fuzz.conf", conf_text, &cfg, &errors) != 0) {
		for (size_t i = 0; i < errors.n; i++)
			fprintf(stderr, "%s\n", errors.msgs[i]);
		abort();
	}
	if (site_init(&site, &cfg, NULL, NULL, &cause) != 0 ||
	    mkdtemp(scratch_dir) == NULL) {
		fprintf(stderr, "%s\n", cause != NULL ? cause : scratch_dir);
		abort();
	}
	xasprintf(&db, "%s/state.db", scratch_dir);
	if (store_open(db, NULL, &st, &cause) != 0) {
		fprintf(stderr, "%s\n", cause);
		abort();
	}
	free(db);
	src = (struct control_sources){
		.cfg = &cfg, .site = &site, .store = st,
		.set_local_cap = set_local_cap,
	};
	atexit(cleanup);
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t len)
{
	json_error_t jerr;
	json_t *reply;
	char *out;

	if (src.site == NULL)
		setup();
	if (len > CONTROL_REQUEST_MAX)
		return 0; /* the socket never hands over a longer line */
	out = control_handle(&src, (const char *)data, len);
	if (out == NULL)
		abort();
	reply = json_loads(out, 0, &jerr);
	if (!json_is_object(reply) ||
	    !json_is_boolean(json_object_get(reply, "ok")))
		abort();
	json_decref(reply);
	free(out);
	return 0;
}
