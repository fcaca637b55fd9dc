#!/usr/bin/python3
"""Summarise load steps of bench/run.sh and build the side-by-side table.

  analyze.py step STEP_DIR        -> STEP_DIR/step.json (+ one JSON line on stdout)
  analyze.py table RESULTS_DIR    -> markdown on stdout (summary + per-step detail)

A step directory holds what run.sh left there: meta.json (path, sut, offered
rate, step length, time stamps), sipp's -trace_stat CSV (uac_stat.csv) and
-trace_rtt CSV(s), procmon.csv, udp_snmp_{before,after}.txt, probe.json
(bench/sip_probe.py) and, on the
XMPP path, sink.jsonl from xmpp_sink.py.

Pass rule for one step (the "sustained" definition, see bench/README.md):
failed < 1 % of created, retransmissions < 1 % of created, achieved rate
>= 95 % of offered, and on the XMPP path lost < 1 % of SIP-acknowledged
messages. The sustained rate of a system is the highest offered rate whose
step passed with every lower step passing too.
"""
import csv
import glob
import gzip
import json
import os
import sys

CLK = os.sysconf('SC_CLK_TCK')


def pct(v, p):
    if not v:
        return None
    k = min(len(v) - 1, max(0, int(round(p / 100.0 * len(v) + 0.5)) - 1))
    return v[k]


def opener(path):
    return gzip.open(path, 'rt') if path.endswith('.gz') else open(path)


def first(step_dir, pattern):
    hits = sorted(glob.glob(os.path.join(step_dir, pattern)))
    return hits[0] if hits else None


def unix(field):
    # sipp time fields: "2024-01-01\t12:00:00.123456\t1704110400.123456"
    return float(field.split('\t')[-1])


def sipp_stats(step_dir):
    f = first(step_dir, 'uac_stat.csv') or first(step_dir, 'uac_stat.csv.gz') or \
        first(step_dir, '*_.csv')
    if not f:
        return None
    with opener(f) as fh:
        rows = [r for r in csv.reader(fh, delimiter=';') if r]
    if len(rows) < 2:
        return None
    hdr, last = rows[0], rows[-1]
    idx = {h: i for i, h in enumerate(hdr)}

    def g(r, k):
        return r[idx[k]]
    total = int(g(last, 'TotalCallCreated'))
    t0 = unix(g(last, 'StartTime'))
    # when did the UAC finish *creating* requests (interpolated between the
    # periodic rows)? Requests that wait for sipp's own timeout must not
    # stretch the sending window.
    send_end = unix(g(last, 'CurrentTime'))
    prev_t, prev_c = t0, 0
    for r in rows[1:]:
        t, c = unix(g(r, 'CurrentTime')), int(g(r, 'TotalCallCreated'))
        if c >= total:
            send_end = prev_t + (t - prev_t) * (total - prev_c) / float(c - prev_c) if c > prev_c else t
            break
        prev_t, prev_c = t, c
    return {
        'created': total,
        'ok': int(g(last, 'SuccessfulCall(C)')),
        'failed': int(g(last, 'FailedCall(C)')),
        'retrans': int(g(last, 'Retransmissions(C)')),
        'unexpected': int(g(last, 'FailedUnexpectedMessage(C)')),
        'max_udp_retrans': int(g(last, 'FailedMaxUDPRetrans(C)')),
        'start': t0, 'end': unix(g(last, 'CurrentTime')), 'send_end': send_end,
    }


def rtt_stats(step_dir):
    vals = []
    for f in glob.glob(os.path.join(step_dir, '*_rtt.csv')) + glob.glob(os.path.join(step_dir, '*_rtt.csv.gz')):
        with opener(f) as fh:
            next(fh, None)
            for line in fh:
                parts = line.strip().split(';')
                if len(parts) >= 3 and parts[2] == '1':
                    try:
                        vals.append(float(parts[1]))
                    except ValueError:
                        pass
    vals.sort()
    if not vals:
        return {}
    return {'n': len(vals), 'p50': pct(vals, 50), 'p90': pct(vals, 90), 'p99': pct(vals, 99),
            'max': vals[-1]}


