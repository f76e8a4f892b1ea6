'use strict';
// The CSMS side of bench/bench-profile.sh: runs the test CSMS (tests/csms
// /csms.js as a module), waits for the gateway to connect, then sends N
// site-wide caps (ChargePointMaxProfile on connector 0 in 1.6,
// ChargingStationMaxProfile on EVSE 0 in 2.0.1), alternating between two
// values, and times each one from the moment the SetChargingProfile frame
// is handed to the socket to the moment the simulator shows the new limit
// in every charger's connector power-limit register (2y000): the
// simulator stores a register only when it acknowledges the Modbus write,
// so that is "last limit write acknowledged".
//
// The simulator is polled over its control socket back to back (`get`
// for each charger not yet seen with the new limit, pipelined); the figure
// taken is the reply that first shows all chargers done (an upper bound);
// the poll before it still showed a charger not done, which bounds the
// true time from below; the mean gap between the two is printed as the
// resolution.
//
// Environment: CSMS_JS (path of csms.js), VERSION (1.6 | 2.0.1),
// IDENTITY, SIM_SOCK, CTL_SOCK (the daemon's control socket), PORT_FILE
// (written with the CSMS port once listening), CAPS ("W:expected_W,
// W:expected_W", two caps), CHARGERS (count expected), N (repetitions).
// Prints the result lines on stdout; exit 0 when all N changes completed,
// 1 otherwise (with the reason on stderr).

const fs = require('fs');
const net = require('net');

const env = (k) => {
    const v = process.env[k];
    if (v === undefined || v === '') {
        throw new Error(`${k} is not set`);
    }
    return v;
};

// A line-oriented request/reply connection to a Unix control socket.
function lineClient(path) {
    return new Promise((resolve, reject) => {
        const sock = net.createConnection(path);
        let buf = '';
        const waiting = [];
        sock.setEncoding('utf8');
        sock.on('data', (d) => {
            buf += d;
            let nl;
            while ((nl = buf.indexOf('\n')) >= 0) {
                const line = buf.slice(0, nl);
                buf = buf.slice(nl + 1);
                const w = waiting.shift();
                if (w) {
                    w.resolve(line);
                }
            }
        });
        sock.on('error', (e) => {
            while (waiting.length) {
                waiting.shift().reject(e);
            }
            reject(e);
        });
        sock.on('connect', () => resolve({
            ask(line) {
                return new Promise((res, rej) => {
                    waiting.push({ resolve: res, reject: rej });
                    sock.write(line + '\n');
                });
            },
            close() {
                sock.end();
            },
        }));
    });
}

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The SetChargingProfile payload of a site-wide cap of capW watts.
function profile(version, capW) {
    const start = new Date(Date.now() - 60000).toISOString().replace(/\.\d+Z$/, 'Z');
    if (version === '1.6') {
        return { connectorId: 0, csChargingProfiles: {
            chargingProfileId: 1, stackLevel: 0,
            chargingProfilePurpose: 'ChargePointMaxProfile',
            chargingProfileKind: 'Absolute',
            chargingSchedule: { startSchedule: start, chargingRateUnit: 'W',
                chargingSchedulePeriod: [{ startPeriod: 0, limit: capW }] } } };
    }
    return { evseId: 0, chargingProfile: {
        id: 1, stackLevel: 0,
        chargingProfilePurpose: 'ChargingStationMaxProfile',
        chargingProfileKind: 'Absolute',
        chargingSchedule: [{ id: 1, startSchedule: start, chargingRateUnit: 'W',
            chargingSchedulePeriod: [{ startPeriod: 0, limit: capW }] }] } };
}

// The JSON of a simulator reply "ok {...}"; throws on "error ...".
function simJson(line) {
    if (!line.startsWith('ok {')) {
        throw new Error(`simulator: ${line.slice(0, 200)}`);
    }
    return JSON.parse(line.slice(3));
}

// The connector 1 power limit (register 2y000) out of a `get` reply.
function powerLimit(line) {
    return simJson(line).connectors[0].limits.power_w;
}

// Nearest-rank percentile of sorted values.
const pct = (sorted, p) => sorted[Math.max(0, Math.ceil(p / 100 * sorted.length) - 1)];

