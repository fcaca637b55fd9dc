# Regenerates tests/vectors/sip/malformed/*.sip and *.expect (run from that directory).
# Each vector is one datagram with CRLF line endings; .expect holds the status
# parse() errors map to, or "drop" when salvage() finds nothing to answer.
import os
def req(method="MESSAGE", uri="sip:bob@example.com", version="SIP/2.0", body=b"", cl="auto", extra=None, drop=(), replace=None):
    h = [
        ("Via", "SIP/2.0/UDP client.example.org:5060;branch=z9hG4bK74bf9"),
        ("Max-Forwards", "70"),
        ("From", "Alice <sip:alice@example.org>;tag=49583"),
        ("To", "Bob <sip:bob@example.com>"),
        ("Call-ID", "a84b4c76e66710@client.example.org"),
        ("CSeq", f"1 {method}"),
        ("Content-Type", "text/plain"),
    ]
    if replace:
        h = [(n, replace.get(n, v)) for n, v in h]
    h = [(n, v) for n, v in h if n not in drop]
    if extra: h += extra
    lines = [f"{method} {uri} {version}".encode()]
    for n, v in h:
        if v is None:
            lines.append(n.encode()); continue
        lines.append(n.encode() + b": " + (v if isinstance(v, bytes) else v.encode()))
    if cl == "auto": lines.append(b"Content-Length: %d" % len(body))
    elif cl is not None: lines.append(b"Content-Length: " + cl.encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + body

B = b"Hello Bob"
v = {}
v["bad-cseq-method"] = (req(body=B, replace={"CSeq": "1 INVITE"}), "400")
v["lowercase-method-cseq-mismatch"] = (req(method="message", body=B, replace={"CSeq": "1 MESSAGE"}), "400")
v["missing-call-id"] = (req(body=B, drop=("Call-ID",)), "400")
v["missing-from"] = (req(body=B, drop=("From",)), "400")
v["missing-via"] = (req(body=B, drop=("Via",)), "drop")
v["missing-cseq"] = (req(body=B, drop=("CSeq",)), "drop")
v["missing-to"] = (req(body=B, drop=("To",)), "400")
v["content-length-too-large"] = (req(body=B, cl="90"), "400")
v["content-length-not-a-number"] = (req(body=B, cl="nine"), "400")
v["content-length-negative"] = (req(body=B, cl="-9"), "400")
v["content-length-overflow"] = (req(body=B, cl="184467440737095516161"), "400")
v["content-length-conflicting"] = (req(body=B, extra=[("l", "4")]), "400")
v["body-too-large"] = (req(body=B, cl="70000"), "413")
v["bad-request-line-extra-spaces"] = (req(uri=" sip:bob@example.com ", body=B), "400")
v["request-uri-in-angle-brackets"] = (req(uri="<sip:bob@example.com>", body=B), "400")
v["request-uri-too-long"] = (req(uri="sip:" + "b" * 1030 + "@example.com", body=B), "414")
v["unsupported-uri-scheme"] = (req(method="OPTIONS", uri="http://www.example.com/bob"), "416")
v["unsupported-sip-version"] = (req(version="SIP/7.0", body=B), "505")
v["bad-version-token"] = (req(version="SIP/2.0x", body=B), "400")
v["bad-cseq-number-overflow"] = (req(body=B, replace={"CSeq": "36893488147419103232 MESSAGE"}), "400")
v["bad-cseq-missing-method"] = (req(body=B, replace={"CSeq": "8"}), "400")
v["bad-max-forwards"] = (req(body=B, replace={"Max-Forwards": "seventy"}), "400")
v["max-forwards-overflow"] = (req(body=B, replace={"Max-Forwards": "300000000000"}), "400")
v["unterminated-quoted-display-name"] = (req(body=B, replace={"From": "\"Alice <sip:alice@example.org>;tag=49583"}), "400")
v["to-uri-missing-closing-angle"] = (req(body=B, replace={"To": "Bob <sip:bob@example.com"}), "400")
v["bad-via-ipv6-host"] = (req(body=B, replace={"Via": "SIP/2.0/UDP [2001:db8::zz]:5060;branch=z9hG4bK74bf9"}), "400")
v["bad-via-protocol-version"] = (req(body=B, replace={"Via": "SIP/3.0/UDP client.example.org;branch=z9hG4bK74bf9"}), "400")
v["via-missing-sent-by"] = (req(body=B, replace={"Via": "SIP/2.0/UDP ;branch=z9hG4bK74bf9"}), "400")
v["unbracketed-ipv6-request-uri"] = (req(uri="sip:bob@2001:db8::9", body=B), "400")
v["request-uri-port-out-of-range"] = (req(uri="sip:bob@example.com:99999", body=B), "400")
v["bad-escape-in-user"] = (req(uri="sip:bob%zz@example.com", body=B), "400")
v["header-line-without-colon"] = (req(body=B, extra=[("Subject hello there", None)]), "400")
v["nul-in-header-value"] = (req(body=B, extra=[("Subject", b"hello\x00there")]), "400")
v["invalid-utf8-in-header"] = (req(body=B, extra=[("Subject", b"caf\xc3\x28 menu")]), "400")
v["duplicate-call-id"] = (req(body=B, extra=[("Call-ID", "second@client.example.org")]), "400")
v["duplicate-to"] = (req(body=B, extra=[("t", "<sip:carol@example.com>")]), "400")
v["too-many-headers"] = (req(body=B, extra=[("X-F%d" % i, "x") for i in range(70)]), "400")
v["method-not-a-token"] = (req(method="MES(SAGE", body=B, replace={"CSeq": "1 MESSAGE"}), "400")
v["response-bad-status-code"] = (b"SIP/2.0 99 Odd\r\nVia: SIP/2.0/UDP client.example.org;branch=z9hG4bK1\r\nFrom: <sip:a@example.org>;tag=1\r\nTo: <sip:b@example.com>\r\nCall-ID: x1\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n", "drop")
v["garbage"] = (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not sip at all\r\n\r\n", "drop")
v["header-block-not-terminated"] = (req(body=b"", cl=None)[:-2], "400")
for k, (data, e) in v.items():
    assert len(data) < 1500, (k, len(data))
    open(k + ".sip", "wb").write(data)
    open(k + ".expect", "w").write(e + "\n")
print(len(v))
