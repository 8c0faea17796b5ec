#!/usr/bin/env python3
"""What the functional warm-up changes, measured: the same records in
detail against a warm-up, for one configuration.

    scripts/warmup_bound.py BIN CONFIG --warmup W --records N [options]
    scripts/warmup_bound.py BIN CONFIG --until T --window D [options]
    options: [--set KEY=VALUE ...] [--max-error PCT] [--keys REGEX] [--top K]

By records (sim.warmup), three runs of CONFIG, each agent replaying only
its first N records (sim.records):
  detailed(N)    every record in detail;
  detailed(W)    the first W records in detail (sim.records = W);
  warm           the first W functionally, the next N - W in detail.
By time (sim.warmup_until; T and D with units, 2ms), the records each
trace issues before T + D on its own clock (sim.until):
  detailed(T+D)  in detail;
  detailed(T)    those issued before T in detail (sim.until = T);
  warm           those issued before T functionally, the rest in detail.
The detailed part is the difference of the first two: a counter is
detailed(N) - detailed(W) (exact but for the requests in flight at the
cut: at most max_outstanding per agent, against thousands of records; and
what a run does after its last record, a deferred flush, say, counts in
both), and a histogram's mean is
(sum(N) - sum(W)) / (count(N) - count(W)), with sum = mean x count. The
warm run's statistics count that part alone. The table gives, for the
counters and means both sides have, the reference, the warm-up's value and
the relative error, largest first; levels, extremes and percentiles (which
do not subtract) and sim.* are left out.

--max-error: exit 1 if a statistic whose name matches --keys (default:
every one) and whose reference is at least 100 (events, or ps for a mean)
is off by more than PCT percent. docs/architecture.md ("Warm-up") says
where the difference comes from: the warm-up takes one request at a time,
so what concurrent requests would have merged or reordered, and the queues
a detailed prefix leaves behind, differ.
"""
import argparse
import os
import re
import sys

from scimrun import measured, ns, run as run_of

FLOOR = 100.0


def run(binary, cfg, sets):
    try:
        return run_of(binary, cfg, sets)
    except RuntimeError as e:
        sys.exit("warmup_bound: %s" % e)


def tail_of(full, prefix):
    """The statistics of the records after the prefix: counters subtract,
    histogram means through their sums."""
    out = {}
    for k, v in measured(full, prefix).items():
        if isinstance(v, tuple):
            if v[1] > 0:
                out[k] = v[0] / v[1]
        else:
            out[k] = v
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("binary")
    ap.add_argument("config")
    ap.add_argument("--warmup", type=int)
    ap.add_argument("--records", type=int)
    ap.add_argument("--until")
    ap.add_argument("--window")
    ap.add_argument("--set", action="append", default=[], dest="sets")
    ap.add_argument("--max-error", type=float)
    ap.add_argument("--keys", default=".")
    ap.add_argument("--top", type=int, default=25)
    a = ap.parse_args()
    if a.until and a.window:
        t, d = ns(a.until, "warmup_bound"), ns(a.window, "warmup_bound")
        full = run(a.binary, a.config, a.sets + ["sim.until=%dns" % (t + d)])
        prefix = run(a.binary, a.config, a.sets + ["sim.until=%dns" % t])
        warm = run(a.binary, a.config, a.sets + ["sim.warmup_until=%dns" % t, "sim.until=%dns" % (t + d)])
        what = "warm-up of the records issued before %s, then %s of records in detail" % (a.until, a.window)
    elif a.warmup and a.records and 0 < a.warmup < a.records:
        full = run(a.binary, a.config, a.sets + ["sim.records=%d" % a.records])
        prefix = run(a.binary, a.config, a.sets + ["sim.records=%d" % a.warmup])
        warm = run(a.binary, a.config, a.sets + ["sim.records=%d" % a.records, "sim.warmup=%d" % a.warmup])
        what = "warm-up %d of %d records per agent, the last %d in detail" % (a.warmup, a.records,
                                                                            a.records - a.warmup)
    else:
        sys.exit("warmup_bound: expected --warmup W --records N (0 < W < N), or --until T --window D")
    ref = tail_of(full, prefix)
    rows = []
    for k, r in ref.items():
        if k not in warm or (r == 0 and warm[k] == 0):
            continue
        w = warm[k]
        err = (w - r) / abs(r) * 100 if r else float("inf")
        rows.append((k, r, w, err))
    rows.sort(key=lambda x: (-abs(x[3]), x[0]))
    keys = re.compile(a.keys)
    print("%s (%s), against the same records in detail" % (what, os.path.basename(a.config)))
    print("%-48s %16s %16s %9s" % ("statistic", "detailed", "after warm-up", "error %"))
    for k, r, w, err in rows[:a.top]:
        print("%-48s %16.6g %16.6g %9.2f" % (k, r, w, err))
    checked = [x for x in rows if keys.search(x[0]) and abs(x[1]) >= FLOOR]
    worst = max(checked, key=lambda x: abs(x[3]), default=None)
    if worst:
        print("largest error among %d statistics matching '%s' with reference >= %g: %s %.2f%%"
              % (len(checked), a.keys, FLOOR, worst[0], worst[3]))
    if a.max_error is not None and worst and abs(worst[3]) > a.max_error:
        print("warmup_bound: %s is off by %.2f%%, more than --max-error %g" % (worst[0], worst[3], a.max_error))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