def mon_stats(step_dir):
    f = first(step_dir, 'procmon.csv') or first(step_dir, 'procmon.csv.gz')
    if not f:
        return {}
    by = {}
    with opener(f) as fh:
        for r in csv.DictReader(fh):
            by.setdefault(r['group'], []).append(r)
    out = {}
    for name, rows in by.items():
        alive = [r for r in rows if int(r['nprocs']) > 0]
        if len(alive) < 2:
            continue
        a, b = alive[0], alive[-1]
        dt = float(b['t']) - float(a['t'])
        cpu_s = (int(b['ticks']) - int(a['ticks'])) / float(CLK)
        out[name] = {
            'cpu_s': round(cpu_s, 2),
            'window_s': round(dt, 2),
            'cpu_pct': round(100.0 * cpu_s / dt, 1) if dt > 0 else None,
            'rss_mb_max': round(max(int(r['rss_kb']) for r in alive) / 1024.0, 1),
            'pss_mb_max': round(max(int(r['pss_kb']) for r in alive) / 1024.0, 1),
            'nprocs': max(int(r['nprocs']) for r in alive),
        }
    return out


def snmp(path):
    lines = open(path).read().split('\n')
    return dict(zip(lines[0].split()[1:], [int(x) for x in lines[1].split()[1:]]))


def step(step_dir):
    meta = json.load(open(os.path.join(step_dir, 'meta.json')))
    rate = meta['rate']
    s = sipp_stats(step_dir)
    res = {'path': meta['path'], 'sut': meta['sut'], 'rate': rate, 'step_s': meta['step_s'],
           'label': meta.get('label', meta['sut'])}
    if s is None:
        res.update({'pass': False, 'error': 'no sipp statistics'})
    else:
        send_dur = max(1e-6, s['send_end'] - s['start'])
        res['sipp'] = s
        res['achieved_rate'] = round(s['created'] / send_dur, 1)
        # anything created that neither succeeded nor failed is counted failed
        res['fail_pct'] = round(100.0 * (s['created'] - s['ok']) / max(1, s['created']), 3)
        res['retrans_pct'] = round(100.0 * s['retrans'] / max(1, s['created']), 3)
    res['sipp_rt_ms'] = rtt_stats(step_dir)
    res['proc'] = mon_stats(step_dir)
    b, a = os.path.join(step_dir, 'udp_snmp_before.txt'), os.path.join(step_dir, 'udp_snmp_after.txt')
    if os.path.exists(b) and os.path.exists(a):
        sb, sa = snmp(b), snmp(a)
        res['udp_rcvbuf_errors'] = sa.get('RcvbufErrors', 0) - sb.get('RcvbufErrors', 0)
    sink_f = os.path.join(step_dir, 'sink.jsonl')
    if os.path.exists(sink_f):
        summ = None
        for line in open(sink_f):
            try:
                o = json.loads(line)
            except ValueError:
                continue
            if o.get('event') == 'summary':
                summ = o
        res['sink'] = summ
        if summ and s:
            lost = max(0, s['ok'] - summ.get('messages', 0))
            res['xmpp_lost'] = lost
            res['xmpp_lost_pct'] = round(100.0 * lost / max(1, s['ok']), 3)
            res['e2e_ms'] = summ.get('latency_ms', {})
    pf = os.path.join(step_dir, 'probe.json')
    if os.path.exists(pf):
        try:
            res['probe'] = json.loads(open(pf).read().strip().splitlines()[-1])
        except (ValueError, IndexError):
            res['probe'] = {'error': open(pf).read()[-300:]}
    # messages the SUT handled in the step: the load plus the probe's
    handled = (s['ok'] if s else 0) + res.get('probe', {}).get('answered', 0)
    sut = res['proc'].get('sut', {})
    if sut and handled > 0:
        res['cpu_s_per_1000'] = round(1000.0 * sut['cpu_s'] / handled, 4)
    ok = s is not None and res['fail_pct'] < 1.0 and res['retrans_pct'] < 1.0 \
        and res['achieved_rate'] >= 0.95 * rate
    if meta['path'] == 'xmpp':
        ok = ok and res.get('xmpp_lost_pct') is not None and res['xmpp_lost_pct'] < 1.0
    res['pass'] = bool(ok)
    with open(os.path.join(step_dir, 'step.json'), 'w') as fh:
        json.dump(res, fh, indent=1)
    print(json.dumps({'path': res['path'], 'sut': res['label'], 'rate': rate,
                      'achieved': res.get('achieved_rate'), 'fail_pct': res.get('fail_pct'),
                      'retrans_pct': res.get('retrans_pct'), 'lost_pct': res.get('xmpp_lost_pct'),
                      'rt_p99': res['sipp_rt_ms'].get('p99'), 'e2e_p99': res.get('e2e_ms', {}).get('p99'),
                      'cpu_s_per_1000': res.get('cpu_s_per_1000'), 'sut_cpu_pct': sut.get('cpu_pct'),
                      'rcvbuf_errors': res.get('udp_rcvbuf_errors'), 'pass': res['pass']}))


