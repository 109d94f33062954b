#!/usr/bin/env python3
"""Write the seed corpora of the fuzz harnesses (tests/fuzz/corpus/<h>/).

The seeds come from the unit tests' vectors (tests/unit/vectors*.h and the
byte strings in tests/unit/test_*.c: real Samba and Windows traffic, the
MS-SMB2/MS-NLMP/MS-KKDCP examples) wrapped in each harness's input format
(see the comment at the top of each fuzz_<h>.c), plus scripted exchanges
for fuzz_core_stream built from the same replies.

Usage: tests/fuzz/gen_corpus.py [OUTDIR]   (default tests/fuzz/corpus)
Files this script writes are named seed-*; they are replaced on every run.
Other files in the corpus directories (inputs merged from fuzz runs, see
README.md) are left alone. The output is deterministic.
"""
import hashlib
import os
import re
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
UNIT = os.path.join(HERE, "..", "unit")


# ---- the unit tests' byte strings --------------------------------------


def c_strings(path):
    """NAME -> bytes for every hex string constant and #define of a file.

    Understands what the unit tests use: `static const char *const NAME =`
    or `static const char NAME[] =` followed by adjacent string literals
    and macro names, with comments anywhere."""
    text = open(path, encoding="utf-8").read()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    text = text.replace("\\\n", " ")
    macros, out = {}, {}

    def value(expr):
        parts = []
        for tok in re.findall(r'"(?:[^"\\]|\\.)*"|[A-Za-z_]\w*', expr):
            if tok.startswith('"'):
                parts.append(tok[1:-1])
            elif tok in macros:
                parts.append(macros[tok])
            else:
                return None
        return "".join(parts)

    for m in re.finditer(r"#define\s+(\w+)\s+((?:\"[^\n]*)|(?:\w+\s*\"[^\n]*))",
                         text):
        v = value(m.group(2))
        if v is not None:
            macros[m.group(1)] = v
    for m in re.finditer(r"static const char\s*(?:\*\s*(?:const\s*)?)?(\w+)"
                         r"\s*(?:\[\])?\s*=\s*([^;]*);", text):
        v = value(m.group(2))
        if v is None:
            continue
        hexstr = re.sub(r"\s", "", v)
        if hexstr and re.fullmatch(r"(?:[0-9A-Fa-f]{2})+", hexstr):
            out[m.group(1)] = bytes.fromhex(hexstr)
    return out


def all_vectors():
    vec = {}
    for name in sorted(os.listdir(UNIT)):
        if name.endswith((".h", ".c")):
            for k, v in c_strings(os.path.join(UNIT, name)).items():
                vec[k] = v
    return vec


# ---- SMB2 helpers --------------------------------------------------------


def le16(v):
    return struct.pack("<H", v)


def le32(v):
    return struct.pack("<I", v)


def is_smb2(m):
    return len(m) >= 64 and m[:4] == b"\xfeSMB"


def is_reply(m):
    return is_smb2(m) and struct.unpack_from("<I", m, 16)[0] & 1


def command(m):
    return struct.unpack_from("<H", m, 12)[0]


def body(m):
    return m[64:]


def hdr(cmd, status=0, mid=0, credits=1, flags=1, tid=0, sid=0):
    return (b"\xfeSMB" + struct.pack("<HHIHHIIQIIQ", 64, 1, status, cmd,
                                      credits, flags, 0, mid, 0xFEFF, tid,
                                      sid) + b"\0" * 16)


def sec_buffer(m):
    """The security buffer of a NEGOTIATE or SESSION_SETUP reply."""
    cmd = command(m)
    if cmd == 0 and len(m) >= 64 + 64:
        off, ln = struct.unpack_from("<HH", m, 64 + 56)
    elif cmd == 1 and len(m) >= 64 + 8:
        off, ln = struct.unpack_from("<HH", m, 64 + 4)
    else:
        return b""
    return m[off:off + ln]


def find(buf, what):
    i = buf.find(what)
    return buf[i:] if i >= 0 else b""


# Replies built from the spec layout, for what the captures lack.
def read_rsp_body(data):
    return (le16(17) + bytes([0x50, 0]) + le32(len(data)) + le32(0) +
            le32(0) + data)


def out_buf_body(data):  # QUERY_INFO / QUERY_DIRECTORY (2.2.34, 2.2.38)
    return le16(9) + le16(0x48 if data else 0) + le32(len(data)) + data


