# src/ctl: ocpp-edgectl, the command-line client of a running daemon (and
# the installer's Modbus scan).  Everything but main is a library so the
# tests link it.
noinst_LTLIBRARIES += libctl.la
libctl_la_SOURCES = src/ctl/ctl.h src/ctl/client.c src/ctl/render.c \
	src/ctl/scan.c src/ctl/read.c
libctl_la_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)

CTL_LIBS = libctl.la libsouthbound.la libcommon.la $(MODBUS_LIBS) \
	$(JANSSON_LIBS) $(LIBS)

sbin_PROGRAMS += ocpp-edgectl
ocpp_edgectl_SOURCES = src/ctl/ctl.c
ocpp_edgectl_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
ocpp_edgectl_LDADD = $(CTL_LIBS)

# Tests: the client and renderers against a contract-speaking server in
# the test (CUnit).
check_PROGRAMS += tests/ctl/test-ctl
TESTS += tests/ctl/test-ctl
tests_ctl_test_ctl_SOURCES = tests/ctl/test-ctl.c tests/cu.h
tests_ctl_test_ctl_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(CUNIT_CFLAGS) \
	-I$(top_srcdir)/tests
tests_ctl_test_ctl_LDADD = $(CTL_LIBS) $(CUNIT_LIBS)

# scan against the site simulator (every model over TCP, the RTU pty).
TESTS += tests/ctl/test-scan.sh
EXTRA_DIST += tests/ctl/test-scan.sh tests/ctl/scan-site.json \
	tests/ctl/lib.sh

# The demo: the simulated site, the daemon on it and the live status
# screen; Ctrl-C ends all of it.  make demo DEMO_FLAGS=--csms adds the test
# CSMS.
demo: ocpp-edged$(EXEEXT) ocpp-edgectl$(EXEEXT) ocpp-edge-sim$(EXEEXT)
	@$(SHELL) $(srcdir)/tools/ocpp-edge-demo --builddir '$(abs_top_builddir)' \
	    $(DEMO_FLAGS)
.PHONY: demo
EXTRA_DIST += tools/ocpp-edge-demo etc/demo.conf

# Against the running daemon on the simulator (status, --json, explain,
# permissions), the demo with status --watch in a tmux pseudo-terminal,
# and the demo's online path with the test CSMS.
TESTS += tests/ctl/test-ctl-daemon.sh tests/ctl/test-demo.sh \
	tests/ctl/test-demo-csms.sh
EXTRA_DIST += tests/ctl/test-ctl-daemon.sh tests/ctl/test-demo.sh \
	tests/ctl/test-demo-csms.sh

# make bench: status / explain / scan times on the 200-charger site.
bench_scripts += tests/ctl/bench-ctl.sh
EXTRA_DIST += tests/ctl/bench-ctl.sh
