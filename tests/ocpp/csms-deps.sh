# Sourced by the OCPP tests and benchmark: installs the test CSMS's pinned
# npm dependencies (package-lock.json) with `npm ci` into the build tree,
# once, under a lock so that parallel tests do not install twice at once.
# Sets csms_deps to the directory whose node_modules holds them; returns
# non-zero when the install failed.
csms_deps="$top_builddir/tests/ocpp/node_modules/csms-deps"

csms_deps_install() {
	mkdir -p "$csms_deps" || return 1
	(
		if command -v flock >/dev/null 2>&1; then
			flock 9 || exit 1
		fi
		if cmp -s "$top_srcdir/tests/csms/package-lock.json" \
		    "$csms_deps/package-lock.json" &&
		    [ -d "$csms_deps/node_modules/ocpp-rpc" ]; then
			exit 0
		fi
		cp "$top_srcdir/tests/csms/package.json" \
		    "$top_srcdir/tests/csms/package-lock.json" "$csms_deps/" &&
		chmod u+w "$csms_deps/package.json" "$csms_deps/package-lock.json" &&
		cd "$csms_deps" && npm ci --no-audit --no-fund --loglevel=error
	) 9>"$csms_deps.lock"
}
