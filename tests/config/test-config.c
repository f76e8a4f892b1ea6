/* Tests for src/config.c: the shipped file loads, every class of mistake
 * gets a message naming file:line and the option, every cross-check of
 * DOMAIN.md §2 fires on a minimal counter-example and stays quiet on the
 * nearest valid case. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "common/util.h"
#include "tests/cu.h"

/* A valid file; line numbers matter to the tests below. */
static const char base[] =
    "site {\n"                                             /* 1 */
    "	id = \"s1\"\n"                                      /* 2 */
    "	distribution = \"3-phase-tn\"\n"                    /* 3 */
    "	nominal-voltage-v = 230\n"                          /* 4 */
    "	main-breaker-a = 63\n"                              /* 5 */
    "	available-power-kw = 40\n"                          /* 6 */
    "	circuit \"main\" { max-current-a = 63 }\n"          /* 7 */
    "}\n"                                                  /* 8 */
    "csms {\n"                                             /* 9 */
    "	url = \"ws://127.0.0.1:9000/ocpp\"\n"               /* 10 */
    "	identity = \"s1\"\n"                                /* 11 */
    "}\n"                                                  /* 12 */
    "balancer { mode = \"alm\" }\n"                         /* 13 */
    "meter { host = \"127.0.0.1\" port = 5020 }\n"          /* 14 */
    "charger \"a\" { model = \"autel-ac-wallbox\" host = \"127.0.0.1\" "
    "port = 5021 max-power-kw = 22 circuit = \"main\" }\n"  /* 15 */
    "charger \"b\" { model = \"autel-ac-ultra\" host = \"127.0.0.1\" "
    "port = 5022 connectors = 2 max-power-kw = 11 }\n";    /* 16 */

static struct cfg cfg;
static struct cfg_errors errs;

/* Returns text with the first occurrence of from replaced by to.  The
 * result lives until the next call; calls nest. */
static const char *
subst(const char *text, const char *from, const char *to)
{
	static char *out;
	const char *at = strstr(text, from);
	char *prev = out;

	CU_ASSERT_PTR_NOT_NULL_FATAL(at);
	xasprintf(&out, "%.*s%s%s", (int)(at - text), text, to,
	    at + strlen(from));
	free(prev); /* after use: text may be the previous result */
	return out;
}

/* Loads text as "t.conf"; returns cfg_load_string's result and keeps the
 * errors in errs (printed, to read a failing run's log). */
static int
load(const char *text)
{
	int rc;

	cfg_clear(&cfg);
	cfg_errors_free(&errs);
	rc = cfg_load_string("t.conf", text, &cfg, &errs);
	for (size_t i = 0; i < errs.n; i++)
		printf("\n    | %s%s", errs.msgs[i], i + 1 == errs.n ? "\n  " :
		    "");
	return rc;
}

/* True when error i exists and contains both needles. */
static int
err_has(size_t i, const char *a, const char *b)
{
	return i < errs.n && strstr(errs.msgs[i], a) != NULL &&
	    (b == NULL || strstr(errs.msgs[i], b) != NULL);
}

/* Asserts that text fails with exactly one error, containing a and b. */
#define ONE_ERROR(text, a, b) do { \
		CU_ASSERT_EQUAL(load(text), -1); \
		CU_ASSERT_EQUAL(errs.n, 1); \
		CU_ASSERT(err_has(0, (a), (b))); \
	} while (0)

static void
test_base_is_valid_with_defaults(void)
{
	CU_ASSERT_EQUAL_FATAL(load(base), 0);
	CU_ASSERT_EQUAL(errs.n, 0);
	CU_ASSERT_STRING_EQUAL(cfg.site.id, "s1");
	CU_ASSERT_EQUAL(cfg.site.available_power_w, 40000);
	CU_ASSERT_EQUAL(cfg.site.n_circuits, 1);
	CU_ASSERT_EQUAL(cfg.n_chargers, 2);
	CU_ASSERT_EQUAL(cfg.chargers[0].circuit_index, 0);
	CU_ASSERT_EQUAL(cfg.chargers[1].circuit_index, -1);
	CU_ASSERT_EQUAL(cfg.chargers[1].connectors, 2);
	CU_ASSERT_EQUAL(cfg.chargers[1].max_power_w, 11000);
	CU_ASSERT_EQUAL(cfg.chargers[0].phases, 3);
	CU_ASSERT_EQUAL(cfg.balancer.mode, CFG_BAL_ALM);
	/* Defaults from the schema. */
	CU_ASSERT_EQUAL(cfg.csms.heartbeat_interval_s, 300);
	CU_ASSERT_EQUAL(cfg.csms.security_profile, 1);
	CU_ASSERT_EQUAL(cfg.balancer.reserve_pct, 10);
	CU_ASSERT_EQUAL(cfg.balancer.min_power_1ph_w, 1400);
	CU_ASSERT_EQUAL(cfg.balancer.min_power_3ph_w, 4200);
	/* Offline-meter power defaults to 10 % of 40 kW = 4 kW. */
	CU_ASSERT_EQUAL(cfg.balancer.offline_meter_power_w, 4000);
	CU_ASSERT_EQUAL(cfg.meter.link.kind, CFG_LINK_TCP);
	CU_ASSERT_EQUAL(cfg.meter.link.unit_id, 1);
	CU_ASSERT_EQUAL(cfg.meter.max_age_s, 3);
	CU_ASSERT_EQUAL(cfg.meter.poll_interval_ms, 1000);
	CU_ASSERT_STRING_EQUAL(cfg.southbound.listen_host, "0.0.0.0");
	CU_ASSERT_EQUAL(cfg.southbound.listen_port, 5502);
	CU_ASSERT_PTR_NOT_NULL(strstr(cfg.store.path,
	    "/lib/ocpp-edge/ocpp-edge.db"));
	CU_ASSERT_EQUAL(cfg.log.level, LOG_LEVEL_INFO);
	CU_ASSERT_FALSE(cfg.log.to_syslog);
}

static void
test_shipped_file_is_valid(void)
{
	const char *top = getenv("top_srcdir");
	char *path;

	xasprintf(&path, "%s/etc/ocpp-edge.conf", top != NULL ? top : ".");
	cfg_clear(&cfg);
	cfg_errors_free(&errs);
	CU_ASSERT_EQUAL(cfg_load(path, &cfg, &errs), 0);
	for (size_t i = 0; i < errs.n; i++)
		printf("\n    | %s", errs.msgs[i]);
	CU_ASSERT_EQUAL(cfg.site.available_power_w, 40000);
	CU_ASSERT_TRUE(cfg.n_chargers >= 1);
	CU_ASSERT_STRING_EQUAL(cfg.csms.identity, "site-001");
	free(path);
}

static void
test_five_mistakes_five_messages(void)
{
	const char *text =
	    "# five mistakes, comments in between\n"           /* 1 */
	    "site {\n"                                         /* 2 */
	    "	available-power-kw = 40 # whole kW\n"           /* 3 */
	    "	colour = \"blue\"\n"                            /* 4 */
	    "}\n"                                              /* 5 */
	    "/* a block\n   comment */\n"                      /* 6, 7 */
	    "csms { url = \"ws://h/o\" identity = \"x\"\n"     /* 8 */
	    "	heartbeat-interval-s = soon }\n"               /* 9 */
	    "// more\n"                                        /* 10 */
	    "balancer { mode = \"turbo\"\n"                    /* 11 */
	    "	reserve-pct = 70 }\n"                          /* 12 */
	    "charger \"a\" { model = \"autel-ac-wallbox\" host = \"h\"\n" /* 13 */
	    "	max-power-kw = -3 }\n";                        /* 14 */

	CU_ASSERT_EQUAL(load(text), -1);
	CU_ASSERT_EQUAL_FATAL(errs.n, 5);
	CU_ASSERT(err_has(0, "t.conf:4: option 'site.colour': unknown option",
	    "allowed in site: id, distribution"));
	CU_ASSERT(err_has(1, "t.conf:9: option 'csms.heartbeat-interval-s': "
	    "value 'soon': not a whole number", "allowed 1..86400 s"));
	CU_ASSERT(err_has(2, "t.conf:11: option 'balancer.mode': value "
	    "'turbo'", "allowed dlb | alm | pv"));
	CU_ASSERT(err_has(3, "t.conf:12: option 'balancer.reserve-pct': value "
	    "'70': out of range", "allowed 0..50 %"));
	CU_ASSERT(err_has(4, "t.conf:14: option 'charger[a].max-power-kw': "
	    "value '-3': out of range", "allowed 1..1000 kW"));
}

