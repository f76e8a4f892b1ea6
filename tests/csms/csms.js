'use strict';
// Test CSMS for ocpp-edge: an OCPP 1.6 / 2.0.1 central system on the npm
// package ocpp-rpc with strictMode on, so that every message in both
// directions is validated against the official JSON schemas.
//
// As a module: const { startCsms } = require('./csms'); see startCsms().
// As a program: node csms.js [--tls-cert F --tls-key F [--tls-ca F
//   --require-client-cert]] [--password P] [--boot-status S] [--interval N]
// prints {"event":"listening","port":N} and then one JSON line per event;
// reads one JSON command per line on stdin:
//   {"cmd":"call","identity":"CS001","action":"Reset","params":{…},"ref":1}
//   {"cmd":"raw","identity":"CS001","text":"[2,\"x\",\"Reset\",{}]"}
//   {"cmd":"drop","identity":"CS001"}
//   {"cmd":"set","bootStatus":"Pending","interval":5,"invalidIdTag":"X"}
//       (invalidIdTag: Authorize, StartTransaction / TransactionEvent
//       with that IdToken answered Invalid; null for none; password:
//       the Basic auth password required from now on)
//   {"cmd":"fail","action":"StartTransaction","count":2}
//   {"cmd":"silence","action":"Heartbeat","count":1}   (no answer)
//   {"cmd":"delay","action":"TransactionEvent","count":1,"ms":1500}
//       (answered ms late)
//   {"cmd":"stall","identity":"CS001"}  (stop reading: a dead link)
//   {"cmd":"quit"}
// Events: listening, connected, auth_rejected, call (every CALL received),
// response (every answer given to a station's call, with the call's messageId),
// message (raw text received),
// violation (a schema violation either way: a test must fail on it),
// bad_message, disconnected, call_result, call_error.

const http = require('http');
const https = require('https');
const fs = require('fs');
const { EventEmitter } = require('events');
const { RPCServer, createRPCError, NOREPLY } = require('ocpp-rpc');