def ctx(name, data, last=False):
    """One create context (2.2.14.2), 8-aligned."""
    name_off, data_off = 16, 24
    raw = le32(0) + le16(name_off) + le16(len(name)) + le16(0) + \
        le16(data_off if data else 0) + le32(len(data)) + name + b"\0" * 4 + data
    raw += b"\0" * (-len(raw) % 8)
    if not last:
        raw = le32(len(raw)) + raw[4:]
    return raw


def create_rsp_body(ctxs=b"", oplock=0xFF, attrs=0x80):
    fixed = (le16(89) + bytes([oplock, 0]) + le32(1) + b"\x11" * 32 +
             struct.pack("<QQ", 4096, 1234) + le32(attrs) + le32(0) +
             bytes(range(0x20, 0x30)))
    off = 64 + 88 + 0 if ctxs else 0
    return fixed + le32(off) + le32(len(ctxs)) + ctxs


def lease_v2(state=7, epoch=1):
    return b"\xa0" * 16 + le32(state) + le32(0) + b"\0" * 8 + \
        b"\xb0" * 16 + le16(epoch) + le16(0)


def lease_v1(state=7):
    return b"\xa0" * 16 + le32(state) + le32(0) + b"\0" * 8


def dir_entry(name, cls=0x25, last=True):
    nm = name.encode("utf-16-le")
    fixed = 104 if cls == 0x25 else 64
    e = bytearray(fixed + len(nm))
    struct.pack_into("<I", e, 60, len(nm))
    struct.pack_into("<I", e, 56, 0x10)
    if cls == 0x25:
        e[68] = 2
        e[70:72] = "A".encode("utf-16-le")
        struct.pack_into("<Q", e, 96, 77)
    e[fixed:] = nm
    e += b"\0" * (-len(e) % 8)
    if not last:
        struct.pack_into("<I", e, 0, len(e))
    return bytes(e)


# ---- per harness -----------------------------------------------------------


def seeds_smb2_rsp(vec):
    sel = {0: 1, 1: 2, 3: 3, 5: 4, 6: 5, 8: 6, 9: 7, 11: 8, 14: 9, 16: 10,
           18: 11}
    out = {}
    for name, m in vec.items():
        if not is_reply(m):
            continue
        out["by_command-" + name] = b"\x00" + m
        out["decoder-" + name] = bytes([sel.get(command(m), 12)]) + m
    # what the captures lack: create contexts of every kind, reads, lists
    for name, ctxs in [
        ("lease_v2", ctx(b"RqLs", lease_v2(), True)),
        ("lease_v1", ctx(b"RqLs", lease_v1(), True)),
        ("dh2q", ctx(b"MxAc", le32(0) + le32(0x1F01FF)) +
         ctx(b"DH2Q", le32(60000) + le32(2), True)),
        ("dhnq", ctx(b"DHnQ", b"\0" * 8) + ctx(b"RqLs", lease_v2(), True)),
        ("qfid", ctx(b"QFid", b"\x2a" * 32, True)),
    ]:
        m = hdr(5, mid=4) + create_rsp_body(ctxs)
        out["create-" + name] = b"\x04" + m
        out["raw_ctx-" + name] = b"\x0e" + ctxs
    out["raw_lease-v2"] = b"\x0d" + lease_v2()
    out["raw_lease-v1"] = b"\x0d" + lease_v1()
    out["read-data"] = b"\x06" + hdr(8) + read_rsp_body(b"hello, world")
    out["read-empty"] = b"\x06" + hdr(8) + read_rsp_body(b"")
    listing = dir_entry(".", last=False) + dir_entry("file.txt")
    out["qdir-0x25"] = b"\x09" + hdr(14) + out_buf_body(listing)
    out["qdir-empty"] = b"\x09" + hdr(14) + out_buf_body(b"")
    out["raw_dir-0x01"] = b"\x0f" + dir_entry("a", 1, False) + \
        dir_entry("bb", 1)
    out["raw_dir-0x25"] = b"\x0f" + listing
    # FSCTL_VALIDATE_NEGOTIATE_INFO output (2.2.32.6)
    vn = le32(0x2F) + b"\x33" * 16 + le16(1) + le16(0x0302)
    ioctl = (le16(49) + le16(0) + le32(0x00140204) + b"\xff" * 16 +
             le32(0x70) + le32(0) + le32(0x70) + le32(len(vn)) + le32(0) +
             le32(0) + vn)
    out["ioctl-validate"] = b"\x08" + hdr(11) + ioctl
    out["raw_info-validate"] = b"\x10" + vn
    return out


