"""Small helpers for bench/run (issue 5). Standard library only.

  helpers.py timev FILE                   -> "WALL_S MAX_RSS_KB CPU_S USER_S SYS_S" from /usr/bin/time -v output
  helpers.py moto-requests LOG FROM TO     -> JSON: requests moto logged in lines [FROM, TO)
  helpers.py api-calls SNAPSHOT            -> JSON: the snapshot's api_calls table
  helpers.py slice-targets IN OUT N        -> targets.json with the first N targets of IN
  helpers.py org-calls DIR MANAGEMENT      -> JSON: api_calls of every snapshot under DIR, the
                                              member accounts' apart from MANAGEMENT's (a target name)
  helpers.py report DIR                    -> the Markdown table, from DIR/results.env and DIR/*.json
"""
import json
import re
import sqlite3
import sys

ANSI = re.compile(r"\x1b\[[0-9;]*m")
# werkzeug's access log: 127.0.0.1 - - [27/Nov/2026 10:10:47] "GET /b/?acl HTTP/1.1" 200 -
REQUEST = re.compile(r'\] "([A-Z]+) (\S+) HTTP/[0-9.]+" (\d{3}) ')


def timev(path):
    wall = rss = None
    user = system = 0.0
    with open(path, errors="replace") as f:
        for line in f:
            line = line.strip()
            if line.startswith("Elapsed (wall clock) time"):
                t = line.rsplit(": ", 1)[1]
                parts = [float(p) for p in t.split(":")]
                wall = 0.0
                for p in parts:
                    wall = wall * 60 + p
            elif line.startswith("User time (seconds)"):
                user = float(line.rsplit(": ", 1)[1])
            elif line.startswith("System time (seconds)"):
                system = float(line.rsplit(": ", 1)[1])
            elif line.startswith("Maximum resident set size"):
                rss = int(line.rsplit(": ", 1)[1])
    if wall is None or rss is None:
        sys.exit(f"{path}: no /usr/bin/time -v figures in it")
    print(f"{wall:.2f} {rss} {user + system:.2f} {user:.2f} {system:.2f}")


def s3_operation(method, target):
    """The S3 operation of a path-style request, from its method and sub-resource."""
    path, _, query = target.partition("?")
    if "x-id=" in query:
        return "s3:" + re.search(r"x-id=([A-Za-z]+)", query).group(1)
    if path.startswith("/v20180820/"):
        return "s3control:" + {"GET": "Get"}.get(method, method) + "PublicAccessBlock"
    sub = query.split("&")[0].split("=")[0]
    names = {
        "acl": "BucketAcl", "policy": "BucketPolicy", "publicAccessBlock": "PublicAccessBlock",
        "ownershipControls": "BucketOwnershipControls", "location": "BucketLocation",
    }
    verb = {"GET": "Get", "PUT": "Put", "DELETE": "Delete", "HEAD": "Head"}.get(method, method)
    if sub in names:
        name = names[sub]
        # GetPublicAccessBlock is not GetBucketPublicAccessBlock.
        return f"s3:{verb}{name}"
    if path in ("", "/"):
        return f"s3:{verb} /"
    return f"s3:{verb}Bucket"


def moto_requests(log, start, end):
    """Requests in lines [start, end) of moto's log: the total, by HTTP status, and S3 by
    operation (IAM, STS and AWS Config are all `POST /`: the operation is in the body or
    a header, which the access log does not show)."""
    total, by_status, by_op = 0, {}, {}
    with open(log, errors="replace") as f:
        for n, line in enumerate(f):
            if n < start or n >= end:
                continue
            m = REQUEST.search(ANSI.sub("", line))
            if not m:
                continue
            method, target, status = m.groups()
            total += 1
            by_status[status] = by_status.get(status, 0) + 1
            op = "POST / (IAM, STS, AWS Config)" if method == "POST" and target == "/" else s3_operation(method, target)
            by_op[op] = by_op.get(op, 0) + 1
    print(json.dumps({"total": total, "by_status": by_status, "by_operation": by_op}, sort_keys=True))


def api_calls(snapshot):
    con = sqlite3.connect(f"file:{snapshot}?mode=ro", uri=True)
    rows = con.execute("SELECT operation, count FROM api_calls ORDER BY operation").fetchall()
    print(json.dumps(dict(rows)))


