/* Which devices a site pushed by the backend may name: the file's
 * csms.remote-site-hosts (address prefixes and host-name patterns) and
 * csms.remote-site-devices (serial device path patterns).  A backend
 * that can set the site must not be able to point the gateway's Modbus
 * links at any host of the network it sits in, or at any file. */
#include "config/config-private.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

#define ALLOW_SEP " \t,"

/* An address prefix: "ADDR" or "ADDR/BITS". */
struct prefix {
	int family;
	unsigned char addr[16];
	int bits;
};

/* Parses word as an address prefix.  Returns 1 when it is one, 0 when it
 * is not an address at all (a name pattern), -1 when it is an address
 * with a bad length. */
static int
parse_prefix(const char *word, struct prefix *p)
{
	char buf[INET6_ADDRSTRLEN + 8];
	char *slash, *end;
	long bits;
	int max;

	if (strlen(word) >= sizeof(buf))
		return 0;
	strcpy(buf, word);
	slash = strchr(buf, '/');
	if (slash != NULL)
		*slash = '\0';
	if (inet_pton(AF_INET, buf, p->addr) == 1) {
		p->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, p->addr) == 1) {
		p->family = AF_INET6;
		max = 128;
	} else {
		return 0;
	}
	p->bits = max;
	if (slash == NULL)
		return 1;
	bits = strtol(slash + 1, &end, 10);
	if (slash[1] == '\0' || *end != '\0' || bits < 0 || bits > max)
		return -1;
	p->bits = (int)bits;
	return 1;
}

/* True when the literal address text host lies in prefix p. */
static bool
in_prefix(const struct prefix *p, const char *host)
{
	unsigned char a[16];
	int full, rest;

	if (inet_pton(p->family, host, a) != 1)
		return false;
	full = p->bits / 8;
	rest = p->bits % 8;
	if (memcmp(a, p->addr, (size_t)full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[full] ^ p->addr[full]) & (0xff << (8 - rest))) == 0;
}

/* Calls match(word, arg) for each word of list; true on the first that
 * matches. */
static bool
any_word(const char *list, bool (*match)(const char *, const char *),
    const char *arg)
{
	char *copy = xstrdup(list), *save = NULL;
	bool hit = false;

	for (char *w = strtok_r(copy, ALLOW_SEP, &save); w != NULL && !hit;
	    w = strtok_r(NULL, ALLOW_SEP, &save))
		hit = match(w, arg);
	free(copy);
	return hit;
}

/* fnmatch without regard to case (host names are not case sensitive). */
static bool
name_matches(const char *pattern, const char *name)
{
	char *p = xstrdup(pattern), *n = xstrdup(name);
	bool hit;

	for (char *q = p; *q != '\0'; q++)
		*q = (char)tolower((unsigned char)*q);
	for (char *q = n; *q != '\0'; q++)
		*q = (char)tolower((unsigned char)*q);
	hit = fnmatch(p, n, 0) == 0;
	free(p);
	free(n);
	return hit;
}

static bool
host_matches(const char *word, const char *host)
{
	struct prefix p;

	switch (parse_prefix(word, &p)) {
	case 1:
		return in_prefix(&p, host);
	case 0:
		return name_matches(word, host);
	default:
		return false;
	}
}

static bool
device_matches(const char *word, const char *device)
{
	return fnmatch(word, device, FNM_PATHNAME | FNM_PERIOD) == 0;
}

bool
cfg_host_allowed(const char *list, const char *host)
{
	return any_word(list, host_matches, host);
}

bool
cfg_device_allowed(const char *list, const char *device)
{
	/* "*" never crosses a '/', so no pattern matches "..", but say it
	 * outright: a pushed path never climbs out of a directory. */
	if (strstr(device, "/..") != NULL)
		return false;
	return any_word(list, device_matches, device);
}

int
cfg_check_host_list(const char *list, char **cause)
{
	char *copy = xstrdup(list), *save = NULL;
	struct prefix p;
	int rc = 0;

	for (char *w = strtok_r(copy, ALLOW_SEP, &save); w != NULL;
	    w = strtok_r(NULL, ALLOW_SEP, &save)) {
		if (parse_prefix(w, &p) < 0 ||
		    (strchr(w, '/') != NULL && parse_prefix(w, &p) == 0)) {
			xasprintf(cause, "'%s' is not an address prefix", w);
			rc = -1;
			break;
		}
	}
	free(copy);
	return rc;
}

int
cfg_check_device_list(const char *list, char **cause)
{
	char *copy = xstrdup(list), *save = NULL;
	int rc = 0;

	for (char *w = strtok_r(copy, ALLOW_SEP, &save); w != NULL;
	    w = strtok_r(NULL, ALLOW_SEP, &save)) {
		if (w[0] != '/') {
			xasprintf(cause, "'%s' is not an absolute path pattern",
			    w);
			rc = -1;
			break;
		}
	}
	free(copy);
	return rc;
}
