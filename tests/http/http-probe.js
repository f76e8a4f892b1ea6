// A small HTTP client for the tests of the daemon's HTTP server (node's
// own modules only, loopback only).
//   get URL [USER:PASS]   prints the status code on a line, then the body
//   metrics URL           checks the Prometheus text format strictly and
//                         prints one "name{labels} value" line per sample
//                         (labels sorted); exit 1 with the first problem
//   raw PORT HEX          sends the bytes HEX, prints what comes back until
//                         the server closes or 10 s pass ("timeout" when
//                         nothing came)
//   hold PORT N           opens N connections, then one request: prints
//                         how many of the N the server closed at once and
//                         the request's status code ("closed" when refused)
//   live URL [AUTH] [OPT] opens the live status websocket at URL (ws://...;
//                         AUTH USER:PASS or -); prints "open", then each
//                         message on a line, then "closed"; "refused CODE"
//                         when the upgrade is answered otherwise (and its
//                         challenge: "www-authenticate: ..."). OPT
//                         "stall": reads nothing after the upgrade;
//                         "origin=O": sends Origin O; "noproto": no
//                         subprotocol
'use strict';
const crypto = require('crypto');
const http = require('http');
const net = require('net');

function loopback(host) {
  return /^127\./.test(host) || host === '::1' || host === '[::1]' ||
      host === 'localhost';
}

function get(url, auth) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    if (!loopback(u.hostname)) reject(new Error('not loopback: ' + url));
    const opts = { method: 'GET', headers: {} };
    if (auth) opts.headers.authorization = 'Basic ' +
        Buffer.from(auth).toString('base64');
    const req = http.request(u, opts, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ code: res.statusCode,
        type: res.headers['content-type'], body }));
    });
    req.on('error', reject);
    req.setTimeout(10000, () => req.destroy(new Error('timeout')));
    req.end();
  });
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

// Parses one sample line: {name, labels: [[k, v]...], value} or throws.
function sample(line) {
  let i = 0;
  while (i < line.length && line[i] !== '{' && line[i] !== ' ') i++;
  const name = line.slice(0, i);
  if (!NAME.test(name)) throw new Error('bad metric name: ' + line);
  const labels = [];
  if (line[i] === '{') {
    i++;
    while (line[i] !== '}') {
      const eq = line.indexOf('=', i);
      if (eq < 0) throw new Error('bad label: ' + line);
      const k = line.slice(i, eq);
      if (!LABEL.test(k)) throw new Error('bad label name: ' + line);
      if (line[eq + 1] !== '"') throw new Error('unquoted label: ' + line);
      let v = '';
      let j = eq + 2;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === '\\') {
          j++;
          if (!'\\"n'.includes(line[j])) throw new Error('bad escape: ' + line);
          v += line[j] === 'n' ? '\n' : line[j];
        } else {
          v += line[j];
        }
      }
      if (j >= line.length) throw new Error('unterminated label: ' + line);
      labels.push([k, v]);
      i = j + 1;
      if (line[i] === ',') i++;
      else if (line[i] !== '}') throw new Error('bad label list: ' + line);
    }
    i++;
  }
  if (line[i] !== ' ') throw new Error('no value: ' + line);
  const text = line.slice(i + 1);
  if (!/^(NaN|[+-]Inf|[+-]?[0-9.]+([eE][+-]?[0-9]+)?)$/.test(text))
    throw new Error('bad value: ' + line);
  return { name, labels, value: text };
}

