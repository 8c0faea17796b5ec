#!/usr/bin/env python3
"""Sampled simulation of a long trace: K measured windows spread over the
trace clock, each after a functional warm-up of everything before it, and
the whole trace's statistics estimated from them with a confidence
interval (SMARTS-style systematic sampling, Wunderlich et al., ISCA 2003).

    scripts/sample.py BIN CONFIG --windows K --window D [--span T]
        [--detailed-warmup W] [--head H] [-j N] [--set KEY=VALUE ...]
        [--keys REGEX] [--top K] [--check] [--max-error PCT] [--rewarm]
        [--warming-check] [--out DIR] [--sweep]

The span T is the trace clock the windows cover: by default one
nanosecond past the one `scimitar check CONFIG` prints (the last issue
time of any trace of the configuration, on its own clock), so that
[0, T) holds every record; --span takes another. It is cut into K periods of
T/K; window k is the D in the middle of period k. With --head H, the
trace's first H run in detail as a stratum of its own (one run to H,
exact, no interval) and the K periods cut T - H: what happens only at
the start (first touches of a buffer pool, each a page fault) is then
measured instead of left between the windows. Each window is what one
run of CONFIG with sim.warmup_until = its start and sim.until = its end
gives: every record issued before the window on the traces' own clock is
warmed up functionally, the window's records run in detail. With
--detailed-warmup W, the W before each window run in detail too,
unmeasured (a second run to the window's start is subtracted, counters
by difference, means through their sums), so the window starts with the
queues and in-flight work a detailed run would have there.

Estimates: a counter's whole-trace value is the windows' sum scaled by
T / (K * D), its 95% confidence interval from the spread of the windows (t
distribution, K - 1 degrees of freedom); a mean (a histogram's) is the
windows' sums over their counts, its interval from the same spread of
the per-window means (with a head, weighted by the windows' share of the
count). Notes follow the table when the warm-up resolved faults that
cluster before the first window (most of those before the last window;
--head takes them in), and when an agent's requests wait a tenth of a
window or more after their trace made them eligible (`<agent>.dma` or
`.mem.queue_delay`): an open-loop trace faster than the agent, whose
backlog grows over the whole run and which no window inherits, so that
statistics of the backlog cannot be estimated. --warming-check samples
again after 2W (a second warm-up pass) and prints each estimate's change
(`2W %`), with a note naming the statistics that move by more than their
interval: SMARTS's test of whether W suffices, which needs no detailed
run of the whole trace. --check also runs the whole trace in detail and
prints each estimate's error against it; with --max-error, exit 1 if a
statistic matching --keys (reference at least 100) is further off than
PCT percent.

--out DIR writes every estimate (zeros too) to DIR/estimates.csv
(statistic, estimate, ci95: the 95% half-width[, detailed, error_pct with
--check][, change_2w_pct with --warming-check]) and DIR/estimates.json
(the sampling, the estimates, the notes printed). --sweep samples every
point of CONFIG's sweep: section (as `scimitar sweep CONFIG --points`
lists them) with the point's values as --set, -j N of them at once
(their window children shared out; nothing depends on -j), and writes
DIR/points/<i>/estimates.* and DIR/sweep.csv (a row per point: the swept
values, then each statistic and its `<statistic>.ci95`) and
DIR/sweep.json (default DIR: out/<config>-sample-sweep); a point whose
estimates.json holds the same configuration hash, --set values and
sampling is kept, not sampled again (a sweep resumes). Files are
written under a temporary name and renamed; an --out that cannot be
written is refused before anything runs.

Cost: `scimitar sample` warms up once, to the last window, forking a
child at each window that runs it in detail (statistic for statistic the
separate run), so K windows cost one functional pass over the trace plus
K * D in detail (twice W with --detailed-warmup); -j children run side
by side. --rewarm runs each window as a run of its own instead, which
warms everything before it again (about K/2 functional passes): the same
numbers, the reference tests/cli_sample_fork.sh checks the one pass
against. The warm-up's limits apply to each window (docs/architecture.md,
"Warm-up"): queues a detailed run carries into the window are not there
unless --detailed-warmup gives them time to build.
"""
import argparse
import concurrent.futures
import csv
import io
import json
import math
import os
import re
import subprocess
import sys
import tempfile