/* Writes text to a fresh file in a temporary directory; returns its
 * path (caller frees) and the directory in *dir (caller frees). */
static char *
temp_file(const char *text, char **dir)
{
	char *d = xstrdup("/tmp/test-config.XXXXXX"), *path;
	FILE *fp;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(d));
	xasprintf(&path, "%s/edge.conf", d);
	fp = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	fputs(text, fp);
	fclose(fp);
	*dir = d;
	return path;
}

static void
test_file_errors(void)
{
	char *dir, *path = temp_file(base, &dir), *msg;

	/* The same text from a file loads the same way. */
	cfg_clear(&cfg);
	cfg_errors_free(&errs);
	CU_ASSERT_EQUAL(cfg_load(path, &cfg, &errs), 0);
	CU_ASSERT_STRING_EQUAL(cfg.path, path);

	/* Missing. */
	cfg_clear(&cfg);
	CU_ASSERT_EQUAL(cfg_load("/nonexistent/edge.conf", &cfg, &errs), -1);
	CU_ASSERT_EQUAL(errs.n, 1);
	CU_ASSERT(err_has(0, "/nonexistent/edge.conf: cannot open: No such "
	    "file or directory", NULL));
	cfg_errors_free(&errs);

	/* A directory. */
	CU_ASSERT_EQUAL(cfg_load(dir, &cfg, &errs), -1);
	CU_ASSERT_EQUAL(errs.n, 1);
	CU_ASSERT(err_has(0, dir, ": not a regular file"));
	cfg_errors_free(&errs);

	/* Unreadable: root reads everything, so only as another user. */
	CU_ASSERT_EQUAL(chmod(path, 0), 0);
	if (geteuid() != 0) {
		CU_ASSERT_EQUAL(cfg_load(path, &cfg, &errs), -1);
		CU_ASSERT_EQUAL(errs.n, 1);
		xasprintf(&msg, "%s: cannot open: Permission denied", path);
		CU_ASSERT(err_has(0, msg, NULL));
		free(msg);
		cfg_errors_free(&errs);
	} else
		printf("(unreadable-file case skipped: running as root) ");
	unlink(path);
	rmdir(dir);
	free(path);
	free(dir);
}

static void
test_unknown_options_and_sections(void)
{
	ONE_ERROR(subst(base, "port = 5020", "port = 5020 colour = red"),
	    "t.conf:14: option 'meter.colour': unknown option",
	    "allowed in meter: type, link, host");
	ONE_ERROR(subst(base, "balancer {", "solar { x = 1 }\nbalancer {"),
	    "t.conf:13: option 'solar': unknown section",
	    "allowed site, csms, balancer");
	/* An unknown titled section inside a known one is skipped whole:
	 * the options after it are still read and checked. */
	CU_ASSERT_EQUAL(load(subst(base, "	available-power-kw = 40\n",
	    "	feeder \"x\" {\n y = 2\n }\n	available-power-kw = 4\n")), -1);
	CU_ASSERT_EQUAL(errs.n, 2);
	CU_ASSERT(err_has(0, "t.conf:6: option 'site.feeder': unknown option",
	    NULL));
	CU_ASSERT(err_has(1, "t.conf:9: option 'site.available-power-kw': "
	    "value '4'", "more than 8.4 kW"));
}

/* Text over 1 MiB (pushed text has no file size to check) is refused
 * before parsing, with its size; 1 MiB of comments is read. */
static void
test_text_size_bound(void)
{
	size_t max = 1024 * 1024, n = strlen(base);
	char *big = xmalloc(max + 2);

	memcpy(big, base, n);
	memset(big + n, '#', max - n);
	big[max] = '\0';
	/* one '#' line after the base: still a comment */
	big[n] = '\n';
	CU_ASSERT_EQUAL(load(big), 0);
	big[max] = '#';
	big[max + 1] = '\0';
	ONE_ERROR(big, "too large (1048577 bytes)", "at most 1048576 bytes");
	free(big);
}

static void
test_syntax_errors(void)
{
	ONE_ERROR(subst(base, "main-breaker-a = 63", "main-breaker-a 63"),
	    "t.conf:5: syntax error", "missing equal sign");
	/* libconfuse takes a file that ends inside a section; we do not. */
	CU_ASSERT_EQUAL(load("site {\n available-power-kw = 10\n"), -1);
	CU_ASSERT(errs.n >= 1);
	{
		int found = 0;

		for (size_t i = 0; i < errs.n; i++)
			found |= err_has(i, "t.conf:1: syntax error: section "
			    "'site' is not closed", NULL);
		CU_ASSERT(found);
	}
	CU_ASSERT_EQUAL(load("site {\n available-power-kw = 10\n"
	    " circuit \"a\" { max-current-a = 32 }\n"), -1);
	{
		int found = 0;

		for (size_t i = 0; i < errs.n; i++)
			found |= err_has(i, "t.conf:1: syntax error: section "
			    "'site' is not closed", NULL);
		CU_ASSERT(found);
	}
	ONE_ERROR(subst(base, "balancer { mode = \"alm\" }",
	    "balancer { mode = \"alm\" reserve-pct = 5\n reserve-pct = 6 }"),
	    "t.conf:14: option 'balancer.reserve-pct': given twice (first at "
	    "line 13)", NULL);
	ONE_ERROR(subst(base, "balancer {", "site { id = \"z\" }\nbalancer {"),
	    "t.conf:13: option 'site': section given twice (first at line 1)",
	    NULL);
}

static void
test_negative_and_malformed_numbers(void)
{
	ONE_ERROR(subst(base, "max-power-kw = 11", "max-power-kw = -11"),
	    "t.conf:16: option 'charger[b].max-power-kw': value '-11': out of "
	    "range", "allowed 1..1000 kW");
	ONE_ERROR(subst(base, "available-power-kw = 40",
	    "available-power-kw = -40"),
	    "t.conf:6: option 'site.available-power-kw': value '-40': out of "
	    "range", "allowed whole kW, 1..10000 kW");
	ONE_ERROR(subst(base, "port = 5020", "port = 50x"),
	    "t.conf:14: option 'meter.port': value '50x': not a whole number",
	    "allowed 1..65535");
	ONE_ERROR(subst(base, "port = 5020", "port = 65536"),
	    "t.conf:14: option 'meter.port': value '65536': out of range",
	    NULL);
	ONE_ERROR(subst(base, "max-power-kw = 11", "max-power-kw = nan"),
	    "t.conf:16: option 'charger[b].max-power-kw': value 'nan': not a "
	    "number", NULL);
	/* Missing: one message, not also "value '0': below the minimum
	 * charging power" about the default standing in. */
	ONE_ERROR(subst(base, " max-power-kw = 11", ""),
	    "t.conf:16: option 'charger[b].max-power-kw': missing",
	    "allowed 1..1000 kW");
}

static void
test_duplicate_names(void)
{
	char *text;

	xasprintf(&text, "%scharger \"a\" { model = \"autel-dc\" host = \"h2\" "
	    "max-power-kw = 50 }\n", base);
	ONE_ERROR(text, "t.conf:17: option 'charger': value 'a': duplicate "
	    "name (first defined at line 15)", "allowed unique charger names");
	free(text);
	/* Names: allowed characters and length (64 is one too many). */
	ONE_ERROR(subst(base, "charger \"b\"", "charger \"b 2\""),
	    "t.conf:16: option 'charger': value 'b 2': bad name",
	    "allowed 1..63 letters, digits");
	ONE_ERROR(subst(base, "charger \"b\"", "charger \"b123456789"
	    "1234567890123456789012345678901234567890123456789012345\""),
	    "t.conf:16: option 'charger': value 'b1234", "bad name");
	/* (and charger a's circuit "main" is then gone) */
	CU_ASSERT_EQUAL(load(subst(base, "circuit \"main\" {",
	    "circuit \"\" {")), -1);
	CU_ASSERT_EQUAL(errs.n, 2);
	CU_ASSERT(err_has(0, "t.conf:7: option 'site.circuit': value '': bad "
	    "name", NULL));
	CU_ASSERT(err_has(1, "t.conf:15: option 'charger[a].circuit': value "
	    "'main': no such circuit", NULL));
	ONE_ERROR(subst(base, "	circuit \"main\" { max-current-a = 63 }\n",
	    "	circuit \"main\" { max-current-a = 63 } circuit \"main\" "
	    "{ max-current-a = 32 }\n"),
	    "t.conf:7: option 'site.circuit': value 'main': duplicate name",
	    NULL);
}

