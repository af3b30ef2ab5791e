#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A hostile KDCOM target for the fault tests: listens on a unix socket and answers every
RESET with a RESET and a SYNC-flagged breakpoint state change (id 0x80800800), forever,
ACKs data packets and answers nothing. A debugger must converge (accept the state change)
or report and stop; it must never exchange RESETs without end.

  sync_reset_target.py SOCKET

Counts the RESETs it received and prints the count to stdout when the debugger leaves.
"""
import os
import socket
import struct
import sys

LEADER_DATA, LEADER_CTRL = 0x30303030, 0x69696969
T_STATE_CHANGE64, T_ACK, T_RESET = 7, 4, 6


def control(ptype, pid):
    return struct.pack("<IHHII", LEADER_CTRL, ptype, 0, pid, 0)


def data(ptype, pid, payload):
    return struct.pack("<IHHII", LEADER_DATA, ptype, len(payload), pid,
                       sum(payload) & 0xFFFFFFFF) + payload + b"\xaa"


def state_change():
    # DBGKD_WAIT_STATE_CHANGE64 (0xF0 bytes) + a 4-byte trace blob: a first-chance
    # breakpoint (0x80000003) at pc, one processor, AMD64 control report zeroed.
    pc = 0xFFFFF80000401000
    p = bytearray(0xF0)
    struct.pack_into("<IHHIIQQ", p, 0, 0x3030, 0, 0, 1, 0, 0, pc)
    struct.pack_into("<IIQQI", p, 0x20, 0x80000003, 0, 0, pc, 0)  # ExceptionRecord64
    struct.pack_into("<I", p, 0x20 + 0x98, 1)  # FirstChance
    return bytes(p) + struct.pack("<I", 1)


def main():
    path = sys.argv[1]
    if os.path.exists(path):
        os.unlink(path)
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(path)
    srv.listen(1)
    conn, _ = srv.accept()
    sc = state_change()
    buf = b""
    resets = 0
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            break
        buf += chunk
        while buf:
            if buf[0] == 0x62:  # break-in
                buf = buf[1:]
                continue
            if len(buf) < 16:
                break
            leader, ptype, count, pid, _ = struct.unpack_from("<IHHII", buf)
            if leader == LEADER_CTRL:
                buf = buf[16:]
                if ptype == T_RESET:
                    resets += 1
                    try:
                        conn.sendall(control(T_RESET, 0x80800000) +
                                     data(T_STATE_CHANGE64, 0x80800800, sc))
                    except OSError:
                        break
            elif leader == LEADER_DATA:
                if len(buf) < 16 + count + 1:
                    break
                buf = buf[16 + count + 1:]
                conn.sendall(control(T_ACK, pid))
            else:
                buf = buf[1:]
    print(resets)


if __name__ == "__main__":
    main()