import sampled_files
from scimrun import measured, ns, run

FLOOR = 100.0
# a mean wait after eligibility of this fraction of a window: the agent is behind its trace
BEHIND = 0.1
# a change at 2W below this (percent) is noise whatever the interval
MOVE_FLOOR = 0.1
# two-sided 95% quantiles of Student's t, by degrees of freedom (1-30; beyond, the normal's)
T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
       2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042]
Z95 = 1.960


def ask(binary, cmd, cfg, sets, extra=(), ok=lambda out: True):
    """stdout of `binary cmd cfg [extra] --set s...`, or exit with its message if it fails or `ok` refuses it."""
    argv = [binary, cmd, cfg] + list(extra)
    for a in sets:
        argv += ["--set", a]
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode or not ok(r.stdout):
        sys.exit("sample: %s failed:\n%s" % (" ".join(argv), r.stderr.strip() or r.stdout.strip()))
    return r.stdout


def trace_clock(binary, cfg, sets):
    """One ns past the configuration's trace clock (`scimitar check` prints it): [0, T) holds every record."""
    clock = re.compile(r"^trace clock: (\d+) ns", re.M)
    return int(clock.search(ask(binary, "check", cfg, sets, ok=clock.search)).group(1)) + 1


def window(binary, cfg, sets, start, length, warm):
    """The measured statistics of [start, start + length)."""
    end = ["sim.until=%dns" % (start + length)]
    if not start:  # nothing before it (and sim.until: 0 would mean no limit)
        return warmed(run(binary, cfg, sets + end))
    if not warm:
        return warmed(run(binary, cfg, sets + ["sim.warmup_until=%dns" % start] + end))
    w0 = ["sim.warmup_until=%dns" % (start - warm)] if start > warm else []
    full = run(binary, cfg, sets + w0 + end)
    head = run(binary, cfg, sets + w0 + ["sim.until=%dns" % start])
    return warmed(full, head)


def warmed(stats, before=None):
    """A window's measured statistics and the faults its functional warm-up resolved."""
    return measured(stats, before), stats.get("sim.warmup.faults", 0)


def one_pass(binary, cfg, sets, starts, length, warm, jobs):
    """The windows' measured statistics from one `scimitar sample` (one warm-up, a child per window)."""
    with tempfile.TemporaryDirectory() as out:
        cmd = [binary, "sample", cfg, "--at", ",".join("%dns" % s for s in starts), "--window", "%dns" % length,
               "--detailed-warmup", "%dns" % warm, "-j", str(jobs), "--out", out]
        for a in sets:
            cmd += ["--set", a]
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode:
            raise RuntimeError("%s failed:\n%s" % (" ".join(cmd), r.stderr.strip()))

        parts = {}
        with open(os.path.join(out, "windows.csv")) as f:
            for row in csv.DictReader(f):
                with open(os.path.join(out, row["dir"], "stats.json")) as s:
                    parts[(int(row["window"]), row["part"])] = json.load(s)
        return [warmed(parts[(i + 1, "measured")], parts.get((i + 1, "head"))) for i in range(len(starts))]


def half_width(values):
    k = len(values)
    if k < 2:
        return float("nan")
    m = sum(values) / k
    sd = math.sqrt(sum((v - m) ** 2 for v in values) / (k - 1))
    return (T95[k - 2] if k - 2 < len(T95) else Z95) * sd / math.sqrt(k)


def estimate(windows, scale, head=None):
    """{key: (estimate, 95% half-width)} over the windows, scaled by `scale`,
    plus the exact stratum `head` (the trace's start run in detail)."""
    head = head or {}
    keys = set(head)
    for w in windows:
        keys |= set(w)
    out = {}
    for k in sorted(keys):
        vals = [w.get(k, 0) for w in windows]
        h = head.get(k, 0)
        if k.endswith(".mean"):
            sums = [v[0] if isinstance(v, tuple) else 0 for v in vals]
            counts = [v[1] if isinstance(v, tuple) else 0 for v in vals]
            hs, hc = h if isinstance(h, tuple) else (0, 0)
            sampled = scale * sum(counts)
            if hc + sampled <= 0:
                continue
            per = [s / c for s, c in zip(sums, counts) if c > 0]
            # the head is exact: only the windows' share of the count is uncertain
            share = sampled / (hc + sampled)
            out[k] = ((hs + scale * sum(sums)) / (hc + sampled), half_width(per) * share if share else 0.0)
        else:
            out[k] = (h + sum(vals) * scale, half_width(vals) * len(vals) * scale)
    return out


