# The daemon layer: the configuration (src/config/, the only user of
# libconfuse), the site model (src/site/), the backend side (src/cloud/),
# the control socket, and on top the wiring and the event loop.
# Everything but main.c is a library so tests link all of it.
noinst_LTLIBRARIES += libdaemon.la
libdaemon_la_SOURCES = \
	src/config/config.h src/config/config-private.h \
	src/config/schema.c src/config/context.c src/config/prescan.c \
	src/config/checks.c src/config/dump.c src/config/ids.c \
	src/config/load.c src/config/allow.c \
	src/site/site.h src/site/site-private.h src/site/site.c \
	src/site/readings.c src/site/settings.c src/site/report.c \
	src/site/energy.c src/site/phase.c \
	src/cloud/cloud.h src/cloud/cloud-private.h src/cloud/cloud.c \
	src/cloud/queue.c src/cloud/profiles.c src/cloud/commands.c \
	src/cloud/station.c src/cloud/limits.c src/cloud/firmware.c \
	src/cloud/ids.c \
	src/services.h src/control.c src/control.h \
	src/http/http.h src/http/http-private.h src/http/http.c \
	src/http/metrics.c src/http/live.c \
	src/daemon.c src/daemon.h src/ops.c src/provision.c
nodist_libdaemon_la_SOURCES = src/http/assets.c
libdaemon_la_CFLAGS = $(AM_CFLAGS) $(THIRD_PARTY_CFLAGS)

# The dashboard's files, compiled into the daemon.
HTTP_ASSETS = src/http/www/index.html src/http/www/app.js \
	src/http/www/style.css
EXTRA_DIST += src/http/embed.sh $(HTTP_ASSETS)
BUILT_SOURCES += src/http/assets.c
CLEANFILES += src/http/assets.c
src/http/assets.c: $(top_srcdir)/src/http/embed.sh $(HTTP_ASSETS)
	$(AM_V_GEN)$(MKDIR_P) src/http && \
	    $(SHELL) $(top_srcdir)/src/http/embed.sh \
	    `for f in $(HTTP_ASSETS); do test -f $$f && echo $$f || \
	    echo $(top_srcdir)/$$f; done` >$@.tmp && mv $@.tmp $@

# Everything a program needs to link the whole daemon, innermost last.
DAEMON_LIBS = libdaemon.la libocpp.la libsmartcharging.la libsouthbound.la \
	libstore.la \
	libbalancer.la libcommon.la $(THIRD_PARTY_LIBS)

sbin_PROGRAMS += ocpp-edged
ocpp_edged_SOURCES = src/main.c
ocpp_edged_LDADD = $(DAEMON_LIBS)

# The site's configuration is never overwritten: when one is installed
# already, the new annotated default goes beside it as ocpp-edge.conf.dist.
EXTRA_DIST += etc/ocpp-edge.conf
install-data-local: install-edge-conf
install-edge-conf:
	$(MKDIR_P) '$(DESTDIR)$(sysconfdir)'
	@if test -f '$(DESTDIR)$(sysconfdir)/ocpp-edge.conf'; then \
	  echo "keeping $(DESTDIR)$(sysconfdir)/ocpp-edge.conf; the new default is ocpp-edge.conf.dist"; \
	  $(INSTALL_DATA) '$(srcdir)/etc/ocpp-edge.conf' '$(DESTDIR)$(sysconfdir)/ocpp-edge.conf.dist'; \
	else \
	  $(INSTALL_DATA) '$(srcdir)/etc/ocpp-edge.conf' '$(DESTDIR)$(sysconfdir)/ocpp-edge.conf'; \
	fi
# Uninstall removes the configuration only while it is the shipped default.
uninstall-local: uninstall-edge-conf
uninstall-edge-conf:
	rm -f '$(DESTDIR)$(sysconfdir)/ocpp-edge.conf.dist'
	@if cmp -s '$(srcdir)/etc/ocpp-edge.conf' '$(DESTDIR)$(sysconfdir)/ocpp-edge.conf'; then \
	  rm -f '$(DESTDIR)$(sysconfdir)/ocpp-edge.conf'; \
	else \
	  echo "keeping the edited $(DESTDIR)$(sysconfdir)/ocpp-edge.conf"; \
	fi
.PHONY: install-edge-conf uninstall-edge-conf
dist_doc_DATA += docs/configuration.md docs/provisioning.md

