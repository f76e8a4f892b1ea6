'use strict';
// Integration tests of the OCPP session: the station harness (the real
// session on libwebsockets) against the test CSMS (ocpp-rpc, strict
// schema validation both ways) over loopback, for OCPP 1.6 and 2.0.1.
// Any schema violation the CSMS reports fails the test that caused it.
//
// Environment: STATION = path of tests/ocpp/test-station, CSMS_JS = path
// of tests/csms/csms.js, WORKDIR = a scratch directory for certificates.

const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { startCsms } = require(process.env.CSMS_JS);
const { cases: malformedCases } = require('./malformed-corpus.js');

const STATION = process.env.STATION;
const WORKDIR = process.env.WORKDIR;
const PASSWORD = 'Secret-pass-0123456';   // 19 characters: within 16..40
const T = 8000;                           // default wait for one event, ms

// Collects events from an emitter-like source; waitFor() resolves with the
// first event (past or future) matching pred, each event used once.
class Log {
    constructor() {
        this.events = [];
        this.used = new Set();
        this.waiters = [];
    }
    push(ev) {
        this.events.push(ev);
        for (const w of [...this.waiters]) {
            if (this.tryWaiter(w)) {
                this.waiters.splice(this.waiters.indexOf(w), 1);
            }
        }
    }
    tryWaiter(w) {
        for (let i = 0; i < this.events.length; i++) {
            if (!this.used.has(i) && w.pred(this.events[i])) {
                this.used.add(i);
                clearTimeout(w.timer);
                w.resolve(this.events[i]);
                return true;
            }
        }
        return false;
    }
    waitFor(pred, what, ms = T) {
        return new Promise((resolve, reject) => {
            const w = { pred, resolve };
            w.timer = setTimeout(() => {
                this.waiters.splice(this.waiters.indexOf(w), 1);
                reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
            }, ms);
            if (!this.tryWaiter(w)) {
                this.waiters.push(w);
            }
        });
    }
    count(pred) {
        return this.events.filter(pred).length;
    }
}

// Starts the CSMS and returns it with a Log of its events.
async function csmsWith(opts = {}) {
    const csms = await startCsms({ interval: 300, ...opts });
    csms.log = new Log();
    csms.events.on('event', (ev) => csms.log.push(ev));
    return csms;
}

// Starts the station harness; returns { proc, log, send(), stop() }.
function station(args) {
    const proc = spawn(STATION, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const log = new Log();
    let buf = '';
    let stderr = '';
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (d) => {
        buf += d;
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            try {
                log.push(JSON.parse(line));
            } catch (e) {
                log.push({ event: 'garbage', line });
            }
        }
    });
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (d) => { stderr += d; });
    const exited = new Promise((resolve) => proc.on('exit', (code, signal) =>
        resolve({ code, signal })));
    return {
        proc,
        log,
        stderr: () => stderr,
        exited,
        send(cmd) {
            proc.stdin.write(JSON.stringify(cmd) + '\n');
        },
        // Ends the harness by its own PID and checks it exited cleanly
        // (AddressSanitizer reports make the exit code non-zero).
        async stop() {
            if (proc.exitCode === null) {
                proc.stdin.end(JSON.stringify({ cmd: 'quit' }) + '\n');
                const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
                const r = await exited;
                clearTimeout(timer);
                return r;
            }
            return exited;
        },
    };
}

function stationArgs(csms, version, extra = []) {
    return ['--url', `ws://127.0.0.1:${csms.port}/ocpp`, '--version', version,
        '--identity', 'CS001', '--password', PASSWORD, '--connectors', '2',
        '--backoff-min', '1', '--backoff-random', '0', '--meter', '0',
        '--tx-retry', '1', ...extra];
}

const isCall = (action, pred = () => true) => (ev) =>
    ev.event === 'call' && ev.action === action && pred(ev.params);

// The reportData of a GetBaseReport's NotifyReport messages: waits for
// the last (tbc false) and checks that the parts are numbered from 0 and
// hold at most ItemsPerMessage (GetReport, 64) items each.
async function reportOf(csms, requestId) {
    const mine = isCall('NotifyReport', (p) => p.requestId === requestId);
    await csms.log.waitFor((e) => mine(e) && !e.params.tbc, `report ${requestId}`);
    const parts = csms.log.events.filter(mine).map((e) => e.params);
    assert.deepEqual(parts.map((p) => p.seqNo), parts.map((p, i) => i));
    assert.deepEqual(parts.map((p) => p.tbc), parts.map((p, i) => i < parts.length - 1));
    for (const p of parts) {
        assert.ok(p.reportData.length <= 64, `${p.reportData.length} items`);
    }
    return parts.flatMap((p) => p.reportData);
}

// Runs body with a CSMS and a station; afterwards checks that no schema
// violation was reported and that the harness exited with status 0.
async function withSession(version, opts, body) {
    const csms = await csmsWith(opts.csms);
    const st = station(opts.args ? opts.args(csms) :
        stationArgs(csms, version, opts.extra));
    try {
        await body(csms, st);
    } catch (e) {
        if (process.env.DUMP) {
            console.error(csms.log.events.filter((x) => x.event !== 'message')
                .map((x) => JSON.stringify(x).slice(0, 160)).join('\n'));
        }
        throw e;
    } finally {
        const r = await st.stop();
        await csms.close();
        const violations = csms.log.events.filter((e) => e.event === 'violation');
        assert.deepEqual(violations, [], 'schema violations reported by the CSMS');
        assert.equal(r.code, 0, 'station harness exit status; stderr:\n' + st.stderr());
    }
}

// Triggers a Heartbeat and waits for it: every CALL the station had
// queued before went out by then.
async function heartbeatRoundTrip(csms) {
    const hb = csms.log.count(isCall('Heartbeat'));
    const r = await csms.call('CS001', 'TriggerMessage',
        { requestedMessage: 'Heartbeat' });
    assert.equal(r.status, 'Accepted');
    await csms.log.waitFor((e) => isCall('Heartbeat')(e) &&
        csms.log.count(isCall('Heartbeat')) > hb, 'heartbeat');
}

// The session is still up after bad frames: a normal call is answered
// and no reconnect happened.  Returns the harness's stats.
async function stillUp(csms, st) {
    const r = await csms.call('CS001', 'TriggerMessage',
        { requestedMessage: 'Heartbeat' });
    assert.equal(r.status, 'Accepted');
    st.send({ cmd: 'stats' });
    const s = await st.log.waitFor((e) => e.event === 'stats', 'stats');
    assert.equal(s.disconnects, 0);
    return s;
}

async function booted(csms, st) {
    await csms.log.waitFor(isCall('BootNotification'), 'BootNotification');
    await st.log.waitFor((e) => e.event === 'link' && e.accepted, 'accepted');
}

const meter = (k, energy, power = 7000) => ({ cmd: 'meter', connector: k, power,
    energy, voltage: [230.1, 231.2, 229.3], current: [10.1, 10.2, 10.3] });

