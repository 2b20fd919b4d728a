// An independent RLQS client on @grpc/grpc-js: opens StreamRateLimitQuotas, sends one usage
// report and prints the first response as JSON on one line, then ends the stream.
// Usage: node rlqs-client.js PROTO_DIR HOST:PORT DOMAIN KEY=VALUE...
'use strict';
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const [protoDir, target, domain, ...pairs] = process.argv.slice(2);
const definition = protoLoader.loadSync('envoy/service/rate_limit_quota/v3/rlqs.proto', {
  includeDirs: [protoDir],
  keepCase: true,
  longs: String,
  enums: String,
  defaults: false,
  oneofs: true,
});
const proto = grpc.loadPackageDefinition(definition);
const Service = proto.envoy.service.rate_limit_quota.v3.RateLimitQuotaService;
const client = new Service(target, grpc.credentials.createInsecure());

const bucket = {};
for (const p of pairs) {
  const i = p.indexOf('=');
  bucket[p.slice(0, i)] = p.slice(i + 1);
}
const timer = setTimeout(() => {
  console.error('no response within 20 s');
  process.exit(3);
}, 20000);
const call = client.StreamRateLimitQuotas();
call.on('data', (response) => {
  console.log(JSON.stringify(response));
  clearTimeout(timer);
  call.end();
  client.close();
});
call.on('error', (e) => {
  console.error('stream error: ' + e.code + ' ' + e.details);
  process.exit(2);
});
call.write({
  domain: domain,
  bucket_quota_usages: [{
    bucket_id: {bucket: bucket},
    time_elapsed: {seconds: 1, nanos: 0},
    num_requests_allowed: 3,
    num_requests_denied: 0,
  }],
});
