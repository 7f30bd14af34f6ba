#!/usr/bin/python3
"""A small UDP impairment proxy for one client: everything the client sends goes upstream;
what comes back is dropped with probability LOSS between START and STOP seconds after the
proxy starts (seeded, so runs repeat). Writes its port to PORT_FILE, stops by itself after
MAX seconds and prints its counters. With a 7th argument "both", what the client sends is
dropped the same way too. (The full impairment proxy, wzp-netsim, is its own issue.)

usage: lossy_proxy.py PORT_FILE UPSTREAM_PORT LOSS START STOP MAX [both]"""

import os
import random
import select
import socket
import sys
import time

port_file, upstream_port = sys.argv[1], int(sys.argv[2])
loss, start, stop, max_s = (float(x) for x in sys.argv[3:7])
both = len(sys.argv) > 7 and sys.argv[7] == "both"
rng = random.Random(1)
up = ("127.0.0.1", upstream_port)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
with open(port_file + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))

os.rename(port_file + ".tmp", port_file)
client = None
t0 = time.monotonic()
fwd = back = dropped = 0
while time.monotonic() - t0 < max_s:
    r, _, _ = select.select([s], [], [], 0.2)
    if not r:
        continue
    data, addr = s.recvfrom(65536)
    if addr == up:
        t = time.monotonic() - t0
        if client is None:
            continue
        if start <= t < stop and rng.random() < loss:
            dropped += 1
            continue
        s.sendto(data, client)
        back += 1
    else:
        client = addr
        t = time.monotonic() - t0
        if both and start <= t < stop and rng.random() < loss:
            dropped += 1
            continue
        s.sendto(data, up)
        fwd += 1
print(f"lossy_proxy: {fwd} up, {back} back, {dropped} dropped", flush=True)
