/* Prints values out of a JSON line for the shell tests: reads the first
 * line of stdin (a leading "ok " as in the simulator's replies is
 * skipped) and prints, one line per PATH, the value at that path ("a.b.0.c":
 * object keys and array indexes); strings raw, numbers as integers when
 * whole, anything else as compact JSON; "missing" when absent.  Exit 1
 * when the input is not JSON.  Usage: json-get PATH... */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The value at a dotted path, or NULL. */
static json_t *
walk(json_t *v, const char *path)
{
	char *copy = strdup(path), *save = NULL;

	for (char *tok = strtok_r(copy, ".", &save); tok != NULL && v != NULL;
	    tok = strtok_r(NULL, ".", &save)) {
		if (json_is_array(v)) {
			char *end;
			long i = strtol(tok, &end, 10);

			v = *end == '\0' ? json_array_get(v, (size_t)i) : NULL;
		} else {
			v = json_object_get(v, tok);
		}
	}
	free(copy);
	return v;
}

int
main(int argc, char **argv)
{
	static char line[1 << 20];
	json_error_t err;
	json_t *root;
	char *p = line;

	if (fgets(line, sizeof(line), stdin) == NULL)
		return 1;
	if (strncmp(p, "ok ", 3) == 0)
		p += 3;
	root = json_loads(p, JSON_DECODE_ANY, &err);
	if (root == NULL) {
		fprintf(stderr, "json-get: %s\n", err.text);
		return 1;
	}
	for (int i = 1; i < argc; i++) {
		json_t *v = walk(root, argv[i]);

		if (v == NULL) {
			puts("missing");
		} else if (json_is_string(v)) {
			puts(json_string_value(v));
		} else if (json_is_real(v) && json_real_value(v) ==
		    floor(json_real_value(v)) && fabs(json_real_value(v)) < 1e15) {
			printf("%.0f\n", json_real_value(v));
		} else {
			char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

			puts(s);
			free(s);
		}
	}
	json_decref(root);
	return 0;
}
