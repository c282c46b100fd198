'use strict';
// WebSocket echo server for Herald's end-to-end tests (the `ws` package).
// Usage: node ws-server.js [--port N]   (0 = any free port)
// Prints "listening PORT" on stdout once bound. Echoes every text message as text and
// every binary message as binary; a text message "headers" is answered with the upgrade
// request's headers as JSON; when the client closes, it closes back with the same code
// and reason. Required as a module it starts nothing and exports { onConnection }.
const { WebSocketServer } = require('ws');

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

// The echo behaviour of one connection (pod-server.js uses it too).
function onConnection(socket, request) {
  socket.on('message', (data, isBinary) => {
    if (!isBinary && data.toString() === 'headers') {
      socket.send(JSON.stringify({ url: request.url, headers: request.headers }));
      return;
    }
    socket.send(data, { binary: isBinary });
  });
  socket.on('close', (code, reason) => {
    console.log(`closed ${code} ${reason.toString()}`);
  });
}

module.exports = { onConnection };

if (require.main === module) {
  const server = new WebSocketServer({ host: '127.0.0.1', port: Number(arg('--port', '0')), maxPayload: 16 * 1024 * 1024 });
  server.on('listening', () => console.log(`listening ${server.address().port}`));
  server.on('connection', onConnection);
  server.on('error', (err) => {
    console.error(`server error: ${err.message}`);
    process.exit(1);
  });

  const stop = () => {
    server.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
