'use strict';
// @grpc/grpc-js server for Herald's gRPC client tests.
// Usage: node server.js [--port N]   (0 = any free port). Prints "listening PORT" once bound.
//
// Echo: "echo:" + value; request metadata "x-*" comes back as response headers; trailers
// carry "x-served-by: node". "fail:TEXT" ends with INVALID_ARGUMENT, message TEXT and
// trailer "x-detail: TEXT". "sleep:MS" answers after MS milliseconds (a client deadline should fire first).
// Chat: each message is answered with the same value, as it arrives; "fail" ends the call
// with ABORTED "chat failed"; the end of the client's stream ends the call with OK and
// trailer "x-count: N".
const grpc = require('@grpc/grpc-js');

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const service = require('./test-schema')(grpc);

function echoedHeaders(call) {
  const md = new grpc.Metadata();
  for (const [key, value] of Object.entries(call.metadata.getMap())) {
    if (key.startsWith('x-')) {
      md.set(key, String(value));
    }
  }
  return md;
}

const handlers = {
  Echo(call, callback) {
    const value = call.request.value;
    call.sendMetadata(echoedHeaders(call));
    if (value.startsWith('fail:')) {
      const text = value.slice('fail:'.length);
      const md = new grpc.Metadata();
      md.set('x-detail', 'detail');
      callback({ code: grpc.status.INVALID_ARGUMENT, details: text, metadata: md });
      return;
    }
    const trailers = new grpc.Metadata();
    trailers.set('x-served-by', 'node');
    if (value.startsWith('sleep:')) {
      const timer = setTimeout(() => callback(null, { value: 'late' }, trailers), Number(value.slice('sleep:'.length)));
      call.on('cancelled', () => clearTimeout(timer));
      return;
    }
    callback(null, { value: 'echo:' + value }, trailers);
  },
  Chat(call) {
    call.sendMetadata(echoedHeaders(call));
    let count = 0;
    let failed = false;
    call.on('data', (req) => {
      if (failed) {
        return;
      }
      if (req.value === 'fail') {
        failed = true;
        call.emit('error', { code: grpc.status.ABORTED, details: 'chat failed' });
        return;
      }
      count++;
      call.write({ value: req.value });
    });
    call.on('end', () => {
      if (!failed) {
        const trailers = new grpc.Metadata();
        trailers.set('x-count', String(count));
        call.end(trailers);
      }
    });
  },
};

const server = new grpc.Server();
server.addService(service.service, handlers);
server.bindAsync(`127.0.0.1:${arg('--port', '0')}`, grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) {
    console.error(`bind failed: ${err.message}`);
    process.exit(1);
  }
  console.log(`listening ${port}`);
});

function stop() {
  server.forceShutdown();
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
