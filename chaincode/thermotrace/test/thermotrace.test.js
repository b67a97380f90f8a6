'use strict';

const assert = require('node:assert/strict');
const { beforeEach, describe, test } = require('node:test');

const { contracts, ThermoTraceContract } = require('..');
const MemoryStub = require('./memory-stub');

const T1 = '2026-11-22T10:00:00Z';
const T2 = '2026-11-22T10:05:00Z';
const T3 = '2026-11-22T11:00:00Z';

let contract;
let ctx;

beforeEach(() => {
    contract = new ThermoTraceContract();
    ctx = { stub: new MemoryStub() };
});

function record(overrides = {}) {
    const args = { shipmentId: 'SHP-001', sensorId: 'probe-1', value: '-18.5', unit: 'C', timestamp: T1, ...overrides };
    return contract.recordReading(ctx, args.shipmentId, args.sensorId, args.value, args.unit, args.timestamp);
}

test('index.js serves the contract', () => {
    assert.deepEqual(contracts, [ThermoTraceContract]);
});

test('a good reading is stored and returned as JSON in a fixed field order', async () => {
    const json = await record();
    assert.equal(json, '{"shipmentId":"SHP-001","sensorId":"probe-1","timestamp":"2026-11-22T10:00:00Z","value":-18.5,"unit":"C"}');
    assert.equal(await contract.getReading(ctx, 'SHP-001', T1, 'probe-1'), json);
    assert.equal(ctx.stub.state.size, 1);
});

test('history is ordered by timestamp whatever the order of recording', async () => {
    await record({ timestamp: T3, sensorId: 'probe-1' });
    await record({ timestamp: T1, sensorId: 'probe-2' });
    await record({ timestamp: T1, sensorId: 'probe-1' });
    await record({ timestamp: T2, sensorId: 'probe-2', value: '-17', unit: 'F' });
    await record({ shipmentId: 'SHP-0012', timestamp: T1 }); // a longer id with the same prefix is another shipment
    const history = JSON.parse(await contract.getShipmentHistory(ctx, 'SHP-001'));
    assert.deepEqual(history.map((r) => [r.timestamp, r.sensorId]), [
        [T1, 'probe-1'], [T1, 'probe-2'], [T2, 'probe-2'], [T3, 'probe-1'],
    ]);
    assert.equal(ctx.stub.openIterators, 0);
});

test('an unknown shipment has an empty history', async () => {
    assert.equal(await contract.getShipmentHistory(ctx, 'SHP-404'), '[]');
});

test('a second reading of the same sensor, shipment and time is refused', async () => {
    await record();
    await assert.rejects(record({ value: '4' }), {
        message: 'a reading of sensor probe-1 of shipment SHP-001 at 2026-11-22T10:00:00Z already exists',
    });
    assert.equal(JSON.parse(await contract.getReading(ctx, 'SHP-001', T1, 'probe-1')).value, -18.5);
});

test('a missing reading is an error that names it', async () => {
    await assert.rejects(contract.getReading(ctx, 'SHP-001', T1, 'probe-1'), {
        message: 'there is no reading of sensor probe-1 of shipment SHP-001 at 2026-11-22T10:00:00Z',
    });
});

describe('each malformed field is refused with a message that names it', () => {
    const cases = [
        [{ shipmentId: '' }, 'shipmentId is missing'],
        [{ shipmentId: 'SHP 001' }, 'shipmentId "SHP 001" may hold only letters, digits and - _ . :'],
        [{ shipmentId: 'S'.repeat(65) }, 'shipmentId is 65 characters long, at most 64 are allowed'],
        [{ sensorId: undefined }, 'sensorId is missing'],
        [{ sensorId: 'probe/1' }, 'sensorId "probe/1" may hold only letters, digits and - _ . :'],
        [{ value: 'abc' }, 'value "abc" is not a number (a decimal such as -18.5 is expected)'],
        [{ value: '1e3' }, 'value "1e3" is not a number (a decimal such as -18.5 is expected)'],
        [{ value: '' }, 'value is missing'],
        [{ unit: 'X' }, 'unit "X" is not one of C, F, K'],
        [{ unit: 'c' }, 'unit "c" is not one of C, F, K'],
        [{ timestamp: '2026-11-22 10:00:00' }, 'timestamp "2026-11-22 10:00:00" is not ISO-8601 UTC to the second, like 2026-11-22T10:00:00Z'],
        [{ timestamp: '2026-11-22T10:00:00+01:00' }, 'timestamp "2026-11-22T10:00:00+01:00" is not ISO-8601 UTC to the second, like 2026-11-22T10:00:00Z'],
        [{ timestamp: '2026-02-30T10:00:00Z' }, 'timestamp "2026-02-30T10:00:00Z" is not a date and time that exists'],
    ];
    for (const [overrides, message] of cases) {
        test(message, async () => {
            await assert.rejects(record(overrides), { message });
            assert.equal(ctx.stub.state.size, 0);
        });
    }

    test('a malformed shipmentId in a history query', async () => {
        await assert.rejects(contract.getShipmentHistory(ctx, ''), { message: 'shipmentId is missing' });
    });
});