static void
test_available_power(void)
{
	/* Whole kW only. */
	ONE_ERROR(subst(base, "available-power-kw = 40",
	    "available-power-kw = 40.5"), "t.conf:6: option "
	    "'site.available-power-kw': value '40.5': not a whole number of kW",
	    NULL);
	/* Two three-phase chargers: Pmin x N = 2 x 4.2 kW = 8.4 kW.  8 kW is
	 * not above it; 9 kW is (offline meter power 10 % = 0.9 kW). */
	ONE_ERROR(subst(base, "available-power-kw = 40",
	    "available-power-kw = 8"), "t.conf:6: option "
	    "'site.available-power-kw': value '8': not above the chargers' "
	    "minimum", "more than 8.4 kW (0 single-phase x 1.4 kW + 2 "
	    "three-phase x 4.2 kW)");
	CU_ASSERT_EQUAL(load(subst(base, "available-power-kw = 40",
	    "available-power-kw = 9")), 0);
	/* A single-phase charger counts 1.4 kW: 4.2 + 1.4 = 5.6 kW < 6. */
	CU_ASSERT_EQUAL(load(subst(subst(base, "available-power-kw = 40",
	    "available-power-kw = 6"), "connectors = 2 max-power-kw = 11",
	    "connectors = 2 phases = 1 max-power-kw = 7")), 0);
	/* Main breaker: 63 A x 230 V x 3 phases = 43.47 kW; 44 is above. */
	ONE_ERROR(subst(base, "available-power-kw = 40",
	    "available-power-kw = 44"), "t.conf:6: option "
	    "'site.available-power-kw': value '44': above what the main "
	    "breaker carries", "at most 43.47 kW (63 A x 230 V x 3 phases)");
	CU_ASSERT_EQUAL(load(subst(base, "available-power-kw = 40",
	    "available-power-kw = 43")), 0);
	/* Missing altogether. */
	ONE_ERROR(subst(base, "	available-power-kw = 40\n", "\n"),
	    "t.conf:1: option 'site.available-power-kw': missing", NULL);
}

static void
test_reserve_range(void)
{
	CU_ASSERT_EQUAL(load(subst(base, "mode = \"alm\"",
	    "mode = \"alm\" reserve-pct = 50")), 0);
	CU_ASSERT_EQUAL(cfg.balancer.reserve_pct, 50);
	CU_ASSERT_EQUAL(load(subst(base, "mode = \"alm\"",
	    "mode = \"alm\" reserve-pct = 0")), 0);
	ONE_ERROR(subst(base, "mode = \"alm\"", "mode = \"alm\" reserve-pct = 51"),
	    "t.conf:13: option 'balancer.reserve-pct': value '51': out of "
	    "range", "allowed 0..50 %");
	ONE_ERROR(subst(base, "mode = \"alm\"", "mode = \"alm\" reserve-pct = -1"),
	    "t.conf:13: option 'balancer.reserve-pct': value '-1'", NULL);
}

static void
test_connectors_per_model(void)
{
	ONE_ERROR(subst(base, "port = 5021", "port = 5021 connectors = 2"),
	    "t.conf:15: option 'charger[a].connectors': value '2': not "
	    "available on this model", "allowed 1..1 for autel-ac-wallbox");
	ONE_ERROR(subst(base, "connectors = 2", "connectors = 3"),
	    "t.conf:16: option 'charger[b].connectors': value '3'",
	    "allowed 1..2 for autel-ac-ultra");
	/* The Single Charger's table addresses one connector (it passed
	 * the check and failed at start when this allowed 2). */
	ONE_ERROR(subst(base, "\"autel-ac-ultra\"", "\"autel-single\""),
	    "t.conf:16: option 'charger[b].connectors': value '2'",
	    "allowed 1..1 for autel-single");
	/* DC: up to 8. */
	CU_ASSERT_EQUAL(load(subst(base, "\"autel-ac-ultra\" host = \"127.0.0.1\" "
	    "port = 5022 connectors = 2 max-power-kw = 11", "\"autel-dc\" host = "
	    "\"127.0.0.1\" port = 5022 connectors = 8 max-power-kw = 11")), 0);
	CU_ASSERT_EQUAL(cfg.chargers[1].model, CFG_MODEL_DC);
	CU_ASSERT_EQUAL(cfg.chargers[1].connectors, 8);
	ONE_ERROR(subst(base, "\"autel-ac-ultra\"", "\"autel-ac-mega\""),
	    "t.conf:16: option 'charger[b].model': value 'autel-ac-mega': "
	    "unknown value", "autel-ac-wallbox | autel-ac-compact");
}

static void
test_circuits(void)
{
	ONE_ERROR(subst(base, "circuit = \"main\"", "circuit = \"sub\""),
	    "t.conf:15: option 'charger[a].circuit': value 'sub': no such "
	    "circuit", NULL);
	ONE_ERROR(subst(base, "max-current-a = 63 }",
	    "max-current-a = 63 parent = \"up\" }"),
	    "t.conf:7: option 'site.circuit[main].parent': value 'up': no such "
	    "circuit", NULL);
	/* main -> sub -> main: a loop, reported for both circuits. */
	CU_ASSERT_EQUAL(load(subst(base, "max-current-a = 63 }",
	    "max-current-a = 63 parent = \"sub\" }\n"
	    "	circuit \"sub\" { max-current-a = 32 parent = \"main\" }")), -1);
	CU_ASSERT_EQUAL(errs.n, 2);
	CU_ASSERT(err_has(0, "t.conf:7: option 'site.circuit[main].parent'",
	    "circuits form a loop"));
	CU_ASSERT(err_has(1, "t.conf:8: option 'site.circuit[sub].parent'",
	    "circuits form a loop"));
	/* A proper tree is fine, and the index is filled in. */
	CU_ASSERT_EQUAL(load(subst(base, "max-current-a = 63 }",
	    "max-current-a = 63 }\n"
	    "	circuit \"sub\" { max-current-a = 32 parent = \"main\" }")), 0);
	CU_ASSERT_EQUAL(cfg.site.circuits[1].parent_index, 0);
	/* A child above its parent (and here above the main breaker too). */
	ONE_ERROR(subst(base, "max-current-a = 63 }",
	    "max-current-a = 63 }\n"
	    "	circuit \"sub\" { max-current-a = 40 parent = \"tiny\" }\n"
	    "	circuit \"tiny\" { max-current-a = 32 }"),
	    "t.conf:8: option 'site.circuit[sub].max-current-a': value '40': "
	    "above its parent circuit", "at most 32 A (circuit 'tiny')");
	CU_ASSERT_EQUAL(load(subst(base, "max-current-a = 63 }",
	    "max-current-a = 63 }\n"
	    "	circuit \"sub\" { max-current-a = 64 parent = \"main\" }")), -1);
	CU_ASSERT_EQUAL(errs.n, 2);
	CU_ASSERT(err_has(0, "t.conf:8: option 'site.circuit[sub].max-current-a'"
	    ": value '64': above the main breaker", "at most 63 A"));
	CU_ASSERT(err_has(1, "t.conf:8", "above its parent circuit"));
}

