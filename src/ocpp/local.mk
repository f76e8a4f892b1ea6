# src/ocpp: OCPP-J codec, 1.6 and 2.0.1 session on a libwebsockets client.
noinst_LTLIBRARIES += libocpp.la
libocpp_la_SOURCES = \
	src/ocpp/ocpp.h src/ocpp/ocpp-private.h \
	src/ocpp/rpc.c src/ocpp/spec.c
libocpp_la_CFLAGS = $(AM_CFLAGS) $(LWS_CFLAGS) $(JANSSON_CFLAGS) $(OPENSSL_CFLAGS)

check_PROGRAMS += tests/ocpp/test-ocpp
TESTS += tests/ocpp/test-ocpp
tests_ocpp_test_ocpp_SOURCES = tests/ocpp/test-ocpp.c tests/cu.h
tests_ocpp_test_ocpp_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS) $(JANSSON_CFLAGS)
tests_ocpp_test_ocpp_LDADD = libocpp.la libcommon.la $(CUNIT_LIBS) \
	$(LWS_LIBS) $(JANSSON_LIBS) $(OPENSSL_LIBS) $(LIBS)
