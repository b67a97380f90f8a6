'use strict';

// An in-memory stand-in for fabric-shim's ChaincodeStub: the few calls the contract
// makes, with the peer's semantics (a missing key reads as empty bytes, range
// queries return keys in sorted order, iterators must be closed).
const { ChaincodeStub } = require('fabric-shim');

class MemoryStub {
    constructor() {
        this.state = new Map();
        this.openIterators = 0;
    }

    // The real key encoding, so that prefixes and ordering are the peer's.
    createCompositeKey(objectType, attributes) {
        return ChaincodeStub.prototype.createCompositeKey.call(this, objectType, attributes);
    }

    async getState(key) {
        return this.state.get(key) ?? Buffer.alloc(0);
    }

    async putState(key, value) {
        this.state.set(key, Buffer.from(value));
    }

    async getStateByPartialCompositeKey(objectType, attributes) {
        const prefix = this.createCompositeKey(objectType, attributes);
        const keys = [...this.state.keys()].filter((key) => key.startsWith(prefix)).sort();
        this.openIterators += 1;
        let at = 0;
        return {
            next: async () => (at < keys.length
                ? { done: false, value: { key: keys[at], value: this.state.get(keys[at++]) } }
                : { done: true }),
            close: async () => {
                this.openIterators -= 1;
            },
        };
    }
}

module.exports = MemoryStub;
