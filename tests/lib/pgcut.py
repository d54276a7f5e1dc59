#!/usr/bin/env python3
"""A PostgreSQL wire-protocol proxy that cuts a connection at a COMMIT, for
tests of a client that must tell what became of a transaction whose COMMIT
it sent but whose answer it never got.

  pgcut.py --target HOST:PORT --match TEXT [--match TEXT ...] [--cuts N]
           [--before]

Listens on a free port of 127.0.0.1 and prints it on stdout.  A transaction
is marked once the client sends bytes holding one of the --match texts (a
prepared statement's name, an INSERT's text).  At a marked transaction's
COMMIT, N times in all (--cuts, default 1):
  - by default, after the server committed: its CommandComplete "COMMIT" is
    not passed on, and both sides of the connection are closed (the server
    committed; the client never hears so);
  - with --before, the client's COMMIT is not passed on: the client's side
    is closed and the server's is held open (a partition: the server keeps
    the session and its transaction open until someone ends it).
Each cut is said on stderr.  Clients must not ask for SSL or GSS encryption
(sslmode=disable, gssencmode=disable): the proxy reads the server's
messages. Python's standard library only."""
import argparse
import socket
import struct
import sys
import threading

lock = threading.Lock()
cuts_left = 0
held = []  # server sockets kept open by --before cuts


def take_cut():
    global cuts_left
    with lock:
        if cuts_left <= 0:
            return False
        cuts_left -= 1
        return True


class Conn:
    def __init__(self, client, server, matches, before):
        self.client, self.server = client, server
        self.matches, self.before = matches, before
        self.marked = False
        self.closed = False
        self.tail = b""

    def close(self, hold_server=False):
        with lock:
            if self.closed:
                return
            self.closed = True
        for s in ([self.client] if hold_server else [self.client, self.server]):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        if hold_server:
            held.append(self.server)

    def client_to_server(self):
        keep = max(len(m) for m in self.matches) + 8
        try:
            while True:
                data = self.client.recv(65536)
                if not data:
                    break
                seen = self.tail + data
                if any(m in seen for m in self.matches):
                    self.marked = True
                # A simple query "COMMIT" (libpq's PQexec): 'Q', length, text.
                if self.before and self.marked and b"Q\x00\x00\x00\x0bCOMMIT\x00" in seen and take_cut():
                    print("pgcut: dropped a COMMIT before the server", file=sys.stderr, flush=True)
                    self.close(hold_server=True)
                    return
                self.tail = seen[-keep:]
                self.server.sendall(data)
        except OSError:
            pass
        self.close()

    def server_to_client(self):
        buf = b""
        try:
            while True:
                data = self.server.recv(65536)
                if not data:
                    break
                buf += data
                out = b""
                # Every message from the server: type byte, int32 length
                # (itself included), body.
                while len(buf) >= 5:
                    length = struct.unpack("!I", buf[1:5])[0]
                    if len(buf) < 1 + length:
                        break
                    msg, buf = buf[:1 + length], buf[1 + length:]
                    if msg[0:1] == b"C":
                        tag = msg[5:].rstrip(b"\x00")
                        if tag == b"COMMIT" and self.marked and not self.before and take_cut():
                            self.client.sendall(out)
                            print("pgcut: dropped a COMMIT's answer", file=sys.stderr, flush=True)
                            self.close()
                            return
                        if tag in (b"COMMIT", b"ROLLBACK"):
                            self.marked = False
                    out += msg
                if out:
                    self.client.sendall(out)
        except OSError:
            pass
        self.close()


def main():
    global cuts_left
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", required=True)
    ap.add_argument("--match", action="append", required=True)
    ap.add_argument("--cuts", type=int, default=1)
    ap.add_argument("--before", action="store_true")
    a = ap.parse_args()
    cuts_left = a.cuts
    host, port = a.target.rsplit(":", 1)
    lsn = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsn.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsn.bind(("127.0.0.1", 0))
    lsn.listen(64)
    print(lsn.getsockname()[1], flush=True)
    matches = [m.encode() for m in a.match]
    while True:
        client, _ = lsn.accept()
        try:
            server = socket.create_connection((host, int(port)))
        except OSError:
            client.close()
            continue
        c = Conn(client, server, matches, a.before)
        threading.Thread(target=c.client_to_server, daemon=True).start()
        threading.Thread(target=c.server_to_client, daemon=True).start()


if __name__ == "__main__":
    main()
