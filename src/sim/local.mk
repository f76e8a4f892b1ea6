# src/sim: ocpp-edge-sim, a simulated charging site (chargers, EVs, meter)
# on loopback.  Everything but main.c is a library so tests link it.
noinst_LTLIBRARIES += libsim.la
libsim_la_SOURCES = \
	src/sim/sim.h src/sim/sim-private.h src/sim/model.c src/sim/physics.c \
	src/sim/modbus.c src/sim/scenario.c \
	src/sim/control.c src/sim/output.c src/sim/net.c
libsim_la_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)

bin_PROGRAMS += ocpp-edge-sim
ocpp_edge_sim_SOURCES = src/sim/main.c
ocpp_edge_sim_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
ocpp_edge_sim_LDADD = libsim.la libcommon.la $(JANSSON_LIBS) $(LIBS)

# Tests: the site model in-process, then the real program over loopback TCP,
# a pseudo-terminal (RTU) and a dial-in connection.
check_PROGRAMS += tests/sim/test-sim
TESTS += tests/sim/test-sim
tests_sim_test_sim_SOURCES = tests/sim/test-sim.c tests/cu.h
tests_sim_test_sim_CFLAGS = $(AM_CFLAGS) $(MODBUS_CFLAGS) $(JANSSON_CFLAGS) \
	$(CUNIT_CFLAGS)
tests_sim_test_sim_LDADD = libsim.la libcommon.la $(MODBUS_LIBS) \
	$(JANSSON_LIBS) $(CUNIT_LIBS) $(LIBS)
# The process tests run the program itself.
tests_sim_test_sim_DEPENDENCIES = libsim.la libcommon.la ocpp-edge-sim$(EXEEXT)

# Benchmark of the simulator itself (`make bench`).
EXTRA_PROGRAMS += tests/sim/bench-sim
bench_programs += tests/sim/bench-sim
CLEANFILES += tests/sim/bench-sim
tests_sim_bench_sim_SOURCES = tests/sim/bench-sim.c
tests_sim_bench_sim_CFLAGS = $(AM_CFLAGS) $(MODBUS_CFLAGS) $(JANSSON_CFLAGS)
tests_sim_bench_sim_LDADD = libcommon.la $(MODBUS_LIBS) $(JANSSON_LIBS) $(LIBS)
tests_sim_bench_sim_DEPENDENCIES = libcommon.la ocpp-edge-sim$(EXEEXT)

# Scenario files: distributed and installed with the program.
simscenariodir = $(pkgdatadir)/sim
dist_simscenario_DATA = etc/sim/demo.json etc/sim/rtu-bus.json \
	etc/sim/site-200.json
