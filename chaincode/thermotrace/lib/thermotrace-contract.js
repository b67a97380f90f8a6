'use strict';

const { Contract } = require('fabric-contract-api');

// Readings live under composite keys `reading` + [shipmentId, timestamp, sensorId]:
// sensors of one shipment never collide, and a partial key [shipmentId] finds a
// shipment's readings in key order. The key is built from the caller's arguments
// only (never the transaction time), so every endorser computes the same key.
const READING = 'reading';
const ID_PATTERN = /^[A-Za-z0-9_.:-]+$/;
const ID_MAX = 64;
const DECIMAL = /^[+-]?\d+(\.\d+)?$/;
const UNITS = ['C', 'F', 'K'];
// Whole seconds, UTC: such timestamps sort as text in time order, which makes the
// state database's key order the order of the history. A fraction would break
// that ("10:00:00.5Z" sorts before "10:00:00Z") and allow two keys for one instant.
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

function present(field, text) {
    if (typeof text !== 'string' || text === '') {
        throw new Error(`${field} is missing`);
    }
    return text;
}

function checkId(field, text) {
    present(field, text);
    if (text.length > ID_MAX) {
        throw new Error(`${field} is ${text.length} characters long, at most ${ID_MAX} are allowed`);
    }
    if (!ID_PATTERN.test(text)) {
        throw new Error(`${field} "${text}" may hold only letters, digits and - _ . :`);
    }
    return text;
}

function checkValue(text) {
    present('value', text);
    const value = Number(text);
    if (!DECIMAL.test(text) || !Number.isFinite(value)) {
        throw new Error(`value "${text}" is not a number (a decimal such as -18.5 is expected)`);
    }
    return value;
}

function checkUnit(text) {
    present('unit', text);
    if (!UNITS.includes(text)) {
        throw new Error(`unit "${text}" is not one of ${UNITS.join(', ')}`);
    }
    return text;
}

function checkTimestamp(text) {
    present('timestamp', text);
    if (!TIMESTAMP.test(text)) {
        throw new Error(`timestamp "${text}" is not ISO-8601 UTC to the second, like 2026-11-22T10:00:00Z`);
    }
    // Date.parse accepts 2026-02-30 and 24:00:00 by rolling over: a real date prints back the same.
    const ms = Date.parse(text);
    if (Number.isNaN(ms) || new Date(ms).toISOString() !== text.replace('Z', '.000Z')) {
        throw new Error(`timestamp "${text}" is not a date and time that exists`);
    }
    return text;
}

function readingKey(ctx, shipmentId, timestamp, sensorId) {
    return ctx.stub.createCompositeKey(READING, [
        checkId('shipmentId', shipmentId),
        checkTimestamp(timestamp),
        checkId('sensorId', sensorId),
    ]);
}

function describe(shipmentId, timestamp, sensorId) {
    return `sensor ${sensorId} of shipment ${shipmentId} at ${timestamp}`;
}

class ThermoTraceContract extends Contract {
    constructor() {
        super('ThermoTraceContract');
    }

    /**
     * Store one temperature reading; returns it as JSON. A second reading of the
     * same sensor, shipment and timestamp is refused: readings are never rewritten.
     */
    async recordReading(ctx, shipmentId, sensorId, value, unit, timestamp) {
        const key = readingKey(ctx, shipmentId, timestamp, sensorId);
        // A fixed field order: every endorser writes and returns the same bytes.
        const reading = {
            shipmentId,
            sensorId,
            timestamp,
            value: checkValue(value),
            unit: checkUnit(unit),
        };
        const existing = await ctx.stub.getState(key);
        if (existing && existing.length > 0) {
            throw new Error(`a reading of ${describe(shipmentId, timestamp, sensorId)} already exists`);
        }
        const json = JSON.stringify(reading);
        await ctx.stub.putState(key, Buffer.from(json));
        return json;
    }

    /** One stored reading as JSON. */
    async getReading(ctx, shipmentId, timestamp, sensorId) {
        const stored = await ctx.stub.getState(readingKey(ctx, shipmentId, timestamp, sensorId));
        if (!stored || stored.length === 0) {
            throw new Error(`there is no reading of ${describe(shipmentId, timestamp, sensorId)}`);
        }
        return Buffer.from(stored).toString('utf8');
    }

    /** Every reading of a shipment as a JSON array, oldest first; [] for a shipment without readings. */
    async getShipmentHistory(ctx, shipmentId) {
        checkId('shipmentId', shipmentId);
        const readings = [];
        const iterator = await ctx.stub.getStateByPartialCompositeKey(READING, [shipmentId]);
        try {
            for (let res = await iterator.next(); !res.done; res = await iterator.next()) {
                readings.push(JSON.parse(Buffer.from(res.value.value).toString('utf8')));
            }
        } finally {
            await iterator.close();
        }
        return JSON.stringify(readings);
    }
}

module.exports = ThermoTraceContract;
