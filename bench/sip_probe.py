#!/usr/bin/python3
"""Low-rate SIP MESSAGE latency probe with microsecond resolution.

sipp's own response-time clock is coarse on this kind of VM (its values
come in steps of a few ms), so run.sh runs this next to the sipp load: it
sends RATE MESSAGEs/s for DURATION s over UDP from 127.0.0.1:LPORT to
TARGET, each a new transaction, and times request -> final response. The
body starts with "probe" and carries "ts=- - <unix time>" so an XMPP sink can
tell probe messages from the load and still time them.

  sip_probe.py --target 127.0.0.1:5060 --lport 40000 --ruri sip:bob@example.test \
      --rate 20 --duration 20

--method SUBSCRIBE sends fetches instead (SUBSCRIBE Event: presence,
Expires: 0, RFC 6665 §4.4.3), times SUBSCRIBE -> final response, and
answers every NOTIFY that follows with 200 so the SUT sees a well-behaved
watcher.

Prints one JSON line: sent, answered (2xx), other (non-2xx finals), lost,
codes, rtt_ms {p50, p90, p99, max} over 2xx answers. Bounded: RATE <= 200,
DURATION <= 600, loopback targets only.
"""
import argparse
import json
import random
import socket
import time


def pct(v, p):
    if not v:
        return None
    k = min(len(v) - 1, max(0, int(round(p / 100.0 * len(v) + 0.5)) - 1))
    return round(v[k], 3)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--target', required=True)
    ap.add_argument('--lport', type=int, required=True)
    ap.add_argument('--ruri', required=True)
    ap.add_argument('--from-uri', default='sip:probe@sip.test')
    ap.add_argument('--rate', type=float, default=20)
    ap.add_argument('--duration', type=float, default=20)
    ap.add_argument('--wait', type=float, default=3.0, help='grace for the last answers')
    ap.add_argument('--method', choices=('MESSAGE', 'SUBSCRIBE'), default='MESSAGE')
    a = ap.parse_args()
    a.rate = max(0.1, min(a.rate, 200.0))
    a.duration = min(a.duration, 600.0)
    host, port = a.target.rsplit(':', 1)
    if not host.startswith('127.'):
        raise SystemExit('loopback targets only')
    dst = (host, int(port))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('127.0.0.1', a.lport))
    s.settimeout(0.0005)
    tag = '%08x' % random.getrandbits(32)
    pending, rtts, codes = {}, [], {}
    other = n = 0
    t0 = time.time()
    interval = 1.0 / a.rate
    next_send, end_send = t0, t0 + a.duration
    hard_end = end_send + a.wait
    while True:
        now = time.time()
        if now >= hard_end or (now >= end_send and not pending):
            break
        if next_send <= now < end_send:
            n += 1
            cid = 'probe-%s-%d' % (tag, n)
            if a.method == 'SUBSCRIBE':
                req = ('SUBSCRIBE %s SIP/2.0\r\n'
                       'Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-%s-%d;rport\r\n'
                       'From: <%s>;tag=%s\r\nTo: <%s>\r\nCall-ID: %s\r\nCSeq: 1 SUBSCRIBE\r\n'
                       'Contact: <sip:probe@127.0.0.1:%d>\r\nEvent: presence\r\n'
                       'Accept: application/pidf+xml\r\nExpires: 0\r\n'
                       'Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n') % (
                    a.ruri, a.lport, tag, n, a.from_uri, tag, a.ruri, cid, a.lport)
            else:
                body = 'probe %d\r\nts=- - %.6f\r\n' % (n, now)
                req = ('MESSAGE %s SIP/2.0\r\n'
                       'Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-%s-%d;rport\r\n'
                       'From: <%s>;tag=%s\r\nTo: <%s>\r\nCall-ID: %s\r\nCSeq: 1 MESSAGE\r\n'
                       'Max-Forwards: 70\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s') % (
                    a.ruri, a.lport, tag, n, a.from_uri, tag, a.ruri, cid, len(body.encode()), body)
            pending[cid] = time.time()
            s.sendto(req.encode(), dst)
            next_send += interval
        try:
            data, _src = s.recvfrom(65535)
        except (socket.timeout, BlockingIOError):
            continue
        rx = time.time()
        txt = data.decode('utf-8', 'replace')
        first, _, rest = txt.partition('\r\n')
        if first.startswith('NOTIFY '):
            # a well-behaved watcher: 200 to every NOTIFY (RFC 6665 §4.1.3)
            keep = [l for l in rest.split('\r\n\r\n', 1)[0].split('\r\n')
                    if l.split(':', 1)[0].strip().lower() in ('via', 'v', 'from', 'f', 'to', 't',
                                                                'call-id', 'i', 'cseq')]
            s.sendto(('SIP/2.0 200 OK\r\n' + '\r\n'.join(keep) +
                      '\r\nContent-Length: 0\r\n\r\n').encode(), _src)
            continue
        if not first.startswith('SIP/2.0 '):
            continue
        code = int(first.split()[1])
        if code < 200:
            continue
        cid = ''
        for line in rest.split('\r\n'):
            if not line:
                break
            k, _, v = line.partition(':')
            if k.strip().lower() in ('call-id', 'i'):
                cid = v.strip()
                break
        if cid in pending:
            t = pending.pop(cid)
            codes[code] = codes.get(code, 0) + 1
            if code < 300:
                rtts.append((rx - t) * 1000.0)
            else:
                other += 1
    rtts.sort()
    print(json.dumps({'sent': n, 'answered': len(rtts), 'other': other, 'lost': len(pending),
                      'codes': codes,
                      'rtt_ms': {'p50': pct(rtts, 50), 'p90': pct(rtts, 90), 'p99': pct(rtts, 99),
                                 'max': round(rtts[-1], 3) if rtts else None}}))


if __name__ == '__main__':
    main()
