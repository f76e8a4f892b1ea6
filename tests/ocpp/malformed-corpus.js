'use strict';
// The malformed-frame corpus of the session tests: for each version, CALLs
// of many actions with one fault each, and the CALLERROR code the version
// prescribes (1.6 JSON spec §4.2.3, 2.0.1 part 4 §4.3).  Built from one
// valid payload per action: each required field left out, a field of the
// wrong JSON type, a member the schema does not define, and values the
// schema's enum / length / format / range / array size refuse.
//
// cases(version) returns [{ id, frame, code, field }]: field, when set,
// must be named in the errorDescription.

const codes = {
    '1.6': {
        occ: 'OccurenceConstraintViolation', type: 'TypeConstraintViolation',
        prop: 'PropertyConstraintViolation', extra: 'FormationViolation',
        form: 'FormationViolation', frame: 'FormationViolation',
        supp: 'NotSupported', impl: 'NotImplemented',
    },
    '2.0.1': {
        occ: 'OccurrenceConstraintViolation', type: 'TypeConstraintViolation',
        prop: 'PropertyConstraintViolation', extra: 'ProtocolError',
        form: 'FormatViolation', frame: 'RpcFrameworkError',
        supp: 'NotSupported', impl: 'NotImplemented',
    },
};

const long = (n) => 'x'.repeat(n);
const when = '2026-12-03T10:00:00Z';

// [action, valid payload, required top-level fields, [path, bad value,
// kind]...]: path is a dotted path into the payload ("a.0.b").
const actions = {
    '1.6': [
        ['ChangeAvailability', { connectorId: 1, type: 'Operative' },
            ['connectorId', 'type'], [['type', 'Broken', 'prop']]],
        ['ChangeConfiguration', { key: 'HeartbeatInterval', value: '60' },
            ['key', 'value'], [['key', long(51), 'prop'],
                ['value', long(501), 'prop']]],
        ['ClearChargingProfile', { id: 1 }, [],
            [['chargingProfilePurpose', 'Other', 'prop'],
                ['stackLevel', 'one', 'type']]],
        ['DataTransfer', { vendorId: 'v', messageId: 'm' }, ['vendorId'],
            [['vendorId', long(256), 'prop'], ['messageId', long(51), 'prop']]],
        ['GetCompositeSchedule', { connectorId: 1, duration: 60 },
            ['connectorId', 'duration'],
            [['duration', 'sixty', 'type'], ['chargingRateUnit', 'kW', 'prop']]],
        ['GetConfiguration', { key: ['HeartbeatInterval'] }, [],
            [['key.0', long(51), 'prop'], ['key.0', 5, 'type']]],
        ['RemoteStartTransaction', { connectorId: 1, idTag: 'T1' }, ['idTag'],
            [['idTag', long(21), 'prop'], ['chargingProfile', [], 'type']]],
        ['RemoteStopTransaction', { transactionId: 5 }, ['transactionId'],
            [['transactionId', 2 ** 31, 'prop']]],
        ['Reset', { type: 'Soft' }, ['type'], [['type', 'Warm', 'prop']]],
        ['SetChargingProfile', {
            connectorId: 0, csChargingProfiles: {
                chargingProfileId: 1, stackLevel: 0,
                chargingProfilePurpose: 'TxDefaultProfile',
                chargingProfileKind: 'Relative', chargingSchedule: {
                    chargingRateUnit: 'A',
                    chargingSchedulePeriod: [{ startPeriod: 0, limit: 16 }],
                },
            },
        }, ['connectorId', 'csChargingProfiles'], [
            ['csChargingProfiles.chargingProfileKind', 'Sometimes', 'prop'],
            ['csChargingProfiles.chargingSchedule.chargingSchedulePeriod.0.limit',
                16.05, 'prop'],
            ['csChargingProfiles.chargingSchedule.startSchedule', 'soon', 'prop'],
            ['csChargingProfiles.stackLevel', undefined, 'occ'],
        ]],
        ['TriggerMessage', { requestedMessage: 'Heartbeat' },
            ['requestedMessage'], [['requestedMessage', 'Coffee', 'prop']]],
        ['UnlockConnector', { connectorId: 1 }, ['connectorId'],
            [['connectorId', 1.5, 'type']]],
        ['UpdateFirmware', { location: 'https://fw.example/f.bin',
            retrieveDate: when }, ['location', 'retrieveDate'],
        [['retrieveDate', 'tomorrow', 'prop'], ['location', 'not a uri', 'prop'],
            ['retries', -0.5, 'type']]],
    ],
    '2.0.1': [
        ['ChangeAvailability', { operationalStatus: 'Operative' },
            ['operationalStatus'],
            [['operationalStatus', 'Broken', 'prop'], ['evse', { connectorId: 1 }, 'occ']]],
        ['ClearChargingProfile', { chargingProfileId: 1 }, [],
            [['chargingProfileCriteria', { stackLevel: 'x' }, 'type']]],
        ['DataTransfer', { vendorId: 'v' }, ['vendorId'],
            [['vendorId', long(256), 'prop']]],
        ['GetBaseReport', { requestId: 1, reportBase: 'FullInventory' },
            ['requestId', 'reportBase'], [['reportBase', 'Everything', 'prop']]],
        ['GetChargingProfiles', { requestId: 1, chargingProfile: {} },
            ['requestId', 'chargingProfile'],
            [['chargingProfile.chargingProfileId', [], 'occ']]],
        ['GetCompositeSchedule', { evseId: 1, duration: 60 },
            ['evseId', 'duration'],
            [['duration', 'sixty', 'type'], ['chargingRateUnit', 'kW', 'prop']]],
        ['GetVariables', { getVariableData: [{ component: { name: 'C' },
            variable: { name: 'V' } }] }, ['getVariableData'],
        [['getVariableData', [], 'occ'],
            ['getVariableData.0.component.name', long(51), 'prop'],
            ['getVariableData.0.attributeType', 'Wished', 'prop']]],
        ['RequestStartTransaction', { remoteStartId: 1,
            idToken: { idToken: 'T', type: 'Central' } },
        ['remoteStartId', 'idToken'],
        [['idToken.type', 'Magic', 'prop'], ['idToken.idToken', long(37), 'prop']]],
        ['RequestStopTransaction', { transactionId: 't1' }, ['transactionId'],
            [['transactionId', long(37), 'prop']]],
        ['Reset', { type: 'OnIdle' }, ['type'], [['type', 'Soft', 'prop']]],
        ['SetChargingProfile', {
            evseId: 0, chargingProfile: {
                id: 1, stackLevel: 0, chargingProfilePurpose: 'TxDefaultProfile',
                chargingProfileKind: 'Relative', chargingSchedule: [{
                    id: 1, chargingRateUnit: 'A',
                    chargingSchedulePeriod: [{ startPeriod: 0, limit: 16 }],
                }],
            },
        }, ['evseId', 'chargingProfile'], [
            ['chargingProfile.chargingSchedule', [], 'occ'],
            ['chargingProfile.chargingSchedule.0.chargingRateUnit', 'kW', 'prop'],
            ['chargingProfile.validFrom', 'today', 'prop'],
        ]],
        ['SetVariables', { setVariableData: [{ attributeValue: '1',
            component: { name: 'C' }, variable: { name: 'V' } }] },
        ['setVariableData'],
        [['setVariableData.0.attributeValue', long(1001), 'prop'],
            ['setVariableData.0.variable', 'V', 'type']]],
        ['TriggerMessage', { requestedMessage: 'Heartbeat' },
            ['requestedMessage'], [['requestedMessage', 'Coffee', 'prop']]],
        ['UnlockConnector', { evseId: 1, connectorId: 1 },
            ['evseId', 'connectorId'], [['evseId', '1', 'type']]],
        ['UpdateFirmware', { requestId: 1, firmware: {
            location: 'https://fw.example/f.bin', retrieveDateTime: when } },
        ['requestId', 'firmware'],
        [['firmware.retrieveDateTime', 'later', 'prop'],
            ['firmware.location', long(513), 'prop']]],
    ],
};

