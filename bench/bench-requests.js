// Modbus requests per charger model and state, from two `status` replies
// of ocpp-edge-sim taken `seconds` apart: one line per group, e.g.
//   daemon.modbus_requests_per_s.autel-ac-wallbox.charging: 2.9 per
//   charger (120 chargers, 344 requests/s, 12 of them writes) (no target)
// A charger is "charging" when a connector is charging (status 3),
// "idle" when every connector is available (0), "other" otherwise; its
// state is the one at the end of the window.
// Usage: node bench-requests.js STATUS0 STATUS1 SECONDS
'use strict';
const fs = require('fs');

const load = (f) => JSON.parse(fs.readFileSync(f, 'utf8').replace(/^ok /, ''));
const [before, after] = [load(process.argv[2]), load(process.argv[3])];
const secs = Number(process.argv[4]);
const groups = new Map();

after.chargers.forEach((c, i) => {
	const o = before.chargers[i];
	const st = c.connectors.some((x) => x.status === 3) ? 'charging' :
	    c.connectors.every((x) => x.status === 0) ? 'idle' : 'other';
	const key = `${c.model}.${st}`;
	const g = groups.get(key) || { n: 0, requests: 0, writes: 0 };
	g.n++;
	g.requests += c.requests - o.requests;
	g.writes += c.writes - o.writes;
	groups.set(key, g);
});
for (const key of [...groups.keys()].sort()) {
	const g = groups.get(key);
	console.log(`daemon.modbus_requests_per_s.${key}: ` +
	    `${(g.requests / secs / g.n).toFixed(2)} per charger ` +
	    `(${g.n} chargers, ${(g.requests / secs).toFixed(0)} requests/s, ` +
	    `${(g.writes / secs).toFixed(0)} of them writes) (no target)`);
}
if (after.meter) {
	console.log('daemon.modbus_requests_per_s.meter: ' +
	    `${((after.meter.requests - before.meter.requests) / secs).toFixed(2)} ` +
	    '(no target)');
}
