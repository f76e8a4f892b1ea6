'use strict';
// Driven by bench-ocpp.sh: prints one line per figure, with unit and target.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const { startCsms } = require(process.env.CSMS_JS);

const N = 10000;

// Spawns the harness and returns helpers to wait for its events.
function station(args) {
    const proc = spawn(process.env.STATION, args, { stdio: ['pipe', 'pipe', 'inherit'] });
    const waiters = [];
    let buf = '';
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (d) => {
        buf += d;
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
            const ev = JSON.parse(buf.slice(0, nl));
            buf = buf.slice(nl + 1);
            for (const w of [...waiters]) {
                if (w.pred(ev)) {
                    waiters.splice(waiters.indexOf(w), 1);
                    w.resolve(ev);
                }
            }
        }
    });
    return {
        proc,
        send: (c) => proc.stdin.write(JSON.stringify(c) + '\n'),
        wait: (pred, ms = 120000) => new Promise((resolve, reject) => {
            const t = setTimeout(() => reject(new Error('bench: timeout')), ms);
            waiters.push({ pred, resolve: (e) => { clearTimeout(t); resolve(e); } });
        }),
        stop: () => new Promise((resolve) => {
            proc.on('exit', resolve);
            proc.stdin.end('{"cmd":"quit"}\n');
        }),
    };
}

function rssKiB(pid) {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return Number(m[1]);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
    const csms = await startCsms({ interval: 300 });
    let violations = 0;
    csms.events.on('event', (e) => { if (e.event === 'violation') violations++; });
    const common = ['--url', `ws://127.0.0.1:${csms.port}/ocpp`, '--version', '1.6',
        '--password', 'bench-password-0123', '--meter', '0'];

    // 1. Round trips: the harness sends N Heartbeats, one in flight.
    let st = station([...common, '--connectors', '2']);
    await st.wait((e) => e.event === 'link' && e.accepted);
    await sleep(300);
    st.send({ cmd: 'bench', n: N });
    const b = await st.wait((e) => e.event === 'bench');
    await st.stop();
    const perS = N / (b.ms / 1000);
    console.log(`ocpp.call_roundtrip_${N}: ${perS.toFixed(0)} calls/s ` +
        `(${(b.ms * 1000 / N).toFixed(1)} us/call; target > 1000 calls/s)`);
    console.log(`ocpp.station_cpu_per_call: ${(b.cpu_s * 1e6 / N).toFixed(1)} us/call ` +
        '(target < 200 us/call)');

    // 2. Memory: 200 chargers x 2 connectors charging and reporting every
    // second: statuses, a transaction each, meter values.
    st = station([...common, '--connectors', '400', '--meter', '1']);
    await st.wait((e) => e.event === 'link' && e.accepted);
    st.send({ cmd: 'fill' });
    // Until every Start went out and a few meter rounds were sent.
    for (let i = 0; i < 120; i++) {
        await sleep(500);
        st.send({ cmd: 'stats' });
        const s = await st.wait((e) => e.event === 'stats');
        if (s.queue === 0 && s.calls_sent > 400 * 4) {
            break;
        }
    }
    const kib = rssKiB(st.proc.pid);
    await st.stop();
    await csms.close();
    console.log(`ocpp.station_rss_200x2_connectors: ${(kib / 1024).toFixed(1)} MiB ` +
        '(target < 16 MiB; sanitizer builds are several times larger)');
    if (violations > 0) {
        console.log(`ocpp bench: ${violations} schema violations`);
        process.exit(1);
    }
}

main().catch((e) => { console.error(e); process.exit(1); });
