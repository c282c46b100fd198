#!/usr/bin/env python3
"""Small measurements for bench/harness/run.sh that a shell loop would blur.

  probe.py start-to-ready ADMIN_PORT CPU -- COMMAND...
      Execs COMMAND pinned to CPU, polls GET /ready on 127.0.0.1:ADMIN_PORT every 2 ms over
      a raw socket, prints the milliseconds from exec to the first 200 and the CPU time
      (user + system, ms) the process had used by then, then stops the
      process (SIGTERM, SIGKILL after 5 s) and waits for it. Exit 1 if it never got ready
      within 20 s or exited first.

  probe.py idle-connections PORT COUNT PID
      Opens COUNT keep-alive HTTP/1.1 connections to 127.0.0.1:PORT, one request answered
      on each (so every connection is fully set up on the proxy), keeps them all open, and
      prints "rss_before_kb rss_after_kb count" for PID, the after figure read once the
      proxy settled (1 s). Connections are closed on exit.
"""

import os
import signal
import socket
import subprocess
import sys
import time

REQUEST = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def cpu_ms(pid):
    """utime + stime of a process, from /proc (fields after the command name's ')')."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def ready(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"GET /ready HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n")
            head = s.recv(64)
            return head.startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def start_to_ready(port, cpu, command):
    start = time.monotonic_ns()
    proc = subprocess.Popen(["taskset", "-c", cpu] + command,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = None
    try:
        while time.monotonic_ns() - start < 20_000_000_000:
            if ready(port):
                elapsed = (time.monotonic_ns() - start) / 1e6
                cpu = cpu_ms(proc.pid)
                break
            if proc.poll() is not None:
                break
            time.sleep(0.002)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            _, err = proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
    if elapsed is None:
        tail = err.decode(errors="replace").strip().splitlines()[-3:]
        print(f"never ready (exit {proc.returncode}): {' '.join(tail)}", file=sys.stderr)
        return 1
    print(f"{elapsed:.1f} {cpu:.0f}")
    return 0


def read_response(s):
    """Reads one response with a Content-Length body; enough for the bench upstream."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            raise RuntimeError("connection closed before a response head")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = s.recv(4096)
        if not chunk:
            raise RuntimeError("connection closed inside a body")
        body += chunk
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"unexpected response: {head.splitlines()[0]!r}")


def idle_connections(port, count, pid):
    # Settle first: the proxy's own warm-up (thread pool, first buffers) is not per connection.
    warm = []
    for _ in range(16):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(REQUEST)
        read_response(s)
        warm.append(s)
    time.sleep(1)
    before = rss_kb(pid)
    held = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port))
        s.settimeout(10)
        s.sendall(REQUEST)
        read_response(s)
        held.append(s)
    time.sleep(1)
    after = rss_kb(pid)
    print(f"{before} {after} {len(held)}")
    for s in held + warm:
        s.close()
    return 0


def main(argv):
    if len(argv) >= 5 and argv[1] == "start-to-ready" and argv[4] == "--":
        return start_to_ready(int(argv[2]), argv[3], argv[5:])
    if len(argv) == 5 and argv[1] == "idle-connections":
        return idle_connections(int(argv[2]), int(argv[3]), int(argv[4]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