static void
test_offline_power_sum(void)
{
	/* 30 kW available; offline 20 + 11 = 31 kW > 30: reported at the
	 * charger that tips it over (b, line 16). */
	ONE_ERROR(subst(subst(subst(base, "available-power-kw = 40",
	    "available-power-kw = 30"), "max-power-kw = 22",
	    "max-power-kw = 22 offline-power-kw = 20"), "max-power-kw = 11",
	    "max-power-kw = 11 offline-power-kw = 11"),
	    "t.conf:16: option 'charger[b].offline-power-kw'",
	    "a total of at most 30 kW (site.available-power-kw); the sum up "
	    "to here is 31 kW");
	/* 20 + 10 = 30 kW is allowed. */
	CU_ASSERT_EQUAL(load(subst(subst(subst(base, "available-power-kw = 40",
	    "available-power-kw = 30"), "max-power-kw = 22",
	    "max-power-kw = 22 offline-power-kw = 20"), "max-power-kw = 11",
	    "max-power-kw = 11 offline-power-kw = 10")), 0);
	CU_ASSERT_EQUAL(cfg.chargers[0].offline_power_w, 20000);
	/* Offline power above the charger's own maximum. */
	ONE_ERROR(subst(base, "max-power-kw = 11",
	    "max-power-kw = 11 offline-power-kw = 12"),
	    "t.conf:16: option 'charger[b].offline-power-kw': value '12'",
	    "at most 11 kW (max-power-kw)");
}

static void
test_csms_security(void)
{
	/* Password 16..40 characters when set. */
	ONE_ERROR(subst(base, "identity = \"s1\"",
	    "identity = \"s1\" password = \"short\""),
	    "t.conf:11: option 'csms.password': value '(hidden)': wrong "
	    "length", "16..40");
	CU_ASSERT_EQUAL(load(subst(base, "identity = \"s1\"",
	    "identity = \"s1\" password = \"0123456789abcdef\"")), 0);
	ONE_ERROR(subst(base, "identity = \"s1\"", "identity = \"s1\" password "
	    "= \"0123456789012345678901234567890123456789x\""),
	    "t.conf:11: option 'csms.password': value '(hidden)': too long",
	    "at most 40 characters");
	CU_ASSERT_PTR_NULL(strstr(errs.msgs[0], "0123456789"));
	/* Profiles 2 and 3 need wss://. */
	ONE_ERROR(subst(base, "identity = \"s1\"",
	    "identity = \"s1\" security-profile = 2"),
	    "t.conf:10: option 'csms.url': value 'ws://127.0.0.1:9000/ocpp': "
	    "security profile 2 and 3 need TLS", NULL);
	CU_ASSERT_EQUAL(load(subst(subst(base, "ws://", "wss://"),
	    "identity = \"s1\"", "identity = \"s1\" security-profile = 2")), 0);
	/* Profile 3 needs a client certificate and key. */
	CU_ASSERT_EQUAL(load(subst(subst(base, "ws://", "wss://"),
	    "identity = \"s1\"", "identity = \"s1\" security-profile = 3")), -1);
	CU_ASSERT_EQUAL(errs.n, 2);
	/* Not given at all: reported at the section's line. */
	CU_ASSERT(err_has(0, "t.conf:9: option 'csms.client-cert'",
	    "security profile 3 needs"));
	CU_ASSERT(err_has(1, "t.conf:9: option 'csms.client-key'", NULL));
	/* A file that cannot be read. */
	ONE_ERROR(subst(base, "identity = \"s1\"",
	    "identity = \"s1\" ca-file = \"/nonexistent/ca.pem\""),
	    "t.conf:11: option 'csms.ca-file': value '/nonexistent/ca.pem': "
	    "cannot read: No such file or directory", NULL);
	/* Scheme and identity. */
	ONE_ERROR(subst(base, "ws://", "http://"),
	    "t.conf:10: option 'csms.url': value 'http://127.0.0.1:9000/ocpp':"
	    " not a websocket URL", NULL);
	ONE_ERROR(subst(base, "identity = \"s1\"", "identity = \"s/1\""),
	    "t.conf:11: option 'csms.identity': value 's/1': bad identity",
	    NULL);
}

static void
test_csms_version_and_missing(void)
{
	CU_ASSERT_EQUAL(load(subst(base, "identity = \"s1\"",
	    "identity = \"s1\" ocpp-version = \"2.0.1\"")), 0);
	CU_ASSERT_EQUAL(cfg.csms.ocpp_version, CFG_OCPP_201);
	ONE_ERROR(subst(base, "identity = \"s1\"",
	    "identity = \"s1\" ocpp-version = \"2.0\""),
	    "t.conf:11: option 'csms.ocpp-version': value '2.0'",
	    "allowed 1.6 | 2.0.1");
	ONE_ERROR(subst(base, "	identity = \"s1\"\n", "\n"),
	    "t.conf:9: option 'csms.identity': missing", NULL);
}

/* No backend: url and identity may be left out; a url needs the
 * identity. */
static void
test_csms_optional(void)
{
	CU_ASSERT_EQUAL(load(subst(base, "	url = \"ws://127.0.0.1:9000/ocpp\"\n"
	    "	identity = \"s1\"\n", "\n\n")), 0);
	CU_ASSERT_STRING_EQUAL(cfg.csms.url, "");
	ONE_ERROR(subst(base, "	identity = \"s1\"\n", "\n"),
	    "option 'csms.identity': missing", "required with csms.url");
}

/* Fail-safe: the offline limits (a 6 kW + b 5 kW = 11 kW) must fit the
 * offline-site power. */
static void
test_offline_site_power_fits(void)
{
	const char *t = subst(subst(base, "max-power-kw = 22 circuit",
	    "max-power-kw = 22 offline-power-kw = 6 circuit"),
	    "connectors = 2 max-power-kw = 11",
	    "connectors = 2 max-power-kw = 11 offline-power-kw = 5");

	CU_ASSERT_EQUAL(load(subst(t, "balancer { mode = \"alm\" }",
	    "balancer { mode = \"alm\" offline-site-power-kw = 11 }")), 0);
	t = subst(subst(base, "max-power-kw = 22 circuit",
	    "max-power-kw = 22 offline-power-kw = 6 circuit"),
	    "connectors = 2 max-power-kw = 11",
	    "connectors = 2 max-power-kw = 11 offline-power-kw = 5");
	ONE_ERROR(subst(t, "balancer { mode = \"alm\" }",
	    "balancer { mode = \"alm\" offline-site-power-kw = 10.9 }"),
	    "t.conf:13: option 'balancer.offline-site-power-kw': value '10.9': "
	    "below the chargers' offline powers", "at least 11 kW");
}

static void
test_unit_ids_per_link(void)
{
	/* Same host:port and unit id as the meter. */
	ONE_ERROR(subst(base, "port = 5021", "port = 5020"),
	    "t.conf:15: option 'charger[a].unit-id': value '1': already used "
	    "on this link", "meter on 127.0.0.1:port");
	/* Same host:port, other unit id: fine. */
	CU_ASSERT_EQUAL(load(subst(base, "port = 5021",
	    "port = 5020 unit-id = 2")), 0);
	/* RS-485: meter and charger b on one bus with the same slave id. */
	ONE_ERROR(subst(subst(base, "meter { host = \"127.0.0.1\" port = 5020 }",
	    "meter { link = \"rtu\" device = \"/dev/ttyS1\" }"),
	    "host = \"127.0.0.1\" port = 5022",
	    "link = \"rtu\" device = \"/dev/ttyS1\""),
	    "t.conf:16: option 'charger[b].unit-id': value '1': already used",
	    "meter on /dev/ttyS1");
	/* Different slave id, but other serial settings than the meter. */
	ONE_ERROR(subst(subst(base, "meter { host = \"127.0.0.1\" port = 5020 }",
	    "meter { link = \"rtu\" device = \"/dev/ttyS1\" }"),
	    "host = \"127.0.0.1\" port = 5022",
	    "link = \"rtu\" device = \"/dev/ttyS1\" unit-id = 3 baud = 19200"),
	    "t.conf:16: option 'charger[b].baud': value '19200': differs on one "
	    "bus", "allowed 9600, as meter on /dev/ttyS1");
	/* Another bus may have its own settings. */
	CU_ASSERT_EQUAL(load(subst(subst(base,
	    "meter { host = \"127.0.0.1\" port = 5020 }",
	    "meter { link = \"rtu\" device = \"/dev/ttyS1\" }"),
	    "host = \"127.0.0.1\" port = 5022",
	    "link = \"rtu\" device = \"/dev/ttyS2\" baud = 19200")), 0);
	CU_ASSERT_EQUAL(cfg.chargers[1].link.kind, CFG_LINK_RTU);
	CU_ASSERT_EQUAL(cfg.chargers[1].link.baud, 19200);
	/* rtu without a device. */
	ONE_ERROR(subst(base, "host = \"127.0.0.1\" port = 5022",
	    "link = \"rtu\""), "t.conf:16: option 'charger[b].device': value "
	    "'': empty for link rtu", NULL);
}