def notes(wins, starts, warm, d, head, first):
    """What the windows say the estimates cannot see: faults clustered before the
    first window, and an agent that falls behind its trace."""
    out = []
    # faults the head measured (its agents' `.faults`) stand for those the warm-up resolved before it
    measured_faults = sum(v for k, v in (first or {}).items() if re.fullmatch(r"[^.]+\.faults", k))
    ends = [max(0, s - warm) - head for s in starts]  # where each window's warm-up ended, after the head
    f0, flast = (max(0, w[1] - measured_faults) for w in (wins[0], wins[-1]))
    if len(wins) > 1 and f0 and f0 * ends[-1] > 2 * flast * ends[0]:
        out.append("the functional warm-up resolved %d faults before the first window (its first %d ns%s) of the %d "
                   "before the last (%d ns): they cluster at the trace's start (first touches), where no window "
                   "measures them, so the estimates leave out their cost; --head T measures the trace's first T in "
                   "detail" % (f0, ends[0], " after the head, whose faults are not counted" if head else "", flast,
                                ends[-1]))
    for k, (e, _) in estimate([w for w, _ in wins], 1).items():  # the windows' own waits, not the head's
        if re.search(r"\.(dma|mem)\.queue_delay\.mean$", k) and e >= BEHIND * d * 1000:
            out.append("%s: requests waited %.4g us on average after their trace made them eligible, %.0f%% of a "
                       "window: the agent does not keep up with its trace, so its backlog depends on the whole run "
                       "before a window, which no window inherits (each starts it empty; --detailed-warmup gives it "
                       "W to build); that backlog's statistics (this one, and what queueing drives) are not "
                       "estimated: sample a closed-loop trace (scimitar trace gen --timing rel) or run this one in "
                       "detail" % (k[:-len(".mean")], e / 1e6, e / (d * 1000) * 100))
    return out


def points(binary, cfg, sets):
    """The sweep's parameters and points as `scimitar sweep --points` prints them: [(index, {key: value}, hash)]."""
    doc = json.loads(ask(binary, "sweep", cfg, sets, ["--points"]))
    return doc["parameters"], [(p["point"], p["params"], p["hash"]) for p in doc["points"]]


def sample(a, sets):
    """Sample CONFIG with `sets`: the estimates and what the table, notes and files need."""
    span = ns(a.span, "sample") if a.span else trace_clock(a.binary, a.config, sets)
    d, warm, k = ns(a.window, "sample"), ns(a.detailed_warmup, "sample"), a.windows
    head = ns(a.head, "sample")
    if k < 1 or d <= 0 or span <= 0:
        sys.exit("sample: expected --windows K >= 1, a --window and a trace clock (--span) above 0")
    if head >= span:
        sys.exit("sample: --head %s is not shorter than the span (%d ns)" % (a.head, span))
    period = (span - head) // k
    if d > period:
        sys.exit("sample: --window %s is longer than a period ((--span - --head) / --windows = %d ns); use fewer "
                 "windows or a shorter one" % (a.window, period))
    starts = [head + i * period + (period - d) // 2 for i in range(k)]

    def windows_after(w):
        if a.rewarm:
            return list(pool.map(lambda s: window(a.binary, a.config, sets, s, d, w), starts))
        return one_pass(a.binary, a.config, sets, starts, d, w, max(1, a.j))
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, a.j)) as pool:
            ref = pool.submit(run, a.binary, a.config, sets + ["sim.until=%dns" % span]) if a.check else None
            first = pool.submit(run, a.binary, a.config, sets + ["sim.until=%dns" % head]) if head else None
            wins = windows_after(warm)
            doubled = windows_after(2 * warm) if a.warming_check else None
            full = ref.result() if ref else None
            first = measured(first.result()) if first else None
    except RuntimeError as e:
        sys.exit("sample: %s" % e)
    scale = (span - head) / (k * d)
    est = estimate([w for w, _ in wins], scale, first)
    est2 = estimate([w for w, _ in doubled], scale, first) if doubled else None
    ref = measured(full) if full else {}
    rows = []
    for key, (e, h) in est.items():
        r = ref.get(key)
        if isinstance(r, tuple):
            r = r[0] / r[1] if r[1] else None
        err = (e - r) / abs(r) * 100 if r else (float("inf") if r == 0 and e else None)
        moved = (est2.get(key, (0, 0))[0] - e) / abs(e) * 100 if est2 is not None and e else None
        rows.append((key, e, h, r, err, moved))
    return {"span": span, "period": period, "window": d, "warm": warm, "head": head, "windows": k, "rows": rows,
            "checked": bool(full), "doubled": est2 is not None,
            "notes": notes(wins, starts, warm, d, head, first)}


