# Packaging: what `make install` and the Debian package put on a machine.
TESTS += tests/packaging/test-reconfigure.sh tests/packaging/test-man.sh \
	tests/packaging/test-unit.sh tests/packaging/test-deb.sh
EXTRA_DIST += tests/packaging/test-reconfigure.sh tests/packaging/test-man.sh \
	tests/packaging/deb-contents.txt tests/packaging/lib.sh \
	tests/packaging/test-unit.sh tests/packaging/test-deb.sh
