// Keeps the dashboard open in headless Chromium in real time and writes
// its DOM to OUT every 250 ms (through OUT.tmp and a rename), so a test
// can watch the page change while the site changes.  Chromium is driven
// over --remote-debugging-pipe (DevTools protocol, NUL-separated JSON on
// descriptors 3 and 4): no port, nothing but loopback.  Runs until
// SIGTERM, then stops the browser.
//   node page-watch.js CHROMIUM PROFILE_DIR URL OUT [CHROMIUM_ARG...]
'use strict';
const fs = require('fs');
const { spawn } = require('child_process');

const [chromium, profile, url, out, ...extra] = process.argv.slice(2);
if (!out || !/^https?:\/\/(127\.|\[::1\])/.test(url)) {
  process.stderr.write('usage: page-watch.js CHROMIUM PROFILE URL OUT (loopback URL)\n');
  process.exit(2);
}
const browser = spawn(chromium, ['--headless', '--disable-gpu', '--no-first-run',
  '--no-default-browser-check', '--user-data-dir=' + profile,
  '--remote-debugging-pipe', ...extra, url],
{ stdio: ['ignore', 'ignore', 'inherit', 'pipe', 'pipe'] });
const toBrowser = browser.stdio[3];
const fromBrowser = browser.stdio[4];
let nextId = 1;
const waiting = new Map();
let rest = '';

function send(method, params, sessionId) {
  const id = nextId++;
  const msg = { id, method, params: params || {} };
  if (sessionId) msg.sessionId = sessionId;
  toBrowser.write(JSON.stringify(msg) + '\0');
  return new Promise((resolve, reject) => waiting.set(id, { resolve, reject }));
}

fromBrowser.setEncoding('utf8');
fromBrowser.on('data', (d) => {
  const parts = (rest + d).split('\0');
  rest = parts.pop();
  for (const p of parts) {
    const m = JSON.parse(p);
    const w = m.id !== undefined && waiting.get(m.id);
    if (!w) continue;
    waiting.delete(m.id);
    if (m.error) w.reject(new Error(m.error.message));
    else w.resolve(m.result);
  }
});

function stop(code) {
  browser.kill('SIGTERM');
  process.exit(code);
}
process.on('SIGTERM', () => stop(0));
browser.on('exit', () => process.exit(1));

(async () => {
  try {
    let page;
    for (let i = 0; i < 100 && !page; i++) {
      const t = await send('Target.getTargets');
      page = t.targetInfos.find((x) => x.type === 'page');
      if (!page) await new Promise((r) => setTimeout(r, 100));
    }
    if (!page) throw new Error('no page target');
    const { sessionId } = await send('Target.attachToTarget',
        { targetId: page.targetId, flatten: true });
    for (;;) {
      const r = await send('Runtime.evaluate', { expression:
          'document.documentElement.outerHTML', returnByValue: true }, sessionId);
      // Early in the load there may be no document yet: next round.
      if (typeof r.result.value === 'string') {
        fs.writeFileSync(out + '.tmp', r.result.value);
        fs.renameSync(out + '.tmp', out);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  } catch (e) {
    process.stderr.write('page-watch: ' + e.message + '\n');
    stop(1);
  }
})();
