#!/bin/sh
# make check: each fuzz target runs a few seconds (FUZZ_SECONDS, default 3)
# from its seed corpus; any crash, leak or sanitizer report fails.  Skipped
# (77) without clang and its libFuzzer runtime.
exec "${SHELL:-/bin/sh}" "${top_srcdir:?}/tests/fuzz/fuzz.sh" check
