'use strict';
// Greeter client for Herald's xDS end-to-end tests.
// Usage: node greeter-client.js --target TARGET [--xds]
//   TARGET: xds:///NAME (with --xds: @grpc/grpc-js-xds resolves it through the control plane
//   named by GRPC_XDS_BOOTSTRAP_CONFIG) or HOST:PORT (plain @grpc/grpc-js).
// One channel for the whole run, so xDS updates reach the same client. Reads commands from
// stdin, one per line:
//   call ID N [key=value ...]   N sequential unary calls (5 s deadline each) with the given
//                               metadata; prints one JSON line:
//                               {"id":ID,"counts":{SERVER:n},"failed":n,"errors":["code: details"]}
// Prints "ready" once it reads commands. Exits when stdin closes.
const readline = require('readline');
const grpc = require('@grpc/grpc-js');

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const target = arg('--target');
if (!target) {
  console.error('usage: node greeter-client.js --target TARGET [--xds]');
  process.exit(2);
}

if (process.argv.includes('--xds')) {
  require('@grpc/grpc-js-xds').register();
}

const Greeter = require('./greeter-schema')(grpc);
const client = new Greeter(target, grpc.credentials.createInsecure());

function sayHello(metadata) {
  return new Promise((resolve) => {
    client.SayHello({ name: 'herald' }, metadata, { deadline: new Date(Date.now() + 5000) }, (err, reply) => {
      resolve(err ? { error: `${err.code}: ${err.details}` } : { server: reply.server });
    });
  });
}

async function run(id, count, pairs) {
  const metadata = new grpc.Metadata();
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    metadata.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  const result = { id, counts: {}, failed: 0, errors: [] };
  for (let i = 0; i < count; i++) {
    const answer = await sayHello(metadata);
    if (answer.error !== undefined) {
      result.failed++;
      if (!result.errors.includes(answer.error) && result.errors.length < 5) {
        result.errors.push(answer.error);
      }
    } else {
      result.counts[answer.server] = (result.counts[answer.server] || 0) + 1;
    }
  }
  return result;
}

// Commands run one after the other, in the order they arrive.
let queue = Promise.resolve();
const lines = readline.createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const [verb, id, count, ...pairs] = line.trim().split(/\s+/);
  if (verb !== 'call') {
    return;
  }
  queue = queue.then(async () => {
    console.log(JSON.stringify(await run(id, Number(count), pairs)));
  });
});
lines.on('close', () => {
  queue.then(() => {
    client.close();
    process.exit(0);
  });
});
console.log('ready');