# Tests: the configuration (CUnit) and the programs' command lines and
# lifecycle (shell, real processes).
check_PROGRAMS += tests/config/test-config
TESTS += tests/config/test-config
tests_config_test_config_SOURCES = tests/config/test-config.c tests/cu.h
tests_config_test_config_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_config_test_config_LDADD = $(DAEMON_LIBS) $(CUNIT_LIBS)
TESTS += tests/daemon/test-daemon.sh tests/daemon/test-ctl.sh
EXTRA_DIST += tests/daemon/test-daemon.sh tests/daemon/test-ctl.sh

# The systemd unit, with the configured paths filled in.
systemdunitdir = $(prefix)/lib/systemd/system
systemdunit_DATA = ocpp-edged.service
CLEANFILES += ocpp-edged.service
ocpp-edged.service: $(top_srcdir)/etc/ocpp-edged.service Makefile
	$(AM_V_GEN)sed -e 's|@sbindir[@]|$(sbindir)|g' \
	    -e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	    $(top_srcdir)/etc/ocpp-edged.service >$@.tmp && mv $@.tmp $@

check_PROGRAMS += tests/daemon/test-atomic-file
TESTS += tests/daemon/test-atomic-file
tests_daemon_test_atomic_file_SOURCES = tests/daemon/test-atomic-file.c tests/cu.h
tests_daemon_test_atomic_file_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_daemon_test_atomic_file_LDADD = libcommon.la $(CUNIT_LIBS) $(LIBS)

# make bench: loading the largest configuration; daemon start and stop.
EXTRA_PROGRAMS += bench/bench-config
bench_programs += bench/bench-config
bench_bench_config_SOURCES = bench/bench-config.c
bench_bench_config_LDADD = $(DAEMON_LIBS)
bench_scripts += bench/bench-daemon.sh
EXTRA_DIST += bench/bench-daemon.sh

# The site model (CUnit) and a small control-socket client for the shell
# tests of the running daemon.
check_PROGRAMS += tests/daemon/test-site tests/daemon/ctl-client \
	tests/daemon/json-get
TESTS += tests/daemon/test-site
tests_daemon_test_site_SOURCES = tests/daemon/test-site.c tests/cu.h
tests_daemon_test_site_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS) $(JANSSON_CFLAGS)
tests_daemon_test_site_LDADD = $(DAEMON_LIBS) $(CUNIT_LIBS)
# The table between site connectors and OCPP ids (CUnit).
check_PROGRAMS += tests/daemon/test-cloud-ids
TESTS += tests/daemon/test-cloud-ids
tests_daemon_test_cloud_ids_SOURCES = tests/daemon/test-cloud-ids.c \
	tests/cu.h
tests_daemon_test_cloud_ids_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_daemon_test_cloud_ids_LDADD = $(DAEMON_LIBS) $(CUNIT_LIBS)
tests_daemon_ctl_client_SOURCES = tests/daemon/ctl-client.c
tests_daemon_json_get_SOURCES = tests/daemon/json-get.c
tests_daemon_json_get_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tests_daemon_json_get_LDADD = $(JANSSON_LIBS) -lm
TESTS += tests/daemon/test-control.sh tests/daemon/test-local-override.sh \
	tests/daemon/test-reload.sh tests/daemon/test-close-once.sh
# A close() that reports a descriptor closed twice, preloaded into the
# daemon by test-close-once.sh; built apart and without the sanitizers
# (it is loaded before their runtime).
check_DATA = tests/daemon/close-once.so
tests/daemon/close-once.so: tests/daemon/close-once.c
	$(AM_V_CC)$(MKDIR_P) tests/daemon && $(CC) -std=gnu11 -O2 -fPIC \
	    -shared -o $@ $(srcdir)/tests/daemon/close-once.c -ldl
CLEANFILES += tests/daemon/close-once.so
EXTRA_DIST += tests/daemon/close-once.c tests/daemon/test-close-once.sh
EXTRA_DIST += tests/daemon/test-control.sh tests/daemon/test-local-override.sh \
	tests/daemon/test-reload.sh \
	tests/integration/lib.sh
# (about 20 s: links closed and answers late for 15 s, see the script)
TESTS += tests/integration/test-reconnect-storm.sh
EXTRA_DIST += tests/integration/test-reconnect-storm.sh

# Integration: the real daemon and the real simulator.  The longest ones
# start first (the PV day is the first of all, in Makefile.am),
# so that make -j2 runs the short ones beside them, not after.
TESTS += tests/integration/test-sessions-silent.sh \
	tests/integration/test-local-loop.sh \
	tests/integration/test-smart-charging.sh \
	tests/integration/test-profile-kill9.sh \
	tests/integration/test-clock-step.sh \
	tests/integration/test-availability.sh \
	tests/integration/test-devices.sh \
	tests/integration/test-backend-link.sh \
	tests/integration/test-cloud-readings.sh \
	tests/integration/test-dc-energy.sh \
	tests/integration/test-sessions.sh \
	tests/integration/test-sessions-csms.sh \
	tests/integration/test-sessions-auth.sh \
	tests/integration/test-alm-dynamics.sh \
	tests/integration/test-provisioning.sh \
	tests/integration/test-phase-switching.sh \
	tests/integration/test-charging-limit.sh \
	tests/integration/test-boot-unlock.sh \
	tests/integration/test-firmware.sh \
	tests/integration/test-security.sh
