'use strict';
// WebSocket client for Herald's end-to-end tests (the `ws` package).
// Usage: node ws-client.js --url ws://HOST:PORT/PATH [--timeout-ms N]
// Connects, asks the echo server for the upgrade request's headers, sends a text
// message and a 256 KiB binary message, expects them back byte for byte, then closes
// with 1000 "bye" and waits for the server's close. Prints one JSON object on stdout:
//   { opened, upgradeHeaders, serverSaw, textEcho, binaryEchoOk, closeCode, closeReason, problems }
// Exit code 0 when there is no problem, 1 otherwise.
const crypto = require('crypto');
const WebSocket = require('ws');

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const url = arg('--url');
if (!url) {
  console.error('usage: node ws-client.js --url ws://HOST:PORT/PATH');
  process.exit(2);
}
const timeoutMs = Number(arg('--timeout-ms', '10000'));

const result = {
  opened: false, upgradeHeaders: {}, serverSaw: null, textEcho: null, binaryEchoOk: false,
  closeCode: null, closeReason: null, problems: [],
};
const binary = crypto.randomBytes(256 * 1024);
const text = 'hello through herald ✓';

function finish() {
  if (!result.opened) {
    result.problems.push('connection never opened');
  }
  if (result.textEcho !== text) {
    result.problems.push(`text echo ${JSON.stringify(result.textEcho)}`);
  }
  if (!result.binaryEchoOk) {
    result.problems.push('binary echo missing or different');
  }
  if (result.closeCode !== 1000 || result.closeReason !== 'bye') {
    result.problems.push(`close ${result.closeCode} ${JSON.stringify(result.closeReason)}`);
  }
  console.log(JSON.stringify(result));
  process.exit(result.problems.length === 0 ? 0 : 1);
}

const timer = setTimeout(() => {
  result.problems.push(`timed out after ${timeoutMs} ms`);
  finish();
}, timeoutMs);

const socket = new WebSocket(url, { perMessageDeflate: false, headers: { 'x-ws-client': 'ws' } });
let step = 0;
socket.on('upgrade', (response) => {
  result.upgradeHeaders = response.headers;
});
socket.on('open', () => {
  result.opened = true;
  socket.send('headers');
});
socket.on('message', (data, isBinary) => {
  if (step === 0) {
    result.serverSaw = JSON.parse(data.toString());
    step = 1;
    socket.send(text);
  } else if (step === 1) {
    result.textEcho = isBinary ? null : data.toString();
    step = 2;
    socket.send(binary, { binary: true });
  } else if (step === 2) {
    result.binaryEchoOk = isBinary && Buffer.compare(Buffer.from(data), binary) === 0;
    step = 3;
    socket.close(1000, 'bye');
  }
});
socket.on('close', (code, reason) => {
  result.closeCode = code;
  result.closeReason = reason.toString();
  clearTimeout(timer);
  finish();
});
socket.on('error', (err) => {
  result.problems.push(`error: ${err.message}`);
});