def seeds_spnego(vec):
    out = {}
    for name, m in vec.items():
        if is_reply(m) and command(m) in (0, 1):
            tok = sec_buffer(m)
            if tok:
                out[name] = tok
    out["resp-completed"] = bytes.fromhex("a1073005a0030a0100")
    out["resp-empty"] = b""
    return out


def ntlm_challenge_of(tok):
    return find(tok, b"NTLMSSP\0\x02\0\0\0")


def seeds_ntlmssp(vec):
    out = {}
    for name, m in vec.items():
        if is_reply(m) and command(m) == 1:
            tok = sec_buffer(m)
            chal = ntlm_challenge_of(tok)
            if chal:
                out["raw-" + name] = b"\x00" + chal
                out["anon-" + name] = b"\x01" + chal
                out["verify-" + name] = (b"\x02" + le16(len(chal)) + chal +
                                         b"\x01" + b"\0" * 15 + b"message")
                final = bytes.fromhex("a11b3019a0030a0100a3120410"
                                      "01000000") + b"\x5a" * 12
                out["spnego-" + name] = (b"\x03" + le16(len(tok)) + tok +
                                         final)
                out["spnego_nomic-" + name] = (b"\x07" + le16(len(tok)) + tok +
                                               bytes.fromhex("a1073005a003"
                                                             "0a0100"))
    return out


def seeds_dcerpc(vec):
    out = {}
    ack = vec.get("vec_rpc_bind_ack", b"")
    rsp = vec.get("vec_rpc_share_enum_rsp", b"")
    f1 = vec.get("vec_rpc_share_enum_frag1", b"")
    f2 = vec.get("vec_rpc_share_enum_frag2", b"")
    out["stream-one"] = b"\x00" + ack + rsp
    out["stream-two-frags"] = bytes([0x00 | (36 << 2)]) + ack + f1 + f2
    for name in ("vec_rpc_bind_ack", "vec_rpc_share_enum_rsp",
                 "vec_rpc_share_enum_frag1"):
        if name in vec:
            out["pdu-" + name] = b"\x01" + vec[name]
    out["pdu-fault"] = b"\x01" + bytes.fromhex(
        "05000303100000001c00000002000000000000000000000005000000")
    # the RESPONSE of the issue: first and last fragment, no stub data
    out["pdu-empty-response"] = b"\x01" + bytes.fromhex(
        "050002031000000018000000020000000000000000000000")
    out["stub-share_enum"] = b"\x02" + rsp[24:]
    out["ndr-ops"] = b"\x03\x1b" + rsp[24:]
    return out


def seeds_kdcproxy(vec):
    out = {}
    for name in ("vec_small", "vec_reply"):
        if name in vec:
            out[name] = vec[name]
    return out


