'use strict';
// @grpc/grpc-js client for Herald's gRPC server tests.
// Usage: node client.js --target HOST:PORT [--timeout-ms N]
// Runs each scenario against the Test service and prints one JSON line with what it saw:
//   unary:    Echo("hello") with metadata x-test: 1 -> value, headers x-test, trailers
//   bidi:     Chat, 200 messages written while replies are read -> count, order ok, trailers
//   error:    Echo("fail:bad input 100% ü") -> code, details, trailer x-detail
//   deadline: Echo("sleep:10000") with a 300 ms deadline -> code, elapsed ms
const grpc = require('@grpc/grpc-js');

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const target = arg('--target');
const overall = Number(arg('--timeout-ms', '20000'));
const Test = require('./test-schema')(grpc);
const client = new Test(target, grpc.credentials.createInsecure());

function unary() {
  return new Promise((resolve) => {
    const md = new grpc.Metadata();
    md.set('x-test', '1');
    const out = {};
    const call = client.Echo({ value: 'hello' }, md, (err, reply) => {
      out.code = err ? err.code : 0;
      out.value = reply ? reply.value : null;
    });
    call.on('metadata', (h) => { out.header = h.get('x-test')[0] || null; });
    call.on('status', (s) => {
      out.trailer = s.metadata.get('x-served-by')[0] || null;
      resolve(out);
    });
  });
}

function bidi() {
  return new Promise((resolve) => {
    const out = { count: 0, ordered: true };
    const call = client.Chat();
    call.on('data', (reply) => {
      if (reply.value !== 'm' + out.count) {
        out.ordered = false;
      }
      out.count++;
    });
    call.on('error', (err) => { out.code = err.code; out.details = err.details; });
    call.on('status', (s) => {
      out.code = out.code || s.code;
      out.trailer = s.metadata.get('x-count')[0] || null;
      resolve(out);
    });
    for (let i = 0; i < 200; i++) {
      call.write({ value: 'm' + i });
    }
    call.end();
  });
}

function error() {
  return new Promise((resolve) => {
    client.Echo({ value: 'fail:bad input 100% ü' }, (err) => {
      resolve({
        code: err ? err.code : 0,
        details: err ? err.details : null,
        detail: err ? (err.metadata.get('x-detail')[0] || null) : null,
      });
    });
  });
}

function deadline() {
  return new Promise((resolve) => {
    const started = Date.now();
    client.Echo({ value: 'sleep:10000' }, { deadline: new Date(Date.now() + 300) }, (err) => {
      resolve({ code: err ? err.code : 0, elapsed_ms: Date.now() - started });
    });
  });
}

const timer = setTimeout(() => {
  console.log(JSON.stringify({ error: 'timed out' }));
  process.exit(2);
}, overall);

(async () => {
  const result = {};
  result.unary = await unary();
  result.bidi = await bidi();
  result.error = await error();
  result.deadline = await deadline();
  clearTimeout(timer);
  client.close();
  console.log(JSON.stringify(result));
  process.exit(0);
})().catch((e) => {
  console.log(JSON.stringify({ error: String(e && e.stack || e) }));
  process.exit(1);
});
