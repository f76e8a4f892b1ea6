/* The daemon: option parsing, start-up, the event loop and shutdown. */
#ifndef EDGE_DAEMON_H
#define EDGE_DAEMON_H

/* Runs ocpp-edged with its command line; returns the process exit code. */
int daemon_main(int argc, char **argv);

#endif
