/* Placeholder until the foundation lands: prints version and help. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "daemon.h"

int
daemon_main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("ocpp-edged %s\n", PACKAGE_VERSION);
		return 0;
	}
	printf("usage: ocpp-edged [--version]\n");
	return 0;
}
