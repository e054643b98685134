#!/usr/bin/env python3
"""A seccomp agent for the tests: takes one listener from a runtime and answers every notification.

  notify-agent.py SOCKET ERRNO

Listens on SOCKET (a unix stream socket), accepts one connection, receives the state JSON and the listener
descriptor (SCM_RIGHTS), prints the JSON as one line, then answers each notified syscall with -ERRNO and
prints "notified NR" for it, until the container's processes are gone (or 20 s pass)."""
import json, os, select, socket, struct, sys, fcntl

SECCOMP_IOCTL_NOTIF_RECV = 0xC0502100  # _IOWR('!', 0, struct seccomp_notif), 80 bytes
SECCOMP_IOCTL_NOTIF_SEND = 0xC0182101  # _IOWR('!', 1, struct seccomp_notif_resp), 24 bytes

path, answer = sys.argv[1], int(sys.argv[2])
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(path)
server.listen(1)
print("listening", flush=True)
conn, _ = server.accept()
message, fds, _, _ = socket.recv_fds(conn, 65536, 1)
data = message
conn.settimeout(1)
try:
    while True:
        more = conn.recv(65536)
        if not more:
            break
        data += more
except (socket.timeout, BlockingIOError):
    pass
print(json.dumps(json.loads(data)), flush=True)
listener = fds[0]
while True:
    ready, _, _ = select.select([listener], [], [], 20)
    if not ready:
        break
    buf = bytearray(80)
    try:
        fcntl.ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, buf)
    except OSError:
        break
    notif_id, pid, flags, nr = struct.unpack_from("<QIIi", buf, 0)
    print(f"notified {nr}", flush=True)
    response = bytearray(struct.pack("<QqiI", notif_id, 0, -answer, 0))
    try:
        fcntl.ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, response)
    except OSError:
        pass
