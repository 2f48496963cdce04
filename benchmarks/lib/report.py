"""Summary, targets and the printed table of a downtime benchmark document."""

DEFINITIONS = {
    "downtime_seconds": "application downtime seen from the host: HTTP GET http://127.0.0.1:<published port>/api/ on "
                        "inventree-server every ~100 ms (1 s timeout); from the last HTTP 200 before the first failed "
                        "probe to the first HTTP 200 after the last failed probe (resolution ~0.1 s)",
    "wall_seconds": "procedure start (raw: first command; upshift: process start) until the command finished AND the app "
                    "answered 200 again (raw pipe includes starting the new server while the app still serves)",
    "command_seconds": "procedure start until the raw script / upshift process finished",
    "disk_peak_bytes": "max of `du -sb <deployment folder>` sampled every 0.5 s (PGDATA, old cluster kept aside, dumps, "
                       "upshift's .upshift folder); disk_before_bytes is the first sample",
    "verification_seconds": "sum of upshift's verification steps in the window (check-snapshot, fingerprint-old, verify-replica, verify) from `upshift log --json --run`",
    "verification_share": "verification_seconds / upshift downtime of the same run",
    "writer": "--writer RATE: a sidecar psql client on the database's compose network inserting one row into bench_writer "
              "(serial id) per attempt, RATE seconds of pause between attempts; committed = inserts acknowledged (psql exit 0, "
              "id returned); failed_attempts = attempts that failed (expected while the database is down or fenced); "
              "lost = committed ids missing from the database after the run (hard failure, exit 3); duplicates = ids acknowledged "
              "twice or present twice (hard failure, exit 3); gaps = ids missing "
              "between the table's smallest and largest id (a sequence may skip, reported only); write_outage_seconds = "
              "the longest time between two acknowledged inserts from the last one before the run on",
}

TARGETS = {
    "upshift_over_raw": 1.10,
    "pg_upgrade_large_over_small": 1.5,
    "parallel_speedup_over_pipe": 1.5,
    "verification_share": 0.15,
}

# The targets of a run with --writer (issue "flat downtime while the application keeps writing"), at the
# smallest and largest scale of the run.
WRITER_TARGETS = {
    "upshift_large_over_small": 1.2,       # dump-1 and pg_upgrade-link
    "link_upshift_over_raw_large": 0.6,    # pg_upgrade-link, raw = hand-run in-window link
    "verification_share_large": 0.10,      # every upshift method run
}


def _runs(size, kind, method):
    return [r for r in size["runs"] if r["kind"] == kind and r["method"] == method and "error" not in r
            and r.get("exit_code") == 0 and r.get("check", {}).get("ok")]