for (const version of ['1.6', '2.0.1']) {
    const v16 = version === '1.6';

    test(`${version}: boot, heartbeat, status and meter values`, async () => {
        await withSession(version, { csms: { interval: 1 },
            extra: ['--meter', '1'] }, async (csms, st) => {
            const boot = await csms.log.waitFor(isCall('BootNotification'), 'boot');
            if (v16) {
                assert.equal(boot.params.chargePointVendor, 'ocpp-edge');
                assert.equal(boot.params.chargePointModel, 'site-gateway');
                assert.equal(boot.params.chargePointSerialNumber, 'GW-0001');
            } else {
                assert.equal(boot.params.reason, 'PowerUp');
                assert.equal(boot.params.chargingStation.vendorName, 'ocpp-edge');
            }
            const conn = csms.log.events.find((e) => e.event === 'connected');
            assert.equal(conn.protocol, v16 ? 'ocpp1.6' : 'ocpp2.0.1');
            assert.equal(conn.endpoint, '/ocpp');
            assert.equal(conn.auth, true);
            // One status per connector after acceptance (1.6 also 0).
            for (const k of v16 ? [0, 1, 2] : [1, 2]) {
                await csms.log.waitFor(isCall('StatusNotification', (p) =>
                    (v16 ? p.connectorId : p.evseId) === k), `status ${k}`);
            }
            // interval 1 s from the boot answer: two heartbeats in ~2 s.
            await csms.log.waitFor(isCall('Heartbeat'), 'heartbeat 1', 3000);
            await csms.log.waitFor(isCall('Heartbeat'), 'heartbeat 2', 3000);
            // A status change is reported.
            st.send({ cmd: 'status', connector: 2, status: 'Unavailable' });
            await csms.log.waitFor(isCall('StatusNotification', (p) =>
                (v16 ? p.connectorId === 2 && p.status === 'Unavailable' :
                    p.evseId === 2 && p.connectorStatus === 'Unavailable')),
            'Unavailable on 2');
            // Meter values of connector 1 and of the site on 0.
            st.send(meter(1, 1234.5));
            st.send(meter(0, 99000, 15000));
            const mv = await csms.log.waitFor(isCall('MeterValues', (p) =>
                (v16 ? p.connectorId : p.evseId) === 1), 'MeterValues 1', 3000);
            const sv = mv.params.meterValue[0].sampledValue;
            const energy = sv.find((x) => x.measurand === 'Energy.Active.Import.Register');
            const power = sv.find((x) => x.measurand === 'Power.Active.Import');
            assert.equal(Number(energy.value), 1234.5);
            assert.equal(Number(power.value), 7000);
            // 3 phases: current and voltage per phase.
            assert.equal(sv.filter((x) => x.measurand === 'Current.Import').length, 3);
            const v2 = sv.find((x) => x.measurand === 'Voltage' && x.phase === 'L2-N');
            assert.equal(Number(v2.value), 231.2);
            const site = await csms.log.waitFor(isCall('MeterValues', (p) =>
                (v16 ? p.connectorId : p.evseId) === 0), 'MeterValues 0', 3000);
            assert.equal(site.params.meterValue[0].sampledValue[0].location, 'Inlet');
        });
    });

    test(`${version}: a full transaction from connector state`, async () => {
        await withSession(version, {}, async (csms, st) => {
            await booted(csms, st);
            st.send(meter(1, 1000));
            st.send({ cmd: 'token', connector: 1, id: 'RFID01' });
            st.send({ cmd: 'status', connector: 1, status: 'Preparing' });
            st.send({ cmd: 'status', connector: 1, status: 'Charging' });
            if (v16) {
                const start = await csms.log.waitFor(isCall('StartTransaction'), 'start');
                assert.equal(start.params.connectorId, 1);
                assert.equal(start.params.idTag, 'RFID01');
                assert.equal(start.params.meterStart, 1000);
                await csms.log.waitFor((e) => e.event === 'response' &&
                    e.method === 'StartTransaction', 'start answered');
                // No readings on connector 2: nothing to trigger.
                const none = await csms.call('CS001', 'TriggerMessage',
                    { requestedMessage: 'MeterValues', connectorId: 2 });
                assert.equal(none.status, 'Rejected');
                // Meter values during the transaction carry its id.
                const tr = await csms.call('CS001', 'TriggerMessage',
                    { requestedMessage: 'MeterValues', connectorId: 1 });
                assert.equal(tr.status, 'Accepted');
                const mv = await csms.log.waitFor(isCall('MeterValues'), 'tx meter');
                assert.equal(mv.params.transactionId, 101);
                assert.equal(mv.params.meterValue[0].sampledValue[0].context, 'Trigger');
                // StopTxnSampledData says what transactionData carries.
                const sd = await csms.call('CS001', 'ChangeConfiguration', { key:
                    'StopTxnSampledData', value: 'Energy.Active.Import.Register,Power.Active.Import' });
                assert.equal(sd.status, 'Accepted');
                st.send(meter(1, 8500.4));
                st.send({ cmd: 'status', connector: 1, status: 'Finishing' });
                const stop = await csms.log.waitFor(isCall('StopTransaction'), 'stop');
                // The CSMS numbers transactions from 101.
                assert.equal(stop.params.transactionId, 101);
                assert.equal(stop.params.meterStop, 8500);
                assert.equal(stop.params.reason, 'Local');
                assert.deepEqual(stop.params.transactionData[0].sampledValue.map((x) =>
                    [x.measurand, x.context]), [
                    ['Energy.Active.Import.Register', 'Transaction.End'],
                    ['Power.Active.Import', 'Transaction.End']]);
            } else {
                const s = await csms.log.waitFor(isCall('TransactionEvent', (p) =>
                    p.eventType === 'Started'), 'Started');
                assert.equal(s.params.seqNo, 0);
                assert.equal(s.params.evse.id, 1);
                assert.equal(s.params.idToken.idToken, 'RFID01');
                assert.equal(s.params.triggerReason, 'Authorized');
                assert.equal(s.params.transactionInfo.chargingState, 'Charging');
                assert.equal(s.params.offline, undefined);
                st.send({ cmd: 'status', connector: 1, status: 'SuspendedEV' });
                const u = await csms.log.waitFor(isCall('TransactionEvent', (p) =>
                    p.eventType === 'Updated'), 'Updated');
                assert.equal(u.params.seqNo, 1);
                assert.equal(u.params.triggerReason, 'ChargingStateChanged');
                assert.equal(u.params.transactionInfo.chargingState, 'SuspendedEV');
                st.send(meter(1, 8500.4));
                st.send({ cmd: 'status', connector: 1, status: 'Available' });
                const e = await csms.log.waitFor(isCall('TransactionEvent', (p) =>
                    p.eventType === 'Ended'), 'Ended');
                assert.equal(e.params.seqNo, 2);
                assert.equal(e.params.transactionInfo.transactionId,
                    s.params.transactionInfo.transactionId);
                assert.equal(e.params.transactionInfo.stoppedReason, 'EVDisconnected');
                // TxEndedMeasurands (StopTxnSampledData): the register only.
                assert.deepEqual(e.params.meterValue[0].sampledValue.map((x) =>
                    [x.measurand, x.value]), [['Energy.Active.Import.Register', 8500.4]]);
            }
        });
    });

    test(`${version}: remote start and stop`, async () => {
        await withSession(version, {}, async (csms, st) => {
            await booted(csms, st);
            if (v16) {
                const r = await csms.call('CS001', 'RemoteStartTransaction',
                    { connectorId: 2, idTag: 'REMOTE1' });
                assert.equal(r.status, 'Accepted');
                const ev = await st.log.waitFor((e) => e.event === 'remote_start', 'cb');
                assert.equal(ev.connector, 2);
                const start = await csms.log.waitFor(isCall('StartTransaction'), 'start');
                assert.equal(start.params.idTag, 'REMOTE1');
                assert.equal(start.params.connectorId, 2);
                await csms.log.waitFor((e) => e.event === 'response' &&
                    e.method === 'StartTransaction', 'start answered');
                // Unknown transaction: Rejected.
                const bad = await csms.call('CS001', 'RemoteStopTransaction',
                    { transactionId: 999 });
                assert.equal(bad.status, 'Rejected');
                const ok = await csms.call('CS001', 'RemoteStopTransaction',
                    { transactionId: 101 });
                assert.equal(ok.status, 'Accepted');
                await st.log.waitFor((e) => e.event === 'remote_stop' &&
                    e.connector === 2, 'stop cb');
                const stop = await csms.log.waitFor(isCall('StopTransaction'), 'stop');
                assert.equal(stop.params.reason, 'Remote');
                assert.equal(stop.params.transactionId, 101);
            } else {
                const r = await csms.call('CS001', 'RequestStartTransaction',
                    { evseId: 2, remoteStartId: 77,
                        idToken: { idToken: 'REMOTE1', type: 'eMAID' } });
                assert.equal(r.status, 'Accepted');
                const s = await csms.log.waitFor(isCall('TransactionEvent', (p) =>
                    p.eventType === 'Started'), 'Started');
                assert.equal(s.params.triggerReason, 'RemoteStart');
                assert.equal(s.params.transactionInfo.remoteStartId, 77);
                assert.equal(s.params.idToken.idToken, 'REMOTE1');
                // The token type the backend sent is kept.
                assert.equal(s.params.idToken.type, 'eMAID');
                const txId = s.params.transactionInfo.transactionId;
                const bad = await csms.call('CS001', 'RequestStopTransaction',
                    { transactionId: 'nope' });
                assert.equal(bad.status, 'Rejected');
                const ok = await csms.call('CS001', 'RequestStopTransaction',
                    { transactionId: txId });
                assert.equal(ok.status, 'Accepted');
                const e = await csms.log.waitFor(isCall('TransactionEvent', (p) =>
                    p.eventType === 'Ended'), 'Ended');
                assert.equal(e.params.transactionInfo.stoppedReason, 'Remote');
                assert.equal(e.params.triggerReason, 'RemoteStop');
                assert.deepEqual(e.params.idToken, { idToken: 'REMOTE1', type: 'eMAID' });
            }
            // Unlock: connector 1 fine, connector 9 does not exist.
            const u = await csms.call('CS001', 'UnlockConnector', v16 ?
                { connectorId: 1 } : { evseId: 1, connectorId: 1 });
            assert.equal(u.status, 'Unlocked');
            const u9 = await csms.call('CS001', 'UnlockConnector', v16 ?
                { connectorId: 9 } : { evseId: 9, connectorId: 1 });
            assert.equal(u9.status, v16 ? 'NotSupported' : 'UnknownConnector');
            const a = await csms.call('CS001', 'ChangeAvailability', v16 ?
                { connectorId: 1, type: 'Inoperative' } :
                { evse: { id: 1 }, operationalStatus: 'Inoperative' });
            assert.equal(a.status, 'Accepted');
            await csms.log.waitFor(isCall('StatusNotification', (p) => v16 ?
                p.connectorId === 1 && p.status === 'Unavailable' :
                p.evseId === 1 && p.connectorStatus === 'Unavailable'), 'unavailable');
            // DataTransfer is offered to the daemon's hook; one it does not
            // answer (NotSupported) is UnknownVendorId.
            const dt = await csms.call('CS001', 'DataTransfer', { vendorId: 'acme' });
            assert.equal(dt.status, 'UnknownVendorId');
            await st.log.waitFor((e) => e.event === 'profile_action' &&
                e.action === 'DataTransfer', 'DataTransfer hook');
            // Charging profiles go to the daemon's hook untouched.
            const profile = v16 ? { connectorId: 0, csChargingProfiles: {
                chargingProfileId: 1, stackLevel: 0,
                chargingProfilePurpose: 'ChargePointMaxProfile',
                chargingProfileKind: 'Absolute', chargingSchedule: {
                    chargingRateUnit: 'W', startSchedule: '2026-11-26T00:00:00Z',
                    chargingSchedulePeriod: [{ startPeriod: 0, limit: 22000 }] } } } :
                { evseId: 0, chargingProfile: { id: 1, stackLevel: 0,
                    chargingProfilePurpose: 'ChargingStationMaxProfile',
                    chargingProfileKind: 'Absolute', chargingSchedule: [{ id: 1,
                        chargingRateUnit: 'W', startSchedule: '2026-11-26T00:00:00Z',
                        chargingSchedulePeriod: [{ startPeriod: 0, limit: 22000 }] }] } };
            const sp = await csms.call('CS001', 'SetChargingProfile', profile);
            assert.equal(sp.status, 'Accepted');
            const hook = await st.log.waitFor((e) => e.event === 'profile_action' &&
                e.action !== 'DataTransfer', 'hook');
            assert.equal(hook.action, 'SetChargingProfile');
            assert.deepEqual(JSON.parse(hook.payload), profile);
            // The harness's hook refuses the rest: the CALLERROR it chose.
            await assert.rejects(csms.call('CS001', 'ClearChargingProfile', {}),
                (e) => e.rpcErrorCode === 'NotSupported');
        });
    });

    test(`${version}: configuration get and set`, async () => {
        await withSession(version, {}, async (csms, st) => {
            await booted(csms, st);
            if (v16) {
                const g = await csms.call('CS001', 'GetConfiguration',
                    { key: ['HeartbeatInterval', 'LBMode', 'NoSuchKey'] });
                assert.deepEqual(g.unknownKey, ['NoSuchKey']);
                const hb = g.configurationKey.find((k) => k.key === 'HeartbeatInterval');
                assert.equal(hb.value, '300');
                assert.equal(hb.readonly, false);
                assert.equal(g.configurationKey.find((k) => k.key === 'LBMode').value, 'alm');
                const all = await csms.call('CS001', 'GetConfiguration', {});
                assert.ok(all.configurationKey.some((k) => k.key === 'NumberOfConnectors' &&
                    k.value === '2' && k.readonly));
                assert.ok(all.configurationKey.some((k) => k.key === 'ChargeProfileMaxStackLevel'));
                assert.ok(all.configurationKey.some((k) => k.key === 'LBReservePercent'));
                let r = await csms.call('CS001', 'ChangeConfiguration',
                    { key: 'HeartbeatInterval', value: '2' });
                assert.equal(r.status, 'Accepted');
                await st.log.waitFor((e) => e.event === 'config_changed' &&
                    e.key === 'HeartbeatInterval' && e.value === '2', 'persist');
                await csms.log.waitFor(isCall('Heartbeat'), 'heartbeat at 2 s', 4000);
                r = await csms.call('CS001', 'ChangeConfiguration',
                    { key: 'HeartbeatInterval', value: '-5' });
                assert.equal(r.status, 'Rejected');
                r = await csms.call('CS001', 'ChangeConfiguration',
                    { key: 'NumberOfConnectors', value: '5' });
                assert.equal(r.status, 'Rejected');
                r = await csms.call('CS001', 'ChangeConfiguration',
                    { key: 'LBReservePercent', value: '60' });
                assert.equal(r.status, 'Rejected');   // 0..50
                r = await csms.call('CS001', 'ChangeConfiguration',
                    { key: 'LBReservePercent', value: '20' });
                assert.equal(r.status, 'Accepted');
                r = await csms.call('CS001', 'ChangeConfiguration',
                    { key: 'Bogus', value: '1' });
                assert.equal(r.status, 'NotSupported');
                const g2 = await csms.call('CS001', 'GetConfiguration',
                    { key: ['LBReservePercent'] });
                assert.equal(g2.configurationKey[0].value, '20');
            } else {
                const g = await csms.call('CS001', 'GetVariables', { getVariableData: [
                    { component: { name: 'OCPPCommCtrlr' }, variable: { name: 'HeartbeatInterval' } },
                    { component: { name: 'LoadBalancer' }, variable: { name: 'Mode' } },
                    { component: { name: 'OCPPCommCtrlr' }, variable: { name: 'Nope' } },
                    { component: { name: 'NoComponent' }, variable: { name: 'X' } },
                    { component: { name: 'OCPPCommCtrlr' }, variable: {
                        name: 'MessageAttempts', instance: 'TransactionEvent' } },
                ] });
                const st2 = g.getVariableResult.map((x) => x.attributeStatus);
                assert.deepEqual(st2, ['Accepted', 'Accepted', 'UnknownVariable',
                    'UnknownComponent', 'Accepted']);
                assert.equal(g.getVariableResult[0].attributeValue, '300');
                assert.equal(g.getVariableResult[1].attributeValue, 'alm');
                assert.equal(g.getVariableResult[4].attributeValue, '3');
                const s = await csms.call('CS001', 'SetVariables', { setVariableData: [
                    { component: { name: 'OCPPCommCtrlr' }, variable: { name: 'HeartbeatInterval' },
                        attributeValue: '2' },
                    { component: { name: 'LoadBalancer' }, variable: { name: 'ReservePercent' },
                        attributeValue: '60' },
                    { component: { name: 'LoadBalancer' }, variable: { name: 'Mode' },
                        attributeValue: 'dlb' },
                    { component: { name: 'SecurityCtrlr' }, variable: { name: 'SecurityProfile' },
                        attributeValue: '3' },
                ] });
                assert.deepEqual(s.setVariableResult.map((x) => x.attributeStatus),
                    ['Accepted', 'Rejected', 'Accepted', 'Rejected']);
                await csms.log.waitFor(isCall('Heartbeat'), 'heartbeat at 2 s', 4000);
                const r = await csms.call('CS001', 'GetBaseReport',
                    { requestId: 42, reportBase: 'FullInventory' });
                assert.equal(r.status, 'Accepted');
                const rep = { params: { reportData: await reportOf(csms, 42) } };
                const mode = rep.params.reportData.find((d) =>
                    d.component.name === 'LoadBalancer' && d.variable.name === 'Mode');
                assert.equal(mode.variableAttribute[0].value, 'dlb');
                const hb = rep.params.reportData.find((d) =>
                    d.variable.name === 'HeartbeatInterval');
                assert.equal(hb.variableAttribute[0].value, '2');
                // The full inventory has the station, each EVSE and its
                // connector; the configuration inventory only what is
                // writable.
                const names = rep.params.reportData.map((d) => [d.component.name,
                    d.component.evse ? d.component.evse.id : 0,
                    d.component.evse ? d.component.evse.connectorId || 0 : 0,
                    d.variable.name].join('/'));
                for (const n of ['ChargingStation/0/0/AvailabilityState',
                    'EVSE/1/0/AvailabilityState', 'EVSE/2/0/SupplyPhases',
                    'Connector/2/1/Available', 'AlignedDataCtrlr/0/0/Interval']) {
                    assert.ok(names.includes(n), n);
                }
                await csms.call('CS001', 'GetBaseReport',
                    { requestId: 43, reportBase: 'ConfigurationInventory' });
                const cfgRep = await reportOf(csms, 43);
                assert.ok(cfgRep.every((d) =>
                    d.variableAttribute[0].mutability === 'ReadWrite'));
                // The same state through GetVariables; it cannot be set.
                const ev = await csms.call('CS001', 'GetVariables', { getVariableData: [
                    { component: { name: 'EVSE', evse: { id: 1 } },
                        variable: { name: 'AvailabilityState' } },
                    { component: { name: 'Connector', evse: { id: 2, connectorId: 1 } },
                        variable: { name: 'SupplyPhases' } },
                    { component: { name: 'EVSE', evse: { id: 9 } },
                        variable: { name: 'AvailabilityState' } },
                    { component: { name: 'EVSE', evse: { id: 1 } },
                        variable: { name: 'Colour' } },
                    { component: { name: 'OCPPCommCtrlr', evse: { id: 1 } },
                        variable: { name: 'HeartbeatInterval' } },
                ] });
                assert.deepEqual(ev.getVariableResult.map((x) =>
                    [x.attributeStatus, x.attributeValue]), [
                    ['Accepted', 'Available'], ['Accepted', '3'],
                    ['UnknownComponent', undefined], ['UnknownVariable', undefined],
                    ['UnknownComponent', undefined]]);
                const sv = await csms.call('CS001', 'SetVariables', { setVariableData: [
                    { component: { name: 'EVSE', evse: { id: 1 } },
                        variable: { name: 'Available' }, attributeValue: 'false' }] });
                assert.equal(sv.setVariableResult[0].attributeStatus, 'Rejected');
            }
        });
    });

    test(`${version}: clock-aligned meter values with their own measurands`, async () => {
        await withSession(version, {}, async (csms, st) => {
            await booted(csms, st);
            st.send(meter(1, 4321.5));
            const clock = isCall('MeterValues', (p) => (v16 ? p.connectorId :
                p.evseId) === 1 && p.meterValue[0].sampledValue[0].context ===
                'Sample.Clock');
            if (v16) {
                const g = await csms.call('CS001', 'GetConfiguration',
                    { key: ['ClockAlignedDataInterval', 'MeterValuesAlignedData'] });
                const k = g.configurationKey.find((x) => x.key === 'ClockAlignedDataInterval');
                assert.deepEqual([k.value, k.readonly], ['0', false]);
                let r = await csms.call('CS001', 'ChangeConfiguration',
                    { key: 'MeterValuesAlignedData', value: 'Energy.Active.Import.Register' });
                assert.equal(r.status, 'Accepted');
                r = await csms.call('CS001', 'ChangeConfiguration',
                    { key: 'ClockAlignedDataInterval', value: '1' });
                assert.equal(r.status, 'Accepted');
                await st.log.waitFor((e) => e.event === 'config_changed' &&
                    e.key === 'ClockAlignedDataInterval' && e.value === '1', 'persist');
            } else {
                const r = await csms.call('CS001', 'SetVariables', { setVariableData: [
                    { component: { name: 'AlignedDataCtrlr' }, variable: { name: 'Measurands' },
                        attributeValue: 'Energy.Active.Import.Register' },
                    { component: { name: 'AlignedDataCtrlr' }, variable: { name: 'Interval' },
                        attributeValue: '1' }] });
                assert.deepEqual(r.setVariableResult.map((x) => x.attributeStatus),
                    ['Accepted', 'Accepted']);
            }
            // Every second on the second: one sample per boundary.
            const a = await csms.log.waitFor(clock, 'aligned 1', 3000);
            const b = await csms.log.waitFor(clock, 'aligned 2', 3000);
            const ta = Date.parse(a.params.meterValue[0].timestamp);
            const tb = Date.parse(b.params.meterValue[0].timestamp);
            assert.ok(Math.floor(tb / 1000) > Math.floor(ta / 1000), `${ta} ${tb}`);
            // Only the measurands of MeterValuesAlignedData.
            assert.deepEqual(b.params.meterValue[0].sampledValue.map((x) => x.measurand),
                ['Energy.Active.Import.Register']);
        });
    });

    test(`${version}: reset restarts the station, trigger message`, async () => {
        await withSession(version, {}, async (csms, st) => {
            await booted(csms, st);
            let r = await csms.call('CS001', 'TriggerMessage',
                { requestedMessage: 'Heartbeat' });
            assert.equal(r.status, 'Accepted');
            await csms.log.waitFor(isCall('Heartbeat'), 'triggered heartbeat');
            r = await csms.call('CS001', 'TriggerMessage', v16 ?
                { requestedMessage: 'StatusNotification', connectorId: 2 } :
                { requestedMessage: 'StatusNotification', evse: { id: 2 } });
            assert.equal(r.status, 'Accepted');
            // Initial statuses were sent once per connector; 2 now twice.
            await csms.log.waitFor(isCall('StatusNotification', (p) =>
                (v16 ? p.connectorId : p.evseId) === 2), 'status 2');
            await csms.log.waitFor(isCall('StatusNotification', (p) =>
                (v16 ? p.connectorId : p.evseId) === 2), 'triggered status 2');
            r = await csms.call('CS001', 'TriggerMessage', { requestedMessage:
                v16 ? 'DiagnosticsStatusNotification' : 'LogStatusNotification' });
            assert.equal(r.status, 'NotImplemented');
            r = await csms.call('CS001', 'TriggerMessage', { requestedMessage:
                'FirmwareStatusNotification' });
            assert.equal(r.status, 'Accepted');
            const idle = await csms.log.waitFor(isCall('FirmwareStatusNotification'), 'Idle');
            assert.equal(idle.params.status, 'Idle');
            // 1.6 boots again on request; 2.0.1 once accepted refuses
            // (F06.FR.17) and sends no BootNotification.
            const boots = csms.log.count(isCall('BootNotification'));
            r = await csms.call('CS001', 'TriggerMessage',
                { requestedMessage: 'BootNotification' });
            assert.equal(r.status, v16 ? 'Accepted' : 'Rejected');
            if (v16) {
                await csms.log.waitFor(isCall('BootNotification'), 'triggered boot');
            } else {
                // A boot would go out before the next CALL: a heartbeat.
                await heartbeatRoundTrip(csms);
                assert.equal(csms.log.count(isCall('BootNotification')), boots);
            }
            r = await csms.call('CS001', 'Reset', { type: v16 ? 'Hard' : 'Immediate' });
            assert.equal(r.status, 'Accepted');
            const ev = await st.log.waitFor((e) => e.event === 'reset', 'reset cb');
            assert.equal(ev.hard, true);
            await st.log.waitFor((e) => e.event === 'restarted', 'restarted');
            // The restarted daemon connects again and says why (B12).
            const b = await csms.log.waitFor(isCall('BootNotification'), 'boot after reset');
            if (!v16) {
                assert.equal(b.params.reason, 'RemoteReset');
            }
            assert.equal(csms.log.count((e) => e.event === 'connected'), 2);
            // Firmware update goes to the daemon (register 30002).
            const fw = await csms.call('CS001', 'UpdateFirmware', v16 ?
                { location: 'https://fw.example/x.bin', retrieveDate: '2026-11-26T06:00:00Z' } :
                { requestId: 1, firmware: { location: 'https://fw.example/x.bin',
                    retrieveDateTime: '2026-11-26T06:00:00Z' } });
            if (!v16) {
                assert.equal(fw.status, 'Accepted');
            }
            const f = await st.log.waitFor((e) => e.event === 'firmware', 'fw cb');
            assert.equal(f.url, 'https://fw.example/x.bin');
            assert.equal(f.at, Date.parse('2026-11-26T06:00:00Z'));
            for (const want of ['Downloading', 'Installed']) {
                const fs1 = await csms.log.waitFor(isCall('FirmwareStatusNotification'), want);
                assert.equal(fs1.params.status, want);
                if (!v16) {
                    assert.equal(fs1.params.requestId, 1);
                }
            }
        });
    });

    test(`${version}: reconnect after the CSMS drops the socket`, async () => {
        await withSession(version, {}, async (csms, st) => {
            await booted(csms, st);
            // The last initial status is through: the link is idle.
            await csms.log.waitFor(isCall('StatusNotification', (p) =>
                (v16 ? p.connectorId : p.evseId) === 2), 'first status 2');
            await csms.drop('CS001');
            await st.log.waitFor((e) => e.event === 'link' && !e.online, 'link down');
            // Back-off 1 s (minimum 1, random 0): reconnects by itself.
            await csms.log.waitFor((e) => e.event === 'connected', 'first connect');
            await csms.log.waitFor((e) => e.event === 'connected', 'reconnect', 5000);
            await st.log.waitFor((e) => e.event === 'link' && e.online, 'link up again');
            // No second BootNotification (2.0.1 part 4 §5.3), statuses again.
            await csms.log.waitFor(isCall('StatusNotification', (p) =>
                (v16 ? p.connectorId : p.evseId) === 2), 'status 2 again');
            assert.equal(csms.log.count(isCall('BootNotification')), 1);
            const r = await csms.call('CS001', 'TriggerMessage',
                { requestedMessage: 'Heartbeat' });
            assert.equal(r.status, 'Accepted');
        });
    });

    test(`${version}: offline transaction is queued, retried, never duplicated`, async () => {
        await withSession(version, { extra: ['--backoff-min', '2'] }, async (csms, st) => {
            await booted(csms, st);
            st.send(meter(1, 500));
            // The first Start / Started is refused once: retried after 1 s.
            csms.fail(v16 ? 'StartTransaction' : 'TransactionEvent', 1);
            st.send({ cmd: 'status', connector: 1, status: 'Charging' });
            const txCall = v16 ? isCall('StartTransaction') :
                isCall('TransactionEvent', (p) => p.eventType === 'Started');
            const first = await csms.log.waitFor(txCall, 'first start');
            const second = await csms.log.waitFor(txCall, 'retried start', 4000);
            assert.notEqual(first.messageId, second.messageId);
            await csms.log.waitFor((e) => e.event === 'response' && !e.error &&
                e.method === (v16 ? 'StartTransaction' : 'TransactionEvent'), 'ok');
            // Link down; the transaction ends while offline; then the
            // daemon restarts before the link is back.
            await csms.drop('CS001');
            await st.log.waitFor((e) => e.event === 'link' && !e.online, 'down');
            st.send(meter(1, 2500));
            st.send({ cmd: 'status', connector: 1, status: 'Finishing' });
            st.send({ cmd: 'restart' });
            await st.log.waitFor((e) => e.event === 'restarted', 'restarted');
            const stopCall = v16 ? isCall('StopTransaction') :
                isCall('TransactionEvent', (p) => p.eventType === 'Ended');
            const stop = await csms.log.waitFor(stopCall, 'stop after restart', 8000);
            if (v16) {
                assert.equal(stop.params.transactionId, 101);
                assert.equal(stop.params.meterStop, 2500);
            } else {
                assert.equal(stop.params.offline, true);
                assert.equal(stop.params.seqNo, 1);
                assert.equal(stop.params.transactionInfo.transactionId,
                    first.params.transactionInfo.transactionId);
            }
            // Give a duplicate time to show up, then count.
            st.send({ cmd: 'stats' });
            const stats = await st.log.waitFor((e) => e.event === 'stats', 'stats');
            await new Promise((r) => setTimeout(r, 1500));
            assert.equal(csms.log.count(stopCall), 1);
            assert.equal(csms.log.count(txCall), 2);
            st.send({ cmd: 'stats' });
            const stats2 = await st.log.waitFor((e) => e.event === 'stats' &&
                e !== stats, 'stats 2');
            assert.equal(stats2.queue, 0);
        });
    });

    test(`${version}: malformed frames each get the right CALLERROR`, async () => {
        await withSession(version, {}, async (csms, st) => {
            await booted(csms, st);
            const cases = [
                // [frame, id expected in the answer, 1.6 code, 2.0.1 code]
                ['[2,"m1","Reset",{"type":"Sideways"}]', 'm1',
                    'PropertyConstraintViolation', 'PropertyConstraintViolation'],
                ['[2,"m2","Reset",{}]', 'm2',
                    'OccurenceConstraintViolation', 'OccurrenceConstraintViolation'],
                ['[2,"m3","Reset",{"type":5}]', 'm3',
                    'TypeConstraintViolation', 'TypeConstraintViolation'],
                ['[2,"m4","Brew",{}]', 'm4', 'NotImplemented', 'NotImplemented'],
                ['[2,"m5","Authorize",{}]', 'm5', 'NotSupported', 'NotSupported'],
                ['[2,"m6","Reset",[]]', 'm6', 'FormationViolation', 'FormatViolation'],
                ['[9,"m7","Reset",{}]', 'm7', 'FormationViolation', 'MessageTypeNotSupported'],
                ['[2,"m8","Reset"]', 'm8', 'FormationViolation', 'RpcFrameworkError'],
                ['[2,"m9","Reset",{"type":"Soft","type2":1}]', 'm9',
                    'FormationViolation', 'ProtocolError'],
                ['{"not":"an array"}', v16 ? null : '-1', null, 'RpcFrameworkError'],
                // Cut: the id of a CALL can still be read.
                ['[2,"m11","Res', 'm11', 'FormationViolation', 'RpcFrameworkError'],
                // Bytes 5b 22 5c c3 a9 22 5d: the parser's message once
                // cut the "é" in half and the answer could not be built.
                ['["\\é"]', v16 ? null : '-1', null, 'RpcFrameworkError'],
                // A binary frame is not read as text; its id is answered.
                [Buffer.from('[2,"m13","Reset",{"type":"Soft"}]'), 'm13',
                    'FormationViolation', 'RpcFrameworkError'],
                // Longer than 256 KiB: answered from the id, never parsed.
                [`[2,"m14","DataTransfer",{"vendorId":"v","data":"${
                    'a'.repeat(300 * 1024)}"}]`, 'm14',
                'FormationViolation', 'FormatViolation'],
                [`[2,"m15","DataTransfer",{"vendorId":"v","data":"${
                    'é'.repeat(512 * 1024)}"}]`, 'm15',
                'FormationViolation', 'FormatViolation'],
                ['x'.repeat(1024 * 1024), v16 ? null : '-1', null, 'FormatViolation'],
            ];
            for (const [frame, id, c16, c201] of cases) {
                if (Buffer.isBuffer(frame)) {
                    csms.rawBinary('CS001', frame);
                } else {
                    csms.raw('CS001', frame);
                }
                const code = v16 ? c16 : c201;
                if (id === null) {
                    continue;   // 1.6: no id, nothing to answer
                }
                const ans = await csms.log.waitFor((e) => e.event === 'message' &&
                    e.text.startsWith(`[4,"${id}"`),
                `answer to ${String(frame).slice(0, 60)}`);
                const arr = JSON.parse(ans.text);
                assert.equal(arr[2], code, `code for ${String(frame).slice(0, 60)}`);
                assert.equal(typeof arr[3], 'string');
                assert.deepEqual(arr[4], {});
            }
            const s = await stillUp(csms, st);
            assert.equal(s.errors_sent, v16 ? 13 : 16);
            // Each one is a warning in the log, with its cause.
            assert.match(st.stderr(), /malformed frame: binary frame/);
            assert.match(st.stderr(), /malformed frame: message longer than 262144/);
            assert.match(st.stderr(), /malformed frame: frame is not valid JSON/);
        });
    });

    test(`${version}: more items than ItemsPerMessage / GetConfigurationMaxKeys: ` +
        'OccurrenceConstraintViolation', async () => {
        await withSession(version, {}, async (csms, st) => {
            await booted(csms, st);
            const max = v16 ?
                (await csms.call('CS001', 'GetConfiguration',
                    { key: ['GetConfigurationMaxKeys'] })).configurationKey[0].value :
                (await csms.call('CS001', 'GetVariables', { getVariableData: [{
                    component: { name: 'DeviceDataCtrlr' },
                    variable: { name: 'ItemsPerMessage', instance: 'GetVariables' } }] }))
                    .getVariableResult[0].attributeValue;
            assert.equal(max, '64');
            const hb = { component: { name: 'OCPPCommCtrlr' },
                variable: { name: 'HeartbeatInterval' } };
            const get = (n) => (v16 ?
                csms.call('CS001', 'GetConfiguration',
                    { key: Array(n).fill('HeartbeatInterval') }) :
                csms.call('CS001', 'GetVariables', { getVariableData: Array(n).fill(hb) }));
            // As many as announced: answered in full.
            const r = await get(64);
            assert.equal((v16 ? r.configurationKey : r.getVariableResult).length, 64);
            if (!v16) {
                const set = await csms.call('CS001', 'SetVariables', { setVariableData:
                    Array(64).fill({ ...hb, attributeValue: '300' }) });
                assert.equal(set.setVariableResult.length, 64);
            }
            // One more: the CALLERROR of the version, the session stays.
            const over = v16 ? [['GetConfiguration', { key:
                Array(65).fill('HeartbeatInterval') }]] : [
                ['GetVariables', { getVariableData: Array(65).fill(hb) }],
                ['SetVariables', { setVariableData:
                    Array(65).fill({ ...hb, attributeValue: '300' }) }]];
            for (const [i, [action, payload]] of over.entries()) {
                const id = `over-${i}`;
                csms.raw('CS001', JSON.stringify([2, id, action, payload]));
                const ans = await csms.log.waitFor((e) => e.event === 'message' &&
                    e.text.startsWith(`[4,"${id}",`), `answer to ${action}`);
                const arr = JSON.parse(ans.text);
                assert.equal(arr[2], v16 ? 'OccurenceConstraintViolation' :
                    'OccurrenceConstraintViolation', ans.text);
                assert.match(arr[3], /65 items, at most 64/);
            }
            await heartbeatRoundTrip(csms);
            // The pipe may deliver the warning after the answer.
            for (let i = 0; i < 80 && !st.stderr().includes('65 items, at most 64'); i++) {
                await new Promise((r) => setTimeout(r, 100));
            }
            assert.ok(st.stderr().includes('65 items, at most 64'), 'said in the log');
        });
    });

    test(`${version}: malformed-frame corpus, each answered with its code`, async () => {
        await withSession(version, {}, async (csms, st) => {
            await booted(csms, st);
            const list = malformedCases(version);
            const actionsSeen = new Set(list.map((c) =>
                /^\[2,"[^"]*","(\w+)"/.exec(c.frame)).filter((m) => m)
                .map((m) => m[1]));
            assert.ok(list.length >= 60, `${list.length} cases`);
            assert.ok(actionsSeen.size >= 15, `${actionsSeen.size} actions`);
            for (const c of list) {
                csms.raw('CS001', c.frame);
                const ans = await csms.log.waitFor((e) => e.event === 'message' &&
                    e.text.startsWith(`[4,"${c.id}",`),
                `answer to ${c.frame.slice(0, 100)}`);
                const arr = JSON.parse(ans.text);
                const what = `${c.frame.slice(0, 100)} -> ${ans.text.slice(0, 200)}`;
                assert.equal(arr[2], c.code, what);
                assert.equal(typeof arr[3], 'string', what);
                assert.ok(Buffer.byteLength(arr[3]) <= 255, what);
                if (c.field) {
                    assert.ok(arr[3].includes(c.field), `field named: ${what}`);
                }
                assert.deepEqual(arr[4], {});
            }
            const s = await stillUp(csms, st);
            assert.equal(s.errors_sent, list.length);
        });
    });
}

for (const version of ['1.6', '2.0.1']) {
    const v16 = version === '1.6';
    test(`${version}: ConnectionTimeOut withdraws a remote start without a cable`, async () => {
        await withSession(version, {}, async (csms, st) => {
            await booted(csms, st);
            // (before the round trips below, so it is read by then)
            st.send({ cmd: 'car', connector: 1, present: false });
            const set = v16 ? await csms.call('CS001', 'ChangeConfiguration',
                { key: 'ConnectionTimeOut', value: '1' }) :
                await csms.call('CS001', 'SetVariables', { setVariableData: [{
                    component: { name: 'TxCtrlr' },
                    variable: { name: 'EVConnectionTimeOut' },
                    attributeValue: '1' }] });
            assert.equal(v16 ? set.status : set.setVariableResult[0].attributeStatus,
                'Accepted');
            await st.log.waitFor((e) => e.event === 'config_changed' &&
                e.key === 'ConnectionTimeOut' && e.value === '1', 'persist');
            const got = v16 ? (await csms.call('CS001', 'GetConfiguration',
                { key: ['ConnectionTimeOut'] })).configurationKey[0] :
                (await csms.call('CS001', 'GetVariables', { getVariableData: [{
                    component: { name: 'TxCtrlr' },
                    variable: { name: 'EVConnectionTimeOut' } }] })).getVariableResult[0];
            assert.equal(v16 ? got.value : got.attributeValue, '1');
            // Connector 2's car plugs in at once: its transaction starts
            // and stays.  No car on connector 1: the remote start waits,
            // then is withdrawn (by then connector 2's is older than 1 s).
            const r2 = v16 ? await csms.call('CS001', 'RemoteStartTransaction',
                { connectorId: 2, idTag: 'REMOTE2' }) :
                await csms.call('CS001', 'RequestStartTransaction', { evseId: 2,
                    remoteStartId: 6, idToken: { idToken: 'REMOTE2', type: 'eMAID' } });
            assert.equal(r2.status, 'Accepted');
            await csms.log.waitFor(v16 ? isCall('StartTransaction', (p) =>
                p.connectorId === 2) : isCall('TransactionEvent', (p) =>
                p.eventType === 'Started' && p.evse.id === 2), 'start 2');
            const r = v16 ? await csms.call('CS001', 'RemoteStartTransaction',
                { connectorId: 1, idTag: 'REMOTE1' }) :
                await csms.call('CS001', 'RequestStartTransaction', { evseId: 1,
                    remoteStartId: 5, idToken: { idToken: 'REMOTE1', type: 'eMAID' } });
            assert.equal(r.status, 'Accepted');
            await st.log.waitFor((e) => e.event === 'remote_start' &&
                e.connector === 1, 'remote start 1');
            const t0 = Date.now();
            await st.log.waitFor((e) => e.event === 'remote_stop' &&
                e.connector === 1, 'withdrawn after 1 s', 5000);
            assert.ok(Date.now() - t0 >= 500, 'not before the timeout');
            assert.equal(st.log.events.filter((e) => e.event === 'remote_stop' &&
                e.connector === 2).length, 0, 'a started transaction is kept');
        });
    });
}

test('1.6: UnlockConnectorOnEVSideDisconnect read-write, persisted and acted on', async () => {
    await withSession('1.6', {}, async (csms, st) => {
        await booted(csms, st);
        const key = 'UnlockConnectorOnEVSideDisconnect';
        let g = await csms.call('CS001', 'GetConfiguration', { key: [key] });
        assert.deepEqual([g.configurationKey[0].value, g.configurationKey[0].readonly],
            ['true', false]);
        // true: the EV's cable unplugged ends the transaction and unlocks.
        const stops = isCall('StopTransaction');
        const txUp = async (k, n) => {
            st.send(meter(k, 500));
            st.send({ cmd: 'status', connector: k, status: 'Charging' });
            await csms.log.waitFor((e) => e.event === 'response' &&
                e.method === 'StartTransaction' &&
                csms.log.count(isCall('StartTransaction')) === n, `start ${n}`);
        };
        await txUp(1, 1);
        st.send({ cmd: 'status', connector: 1, status: 'Available' });
        const stop = await csms.log.waitFor(stops, 'stop 1');
        assert.equal(stop.params.reason, 'EVDisconnected');
        await st.log.waitFor((e) => e.event === 'unlock' && e.connector === 1,
            'unlock after unplug');
        // false: persisted, reported, and the next unplug unlocks nothing.
        const r = await csms.call('CS001', 'ChangeConfiguration',
            { key, value: 'false' });
        assert.equal(r.status, 'Accepted');
        await st.log.waitFor((e) => e.event === 'config_changed' &&
            e.key === key && e.value === 'false', 'persist');
        g = await csms.call('CS001', 'GetConfiguration', { key: [key] });
        assert.equal(g.configurationKey[0].value, 'false');
        assert.equal((await csms.call('CS001', 'ChangeConfiguration',
            { key, value: 'maybe' })).status, 'Rejected');
        await txUp(2, 2);
        st.send({ cmd: 'status', connector: 2, status: 'Available' });
        await csms.log.waitFor((e) => stops(e) && csms.log.count(stops) === 2,
            'stop 2');
        await heartbeatRoundTrip(csms);
        assert.equal(st.log.events.filter((e) => e.event === 'unlock').length, 1);
    });
});

test('1.6: ResetRetries, StopTxnAlignedData, StopTransactionOnEVSideDisconnect', async () => {
    await withSession('1.6', {}, async (csms, st) => {
        await booted(csms, st);
        const keys = ['ResetRetries', 'StopTxnAlignedData',
            'StopTransactionOnEVSideDisconnect'];
        const get = async () => {
            const g = await csms.call('CS001', 'GetConfiguration', { key: keys });
            return keys.map((k) => {
                const x = g.configurationKey.find((e) => e.key === k);
                return [x.value, x.readonly];
            });
        };
        assert.deepEqual(await get(), [['0', false], ['', false], ['true', false]]);
        const change = async (key, value) => (await csms.call('CS001',
            'ChangeConfiguration', { key, value })).status;
        // The charger ends its own session on unplug: only true holds.
        assert.equal(await change('StopTransactionOnEVSideDisconnect', 'false'), 'Rejected');
        assert.equal(await change('StopTransactionOnEVSideDisconnect', 'true'), 'Accepted');
        assert.equal(await change('ResetRetries', '11'), 'Rejected');
        assert.equal(await change('ResetRetries', 'two'), 'Rejected');
        assert.equal(await change('ResetRetries', '3'), 'Accepted');
        assert.equal(await change('StopTxnAlignedData', 'Bogus'), 'Rejected');
        assert.equal(await change('StopTxnAlignedData', 'Energy.Active.Import.Register'),
            'Accepted');
        await st.log.waitFor((e) => e.event === 'config_changed' &&
            e.key === 'StopTxnAlignedData', 'persist');
        assert.equal(await change('ClockAlignedDataInterval', '1'), 'Accepted');
        // A transaction over at least two aligned boundaries.
        st.send(meter(1, 500));
        st.send({ cmd: 'status', connector: 1, status: 'Charging' });
        await csms.log.waitFor((e) => e.event === 'response' &&
            e.method === 'StartTransaction', 'start answered');
        const clock = isCall('MeterValues', (p) => p.connectorId === 1 &&
            p.transactionId !== undefined &&
            p.meterValue[0].sampledValue[0].context === 'Sample.Clock');
        await csms.log.waitFor(clock, 'aligned 1', 3000);
        await csms.log.waitFor(clock, 'aligned 2', 3000);
        st.send(meter(1, 1500));
        st.send({ cmd: 'status', connector: 1, status: 'Finishing' });
        const stop = await csms.log.waitFor(isCall('StopTransaction'), 'stop');
        const td = stop.params.transactionData;
        const aligned = td.filter((m) => m.sampledValue[0].context === 'Sample.Clock');
        assert.ok(aligned.length >= 2, JSON.stringify(td));
        // StopTxnAlignedData's measurands only, in time order, then the end.
        for (const m of aligned) {
            assert.deepEqual(m.sampledValue.map((x) => x.measurand),
                ['Energy.Active.Import.Register']);
        }
        const times = aligned.map((m) => Date.parse(m.timestamp));
        assert.deepEqual([...times].sort((a, b) => a - b), times);
        assert.equal(td[td.length - 1].sampledValue[0].context, 'Transaction.End');
        assert.equal(td.length, aligned.length + 1);
        // ResetRetries reaches the restart, and the keys survive it.
        assert.equal(await change('ClockAlignedDataInterval', '0'), 'Accepted');
        const r = await csms.call('CS001', 'Reset', { type: 'Soft' });
        assert.equal(r.status, 'Accepted');
        const ev = await st.log.waitFor((e) => e.event === 'reset', 'reset');
        assert.equal(ev.retries, 3);
        await st.log.waitFor((e) => e.event === 'restarted', 'restarted');
        await csms.log.waitFor((e) => isCall('BootNotification')(e) &&
            csms.log.count(isCall('BootNotification')) === 2, 'boot again');
        await st.log.waitFor((e) => e.event === 'link' && e.accepted &&
            st.log.count((x) => x.event === 'link' && x.accepted) === 2, 'accepted again');
        assert.deepEqual(await get(), [['3', false],
            ['Energy.Active.Import.Register', false], ['true', false]]);
    });
});

test('2.0.1: StopTxOnEVSideDisconnect false Rejected; TxEndedMeasurands persisted', async () => {
    await withSession('2.0.1', {}, async (csms, st) => {
        await booted(csms, st);
        const s = await csms.call('CS001', 'SetVariables', { setVariableData: [
            { component: { name: 'TxCtrlr' }, variable: { name: 'StopTxOnEVSideDisconnect' },
                attributeValue: 'false' },
            { component: { name: 'TxCtrlr' }, variable: { name: 'StopTxOnEVSideDisconnect' },
                attributeValue: 'true' },
            { component: { name: 'AlignedDataCtrlr' }, variable: { name: 'TxEndedMeasurands' },
                attributeValue: 'Energy.Active.Import.Register,Power.Active.Import' },
        ] });
        assert.deepEqual(s.setVariableResult.map((x) => x.attributeStatus),
            ['Rejected', 'Accepted', 'Accepted']);
        await st.log.waitFor((e) => e.event === 'config_changed' &&
            e.key === 'StopTxnAlignedData', 'persist');
    });
});

// The variables the 2.0.1 device-model appendix (part 2, appendix 3)
// marks required for the functional blocks the gateway implements:
// [component, variable, instance, mutability, dataType].
const REQUIRED_201 = [
    ['DeviceDataCtrlr', 'ItemsPerMessage', 'GetReport', 'ReadOnly', 'integer'],
    ['DeviceDataCtrlr', 'ItemsPerMessage', 'GetVariables', 'ReadOnly', 'integer'],
    ['DeviceDataCtrlr', 'ItemsPerMessage', 'SetVariables', 'ReadOnly', 'integer'],
    ['DeviceDataCtrlr', 'BytesPerMessage', 'GetReport', 'ReadOnly', 'integer'],
    ['DeviceDataCtrlr', 'BytesPerMessage', 'GetVariables', 'ReadOnly', 'integer'],
    ['DeviceDataCtrlr', 'BytesPerMessage', 'SetVariables', 'ReadOnly', 'integer'],
    ['OCPPCommCtrlr', 'FileTransferProtocols', null, 'ReadOnly', 'MemberList'],
    ['OCPPCommCtrlr', 'MessageTimeout', 'Default', 'ReadWrite', 'integer'],
    ['OCPPCommCtrlr', 'MessageAttempts', 'TransactionEvent', 'ReadWrite', 'integer'],
    ['OCPPCommCtrlr', 'MessageAttemptInterval', 'TransactionEvent', 'ReadWrite', 'integer'],
    ['OCPPCommCtrlr', 'NetworkConfigurationPriority', null, 'ReadWrite', 'SequenceList'],
    ['OCPPCommCtrlr', 'NetworkProfileConnectionAttempts', null, 'ReadWrite', 'integer'],
    ['OCPPCommCtrlr', 'OfflineThreshold', null, 'ReadWrite', 'integer'],
    ['OCPPCommCtrlr', 'ResetRetries', null, 'ReadWrite', 'integer'],
    ['OCPPCommCtrlr', 'RetryBackOffRandomRange', null, 'ReadWrite', 'integer'],
    ['OCPPCommCtrlr', 'RetryBackOffRepeatTimes', null, 'ReadWrite', 'integer'],
    ['OCPPCommCtrlr', 'RetryBackOffWaitMinimum', null, 'ReadWrite', 'integer'],
    ['OCPPCommCtrlr', 'UnlockOnEVSideDisconnect', null, 'ReadWrite', 'boolean'],
    ['OCPPCommCtrlr', 'WebSocketPingInterval', null, 'ReadWrite', 'integer'],
    ['SecurityCtrlr', 'SecurityProfile', null, 'ReadOnly', 'integer'],
    ['SecurityCtrlr', 'Identity', null, 'ReadOnly', 'string'],
    ['SecurityCtrlr', 'OrganizationName', null, 'ReadWrite', 'string'],
    ['SecurityCtrlr', 'CertificateEntries', null, 'ReadOnly', 'integer'],
    ['ClockCtrlr', 'DateTime', null, 'ReadOnly', 'dateTime'],
    ['ClockCtrlr', 'TimeSource', null, 'ReadWrite', 'SequenceList'],
    ['AuthCtrlr', 'AuthorizeRemoteStart', null, 'ReadWrite', 'boolean'],
    ['AuthCtrlr', 'LocalAuthorizeOffline', null, 'ReadWrite', 'boolean'],
    ['AuthCtrlr', 'LocalPreAuthorize', null, 'ReadWrite', 'boolean'],
    ['LocalAuthListCtrlr', 'Entries', null, 'ReadOnly', 'integer'],
    ['LocalAuthListCtrlr', 'ItemsPerMessage', null, 'ReadOnly', 'integer'],
    ['LocalAuthListCtrlr', 'BytesPerMessage', null, 'ReadOnly', 'integer'],
    ['TxCtrlr', 'EVConnectionTimeOut', null, 'ReadWrite', 'integer'],
    ['TxCtrlr', 'StopTxOnEVSideDisconnect', null, 'ReadWrite', 'boolean'],
    ['TxCtrlr', 'StopTxOnInvalidId', null, 'ReadWrite', 'boolean'],
    ['TxCtrlr', 'TxStartPoint', null, 'ReadWrite', 'MemberList'],
    ['TxCtrlr', 'TxStopPoint', null, 'ReadWrite', 'MemberList'],
    ['SampledDataCtrlr', 'TxEndedMeasurands', null, 'ReadWrite', 'MemberList'],
    ['SampledDataCtrlr', 'TxEndedInterval', null, 'ReadWrite', 'integer'],
    ['SampledDataCtrlr', 'TxStartedMeasurands', null, 'ReadWrite', 'MemberList'],
    ['SampledDataCtrlr', 'TxUpdatedMeasurands', null, 'ReadWrite', 'MemberList'],
    ['SampledDataCtrlr', 'TxUpdatedInterval', null, 'ReadWrite', 'integer'],
    ['AlignedDataCtrlr', 'Interval', null, 'ReadWrite', 'integer'],
    ['AlignedDataCtrlr', 'Measurands', null, 'ReadWrite', 'MemberList'],
    ['AlignedDataCtrlr', 'TxEndedInterval', null, 'ReadOnly', 'integer'],
    ['AlignedDataCtrlr', 'TxEndedMeasurands', null, 'ReadWrite', 'MemberList'],
    ['SmartChargingCtrlr', 'Entries', 'ChargingProfiles', 'ReadOnly', 'integer'],
    ['SmartChargingCtrlr', 'LimitChangeSignificance', null, 'ReadWrite', 'decimal'],
    ['SmartChargingCtrlr', 'PeriodsPerSchedule', null, 'ReadOnly', 'integer'],
    ['SmartChargingCtrlr', 'ProfileStackLevel', null, 'ReadOnly', 'integer'],
    ['SmartChargingCtrlr', 'RateUnit', null, 'ReadOnly', 'MemberList'],
];

test('2.0.1: the device model has every required variable; SetVariables persisted', async () => {
    await withSession('2.0.1', {}, async (csms, st) => {
        await booted(csms, st);
        await csms.call('CS001', 'GetBaseReport', { requestId: 7, reportBase: 'FullInventory' });
        const full = await reportOf(csms, 7);
        const find = (c, v, i, evse) => full.find((d) => d.component.name === c &&
            d.variable.name === v && (d.variable.instance || null) === i &&
            (d.component.evse ? d.component.evse.id : 0) === (evse || 0));
        for (const [c, v, i, mut, type] of REQUIRED_201) {
            const d = find(c, v, i);
            assert.ok(d, `${c}/${v}(${i}) missing`);
            assert.equal(d.variableAttribute[0].mutability, mut, `${c}/${v} mutability`);
            assert.equal(d.variableCharacteristics.dataType, type, `${c}/${v} dataType`);
            if (/List$/.test(type)) {
                assert.ok(d.variableCharacteristics.valuesList, `${c}/${v} valuesList`);
            }
        }
        // The station, each EVSE (with its maximum power) and connector.
        for (const k of [1, 2]) {
            for (const v of ['AvailabilityState', 'Available', 'Power', 'SupplyPhases']) {
                assert.ok(find('EVSE', v, null, k), `EVSE ${k} ${v}`);
            }
            const conn = full.find((d) => d.component.name === 'Connector' &&
                d.component.evse.id === k && d.variable.name === 'ConnectorType');
            assert.equal(conn.variableAttribute[0].value, 'sType2');
            assert.equal(find('EVSE', 'Power', null, k).variableCharacteristics.maxLimit, 22080);
        }
        assert.equal(find('SmartChargingCtrlr', 'RateUnit', null).variableAttribute[0].value, 'A,W');
        assert.ok(!Number.isNaN(Date.parse(find('ClockCtrlr', 'DateTime', null)
            .variableAttribute[0].value)));
        // The configuration inventory: exactly the writable ones.
        await csms.call('CS001', 'GetBaseReport',
            { requestId: 8, reportBase: 'ConfigurationInventory' });
        const conf = await reportOf(csms, 8);
        assert.equal(conf.length, full.filter((d) =>
            d.variableAttribute[0].mutability === 'ReadWrite').length);
        // Every required variable answers GetVariables.
        const g = await csms.call('CS001', 'GetVariables', { getVariableData:
            REQUIRED_201.map(([c, v, i]) => ({ component: { name: c },
                variable: i ? { name: v, instance: i } : { name: v } })) });
        assert.deepEqual(g.getVariableResult.filter((r) => r.attributeStatus !==
            'Accepted'), []);
        // Fixed behaviour: its own value Accepted, another Rejected.
        const set = async (c, v, value) => (await csms.call('CS001', 'SetVariables',
            { setVariableData: [{ component: { name: c }, variable: { name: v },
                attributeValue: value }] })).setVariableResult[0].attributeStatus;
        assert.equal(await set('OCPPCommCtrlr', 'OfflineThreshold', '60'), 'Rejected');
        assert.equal(await set('OCPPCommCtrlr', 'OfflineThreshold', '0'), 'Accepted');
        assert.equal(await set('TxCtrlr', 'TxStartPoint', 'EVConnected'), 'Rejected');
        assert.equal(await set('AuthCtrlr', 'AuthorizeRemoteStart', 'true'), 'Rejected');
        assert.equal(await set('SmartChargingCtrlr', 'LimitChangeSignificance', '0.0'),
            'Accepted');
        assert.equal(await set('AlignedDataCtrlr', 'TxEndedInterval', '60'), 'Rejected');
        // Persisted across a restart, for variables with and without a
        // 1.6 key.
        assert.equal(await set('SampledDataCtrlr', 'TxStartedMeasurands',
            'Energy.Active.Import.Register'), 'Accepted');
        assert.equal(await set('OCPPCommCtrlr', 'ResetRetries', '2'), 'Accepted');
        assert.equal(await set('OCPPCommCtrlr', 'UnlockOnEVSideDisconnect', 'false'),
            'Accepted');
        st.send({ cmd: 'restart' });
        await st.log.waitFor((e) => e.event === 'restarted', 'restarted');
        await st.log.waitFor((e) => e.event === 'link' && e.accepted &&
            st.log.count((x) => x.event === 'link' && x.accepted) === 2, 'accepted again');
        const after = await csms.call('CS001', 'GetVariables', { getVariableData: [
            { component: { name: 'SampledDataCtrlr' }, variable: { name: 'TxStartedMeasurands' } },
            { component: { name: 'OCPPCommCtrlr' }, variable: { name: 'ResetRetries' } },
            { component: { name: 'OCPPCommCtrlr' }, variable: { name: 'UnlockOnEVSideDisconnect' } },
        ] });
        assert.deepEqual(after.getVariableResult.map((r) => r.attributeValue),
            ['Energy.Active.Import.Register', '2', 'false']);
        // TxStartedMeasurands is what the Started event carries.
        st.send(meter(1, 700));
        st.send({ cmd: 'status', connector: 1, status: 'Charging' });
        const started = await csms.log.waitFor(isCall('TransactionEvent', (p) =>
            p.eventType === 'Started'), 'Started');
        assert.deepEqual(started.params.meterValue[0].sampledValue.map((x) =>
            [x.measurand, x.context]), [['Energy.Active.Import.Register', 'Transaction.Begin']]);
    });
});

test('2.0.1: ClockCtrlr TimeSource: the CSMS\'s time as an offset, SettingSystemTime', async () => {
    await withSession('2.0.1', {}, async (csms, st) => {
        await booted(csms, st);
        const set = async (value) => (await csms.call('CS001', 'SetVariables',
            { setVariableData: [{ component: { name: 'ClockCtrlr' },
                variable: { name: 'TimeSource' }, attributeValue: value }] }))
            .setVariableResult[0].attributeStatus;
        const get = async (v) => (await csms.call('CS001', 'GetVariables',
            { getVariableData: [{ component: { name: 'ClockCtrlr' },
                variable: { name: v } }] })).getVariableResult[0].attributeValue;
        assert.equal(await get('TimeSource'), 'NTP,Heartbeat');
        assert.equal(await set('GPS'), 'Rejected');
        assert.equal(await set('Heartbeat'), 'Accepted');
        await st.log.waitFor((e) => e.event === 'config_changed' &&
            e.key === 'ClockCtrlr/TimeSource' && e.value === 'Heartbeat', 'persist');
        const events = isCall('SecurityEventNotification', (p) =>
            p.type === 'SettingSystemTime');
        // The CSMS's clock an hour ahead: taken from the Heartbeat answer.
        csms.set({ clockOffsetMs: 3600000 });
        await heartbeatRoundTrip(csms);
        const ev = await csms.log.waitFor(events, 'SettingSystemTime');
        assert.match(ev.params.techInfo, /moved by \+3[56]\d\d\./);
        const ahead = Date.parse(await get('DateTime')) - Date.now();
        assert.ok(ahead > 3590000 && ahead < 3610000, `DateTime ahead by ${ahead} ms`);
        // Timestamps sent follow it.
        await csms.call('CS001', 'TriggerMessage',
            { requestedMessage: 'StatusNotification', evse: { id: 1, connectorId: 1 } });
        const sn = await csms.log.waitFor(isCall('StatusNotification', (p) =>
            Date.parse(p.timestamp) - Date.now() > 3590000), 'status stamped +1 h');
        assert.equal(sn.params.evseId, 1);
        // Within a second of it: nothing moves, nothing is reported.
        csms.set({ clockOffsetMs: 3600300 });
        await heartbeatRoundTrip(csms);
        await heartbeatRoundTrip(csms);
        assert.equal(csms.log.count(events), 1);
        // Back to the system clock (NTP only): reported again.
        assert.equal(await set('NTP'), 'Accepted');
        await csms.log.waitFor((e) => events(e) && csms.log.count(events) === 2,
            'back to the system clock');
        const off = Math.abs(Date.parse(await get('DateTime')) - Date.now());
        assert.ok(off < 5000, `DateTime off by ${off} ms`);
        await heartbeatRoundTrip(csms);
        assert.equal(csms.log.count(events), 2);
    });
});

test('1.6: UnlockConnector on a charging connector ends the transaction first', async () => {
    await withSession('1.6', {}, async (csms, st) => {
        await booted(csms, st);
        const starts = isCall('StartTransaction', (p) => p.connectorId === 2);
        st.send(meter(2, 500));
        st.send({ cmd: 'status', connector: 2, status: 'Charging' });
        await csms.log.waitFor(starts, 'start');
        await csms.log.waitFor((e) => e.event === 'response' &&
            e.method === 'StartTransaction', 'start answered');
        const u = await csms.call('CS001', 'UnlockConnector', { connectorId: 2 });
        assert.equal(u.status, 'Unlocked');
        const stop = await csms.log.waitFor(isCall('StopTransaction'), 'stop');
        assert.equal(stop.params.reason, 'UnlockCommand');
        await st.log.waitFor((e) => e.event === 'unlock' && e.connector === 2,
            'unlock cb');
        // The charger still says Charging: no new transaction from that.
        await heartbeatRoundTrip(csms);
        assert.equal(csms.log.count(starts), 1);
        // Once it left the charging states, the next session is a new one.
        const avail = isCall('StatusNotification', (p) =>
            p.connectorId === 2 && p.status === 'Available');
        const n = csms.log.count(avail);
        st.send({ cmd: 'status', connector: 2, status: 'Available' });
        await csms.log.waitFor((e) => avail(e) && csms.log.count(avail) > n,
            'Available again');
        st.send({ cmd: 'status', connector: 2, status: 'Charging' });
        await csms.log.waitFor((e) => starts(e) && csms.log.count(starts) === 2,
            'second start');
    });
});

// ---- link supervision, registration, secrets ----

test('websocket ping/pong detects a link that died silently', async () => {
    await withSession('2.0.1', { extra: ['--ping', '1', '--ping-timeout', '1'] },
        async (csms, st) => {
            await booted(csms, st);
            const t0 = Date.now();
            csms.stall('CS001');
            // Ping after 1 s idle, hang up 1 s later: well within 5 s.
            await st.log.waitFor((e) => e.event === 'link' && !e.online,
                'link down by ping timeout', 5000);
            assert.ok(Date.now() - t0 >= 1000, 'not before the ping interval');
            await csms.log.waitFor((e) => e.event === 'connected', 'first');
            await csms.log.waitFor((e) => e.event === 'connected', 'reconnected', 5000);
        });
});

test('2.0.1: while Pending the CSMS onboards with GetBaseReport; no remote start', async () => {
    await withSession('2.0.1', { csms: { bootStatus: 'Pending', interval: 60 } },
        async (csms) => {
            await csms.log.waitFor(isCall('BootNotification'), 'boot (Pending)');
            await csms.log.waitFor((e) => e.event === 'response' &&
                e.method === 'BootNotification', 'Pending answered');
            const r = await csms.call('CS001', 'GetBaseReport',
                { requestId: 7, reportBase: 'FullInventory' });
            assert.equal(r.status, 'Accepted');
            // B02.FR.02: the report comes while still Pending.
            assert.ok((await reportOf(csms, 7)).length > 64);
            // B02.FR.05: no transaction before the registration.
            const rs = await csms.call('CS001', 'RequestStartTransaction',
                { idToken: { idToken: 'TAG-1', type: 'ISO14443' }, remoteStartId: 3 });
            assert.equal(rs.status, 'Rejected');
            const boots = csms.log.events.filter((e) => e.event === 'call' &&
                e.action === 'BootNotification');
            assert.equal(boots.length, 1, 'no boot retry before the interval');
        });
});

for (const version of ['1.6', '2.0.1']) {
    const v16 = version === '1.6';
    test(`${version}: a CSMS that answers Invalid for the configured idTag`, async () => {
        await withSession(version, { csms: { invalidIdTag: 'gateway' } }, async (csms, st) => {
            await booted(csms, st);
            // No IdToken from the charger: the configured default is
            // used, the CSMS refuses it, the charging is stopped.
            st.send(meter(1, 1000));
            st.send({ cmd: 'status', connector: 1, status: 'Charging' });
            const ev = await st.log.waitFor((e) => e.event === 'remote_stop' &&
                e.connector === 1, 'stopped for the refused token');
            assert.equal(ev.connector, 1);
            st.send({ cmd: 'status', connector: 1, status: 'Finishing' });
            const end = await csms.log.waitFor(v16 ? isCall('StopTransaction') :
                isCall('TransactionEvent', (p) => p.eventType === 'Ended'), 'end');
            if (v16) {
                assert.equal(end.params.reason, 'DeAuthorized');
                assert.equal(end.params.idTag, 'gateway');
            } else {
                assert.equal(end.params.transactionInfo.stoppedReason, 'DeAuthorized');
                assert.equal(end.params.triggerReason, 'Deauthorized');
            }
            // StopTransactionOnInvalidId false: the next refusal stops
            // nothing.
            const set = v16 ? await csms.call('CS001', 'ChangeConfiguration',
                { key: 'StopTransactionOnInvalidId', value: 'false' }) :
                await csms.call('CS001', 'SetVariables', { setVariableData: [{
                    component: { name: 'TxCtrlr' },
                    variable: { name: 'StopTxOnInvalidId' },
                    attributeValue: 'false' }] });
            assert.equal(v16 ? set.status : set.setVariableResult[0].attributeStatus,
                'Accepted');
            st.send(meter(2, 2000));
            st.send({ cmd: 'status', connector: 2, status: 'Charging' });
            await csms.log.waitFor(v16 ? isCall('StartTransaction', (p) =>
                p.connectorId === 2) : isCall('TransactionEvent', (p) =>
                p.eventType === 'Started' && p.evse.id === 2), 'second start');
            // Its answer (Invalid) went out before this CALL and was
            // handled first (one socket, in order).
            await csms.call('CS001', 'TriggerMessage', { requestedMessage: 'Heartbeat' });
            await csms.log.waitFor(isCall('Heartbeat'), 'heartbeat');
            assert.equal(st.log.events.filter((e) => e.event === 'remote_stop' &&
                e.connector === 2).length, 0);
        });
    });
}

test('1.6: Pending registration retried at the interval, then Accepted', async () => {
    await withSession('1.6', { csms: { bootStatus: 'Pending', interval: 1 } },
        async (csms, st) => {
            await csms.log.waitFor(isCall('BootNotification'), 'boot 1');
            const t0 = Date.now();
            csms.set({ bootStatus: 'Accepted' });
            await csms.log.waitFor(isCall('BootNotification'), 'boot 2', 3000);
            assert.ok(Date.now() - t0 >= 700, 'retry waits for the interval');
            await st.log.waitFor((e) => e.event === 'link' && e.accepted, 'accepted');
            // Nothing but boots before acceptance.
            const calls = csms.log.events.filter((e) => e.event === 'call');
            assert.deepEqual(calls.slice(0, 2).map((e) => e.action),
                ['BootNotification', 'BootNotification']);
            await csms.log.waitFor(isCall('StatusNotification'), 'status after');
        });
});

test('2.0.1: Rejected registration, and unanswered calls time out', async () => {
    await withSession('2.0.1', { csms: { bootStatus: 'Rejected', interval: 1 },
        extra: ['--call-timeout', '1', '--boot-retry', '1'] }, async (csms, st) => {
        await csms.log.waitFor(isCall('BootNotification'), 'boot 1 (Rejected)');
        csms.silence('BootNotification', 1);
        // Rejected with interval 1: boot 2 after 1 s, never answered.
        await csms.log.waitFor(isCall('BootNotification'), 'boot 2', 3000);
        csms.set({ bootStatus: 'Accepted' });
        // 1 s response timeout, then the 1 s boot retry: boot 3.
        const t0 = Date.now();
        await csms.log.waitFor(isCall('BootNotification'), 'boot 3', 4000);
        assert.ok(Date.now() - t0 >= 1500, 'timeout + retry interval elapsed');
        await st.log.waitFor((e) => e.event === 'link' && e.accepted, 'accepted');
        const calls = csms.log.events.filter((e) => e.event === 'call');
        assert.deepEqual(calls.slice(0, 3).map((e) => e.action),
            ['BootNotification', 'BootNotification', 'BootNotification']);
        // A transaction message whose answer never comes is sent again,
        // same content (seqNo), new message id.
        csms.silence('TransactionEvent', 1);
        st.send({ cmd: 'status', connector: 1, status: 'Charging' });
        const started = isCall('TransactionEvent', (p) => p.eventType === 'Started');
        const a = await csms.log.waitFor(started, 'Started');
        const b = await csms.log.waitFor(started, 'Started again', 5000);
        assert.equal(a.params.seqNo, b.params.seqNo);
        assert.notEqual(a.messageId, b.messageId);
        st.send({ cmd: 'stats' });
        const s = await st.log.waitFor((e) => e.event === 'stats', 'stats');
        assert.equal(s.timeouts, 2);
    });
});

test('1.6: a transaction message is given up after TransactionMessageAttempts', async () => {
    await withSession('1.6', { extra: ['--tx-attempts', '2'] }, async (csms, st) => {
        await booted(csms, st);
        csms.fail('StartTransaction', 5);
        st.send({ cmd: 'status', connector: 1, status: 'Charging' });
        await csms.log.waitFor(isCall('StartTransaction'), 'attempt 1');
        await csms.log.waitFor(isCall('StartTransaction'), 'attempt 2', 4000);
        st.send({ cmd: 'status', connector: 1, status: 'Available' });
        // The Stop of a transaction the backend never registered is
        // dropped, not sent with a made-up id.
        await new Promise((r) => setTimeout(r, 2500));
        assert.equal(csms.log.count(isCall('StartTransaction')), 2);
        assert.equal(csms.log.count(isCall('StopTransaction')), 0);
        st.send({ cmd: 'stats' });
        const s = await st.log.waitFor((e) => e.event === 'stats', 'stats');
        assert.equal(s.queue, 0);
    });
});

test('the password never appears in the debug log', async () => {
    await withSession('1.6', { extra: ['--debug'] }, async (csms, st) => {
        await booted(csms, st);
        await csms.log.waitFor(isCall('StatusNotification'), 'status');
        const basic = Buffer.from(`CS001:${PASSWORD}`).toString('base64');
        assert.ok(st.stderr().includes('BootNotification'), 'debug log is on');
        assert.ok(!st.stderr().includes(PASSWORD));
        assert.ok(!st.stderr().includes(basic));
    });
});

// ---- security profiles 2 and 3 (both versions share the transport) ----

function openssl(args) {
    execFileSync('openssl', args, { stdio: 'pipe' });
}

// Makes a CA, a server certificate for 127.0.0.1 and a client certificate
// signed by it, plus a second unrelated CA.  Returns file names.
function makePki(dir) {
    fs.mkdirSync(dir, { recursive: true });
    const f = (n) => path.join(dir, n);
    for (const ca of ['ca', 'other-ca']) {
        openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
            '-nodes', '-keyout', f(`${ca}.key`), '-out', f(`${ca}.pem`), '-days', '2',
            '-subj', `/CN=${ca}`]);
    }
    fs.writeFileSync(f('server.ext'),
        'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n');
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('server.key'),
        '-out', f('server.csr'), '-subj', '/CN=127.0.0.1']);
    openssl(['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey',
        f('ca.key'), '-CAcreateserial', '-out', f('server.pem'), '-days', '2',
        '-extfile', f('server.ext')]);
    openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
        '-keyout', f('client.key'), '-out', f('client.csr'), '-subj', '/CN=CS001']);
    openssl(['x509', '-req', '-in', f('client.csr'), '-CA', f('ca.pem'), '-CAkey',
        f('ca.key'), '-CAcreateserial', '-out', f('client.pem'), '-days', '2']);
    // Signed by the right CA but for another host name.
    fs.writeFileSync(f('wrong.ext'), 'subjectAltName=DNS:wrong.example\n');
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('wrong.key'),
        '-out', f('wrong.csr'), '-subj', '/CN=wrong.example']);
    openssl(['x509', '-req', '-in', f('wrong.csr'), '-CA', f('ca.pem'), '-CAkey',
        f('ca.key'), '-CAcreateserial', '-out', f('wrong.pem'), '-days', '2',
        '-extfile', f('wrong.ext')]);
    openssl(['req', '-newkey', 'rsa:1024', '-nodes', '-keyout', f('weak.key'),
        '-out', f('weak.csr'), '-subj', '/CN=CS001']);
    openssl(['x509', '-req', '-in', f('weak.csr'), '-CA', f('ca.pem'), '-CAkey',
        f('ca.key'), '-CAcreateserial', '-out', f('weak.pem'), '-days', '2']);
    return f;
}

