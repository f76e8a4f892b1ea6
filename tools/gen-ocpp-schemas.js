#!/usr/bin/env node
'use strict';
// Writes src/ocpp/schemas.c: the validation tables of every OCPP 1.6 and
// 2.0.1 message (request and response payloads), generated from the
// official JSON schemas as shipped in the npm package ocpp-rpc
// (lib/schemas/ocpp1_6.json, ocpp2_0_1.json).  The output is a pure table
// of struct ocpp_field (src/ocpp/ocpp-private.h); spec.c walks it.
//
// Usage: tools/gen-ocpp-schemas.js OCPP_RPC_DIR [OUTPUT]
//   OCPP_RPC_DIR: the ocpp-rpc package directory, e.g. after a build
//   tests/ocpp/node_modules/csms-deps/node_modules/ocpp-rpc
//   OUTPUT: default src/ocpp/schemas.c; "-" for standard output.
// Exits 2 when a schema uses a keyword the tables cannot express, so that
// nothing is silently left out.

const fs = require('fs');
const path = require('path');

const [dir, outArg] = process.argv.slice(2);
if (!dir) {
    process.stderr.write('usage: gen-ocpp-schemas.js OCPP_RPC_DIR [OUTPUT]\n');
    process.exit(2);
}
const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));

// Keywords that carry no constraint the station checks (documentation,
// defaults, tuple items that the schemas never use).
const IGNORED = new Set(['$id', '$schema', 'description', 'default',
    'definitions', 'additionalItems', 'javaType', 'comment', '$comment']);
const KNOWN = new Set(['type', 'properties', 'required',
    'additionalProperties', 'enum', 'maxLength', 'minimum', 'maximum',
    'multipleOf', 'format', 'items', 'minItems', 'maxItems', '$ref']);

let out = [];
const enums = new Map();      // JSON of the values -> C name
const objects = new Map();    // C text of the fields -> C name
let counter = 0;

function die(msg) {
    process.stderr.write(`gen-ocpp-schemas: ${msg}\n`);
    process.exit(2);
}

function cstr(s) {
    return JSON.stringify(s);  // ASCII names: JSON quoting is C quoting
}

function cnum(n) {
    const s = String(n);
    return /[.e]/.test(s) ? s : s + '.0';
}

function enumName(prefix, values) {
    const key = JSON.stringify(values);
    if (!enums.has(key)) {
        const name = `${prefix}_e${enums.size}`;
        enums.set(key, name);
        const items = values.map(cstr).concat(['NULL']);
        out.push(`static const char *const ${name}[] = {\n\t${
            wrap(items.join(', '), 1)} };`);
    }
    return enums.get(key);
}

// Breaks a long comma-separated line at 72 columns.
function wrap(text, tabs) {
    const parts = text.split(', ');
    const lines = [];
    let cur = '';
    for (const p of parts) {
        if (cur && (cur.length + p.length + 2 + 8 * tabs) > 76) {
            lines.push(cur + ',');
            cur = p;
        } else {
            cur = cur ? `${cur}, ${p}` : p;
        }
    }
    lines.push(cur);
    return lines.join('\n' + '\t'.repeat(tabs));
}

// Resolves "#/definitions/X" in root.
function deref(root, s, where) {
    let n = 0;
    while (s && s.$ref) {
        const m = /^#\/definitions\/(.+)$/.exec(s.$ref);
        if (!m || !root.definitions || !root.definitions[m[1]]) {
            die(`${where}: cannot resolve $ref ${s.$ref}`);
        }
        const extra = Object.keys(s).filter((k) => k !== '$ref' &&
            !IGNORED.has(k));
        if (extra.length) {
            die(`${where}: $ref with ${extra.join(', ')}`);
        }
        s = root.definitions[m[1]];
        if (++n > 20) {
            die(`${where}: $ref loop`);
        }
    }
    return s;
}

