#!/usr/bin/python3
"""Bounded /proc sampler for one load step: CPU ticks, RSS and PSS per
process group.

  procmon.py --out mon.csv --interval 1 --max-s 120 --until-file STOP \
      --group sut=tree:4321 --group sipp_uac=4444 --group prosody=5555

A group is NAME=PID[,PID...] (exactly those PIDs), NAME=tree:PID (PID and
all its descendants, re-resolved at every sample, because Kamailio forks its
workers) or NAME=file:PATH (the PID written in PATH, read at every sample, for
a process started after the monitor). Output rows: t,group,nprocs,ticks,rss_kb,pss_kb where ticks is
utime+stime summed over the group (cumulative, /proc/<pid>/stat), rss_kb the
summed resident set and pss_kb the summed proportional set
(/proc/<pid>/smaps_rollup; shared pages divided among their users, so for a
multi-process server like Kamailio PSS is the honest memory figure and RSS
counts the shared-memory pool once per process).

--ready-file is created after the first sample (so the harness can start the
load only once the baseline sample is taken).
Stops (after one last sample) when --until-file exists, when every
--until-pid has exited, or after --max-s seconds (hard cap 600 s).
"""
import argparse
import os
import time

PAGE_KB = os.sysconf('SC_PAGE_SIZE') // 1024


def children_map():
    m = {}
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % d) as f:
                s = f.read()
            ppid = int(s[s.rfind(')') + 2:].split()[1])
            m.setdefault(ppid, []).append(int(d))
        except (OSError, ValueError, IndexError):
            pass
    return m


def tree(pid, cmap):
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(cmap.get(p, []))
    return out


def sample(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            s = f.read()
        fields = s[s.rfind(')') + 2:].split()
        if fields[0] == 'Z':
            return None
        ticks = int(fields[11]) + int(fields[12])
        rss = int(fields[21]) * PAGE_KB
    except (OSError, ValueError, IndexError):
        return None
    pss = 0
    try:
        with open('/proc/%d/smaps_rollup' % pid) as f:
            for line in f:
                if line.startswith('Pss:'):
                    pss = int(line.split()[1])
                    break
    except OSError:
        pass
    return ticks, rss, pss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', required=True)
    ap.add_argument('--interval', type=float, default=1.0)
    ap.add_argument('--max-s', type=float, default=300.0)
    ap.add_argument('--until-file', default=None)
    ap.add_argument('--until-pid', type=int, action='append', default=[])
    ap.add_argument('--ready-file', default=None)
    ap.add_argument('--group', action='append', default=[])
    a = ap.parse_args()
    a.max_s = min(a.max_s, 600.0)
    groups = []
    for g in a.group:
        name, spec = g.split('=', 1)
        if spec.startswith('tree:'):
            groups.append((name, 'tree', int(spec[5:])))
        elif spec.startswith('file:'):
            groups.append((name, 'file', spec[5:]))
        else:
            groups.append((name, 'list', [int(x) for x in spec.split(',') if x]))
    t0 = time.time()
    with open(a.out, 'w') as out:
        out.write('t,group,nprocs,ticks,rss_kb,pss_kb\n')
        last = False
        while True:
            cmap = children_map() if any(k == 'tree' for _, k, _ in groups) else {}
            now = time.time()
            for name, kind, spec in groups:
                if kind == 'tree':
                    pids = tree(spec, cmap)
                elif kind == 'file':
                    try:
                        pids = [int(open(spec).read().strip())]
                    except (OSError, ValueError):
                        pids = []
                else:
                    pids = spec
                tot, n = [0, 0, 0], 0
                for p in pids:
                    r = sample(p)
                    if r:
                        n += 1
                        tot = [tot[0] + r[0], tot[1] + r[1], tot[2] + r[2]]
                out.write('%.3f,%s,%d,%d,%d,%d\n' % (now, name, n, tot[0], tot[1], tot[2]))
            out.flush()
            if a.ready_file and not os.path.exists(a.ready_file):
                open(a.ready_file, 'w').close()
            if last or now - t0 > a.max_s:
                break
            if a.until_file and os.path.exists(a.until_file):
                last = True
                continue
            if a.until_pid and not any(os.path.exists('/proc/%d' % p) for p in a.until_pid):
                last = True
                continue
            time.sleep(a.interval)


if __name__ == '__main__':
    main()