const pki = makePki(path.join(WORKDIR, 'pki'));

function tlsArgs(csms, profile, ca, extra = []) {
    return ['--url', `wss://127.0.0.1:${csms.port}/ocpp`, '--version', '2.0.1',
        '--identity', 'CS001', '--profile', String(profile), '--ca', ca,
        '--password', PASSWORD, '--backoff-min', '1', '--backoff-random', '0',
        '--meter', '0', ...extra];
}

test('security profile 2: TLS with Basic auth; a wrong CA is refused', async () => {
    const tls = { cert: pki('server.pem'), key: pki('server.key') };
    await withSession('2.0.1', { csms: { tls, password: PASSWORD },
        args: (c) => tlsArgs(c, 2, pki('ca.pem')) }, async (csms, st) => {
        await booted(csms, st);
        const conn = csms.log.events.find((e) => e.event === 'connected');
        assert.equal(conn.tls, true);
        assert.ok(['TLSv1.2', 'TLSv1.3'].includes(conn.tlsVersion));
        assert.equal(conn.auth, true);
    });
    await withSession('2.0.1', { csms: { tls, password: PASSWORD },
        args: (c) => tlsArgs(c, 2, pki('other-ca.pem')) }, async (csms, st) => {
        await csms.log.waitFor((e) => e.event === 'tls_error', 'TLS refused');
        await new Promise((r) => setTimeout(r, 1500));
        assert.equal(csms.log.count((e) => e.event === 'connected'), 0);
        assert.equal(st.log.count((e) => e.event === 'link' && e.online), 0);
    });
});

