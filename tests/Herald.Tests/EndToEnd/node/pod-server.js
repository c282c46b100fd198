'use strict';
// The application of a test "pod" for Herald's interception end-to-end tests: every protocol
// a pod may serve, on fixed ports of 0.0.0.0 (the pod's own network namespace), so a client
// dials the pod's address unchanged and the sidecar, if any, is invisible to both.
// Usage: node pod-server.js --name NAME
//
//   8080  HTTP/1.1 echo: answers JSON { server, port, protocol, method, path, headers, remoteAddress, remotePort }
//   8081  h2c (HTTP/2 prior knowledge) echo: the same JSON
//   50051 gRPC echo (echo-schema.js; the handlers of grpc-server.js)
//   8082  WebSocket echo (the behaviour of ws-server.js)
//   9000  TCP echo: every byte back; a half-close is answered with one
//   9001  server-first: writes "220 NAME ready\r\n" on accept, before reading, then echoes
//
// Logs one stdout line per HTTP request ("request PORT METHOD PATH from ADDR") and per TCP
// connection ("accept PORT from ADDR"), so a test can count what the application saw.
// Prints "pod-server NAME ready" once every port listens. Runs until killed.
const http = require('http');
const http2 = require('http2');
const net = require('net');
const grpc = require('@grpc/grpc-js');
const { WebSocketServer } = require('ws');
const { Echo, handlers } = require('./grpc-server.js');
const { onConnection } = require('./ws-server.js');

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const name = arg('--name', 'pod');
const host = '0.0.0.0';
const servers = [];

function fail(what, err) {
  console.error(`${what}: ${err.message}`);
  process.exit(1);
}

function address(socket) {
  return socket.remoteAddress ? socket.remoteAddress.replace(/^::ffff:/, '') : '';
}

function echoHttp(port, protocol) {
  return (req, res) => {
    console.log(`request ${port} ${req.method} ${req.url} from ${address(req.socket)}`);
    // The body is read (and discarded) before answering, so uploads complete.
    req.on('data', () => {});
    req.on('end', () => {
      const body = JSON.stringify({
        server: name,
        port,
        protocol,
        httpVersion: req.httpVersion,
        method: req.method,
        path: req.url,
        headers: req.headers,
        remoteAddress: address(req.socket),
        remotePort: req.socket.remotePort,
      });
      res.writeHead(200, { 'content-type': 'application/json', 'x-pod': name });
      res.end(body);
    });
  };
}

function listen(server, port, what) {
  return new Promise((resolve) => {
    server.on('error', (err) => fail(`${what} on ${port}`, err));
    server.listen(port, host, resolve);
    servers.push(server);
  });
}

function tcpServer(port, banner) {
  return net.createServer({ allowHalfOpen: true }, (socket) => {
    console.log(`accept ${port} from ${address(socket)}`);
    socket.on('error', () => socket.destroy());
    if (banner) {
      socket.write(banner);
    }
    socket.pipe(socket);
  });
}

async function main() {
  const started = [
    listen(http.createServer(echoHttp(8080, 'http/1.1')), 8080, 'HTTP/1.1'),
    listen(http2.createServer(echoHttp(8081, 'h2c')), 8081, 'h2c'),
    listen(tcpServer(9000, null), 9000, 'TCP echo'),
    listen(tcpServer(9001, `220 ${name} ready\r\n`), 9001, 'server-first'),
  ];

  const ws = new WebSocketServer({ host, port: 8082, maxPayload: 16 * 1024 * 1024 });
  ws.on('error', (err) => fail('WebSocket on 8082', err));
  ws.on('connection', (socket, request) => {
    console.log(`request 8082 ${request.method} ${request.url} from ${address(request.socket)}`);
    onConnection(socket, request);
  });
  started.push(new Promise((resolve) => ws.on('listening', resolve)));

  const grpcServer = new grpc.Server();
  grpcServer.addService(Echo.service, handlers);
  started.push(new Promise((resolve) => {
    grpcServer.bindAsync(`${host}:50051`, grpc.ServerCredentials.createInsecure(), (err) => {
      if (err) {
        fail('gRPC on 50051', err);
      }
      resolve();
    });
  }));

  await Promise.all(started);
  console.log(`pod-server ${name} ready`);

  const stop = () => {
    grpcServer.forceShutdown();
    ws.close();
    for (const server of servers) {
      server.close();
    }
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err) => fail('pod-server', err));
