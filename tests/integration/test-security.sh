#!/bin/sh
# Security management through the real daemon and its store, against the
# strict test CSMS (loopback only), OCPP 2.0.1:
# - StartupOfTheDevice at every start, through the durable queue;
# - the backend sets a new BasicAuthPassword: the daemon reconnects with
#   it and still uses it after a restart (kept in the store), and never
#   logs it;
# - each transaction start goes out once, the reconnect included;
# - InstallCertificate keeps a CSMS root under certs/ beside the store
#   (directory 0700, file 0600), GetInstalledCertificateIds reports it.
set -u
name=test-security
. "${top_srcdir:-.}/tests/integration/lib.sh"
command -v node >/dev/null 2>&1 || { echo "node not installed: skipped"; exit 77; }
command -v openssl >/dev/null 2>&1 || { echo "openssl not installed: skipped"; exit 77; }
. "$S/tests/integration/csms.sh"

OLD=Old-password-0123456
NEW=New-password-6543210
bays_site "$tmp/site.json" sec-site 0 200
start_sim "$tmp/site.json"
printf 'http {\n\tlisten = ""\n}\n' >>"$tmp/edge.conf"
cp "$tmp/edge.conf" "$tmp/base.conf"
csms_identity=sec-site

start_csms --password "$OLD"
csms_conf 2.0.1
sed -i "s|^\tocpp-version = .*|&\n\tpassword = \"$OLD\"|" "$tmp/edge.conf"
chmod 600 "$tmp/edge.conf"
store=$(sed -n 's|^\tpath = "\(.*\)"|\1|p' "$tmp/edge.conf" | grep '\.db$' | head -1)
certs="$(dirname "$store")/certs"

events() { grep '"action":"SecurityEventNotification"' "$tmp/csms.log" | grep -c "\"type\":\"$1\""; }
at_least_events() { [ "$(events "$1")" -ge "$2" ]; }
connections() { grep -c '"event":"connected"' "$tmp/csms.log"; }
at_least_connections() { [ "$(connections)" -ge "$1" ]; }

: >"$tmp/d.log"
start_daemon "$tmp/edge.conf" -d ocpp
wait_for 15 at_least_events StartupOfTheDevice 1 &&
    pass "StartupOfTheDevice sent" || fail "no StartupOfTheDevice"

# The backend changes the password; the CSMS takes only the new one.
csms "{\"cmd\":\"set\",\"password\":\"$NEW\"}"
r=$(call SetVariables "{\"setVariableData\":[{\"component\":{\"name\":\"SecurityCtrlr\"},\"variable\":{\"name\":\"BasicAuthPassword\"},\"attributeValue\":\"$NEW\"}]}")
printf '%s\n' "$r" | grep -q '"attributeStatus":"Accepted"' &&
    pass "BasicAuthPassword accepted" || fail "BasicAuthPassword: $r"
wait_for 15 at_least_events ReconfigurationOfSecurityParameters 1 &&
    pass "reconnected with the new password" ||
    fail "no ReconfigurationOfSecurityParameters"
stop_daemon

# A restart: the password from the store, not the configured one.
n=$(connections)
start_daemon "$tmp/edge.conf" -d ocpp
wait_for 15 at_least_events StartupOfTheDevice 2 &&
    pass "after the restart: connected with the stored password" ||
    fail "after the restart: $(grep 'cloud:' "$tmp/d.log" | tail -3)"
[ "$(connections)" -gt "$n" ] || fail "no new connection"
grep -q '"event":"auth_rejected"' "$tmp/csms.log" &&
    fail "the CSMS refused a password: $(grep auth_rejected "$tmp/csms.log")"
grep -qF "$NEW" "$tmp/d.log" && fail "the new password is in the log"
grep -qF "$OLD" "$tmp/d.log" && fail "the old password is in the log"

# A CSMS root certificate from the backend.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$tmp/root.key" -out "$tmp/root.pem" -days 2 -subj /CN=sec-root \
    2>/dev/null || fail "openssl"
pem=$(awk '{printf "%s\\n", $0}' "$tmp/root.pem")
r=$(call InstallCertificate "{\"certificateType\":\"CSMSRootCertificate\",\"certificate\":\"$pem\"}")
printf '%s\n' "$r" | grep -q '"status":"Accepted"' &&
    pass "InstallCertificate accepted" || fail "InstallCertificate: $r"
f=$(ls "$certs"/csms-*.pem 2>/dev/null | head -1)
[ -n "$f" ] && [ "$(stat -c %a "$f")" = 600 ] && [ "$(stat -c %a "$certs")" = 700 ] &&
    pass "root kept in $certs, mode 0600" ||
    fail "root file: $(ls -la "$certs" 2>&1)"
r=$(call GetInstalledCertificateIds '{"certificateType":["CSMSRootCertificate"]}')
serial=$(openssl x509 -noout -serial -in "$tmp/root.pem" | sed 's/^serial=0*//' |
    tr 'A-F' 'a-f')
printf '%s\n' "$r" | grep -q "\"serialNumber\":\"$serial\"" &&
    pass "GetInstalledCertificateIds reports it" ||
    fail "GetInstalledCertificateIds: $r"
stop_daemon
# The three bays charge from the start: three Started, each sent once (a
# reconnect waits for the answer to the message in flight).
[ "$(tx_msgs | grep -c '"eventType":"Started"')" -eq 3 ] &&
    pass "three transactions started" || fail "starts: $(tx_msgs)"
[ -z "$(tx_twice)" ] && pass "no transaction message sent twice" ||
    fail "sent twice: $(tx_twice)"
no_violations
stop_csms
finish