// Sets (or with value undefined, deletes) the member at a dotted path of
// a copy of obj.
function withPath(obj, path, value) {
    const copy = JSON.parse(JSON.stringify(obj));
    const keys = path.split('.');
    let o = copy;
    for (const k of keys.slice(0, -1)) {
        if (o[k] === undefined) {
            o[k] = {};
        }
        o = o[k];
    }
    const last = keys[keys.length - 1];
    if (value === undefined) {
        delete o[last];
    } else {
        o[last] = value;
    }
    return copy;
}

function cases(version) {
    const c = codes[version];
    const out = [];
    let n = 0;
    const add = (frame, kind, field) => {
        n += 1;
        const id = `k${n}`;
        out.push({ id, frame: frame(id), code: c[kind], field });
    };
    const call = (action, payload) => (id) =>
        JSON.stringify([2, id, action, payload]);
    for (const [action, valid, required, bad] of actions[version]) {
        for (const r of required) {
            add(call(action, withPath(valid, r, undefined)), 'occ', r);
        }
        add(call(action, { ...valid, colour: 'blue' }), 'extra', 'colour');
        for (const [path, value, kind] of bad) {
            add(call(action, withPath(valid, path, value)), kind,
                path.split('.').filter((k) => !/^\d+$/.test(k)).pop());
        }
        // The payload is not an object.
        add((id) => `[2,"${id}","${action}",["${action}"]]`, 'form', null);
    }
    // Actions of the version the station does not take, and no action.
    for (const action of version === '1.6' ?
        ['ReserveNow', 'CancelReservation', 'GetDiagnostics'] :
        ['ReserveNow', 'CancelReservation', 'GetLog', 'SetNetworkProfile']) {
        add(call(action, {}), 'supp', null);
    }
    add(call('Brew', {}), 'impl', null);
    // Frames that are not a well-formed CALL but whose id can be read.
    add((id) => `[2,"${id}","Reset"]`, 'frame', null);
    add((id) => `[2,"${id}","Reset",{"type":"Soft"},{}]`, 'frame', null);
    add((id) => `[2,"${id}","Reset",{"type":`, 'frame', null);
    add((id) => `[2,"${id}",7,{}]`, 'frame', null);
    return out;
}

module.exports = { cases };
