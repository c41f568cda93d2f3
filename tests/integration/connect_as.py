# SPDX-License-Identifier: LGPL-2.1-or-later
"""Connect to a broker socket and hand the connection over.

Run as another user (setpriv/runuser): connects to BROKER_SOCKET, so the
broker records this process's credentials (SO_PEERCRED, groups), then
passes the connected descriptor to the test over HANDOFF_SOCKET with
SCM_RIGHTS and exits.  The test drives the connection from then on.

With --round-trip, it first asks the broker one thing (juno.getModuleInfo
of juno) and waits for the answer: the broker has then accepted the
connection and read the peer's cgroup (/proc/PID/cgroup, for its systemd
unit) while this process was still alive to be read.

usage: connect_as.py BROKER_SOCKET HANDOFF_SOCKET [--round-trip]
"""

import socket
import sys


def main():
    broker_path, handoff_path = sys.argv[1], sys.argv[2]
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(broker_path)
    if sys.argv[3:] == ["--round-trip"]:
        conn.sendall(b'{"requestId":"connect-as","type":3,"function":"juno.getModuleInfo",'
                     b'"arguments":{"moduleId":"juno"}}\n')
        answer = b""
        while not answer.endswith(b"\n"):
            chunk = conn.recv(1)
            if not chunk:
                raise SystemExit("the broker closed the connection")
            answer += chunk
    handoff = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    handoff.connect(handoff_path)
    socket.send_fds(handoff, [b"x"], [conn.fileno()])
    handoff.close()
    conn.close()


if __name__ == "__main__":
    main()