async function main() {
    const { startCsms } = require(env('CSMS_JS'));
    const version = env('VERSION');
    const identity = env('IDENTITY');
    const n = Number(env('N'));
    const chargers = Number(env('CHARGERS'));
    const caps = env('CAPS').split(',').map((s) => s.split(':').map(Number));
    if (caps.length !== 2 || caps.some((c) => c.length !== 2 || c.some(isNaN))) {
        throw new Error('CAPS must be "W:expected_W,W:expected_W"');
    }
    const csms = await startCsms({ interval: 300 });
    let violations = 0;
    csms.events.on('event', (ev) => {
        if (ev.event === 'violation') {
            violations++;
            process.stderr.write(`schema violation: ${JSON.stringify(ev)}\n`);
        }
    });
    fs.writeFileSync(env('PORT_FILE') + '.tmp', String(csms.port));
    fs.renameSync(env('PORT_FILE') + '.tmp', env('PORT_FILE'));

    // The gateway connects once the shell has started the daemon.
    let client;
    for (let i = 0; !(client = csms.clients.get(identity)); i++) {
        if (i > 400) {
            throw new Error(`${identity} did not connect within 20 s`);
        }
        await sleep(50);
    }
    let tSend = null;
    client.on('message', ({ message, outbound }) => {
        if (outbound && tSend === null &&
            message.toString().includes('"SetChargingProfile"')) {
            tSend = nowMs();
        }
    });
    const sim = await lineClient(env('SIM_SOCK'));
    const ctl = await lineClient(env('CTL_SOCK'));
    const pending = async () => {
        const r = JSON.parse(await ctl.ask('{"cmd":"status"}'));
        return r.result.site_cap.writes_pending;
    };
    const names = simJson(await sim.ask('status')).chargers.map((c) => c.name);
    if (names.length !== chargers) {
        throw new Error(`the simulator has ${names.length} chargers, not ${chargers}`);
    }

    // One change: send, poll until every charger shows `want`, wait for
    // the CALLRESULT and for the daemon to have no write outstanding.
    // Each poll asks (pipelined `get`s) only the chargers not yet seen
    // with the new limit, so a poll gets shorter as chargers finish (the
    // daemon writes them in parallel, so the last poll often still asks
    // many).  Returns { upper, lower } in ms.
    async function change(capW, want) {
        tSend = null;
        const call = csms.call(identity, 'SetChargingProfile', profile(version, capW));
        let prevAsk = null;
        let left = names;
        const deadline = nowMs() + 5000;
        for (;;) {
            const ask = nowMs();
            const lines = await Promise.all(left.map((c) => sim.ask(`get ${c}`)));
            const got = nowMs();
            const seen = new Map(left.map((c, i) => [c, powerLimit(lines[i])]));
            left = left.filter((c) => seen.get(c) !== want);
            if (left.length === 0) {
                const res = await call;
                if (res.status !== 'Accepted') {
                    throw new Error(`SetChargingProfile ${capW} W: ${JSON.stringify(res)}`);
                }
                if (tSend === null) {
                    throw new Error('the SetChargingProfile frame was not seen');
                }
                for (let i = 0; await pending() !== 0; i++) {
                    if (i > 100) {
                        throw new Error('writes still pending after 5 s');
                    }
                    await sleep(50);
                }
                return { upper: got - tSend,
                    lower: prevAsk === null ? 0 : Math.max(0, prevAsk - tSend) };
            }
            if (got > deadline) {
                throw new Error(`cap ${capW} W: after 5 s, ${left.length} charger(s) ` +
                    `not at ${want} W: ${left.slice(0, 5).map((c) => `${c}=${seen.get(c)}`).join(' ')}`);
            }
            prevAsk = ask;
        }
    }

    // Warm-up: the first cap once (not timed), then the second, so that
    // every timed change really changes all limits.
    await change(caps[0][0], caps[0][1]);
    const upper = [];
    const gaps = [];
    for (let i = 0; i < n; i++) {
        const [capW, want] = caps[(i + 1) % 2];
        const r = await change(capW, want);
        upper.push(r.upper);
        gaps.push(r.upper - r.lower);
    }
    sim.close();
    ctl.close();
    await csms.close();
    if (violations > 0) {
        throw new Error(`${violations} schema violation(s)`);
    }
    upper.sort((a, b) => a - b);
    const tag = version === '1.6' ? 'ocpp16' : 'ocpp201';
    const res = (gaps.reduce((a, b) => a + b, 0) / gaps.length).toFixed(1);
    const what = `SetChargingProfile sent -> last of ${chargers} limit writes ` +
        `acknowledged, TCP loopback, ${n} changes`;
    console.log(`profile.${tag}.site_cap_${chargers}_chargers_p50: ` +
        `${pct(upper, 50).toFixed(1)} ms (${what}; target p99 <= 50 ms)`);
    console.log(`profile.${tag}.site_cap_${chargers}_chargers_p99: ` +
        `${pct(upper, 99).toFixed(1)} ms (max ${upper[upper.length - 1].toFixed(1)} ms, ` +
        `poll resolution ${res} ms; target p99 <= 50 ms)`);
}

if (require.main === module) {
    main().then(() => process.exit(0), (e) => {
        process.stderr.write(`bench-profile: ${e && e.message || e}\n`);
        process.exit(1);
    });
}
module.exports = { profile };