EXTRA_DIST += tests/integration/test-local-loop.sh \
	tests/integration/test-smart-charging.sh \
	tests/integration/test-profile-kill9.sh \
	tests/integration/test-clock-step.sh \
	tests/integration/test-availability.sh \
	tests/integration/test-devices.sh \
	tests/integration/test-backend-link.sh \
	tests/integration/test-cloud-readings.sh \
	tests/integration/test-dc-energy.sh \
	tests/integration/test-sessions.sh \
	tests/integration/test-sessions-csms.sh \
	tests/integration/test-sessions-silent.sh \
	tests/integration/test-sessions-auth.sh \
	tests/integration/test-alm-dynamics.sh \
	tests/integration/test-provisioning.sh \
	tests/integration/test-phase-switching.sh \
	tests/integration/test-charging-limit.sh \
	tests/integration/test-boot-unlock.sh \
	tests/integration/test-firmware.sh \
	tests/integration/test-security.sh \
	tests/integration/test-pv-day.sh

# make bench: the whole loop (daemon + simulator + the test CSMS).
bench_scripts += bench/bench-loop.sh
EXTRA_DIST += bench/bench-loop.sh
# kill -9 storms during charging: no transaction lost or duplicated.
bench_scripts += bench/bench-sessions-kill9.sh
EXTRA_DIST += bench/bench-sessions-kill9.sh
# The PV day over two minutes (make check: one minute).
bench_scripts += bench/bench-pv-day.sh
EXTRA_DIST += bench/bench-pv-day.sh
# A charger silent 120 s (make check: 35 s).
bench_scripts += bench/bench-sessions-silent.sh
EXTRA_DIST += bench/bench-sessions-silent.sh
# The daemon on 200 chargers: RSS, CPU, threads, Modbus requests/s.
bench_scripts += bench/bench-daemon-200.sh
EXTRA_DIST += bench/bench-daemon-200.sh bench/bench-requests.js
# What a backend's calls cost the daemon: CPU per call, answer latency.
bench_scripts += bench/bench-calls.sh
EXTRA_DIST += bench/bench-calls.sh bench/bench-calls.js
# SetChargingProfile -> last of 40 limit writes acknowledged (p50, p99).
bench_scripts += bench/bench-profile.sh
EXTRA_DIST += bench/bench-profile.sh bench/bench-profile.js
bench: tests/daemon/ctl-client$(EXEEXT) tests/daemon/json-get$(EXEEXT) \
	tests/daemon/test-site$(EXEEXT) \
	ocpp-edge-sim$(EXEEXT) ocpp-edged$(EXEEXT)

# The operators' HTTP server of a running daemon (node client, loopback).
TESTS += tests/http/test-http.sh
EXTRA_DIST += tests/http/test-http.sh tests/http/http-probe.js tests/http/lib.sh
# The dashboard in headless Chromium (skipped without it); the history.
TESTS += tests/http/test-dashboard.sh tests/http/test-history.sh \
	tests/http/test-live.sh
EXTRA_DIST += tests/http/test-dashboard.sh tests/http/test-history.sh \
	tests/http/page-watch.js \
	tests/http/test-live.sh
# The live status websocket; a client that stops reading, for its bound.
check_PROGRAMS += tests/http/ws-stall
tests_http_ws_stall_SOURCES = tests/http/ws-stall.c
# The screenshots the dashboard test saves beside its log.
CLEANFILES += tests/http/dashboard-phone.png tests/http/dashboard-desktop.png

# make soak [SOAK_S=seconds, default 3600]: 200 chargers under churn,
# backend drops and cap changes; memory growth, CPU, lost or duplicated
# transaction messages, setpoints above the cap, errors (bench/soak.sh).
EXTRA_DIST += bench/soak.sh
soak: tests/daemon/ctl-client$(EXEEXT) tests/daemon/json-get$(EXEEXT) \
	ocpp-edge-sim$(EXEEXT) ocpp-edged$(EXEEXT)
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
	    $(SHELL) $(srcdir)/bench/soak.sh $(SOAK_S)
.PHONY: soak