// Starts a CSMS on 127.0.0.1, port chosen by the system.  opts: tls
// {cert, key, ca, requestCert}, password (Basic auth required when set),
// bootStatus, interval.  Resolves to an object with port, events (an
// EventEmitter of the events above), call(), raw(), drop(), set(),
// setCert(), fail(), close().
async function startCsms(opts = {}) {
    const events = new EventEmitter();
    const clients = new Map();
    const state = {
        bootStatus: opts.bootStatus || 'Accepted',
        interval: opts.interval || 300,
        failures: new Map(),
        silences: new Map(),
        delays: new Map(),
        txId: 100,
        invalidIdTag: opts.invalidIdTag || null,
        clockOffsetMs: 0,
    };
    const server = new RPCServer({
        protocols: ['ocpp1.6', 'ocpp2.0.1'],
        strictMode: true,
        callTimeoutMs: 10000,
        pingIntervalMs: 3600000,
    });
    const emit = (ev) => events.emit('event', ev);

    server.auth((accept, reject, handshake) => {
        const tlsSocket = handshake.request.socket;
        const info = {
            event: 'connected',
            identity: handshake.identity,
            endpoint: handshake.endpoint,
            protocols: [...handshake.protocols],
            tls: !!tlsSocket.encrypted,
            tlsVersion: tlsSocket.encrypted ? tlsSocket.getProtocol() : null,
            clientCert: null,
        };
        if (tlsSocket.encrypted && opts.tls && opts.tls.requestCert) {
            const pc = tlsSocket.getPeerCertificate();
            if (!tlsSocket.authorized || !pc || !pc.subject) {
                emit({ event: 'auth_rejected', identity: handshake.identity,
                    why: 'no valid client certificate' });
                return reject(401);
            }
            info.clientCert = pc.subject.CN;
            info.clientSerial = pc.serialNumber;
        }
        if (opts.password !== undefined) {
            const pw = handshake.password ? handshake.password.toString('utf8') : null;
            if (pw !== opts.password) {
                emit({ event: 'auth_rejected', identity: handshake.identity,
                    why: pw === null ? 'no password' : 'wrong password' });
                return reject(401);
            }
        }
        info.auth = handshake.password !== undefined;
        accept({ info });
    });

    server.on('client', (client) => {
        const identity = client.identity;
        clients.set(identity, client);
        const info = client.session.info;
        info.protocol = client.protocol;
        emit(info);
        client.on('message', ({ message, outbound }) => {
            if (!outbound) {
                emit({ event: 'message', identity, text: message.toString() });
            }
        });
        client.on('strictValidationFailure', (ev) => {
            emit({ event: 'violation', identity, method: ev.method,
                outbound: ev.outbound, isCall: ev.isCall,
                error: ev.error && ev.error.message,
                params: ev.params, result: ev.result });
        });
        client.on('badMessage', (ev) => {
            emit({ event: 'bad_message', identity,
                text: ev.buffer.toString(), error: ev.error && ev.error.message });
        });
        client.on('close', ({ code, reason }) => {
            if (clients.get(identity) === client) {
                clients.delete(identity);
            }
            emit({ event: 'disconnected', identity, code, reason: String(reason) });
        });
        client.on('callResult', (ev) => {
            if (ev.outbound) {
                return;
            }
            emit({ event: 'response', identity, method: ev.method, result: ev.result,
                messageId: ev.messageId });
        });
        client.on('callError', (ev) => {
            if (ev.outbound) {
                return;
            }
            emit({ event: 'response', identity, method: ev.method,
                error: ev.error && ev.error.rpcErrorCode, messageId: ev.messageId });
        });
        // The CSMS's clock: the system's, moved by set({clockOffsetMs}).
        const now = () => new Date(Date.now() + state.clockOffsetMs).toISOString();
        client.handle(async ({ method, params, messageId }) => {
            emit({ event: 'call', identity, action: method, params, messageId });
            const late = state.delays.get(method);
            if (late && late.count > 0) {
                late.count -= 1;
                await new Promise((resolve) => setTimeout(resolve, late.ms));
            }
            const left = state.failures.get(method) || 0;
            if (left > 0) {
                state.failures.set(method, left - 1);
                throw createRPCError('InternalError', 'scripted failure');
            }
            const mute = state.silences.get(method) || 0;
            if (mute > 0) {
                state.silences.set(method, mute - 1);
                return NOREPLY;
            }
            switch (method) {
            case 'BootNotification':
                return { status: state.bootStatus, currentTime: now(),
                    interval: state.interval };
            case 'Heartbeat':
                return { currentTime: now() };
            case 'StartTransaction':
                state.txId += 1;
                return { transactionId: state.txId, idTagInfo: { status:
                    params.idTag === state.invalidIdTag ? 'Invalid' : 'Accepted' } };
            case 'StopTransaction':
                return { idTagInfo: { status: 'Accepted' } };
            case 'Authorize': {
                const tag = client.protocol === 'ocpp1.6' ? params.idTag :
                    params.idToken.idToken;
                const status = tag === state.invalidIdTag ? 'Invalid' : 'Accepted';
                return client.protocol === 'ocpp1.6' ?
                    { idTagInfo: { status } } : { idTokenInfo: { status } };
            }
            case 'TransactionEvent':
                // An IdToken the backend refuses (set invalidIdTag).
                return params.idToken && params.idToken.idToken === state.invalidIdTag ?
                    { idTokenInfo: { status: 'Invalid' } } : {};
            case 'DataTransfer':
            case 'SignCertificate':
                return { status: 'Accepted' };
            default:
                return {};
            }
        });
    });

    let httpServer;
    if (opts.tls) {
        httpServer = https.createServer({
            cert: fs.readFileSync(opts.tls.cert),
            key: fs.readFileSync(opts.tls.key),
            ca: opts.tls.ca ? fs.readFileSync(opts.tls.ca) : undefined,
            requestCert: !!opts.tls.requestCert,
            rejectUnauthorized: false,  // checked in auth() to report it
            minVersion: 'TLSv1.2',
        });
    } else {
        httpServer = http.createServer();
    }
    httpServer.on('upgrade', server.handleUpgrade);
    httpServer.on('tlsClientError', (err) => {
        emit({ event: 'tls_error', error: err.message });
    });
    await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
    const port = httpServer.address().port;

    function need(identity) {
        const c = clients.get(identity);
        if (!c) {
            throw new Error(`station ${identity} is not connected`);
        }
        return c;
    }

    return {
        port,
        events,
        clients,
        // Sends a CALL; resolves to the result, rejects with the RPC error.
        call(identity, action, params) {
            return need(identity).call(action, params);
        },
        // Sends text as is (malformed frames).
        raw(identity, text) {
            need(identity).sendRaw(text);
        },
        // Sends bytes as one binary websocket frame.
        rawBinary(identity, bytes) {
            need(identity)._ws.send(bytes, { binary: true });
        },
        // TLS: serves another certificate from the next handshake on.
        setCert(cert, key) {
            httpServer.setSecureContext({ cert: fs.readFileSync(cert),
                key: fs.readFileSync(key),
                ca: opts.tls.ca ? fs.readFileSync(opts.tls.ca) : undefined });
        },
        // Drops the socket without a closing handshake.
        drop(identity) {
            return need(identity).close({ code: 1001, force: true });
        },
        set(o) {
            if (o.bootStatus) {
                state.bootStatus = o.bootStatus;
            }
            if (o.interval) {
                state.interval = o.interval;
            }
            if (o.invalidIdTag !== undefined) {
                state.invalidIdTag = o.invalidIdTag;
            }
            if (o.password !== undefined) {
                opts.password = o.password;
            }
            if (o.clockOffsetMs !== undefined) {
                state.clockOffsetMs = o.clockOffsetMs;
            }
        },
        // The next count calls of action are answered with InternalError.
        fail(action, count) {
            state.failures.set(action, count);
        },
        // The next count calls of action get no answer at all.
        silence(action, count) {
            state.silences.set(action, count);
        },
        // The next count calls of action are answered ms late.
        delay(action, count, ms) {
            state.delays.set(action, { count, ms });
        },
        // Stops reading the station's socket: its pings go unanswered, as
        // on a link that died silently.
        stall(identity) {
            need(identity)._ws._socket.pause();
        },
        async close() {
            await server.close({ force: true });
            await new Promise((resolve) => httpServer.close(resolve));
        },
    };
}