def org_calls(d, management):
    """Requests of an organization's collect: per member account (every target but the
    management account's) and in all, by operation."""
    import glob
    import os
    per, total_ops, mgmt = {}, {}, 0
    for snap in sorted(glob.glob(os.path.join(d, "*", "*.sqlite"))):
        target = os.path.basename(os.path.dirname(snap))
        con = sqlite3.connect(f"file:{snap}?mode=ro", uri=True)
        rows = con.execute("SELECT operation, count FROM api_calls").fetchall()
        con.close()
        n = sum(c for _, c in rows)
        if target == management:
            mgmt = n
            continue
        per[target] = n
        for op, c in rows:
            total_ops[op] = total_ops.get(op, 0) + c
    counts = sorted(per.values())
    print(json.dumps({
        "members": len(per), "management": mgmt, "total": sum(counts) + mgmt,
        "per_member_min": counts[0] if counts else 0, "per_member_max": counts[-1] if counts else 0,
        "per_member_by_operation": {op: c / len(per) for op, c in sorted(total_ops.items())} if per else {},
    }, sort_keys=True))


def org_rows(d, r, row, ok, num):
    """The organization part's rows (bench/run part 2), one set per size, then the
    comparison of the sizes."""
    sizes = [m for m in r.get("org_sizes", "").split() if f"org{m}_collect_wall" in r]
    if not sizes:
        row("organization on moto (collect of every member)", "≤ 1.3× moto's CPU", "not run", "")
        return
    u, b = r.get("org_users"), r.get("org_buckets")
    rss, per = {}, {}
    for m in sizes:
        p = f"org{m}_"
        calls = _json(f"{d}/org{m}_calls.json", {})
        disc = _json(f"{d}/org{m}_discovery.json", {})
        moto = _json(f"{d}/org{m}_moto.json", {})
        wall, mcpu = num(p + "collect_wall"), num(p + "moto_cpu")
        ratio = wall / mcpu if mcpu else float("inf")
        rss[m] = _mb(r[p + "collect_rss_kb"])
        per[m] = (calls.get("per_member_min"), calls.get("per_member_max"))
        row(f"organization of {m} members ({u} users, {b} buckets each): seeding moto (not CloudKestrel)", "",
            f"{num(p + 'seed_s'):.0f} s", "info")
        row(f"  discovery (`targets`): requests, wall, peak RSS", "",
            f"{disc.get('total')} requests, {num(p + 'targets_wall'):.2f} s, {_mb(r[p + 'targets_rss_kb']):.1f} MB", "info")
        row(f"  collect of {calls.get('members', '?')} members + the management account, wall vs moto's own CPU",
            "≤ 1.3×", f"{wall:.2f} s vs {mcpu:.2f} s: {ratio:.2f}× (cloudkestrel's CPU {num(p + 'collect_cpu'):.2f} s; "
            f"exit {r.get(p + 'collect_rc')})", ok(ratio <= 1.3))
        row("  collect: peak RSS", "< 100 MB", f"{rss[m]:.1f} MB", ok(rss[m] < 100))
        lo, hi = per[m]
        row("  requests per member account (snapshot api_calls, sts:AssumeRole included)", "",
            f"{lo}" + (f" to {hi}" if hi != lo else "") + f"; management account {calls.get('management')}", "info")
        logged = moto.get("total")
        expected = (calls.get("total") or 0) + (disc.get("total") or 0)
        row("  requests moto logged during collect", "= api_calls + discovery", str(logged),
            "matches" if logged == expected else f"DIFFERS by {(logged or 0) - expected}")
        row("  evaluate offline (every member's snapshot, summary files): wall, peak RSS", "",
            f"{num(p + 'evaluate_wall'):.2f} s, {_mb(r[p + 'evaluate_rss_kb']):.1f} MB; index.html "
            f"{int(r.get(p + 'index_bytes', 0)) / 1e3:.0f} kB, summary.json {int(r.get(p + 'summary_bytes', 0)) / 1e3:.0f} kB "
            f"(exit {r.get(p + 'evaluate_rc')})", "info")
    if len(sizes) > 1:
        lo, hi = sizes[0], sizes[-1]
        row(f"collect peak RSS, {lo} vs {hi} members", "≤ 1.5× apart",
            f"{rss[lo]:.1f} vs {rss[hi]:.1f} MB ({rss[hi] / rss[lo]:.2f}×)", ok(rss[hi] <= 1.5 * rss[lo]))
        row(f"requests per member, {lo} vs {hi} members", "the same",
            f"{per[lo]} vs {per[hi]} (min, max)", ok(per[lo] == per[hi]))


def slice_targets(src, dst, n):
    with open(src) as f:
        doc = json.load(f)
    out, left = [], int(n)
    for obj in doc["Targets"]:
        if left <= 0:
            break
        keep = dict(list(obj.items())[:left])
        left -= len(keep)
        out.append(keep)
    with open(dst, "w") as f:
        json.dump({"Targets": out}, f, indent=1)


