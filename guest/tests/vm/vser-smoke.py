#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""vser-smoke.py - boots the virtio-serial smoke kernel (vm_main.c) under QEMU/TCG and plays
the relay on its port's unix socket: HELLO_ACK, a request for its state change, break-in,
STATS_REQUEST, a burst of full packets each way. Prints one PASS/FAIL line per check and
ends with "N passed, N failed".

usage: vser-smoke.py KERNEL.elf [timeout-seconds] [accel]

Two boots: the relay is connected before the guest starts (QEMU then announces the host side
right behind the port's name), and the relay connects 1.5 s after the guest is up (the
guest's polls notice it and say HELLO).

The port sits behind a virtconsole (id 0) and another virtserialport, with nr=3, so the
kernel has to find it by name and use queues 8/9.
"""
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time

MAGIC = 0x444B4D56
HELLO, HELLO_ACK, KD_PACKET, BREAKIN, RESYNC, DEBUGGER, STATS, STATS_REQUEST = range(1, 9)
BURST = 24
KD_MAX = 4000
LAUNCHER = os.environ.get('VMKD_QEMU_TARGET', os.path.join(
    os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'scripts', 'qemu-target.sh'))

passed = failed = 0


def check(ok, what):
    global passed, failed
    print(("PASS: " if ok else "FAIL: ") + what)
    if ok:
        passed += 1
    else:
        failed += 1
    return ok


class Relay:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b''
        self.seq = 0

    def send(self, ftype, payload=b''):
        self.sock.sendall(struct.pack('<IBBHII', MAGIC, 1, ftype, 0, len(payload), self.seq) +
                          payload)
        self.seq += 1

    def frame_bytes(self, ftype, payload=b''):
        f = struct.pack('<IBBHII', MAGIC, 1, ftype, 0, len(payload), self.seq) + payload
        self.seq += 1
        return f

    @staticmethod
    def kd(kd_type, data):
        return struct.pack('<HHI', kd_type, 0, len(data)) + data

    def recv_frame(self, deadline):
        while True:
            if len(self.buf) >= 16:
                magic, ver, ftype, _flags, length, _seq = struct.unpack_from('<IBBHII', self.buf)
                if magic != MAGIC or ver != 1:
                    raise RuntimeError('bad frame header from the guest: %r' % self.buf[:16])
                if len(self.buf) >= 16 + length:
                    payload = self.buf[16:16 + length]
                    self.buf = self.buf[16 + length:]
                    return ftype, payload
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError('no frame from the guest')
            self.sock.settimeout(left)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError('guest side closed')
            self.buf += chunk

    def expect(self, want, deadline):
        while True:
            ftype, payload = self.recv_frame(deadline)
            if ftype == want:
                return payload
            print('note: skipping frame type %d (%d bytes)' % (ftype, len(payload)))


def pattern(seed, n):
    return bytes((seed + 7 * i) & 0xFF for i in range(n))


def run(kernel, limit, accel, connect_delay):
    print('== accel %s, relay connects after %.1f s' % (accel, connect_delay))
    tmp = tempfile.mkdtemp(prefix='vmkd-vser-smoke.')
    sock_path = os.path.join(tmp, 'vmkd.sock')
    log = os.path.join(tmp, 'console.log')
    # QEMU starts the way every test starts it: scripts/qemu-target.sh bounds it with a
    # timeout and stops it by pid (on TERM too); the console is COM1 (--kd-port com2).
    cmd = [LAUNCHER, '--accel', accel, '--kernel', kernel, '--memory', '64M',
           '--timeout', str(int(limit) + 10), '--kd-port', 'com2', '--kd-serial', 'null',
           '--console', 'file:' + log, '--pidfile', os.path.join(tmp, 'qemu.pid'), '--',
           '-device', 'virtio-serial-pci,id=vser0',
           '-chardev', 'null,id=con0', '-device', 'virtconsole,bus=vser0.0,chardev=con0',
           '-chardev', 'null,id=other0',
           '-device', 'virtserialport,bus=vser0.0,chardev=other0,name=org.other,nr=2',
           # wait=on: QEMU starts the guest only once the relay is there (deterministic
           # "already connected" boot); wait=off for the late-relay boot.
           '-chardev', 'socket,id=vmkd0,path=%s,server=on,wait=%s' % (
               sock_path, 'off' if connect_delay else 'on'),
           '-device', 'virtserialport,bus=vser0.0,chardev=vmkd0,name=org.vmkd.0,nr=3']
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + limit
    sock = None
    try:
        if connect_delay:
            # Wait for the guest to finish its set-up without a relay.
            while 'vm: init' not in (open(log, errors='replace').read()
                                     if os.path.exists(log) else ''):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError('guest did not come up')
                time.sleep(0.05)
            time.sleep(connect_delay)
        while sock is None:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError('QEMU did not open the socket')
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(sock_path)
                sock = s
            except OSError:
                s.close()
                time.sleep(0.01)
        r = Relay(sock)

        hello = r.expect(HELLO, deadline)
        caps, max_payload, _dbg, _res = struct.unpack_from('<IIII', hello)
        agent = hello[16:48].rstrip(b'\0').decode()
        check(len(hello) == 48 and caps == 3 and max_payload == 8 + KD_MAX,
              'HELLO: caps=%d max_payload=%d agent=%r' % (caps, max_payload, agent))
        r.send(HELLO_ACK, struct.pack('<IIII', 1, 8 + KD_MAX, 1, 0) + b'vser-smoke'.ljust(32, b'\0'))

        kd = r.expect(KD_PACKET, deadline)
        kd_type, _, kd_len = struct.unpack_from('<HHI', kd)
        body = kd[8:]
        check(kd_type == 7 and kd_len == 0xF0 + 100 and
              body == pattern(0x10, 0xF0) + pattern(0x20, 100),
              'state change: type %d, %d bytes, contents as sent' % (kd_type, kd_len))
        r.send(KD_PACKET, r.kd(2, pattern(0x30, 0x38 + 1000)))
        r.send(BREAKIN)

        burst = b''.join(r.frame_bytes(KD_PACKET, r.kd(2, bytes([k]) * KD_MAX))
                         for k in range(BURST))
        sock.sendall(burst)  # ~96 KB at once: the guest's 8 RX buffers run dry

        got = 0
        for k in range(BURST):
            kd = r.expect(KD_PACKET, deadline)
            kd_type, _, kd_len = struct.unpack_from('<HHI', kd)
            if kd_type == 3 and kd_len == KD_MAX and kd[8:] == bytes((k + i) & 0xFF for i in range(KD_MAX)):
                got += 1
        check(got == BURST, 'burst from the guest: %d/%d full packets intact' % (got, BURST))

        r.send(STATS_REQUEST)
        r.send(BREAKIN)
        st = r.expect(STATS, deadline)
        fields = struct.unpack_from('<7Q', st)
        names = ('sent', 'received', 'notifications', 'io', 'io_polling', 'rejected', 'polls')
        print('stats: ' + ' '.join('%s=%d' % kv for kv in zip(names, fields)))
        check(len(st) == 128 and fields[0] == 1 + BURST and fields[1] == 1 + BURST,
              'STATS: %d packets sent, %d received' % (fields[0], fields[1]))
        # One notify per packet sent, plus HELLO/STATS frames, the control messages and
        # the RX kicks: far fewer exits than bytes.
        check(fields[2] < 2 * (1 + BURST) + 40, 'notifications %d' % fields[2])

        rc = proc.wait(timeout=max(1, deadline - time.monotonic()))
    except Exception as e:  # report, then clean up
        check(False, 'relay script: %s: %s' % (type(e).__name__, e))
        rc = None
    finally:
        if sock:
            sock.close()
        if proc.poll() is None:
            proc.terminate()  # qemu-target.sh stops its QEMU by pid, then exits
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        out = proc.stdout.read().decode(errors='replace') if proc.stdout else ''
    console = open(log, errors='replace').read() if os.path.exists(log) else ''
    for line in console.splitlines():
        print('    | ' + line)
    for line in out.splitlines():
        print('    qemu: ' + line)
    check(rc == 0 and 'vm: ok' in console,
          'guest finished its script (target exit code %s through isa-debug-exit)' % rc)
    check('vm: fail' not in console, 'no guest-side check failed')
    check(' port=3 iobase=' in console, 'port found by name with id 3 behind other ports')
    want_link = 'link=0' if connect_delay else 'link=3'
    check(want_link in console, 'relay state at the end of init: %s' % want_link)
    for name in os.listdir(tmp):
        os.unlink(os.path.join(tmp, name))
    os.rmdir(tmp)


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    limit = float(sys.argv[2]) if len(sys.argv) > 2 else 60.0
    accel = sys.argv[3] if len(sys.argv) > 3 else 'tcg'
    run(sys.argv[1], limit, accel, 0.0)
    run(sys.argv[1], limit, accel, 1.5)
    print('%d passed, %d failed' % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == '__main__':
    sys.exit(main())
