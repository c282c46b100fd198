'use strict';
// gRPC client for Herald's end-to-end tests (@grpc/grpc-js).
// Usage: node grpc-client.js --target HOST:PORT [--timeout-ms N]
// Runs the four call kinds and one failing call, prints one JSON object on stdout:
//   { unary, serverStream, clientStream, bidi, failure, failureTrailersOnly: Result }
//   Result = { code, details, headers: {k: v}, trailers: {k: v}, replies: [...], error? }
// and a list of problems ("problems": [...]) found against what the echo server must return.
// Exit code 0 when there is no problem, 1 otherwise.
const grpc = require('@grpc/grpc-js');

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const target = arg('--target');
if (!target) {
  console.error('usage: node grpc-client.js --target HOST:PORT');
  process.exit(2);
}
const timeoutMs = Number(arg('--timeout-ms', '10000'));

const Echo = require('./echo-schema')(grpc);
const client = new Echo(target, grpc.credentials.createInsecure());

function mapOf(md) {
  const out = {};
  if (!md) {
    return out;
  }
  for (const [k, v] of Object.entries(md.getMap())) {
    out[k] = Buffer.isBuffer(v) ? v.toString('base64') : String(v);
  }
  return out;
}

function metadata(kind) {
  const md = new grpc.Metadata();
  md.set('x-call-kind', kind);
  md.set('x-client', 'grpc-js');
  return md;
}

function deadline() {
  return new Date(Date.now() + timeoutMs);
}

// Wraps one call: collects headers, replies, final status and trailers.
function observe(call, result, done) {
  call.on('metadata', (md) => { result.headers = mapOf(md); });
  call.on('status', (status) => {
    result.code = status.code;
    result.details = status.details;
    result.trailers = mapOf(status.metadata);
    done();
  });
}

function newResult() {
  return { code: null, details: null, headers: {}, trailers: {}, replies: [] };
}

function unary(request, kind) {
  return new Promise((resolve) => {
    const result = newResult();
    let statusSeen = false;
    let callbackSeen = false;
    const finish = () => { if (statusSeen && callbackSeen) { resolve(result); } };
    const call = client.Unary(request, metadata(kind), { deadline: deadline() }, (err, reply) => {
      if (err) {
        result.error = err.message;
      } else {
        result.replies.push(reply);
      }
      callbackSeen = true;
      finish();
    });
    observe(call, result, () => { statusSeen = true; finish(); });
  });
}

function serverStream() {
  return new Promise((resolve) => {
    const result = newResult();
    const call = client.ServerStream({ message: 'stream', count: 5 }, metadata('server-stream'), { deadline: deadline() });
    call.on('data', (reply) => result.replies.push(reply));
    call.on('error', (err) => { result.error = err.message; });
    observe(call, result, () => resolve(result));
  });
}

function clientStream() {
  return new Promise((resolve) => {
    const result = newResult();
    let statusSeen = false;
    let callbackSeen = false;
    const finish = () => { if (statusSeen && callbackSeen) { resolve(result); } };
    const call = client.ClientStream(metadata('client-stream'), { deadline: deadline() }, (err, reply) => {
      if (err) {
        result.error = err.message;
      } else {
        result.replies.push(reply);
      }
      callbackSeen = true;
      finish();
    });
    observe(call, result, () => { statusSeen = true; finish(); });
    // 3 x 64 KiB payloads: more than one HTTP/2 frame and more than a default window slice.
    for (const m of ['a', 'b', 'c']) {
      call.write({ message: m, payload: Buffer.alloc(65536, m) });
    }
    call.end();
  });
}

function bidi() {
  return new Promise((resolve) => {
    const result = newResult();
    const call = client.Bidi(metadata('bidi'), { deadline: deadline() });
    const messages = ['one', 'two', 'three', 'four'];
    let sent = 0;
    // Ping-pong: the next message goes only after the previous echo came back, which proves
    // that the proxy streams both ways instead of buffering a whole direction.
    const sendNext = () => {
      if (sent < messages.length) {
        call.write({ message: messages[sent++] });
      } else {
        call.end();
      }
    };
    call.on('data', (reply) => { result.replies.push(reply); sendNext(); });
    call.on('error', (err) => { result.error = err.message; });
    observe(call, result, () => resolve(result));
    sendNext();
  });
}

function check(problems, name, result, expectations) {
  const expect = (cond, what) => { if (!cond) { problems.push(`${name}: ${what}`); } };
  expect(result.code === expectations.code, `status ${result.code} (${result.details}), expected ${expectations.code}`);
  if (expectations.kind) {
    expect(result.headers['x-call-kind'] === expectations.kind, `header x-call-kind = ${result.headers['x-call-kind']}`);
  }
  if (expectations.trailer) {
    expect(result.trailers['x-trailer'] === expectations.trailer, `trailer x-trailer = ${result.trailers['x-trailer']}`);
  }
  if (expectations.replies) {
    const got = JSON.stringify(result.replies.map((r) => r.message));
    expect(got === JSON.stringify(expectations.replies), `replies ${got}`);
  }
}

async function main() {
  const results = {};
  results.unary = await unary({ message: 'hello' }, 'unary');
  results.serverStream = await serverStream();
  results.clientStream = await clientStream();
  results.bidi = await bidi();
  results.failure = await unary({ message: 'missing', fail_code: 5, fail_message: 'no such thing', fail_detail: 'gone' }, 'failure');
  results.failureTrailersOnly = await unary({
    message: 'missing', fail_code: 5, fail_message: 'no such thing', fail_detail: 'gone', trailers_only: true,
  }, 'failure-trailers-only');

  const problems = [];
  check(problems, 'unary', results.unary, { code: 0, kind: 'unary', trailer: 'Unary', replies: ['hello'] });
  check(problems, 'serverStream', results.serverStream, { code: 0, kind: 'server-stream', trailer: 'ServerStream', replies: ['stream', 'stream', 'stream', 'stream', 'stream'] });
  check(problems, 'clientStream', results.clientStream, { code: 0, kind: 'client-stream', trailer: 'ClientStream', replies: ['a,b,c'] });
  if (results.clientStream.replies.length === 1 && results.clientStream.replies[0].payload_length !== 3 * 65536) {
    problems.push(`clientStream: payload_length ${results.clientStream.replies[0].payload_length}`);
  }
  check(problems, 'bidi', results.bidi, { code: 0, kind: 'bidi', trailer: 'Bidi', replies: ['one', 'two', 'three', 'four'] });
  check(problems, 'failure', results.failure, { code: 5, trailer: 'Unary' });
  if (results.failure.details !== 'no such thing') {
    problems.push(`failure: details ${JSON.stringify(results.failure.details)}`);
  }
  if (results.failure.trailers['x-detail'] !== 'gone') {
    problems.push(`failure: trailer x-detail = ${results.failure.trailers['x-detail']}`);
  }
  check(problems, 'failureTrailersOnly', results.failureTrailersOnly, { code: 5, trailer: 'Unary' });
  if (results.failureTrailersOnly.details !== 'no such thing') {
    problems.push(`failureTrailersOnly: details ${JSON.stringify(results.failureTrailersOnly.details)}`);
  }
  if (results.failureTrailersOnly.trailers['x-detail'] !== 'gone') {
    problems.push(`failureTrailersOnly: trailer x-detail = ${results.failureTrailersOnly.trailers['x-detail']}`);
  }
  results.problems = problems;
  console.log(JSON.stringify(results));
  client.close();
  process.exit(problems.length === 0 ? 0 : 1);
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : String(err));
  process.exit(1);
});
