#!/usr/bin/env python3
"""A scripted hostile SMB server for the e2e tests.

Usage: bad_server.py MODE PORTFILE
Listens on a free loopback port (written to PORTFILE), answers the
client's first frame according to MODE, serves at most 5 connections,
and exits after 30 s in any case.

Modes:
  garbage     a frame that is not SMB at all
  truncated   a NEGOTIATE reply cut short
  badoffset   a NEGOTIATE reply whose security buffer points past its end
  hugeframe   a Direct-TCP header announcing a 16 MiB frame
  close       closes the connection without answering
  nbss        a bad Direct-TCP header (non-zero first byte)
"""
import socket
import struct
import sys
import threading


def smb2_header(command, status=0, credits=1):
    return (b"\xfeSMB" + struct.pack("<HHIHHIIQIIQ", 64, 0, status, command,
                                      credits, 1, 0, 0, 0xFEFF, 0, 0)
            + b"\0" * 16)


def negotiate_body(sec_off, sec_len):
    body = struct.pack("<HHHH", 65, 1, 0x0302, 0)
    body += b"\x11" * 16                     # ServerGuid
    body += struct.pack("<IIII", 0x7, 1 << 20, 1 << 20, 1 << 20)
    body += b"\0" * 16                       # times
    body += struct.pack("<HHI", sec_off, sec_len, 0)
    return body


def answer(mode):
    if mode == "garbage":
        payload = b"HTTP/1.1 400 Bad Request\r\n\r\n"
        return struct.pack(">I", len(payload)) + payload
    if mode == "truncated":
        msg = smb2_header(0) + negotiate_body(0x80, 0)[:40]
        return struct.pack(">I", len(msg)) + msg
    if mode == "badoffset":
        msg = smb2_header(0) + negotiate_body(0x80, 0x400) + b"\0" * 8
        return struct.pack(">I", len(msg)) + msg
    if mode == "hugeframe":
        return struct.pack(">I", 0x00FFFFFF) + b"\xfeSMB"
    if mode == "nbss":
        return b"\x85\x00\x00\x00"
    return b""


def serve(conn, mode):
    try:
        conn.settimeout(10)
        hdr = conn.recv(4)
        if len(hdr) == 4:
            want = struct.unpack(">I", hdr)[0] & 0xFFFFFF
            got = 0
            while got < want:
                chunk = conn.recv(want - got)
                if not chunk:
                    break
                got += len(chunk)
        if mode == "silent":
            # accept, read the NEGOTIATE, never answer: the client must give
            # up by itself within its connect timeout
            conn.settimeout(60)
            conn.recv(1)
        elif mode != "close":
            conn.sendall(answer(mode))
            conn.recv(1)  # wait for the client to give up
    except OSError:
        pass
    finally:
        conn.close()


def main():
    mode, portfile = sys.argv[1], sys.argv[2]
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(5)
    srv.settimeout(30)
    with open(portfile, "w") as f:
        f.write(str(srv.getsockname()[1]))
    for _ in range(5):
        try:
            conn, _ = srv.accept()
        except OSError:
            break
        threading.Thread(target=serve, args=(conn, mode), daemon=True).start()
    srv.close()


if __name__ == "__main__":
    main()