def fmt(v, nd=1):
    if v is None:
        return '-'
    if isinstance(v, float):
        return ('%.' + str(nd) + 'f') % v
    return str(v)


def load(results_dir):
    runs = {}
    for sj in glob.glob(os.path.join(results_dir, '*', '*', 'rate_*', 'step.json')):
        r = json.load(open(sj))
        runs.setdefault((r['path'], r['label']), []).append(r)
    for k in runs:
        runs[k].sort(key=lambda r: r['rate'])
    return runs


def sustained(steps):
    best = None
    for r in steps:
        if not r['pass']:
            break
        best = r
    return best


def first_fail(steps):
    for r in steps:
        if not r['pass']:
            return r
    return None


def paths(runs):
    """(path, gateway label, kamailio label, row title) for the summary."""
    out = [('relay', 'gateway', 'kamailio', 'SIP→SIP stateful relay (gateway vs Kamailio `t_relay()`)')]
    wins = sorted((k[1] for k in runs if k[0] == 'xmpp' and k[1].startswith('gateway-w')),
                  key=lambda l: -int(l[len('gateway-w'):]))
    for w in wins:
        ms = int(w[len('gateway-w'):])
        out.append(('xmpp', w, 'kamailio', 'SIP→XMPP, gateway error window %d ms%s vs Kamailio xmpp module'
                    % (ms, ' (default)' if ms == 300 else '')))
    if any(k[0] == 'presence' for k in runs):
        out.append(('presence', 'gateway', 'kamailio',
                    'presence: SIP watcher subscription cycles/s (gateway as notifier for XMPP users '
                    'vs Kamailio presence server); ×2 = SUBSCRIBE/s'))
    return out


def at_rate(steps, rate):
    for r in steps:
        if r['rate'] == rate:
            return r
    return None


def mem(steps, key):
    v = [r['proc'].get('sut', {}).get(key) for r in steps]
    v = [x for x in v if x is not None]
    return max(v) if v else None


def ratio(a, b, nd=2):
    if a is None or b is None or b == 0:
        return '-'
    return ('%.' + str(nd) + 'f') % (float(a) / float(b))


def sratio(g, k):
    """Ratio of sustained rates; a bound when one side never failed."""
    sg, sk = sustained(g), sustained(k)
    if not sg or not sk:
        return '-'
    gopen, kopen = first_fail(g) is None, first_fail(k) is None
    if gopen and kopen:
        return 'n/a (both passed the top step)'
    return ('≥ ' if gopen else '≤ ' if kopen else '') + ratio(sg['rate'], sk['rate'])


