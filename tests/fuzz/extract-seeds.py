#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the seed corpora of the fuzz harnesses from recorded sessions.

  tests/fuzz/extract-seeds.py CAPTURE.txt... [--dll FILE...]

CAPTURE.txt: the "[seconds] TX|RX hex..." captures of shared/captures (or a --trace run's
raw dump in the same format). Each direction's bytes are joined and split into KD data
packets; one payload per distinct (packet type, api/state/io number, direction) becomes a
seed of fuzz_api (tests/fuzz/seeds/fuzz_api/), prefixed by the selector byte the harness
reads (low 6 bits: api - 0x3130, top 2 bits: packet type for the trace formatter).
--dll FILE: copied into tests/fuzz/seeds/fuzz_pe_loader/.
"""
import hashlib
import os
import shutil
import struct
import sys

SEEDS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds")
TYPE_SEL = {2: 0, 7: 1, 3: 2, 11: 3}  # manipulate, state change 64, debug io, file io


def packets(data):
    i = 0
    while True:
        i = data.find(b"0000", i)
        if i < 0 or i + 16 > len(data):
            return
        _, ptype, count, _, _ = struct.unpack_from("<IHHII", data, i)
        end = i + 16 + count
        if count <= 4000 and end < len(data) and data[end] == 0xAA:
            yield ptype, data[i + 16:end]
            i = end + 1
        else:
            i += 1


def write(sub, blob):
    d = os.path.join(SEEDS, sub)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(blob).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(blob)


def from_capture(path, seen):
    streams = {"TX": bytearray(), "RX": bytearray()}
    for line in open(path):
        parts = line.split("]", 1)[-1].split()
        if line.startswith("[") and parts and parts[0] in streams:
            streams[parts[0]] += bytes(int(h, 16) for h in parts[1:])
    for direction, data in streams.items():
        for ptype, payload in packets(bytes(data)):
            if ptype not in TYPE_SEL or len(payload) < 4:
                continue
            num = struct.unpack_from("<I", payload)[0]
            key = (direction, ptype, num)
            if key in seen:
                continue
            seen.add(key)
            sel = ((num - 0x3130) & 0x3F) | (TYPE_SEL[ptype] << 6)
            write("fuzz_api", bytes([sel]) + payload)


def main(argv):
    seen = set()
    args = iter(argv)
    for a in args:
        if a == "--dll":
            dll = next(args)
            d = os.path.join(SEEDS, "fuzz_pe_loader")
            os.makedirs(d, exist_ok=True)
            shutil.copy(dll, os.path.join(d, os.path.basename(dll)))
        else:
            from_capture(a, seen)
    print("%d KD payload seeds" % len(seen))


if __name__ == "__main__":
    main(sys.argv[1:])