async function metrics(url) {
  const r = await get(url);
  if (r.code !== 200) throw new Error('status ' + r.code);
  if (!/^text\/plain; version=0\.0\.4/.test(r.type || ''))
    throw new Error('content type ' + r.type);
  if (!r.body.endsWith('\n')) throw new Error('no final newline');
  const typed = new Map();
  const helped = new Set();
  const seen = new Set();
  const hist = new Map();
  const out = [];
  for (const line of r.body.slice(0, -1).split('\n')) {
    let m;
    if ((m = /^# HELP ([^ ]+) .+$/.exec(line))) {
      if (helped.has(m[1])) throw new Error('HELP twice: ' + m[1]);
      helped.add(m[1]);
    } else if ((m = /^# TYPE ([^ ]+) (gauge|counter|untyped|histogram)$/.exec(line))) {
      if (typed.has(m[1])) throw new Error('TYPE twice: ' + m[1]);
      typed.set(m[1], m[2]);
    } else if (line.startsWith('#') || line === '') {
      throw new Error('unexpected line: ' + JSON.stringify(line));
    } else {
      const s = sample(line);
      if (!s.name.startsWith('ocpp_edge_'))
        throw new Error('no ocpp_edge_ prefix: ' + s.name);
      // a histogram's _bucket (cumulative, le ascending, ending at +Inf),
      // _sum and _count (= the +Inf bucket) series
      const hm = /^(.*)_(bucket|sum|count)$/.exec(s.name);
      if (!typed.has(s.name) && hm && typed.get(hm[1]) === 'histogram') {
        const rest = s.labels.filter((l) => l[0] !== 'le')
            .map((l) => l[0] + '=' + l[1]).sort().join(',');
        const h = hist.get(hm[1] + '{' + rest + '}') || { le: -Infinity, v: 0 };
        if (hm[2] === 'bucket') {
          const le = s.labels.find((l) => l[0] === 'le');
          if (!le) throw new Error('bucket without le: ' + line);
          const bound = le[1] === '+Inf' ? Infinity : Number(le[1]);
          if (!(bound > h.le) || Number(s.value) < h.v)
            throw new Error('buckets not cumulative ascending: ' + line);
          h.le = bound;
          h.v = Number(s.value);
        } else if (hm[2] === 'count' &&
            (h.le !== Infinity || Number(s.value) !== h.v)) {
          throw new Error('_count is not the +Inf bucket: ' + line);
        }
        hist.set(hm[1] + '{' + rest + '}', h);
      } else if (!typed.has(s.name)) {
        throw new Error('sample before TYPE: ' + line);
      }
      if (typed.get(s.name) === 'counter' && !s.name.endsWith('_total'))
        throw new Error('counter without _total: ' + s.name);
      const key = s.name + '{' + s.labels.map((l) => l[0] + '=' + l[1])
          .sort().join(',') + '}';
      if (seen.has(key)) throw new Error('duplicate series: ' + key);
      seen.add(key);
      out.push(key + ' ' + s.value);
    }
  }
  return out.join('\n') + '\n';
}

function raw(port, hex) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = Buffer.alloc(0);
    const t = setTimeout(() => {
      s.destroy();
      resolve(got.length ? got.toString('latin1') : 'timeout');
    }, 10000);
    s.on('connect', () => s.write(Buffer.from(hex, 'hex')));
    s.on('data', (d) => { got = Buffer.concat([got, d]); });
    s.on('error', () => {});
    s.on('close', () => { clearTimeout(t); resolve(got.toString('latin1')); });
  });
}

async function hold(port, n) {
  const socks = [];
  let closed = 0;
  for (let i = 0; i < n; i++) {
    await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', resolve);
      s.on('close', () => { closed++; });
      s.resume();
      s.on('error', () => {});
      socks.push(s);
    });
  }
  await new Promise((resolve) => setTimeout(resolve, 300));
  let code;
  try {
    code = (await get('http://127.0.0.1:' + port + '/api/status')).code;
  } catch (e) {
    code = 'closed';
  }
  const report = closed + ' ' + code;
  socks.forEach((s) => s.destroy());
  return report;
}