module.exports = { startCsms };

// ---- command-line mode ----
function argValue(name) {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
}

async function main() {
    const opts = {};
    if (argValue('--tls-cert')) {
        opts.tls = { cert: argValue('--tls-cert'), key: argValue('--tls-key'),
            ca: argValue('--tls-ca'),
            requestCert: process.argv.includes('--require-client-cert') };
    }
    if (argValue('--password') !== undefined) {
        opts.password = argValue('--password');
    }
    opts.bootStatus = argValue('--boot-status');
    const interval = argValue('--interval');
    if (interval !== undefined) {
        opts.interval = Number(interval);
        if (!Number.isInteger(opts.interval) || opts.interval < 1) {
            process.stderr.write(`csms.js: --interval "${interval}": not a ` +
                'whole number of seconds (valid range 1 and up)\n');
            process.exit(2);
        }
    }
    const csms = await startCsms(opts);
    const out = (ev) => process.stdout.write(JSON.stringify(ev) + '\n');
    csms.events.on('event', out);
    out({ event: 'listening', port: csms.port });
    let buf = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk) => {
        buf += chunk;
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (line) {
                command(line);
            }
        }
    });
    process.stdin.on('end', () => csms.close().then(() => process.exit(0)));

    function command(line) {
        let c;
        try {
            c = JSON.parse(line);
        } catch (e) {
            out({ event: 'error', what: 'bad JSON: ' + e.message });
            return;
        }
        try {
            switch (c.cmd) {
            case 'call':
                csms.call(c.identity, c.action, c.params || {}).then(
                    (result) => out({ event: 'call_result', ref: c.ref, result }),
                    (err) => out({ event: 'call_error', ref: c.ref,
                        code: err.rpcErrorCode || err.message }));
                break;
            case 'raw':
                csms.raw(c.identity, c.text);
                break;
            case 'drop':
                csms.drop(c.identity);
                break;
            case 'set':
                csms.set(c);
                break;
            case 'fail':
                csms.fail(c.action, c.count);
                break;
            case 'silence':
                csms.silence(c.action, c.count);
                break;
            case 'delay':
                csms.delay(c.action, c.count, c.ms);
                break;
            case 'stall':
                csms.stall(c.identity);
                break;
            case 'quit':
                csms.close().then(() => process.exit(0));
                break;
            default:
                out({ event: 'error', what: `unknown command '${c.cmd}' ` +
                    '(known: call, raw, drop, set, fail, silence, delay, stall, quit)' });
            }
        } catch (e) {
            out({ event: 'error', what: e.message });
        }
    }
}

if (require.main === module) {
    main().catch((e) => {
        process.stderr.write(String(e && e.stack || e) + '\n');
        process.exit(99);
    });
}