def seeds_secure(vec):
    out = {}
    for name, m in vec.items():
        if m[:4] == b"\xfdSMB":
            out["decrypt-" + name] = b"\x01" + m
    # signed replies (Windows' and Samba's final SESSION_SETUP, a signed
    # tree connect), and plaintexts for the round trips
    for name in ("ss_rsp2", "gcm_ss_rsp", "ccm_ss_rsp", "samba_sess_rsp",
                 "samba_tcon_rsp"):
        if name in vec:
            out["verify-" + name] = b"\x00" + vec[name]
    for i, name in enumerate(("v30_write_rsp", "gcm_read_rsp",
                              "samba_tcon_rsp", "samba_qdir_rsp")):
        if name not in vec:
            continue
        m = vec[name]
        out["roundtrip-" + name] = bytes([0x02 | i << 2 | (i % 3) << 4,
                                          len(m) // 3 % 256]) + m
        out["derive-" + name] = (bytes([0x03 | i << 2 | (i % 4) << 5]) +
                                 b"\x11" * 16 + b"\x22" * 64 + m)
    return out


# ---- fuzz_http3 scripts -------------------------------------------------------

# record kinds of fuzz_http3.c and its stream tables
H3_DATA, H3_RESET, H3_CLOSED, H3_PULL, H3_ACK, H3_BLOCK, H3_TAKE, H3_POST = \
    range(8)
H3_RX = {3: 0, 7: 1, 11: 2, 0: 3, 4: 4, 8: 5, 15: 6, 19: 7}
H3_TX = {0: 0, 4: 1, 8: 2, 2: 3, 6: 4, 10: 5}


def h3_exchange():
    """The recorded exchange of tests/unit/test_http3.c (h3_exchange[]):
    (server to client, stream id, fin, bytes) per delivery."""
    text = open(os.path.join(UNIT, "test_http3.c"), encoding="utf-8").read()
    m = re.search(r"h3_exchange\[\] = \{(.*?)\n\};", text, flags=re.S)
    if not m:
        return []
    body_ = re.sub(r"/\*.*?\*/", " ", m.group(1), flags=re.S)
    out = []
    for e in re.finditer(r"\{\s*(true|false),\s*(\d+),\s*(true|false),"
                         r"((?:\s*\"[^\"]*\")+)\s*\}", body_):
        hexstr = re.sub(r"[\s\"]", "", e.group(4))
        out.append((e.group(1) == "true", int(e.group(2)),
                    e.group(3) == "true", bytes.fromhex(hexstr)))
    return out


def h3_data(sid, data, fin=False):
    a = H3_RX[sid] | (8 if fin else 0)
    if len(data) > 255:
        return bytes([H3_DATA | (a | 16) << 3]) + le16(len(data)) + data
    return bytes([H3_DATA | a << 3, len(data)]) + data


def h3_op(kind, a=0):
    return bytes([kind | a << 3])


def h3_send_all():
    """Every pull the client wants, each taken whole and acknowledged."""
    return (h3_op(H3_PULL, 7) + h3_op(H3_PULL, 7) +
            b"".join(h3_op(H3_ACK, i | 8) for i in (0, 1, 3, 4, 5)))


def h3_headers(fields):
    """A HEADERS frame of QPACK field lines without the dynamic table."""
    block = b"\0\0" + fields
    return b"\x01" + bytes([len(block)]) + block


def h3_body(data):
    return b"\x00" + bytes([len(data)]) + data


# QPACK field lines (RFC 9204 4.5.2, 4.5.4; static table Appendix A)
QP_200 = b"\xd9"                      # :status 200, index 25
QP_500 = b"\xff\x08"                  # :status 500, index 71
QP_103 = b"\xd8"                      # :status 103, index 24
QP_KTYPE = b"\x5f\x1d\x14application/kerberos"  # name of index 44


def qp_clen(n):
    v = str(n).encode()
    return b"\x54" + bytes([len(v)]) + v  # content-length, index 4


def seeds_http3(vec):
    ex = h3_exchange()
    if not ex:
        return {}
    ctrl = [d for s2c, sid, fin, d in ex if s2c and sid == 3][0]
    answer = [d for s2c, sid, fin, d in ex if s2c and sid == 0][0]
    uni = h3_data(3, ctrl) + h3_data(11, b"\x03") + h3_data(7, b"\x02")
    close0 = h3_op(H3_CLOSED, H3_RX[0])
    done = h3_send_all()  # the harness checks and takes the bodies at the end
    out = {}
    # the recorded exchange as it went
    s = h3_send_all()
    for s2c, sid, fin, d in ex:
        if s2c:
            s += h3_data(sid, d, fin)
            if fin:
                s += h3_op(H3_CLOSED, H3_RX[sid])
    out["recorded"] = b"\x00" + s + done
    # two requests (AS, TGS), the second answered first
    out["two-requests"] = (b"\x01" + h3_send_all() + uni +
                           h3_data(4, answer, True) + h3_data(0, answer, True) +
                           close0 + h3_op(H3_TAKE, 0) +
                           h3_op(H3_CLOSED, H3_RX[4]) + done)
    # the answer in 3-byte pieces, the client taking half of what it offers
    pieces = b"".join(h3_data(0, answer[i:i + 3], i + 3 >= len(answer))
                      for i in range(0, len(answer), 3))
    out["pieces"] = (b"\x00" + h3_op(H3_PULL, 7 | 16) * 4 +
                     h3_op(H3_ACK, 0) + h3_send_all() + uni + pieces +
                     close0 + done)
    # HTTP status 500 with a text body
    err = (h3_headers(QP_500 + qp_clen(4) + b"\x5f\x1d\x0atext/plain") +
           h3_body(b"oops"))
    out["status-500"] = (b"\x00" + h3_send_all() + uni +
                         h3_data(0, err, True) + close0 + done)
    # a 103 first, then the answer
    info = h3_headers(QP_103 + b"\x5f\x1d\x06text/x")
    out["informational"] = (b"\x00" + h3_send_all() + uni +
                            h3_data(0, info + answer, True) + close0 + done)
    # the answer without content-length, the body over a 16-byte cap
    big = h3_headers(QP_200 + QP_KTYPE) + h3_body(b"\x30" * 40)
    out["over-cap"] = (b"\x02" + h3_send_all() + uni +
                       h3_data(0, big, True) + close0 + done)
    # GOAWAY (frame 07) before the request was seen: stream 0 refused
    out["goaway-before"] = (b"\x00" + h3_send_all() +
                            h3_data(3, ctrl + b"\x07\x01\x00") +
                            h3_op(H3_POST, 1) + done)
    # GOAWAY naming stream 4: the request on stream 0 still answered
    out["goaway-after"] = (b"\x01" + h3_send_all() +
                           h3_data(3, ctrl + b"\x07\x01\x04") +
                           h3_data(0, answer, True) + close0 + done)
    # RESET_STREAM of the request (H3_REQUEST_REJECTED), then its close
    out["reset"] = (b"\x00" + h3_send_all() + uni +
                    h3_op(H3_RESET, H3_RX[0] | 1 << 3) +
                    h3_op(H3_CLOSED, H3_RX[0] | 16) + done)
    # the reset in the middle of the body
    out["reset-mid-body"] = (b"\x00" + h3_send_all() + uni +
                             h3_data(0, answer[:-5]) +
                             h3_op(H3_RESET, H3_RX[0] | 2 << 3) + close0 +
                             done)
    # a control stream without SETTINGS (test_http3.c's vector)
    bad = vec.get("ctrl_without_settings", b"\x00\x07\x01\x00")
    out["ctrl-without-settings"] = b"\x00" + h3_send_all() + h3_data(3, bad)
    # the server closes its control stream
    out["critical-closed"] = (b"\x00" + h3_send_all() + uni +
                              h3_op(H3_RESET, H3_RX[3]) +
                              h3_op(H3_CLOSED, H3_RX[3]))
    # a HEADERS frame running past the FIN
    out["truncated-frame"] = (b"\x00" + h3_send_all() + uni +
                              h3_data(0, b"\x01\x10\x00\x00", True) + close0 +
                              done)
    # a stream of a reserved type (0x21, RFC 9114 6.2.3) is ignored; a push
    # stream without MAX_PUSH_ID is not (RFC 9114 4.6)
    out["unknown-uni"] = (b"\x00" + h3_send_all() + uni +
                          h3_data(15, b"\x21grease") +
                          h3_data(0, answer, True) + close0 + done)
    out["push-stream"] = (b"\x00" + h3_send_all() + uni +
                          h3_data(19, b"\x01\x00") + done)
    # flow control: the request stream blocked, then unblocked
    out["blocked"] = (b"\x00" + h3_op(H3_BLOCK, 0) + h3_send_all() +
                      h3_op(H3_BLOCK, 8) + h3_send_all() + uni +
                      h3_data(0, answer, True) + close0 + done)
    # no request body, SETTINGS_MAX_FIELD_SECTION_SIZE 64, no peer name
    out["empty-request"] = (b"\x38" + h3_send_all() + uni +
                            h3_data(0, answer, True) + close0 + done)
    return out


# ---- fuzz_core_stream scripts ---------------------------------------------

# record kinds of fuzz_core_stream.c
RAW, FRAME, REPLY, CRYPT, TICK, SUBMIT, LOST, BREAK = range(8)
SIGN, ENCRYPT, INTERIM, MORE, RELATED = 1, 2, 4, 8, 16


def rec(kind, data=None, param=0):
    op = bytes([kind | param << 3])
    if data is None:
        return op
    return op + le16(len(data)) + data


def reply(b, status=0, credits=64, flags=0, which=0, param=0):
    return rec(REPLY, bytes([which]) + le32(status) + le16(credits) +
               bytes([flags]) + b, param)


def tree_connect_body(flags=0):
    return le16(16) + bytes([1, 0]) + le32(flags) + le32(0) + le32(0x1F01FF)


def close_body():
    return le16(60) + le16(1) + b"\0" * 56


def lease_break_body(ack=True, cur=7, new=3, epoch=2):
    return (le16(44) + le16(epoch) + le32(1 if ack else 0) + b"\0" * 16 +
            le32(cur) + le32(new) + b"\0" * 12)


def lease_ack_rsp_body(state=3):
    return le16(36) + le16(0) + le32(0) + b"\0" * 16 + le32(state) + \
        b"\0" * 8


def oplock_break_body(level=1):
    return le16(24) + bytes([level, 0]) + le32(0) + b"\0" * 16


def opened(flags=0, key_param=True):
    """Replies to the two CREATEs after a tree connect (file, directory),
    each with its lease context (its key written by the harness)."""
    f = create_rsp_body(ctx(b"RqLs", lease_v2(7), False) +
                        ctx(b"DH2Q", le32(60000) + le32(0), True))
    d = create_rsp_body(ctx(b"RqLs", lease_v2(3), True), attrs=0x10)
    return (reply(f, flags=flags, param=1 if key_param else 0) +
            reply(d, flags=flags, param=2 if key_param else 0))


def session_ops(vec, flags=0):
    """What a connected session does: reads, listings, info, a compound,
    the pipe, a lease break, a time out."""
    qdir = vec.get("samba_qdir_rsp")
    qi = vec.get("samba_qi_all_rsp")
    vol = vec.get("samba_qi_vol_rsp")
    ack = vec.get("vec_rpc_bind_ack", b"")
    rsp = vec.get("vec_rpc_share_enum_rsp", b"")
    s = b""
    s += rec(SUBMIT, param=0) + reply(read_rsp_body(b"data" * 8), flags=flags)
    s += rec(SUBMIT, param=0) + reply(read_rsp_body(b""), flags=flags)
    s += rec(SUBMIT, param=3)
    s += reply(body(qdir) if qdir else out_buf_body(b""), flags=flags)
    s += rec(SUBMIT, param=4) + reply(out_buf_body(dir_entry("x", 1)),
                                      flags=flags)
    s += rec(SUBMIT, param=3) + reply(out_buf_body(b""), flags=flags)
    s += rec(SUBMIT, param=5)
    s += reply(body(qi) if qi else out_buf_body(b""), flags=flags)
    s += rec(SUBMIT, param=19)
    s += reply(body(vol) if vol else out_buf_body(b""), flags=flags)
    # CREATE + QUERY_INFO + CLOSE, answered as one compound
    s += rec(SUBMIT, param=10)
    s += reply(create_rsp_body(), flags=flags | MORE)
    s += reply(body(qi) if qi else out_buf_body(b""), flags=flags | MORE |
               RELATED)
    s += reply(close_body(), flags=flags | RELATED)
    # an interim reply, then the final one
    s += rec(SUBMIT, param=0)
    s += reply(le16(9) + b"\0" * 7, status=0x103, flags=flags | INTERIM)
    s += reply(read_rsp_body(b"late"), flags=flags)
    # the srvsvc pipe
    s += rec(SUBMIT, param=12)
    s += reply(ioctl_body(0x0011C017, ack), flags=flags)
    s += rec(SUBMIT, param=13)
    s += reply(ioctl_body(0x0011C017, rsp), flags=flags)
    # a lease break with an acknowledgement
    s += rec(BREAK, lease_break_body(), param=1)
    s += reply(lease_ack_rsp_body(), flags=flags)
    s += rec(SUBMIT, param=2) + reply(le16(17) + b"\0" * 2 + le32(16) +
                                      b"\0" * 8, flags=flags)
    s += rec(SUBMIT, param=15) + reply(close_body(), flags=flags)
    s += rec(TICK, param=31) + rec(TICK, param=31)
    return s


def ioctl_body(code, out):
    return (le16(49) + le16(0) + le32(code) + b"\xff" * 16 + le32(0) +
            le32(0) + le32(0x70) + le32(len(out)) + le32(0) + le32(0) + out)


def validate_body(caps, guid, mode, dialect):
    """FSCTL_VALIDATE_NEGOTIATE_INFO reply (2.2.32.6)."""
    return ioctl_body(0x00140204, le32(caps) + guid + le16(mode) +
                      le16(dialect))


def negotiate_302_body(hint, caps=0x47, guid=b"\x11" * 16, mode=1):
    """A 3.0.2 NEGOTIATE reply (2.2.4, no contexts) with the hint."""
    return (le16(65) + le16(mode) + le16(0x0302) + le16(0) + guid +
            le32(caps) + le32(1 << 20) * 3 + b"\0" * 16 + le16(0x80) +
            le16(len(hint)) + le32(0) + hint)


def handshake_302(vec):
    """3.0.2: a logon as the user (not guest, final reply unsigned, which
    3.0.2 allows), then everything signed with the derived key, and the
    negotiate validation on the tree."""
    hint = sec_buffer(vec["samba_neg_rsp"])
    more = vec.get("samba_sess_rsp_more") or vec["ss_rsp1"]
    tok = bytes.fromhex("a1073005a0030a0100")
    s = reply(negotiate_302_body(hint))
    s += reply(body(more), status=0xC0000016)
    s += reply(le16(9) + le16(0) + le16(0x48) + le16(len(tok)) + tok)
    s += reply(tree_connect_body(), flags=SIGN)
    s += reply(validate_body(0x47, b"\x11" * 16, 1, 0x0302), flags=SIGN)
    s += opened(SIGN)
    return s


def handshake(vec, neg_name, final_flags=1):
    """NEGOTIATE, NTLMSSP rounds (the server's challenge from a capture),
    a guest logon without a signature, the tree, the opens."""
    neg = vec[neg_name]
    more = vec.get("samba_sess_rsp_more") or vec["ss_rsp1"]
    tok = bytes.fromhex("a1073005a0030a0100")  # accept-completed, no MIC
    final = le16(9) + le16(final_flags) + le16(0x48) + le16(len(tok)) + tok
    s = reply(body(neg))
    s += reply(body(more), status=0xC0000016)
    s += reply(final)
    s += reply(tree_connect_body())
    s += opened()
    return s


def seeds_core_stream(vec):
    out = {}
    # the whole handshake against Samba's and Windows' NEGOTIATE replies
    for neg in ("samba_neg_rsp", "vec_negotiate_rsp"):
        if neg in vec:
            hs = handshake(vec, neg)
            out["handshake-" + neg] = b"\x00\x00" + hs
            out["handshake_ops-" + neg] = b"\x40\x00" + hs + \
                session_ops(vec)
    # a handshake that is lost and restored (reconnect on)
    if "samba_neg_rsp" in vec:
        hs = handshake(vec, "samba_neg_rsp")
        out["reconnect"] = (b"\x40\x00" + hs + rec(LOST) + rec(TICK) + hs +
                            rec(SUBMIT, param=0) +
                            reply(read_rsp_body(b"again")))
        out["expired"] = (b"\x40\x00" + hs + rec(SUBMIT, param=0) +
                          reply(le16(9) + b"\0" * 7, status=0xC000035C) +
                          reply(body(vec.get("samba_sess_rsp_more") or
                                     vec["ss_rsp1"]), status=0xC0000016) +
                          reply(le16(9) + le16(1) + le16(0x48) + le16(9) +
                                bytes.fromhex("a1073005a0030a0100")) +
                          reply(read_rsp_body(b"renewed")))
    if "samba_neg_rsp" in vec:
        out["handshake-302"] = b"\x00\x00" + handshake_302(vec) + \
            session_ops(vec, SIGN)
    # established sessions: every dialect, signed, encrypted
    dialects = (0x0202, 0x0210, 0x0300, 0x0302, 0x0311)
    for d in range(5):
        for name, c0, c1, fl in (("plain", 0x01, 0x00, 0),
                                 ("signed", 0x11, 0x14, SIGN),
                                 ("encrypted", 0x21, 0x11, ENCRYPT)):
            if name == "encrypted" and d < 2:
                continue
            cfg = bytes([c0 | d << 1, c1])
            s = reply(tree_connect_body(), flags=fl)
            if dialects[d] in (0x0300, 0x0302):  # see fuzz_core_stream.c
                s += reply(validate_body(0x66, b"\x33" * 16, 1, dialects[d]),
                           flags=fl)
            s += opened(fl) + session_ops(vec, fl)
            out["established-%s-%d" % (name, d)] = cfg + s
    # framing: a raw frame cut in small reads, a bad transform, an oplock
    tc = hdr(3, mid=0, credits=8, tid=5, sid=0x0000100000000041) + \
        tree_connect_body()
    out["raw-chunks"] = b"\x09\x00" + rec(RAW, struct.pack(">I", len(tc)) +
                                          tc, param=3)
    out["frame"] = b"\x09\x00" + rec(FRAME, tc)
    out["crypt"] = b"\x29\x01" + rec(CRYPT, tc)
    out["oplock"] = (b"\x01\x20" + reply(tree_connect_body()) +
                     reply(create_rsp_body(oplock=9)) +
                     reply(create_rsp_body(oplock=0, attrs=0x10)) +
                     rec(BREAK, oplock_break_body(), param=1) +
                     reply(oplock_break_body()))
    return out


def seeds_api(vec):
    """Plans of fuzz_api.c; the built-in replies do the rest. A record
    answers the next request: 01 = the built-in reply, 00 + status + body
    = this one."""
    def own(status, b, flags=0):
        return bytes([flags]) + le32(status) + le16(len(b)) + b
    builtin_ = b"\x01"
    out = {}
    for bit in range(8):
        out["plan-%02x" % (1 << bit)] = bytes([1 << bit])
    out["plan-all"] = b"\xff"
    out["plan-none"] = b"\x00"
    # the READ success without data of issue 12 (tree, create, read)
    out["read-empty"] = (b"\x04" + builtin_ * 2 +
                         own(0, read_rsp_body(b"")))
    # the QUERY_DIRECTORY success without entries (tree, create, query)
    out["qdir-empty"] = (b"\x08" + builtin_ * 2 + own(0, out_buf_body(b"")))
    # a listing answered as one compound frame, an interim reply first
    out["qdir-compound"] = b"\x08" + builtin_ + b"\x05" + builtin_ * 3
    out["read-interim"] = b"\x04" + builtin_ * 2 + b"\x03" * 4
    qi = vec.get("samba_qi_all_rsp")
    if qi:
        out["stat-samba"] = (b"\x01" + builtin_ * 2 + own(0, body(qi)))
    vol = vec.get("samba_qi_vol_rsp")
    if vol:
        out["statvfs-vol"] = (b"\x02" + builtin_ * 2 + own(0, body(vol)))
    qdir = vec.get("samba_qdir_rsp")
    if qdir:
        out["qdir-samba"] = (b"\x08" + builtin_ * 2 + own(0, body(qdir)))
    rsp = vec.get("vec_rpc_share_enum_rsp", b"")
    f1 = vec.get("vec_rpc_share_enum_frag1", b"")
    f2 = vec.get("vec_rpc_share_enum_frag2", b"")
    if f1 and f2:
        # the answer in two fragments: the IOCTL's output holds its
        # first 1024 bytes (lib/api/shares.c asks for no more), with
        # STATUS_BUFFER_OVERFLOW, a READ the rest (after the share's
        # tree, IPC$'s, the pipe's CREATE and the BIND)
        stream = f1 + f2
        out["shares-fragmented"] = (b"\x80" + builtin_ * 4 +
                                    own(0x80000005, ioctl_body(
                                        0x0011C017, stream[:1024])) +
                                    own(0, read_rsp_body(stream[1024:])))
    out["shares-fault"] = (b"\x80" + builtin_ * 4 + own(0, ioctl_body(
        0x0011C017, bytes.fromhex("05000303100000001c0000000200000000000000"
                                  "0000000005000000"))))
    del rsp
    return out


HARNESSES = {
    "smb2_rsp": seeds_smb2_rsp,
    "core_stream": seeds_core_stream,
    "api": seeds_api,
    "ntlmssp": seeds_ntlmssp,
    "spnego": seeds_spnego,
    "dcerpc_ndr": seeds_dcerpc,
    "kdcproxy": seeds_kdcproxy,
    "http3": seeds_http3,
    "secure": seeds_secure,
}


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE,
                                                                 "corpus")
    vec = all_vectors()
    for h, fn in HARNESSES.items():
        d = os.path.join(outdir, h)
        os.makedirs(d, exist_ok=True)
        for f in os.listdir(d):
            if f.startswith("seed-"):
                os.unlink(os.path.join(d, f))
        seeds = fn(vec)
        for name, data in sorted(seeds.items()):
            safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
            with open(os.path.join(d, "seed-" + safe), "wb") as f:
                f.write(data)
        print("%-12s %3d seeds" % (h, len(seeds)))


if __name__ == "__main__":
    main()
