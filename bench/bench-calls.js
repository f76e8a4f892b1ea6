'use strict';
// The CSMS side of bench/bench-calls.sh: runs the test CSMS (tests/csms/
// csms.js as a module), waits for the gateway and for its PID in
// PID_FILE, then sends N GetConfiguration and N SetChargingProfile calls
// (a ChargePointMaxProfile alternating between two caps, so that every
// call changes the setpoints), one in flight.  For each action it prints
// the daemon's CPU time (user + system, /proc/PID/stat) per call and the
// mean answer latency as this side sees it.
// Environment: CSMS_JS, IDENTITY, PORT_FILE, PID_FILE, N.
const fs = require('node:fs');
const { startCsms } = require(process.env.CSMS_JS);
const { profile } = require('./bench-profile.js');

const N = Number(process.env.N || 2000);
const HZ = 100; // USER_HZ: /proc's clock ticks on Linux
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

function cpuTicks(pid) {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
}

async function main() {
    const identity = process.env.IDENTITY;
    const csms = await startCsms({ interval: 300 });
    let violations = 0;
    csms.events.on('event', (e) => { if (e.event === 'violation') violations++; });
    fs.writeFileSync(process.env.PORT_FILE, `${csms.port}\n`);
    let pid = null;
    for (let i = 0; pid === null; i++) {
        if (i > 600) {
            throw new Error('no daemon PID after 60 s');
        }
        try {
            pid = Number(fs.readFileSync(process.env.PID_FILE, 'utf8'));
        } catch (e) {
            await sleep(100);
        }
    }
    // connected once a call gets an answer
    for (let i = 0; ; i++) {
        try {
            await csms.call(identity, 'GetConfiguration', {});
            break;
        } catch (e) {
            if (i > 300) {
                throw new Error(`the gateway never answered: ${e.message}`);
            }
            await sleep(100);
        }
    }
    // the daemon's own work (polls, balancer) meanwhile, per ms, taken off
    const idleMs = 5000;
    const i0 = cpuTicks(pid);
    await sleep(idleMs);
    const idlePerMs = (cpuTicks(pid) - i0) / idleMs;
    const actions = [
        ['GetConfiguration', () => ({})],
        ['SetChargingProfile', (i) => profile('1.6', i % 2 ? 30000 : 40000)],
    ];
    for (const [action, params] of actions) {
        for (let i = 0; i < 100; i++) { // warm-up
            await csms.call(identity, action, params(i));
        }
        const c0 = cpuTicks(pid);
        const w0 = nowMs();
        let sum = 0;
        for (let i = 0; i < N; i++) {
            const t0 = nowMs();
            const r = await csms.call(identity, action, params(i));
            sum += nowMs() - t0;
            if (action === 'SetChargingProfile' && r.status !== 'Accepted') {
                throw new Error(`SetChargingProfile: ${JSON.stringify(r)}`);
            }
        }
        const ticks = cpuTicks(pid) - c0 - idlePerMs * (nowMs() - w0);
        const us = Math.max(0, ticks) / HZ * 1e6 / N;
        console.log(`daemon.cpu_per_call.${action}: ${us.toFixed(0)} us of daemon CPU per call ` +
            `over ${N} calls, one in flight, its idle rate taken off (target <= 100 us)`);
        console.log(`daemon.answer_latency.${action}: mean ${(sum / N).toFixed(2)} ms ` +
            `as the CSMS sees it` + (action === 'SetChargingProfile' ? ' (target <= 0.3 ms)' : ''));
    }
    await csms.close();
    if (violations > 0) {
        throw new Error(`${violations} schema violations`);
    }
}

main().then(() => process.exit(0), (e) => { console.error(e.message); process.exit(1); });
