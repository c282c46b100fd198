'use strict';
// Greeter server (@grpc/grpc-js) for Herald's xDS end-to-end tests.
// Usage: node greeter-server.js --name NAME [--port N]   (0 = any free port)
// Prints "listening PORT" on stdout once bound; every reply carries server = NAME.
// Runs until killed.
const grpc = require('@grpc/grpc-js');

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const name = arg('--name');
if (!name) {
  console.error('usage: node greeter-server.js --name NAME [--port N]');
  process.exit(2);
}

const greeter = require('./greeter-schema')(grpc);

const server = new grpc.Server();
server.addService(greeter.service, {
  SayHello(call, callback) {
    callback(null, { message: `hello ${call.request.name}`, server: name });
  },
});
server.bindAsync(`127.0.0.1:${arg('--port', '0')}`, grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) {
    console.error(`bind failed: ${err.message}`);
    process.exit(1);
  }
  console.log(`listening ${port}`);
});
