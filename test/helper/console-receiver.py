# A console socket as `runc --console-socket` expects one: accept one connection, take the pty master sent
# with SCM_RIGHTS, and copy what the process writes on its terminal to stdout until the terminal closes.
import os
import socket
import sys

path = sys.argv[1]
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(path)
server.listen(1)
print("listening", flush=True)
conn, _ = server.accept()
name, fds, _, _ = socket.recv_fds(conn, 256, 1)
print("name " + name.decode(), flush=True)
master = fds[0]
while True:
    try:
        data = os.read(master, 4096)
    except OSError:  # EIO: every copy of the pty's other end is closed
        break
    if not data:
        break
    sys.stdout.write(data.decode(errors="replace"))
    sys.stdout.flush()
