'use strict';
// gRPC echo server for Herald's end-to-end tests (@grpc/grpc-js, the real third-party stack).
// Usage: node grpc-server.js [--port N]   (0 = any free port)
// Prints "listening PORT" on stdout once bound. Runs until killed.
// Required as a module it starts nothing and exports { Echo, handlers } (pod-server.js uses them).
//
// Every call: request metadata keys starting with "x-" come back as initial metadata
// (same key), and the trailing metadata carries "x-trailer: <method>".
// A request with fail_code != 0 ends the call with that status, fail_message as
// grpc-message and "x-detail: <fail_detail>" in the trailing metadata; with
// trailers_only it sends no response headers first (a trailers-only response).
const grpc = require('@grpc/grpc-js');

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const echo = require('./echo-schema')(grpc);

function echoedMetadata(call) {
  const out = new grpc.Metadata();
  for (const [key, values] of Object.entries(call.metadata.getMap())) {
    if (key.startsWith('x-')) {
      out.set(key, String(values));
    }
  }
  return out;
}

function trailers(method, extra) {
  const md = new grpc.Metadata();
  md.set('x-trailer', method);
  if (extra) {
    md.set('x-detail', extra);
  }
  return md;
}

function failure(req, method) {
  if (!req.fail_code) {
    return null;
  }
  return { code: req.fail_code, details: req.fail_message, metadata: trailers(method, req.fail_detail) };
}

function reply(req, index) {
  return { message: req.message, index, payload_length: req.payload ? req.payload.length : 0 };
}

const handlers = {
  Unary(call, callback) {
    if (!(call.request.fail_code && call.request.trailers_only)) {
      call.sendMetadata(echoedMetadata(call));
    }
    const failed = failure(call.request, 'Unary');
    if (failed) {
      callback(failed);
      return;
    }
    callback(null, reply(call.request, 0), trailers('Unary'));
  },
  ServerStream(call) {
    call.sendMetadata(echoedMetadata(call));
    const failed = failure(call.request, 'ServerStream');
    const count = call.request.count || 1;
    for (let i = 0; i < count; i++) {
      call.write(reply(call.request, i));
    }
    if (failed) {
      call.emit('error', failed);
      return;
    }
    call.end(trailers('ServerStream'));
  },
  ClientStream(call, callback) {
    call.sendMetadata(echoedMetadata(call));
    const parts = [];
    let bytes = 0;
    let failed = null;
    call.on('data', (req) => {
      parts.push(req.message);
      bytes += req.payload ? req.payload.length : 0;
      failed = failed || failure(req, 'ClientStream');
    });
    call.on('end', () => {
      if (failed) {
        callback(failed);
        return;
      }
      callback(null, { message: parts.join(','), index: parts.length, payload_length: bytes }, trailers('ClientStream'));
    });
  },
  Bidi(call) {
    call.sendMetadata(echoedMetadata(call));
    let index = 0;
    let failed = null;
    call.on('data', (req) => {
      failed = failed || failure(req, 'Bidi');
      if (!failed) {
        call.write(reply(req, index++));
      }
    });
    call.on('end', () => {
      if (failed) {
        call.emit('error', failed);
        return;
      }
      call.end(trailers('Bidi'));
    });
  },
};

module.exports = { Echo: echo, handlers };

if (require.main === module) {
  const server = new grpc.Server();
  server.addService(echo.service, handlers);
  server.bindAsync(`127.0.0.1:${arg('--port', '0')}`, grpc.ServerCredentials.createInsecure(), (err, port) => {
    if (err) {
      console.error(`bind failed: ${err.message}`);
      process.exit(1);
    }
    console.log(`listening ${port}`);
  });

  const stop = () => {
    server.forceShutdown();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
