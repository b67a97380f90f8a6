'use strict';

// The module fabric-shim loads (package.json `main`): it serves every contract named here.
const ThermoTraceContract = require('./lib/thermotrace-contract');

module.exports.ThermoTraceContract = ThermoTraceContract;
module.exports.contracts = [ThermoTraceContract];