static void
test_tcp_listen_serials(void)
{
	ONE_ERROR(subst(base, "host = \"127.0.0.1\" port = 5022",
	    "link = \"tcp-listen\""), "t.conf:16: option 'charger[b].serial': "
	    "value '': empty for link tcp-listen", NULL);
	ONE_ERROR(subst(subst(base, "host = \"127.0.0.1\" port = 5021",
	    "link = \"tcp-listen\" serial = \"SN1\""),
	    "host = \"127.0.0.1\" port = 5022",
	    "link = \"tcp-listen\" serial = \"SN1\""),
	    "t.conf:16: option 'charger[b].serial': value 'SN1': already used",
	    "charger 'a'");
	CU_ASSERT_EQUAL(load(subst(subst(base, "host = \"127.0.0.1\" port = 5021",
	    "link = \"tcp-listen\" serial = \"SN1\""),
	    "host = \"127.0.0.1\" port = 5022",
	    "link = \"tcp-listen\" serial = \"SN2\"")), 0);
	CU_ASSERT_EQUAL(cfg.chargers[0].link.kind, CFG_LINK_TCP_LISTEN);
	ONE_ERROR(subst(base, "balancer {",
	    "southbound { listen = \"5502\" }\nbalancer {"),
	    "t.conf:13: option 'southbound.listen': value '5502': not an "
	    "address and port", NULL);
	CU_ASSERT_EQUAL(load(subst(base, "balancer {",
	    "southbound { listen = \"[::1]:0\" }\nbalancer {")), 0);
	CU_ASSERT_STRING_EQUAL(cfg.southbound.listen_host, "::1");
	CU_ASSERT_EQUAL(cfg.southbound.listen_port, 0);
}

static void
test_charger_power_and_phases(void)
{
	/* An AC charger delivers at most 22 kW (3 x 32 A x 230 V). */
	ONE_ERROR(subst(base, "max-power-kw = 22", "max-power-kw = 23"),
	    "t.conf:15: option 'charger[a].max-power-kw': value '23': above "
	    "what an AC charger delivers", "at most 22 kW");
	/* Below the minimum charging power of a three-phase charger. */
	ONE_ERROR(subst(base, "max-power-kw = 22", "max-power-kw = 4"),
	    "t.conf:15: option 'charger[a].max-power-kw': value '4': below the "
	    "minimum charging power", "at least 4.2 kW");
	/* A three-phase charger on a single-phase site. */
	CU_ASSERT_EQUAL(load(subst(subst(subst(base, "\"3-phase-tn\"",
	    "\"1-phase-tn\""), "max-power-kw = 22",
	    "max-power-kw = 7 phases = 1"), "available-power-kw = 40",
	    "available-power-kw = 14")), -1);
	CU_ASSERT_EQUAL(errs.n, 1);
	CU_ASSERT(err_has(0, "t.conf:16: option 'charger[b].phases'",
	    "a three-phase charger on a single-phase site"));
	ONE_ERROR(subst(base, "connectors = 2", "connectors = 2 phases = 2"),
	    "t.conf:16: option 'charger[b].phases': value '2': unknown value",
	    "allowed 1 | 3");
	/* Wired phase of a single-phase charger. */
	CU_ASSERT_EQUAL(load(subst(base, "connectors = 2",
	    "connectors = 2 phases = 1 wired-phase = \"L3\"")), -1);
	CU_ASSERT(err_has(0, "charger[b].max-power-kw", "7.4 kW"));
	CU_ASSERT_EQUAL(load(subst(base, "connectors = 2 max-power-kw = 11",
	    "connectors = 2 phases = 1 wired-phase = \"L3\" max-power-kw = 7.4")),
	    0);
	CU_ASSERT_EQUAL(cfg.chargers[1].wired_phase, CFG_PHASE_L3);
	CU_ASSERT_EQUAL(cfg.chargers[1].max_power_w, 7400);
}

/* Five circuits of 400 A for the charger-count tests. */
#define CIRCUITS "circuit \"k0\" { max-current-a = 400 } " \
	"circuit \"k1\" { max-current-a = 400 } " \
	"circuit \"k2\" { max-current-a = 400 } " \
	"circuit \"k3\" { max-current-a = 400 } " \
	"circuit \"k4\" { max-current-a = 400 }"

static void
test_charger_count(void)
{
	char *text, *more, *tmp;

	/* An unknown section name does not count as a charger. */
	ONE_ERROR(subst(base, "charger \"b\"", "chargr \"b\""),
	    "t.conf:16: option 'chargr': unknown section", NULL);
	/* None, and no backend to be given a site by. */
	CU_ASSERT_EQUAL(load("site { available-power-kw = 10 }\n"), -1);
	CU_ASSERT_EQUAL(errs.n, 1);
	CU_ASSERT(err_has(0, "t.conf: option 'charger': no charger defined",
	    "allowed 1..200"));
	CU_ASSERT(err_has(0, "csms url", NULL));

	/* 200 is the most: 200 x 4.2 kW = 840 kW < 1000 kW available, and
	 * 2000 A x 230 V x 3 = 1380 kW on the breaker; 40 per circuit. */
	more = xstrdup("");
	for (int i = 0; i < 200; i++) {
		xasprintf(&tmp, "%scharger \"c%d\" { model = \"autel-ac-wallbox\" "
		    "host = \"h\" port = %d max-power-kw = 11 circuit = "
		    "\"k%d\" }\n", more, i, 1000 + i, i / 40);
		free(more);
		more = tmp;
	}
	xasprintf(&text, "site { available-power-kw = 1000 "
	    "main-breaker-a = 2000 " CIRCUITS " }\n"
	    "csms { url = \"ws://h/\" identity = \"x\" }\n%s", more);
	CU_ASSERT_EQUAL(load(text), 0);
	CU_ASSERT_EQUAL(cfg.n_chargers, 200);
	free(text);
	/* 201 is one too many (line 203: two header lines + 201). */
	xasprintf(&text, "site { available-power-kw = 1000 "
	    "main-breaker-a = 2000 " CIRCUITS " }\n"
	    "csms { url = \"ws://h/\" identity = \"x\" }\n%s"
	    "charger \"c200\" { model = \"autel-ac-wallbox\" host = \"h\" "
	    "port = 999 max-power-kw = 11 }\n", more);
	ONE_ERROR(text, "t.conf:203: option 'charger': 201 chargers defined",
	    "allowed 1..200");
	free(text);
	free(more);
	/* 41 on one circuit: the 41st is refused (manual §2.1). */
	more = xstrdup("");
	for (int i = 0; i < 41; i++) {
		xasprintf(&tmp, "%scharger \"c%d\" { model = \"autel-ac-wallbox\" "
		    "host = \"h\" port = %d max-power-kw = 11 circuit = "
		    "\"k0\" }\n", more, i, 1000 + i);
		free(more);
		more = tmp;
	}
	xasprintf(&text, "site { available-power-kw = 1000 "
	    "main-breaker-a = 2000 " CIRCUITS " }\n"
	    "csms { url = \"ws://h/\" identity = \"x\" }\n%s", more);
	ONE_ERROR(text, "t.conf:43: option 'charger[c40].circuit': value 'k0': "
	    "one charger too many on this circuit", "at most 40 chargers per "
	    "circuit");
	free(text);
	free(more);
}