test('security profile 2: a certificate for another host is refused', async () => {
    const tls = { cert: pki('wrong.pem'), key: pki('wrong.key') };
    await withSession('2.0.1', { csms: { tls, password: PASSWORD },
        args: (c) => tlsArgs(c, 2, pki('ca.pem')) }, async (csms, st) => {
        await csms.log.waitFor((e) => e.event === 'tls_error', 'TLS refused');
        await new Promise((r) => setTimeout(r, 1500));
        assert.equal(csms.log.count((e) => e.event === 'connected'), 0);
        assert.equal(st.log.count((e) => e.event === 'link' && e.online), 0);
    });
});

test('security profile 1 and 2: a wrong password is refused', async () => {
    await withSession('1.6', { csms: { password: 'another-password-123' } },
        async (csms, st) => {
            const r = await csms.log.waitFor((e) => e.event === 'auth_rejected', 'rejected');
            assert.equal(r.why, 'wrong password');
            assert.equal(st.log.count((e) => e.event === 'link' && e.online), 0);
        });
});

test('security profile 3: client certificate; wrong CA and weak key refused', async () => {
    const tls = { cert: pki('server.pem'), key: pki('server.key'), ca: pki('ca.pem'),
        requestCert: true };
    await withSession('1.6', { csms: { tls },
        args: (c) => ['--url', `wss://127.0.0.1:${c.port}/ocpp`, '--version', '1.6',
            '--identity', 'CS001', '--profile', '3', '--ca', pki('ca.pem'),
            '--cert', pki('client.pem'), '--key', pki('client.key'),
            '--backoff-min', '1', '--backoff-random', '0', '--meter', '0'] },
    async (csms, st) => {
        await booted(csms, st);
        const conn = csms.log.events.find((e) => e.event === 'connected');
        assert.equal(conn.clientCert, 'CS001');
        assert.equal(conn.auth, false);
    });
    // The station trusts another CA: it refuses the CSMS.
    await withSession('1.6', { csms: { tls },
        args: (c) => ['--url', `wss://127.0.0.1:${c.port}/ocpp`, '--version', '1.6',
            '--identity', 'CS001', '--profile', '3', '--ca', pki('other-ca.pem'),
            '--cert', pki('client.pem'), '--key', pki('client.key'),
            '--backoff-min', '1', '--backoff-random', '0'] },
    async (csms, st) => {
        await csms.log.waitFor((e) => e.event === 'tls_error', 'TLS refused');
        await new Promise((r) => setTimeout(r, 1500));
        assert.equal(csms.log.count((e) => e.event === 'connected'), 0);
    });
    // RSA 1024: refused at start, before any connection.
    const csms = await csmsWith({ tls });
    const st = station(['--url', `wss://127.0.0.1:${csms.port}/ocpp`, '--version', '1.6',
        '--profile', '3', '--ca', pki('ca.pem'), '--cert', pki('weak.pem'),
        '--key', pki('weak.key')]);
    const err = await st.log.waitFor((e) => e.event === 'error', 'key refused');
    assert.match(err.what, /RSA 1024 bits, at least 2048/);
    const r = await st.exited;
    assert.equal(r.code, 1);
    await csms.close();
});

