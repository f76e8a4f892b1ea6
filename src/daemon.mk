# The daemon: configuration (the only user of libconfuse), wiring and the
# event loop.  Everything but main.c is a library so tests link all of it.
noinst_LTLIBRARIES += libdaemon.la
libdaemon_la_SOURCES = src/config.c src/config.h src/daemon.c src/daemon.h
libdaemon_la_CFLAGS = $(AM_CFLAGS) $(THIRD_PARTY_CFLAGS)

# Everything a program needs to link the whole daemon, innermost last.
DAEMON_LIBS = libdaemon.la libcommon.la $(THIRD_PARTY_LIBS)

sbin_PROGRAMS += ocpp-edged
ocpp_edged_SOURCES = src/main.c
ocpp_edged_LDADD = $(DAEMON_LIBS)

dist_sysconf_DATA += etc/ocpp-edge.conf
