#!/usr/bin/env node
// An independent client of Envoy's rate-limit API (grpc-js, not grpc-java): sends each case's
// RateLimitRequest to Tollgate as Envoy's ratelimit filter would, and compares every answer with
// what the case expects. Prints one line per call; exits 1 on the first mismatch.
//
//   node rls-contract.js HOST:PORT CASES.json PROTO_DIR
//
// CASES.json: [{ "name": "...", "request": { "domain": "...", "descriptors": [{ "entries":
//   [{ "key": "...", "value": "..." }] }] }, "expect": [ { "overall_code": "OK" | "OVER_LIMIT",
//   "statuses": [ { "code": "OK", "requests_per_unit": 20, "unit": "SECOND", "limit_remaining": 19 }
//   | { "code": "OK" } ] }, ... one per call ] }]
'use strict';
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const fs = require('fs');

const [target, casesFile, protoDir] = process.argv.slice(2);
if (!protoDir) {
  console.error('usage: rls-contract.js HOST:PORT CASES.json PROTO_DIR');
  process.exit(2);
}
const definition = protoLoader.loadSync('envoy/service/ratelimit/v3/rls.proto', {
  includeDirs: [protoDir], keepCase: true, longs: Number, enums: String, defaults: true,
});
const rls = grpc.loadPackageDefinition(definition).envoy.service.ratelimit.v3;
const client = new rls.RateLimitService(target, grpc.credentials.createInsecure());

function call(request) {
  return new Promise((resolve, reject) => {
    client.ShouldRateLimit(request, { deadline: Date.now() + 5000 }, (err, response) =>
      err ? reject(err) : resolve(response));
  });
}

function check(name, i, expected, actual) {
  const problems = [];
  if (actual.overall_code !== expected.overall_code) {
    problems.push(`overall_code ${actual.overall_code}, expected ${expected.overall_code}`);
  }
  if (actual.statuses.length !== expected.statuses.length) {
    problems.push(`${actual.statuses.length} statuses, expected ${expected.statuses.length}`);
  }
  expected.statuses.forEach((e, d) => {
    const a = actual.statuses[d] || {};
    if (a.code !== e.code) problems.push(`statuses[${d}].code ${a.code}, expected ${e.code}`);
    if (e.requests_per_unit === undefined) {
      if (a.current_limit) problems.push(`statuses[${d}] has a current_limit, expected none`);
      return;
    }
    // Envoy's DRAFT_VERSION_03 headers are built from these three fields.
    const limit = a.current_limit || {};
    if (limit.requests_per_unit !== e.requests_per_unit || limit.unit !== e.unit) {
      problems.push(`statuses[${d}].current_limit ${limit.requests_per_unit}/${limit.unit},`
        + ` expected ${e.requests_per_unit}/${e.unit}`);
    }
    if (a.limit_remaining !== e.limit_remaining) {
      problems.push(`statuses[${d}].limit_remaining ${a.limit_remaining}, expected ${e.limit_remaining}`);
    }
    if (!a.duration_until_reset || !(Number(a.duration_until_reset.seconds) > 0)) {
      problems.push(`statuses[${d}].duration_until_reset missing`);
    }
  });
  const line = `${name} #${i + 1}: ${actual.overall_code} [${actual.statuses.map((s) =>
    s.current_limit ? `${s.code} ${s.limit_remaining}/${s.current_limit.requests_per_unit}` : s.code)
    .join(', ')}]`;
  if (problems.length) {
    console.log(`not ok ${line}\n  ${problems.join('\n  ')}`);
    return false;
  }
  console.log(`ok ${line}`);
  return true;
}

(async () => {
  const cases = JSON.parse(fs.readFileSync(casesFile, 'utf8'));
  let calls = 0;
  for (const c of cases) {
    for (let i = 0; i < c.expect.length; i++) {
      const response = await call(c.request);
      calls++;
      if (!check(c.name, i, c.expect[i], response)) {
        process.exit(1);
      }
    }
  }
  console.log(`${calls} calls in ${cases.length} cases as expected`);
  client.close();
})().catch((e) => {
  console.log(`not ok: ${e.message}`);
  process.exit(1);
});
