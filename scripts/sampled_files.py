"""What scripts/sample.py --out writes: every estimate of one sample
(estimates.csv, estimates.json) and, with --sweep, one table of the
sweep's points (sweep.csv, sweep.json, beside points/<i>/). Each file is
written under a temporary name and renamed, so none is half-written."""
import csv
import io
import json
import math
import os
import sys
import tempfile


def prepare(out):
    """Create DIR (and its parents) before anything runs, or exit with why it cannot be written to."""
    try:
        os.makedirs(out, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=out)
        os.close(fd)
        os.unlink(tmp)
    except OSError as e:
        sys.exit("sample: cannot write the estimates to %s: %s; give another --out DIR" % (out, e.strerror or e))


def atomic(path, text):
    """`text` into `path` through a temporary file in the same directory and a rename."""
    d = os.path.dirname(path) or "."
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=d)
    try:
        with os.fdopen(fd, "w", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def number(x):
    """A value for CSV and JSON: the shortest text that reads back the same float; None when not finite."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return None
    return x


def cell(x):
    x = number(x)
    return "" if x is None else repr(x)


def load_point(out, resume):
    """The results a sample wrote to DIR/estimates.json under the same `resume` key (the point's configuration hash,
    its --set values, the sampling), in the shape write_sweep takes; None if there are none or they differ."""
    try:
        with open(os.path.join(out, "estimates.json")) as f:
            doc = json.load(f)
    except (OSError, ValueError):
        return None
    if doc.get("resume") != resume:
        return None
    nan = float("nan")

    def val(x):
        return nan if x is None else x
    rows = [(k, val(v["estimate"]), val(v["ci95"]), v.get("detailed"), v.get("error_pct"), v.get("change_2w_pct"))
            for k, v in sorted(doc["estimates"].items())]
    return {"rows": rows, "notes": doc["notes"]}


def write_point(out, a, sets, res, said, resume=None):
    """DIR/estimates.csv (statistic, estimate, ci95[, detailed, error_pct][, change_2w_pct]) and
    DIR/estimates.json (the sampling, the estimates, the notes the run printed)."""
    cols = ["statistic", "estimate", "ci95"] + (["detailed", "error_pct"] if res["checked"] else []) + \
        (["change_2w_pct"] if res["doubled"] else [])
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    est = {}
    for key, e, h, r, err, moved in res["rows"]:
        row = [key, cell(e), cell(h)] + ([cell(r), cell(err)] if res["checked"] else []) + \
            ([cell(moved)] if res["doubled"] else [])
        w.writerow(row)
        one = {"estimate": number(e), "ci95": number(h)}
        if res["checked"]:
            one.update(detailed=number(r), error_pct=number(err))
        if res["doubled"]:
            one["change_2w_pct"] = number(moved)
        est[key] = one
    doc = {"config": a.config, "sets": sets, "span_ns": res["span"], "head_ns": res["head"],
           "windows": res["windows"], "window_ns": res["window"], "period_ns": res["period"],
           "detailed_warmup_ns": res["warm"], "estimates": est, "notes": said}
    if resume is not None:
        doc["resume"] = resume
    atomic(os.path.join(out, "estimates.csv"), buf.getvalue())
    atomic(os.path.join(out, "estimates.json"), json.dumps(doc, indent=1, sort_keys=True) + "\n")


def write_sweep(out, params, results):
    """DIR/sweep.csv: a row per point, the swept parameters, then each statistic's estimate and its 95% half-width
    (`<statistic>.ci95`; empty where a point lacks it); DIR/sweep.json: the same, with each point's notes."""
    names = sorted({x[0] for _, _, res in results for x in res["rows"]})
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(params + [c for n in names for c in (n, n + ".ci95")])
    points = []
    for i, values, res in results:
        by = {x[0]: (x[1], x[2]) for x in res["rows"]}
        w.writerow([values[p] for p in params] +
                   [c for n in names for c in ((cell(by[n][0]), cell(by[n][1])) if n in by else ("", ""))])
        points.append({"point": i, "params": values, "notes": res["notes"],
                       "estimates": {k: {"estimate": number(e), "ci95": number(h)} for k, (e, h) in by.items()}})
    atomic(os.path.join(out, "sweep.csv"), buf.getvalue())
    atomic(os.path.join(out, "sweep.json"), json.dumps({"parameters": params, "points": points}, indent=1) + "\n")