def _run(size, kind, method):
    """The successful run with the median downtime (lower median for an even count), or None."""
    runs = sorted(_runs(size, kind, method), key=lambda r: r["downtime_seconds"])
    return runs[(len(runs) - 1) // 2] if runs else None


def _writer(r):
    w = r and r.get("writer")
    if not w:
        return None
    return {k: w.get(k) for k in ("rate", "committed", "lost", "duplicates", "gaps", "failed_attempts", "unacknowledged", "write_outage_seconds")}


def lost_rows(doc):
    """Runs that lost committed writer rows or duplicated serial ids (or whose table could not be read after a
    successful run): each is a hard failure of the run (exit 3)."""
    out = []
    for size in doc.get("sizes", []):
        for r in size["runs"]:
            w = r.get("writer")
            if not w:
                continue
            if (w.get("lost") or 0) > 0:
                out.append(f"scale {size['scale']} {r['kind']} {r['method']} ({r.get('project')}): {w['lost']} of "
                           f"{w['committed']} committed rows missing, e.g. ids {w.get('lost_ids', [])[:10]}")
            if (w.get("duplicates") or 0) > 0:
                out.append(f"scale {size['scale']} {r['kind']} {r['method']} ({r.get('project')}): {w['duplicates']} duplicate "
                           f"serial ids (acknowledged twice or in the table twice), ids {w.get('duplicate_ids', [])[:10]}")
            if "check_error" in w and r.get("exit_code") == 0:
                out.append(f"scale {size['scale']} {r['kind']} {r['method']} ({r.get('project')}): writer table unreadable "
                           f"after the run: {w['check_error'][-200:]}")
    return out


def _ratio(a, b):
    return round(a / b, 3) if a is not None and b not in (None, 0) else None


def summarize(doc):
    sizes = sorted(doc["sizes"], key=lambda s: s["scale"])
    out = {"per_size": [], "targets": []}
    methods = ["dump-1", "dump-N", "pipe", "pg_upgrade-copy", "pg_upgrade-link", "pg_upgrade-swap"]
    for s in sizes:
        rows = []
        for m in methods:
            r, u = _run(s, "raw", m), _run(s, "upshift", m)
            if not r and not u:
                continue
            row = {"method": m,
                   "raw_downtime": r and r["downtime_seconds"], "upshift_downtime": u and u["downtime_seconds"],
                   "raw_wall": r and r["wall_seconds"], "upshift_wall": u and u["wall_seconds"],
                   "raw_disk_peak": r and r["disk_peak_bytes"], "upshift_disk_peak": u and u["disk_peak_bytes"],
                   "raw_writer": _writer(r), "upshift_writer": _writer(u)}
            row["ratio"] = _ratio(row["upshift_downtime"], row["raw_downtime"])
            row["raw_downtimes_all"] = [x["downtime_seconds"] for x in _runs(s, "raw", m)]
            row["upshift_downtimes_all"] = [x["downtime_seconds"] for x in _runs(s, "upshift", m)]
            if u and u.get("audit"):
                row["verification_seconds"] = u["audit"]["verification_seconds"]
                row["verification_share"] = _ratio(u["audit"]["verification_seconds"], u["downtime_seconds"])
            rows.append(row)
            if row["ratio"] is not None:
                out["targets"].append({"target": f"upshift/raw downtime, {m}, scale {s['scale']}", "value": row["ratio"],
                                       "limit": f"<= {TARGETS['upshift_over_raw']}", "met": row["ratio"] <= TARGETS["upshift_over_raw"]})
        out["per_size"].append({"scale": s["scale"], "database_bytes": s.get("database_bytes"), "rows": rows})
    if len(sizes) >= 2:
        small, large = sizes[0], sizes[-1]
        out["large_over_small"] = {}
        for m in ["pg_upgrade-copy", "pg_upgrade-link", "pg_upgrade-swap", "dump-1", "dump-N", "pipe"]:
            for kind in ("raw", "upshift"):
                a, b = _run(large, kind, m), _run(small, kind, m)
                if a and b:
                    ratio = _ratio(a["downtime_seconds"], b["downtime_seconds"])
                    out["large_over_small"][f"{kind} {m}"] = ratio
                    if m in ("pg_upgrade-link", "pg_upgrade-swap"):
                        out["targets"].append({"target": f"{kind} {m} downtime scale {large['scale']} / scale {small['scale']}",
                                               "value": ratio, "limit": f"<= {TARGETS['pg_upgrade_large_over_small']}",
                                               "met": ratio <= TARGETS["pg_upgrade_large_over_small"]})
    if sizes:
        large = sizes[-1]
        pipe = _run(large, "raw", "pipe")
        out["parallel_vs_pipe_large"] = {}
        for kind in ("upshift", "raw"):
            par = _run(large, kind, "dump-N")
            if pipe and par:
                speedup = _ratio(pipe["downtime_seconds"], par["downtime_seconds"])
                out["parallel_vs_pipe_large"][f"{kind} dump-N"] = speedup
                out["targets"].append({"target": f"pipe downtime / {kind} dump-N downtime, scale {large['scale']}",
                                       "value": speedup, "limit": f">= {TARGETS['parallel_speedup_over_pipe']}",
                                       "met": speedup >= TARGETS["parallel_speedup_over_pipe"]})
        out["verification_large"] = {}
        for m in ("dump-N", "dump-1"):
            u = _run(large, "upshift", m)
            if u and u.get("audit"):
                share = _ratio(u["audit"]["verification_seconds"], u["downtime_seconds"])
                out["verification_large"][m] = {"seconds": u["audit"]["verification_seconds"], "downtime": u["downtime_seconds"], "share": share}
                out["targets"].append({"target": f"verification share of upshift {m} downtime, scale {large['scale']}",
                                       "value": share, "limit": f"<= {TARGETS['verification_share']}",
                                       "met": share <= TARGETS["verification_share"]})
    if any(r.get("writer") for size in sizes for r in size["runs"]):
        # The targets above are for an application that never writes; a writing one has its own.
        out["targets"] = _writer_targets(sizes)
    return out


def _writer_targets(sizes):
    """The writer runs' own targets: flat upshift downtime, link against raw, verification share at scale."""
    targets = []
    small, large = sizes[0], sizes[-1]
    for m in ("dump-1", "pg_upgrade-link"):
        a, b = _run(large, "upshift", m), _run(small, "upshift", m)
        if a and b and large is not small:
            ratio = _ratio(a["downtime_seconds"], b["downtime_seconds"])
            targets.append({"target": f"writer: upshift {m} downtime scale {large['scale']} / scale {small['scale']}", "value": ratio,
                            "limit": f"<= {WRITER_TARGETS['upshift_large_over_small']}", "met": ratio <= WRITER_TARGETS["upshift_large_over_small"]})
        if a and a.get("audit"):
            share = _ratio(a["audit"]["verification_seconds"], a["downtime_seconds"])
            targets.append({"target": f"writer: verification share of upshift {m} downtime, scale {large['scale']}", "value": share,
                            "limit": f"<= {WRITER_TARGETS['verification_share_large']}", "met": share <= WRITER_TARGETS["verification_share_large"]})
    r, u = _run(large, "raw", "pg_upgrade-link"), _run(large, "upshift", "pg_upgrade-link")
    if r and u:
        ratio = _ratio(u["downtime_seconds"], r["downtime_seconds"])
        targets.append({"target": f"writer: upshift/raw downtime, pg_upgrade-link, scale {large['scale']}", "value": ratio,
                        "limit": f"<= {WRITER_TARGETS['link_upshift_over_raw_large']}", "met": ratio <= WRITER_TARGETS["link_upshift_over_raw_large"]})
    return targets


def _f(x, unit="s"):
    if x is None:
        return "-"
    if unit == "MB":
        return f"{x / 1e6:.0f}"
    if unit == "x":
        return f"{x:.2f}"
    return f"{x:.1f}"


def _w(w):
    if not w:
        return "-"
    q = lambda k: "?" if w.get(k) is None else w[k]
    return f"{w['committed']}/{q('lost')}/{q('duplicates')}/{q('gaps')}/{w['failed_attempts']}"


def table(doc):
    s = doc["summary"]
    lines = [f"upshift pg-upgrade 15->18 downtime benchmark {doc['started']}  (engine cores {doc['machine']['engine_cores']}, "
             f"jobs {doc['config']['jobs']}, load {doc['machine']['load_average_start'][0]:.2f} -> "
             f"{doc['machine'].get('load_average_end', [0])[0]:.2f})", ""]
    writing = any(r.get("writer") for size in doc["sizes"] for r in size["runs"])
    head = f"{'scale':>5} {'DB MB':>6} {'method':<16} {'raw down':>8} {'ups down':>8} {'ups/raw':>7} {'raw wall':>8} {'ups wall':>8} {'raw pkMB':>8} {'ups pkMB':>8} {'verif s':>7}"
    if writing:
        head += f" {'raw rows c/lost/dup/gap/fail':>28} {'ups rows c/lost/dup/gap/fail':>28}"
    lines += [head, "-" * len(head)]
    for size in s["per_size"]:
        for r in size["rows"]:
            lines.append(f"{size['scale']:>5} {_f(size['database_bytes'], 'MB'):>6} {r['method']:<16} {_f(r['raw_downtime']):>8} "
                         f"{_f(r['upshift_downtime']):>8} {_f(r['ratio'], 'x'):>7} {_f(r['raw_wall']):>8} {_f(r['upshift_wall']):>8} "
                         f"{_f(r['raw_disk_peak'], 'MB'):>8} {_f(r['upshift_disk_peak'], 'MB'):>8} {_f(r.get('verification_seconds')):>7}"
                         + (f" {_w(r.get('raw_writer')):>28} {_w(r.get('upshift_writer')):>28}" if writing else ""))
    if s.get("large_over_small"):
        lines += ["", "downtime large/small: " + ", ".join(f"{k} {_f(v, 'x')}" for k, v in s["large_over_small"].items())]
    if s.get("parallel_vs_pipe_large"):
        lines.append("pipe downtime / dump-N downtime (large): " + ", ".join(f"{k} {_f(v, 'x')}" for k, v in s["parallel_vs_pipe_large"].items()))
    if s.get("verification_large"):
        lines.append("verification (large): " + ", ".join(
            f"{k} {v['seconds']:.1f} s of {v['downtime']:.1f} s = {100 * v['share']:.0f} %" for k, v in s["verification_large"].items()))
    for sk in doc.get("skipped", []):
        lines.append(f"skipped: scale {sk['scale']} {sk['kind']} {sk['method']}: {sk['reason']}")
    for size in doc["sizes"]:
        for r in size["runs"]:
            if "error" in r or r.get("exit_code") not in (0, None) or not r.get("check", {}).get("ok", False):
                lines.append(f"FAILED: scale {size['scale']} {r['kind']} {r['method']}: "
                             f"{(r.get('error') or r.get('output_tail') or str(r.get('check')))[-300:].strip()}")
            w = r.get("writer")
            if w and (r.get("error") or r.get("exit_code") not in (0, None)):
                lines.append(f"  writer in that failed run: committed {w.get('committed')}, lost {w.get('lost', '?')}, "
                             f"gaps {w.get('gaps', '?')}, failed attempts {w.get('failed_attempts')}"
                             + (f", check error {w['check_error'][-150:]}" if w.get("check_error") else ""))
    if doc["sizes"]:
        large = max(doc["sizes"], key=lambda x: x["scale"])
        lines += ["", f"where the time goes (scale {large['scale']}, median runs; seconds):"]
        for m in ["dump-1", "dump-N", "pipe", "pg_upgrade-copy", "pg_upgrade-link", "pg_upgrade-swap"]:
            r, u = _run(large, "raw", m), _run(large, "upshift", m)
            if r:
                lines.append(f"  raw     {m:<16} " + ", ".join(f"{p['phase']} {p['seconds']:.1f}" for p in r.get("phases", [])))
            if u and u.get("audit"):
                lines.append(f"  upshift {m:<16} " + ", ".join(f"{st['step']} {st['seconds']:.1f}" for st in u["audit"]["steps"]))
    for x in lost_rows(doc):
        lines.append(f"LOST ROWS: {x}")
    if s["targets"]:
        lines += ["", "targets:"]
        lines += [f"  [{'met' if t['met'] else 'MISSED'}] {t['target']}: {_f(t['value'], 'x')} ({t['limit']})" for t in s["targets"]]
    return "\n".join(lines)