// ---- security management: events, the backend's password ----

const isSecEvent = (type) => isCall('SecurityEventNotification',
    (p) => p.type === type);

for (const version of ['1.6', '2.0.1']) {
    const v16 = version === '1.6';

    test(`${version}: security events: startup, reset, invalid messages, ` +
        'queued across a link drop and a restart', async () => {
        await withSession(version, {}, async (csms, st) => {
            await booted(csms, st);
            const up = await csms.log.waitFor(isSecEvent('StartupOfTheDevice'),
                'StartupOfTheDevice');
            assert.ok(!Number.isNaN(Date.parse(up.params.timestamp)));
            // A frame that is not OCPP: answered, and said once per
            // connection however many come.
            csms.raw('CS001', '[2,"bad1","Heartbeat",');
            csms.raw('CS001', '[2,"bad2","Heartbeat",{');
            const inv = await csms.log.waitFor(isSecEvent('InvalidMessages'),
                'InvalidMessages');
            assert.match(inv.params.techInfo, /JSON|json/);
            await heartbeatRoundTrip(csms);
            assert.equal(csms.log.count(isSecEvent('InvalidMessages')), 1);
            // Offline, then a restart: the event is in the durable queue.
            st.send({ cmd: 'disconnect' });
            await csms.log.waitFor((e) => e.event === 'disconnected', 'dropped');
            st.send({ cmd: 'security_event', type: 'SettingSystemTime',
                techInfo: 'clock stepped by +3600 s' });
            st.send({ cmd: 'restart' });
            await st.log.waitFor((e) => e.event === 'restarted', 'restarted');
            const t = await csms.log.waitFor(isSecEvent('SettingSystemTime'),
                'SettingSystemTime after the restart');
            assert.equal(t.params.techInfo, 'clock stepped by +3600 s');
            await csms.log.waitFor(isSecEvent('StartupOfTheDevice'),
                'StartupOfTheDevice after the restart');
            // The backend's reset is reported after it.
            const r = await csms.call('CS001', 'Reset', { type: v16 ? 'Soft' : 'Immediate' });
            assert.equal(r.status, 'Accepted');
            await st.log.waitFor((e) => e.event === 'restarted', 'reset done');
            const rr = await csms.log.waitFor(isSecEvent('ResetOrReboot'),
                'ResetOrReboot');
            assert.match(rr.params.techInfo, /reset requested by the backend/);
            await csms.log.waitFor(isSecEvent('StartupOfTheDevice'),
                'StartupOfTheDevice after the reset');
            // Each was accepted (strict schemas) and left the queue.
            await heartbeatRoundTrip(csms);
            st.send({ cmd: 'stats' });
            const s = await st.log.waitFor((e) => e.event === 'stats', 'stats');
            assert.equal(s.queue, 0);
        });
    });

    // 1.6: AuthorizationKey, 16..20 bytes as hex; 2.0.1: BasicAuthPassword.
    const NEWPW = v16 ? '00112233445566778899aabbccddeeff01234567' :
        'New-secret-pass-0123456789';
    const setPassword = (csms, pw) => (v16 ?
        csms.call('CS001', 'ChangeConfiguration', { key: 'AuthorizationKey', value: pw })
            .then((r) => r.status) :
        csms.call('CS001', 'SetVariables', { setVariableData: [{
            component: { name: 'SecurityCtrlr' },
            variable: { name: 'BasicAuthPassword' }, attributeValue: pw }] })
            .then((r) => r.setVariableResult[0].attributeStatus));

    test(`${version}: the backend changes the password: reconnect with it, ` +
        'kept across a restart, never shown', async () => {
        await withSession(version, { csms: { password: PASSWORD },
            extra: ['--debug'] }, async (csms, st) => {
            await booted(csms, st);
            assert.equal(await setPassword(csms, v16 ? 'abc' : 'short'), 'Rejected');
            assert.equal(await setPassword(csms, v16 ? 'zz'.repeat(20) : 'x'.repeat(41)),
                'Rejected');
            csms.set({ password: NEWPW });
            assert.equal(await setPassword(csms, NEWPW), 'Accepted');
            await csms.log.waitFor((e) => e.event === 'disconnected', 'reconnect');
            const ev = await csms.log.waitFor(
                isSecEvent('ReconfigurationOfSecurityParameters'), 'security event');
            assert.match(ev.params.techInfo, /changed/);
            assert.equal(csms.log.count((e) => e.event === 'connected' && e.auth), 2);
            assert.equal(csms.log.count((e) => e.event === 'auth_rejected'), 0);
            // Write only.
            if (v16) {
                const r = await csms.call('CS001', 'GetConfiguration',
                    { key: ['AuthorizationKey'] });
                assert.deepEqual(r.unknownKey, ['AuthorizationKey']);
                const all = await csms.call('CS001', 'GetConfiguration', {});
                assert.ok(!JSON.stringify(all).includes(NEWPW));
            } else {
                const r = await csms.call('CS001', 'GetVariables', { getVariableData: [{
                    component: { name: 'SecurityCtrlr' },
                    variable: { name: 'BasicAuthPassword' } }] });
                assert.equal(r.getVariableResult[0].attributeStatus, 'Rejected');
                assert.equal(r.getVariableResult[0].attributeValue, undefined);
            }
            // The daemon restarts: the new password is kept.
            st.send({ cmd: 'restart' });
            await st.log.waitFor((e) => e.event === 'restarted', 'restarted');
            await csms.log.waitFor((e) => e.event === 'connected' &&
                csms.log.count((x) => x.event === 'connected') === 3, 'third connection');
            await heartbeatRoundTrip(csms);
            assert.equal(csms.log.count((e) => e.event === 'auth_rejected'), 0);
            assert.ok(st.stderr().includes('not shown'), 'debug log is on');
            assert.ok(!st.stderr().includes(NEWPW), 'new password in the log');
            assert.ok(!st.stderr().includes(PASSWORD), 'old password in the log');
        });
    });

    test(`${version}: a new password while a transaction message is in ` +
        'flight: its answer is awaited, the message is sent once', async () => {
        await withSession(version, { csms: { password: PASSWORD } },
            async (csms, st) => {
                await booted(csms, st);
                const action = v16 ? 'StartTransaction' : 'TransactionEvent';
                const start = isCall(action, (p) => v16 || p.eventType === 'Started');
                // The backend takes 1.5 s to answer the start; the new
                // password comes while it is in flight.
                csms.delay(action, 1, 1500);
                st.send({ cmd: 'token', connector: 1, id: 'RFID01' });
                st.send({ cmd: 'status', connector: 1, status: 'Charging' });
                await csms.log.waitFor(start, 'start');
                csms.set({ password: NEWPW });
                assert.equal(await setPassword(csms, NEWPW), 'Accepted');
                await csms.log.waitFor(isSecEvent('ReconfigurationOfSecurityParameters'),
                    'reconnected');
                await heartbeatRoundTrip(csms);
                assert.equal(csms.log.count((e) => e.event === 'disconnected'), 1);
                assert.equal(csms.log.count(start), 1, 'the start sent again');
                st.send({ cmd: 'stats' });
                const s = await st.log.waitFor((e) => e.event === 'stats', 'stats');
                assert.equal(s.queue, 0);
                assert.equal(s.timeouts, 0);
            });
    });

    test(`${version}: Reset ${v16 ? 'Hard' : 'Immediate'} during a transaction: ` +
        'its end is answered before the restart, sent once', async () => {
        await withSession(version, {}, async (csms, st) => {
            await booted(csms, st);
            const action = v16 ? 'StopTransaction' : 'TransactionEvent';
            const end = isCall(action, (p) => v16 || p.eventType === 'Ended');
            st.send({ cmd: 'token', connector: 1, id: 'RFID01' });
            st.send({ cmd: 'status', connector: 1, status: 'Charging' });
            await csms.log.waitFor(isCall(v16 ? 'StartTransaction' : 'TransactionEvent'),
                'start');
            await heartbeatRoundTrip(csms);
            // The backend answers the end (and what follows) 1 s late.
            csms.delay(action, 3, 1000);
            const r = await csms.call('CS001', 'Reset', { type: v16 ? 'Hard' : 'Immediate' });
            assert.equal(r.status, 'Accepted');
            await csms.log.waitFor(end, 'end');
            await st.log.waitFor((e) => e.event === 'restarted', 'restarted');
            // The reset's security event is queued after the end.
            await csms.log.waitFor(isSecEvent('ResetOrReboot'), 'ResetOrReboot');
            assert.equal(csms.log.count(end), 1, 'the end sent again');
        });
    });

    test(`${version}: a new password the backend then refuses: back to the ` +
        'previous one, with a security event', async () => {
        await withSession(version, { csms: { password: PASSWORD } },
            async (csms, st) => {
                await booted(csms, st);
                assert.equal(await setPassword(csms, NEWPW), 'Accepted');
                const r = await csms.log.waitFor((e) => e.event === 'auth_rejected',
                    'new password refused');
                assert.equal(r.why, 'wrong password');
                const ev = await csms.log.waitFor(
                    isSecEvent('ReconfigurationOfSecurityParameters'), 'security event');
                assert.match(ev.params.techInfo, /refused/);
                assert.equal(csms.log.count((e) => e.event === 'connected' && e.auth), 2);
                // Still the old one after a restart.
                st.send({ cmd: 'restart' });
                await st.log.waitFor((e) => e.event === 'restarted', 'restarted');
                await csms.log.waitFor((e) => e.event === 'connected' &&
                    csms.log.count((x) => x.event === 'connected') === 3, 'third');
                assert.equal(csms.log.count((e) => e.event === 'auth_rejected'), 1);
            });
    });
}