def table(results_dir):
    runs = load(results_dir)
    out = []
    out.append('| path | sustained msg/s gateway / Kamailio | ratio gw÷kam | equal load R msg/s '
               '| SIP answer p50 / p99 ms at R (probe), gateway \\| Kamailio | e2e XMPP p50 / p99 ms at R, gateway \\| Kamailio '
               '| CPU s per 1000 msg at R, gateway / Kamailio | CPU ratio gw÷kam '
               '| peak RSS MB gateway / Kamailio (Kamailio PSS) | first failing step gateway / Kamailio |')
    out.append('|' + '---|' * 10)
    for path, gw, kam, title in paths(runs):
        g, k = runs.get((path, gw)), runs.get((path, kam))
        if not g or not k:
            continue
        sg, sk = sustained(g), sustained(k)
        # equal offered load: the highest rate both passed (else the lowest measured)
        common = [r['rate'] for r in g if r['pass'] and (at_rate(k, r['rate']) or {}).get('pass')]
        both = sorted(set(r['rate'] for r in g) & set(r['rate'] for r in k))
        R = max(common) if common else (both[0] if both else None)
        rg, rk = (at_rate(g, R), at_rate(k, R)) if R else (None, None)

        def rt(r):
            if not r:
                return '-'
            x = r.get('probe', {}).get('rtt_ms') or {}
            if x.get('p50') is None:  # no probe: sipp's own (coarse) RT
                x = r.get('sipp_rt_ms', {})
            return '%s / %s' % (fmt(x.get('p50'), 2), fmt(x.get('p99'), 2))

        def e2e(r):
            if not r or 'e2e_ms' not in r:
                return '-'
            x = r['e2e_ms']
            return '%s / %s' % (fmt(x.get('p50'), 2), fmt(x.get('p99'), 2))

        def ff(steps):
            f = first_fail(steps)
            if not f:
                return 'none ≤ %d' % steps[-1]['rate']
            why = []
            if f.get('fail_pct', 0) >= 1:
                why.append('fail %.1f%%' % f['fail_pct'])
            if f.get('retrans_pct', 0) >= 1:
                why.append('retr %.1f%%' % f['retrans_pct'])
            if f.get('achieved_rate') is not None and f['achieved_rate'] < 0.95 * f['rate']:
                why.append('achieved %.0f' % f['achieved_rate'])
            if f.get('xmpp_lost_pct') is not None and f['xmpp_lost_pct'] >= 1:
                why.append('lost %.1f%%' % f['xmpp_lost_pct'])
            return '%d (%s)' % (f['rate'], ', '.join(why) or f.get('error', '?'))

        def sus(steps):
            b = sustained(steps)
            if not b:
                return 'none'
            # every step passed: the knee is above the top step
            return ('≥ %d' if first_fail(steps) is None else '%d') % b['rate']

        cg = rg.get('cpu_s_per_1000') if rg else None
        ck = rk.get('cpu_s_per_1000') if rk else None
        out.append('| %s | **%s** / **%s** | %s | %s | %s \\| %s | %s \\| %s | %s / %s | %s | %s / %s (%s) | %s / %s |' % (
            title, sus(g), sus(k),
            sratio(g, k),
            R if R else '-',
            rt(rg), rt(rk), e2e(rg), e2e(rk),
            fmt(cg, 3), fmt(ck, 3), ratio(cg, ck),
            fmt(mem(g, 'rss_mb_max')), fmt(mem(k, 'rss_mb_max')), fmt(mem(k, 'pss_mb_max')),
            ff(g), ff(k)))
    out.append('')
    out.append('Per step (SUT = system under test; CPU from /proc/<pid>/stat over the step incl. '
               'delivery drain, 100 % = one core; Kamailio = all its processes):')
    out.append('')
    out.append('| path | SUT | offered /s | achieved /s | fail % | retrans % | UDP rcvbuf errors '
               '| probe answer p50 / p99 ms | sipp RT p50 / p99 ms | e2e XMPP p50 / p99 ms | lost % | SUT CPU % | CPU s / 1000 msg '
               '| SUT RSS / PSS MB | sipp UAC CPU % | Prosody CPU % | sink CPU % | pass |')
    out.append('|' + '---|' * 18)
    def order(k):
        return ({'relay': 0, 'xmpp': 1, 'presence': 2}.get(k[0], 3), k[1] == 'kamailio', k[1].startswith('gateway-w')
                and -int(k[1][len('gateway-w'):]), k)
    for key in sorted(runs, key=order):
        for r in runs[key]:
            p = r['proc']
            sut = p.get('sut', {})
            rt = r.get('sipp_rt_ms', {})
            e = r.get('e2e_ms')
            pr = (r.get('probe') or {}).get('rtt_ms') or {}
            out.append('| %s | %s | %d | %s | %s | %s | %s | %s / %s | %s / %s | %s | %s | %s | %s | %s / %s | %s | %s | %s | %s |' % (
                r['path'], r['label'], r['rate'], fmt(r.get('achieved_rate')), fmt(r.get('fail_pct'), 2),
                fmt(r.get('retrans_pct'), 2), fmt(r.get('udp_rcvbuf_errors')),
                fmt(pr.get('p50'), 2), fmt(pr.get('p99'), 2),
                fmt(rt.get('p50'), 1), fmt(rt.get('p99'), 1),
                ('%s / %s' % (fmt(e.get('p50'), 2), fmt(e.get('p99'), 2))) if e else '-',
                fmt(r.get('xmpp_lost_pct'), 2) if 'xmpp_lost_pct' in r else '-',
                fmt(sut.get('cpu_pct')), fmt(r.get('cpu_s_per_1000'), 3),
                fmt(sut.get('rss_mb_max')), fmt(sut.get('pss_mb_max')),
                fmt(p.get('sipp_uac', {}).get('cpu_pct')), fmt(p.get('prosody', {}).get('cpu_pct')),
                fmt(p.get('sink', {}).get('cpu_pct')), 'yes' if r['pass'] else '**no**'))
    print('\n'.join(out))


if __name__ == '__main__':
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    if sys.argv[1] == 'step':
        step(sys.argv[2])
    elif sys.argv[1] == 'table':
        table(sys.argv[2])
    else:
        sys.exit(__doc__)