static void
test_meter_needed_by_alm(void)
{
	ONE_ERROR(subst(base, "meter { host = \"127.0.0.1\" port = 5020 }",
	    "meter { }"), "t.conf:14: option 'meter.host': value '': empty for "
	    "link tcp", NULL);
	/* DLB works without a meter. */
	CU_ASSERT_EQUAL(load(subst(subst(base,
	    "meter { host = \"127.0.0.1\" port = 5020 }", "meter { }"),
	    "mode = \"alm\"", "mode = \"dlb\"")), 0);
	CU_ASSERT_EQUAL(cfg.balancer.mode, CFG_BAL_DLB);
	/* Offline powers of the balancer stay within the available power. */
	ONE_ERROR(subst(base, "mode = \"alm\"",
	    "mode = \"alm\" offline-site-power-kw = 41"),
	    "t.conf:13: option 'balancer.offline-site-power-kw': value '41': "
	    "above the available power", "0..40 kW");
}

static void
test_line_numbers_survive_comments(void)
{
	/* libconfuse 3.3 alone would put this error on line 14. */
	const char *text = subst(base, "csms {\n",
	    "# one\n# two\n// three\n/* four\n five */\ncsms {\n");

	ONE_ERROR(subst(text, "identity = \"s1\"", "identity = \"s/1\""),
	    "t.conf:16: option 'csms.identity'", NULL);
	/* Strings keep '#' and '//' inside quotes. */
	CU_ASSERT_EQUAL(load(subst(base, "ocpp\"", "ocpp#x//y\"")), 0);
	CU_ASSERT_STRING_EQUAL(cfg.csms.url, "ws://127.0.0.1:9000/ocpp#x//y");
}

static void
test_dump(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp;

	CU_ASSERT_EQUAL_FATAL(load(subst(base, "identity = \"s1\"",
	    "identity = \"s1\" password = \"0123456789abcdef\"")), 0);
	fp = open_memstream(&buf, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	cfg_dump(&cfg, fp);
	fclose(fp);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "available-power-kw = 40\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "offline-meter-power-kw = 4\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "min-power-1ph-kw = 1.4\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "charger \"b\" {"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "# password: set (not shown)"));
	CU_ASSERT_PTR_NULL(strstr(buf, "0123456789abcdef"));
	/* What is printed loads again to the same settings, all but the
	 * password (not printed). */
	{
		char *copy = xstrdup(buf);
		struct cfg before = cfg;

		memset(&cfg, 0, sizeof(cfg)); /* keep before's arrays */
		CU_ASSERT_EQUAL_FATAL(load(copy), 0);
		CU_ASSERT_EQUAL(memcmp(&cfg.balancer, &before.balancer,
		    sizeof(cfg.balancer)), 0);
		CU_ASSERT_EQUAL(memcmp(&cfg.meter, &before.meter,
		    sizeof(cfg.meter)), 0);
		CU_ASSERT_EQUAL(memcmp(&cfg.southbound, &before.southbound,
		    sizeof(cfg.southbound)), 0);
		CU_ASSERT_EQUAL(memcmp(&cfg.store, &before.store,
		    sizeof(cfg.store)), 0);
		CU_ASSERT_EQUAL(memcmp(&cfg.log, &before.log, sizeof(cfg.log)),
		    0);
		CU_ASSERT_EQUAL(cfg.site.available_power_w,
		    before.site.available_power_w);
		CU_ASSERT_EQUAL(cfg.site.distribution, before.site.distribution);
		CU_ASSERT_EQUAL_FATAL(cfg.site.n_circuits, before.site.n_circuits);
		CU_ASSERT_EQUAL(memcmp(cfg.site.circuits, before.site.circuits,
		    cfg.site.n_circuits * sizeof(*cfg.site.circuits)), 0);
		CU_ASSERT_EQUAL_FATAL(cfg.n_chargers, before.n_chargers);
		CU_ASSERT_EQUAL(memcmp(cfg.chargers, before.chargers,
		    cfg.n_chargers * sizeof(*cfg.chargers)), 0);
		CU_ASSERT_STRING_EQUAL(cfg.csms.url, before.csms.url);
		CU_ASSERT_EQUAL(cfg.csms.heartbeat_interval_s,
		    before.csms.heartbeat_interval_s);
		CU_ASSERT_STRING_EQUAL(cfg.csms.password, "");
		cfg_clear(&before);
		free(copy);
	}
	free(buf);
}

/* Next value of a fixed-seed generator, so failures repeat. */
static unsigned
next_rand(unsigned *state)
{
	*state = *state * 1103515245u + 12345u;
	return (*state >> 16) & 0x7fff;
}

static void
test_mutations_never_crash(void)
{
	static const char pieces[] = "{}()=,+\"'#/*$\n x9-.";
	unsigned seed = 2026;
	int failed_quietly = 0, loaded = 0, refused = 0;

	/* 3000 copies of the base file, each with 1..4 bytes replaced,
	 * inserted or deleted.  Each load must succeed, or fail with at
	 * least one message that starts with the file name. */
	for (int round = 0; round < 3000; round++) {
		size_t len = strlen(base);
		char *text = xmalloc(len + 8);
		int edits = 1 + (int)(next_rand(&seed) % 4);

		memcpy(text, base, len + 1);
		for (int e = 0; e < edits && len > 0; e++) {
			size_t at = next_rand(&seed) % len;
			char c = pieces[next_rand(&seed) % (sizeof(pieces) - 1)];

			switch (next_rand(&seed) % 3) {
			case 0:
				text[at] = c;
				break;
			case 1:
				memmove(text + at + 1, text + at, len - at + 1);
				text[at] = c;
				len++;
				break;
			default:
				memmove(text + at, text + at + 1, len - at);
				len--;
				break;
			}
		}
		cfg_clear(&cfg);
		cfg_errors_free(&errs);
		if (cfg_load_string("t.conf", text, &cfg, &errs) == 0) {
			loaded++;
			if (errs.n != 0)
				failed_quietly++;
		} else {
			refused++;
			if (errs.n == 0 || strncmp(errs.msgs[0], "t.conf", 6) != 0)
				failed_quietly++;
		}
		free(text);
	}
	printf("(%d loaded, %d refused) ", loaded, refused);
	CU_ASSERT_EQUAL(failed_quietly, 0);
	CU_ASSERT(refused > 1000); /* the mutations do hit */
}

/* Releases what the last test left. */
static int
cleanup(void)
{
	cfg_clear(&cfg);
	cfg_errors_free(&errs);
	return 0;
}

/* A backend's value is checked by the schema's own table: the same type
 * and range as in the file, named as in the file. */
static void
test_check_override(void)
{
	char *cause = NULL;
	long v = -1;

	CU_ASSERT_EQUAL(cfg_check_override("balancer.mode", "pv", &v, &cause),
	    0);
	CU_ASSERT_EQUAL(v, CFG_BAL_PV);
	CU_ASSERT_EQUAL(cfg_check_override("balancer.min-power-1ph-kw", "1.5",
	    &v, &cause), 0);
	CU_ASSERT_EQUAL(v, 1500);
	CU_ASSERT_EQUAL(cfg_check_override("balancer.reserve-pct", "50", &v,
	    &cause), 0);
	CU_ASSERT_EQUAL(v, 50);
	CU_ASSERT_EQUAL(cfg_check_override("balancer.mode", "eco", &v,
	    &cause), -1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
	CU_ASSERT_STRING_EQUAL(cause, "balancer.mode: 'eco' unknown value: "
	    "allowed dlb, alm, pv");
	free(cause);
	cause = NULL;
	CU_ASSERT_EQUAL(cfg_check_override("site.available-power-kw", "40.5",
	    &v, &cause), -1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "not a whole number of kW"));
	free(cause);
	cause = NULL;
	CU_ASSERT_EQUAL(cfg_check_override("balancer.min-power-3ph-kw", "23",
	    &v, &cause), -1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "out of range: allowed 4.2..22 kW"));
	free(cause);
	cause = NULL;
	/* not an option, a titled section's, or text: never overridable */
	CU_ASSERT_EQUAL(cfg_check_override("balancer.turbo", "1", &v, &cause),
	    -1);
	free(cause);
	cause = NULL;
	CU_ASSERT_EQUAL(cfg_check_override("site.id", "x", &v, &cause), -1);
	free(cause);
	cause = NULL;
	CU_ASSERT_EQUAL(cfg_check_override("mode", "dlb", &v, &cause), -1);
	free(cause);
}