test('InvalidCsmsCertificate: said once the CSMS is reached again', async () => {
    // The CSMS first shows a certificate for another host name.
    const tls = { cert: pki('wrong.pem'), key: pki('wrong.key') };
    await withSession('2.0.1', { csms: { tls, password: PASSWORD },
        args: (c) => tlsArgs(c, 2, pki('ca.pem')) }, async (csms, st) => {
        await csms.log.waitFor((e) => e.event === 'tls_error', 'TLS refused');
        await csms.log.waitFor((e) => e.event === 'tls_error', 'TLS refused again');
        csms.setCert(pki('server.pem'), pki('server.key'));
        await booted(csms, st);
        const ev = await csms.log.waitFor(isSecEvent('InvalidCsmsCertificate'),
            'InvalidCsmsCertificate');
        assert.match(ev.params.techInfo, /TLS/);
        await heartbeatRoundTrip(csms);
        assert.equal(csms.log.count(isSecEvent('InvalidCsmsCertificate')), 1);
    });
});

// ---- certificates: profile 3 client certificate, root certificates ----

const mode = (f) => fs.statSync(f).mode & 0o777;
const serialOf = (pem) => execFileSync('openssl', ['x509', '-noout', '-serial', '-in', pem])
    .toString().trim().replace(/^serial=/, '');

