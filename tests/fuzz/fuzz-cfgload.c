/* Fuzz target: the configuration parser, cfg_load_string(), the path of
 * the file read at start and on reload and of site text pushed by the
 * backend.  Any bytes are the text (cut at the first NUL, as a C string
 * is); a load must end either with a configuration or with messages, and
 * every message must be a string. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "config/config.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t len);

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t len)
{
	struct cfg_errors errors = { 0 };
	struct cfg cfg;
	char *text;

	text = xmalloc(len + 1);
	memcpy(text, data, len);
	text[len] = '\0';
	if (cfg_load_string("fuzz.conf", text, &cfg, &errors) == 0) {
		if (errors.n != 0)
			abort(); /* success reports no error */
		cfg_clear(&cfg);
	} else {
		if (errors.n == 0)
			abort(); /* a failure says why */
		for (size_t i = 0; i < errors.n; i++)
			if (errors.msgs[i] == NULL || strlen(errors.msgs[i]) == 0)
				abort();
		cfg_errors_free(&errors);
	}
	free(text);
	return 0;
}
