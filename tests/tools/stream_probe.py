#!/usr/bin/python3
"""Send a known stream through a UDP path and measure what arrives: loss, one-way delay,
jitter (RFC 3550), reordering, duplicates. Sender and receiver are this one process (one
clock). usage: stream_probe.py RECV_PORT_FILE TARGET_PORT_FILE COUNT INTERVAL_MS
Binds the receiver, writes its port to RECV_PORT_FILE, waits (<= 10 s) for TARGET_PORT_FILE,
sends COUNT datagrams of 160 bytes every INTERVAL_MS to 127.0.0.1:<that port>, waits 2 s for
stragglers and prints one JSON object."""
import json
import os
import select
import socket
import struct
import sys
import time

recv_file, target_file, count, interval = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
rx.bind(("127.0.0.1", 0))
with open(recv_file + ".tmp", "w") as f:
    f.write(str(rx.getsockname()[1]))
os.rename(recv_file + ".tmp", recv_file)
t_end = time.monotonic() + 10
while not os.path.exists(target_file):
    if time.monotonic() > t_end:
        sys.exit("no target port")
    time.sleep(0.05)
target = ("127.0.0.1", int(open(target_file).read()))
tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
arrivals = {}
dups = reordered = 0
last_seq = -1
t0 = time.monotonic()
sent = 0


def drain(timeout):
    global dups, reordered, last_seq
    r, _, _ = select.select([rx], [], [], timeout)
    while r:
        data, _ = rx.recvfrom(2048)
        now = time.monotonic()
        seq, sent_at = struct.unpack("!Id", data[:12])
        if seq in arrivals:
            dups += 1
        else:
            arrivals[seq] = (now - sent_at) * 1000.0
            if seq < last_seq:
                reordered += 1
            last_seq = max(last_seq, seq)
        r, _, _ = select.select([rx], [], [], 0)


while sent < count:
    due = t0 + sent * interval / 1000.0
    now = time.monotonic()
    if now >= due:
        tx.sendto(struct.pack("!Id", sent, time.monotonic()) + bytes(148), target)
        sent += 1
    else:
        drain(due - now)
t_stop = time.monotonic() + 2
while time.monotonic() < t_stop:
    drain(0.1)
delays = [arrivals[s] for s in sorted(arrivals)]
jitter = 0.0
for a, b in zip(delays, delays[1:]):
    jitter += (abs(b - a) - jitter) / 16.0
out = {
    "sent": count, "received": len(arrivals), "loss": 1 - len(arrivals) / count,
    "delay_mean_ms": sum(delays) / len(delays) if delays else None,
    "delay_min_ms": min(delays) if delays else None, "delay_max_ms": max(delays) if delays else None,
    "jitter_ms": jitter, "reordered": reordered, "duplicates": dups,
}
print(json.dumps(out))