for (const version of ['1.6', '2.0.1']) {
    const v16 = version === '1.6';

    test(`${version}: SignCertificate / CertificateSigned renew the profile 3 ` +
        'client certificate', async () => {
        const dir = path.join(WORKDIR, `certs-sign-${version}`);
        const tls = { cert: pki('server.pem'), key: pki('server.key'), ca: pki('ca.pem'),
            requestCert: true };
        await withSession(version, { csms: { tls },
            args: (c) => ['--url', `wss://127.0.0.1:${c.port}/ocpp`, '--version', version,
                '--identity', 'CS001', '--profile', '3', '--ca', pki('ca.pem'),
                '--cert', pki('client.pem'), '--key', pki('client.key'),
                '--cert-dir', dir, '--backoff-min', '1', '--backoff-random', '0',
                '--meter', '0', '--debug'] },
        async (csms, st) => {
            await booted(csms, st);
            const first = csms.log.events.find((e) => e.event === 'connected');
            assert.equal(first.clientSerial, serialOf(pki('client.pem')));
            const r = v16 ?
                await csms.call('CS001', 'ExtendedTriggerMessage',
                    { requestedMessage: 'SignChargePointCertificate' }) :
                await csms.call('CS001', 'TriggerMessage',
                    { requestedMessage: 'SignChargingStationCertificate' });
            assert.equal(r.status, 'Accepted');
            const sign = await csms.log.waitFor(isCall('SignCertificate'), 'SignCertificate');
            assert.match(sign.params.csr, /BEGIN CERTIFICATE REQUEST/);
            if (!v16) {
                assert.equal(sign.params.certificateType, 'ChargingStationCertificate');
            }
            const pending = path.join(dir, 'client-pending.key');
            assert.equal(mode(pending), 0o600);
            assert.equal(mode(dir), 0o700);
            const key = fs.readFileSync(pending, 'utf8');
            // The backend's CA signs the request.
            const csr = path.join(dir, '..', `new-${version}.csr`);
            const crt = path.join(dir, '..', `new-${version}.pem`);
            fs.writeFileSync(csr, sign.params.csr);
            openssl(['x509', '-req', '-in', csr, '-CA', pki('ca.pem'), '-CAkey',
                pki('ca.key'), '-CAcreateserial', '-out', crt, '-days', '2']);
            const subject = execFileSync('openssl', ['x509', '-noout', '-subject',
                '-in', crt]).toString();
            assert.match(subject, /CN\s*=\s*CS001/);
            const typ = v16 ? {} : { certificateType: 'ChargingStationCertificate' };
            // A certificate for another key is refused.
            let res = await csms.call('CS001', 'CertificateSigned', { ...typ,
                certificateChain: fs.readFileSync(pki('client.pem'), 'utf8') });
            assert.equal(res.status, 'Rejected');
            await csms.log.waitFor(isSecEvent('InvalidChargingStationCertificate'),
                'InvalidChargingStationCertificate');
            res = await csms.call('CS001', 'CertificateSigned', { ...typ,
                certificateChain: fs.readFileSync(crt, 'utf8') +
                    fs.readFileSync(pki('ca.pem'), 'utf8') });
            assert.equal(res.status, 'Accepted');
            // Reconnects with it.
            const again = await csms.log.waitFor((e) => e.event === 'connected' &&
                e.clientSerial === serialOf(crt), 'connected with the new certificate');
            assert.equal(again.clientCert, 'CS001');
            assert.equal(mode(path.join(dir, 'client.pem')), 0o600);
            assert.ok(!fs.existsSync(pending));
            await heartbeatRoundTrip(csms);
            const body = key.split('\n').filter((l) => l.length > 40)[0];
            assert.ok(!st.stderr().includes(body), 'the key in the log');
        });
    });

    test(`${version}: InstallCertificate / GetInstalledCertificateIds / ` +
        'DeleteCertificate of root certificates', async () => {
        const dir = path.join(WORKDIR, `certs-roots-${version}`);
        await withSession(version, { extra: ['--cert-dir', dir] }, async (csms, st) => {
            await booted(csms, st);
            const csmsType = v16 ? 'CentralSystemRootCertificate' : 'CSMSRootCertificate';
            const get = (type) => csms.call('CS001', 'GetInstalledCertificateIds',
                v16 ? { certificateType: type } : { certificateType: [type] });
            assert.equal((await get(csmsType)).status, 'NotFound');
            // Not a CA; a type not kept; then two roots.
            let r = await csms.call('CS001', 'InstallCertificate', { certificateType:
                csmsType, certificate: fs.readFileSync(pki('client.pem'), 'utf8') });
            assert.equal(r.status, 'Rejected');
            if (!v16) {
                r = await csms.call('CS001', 'InstallCertificate', { certificateType:
                    'V2GRootCertificate', certificate: fs.readFileSync(pki('ca.pem'), 'utf8') });
                assert.equal(r.status, 'Rejected');
            }
            r = await csms.call('CS001', 'InstallCertificate', { certificateType:
                csmsType, certificate: fs.readFileSync(pki('ca.pem'), 'utf8') });
            assert.equal(r.status, 'Accepted');
            r = await csms.call('CS001', 'InstallCertificate', { certificateType:
                'ManufacturerRootCertificate',
                certificate: fs.readFileSync(pki('other-ca.pem'), 'utf8') });
            assert.equal(r.status, 'Accepted');
            const files = fs.readdirSync(dir).sort();
            assert.equal(files.length, 2, files.join(' '));
            assert.match(files[0], /^csms-[0-9a-f]{64}\.pem$/);
            assert.match(files[1], /^manufacturer-[0-9a-f]{64}\.pem$/);
            for (const f of files) {
                assert.equal(mode(path.join(dir, f)), 0o600);
            }
            const ids = await get(csmsType);
            assert.equal(ids.status, 'Accepted');
            const list = v16 ? ids.certificateHashData :
                ids.certificateHashDataChain.map((c) => {
                    assert.equal(c.certificateType, csmsType);
                    return c.certificateHashData;
                });
            assert.equal(list.length, 1);
            assert.equal(list[0].hashAlgorithm, 'SHA256');
            assert.equal(list[0].serialNumber.toUpperCase(),
                serialOf(pki('ca.pem')).replace(/^0+/, ''));
            if (!v16) {
                const all = await csms.call('CS001', 'GetInstalledCertificateIds', {});
                assert.equal(all.certificateHashDataChain.length, 2);
            }
            r = await csms.call('CS001', 'DeleteCertificate',
                { certificateHashData: list[0] });
            assert.equal(r.status, 'Accepted');
            r = await csms.call('CS001', 'DeleteCertificate',
                { certificateHashData: list[0] });
            assert.equal(r.status, 'NotFound');
            assert.equal((await get(csmsType)).status, 'NotFound');
            await csms.log.waitFor(isSecEvent('ReconfigurationOfSecurityParameters'),
                'security event');
        });
    });

    test(`${version}: security settings: profile, organization name (the CSR's O=, ` +
        'persisted), certificate count and store size', async () => {
        const dir = path.join(WORKDIR, `certs-keys-${version}`);
        await withSession(version, { extra: ['--cert-dir', dir] }, async (csms, st) => {
            await booted(csms, st);
            const get = async () => {
                if (v16) {
                    const r = await csms.call('CS001', 'GetConfiguration', { key:
                        ['SecurityProfile', 'CpoName', 'CertificateStoreMaxLength',
                            'AdditionalRootCertificateCheck'] });
                    assert.equal(r.unknownKey, undefined);
                    return Object.fromEntries(r.configurationKey.map((k) =>
                        [k.key, [k.value, k.readonly]]));
                }
                const names = ['SecurityProfile', 'OrganizationName', 'CertificateEntries'];
                const r = await csms.call('CS001', 'GetVariables', { getVariableData:
                    names.map((v) => ({ component: { name: 'SecurityCtrlr' },
                        variable: { name: v } })) });
                return Object.fromEntries(r.getVariableResult.map((x) =>
                    [x.variable.name, x.attributeValue]));
            };
            const set = async (value) => (v16 ?
                (await csms.call('CS001', 'ChangeConfiguration', { key: 'CpoName', value }))
                    .status :
                (await csms.call('CS001', 'SetVariables', { setVariableData: [{
                    component: { name: 'SecurityCtrlr' },
                    variable: { name: 'OrganizationName' }, attributeValue: value }] }))
                    .setVariableResult[0].attributeStatus);
            let g = await get();
            if (v16) {
                assert.deepEqual(g, {
                    SecurityProfile: ['1', true], CpoName: ['ocpp-edge', false],
                    CertificateStoreMaxLength: ['20', true],
                    AdditionalRootCertificateCheck: ['false', true] });
                const r = await csms.call('CS001', 'ChangeConfiguration',
                    { key: 'SecurityProfile', value: '2' });
                assert.equal(r.status, 'Rejected');
            } else {
                assert.deepEqual(g, { SecurityProfile: '1', OrganizationName: 'ocpp-edge',
                    CertificateEntries: '0' });
            }
            // Control characters and over 64 bytes are refused.
            assert.equal(await set('Bad\nName'), 'Rejected');
            assert.equal(await set('x'.repeat(65)), 'Rejected');
            assert.equal(await set('Énergie Exemple SA'), 'Accepted');
            await st.log.waitFor((e) => e.event === 'config_changed' &&
                e.key === 'CpoName', 'persisted');
            // One root installed: counted (2.0.1 CertificateEntries).
            const r = await csms.call('CS001', 'InstallCertificate', { certificateType:
                v16 ? 'CentralSystemRootCertificate' : 'CSMSRootCertificate',
                certificate: fs.readFileSync(pki('ca.pem'), 'utf8') });
            assert.equal(r.status, 'Accepted');
            st.send({ cmd: 'restart' });
            await st.log.waitFor((e) => e.event === 'restarted', 'restarted');
            await st.log.waitFor((e) => e.event === 'link' && e.accepted &&
                st.log.count((x) => x.event === 'link' && x.accepted) === 2, 'accepted again');
            g = await get();
            assert.deepEqual(v16 ? g.CpoName : g.OrganizationName,
                v16 ? ['Énergie Exemple SA', false] : 'Énergie Exemple SA');
            if (!v16) {
                assert.equal(g.CertificateEntries, '1');
            }
            // The organization is the O= of the signing request.
            const t = v16 ?
                await csms.call('CS001', 'ExtendedTriggerMessage',
                    { requestedMessage: 'SignChargePointCertificate' }) :
                await csms.call('CS001', 'TriggerMessage',
                    { requestedMessage: 'SignChargingStationCertificate' });
            assert.equal(t.status, 'Accepted');
            const sign = await csms.log.waitFor(isCall('SignCertificate'), 'SignCertificate');
            const csr = path.join(WORKDIR, `org-${version}.csr`);
            fs.writeFileSync(csr, sign.params.csr);
            const subject = execFileSync('openssl', ['req', '-noout', '-subject',
                '-nameopt', 'utf8,sep_comma_plus', '-in', csr]).toString();
            assert.match(subject, /O=Énergie Exemple SA/, subject);
            assert.match(subject, /CN=CS001/, subject);
        });
    });
}

test('an installed CSMS root is trusted from the next start', async () => {
    const dir = path.join(WORKDIR, 'certs-trust');
    const tls = { cert: pki('server.pem'), key: pki('server.key') };
    const args = (c, ca) => tlsArgs(c, 2, ca, ['--cert-dir', dir]);
    await withSession('2.0.1', { csms: { tls, password: PASSWORD },
        args: (c) => args(c, pki('ca.pem')) }, async (csms, st) => {
        await booted(csms, st);
        const r = await csms.call('CS001', 'InstallCertificate', { certificateType:
            'CSMSRootCertificate', certificate: fs.readFileSync(pki('ca.pem'), 'utf8') });
        assert.equal(r.status, 'Accepted');
    });
    // The configured CA is another one now: the installed root does it.
    await withSession('2.0.1', { csms: { tls, password: PASSWORD },
        args: (c) => args(c, pki('other-ca.pem')) }, async (csms, st) => {
        await booted(csms, st);
        assert.equal(mode(path.join(dir, 'trust.pem')), 0o600);
    });
});