/* A pinned ocpp-id may be any id no other connector has: the chargers
 * after it follow it; a pin over another's ids names the clash. */
static void
test_ocpp_id_pins(void)
{
	int first[2];

	CU_ASSERT_EQUAL_FATAL(load(subst(base, "connectors = 2",
	    "connectors = 2 ocpp-id = 10")), 0);
	CU_ASSERT_EQUAL(cfg.chargers[1].ocpp_id, 10);
	CU_ASSERT_EQUAL_FATAL(cfg_assign_ids(&cfg, NULL, first, NULL), 0);
	CU_ASSERT_EQUAL(first[0], 1);
	CU_ASSERT_EQUAL(first[1], 10);
	/* a pinned after b's ids: b, unpinned, takes the next ones */
	CU_ASSERT_EQUAL_FATAL(load(subst(base, "port = 5021",
	    "port = 5021 ocpp-id = 7")), 0);
	CU_ASSERT_EQUAL_FATAL(cfg_assign_ids(&cfg, NULL, first, NULL), 0);
	CU_ASSERT_EQUAL(first[0], 7);
	CU_ASSERT_EQUAL(first[1], 8);
	/* after a pinned on the highest id, b counts on from 1 */
	CU_ASSERT_EQUAL_FATAL(load(subst(base, "port = 5021",
	    "port = 5021 ocpp-id = 1600")), 0);
	CU_ASSERT_EQUAL_FATAL(cfg_assign_ids(&cfg, NULL, first, NULL), 0);
	CU_ASSERT_EQUAL(first[0], 1600);
	CU_ASSERT_EQUAL(first[1], 1);
	/* b unpinned after a pinned at 2: ids 3 and 4, 1 stays unused */
	CU_ASSERT_EQUAL_FATAL(load(subst(base, "port = 5021",
	    "port = 5021 ocpp-id = 2")), 0);
	CU_ASSERT_EQUAL_FATAL(cfg_assign_ids(&cfg, NULL, first, NULL), 0);
	CU_ASSERT_EQUAL(first[1], 3);
	ONE_ERROR(subst(subst(base, "port = 5021", "port = 5021 ocpp-id = 5"),
	    "connectors = 2", "connectors = 2 ocpp-id = 4"),
	    "t.conf:16: option 'charger[b].ocpp-id': value '4': ids 4..5 "
	    "clash with charger \"a\" (line 15: ids 5..5)",
	    "allowed an id no other connector has");
	ONE_ERROR(subst(base, "connectors = 2", "connectors = 2 ocpp-id = 1600"),
	    "t.conf:16: option 'charger[b].ocpp-id': value '1600': its "
	    "connectors would end past the highest id", "allowed 1..1599 for "
	    "2 connectors");
	ONE_ERROR(subst(base, "connectors = 2", "connectors = 2 ocpp-id = 0x"),
	    "t.conf:16: option 'charger[b].ocpp-id'", "");
}

/* The ids a charger had are kept (a removed charger leaves a gap); a pin
 * wins over them; a charger without either follows the one before. */
static void
test_ocpp_id_kept(void)
{
	int first[2];
	const int gap[2] = { 1, 5 }, swapped[2] = { 3, 1 }, taken[2] = { 0, 1 };
	const int beyond[2] = { 0, CFG_MAX_OCPP_ID };

	CU_ASSERT_EQUAL_FATAL(load(base), 0);
	CU_ASSERT_EQUAL_FATAL(cfg_assign_ids(&cfg, NULL, first, NULL), 0);
	CU_ASSERT_EQUAL(first[0], 1);
	CU_ASSERT_EQUAL(first[1], 2);
	CU_ASSERT_EQUAL_FATAL(cfg_assign_ids(&cfg, gap, first, NULL), 0);
	CU_ASSERT_EQUAL(first[0], 1);
	CU_ASSERT_EQUAL(first[1], 5);
	CU_ASSERT_EQUAL_FATAL(cfg_assign_ids(&cfg, swapped, first, NULL), 0);
	CU_ASSERT_EQUAL(first[0], 3);
	CU_ASSERT_EQUAL(first[1], 1);
	/* a new charger does not take the ids b had: it goes after them */
	CU_ASSERT_EQUAL_FATAL(cfg_assign_ids(&cfg, taken, first, NULL), 0);
	CU_ASSERT_EQUAL(first[0], 3);
	CU_ASSERT_EQUAL(first[1], 1);
	/* a kept id range past the last id is not kept */
	CU_ASSERT_EQUAL_FATAL(cfg_assign_ids(&cfg, beyond, first, NULL), 0);
	CU_ASSERT_EQUAL(first[1], 2);
	/* a pin wins over the ids another charger had */
	CU_ASSERT_EQUAL_FATAL(load(subst(base, "port = 5021",
	    "port = 5021 ocpp-id = 5")), 0);
	CU_ASSERT_EQUAL_FATAL(cfg_assign_ids(&cfg, gap, first, NULL), 0);
	CU_ASSERT_EQUAL(first[0], 5);
	CU_ASSERT_EQUAL(first[1], 6);
}

/* A bootstrap file: csms and nothing of the site is valid (provisioning
 * mode); the site's required options are not asked for. */
static void
test_bootstrap_file(void)
{
	CU_ASSERT_EQUAL_FATAL(load("csms { url = \"ws://127.0.0.1:9/\" "
	    "identity = \"gw\" }\nstore { path = \"x.db\" }\n"), 0);
	CU_ASSERT_EQUAL(cfg.n_chargers, 0);
	CU_ASSERT(cfg_provisioning(&cfg));
	/* What it does give is still checked. */
	ONE_ERROR("csms { url = \"ws://127.0.0.1:9/\" identity = \"gw\" }\n"
	    "balancer { reserve-pct = 90 }\n", "t.conf:2: option "
	    "'balancer.reserve-pct': value '90'", "allowed 0..50");
}

/* The site part of base (lines 1-8 and 13-16), for pushes. */
static const char *pushed_site =
    "site {\n"                                             /* 1 */
    "	id = \"s1\"\n"                                      /* 2 */
    "	main-breaker-a = 63\n"                              /* 3 */
    "	available-power-kw = 40\n"                          /* 4 */
    "	circuit \"main\" { max-current-a = 63 }\n"          /* 5 */
    "}\n"                                                  /* 6 */
    "balancer { mode = \"alm\" }\n"                         /* 7 */
    "meter { host = \"127.0.0.1\" port = 5020 }\n"          /* 8 */
    "charger \"a\" { model = \"autel-ac-wallbox\" host = \"127.0.0.1\" "
    "port = 5021 max-power-kw = 22 circuit = \"main\" }\n"  /* 9 */
    "charger \"b\" { model = \"autel-ac-ultra\" host = \"127.0.0.1\" "
    "port = 5022 connectors = 2 max-power-kw = 11 }\n";    /* 10 */

/* Loads text as a push over the file-only sections of file_text. */
static int
load_pushed_over(const char *file_text, const char *text)
{
	struct cfg file;
	struct cfg_errors ferr = { 0 };
	int rc;

	CU_ASSERT_EQUAL_FATAL(cfg_load_string("f.conf", file_text, &file,
	    &ferr), 0);
	cfg_clear(&cfg);
	cfg_errors_free(&errs);
	rc = cfg_load_site("push", text, &file, &cfg, &errs);
	for (size_t i = 0; i < errs.n; i++)
		printf("\n    | %s", errs.msgs[i]);
	cfg_clear(&file);
	return rc;
}

/* Loads text as a push over base's file-only sections. */
static int
load_pushed(const char *text)
{
	return load_pushed_over(base, text);
}

/* A push names only the hosts and serial devices the file allows; the
 * file's lists are checked like any other option. */