// Decodes the server's frames from buf (unmasked, per RFC 6455): calls
// onText for each complete text message; returns the bytes left over.
function frames(buf, state, onText) {
  for (;;) {
    if (buf.length < 2) return buf;
    const op = buf[0] & 0x0f;
    const fin = (buf[0] & 0x80) !== 0;
    if (buf[1] & 0x80) throw new Error('masked frame from the server');
    let len = buf[1] & 0x7f;
    let at = 2;
    if (len === 126) {
      if (buf.length < 4) return buf;
      len = buf.readUInt16BE(2);
      at = 4;
    } else if (len === 127) {
      if (buf.length < 10) return buf;
      len = Number(buf.readBigUInt64BE(2));
      at = 10;
    }
    if (buf.length < at + len) return buf;
    const payload = buf.subarray(at, at + len);
    buf = buf.subarray(at + len);
    if (op === 1 || op === 0) {
      state.parts.push(payload);
      if (fin) {
        onText(Buffer.concat(state.parts).toString('utf8'));
        state.parts = [];
      }
    } else if (op === 8) {
      return Buffer.alloc(0);
    } else if (op !== 9 && op !== 10) {
      throw new Error('unexpected opcode ' + op);
    }
  }
}

function live(url, auth, opt) {
  return new Promise((resolve, reject) => {
    const u = new URL(url.replace(/^ws/, 'http'));
    if (!loopback(u.hostname)) reject(new Error('not loopback: ' + url));
    const key = crypto.randomBytes(16).toString('base64');
    const headers = { connection: 'Upgrade', upgrade: 'websocket',
      'sec-websocket-version': '13', 'sec-websocket-key': key };
    if (opt !== 'noproto') headers['sec-websocket-protocol'] = 'ocpp-edge.status';
    if (opt && opt.startsWith('origin=')) headers.origin = opt.slice(7);
    if (auth && auth !== '-') headers.authorization = 'Basic ' +
        Buffer.from(auth).toString('base64');
    const req = http.request(u, { headers });
    req.on('response', (res) => {
      res.resume();
      const challenge = res.headers['www-authenticate'];
      resolve('refused ' + res.statusCode + '\n' +
          (challenge ? 'www-authenticate: ' + challenge + '\n' : ''));
    });
    req.on('upgrade', (res, sock, head) => {
      const want = crypto.createHash('sha1')
          .update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
      if (res.headers['sec-websocket-accept'] !== want) {
        sock.destroy();
        reject(new Error('bad Sec-WebSocket-Accept'));
        return;
      }
      process.stdout.write('open\n');
      sock.on('error', () => {});
      sock.on('close', () => resolve('closed\n'));
      if (opt === 'stall') {
        sock.pause();
        return;
      }
      const state = { parts: [] };
      let buf = head;
      const take = (d) => {
        buf = frames(Buffer.concat([buf, d]), state,
            (text) => process.stdout.write(text + '\n'));
      };
      sock.on('data', (d) => {
        try {
          take(d);
        } catch (e) {
          sock.destroy();
          reject(e);
        }
      });
      take(Buffer.alloc(0));
    });
    req.on('error', (e) => resolve('refused ' + e.message + '\n'));
    req.end();
  });
}

(async () => {
  const [cmd, a, b, c] = process.argv.slice(2);
  try {
    if (cmd === 'get') {
      const r = await get(a, b);
      process.stdout.write(r.code + '\n' + r.body);
    } else if (cmd === 'metrics') {
      process.stdout.write(await metrics(a));
    } else if (cmd === 'raw') {
      process.stdout.write(await raw(Number(a), b));
    } else if (cmd === 'hold') {
      process.stdout.write(await hold(Number(a), Number(b)) + '\n');
    } else if (cmd === 'live') {
      process.stdout.write(await live(a, b, c));
    } else {
      throw new Error('usage: get URL [USER:PASS] | metrics URL | ' +
          'raw PORT HEX | hold PORT N | live URL [AUTH] [OPT]');
    }
  } catch (e) {
    process.stderr.write('http-probe: ' + e.message + '\n');
    process.exit(1);
  }
})();
