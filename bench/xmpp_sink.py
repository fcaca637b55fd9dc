#!/usr/bin/python3
"""XMPP delivery sink for the load bench (slixmpp, Debian's python3).

Logs in to Prosody's c2s port as one user, counts every <message> with a
body that arrives, and measures end-to-end latency from the sender's
timestamp in the body (sipp's `ts=[timestamp]` line: "ts=DATE TIME UNIX").

  xmpp_sink.py --jid sinkgw@xmpp.test --password pw --port 5222 \
      --progress /tmp/x/count --timeout 120

Messages whose body starts with "probe " (bench/sip_probe.py) are counted
apart (probe_messages) and left out of the count and the latency.
Prints {"event":"session_start"} once logged in, then, when it stops, one
{"event":"summary", "messages":N, "errors":N, "latency_ms":{p50,p90,p99,max},
...} line. It stops on SIGTERM/SIGINT, after --expect N messages, or at
--timeout (hard cap 900 s). While running it rewrites --progress with the
message count every 200 ms so the harness can wait for delivery to drain.
Connects to 127.0.0.1 only.
"""
import argparse
import asyncio
import json
import os
import re
import signal
import sys
import time

try:
    import slixmpp
except ImportError:  # pragma: no cover
    sys.stderr.write('slixmpp missing: apt-get install python3-slixmpp; run with /usr/bin/python3\n')
    sys.exit(4)

TS_RE = re.compile(r'ts=\S+\s+\S+\s+(\d{9,}\.\d+)')


def pct(v, p):
    if not v:
        return None
    k = min(len(v) - 1, max(0, int(round(p / 100.0 * len(v) + 0.5)) - 1))
    return round(v[k], 3)


class Sink(slixmpp.ClientXMPP):
    def __init__(self, a):
        super().__init__(a.jid, a.password)
        self.a = a
        self.n = 0
        self.errors = 0
        self.probes = 0
        self.lat = []
        self.first = None
        self.last = None
        self.ready = asyncio.Event()
        self.stop = asyncio.Event()
        self.failed = None
        self['feature_mechanisms'].unencrypted_plain = True
        self.add_event_handler('session_start', self.on_start)
        self.add_event_handler('failed_auth', lambda _e: self._fail('auth failed'))
        self.add_event_handler('connection_failed', lambda e: self._fail('connection failed: %s' % (e,)))
        self.add_event_handler('message', self.on_message)
        self.add_event_handler('message_error', self.on_error)

    def _fail(self, why):
        self.failed = why
        self.ready.set()
        self.stop.set()

    async def on_start(self, _e):
        self.send_presence()
        print(json.dumps({'event': 'session_start', 'jid': str(self.boundjid), 't': time.time()}), flush=True)
        self.ready.set()

    def on_error(self, _msg):
        self.errors += 1

    def on_message(self, msg):
        if msg['type'] == 'error':
            return  # counted by on_error
        body = msg['body']
        if not body:
            return
        now = time.time()
        if body.startswith('probe '):
            self.probes += 1  # bench/sip_probe.py's messages: not load
            return
        self.n += 1
        m = TS_RE.search(body)
        if m:
            self.lat.append((now - float(m.group(1))) * 1000.0)
        if self.first is None:
            self.first = now
        self.last = now
        if self.a.expect and self.n >= self.a.expect:
            self.stop.set()


async def progress(sink, path):
    while not sink.stop.is_set():
        tmp = path + '.tmp'
        with open(tmp, 'w') as f:
            f.write('%d\n' % sink.n)
        os.replace(tmp, path)
        await asyncio.sleep(0.2)


async def run(a):
    sink = Sink(a)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, sink.stop.set)
    t0 = time.time()
    sink.connect(address=('127.0.0.1', a.port), disable_starttls=True)
    try:
        await asyncio.wait_for(sink.ready.wait(), timeout=15)
    except asyncio.TimeoutError:
        sink.failed = 'login timeout'
    reason = 'stopped'
    if sink.failed:
        reason = sink.failed
    else:
        task = asyncio.ensure_future(progress(sink, a.progress)) if a.progress else None
        try:
            await asyncio.wait_for(sink.stop.wait(), timeout=max(0.0, a.timeout - (time.time() - t0)))
            if a.expect and sink.n >= a.expect:
                reason = 'expected count'
        except asyncio.TimeoutError:
            reason = 'timeout'
        sink.stop.set()
        if task:
            await task
        if a.progress:
            with open(a.progress, 'w') as f:
                f.write('%d\n' % sink.n)
    lat = sorted(sink.lat)
    summ = {'event': 'summary', 'messages': sink.n, 'errors': sink.errors,
            'probe_messages': sink.probes, 'reason': reason,
            'ok': sink.failed is None, 'elapsed_s': round(time.time() - t0, 3)}
    if sink.first and sink.last and sink.last > sink.first:
        summ['rx_rate_per_s'] = round((sink.n - 1) / (sink.last - sink.first), 1)
    if lat:
        summ['latency_ms'] = {'n': len(lat), 'p50': pct(lat, 50), 'p90': pct(lat, 90),
                              'p99': pct(lat, 99), 'max': round(lat[-1], 3)}
    print(json.dumps(summ), flush=True)
    sink.disconnect(wait=0.5)
    try:
        await asyncio.wait_for(sink.disconnected, timeout=2)
    except Exception:
        pass
    return 0 if sink.failed is None else 3


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--jid', required=True)
    ap.add_argument('--password', required=True)
    ap.add_argument('--port', type=int, default=5222)
    ap.add_argument('--expect', type=int, default=0)
    ap.add_argument('--timeout', type=float, default=120.0)
    ap.add_argument('--progress', default=None)
    a = ap.parse_args()
    a.timeout = min(a.timeout, 900.0)
    sys.exit(asyncio.run(run(a)))


if __name__ == '__main__':
    main()