static void
test_pushed_site_hosts(void)
{
#define SITE_FMT "site { available-power-kw = 40 }\n" \
	"charger \"a\" { model = \"autel-ac-wallbox\" host = \"%s\"\n" \
	"	max-power-kw = 22 }\n" \
	"charger \"b\" { model = \"autel-ac-wallbox\" link = \"rtu\"\n" \
	"	device = \"%s\" max-power-kw = 22 }\n"
#define FILE_FMT "csms {\n" \
	"	url = \"ws://127.0.0.1:9000/ocpp\"\n" \
	"	identity = \"s1\"\n" \
	"	remote-site-hosts = \"%s\"\n" \
	"}\n"
	struct { const char *hosts, *host, *device; int errors; } cases[] = {
		/* the defaults: private, link-local, loopback, mDNS */
		{ NULL, "10.1.2.3", "/dev/ttyUSB0", 0 },
		{ NULL, "192.168.178.20", "/dev/serial/by-id/usb-FTDI_1", 0 },
		{ NULL, "fd12::5", "/dev/ttyAMA0", 0 },
		{ NULL, "Wallbox-7.LOCAL", "/dev/ttyS1", 0 },
		{ NULL, "8.8.8.8", "/dev/ttyUSB0", 1 },
		{ NULL, "172.32.0.1", "/dev/sda", 2 },
		{ NULL, "charger.example.com", "/dev/serial/by-id/../../sda", 2 },
		{ NULL, "2001:db8::1", "/etc/passwd", 2 },
		/* the file's own list */
		{ "192.168.1.0/24 *.site.lan", "192.168.1.200", "/dev/ttyUSB0",
		  0 },
		{ "192.168.1.0/24 *.site.lan", "bay3.site.lan", "/dev/ttyUSB0",
		  0 },
		{ "192.168.1.0/24 *.site.lan", "192.168.2.1", "/dev/ttyUSB0",
		  1 },
		{ "192.168.1.0/24 *.site.lan", "10.0.0.1", "/dev/ttyUSB0", 1 },
		{ "*", "203.0.113.9", "/dev/ttyUSB0", 0 },
	};
	char file[512], push[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].hosts != NULL)
			snprintf(file, sizeof(file), FILE_FMT, cases[i].hosts);
		snprintf(push, sizeof(push), SITE_FMT, cases[i].host,
		    cases[i].device);
		if (cases[i].errors == 0) {
			CU_ASSERT_EQUAL(load_pushed_over(cases[i].hosts ? file :
			    base, push), 0);
			continue;
		}
		CU_ASSERT_EQUAL(load_pushed_over(cases[i].hosts ? file : base,
		    push), -1);
		CU_ASSERT_EQUAL(errs.n, (size_t)cases[i].errors);
		if (cases[i].errors == 2 || strchr(cases[i].device, 'U') == NULL)
			CU_ASSERT(err_has(errs.n - 1, "push:5: option "
			    "'charger[b].device'", "not allowed in a pushed "
			    "site: allowed a device of csms.remote-site-devices"));
		if (strchr(cases[i].host, '.') || strchr(cases[i].host, ':'))
			CU_ASSERT(err_has(0, "push:2: option 'charger[a].host'",
			    "not allowed in a pushed site: allowed a host of "
			    "csms.remote-site-hosts"));
	}

	/* The file's lists are checked where they are written. */
	snprintf(file, sizeof(file), FILE_FMT, "10.0.0.0/33");
	ONE_ERROR(file, "t.conf:4: option 'csms.remote-site-hosts': value "
	    "'10.0.0.0/33'", "not an address prefix");
	snprintf(file, sizeof(file), FILE_FMT, "10.0.0.0/8 bays/2");
	ONE_ERROR(file, "t.conf:4: option 'csms.remote-site-hosts'",
	    "'bays/2' is not an address prefix");
	/* A site in the file itself names what it likes. */
	snprintf(file, sizeof(file), FILE_FMT, "10.0.0.0/8");
	strcat(file, "site { available-power-kw = 40 }\n"
	    "charger \"a\" { model = \"autel-ac-wallbox\" host = "
	    "\"198.51.100.7\" max-power-kw = 22 }\n");
	CU_ASSERT_EQUAL(load(file), 0);
#undef SITE_FMT
#undef FILE_FMT
}

/* A pushed site: the same parser and checks, its own line numbers, the
 * file-only sections from the file and refused in the push. */
static void
test_pushed_site(void)
{
	CU_ASSERT_EQUAL_FATAL(load_pushed(pushed_site), 0);
	CU_ASSERT_EQUAL(cfg.n_chargers, 2);
	CU_ASSERT_STRING_EQUAL(cfg.csms.url, "ws://127.0.0.1:9000/ocpp");
	CU_ASSERT_STRING_EQUAL(cfg.csms.identity, "s1");

	/* Five mistakes, five lines, numbered in the pushed text. */
	CU_ASSERT_EQUAL(load_pushed("site {\n"
	    "	available-power-kw = 40\n"
	    "	colour = \"blue\"\n"
	    "}\n"
	    "balancer { mode = \"turbo\" reserve-pct = 60 }\n"
	    "charger \"a\" { model = \"autel-ac-wallbox\" host = \"127.0.0.1\"\n"
	    "	port = 70000 max-power-kw = 22 }\n"
	    "csms { url = \"ws://10.0.0.1/\" }\n"), -1);
	CU_ASSERT_EQUAL(errs.n, 5);
	CU_ASSERT(err_has(0, "push:3: option 'site.colour'", NULL));
	CU_ASSERT(err_has(1, "push:5: option 'balancer.mode': value 'turbo'",
	    NULL));
	CU_ASSERT(err_has(2, "push:5: option 'balancer.reserve-pct'", NULL));
	CU_ASSERT(err_has(3, "push:7: option 'charger[a].port'", NULL));
	CU_ASSERT(err_has(4, "push:8: section 'csms': set in the gateway's "
	    "file only", NULL));

	/* A push must define the chargers: no provisioning mode from it. */
	CU_ASSERT_EQUAL(load_pushed("site { available-power-kw = 40 }\n"), -1);
	CU_ASSERT(err_has(0, "no charger defined", NULL));
}

int
main(void)
{
	static const struct cu_test load_tests[] = {
		{ "base file valid, defaults filled in",
		  test_base_is_valid_with_defaults },
		{ "shipped etc/ocpp-edge.conf valid", test_shipped_file_is_valid },
		{ "five mistakes, five messages", test_five_mistakes_five_messages },
		{ "missing, directory, unreadable file", test_file_errors },
		{ "unknown options and sections",
		  test_unknown_options_and_sections },
		{ "syntax errors", test_syntax_errors },
		{ "text over 1 MiB refused", test_text_size_bound },
		{ "negative and malformed numbers",
		  test_negative_and_malformed_numbers },
		{ "duplicate names", test_duplicate_names },
		{ "line numbers survive comments",
		  test_line_numbers_survive_comments },
		{ "effective settings printed", test_dump },
		{ "mutated files never crash", test_mutations_never_crash },
		{ NULL, NULL },
	};
	static const struct cu_test cross_tests[] = {
		{ "available power", test_available_power },
		{ "no backend", test_csms_optional },
		{ "offline-site power fits the offline limits",
		  test_offline_site_power_fits },
		{ "reserve 0..50 %", test_reserve_range },
		{ "connectors per model", test_connectors_per_model },
		{ "circuits exist, no loop", test_circuits },
		{ "sum of offline powers", test_offline_power_sum },
		{ "csms security profiles", test_csms_security },
		{ "csms version, required options",
		  test_csms_version_and_missing },
		{ "unit ids per link, one bus one setting",
		  test_unit_ids_per_link },
		{ "tcp-listen serials, listen address", test_tcp_listen_serials },
		{ "charger power and phases", test_charger_power_and_phases },
		{ "1..200 chargers", test_charger_count },
		{ "ocpp-id pins the first connector's id", test_ocpp_id_pins },
		{ "the ids a charger had are kept", test_ocpp_id_kept },
		{ "bootstrap file: provisioning mode", test_bootstrap_file },
		{ "pushed site: same checks, file-only sections kept",
		  test_pushed_site },
		{ "pushed site: only the hosts and devices the file allows",
		  test_pushed_site_hosts },
		{ "meter needed by alm", test_meter_needed_by_alm },
		{ "backend overrides checked by the schema",
		  test_check_override },
		{ NULL, NULL },
	};
	static const struct cu_suite suites[] = {
		{ "config-load", NULL, cleanup, load_tests },
		{ "config-cross-checks", NULL, cleanup, cross_tests },
		{ NULL, NULL, NULL, NULL },
	};

	return cu_run(suites);
}