def report(a, res, out=None):
    """Print the heading, the table (--keys, --top) and the notes; (1 if --max-error is exceeded, else 0; the
    notes)."""
    out = out or sys.stdout
    print("%d windows of %s, one per %d ns of the %s trace clock (%s)%s%s" %
          (res["windows"], a.window, res["period"], a.span or "%dns" % res["span"], os.path.basename(a.config),
           " after its first %s in detail" % a.head if res["head"] else "",
           ", each after %s in detail" % a.detailed_warmup if res["warm"] else ""), file=out)
    keys = re.compile(a.keys)
    rows = [x for x in res["rows"] if keys.search(x[0]) and (x[1] or x[2])]  # zeros are not shown

    def checked(x):
        return x[3] is not None and abs(x[3]) >= FLOOR and x[4] is not None
    if res["checked"]:
        rows.sort(key=lambda x: (0, -abs(x[4]), x[0]) if checked(x) else (1, 0, x[0]))
    print_table(rows[:a.top], res["checked"], res["doubled"], out)
    said = res["notes"] + (warming_notes(rows, res["warm"]) if res["doubled"] else [])
    for n in said:
        print("note: " + n, file=out)
    if res["checked"] and a.max_error is not None:
        bad = [x for x in rows if checked(x) and abs(x[4]) > a.max_error]
        if bad:
            print("sample: %d statistics beyond %.2f%%, the largest %s %.2f%%" % (len(bad), a.max_error, bad[0][0],
                                                                            bad[0][4]), file=out)
            return 1, said
    return 0, said


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("binary")
    ap.add_argument("config")
    ap.add_argument("--span", help="the trace clock the windows cover (default: the one `scimitar check` prints)")
    ap.add_argument("--windows", type=int, required=True)
    ap.add_argument("--window", required=True)
    ap.add_argument("--detailed-warmup", default="0ns")
    ap.add_argument("--head", default="0ns", help="measure the trace's first T in detail; the windows cover the rest")
    ap.add_argument("-j", type=int, default=1)
    ap.add_argument("--set", action="append", default=[], dest="sets")
    ap.add_argument("--keys", default=".")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--max-error", type=float)
    ap.add_argument("--rewarm", action="store_true", help="each window a run of its own (K/2 warm-up passes)")
    ap.add_argument("--warming-check", action="store_true",
                    help="sample again after twice the detailed warm-up and print each estimate's change")
    ap.add_argument("--out", help="write every estimate to DIR (estimates.csv, estimates.json; with --sweep, a "
                                  "table of the points)")
    ap.add_argument("--sweep", action="store_true", help="sample every point of CONFIG's sweep: section")
    a = ap.parse_args()
    if a.warming_check and not ns(a.detailed_warmup, "sample"):
        sys.exit("sample: --warming-check compares a detailed warm-up W with 2W; expected --detailed-warmup W above 0")
    re.compile(a.keys)
    if not a.sweep:
        if a.out:
            sampled_files.prepare(a.out)
        res = sample(a, a.sets)
        rc, said = report(a, res)
        if a.out:
            sampled_files.write_point(a.out, a, a.sets, res, said)
        return rc
    params, pts = points(a.binary, a.config, a.sets)
    out = a.out or os.path.join("out", os.path.basename(a.config).split(".")[0] + "-sample-sweep")
    sampled_files.prepare(out)
    rc, results = 0, []
    # what a point's estimates depend on: a point whose estimates.json has the same is not sampled again
    sampling = {"windows": a.windows, "window": a.window, "head": a.head, "detailed_warmup": a.detailed_warmup,
                "span": a.span, "check": a.check, "warming_check": a.warming_check, "keys": a.keys}
    todo = []
    for i, values, config_hash in pts:
        sets = a.sets + ["%s=%s" % kv for kv in values.items()]
        where = os.path.join(out, "points", str(i))
        resume = {"hash": config_hash, "sets": sets, "sampling": sampling}
        todo.append((i, values, sets, where, resume, sampled_files.load_point(where, resume)))
    n_new = sum(1 for t in todo if t[5] is None)
    # -j N: N points at once (each warm-up pass is one process), their window children shared out
    at_once = max(1, min(a.j, n_new))
    per_point = argparse.Namespace(**dict(vars(a), j=max(1, a.j // at_once)))

    def one(sets, where, resume):
        text = io.StringIO()
        res = sample(per_point, sets)
        bad, notes = report(per_point, res, text)
        sampled_files.write_point(where, per_point, sets, res, notes, resume)
        res["notes"] = notes
        return res, bad, text.getvalue()
    with concurrent.futures.ThreadPoolExecutor(max_workers=at_once) as pool:
        running = [pool.submit(one, sets, where, resume) if res is None else None
                   for _, _, sets, where, resume, res in todo]
        for (i, values, _, where, _, res), job in zip(todo, running):
            said = "point %d (%s)" % (i, ", ".join("%s=%s" % kv for kv in values.items()))
            if job is None:
                print("%s: sampled before, kept (%s/estimates.json)" % (said, where))
            else:
                res, bad, text = job.result()  # in the points' order, whatever finished first
                print(said + ":")
                sys.stdout.write(text)
                rc |= bad
            results.append((i, values, res))
    kept = len(pts) - n_new
    sampled_files.write_sweep(out, params, results)
    print("sample: %d points (%d sampled, %d kept); table %s/sweep.csv, %s/sweep.json" %
          (len(pts), len(pts) - kept, kept, out, out))
    return rc


def print_table(rows, full, doubled, out):
    """statistic, estimate, interval[, change at 2W][, detailed value, error]"""
    head = "%-48s %14s %10s" % ("statistic", "estimate", "95% +-")
    print(head + (" %9s" % "2W %" if doubled else "") + (" %14s %9s" % ("detailed", "error %") if full else ""),
          file=out)
    for key, e, h, r, err, moved in rows:
        line = "%-48s %14.6g %10s" % (key, e, "%.1f%%" % (h / abs(e) * 100) if e and not math.isnan(h) else "-")
        if doubled:
            line += " %9s" % ("%.2f" % moved if moved is not None else "-")
        if full:
            line += " %14.6g %9s" % (r if r is not None else float("nan"), "%.2f" % err if err is not None else "-")
        print(line, file=out)


def warming_notes(rows, warm):
    """Statistics that move by more than their interval when the detailed warm-up doubles."""
    moved = [(abs(m), key) for key, e, h, r, err, m in rows
             if m is not None and not math.isnan(h) and abs(m) > max(MOVE_FLOOR, h / abs(e) * 100)]
    if not moved:
        return []
    moved.sort(reverse=True)
    return ["doubling the detailed warm-up (%d ns to %d ns) moves %d of the statistics shown by more than their "
            "interval, the most %s: their windows still depend on what ran before them (W too short for them, or a "
            "backlog that no window inherits)"
            % (warm, 2 * warm, len(moved), ", ".join("%s %.2f%%" % (k, m) for m, k in moved[:3]))]


if __name__ == "__main__":
    sys.exit(main())