def _load_env(path):
    out = {}
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if "=" in line:
                k, v = line.split("=", 1)
                out[k] = v
    return out


def _json(path, default=None):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def _mb(kb):
    return float(kb) / 1024


def _median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def _runs(r, kind):
    """(wall, user, sys, peak RSS MB) of each run of evaluate of this kind: 1 or 2
    (threads, both reports), "html" or "json" (2 threads, that report only)."""
    out = []
    i = 1
    while f"eval{kind}_{i}_wall" in r:
        p = f"eval{kind}_{i}_"
        out.append((float(r[p + "wall"]), float(r.get(p + "user", 0)), float(r.get(p + "sys", 0)),
                    _mb(r[p + "rss_kb"])))
        i += 1
    return out


def report(d):
    """The table. A missing figure (a part that was skipped or failed) reads `not run`."""
    r = _load_env(f"{d}/results.env")
    rows = []

    def row(metric, target, measured, verdict):
        rows.append((metric, target, measured, verdict))

    def ok(cond):
        return "PASS" if cond else "MISS"

    def num(key):
        v = r.get(key)
        return None if v in (None, "") else float(v)

    n, m = r.get("users", "?"), r.get("buckets", "?")
    if "collect_wall" in r:
        cw, ew = num("collect_wall"), num("evaluate_wall")
        rcs = f"exit {r.get('collect_rc')}/{r.get('evaluate_rc')}"
        row(f"collect + evaluate, {n} users / {m} buckets (moto), wall",
            "≤ 3 s", f"{cw + ew:.2f} s (collect {cw:.2f} s + evaluate {ew:.2f} s; {rcs})", ok(cw + ew <= 3))
        if "collect_cpu" in r:
            row("collect: CPU time of cloudkestrel / of moto_server (serving it)", "",
                f"{num('collect_cpu'):.2f} s / {num('moto_cpu') or 0:.2f} s", "info")
        if "audit_wall" in r:
            row("audit (collect + evaluate in one process), wall", "≤ 3 s",
                f"{num('audit_wall'):.2f} s (exit {r.get('audit_rc')})", ok(num("audit_wall") <= 3))
        for what in ("collect", "evaluate", "audit"):
            if f"{what}_rss_kb" in r:
                rss = _mb(r[f"{what}_rss_kb"])
                row(f"{what}: peak RSS", "≤ 50 MB", f"{rss:.1f} MB", ok(rss <= 50))
        calls = _json(f"{d}/api_calls.json", {})
        moto = _json(f"{d}/moto_collect.json", {})
        total = sum(calls.values())
        row("API requests in all (snapshot api_calls)", "≤ 420", str(total), ok(total <= 420))
        if moto:
            row("requests moto logged during collect", "= api_calls", str(moto.get("total")),
                "matches" if moto.get("total") == total else f"DIFFERS by {moto.get('total', 0) - total}")
        small = _json(f"{d}/api_calls_small.json", None)
        if small is not None:
            def iam(c):
                return {k: v for k, v in c.items() if k.startswith("iam:") and k != "iam:GenerateCredentialReport"}
            a, b = iam(small), iam(calls)
            row(f"IAM requests, {r.get('small_users')} vs {n} users (GenerateCredentialReport aside)",
                "independent of N", f"{sum(a.values())} vs {sum(b.values())}", ok(a == b))
        mops = moto.get("by_operation", {}) if moto else {}
        for op, c in sorted(calls.items()):
            extra = f" (moto: {mops[op]})" if op in mops else ""
            per = ""
            if op.startswith("s3:Get") and op != "s3:GetBucketLocation" and m not in ("?", "0"):
                per = f", {c / float(m):g}/bucket"
            if op == "s3:GetBucketLocation" and m not in ("?", "0"):
                per = f", {c / float(m):g}/bucket"
            row(f"  requests: {op}", "", f"{c}{extra}{per}", "")
        other = {k: v for k, v in mops.items() if not k.startswith(("s3:", "s3control:"))}
        for op, c in sorted(other.items()):
            row(f"  moto log: {op}", "", str(c), "")
    else:
        row("collect + evaluate on moto", "≤ 3 s", "not run", "")

    org_rows(d, r, row, ok, num)

    runs = {t: _runs(r, t) for t in (1, 2, "html", "json")}
    if runs[1] or runs[2] or "evalfirst_wall" in r:
        k, u, b = r.get("synth_count"), r.get("synth_users"), r.get("synth_buckets")
        if "synth_wall" in r:
            row(f"write {k} synthetic snapshots ({u} users, {b} buckets each; examples/synth.rs)", "",
                f"{num('synth_wall'):.1f} s, {int(r.get('synth_bytes', 0)) / 1e6:.0f} MB on disk", "info")
        if "report_bytes" in r:
            row(f"reports written per run (JSON + HTML, {k} targets)", "",
                f"{int(r['report_bytes']) / 1e6:.0f} MB ({int(r['report_bytes']) / 1e6 / float(k):.1f} MB/target)", "info")
        if "synth_index_bytes" in r:
            row(f"summary files across the {k} targets (index.html, summary.json)", "small",
                f"{int(r['synth_index_bytes']) / 1e3:.0f} kB, {int(r['synth_summary_bytes']) / 1e3:.0f} kB", "info")
        if "evalfirst_wall" in r:
            row(f"evaluate {k} snapshots, 2 threads, first run as it comes (empty report directory)", "",
                f"{num('evalfirst_wall'):.2f} s (CPU user {num('evalfirst_user'):.1f} s + system "
                f"{num('evalfirst_sys'):.1f} s; exit {r.get('evalfirst_rc')})", "info")
        for t in (1, 2, "html", "json"):
            if not runs[t]:
                continue
            walls = sorted(w for w, _, _, _ in runs[t])
            m = _median(walls)
            mid = min(runs[t], key=lambda x: abs(x[0] - m))
            spread = f"; runs {', '.join(f'{w:.2f}' for w, _, _, _ in runs[t])} s" if len(walls) > 1 else ""
            measured = (f"{m:.2f} s median of {len(walls)} (CPU of the median run: user {mid[1]:.1f} s + "
                        f"system {mid[2]:.1f} s{spread})")
            label = f"evaluate {k} snapshots, RAYON_NUM_THREADS={t}, wall"
            if t == 1:
                row(label, "", measured + f"; {1000 * m / float(k):.1f} ms/snapshot", "info")
            elif t == 2:
                row(label, "≤ 5 s", measured, ok(m <= 5))
            else:
                row(f"evaluate {k} snapshots, 2 threads, `--format {t}` ({t.upper()} reports only), wall",
                    "", measured, "info")
        # Each round's 1-thread run against the 2-thread run right after it: the machine's
        # speed drifts over minutes, and a ratio of runs taken together drifts less.
        ratios = [a[0] / b[0] for a, b in zip(runs[1], runs[2]) if b[0]]
        if ratios:
            sp = _median(ratios)
            each = f" (rounds: {', '.join(f'{x:.2f}×' for x in ratios)})" if len(ratios) > 1 else ""
            row("speed-up 1 → 2 threads (median of each round's ratio)", "near-linear (≥ 1.8×)",
                f"{sp:.2f}×{each}", ok(sp >= 1.8))
        for t in (1, 2):
            if runs[t]:
                rss = max(x for _, _, _, x in runs[t])
                if t == 2 and "evalsmall_rss_kb" in r:
                    small = _mb(r["evalsmall_rss_kb"])
                    row(f"evaluate, 2 threads: peak RSS, {k} vs {r.get('small_count')} snapshots",
                        "bounded (< 2× for 10× the snapshots)",
                        f"{rss:.1f} MB vs {small:.1f} MB ({r.get('small_count')} took {num('evalsmall_wall'):.2f} s)",
                        ok(rss < 2 * small))
                else:
                    row(f"evaluate {k} snapshots, {t} thread(s): peak RSS (largest of the runs)", "",
                        f"{rss:.1f} MB", "info")
    else:
        row("evaluate synthetic snapshots", "≤ 5 s on 2 threads", "not run", "")

    if "cold_wall" in r:
        w = num("cold_wall")
        row("cold `cargo build --release` (clean target dir)", "≤ 8 min",
            f"{int(w // 60)} min {w % 60:04.1f} s (CPU {num('cold_cpu') / 60:.1f} min; exit {r.get('cold_rc')})",
            ok(w <= 480 and r.get("cold_rc") == "0"))
    else:
        row("cold `cargo build --release`", "≤ 8 min", "not run (bench/run --cold-build)", "")

    print("| metric | target | measured | verdict |")
    print("|---|---|---|---|")
    for cells in rows:
        print("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "timev":
        timev(*args)
    elif cmd == "moto-requests":
        moto_requests(args[0], int(args[1]), int(args[2]))
    elif cmd == "api-calls":
        api_calls(*args)
    elif cmd == "org-calls":
        org_calls(*args)
    elif cmd == "slice-targets":
        slice_targets(*args)
    elif cmd == "report":
        report(*args)
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
