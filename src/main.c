/* ocpp-edged: the whole daemon lives in the library; see daemon.c. */
#include "daemon.h"

int
main(int argc, char **argv)
{
	return daemon_main(argc, argv);
}
