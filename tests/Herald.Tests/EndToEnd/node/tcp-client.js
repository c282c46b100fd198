'use strict';
// Raw TCP client for Herald's end-to-end tests.
// Usage: node tcp-client.js --host HOST --port PORT [--bytes N] [--banner PREFIX] [--close-after-send] [--timeout-ms N]
// Connects; with --banner, first waits (sending nothing) for one line starting with PREFIX
// that the server speaks first; then sends N bytes of a fixed pattern (byte i = i * 31 + 7
// mod 256), reads until all N came back, half-closes and waits for the server's own end of
// stream. With --close-after-send it half-closes right after sending instead, before any echo
// arrives (the FIN then travels behind the data). Compares what came back with what was sent
// and prints one JSON object on stdout:
//   { connected, banner, bannerMs, sent, received, echoOk, firstMismatch, serverEnded, problems }
// Exit code 0 when there is no problem, 1 otherwise. The whole exchange is bounded by --timeout-ms.
const net = require('net');

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const host = arg('--host');
const port = Number(arg('--port', '0'));
if (!host || !port) {
  console.error('usage: node tcp-client.js --host HOST --port PORT [--bytes N] [--banner PREFIX] [--timeout-ms N]');
  process.exit(2);
}
const size = Number(arg('--bytes', '65536'));
const bannerPrefix = arg('--banner', null);
const closeAfterSend = process.argv.includes('--close-after-send');
const timeoutMs = Number(arg('--timeout-ms', '10000'));

const payload = Buffer.alloc(size);
for (let i = 0; i < size; i++) {
  payload[i] = (i * 31 + 7) & 0xff;
}

const result = {
  connected: false, banner: null, bannerMs: null, sent: 0, received: 0, echoOk: false, firstMismatch: null, serverEnded: false, problems: [],
};
const started = Date.now();
let pending = Buffer.alloc(0);
const echoed = [];
let echoedBytes = 0;
let waitingForBanner = bannerPrefix !== null;
let finished = false;

function finish() {
  if (finished) {
    return;
  }
  finished = true;
  clearTimeout(timer);
  const got = Buffer.concat(echoed);
  result.received = got.length;
  result.echoOk = got.length === payload.length && Buffer.compare(got, payload) === 0;
  if (!result.echoOk) {
    const n = Math.min(got.length, payload.length);
    let i = 0;
    while (i < n && got[i] === payload[i]) {
      i++;
    }
    result.firstMismatch = i;
    result.problems.push(`echo: sent ${payload.length} bytes, got ${got.length} back, first difference at ${i}`);
  }
  if (!result.serverEnded && result.problems.length === 0) {
    result.problems.push('the connection closed without an end of stream from the server');
  }
  if (!result.connected) {
    result.problems.push('never connected');
  }
  if (bannerPrefix !== null && (result.banner === null || !result.banner.startsWith(bannerPrefix))) {
    result.problems.push(`banner ${JSON.stringify(result.banner)}, expected a line starting with ${JSON.stringify(bannerPrefix)}`);
  }
  console.log(JSON.stringify(result));
  process.exit(result.problems.length === 0 ? 0 : 1);
}

const timer = setTimeout(() => {
  result.problems.push(`timed out after ${timeoutMs} ms${waitingForBanner ? ' waiting for the banner' : ''}`);
  socket.destroy();
  finish();
}, timeoutMs);

function send() {
  socket.write(payload, () => {
    result.sent = payload.length;
    if (closeAfterSend) {
      socket.end();
    }
  });
}

function echo(chunk) {
  echoed.push(chunk);
  echoedBytes += chunk.length;
  // Everything came back: now half-close, and the server's end of stream ends the exchange.
  if (!closeAfterSend && echoedBytes >= payload.length && !socket.writableEnded) {
    socket.end();
  }
}

const socket = net.connect({ host, port, allowHalfOpen: true }, () => {
  result.connected = true;
  if (!waitingForBanner) {
    send();
  }
});
socket.on('data', (chunk) => {
  if (!waitingForBanner) {
    echo(chunk);
    return;
  }
  pending = Buffer.concat([pending, chunk]);
  const eol = pending.indexOf('\n');
  if (eol < 0) {
    return;
  }
  result.banner = pending.subarray(0, eol + 1).toString('latin1').replace(/\r?\n$/, '');
  result.bannerMs = Date.now() - started;
  waitingForBanner = false;
  send();
  if (eol + 1 < pending.length) {
    echo(pending.subarray(eol + 1));
  }
});
socket.on('end', () => {
  result.serverEnded = true;
  finish();
});
socket.on('close', finish);
socket.on('error', (err) => {
  result.problems.push(`error: ${err.message}`);
  finish();
});