// The C initializer of one field (name may be NULL for an array item).
function field(prefix, root, name, s, required, where) {
    s = deref(root, s, where);
    for (const k of Object.keys(s)) {
        if (!IGNORED.has(k) && !KNOWN.has(k)) {
            die(`${where}: keyword "${k}" is not supported`);
        }
    }
    const parts = [`.name = ${name === null ? 'NULL' : cstr(name)}`];
    let type;
    if (s.type === undefined && s.enum === undefined) {
        type = 'OCPP_F_ANY';
    } else if (s.type === 'string' || (s.type === undefined && s.enum)) {
        type = 'OCPP_F_STR';
        if (s.format === 'date-time') {
            type = 'OCPP_F_DATETIME';
        } else if (s.format === 'uri') {
            type = 'OCPP_F_URI';
        } else if (s.format !== undefined) {
            die(`${where}: format "${s.format}" is not supported`);
        }
    } else if (s.type === 'integer') {
        type = 'OCPP_F_INT';
    } else if (s.type === 'number') {
        type = 'OCPP_F_NUM';
    } else if (s.type === 'boolean') {
        type = 'OCPP_F_BOOL';
    } else if (s.type === 'object') {
        type = 'OCPP_F_OBJ';
    } else if (s.type === 'array') {
        type = 'OCPP_F_ARR';
    } else {
        die(`${where}: type ${JSON.stringify(s.type)} is not supported`);
    }
    parts.push(`.type = ${type}`);
    if (required) {
        parts.push('.required = true');
    }
    if (s.maxLength !== undefined) {
        parts.push(`.max_len = ${s.maxLength}`);
    }
    if (s.enum !== undefined) {
        parts.push(`.enums = ${enumName(prefix, s.enum)}`);
    }
    if (s.minimum !== undefined || s.maximum !== undefined) {
        parts.push('.has_range = true');
        parts.push(`.min = ${s.minimum !== undefined ? cnum(s.minimum) : '-HUGE_VAL'}`);
        parts.push(`.max = ${s.maximum !== undefined ? cnum(s.maximum) : 'HUGE_VAL'}`);
    }
    if (s.multipleOf !== undefined) {
        parts.push(`.multiple_of = ${cnum(s.multipleOf)}`);
    }
    if (type === 'OCPP_F_OBJ') {
        parts.push(`.sub = ${object(prefix, root, s, where)}`);
        if (s.additionalProperties !== false) {
            parts.push('.open = true');
        }
    }
    if (type === 'OCPP_F_ARR') {
        if (s.items === undefined || Array.isArray(s.items)) {
            die(`${where}: arrays need one "items" schema`);
        }
        const item = field(prefix, root, null, s.items, false, `${where}[]`);
        const iname = `${prefix}_i${counter++}`;
        out.push(`static const struct ocpp_field ${iname}[] = {\n\t{ ${
            wrap(item, 2)} },\n};`);
        parts.push(`.item = ${iname}`);
        parts.push(`.min_items = ${s.minItems !== undefined ? s.minItems : 0}`);
        parts.push(`.max_items = ${s.maxItems !== undefined ? s.maxItems : -1}`);
    }
    return parts.join(', ');
}

// The fields of an object schema as a NULL-name-terminated array; returns
// its C name (identical arrays are written once).
function object(prefix, root, s, where) {
    const props = s.properties || {};
    const req = new Set(s.required || []);
    for (const r of req) {
        if (!(r in props)) {
            die(`${where}: required "${r}" has no schema`);
        }
    }
    const rows = Object.keys(props).map((k) => `\t{ ${wrap(field(prefix, root,
        k, props[k], req.has(k), `${where}.${k}`), 2)} },`);
    const text = rows.join('\n') + '\n\t{ .name = NULL },';
    if (!objects.has(text)) {
        const name = `${prefix}_o${objects.size}`;
        objects.set(text, name);
        out.push(`static const struct ocpp_field ${name}[] = {\n${text}\n};`);
    }
    return objects.get(text);
}

function version(file, prefix, cname) {
    const list = JSON.parse(fs.readFileSync(path.join(dir, 'lib', 'schemas',
        file), 'utf8'));
    const actions = new Map();
    for (const s of list) {
        const m = /^urn:(\w+)\.(req|conf)$/.exec(s.$id) ||
            /^urn:(\w+)(Request|Response)$/.exec(s.$id);
        if (!m) {
            die(`${file}: unexpected $id ${s.$id}`);
        }
        if (s.type !== 'object') {
            die(`${s.$id}: the payload is not an object`);
        }
        if (s.additionalProperties !== false) {
            die(`${s.$id}: the payload allows additional properties`);
        }
        const a = actions.get(m[1]) || {};
        const kind = m[2] === 'req' || m[2] === 'Request' ? 'req' : 'conf';
        a[kind] = object(prefix, s, s, `${m[1]}.${kind}`);
        actions.set(m[1], a);
    }
    const names = [...actions.keys()].sort();
    for (const [kind, label] of [['req', 'requests'], ['conf', 'responses']]) {
        out.push(`const struct ocpp_action_spec ocpp_${label}${cname}[] = {`);
        for (const n of names) {
            const a = actions.get(n);
            if (!a.req || !a.conf) {
                die(`${file}: ${n} lacks its request or response schema`);
            }
            out.push(`\t{ ${cstr(n)}, ${a[kind]} },`);
        }
        out.push('\t{ NULL, NULL },');
        out.push('};');
    }
}

out.push(`/* Generated by tools/gen-ocpp-schemas.js from the JSON schemas of the
 * npm package ocpp-rpc ${pkg.version} (lib/schemas/ocpp1_6.json and
 * ocpp2_0_1.json).  Do not edit: run the generator again.  Per version
 * a table of request payloads and one of response payloads, one row per
 * action, NULL-terminated; see struct ocpp_field in ocpp-private.h. */
#include "config.h"

#include <math.h>
#include <stddef.h>

#include "ocpp/ocpp-private.h"
`);
version('ocpp1_6.json', 's16', '16');
out.push('');
version('ocpp2_0_1.json', 's201', '201');

const text = out.join('\n') + '\n';
const dest = outArg || path.join(__dirname, '..', 'src', 'ocpp', 'schemas.c');
if (dest === '-') {
    process.stdout.write(text);
} else {
    fs.writeFileSync(dest, text);
}
