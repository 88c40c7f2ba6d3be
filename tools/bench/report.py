#!/usr/bin/env python3
"""report.py DIR - turn DIR/host.json and DIR/kernel.json (tools/bench/run.py)
into DIR/report.md and PNG plots (gnuplot): host time and peak-RSS ratios of
hartalloc against each peer, kernel throughput against harts per alloc_type.
Either file may be missing; its sections are then left out.
"""
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile

PEERS = ["mimalloc", "glibc", "jemalloc", "tcmalloc"]
HOST_ALLOCS = ["hartalloc"] + PEERS
SUMMARY = {}  # figures the README summary repeats, filled by the sections
THREAD_LOCAL = ["glibc-thread", "glibc-simple", "cache-thrash", "malloc-large"]


def load(path):
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def geomean(xs):
    xs = [x for x in xs if x and x > 0]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def fmt(x, digits=2):
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def order(names, preferred):
    return [n for n in preferred if n in names] + sorted(n for n in names if n not in preferred)


def meta_lines(meta):
    pk = ", ".join(f"{k} {v}" for k, v in sorted(meta.get("packages", {}).items()))
    m = meta["machine"]
    return [f"- Measured {meta['date_utc']} at commit `{meta['git_commit'][:12]}`"
            + (" (with uncommitted changes)" if meta.get("git_dirty") else "")
            + f" on {m['cpu']}, {m['cores']} cores, Linux {m['kernel']}; load average "
            f"{m.get('loadavg_at_start', '?')} at start, {meta.get('loadavg_at_end', '?')} at end.",
            f"- Compilers: {meta['compiler']}; {meta.get('rv_compiler', '')}. {meta.get('qemu', '')}.",
            f"- Packages: {pk}."]


def gnuplot(script, outdir):
    r = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True, cwd=outdir)
    if r.returncode != 0:
        print("gnuplot failed:\n" + r.stderr, file=sys.stderr)


def multiplot(name, panels, cols, panel_w, panel_h, title):
    """The opening lines of a gnuplot script drawing `panels` plots into one
    PNG, `cols` to a row."""
    rows = (panels + cols - 1) // cols
    return [f'set terminal pngcairo size {panel_w * cols},{panel_h * rows + 40} font "sans,9"',
            f'set output "{name}"', f'set multiplot layout {rows},{cols} title "{title}"']


# ---- host ------------------------------------------------------------------

def host_medians(data):
    """{(threads, workload, alloc): (median ns, median maxrss KiB, n ok, n runs)}"""
    groups = {}
    for r in data["runs"]:
        groups.setdefault((r["threads"], r["workload"], r["alloc"]), []).append(r)
    med = {}
    for k, rs in groups.items():
        ok = [r for r in rs if r["ok"]]
        if ok:
            med[k] = (statistics.median(r["ns"] for r in ok),
                      statistics.median(r["maxrss_kb"] for r in ok), len(ok), len(rs))
        else:
            med[k] = (None, None, 0, len(rs))
    return med


def host_section(data, outdir):
    meta, med = data["meta"], host_medians(data)
    out = ["## Host (x86_64, LD_PRELOAD)", ""]
    out += [f"Each workload runs as a plain pthread program (`tools/bench/host_main.c`) under each "
            f"allocator; {meta['reps']} repetitions, interleaved across allocators; the median "
            f"time of the workload (between the harness's start and end barriers) and the median "
            f"peak RSS (VmHWM) are shown. Ratios are hartalloc / peer: below 1.0 hartalloc is "
            f"faster or smaller.", ""]
    out += meta_lines(meta) + [""]
    plots = []
    for t in sorted({k[0] for k in med}):
        workloads = order({k[1] for k in med if k[0] == t}, meta.get("workloads") or [])
        for what, idx, unit, conv in (("time", 0, "ms", 1e-6), ("peak RSS", 1, "MiB", 1 / 1024)):
            out += [f"### {t} threads: {what} ({unit}, median) and ratio hartalloc / peer", ""]
            out.append("| workload | " + " | ".join(HOST_ALLOCS) + " | "
                       + " | ".join(f"/{p}" for p in PEERS) + " |")
            out.append("|---" * (1 + len(HOST_ALLOCS) + len(PEERS)) + "|")
            ratios = {p: {} for p in PEERS}  # peer -> {workload: ratio}
            for w in workloads:
                vals = {a: med.get((t, w, a), (None,) * 4) for a in HOST_ALLOCS}
                cells = []
                for a in HOST_ALLOCS:
                    v = vals[a][idx]
                    bad = vals[a][2] < vals[a][3]
                    cells.append(("FAIL" if v is None else fmt(v * conv, 1 if unit == "MiB" else 2))
                                 + (f" ({vals[a][2]}/{vals[a][3]} ok)" if bad and v is not None else ""))
                for p in PEERS:
                    h, pv = vals["hartalloc"][idx], vals[p][idx]
                    if h and pv:
                        ratios[p][w] = h / pv
                out.append(f"| {w} | " + " | ".join(cells) + " | "
                           + " | ".join(fmt(ratios[p].get(w)) for p in PEERS) + " |")
            gm = {p: geomean(ratios[p].values()) for p in PEERS}
            out.append("| **geometric mean** |" + " |" * len(HOST_ALLOCS) + " "
                       + " | ".join(f"**{fmt(gm[p])}**" for p in PEERS) + " |")
            out.append("")
            SUMMARY.setdefault("host", {})[(t, what)] = (ratios, gm, workloads)
            if idx == 0:
                out += host_targets_time(gm, ratios)
            else:
                above = [f"{w} {r:.2f}" for w, r in ratios["mimalloc"].items() if r > 1.0]
                out += [f"Target: peak RSS geometric mean at or below 1.10 x mimalloc: "
                        f"{fmt(gm['mimalloc'])} -> **{'met' if gm['mimalloc'] <= 1.10 else 'missed'}**; "
                        f"at or below mimalloc on every workload: **{'met' if not above else 'missed'}**"
                        + (f" ({', '.join(above)})" if above else "") + ".", ""]
            name = f"host-{'time' if idx == 0 else 'rss'}-t{t}.png"
            plots.append(name)
            host_plot(outdir, name, workloads, med, t, idx,
                      f"{what}: hartalloc / peer ({t} threads; below 1 = hartalloc better)")
            out += [f"![{what} ratios, {t} threads]({name})", ""]
    frag = [r for r in data["runs"] if r["ok"] and r.get("mem")]
    if frag:
        out += ["### frag: RSS growth after the fragmenting phases (MiB, median): peak / final", "",
                "| threads | " + " | ".join(HOST_ALLOCS) + " |", "|---" * (1 + len(HOST_ALLOCS)) + "|"]
        for t in sorted({r["threads"] for r in frag}):
            cells = []
            for a in HOST_ALLOCS:
                rs = [r["mem"] for r in frag if r["threads"] == t and r["alloc"] == a]
                cells.append(f"{statistics.median(m['peak'] for m in rs) / 2**20:.1f} peak / "
                             f"{statistics.median(m['final'] for m in rs) / 2**20:.1f} final" if rs else "n/a")
            out.append(f"| {t} | " + " | ".join(cells) + " |")
        out.append("")
    return out, plots


def host_targets_time(gm, ratios):
    mi = ratios["mimalloc"]
    worst = max(mi.items(), key=lambda kv: kv[1], default=(None, None))
    over = [f"{w} {r:.2f}" for w, r in mi.items() if r > 1.15]
    lines = [f"Targets: geometric mean vs mimalloc at or below 1.0: {fmt(gm['mimalloc'])} -> "
             f"**{'met' if gm['mimalloc'] <= 1.0 else 'missed'}**; no workload above 1.15: worst "
             f"{worst[0]} {fmt(worst[1])} -> **{'met' if not over else 'missed'}**"
             + (f" ({', '.join(over)})" if over else "") + "; ahead of "
             + ", ".join(f"{p} ({fmt(gm[p])}: {'met' if gm[p] < 1.0 else 'missed'})"
                         for p in ("glibc", "jemalloc", "tcmalloc")) + ".", ""]
    return lines


def host_plot(outdir, name, workloads, med, t, idx, title):
    with tempfile.NamedTemporaryFile("w", suffix=".dat", delete=False) as f:
        for w in workloads:
            h = med.get((t, w, "hartalloc"), (None,) * 4)[idx]
            vals = []
            for p in PEERS:
                pv = med.get((t, w, p), (None,) * 4)[idx]
                vals.append(f"{h / pv:.4f}" if h and pv else "NaN")
            f.write(f"{w} " + " ".join(vals) + "\n")
        dat = f.name
    gnuplot(f"""
set terminal pngcairo size 1100,480 font "sans,10"
set output "{name}"
set title "{title}"
set style data histogram
set style histogram cluster gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set logscale y 2
set yrange [0.015625:16]
set ytics ("1/64" 0.015625, "1/32" 0.03125, "1/16" 0.0625, "1/8" 0.125, "1/4" 0.25, "1/2" 0.5, "1" 1, "2" 2, "4" 4, "8" 8, "16" 16)
set grid ytics
set xtics rotate by -30
set key top left
set arrow from graph 0, first 1 to graph 1, first 1 nohead lw 2 lc rgb "black"
plot "{dat}" using 2:xtic(1) title "vs mimalloc", "" using 3 title "vs glibc", \\
     "" using 4 title "vs jemalloc", "" using 5 title "vs tcmalloc"
""", outdir)
    os.unlink(dat)


# ---- thread sweep and memory given back (issue 15) -------------------------
SWEEP_ORDER = ["hartalloc", "hartalloc-cpus2", "mimalloc", "glibc"]


def sweep_section(data, outdir):
    meta, med = data["meta"], {}
    for key in {(r["threads"], r["config"]) for r in data["runs"] if r.get("ok")}:
        rs = [r for r in data["runs"] if r.get("ok") and (r["threads"], r["config"]) == key]
        med[key] = (statistics.median(r["ns"] for r in rs) / 1e6,
                    statistics.median(r["maxrss_kb"] for r in rs) / 1024,
                    statistics.median(r["cpu_ns"] for r in rs) / 1e6)
    threads = sorted({t for t, _ in med})
    configs = [c for c in SWEEP_ORDER if any(c == k for _, k in med)]
    out = ["## Thread sweep (host, `make bench-sweep`)", "",
           f"`tools/bench/thread_sweep.c` under LD_PRELOAD: T threads started together, "
           f"{meta['total_rounds']:,} rounds of 64 mallocs (16..520 bytes) and 64 frees split "
           f"evenly over them, so every T does the same work; median of {meta['reps']} runs, "
           f"interleaved. `hartalloc-cpus2` is HARTALLOC_CPUS=2: no slot to lease, every thread "
           f"shares the two heaps (one per CPU of this machine), which shows whether threads that "
           f"outnumber the heaps wait for each other. The machine is shared with other jobs (see the load "
           f"average): wall time mostly says how much of it a run got, so the first table gives the "
           f"process's CPU time (user + system, spinning included) and the second the wall time "
           f"from the first thread's start to the last one's end.", ""] + meta_lines(meta) + [""]
    for title, idx in (("CPU ms", 2), ("wall ms", 0)):
        out += ["| threads | " + " | ".join(f"{c} {title}" for c in configs) +
                " | hartalloc / mimalloc |" + ("".join(f" {c} peak MiB |" for c in configs) if idx == 2 else ""),
                "|---:|" + "---:|" * (len(configs) + 1) + ("---:|" * len(configs) if idx == 2 else "")]
        for t in threads:
            vals = [med.get((t, c), (None, None, None))[idx] for c in configs]
            h, m = med.get((t, "hartalloc"), (None,) * 3)[idx], med.get((t, "mimalloc"), (None,) * 3)[idx]
            row = f"| {t} | " + " | ".join(fmt(x, 1) for x in vals) + f" | {fmt(h / m) if h and m else 'n/a'} |"
            if idx == 2:
                row += "".join(f" {fmt(med.get((t, c), (None, None, None))[1], 1)} |" for c in configs)
            out.append(row)
        out.append("")
    with tempfile.NamedTemporaryFile("w", suffix=".dat", delete=False) as f:
        for t in threads:
            f.write(f"{t} " + " ".join(f"{med[(t, c)][2]:.3f}" if (t, c) in med else "NaN"
                                       for c in configs) + "\n")
        dat = f.name
    plots = ", ".join(f'"{dat}" using 1:{i + 2} with linespoints title "{c}"' for i, c in enumerate(configs))
    gnuplot(f"""
set terminal pngcairo size 900,480 font "sans,10"
set output "host-thread-sweep.png"
set title "Same total work split over T threads (lower is better)"
set logscale x 2
set logscale y 2
set xlabel "threads"
set ylabel "CPU ms (median)"
set grid
set key top left
plot {plots}
""", outdir)
    os.unlink(dat)
    out += ["", "![thread sweep](host-thread-sweep.png)", ""]
    return out


def memory_section(data):
    meta, rows = data["meta"], {}
    for r in data["runs"]:
        rows.setdefault((r["check"], r["alloc"]), []).append(r)
    out = ["## Memory given back (host, `make bench-memory`)", "",
           "`arch/host/preload/memory_return.c` under LD_PRELOAD (also a test in `make test`), "
           "resident memory from /proc/self/statm. remote-freed: one thread allocates ~64 MiB of "
           "64-byte blocks and exits, the main thread frees them all 1.5 s later. huge-block: malloc(512 MiB), write every page, "
           "free. free-everything: 4 threads allocate ~200 MiB in 16 B..96 KiB blocks (a quarter freed "
           "by another thread), free everything and exit. \"end\" is resident memory when it fell "
           "within the check's bound (start + 10% + 1 MiB; start + 64 MiB; start + 10% + 256 KiB), or after the whole "
           f"wait (5 s; 3 s; 5 s) when it did not; median of {meta['reps']} runs.", ""] + meta_lines(meta) + ["",
           "| check | allocator | start MiB | peak MiB | end MiB | ms after the last free |",
           "|---|---|---:|---:|---:|---:|"]
    for (check, alloc), rs in sorted(rows.items(), key=lambda kv: (kv[0][0], order_alloc(kv[0][1]))):
        med = {k: statistics.median(r[k] for r in rs) for k in ("start_kb", "peak_kb", "end_kb", "ms")}
        out.append(f"| {check} | {alloc} | {med['start_kb'] / 1024:.1f} | {med['peak_kb'] / 1024:.1f} | "
                   f"{med['end_kb'] / 1024:.1f} | {med['ms']:.0f} |")
    return out + [""]


def order_alloc(a):
    return ["hartalloc", "mimalloc", "glibc"].index(a) if a in ("hartalloc", "mimalloc", "glibc") else 9


# ---- kernel ----------------------------------------------------------------

def kernel_section(data, outdir):
    meta = data["meta"]
    tput = {}  # (workload, alloc, harts) -> Mops/s (median over runs)
    groups = {}
    for r in data["runs"]:
        groups.setdefault((r["workload"], r["alloc"], r["harts"]), []).append(r)
    skipped, timed_out = set(), set()
    for k, rs in groups.items():
        ok = [r["ops"] / r["ns"] * 1e3 for r in rs if r["ok"] and r["ns"] > 0]
        tput[k] = statistics.median(ok) if ok else None
        if not ok and all(r.get("skipped") for r in rs):
            skipped.add(k)
        elif not ok and all(r.get("rc") == 124 for r in rs):
            timed_out.add(k)
    workloads = order({k[0] for k in tput}, meta.get("workloads") or [])
    allocs = order({k[1] for k in tput}, ["mi", "mi-locked", "tlsf", "buddy", "slab",
                                          "first-fit", "best-fit", "worst-fit"])
    harts = sorted({k[2] for k in tput})
    accel = {"mt": "multi-threaded TCG (`-accel tcg,thread=multi`)",
             "single": "single-threaded TCG (`-accel tcg,thread=single`)"}.get(meta["accel"], meta["accel"])
    out = ["## Kernel (riscv64 under QEMU)", "",
           f"One boot per workload x alloc_type x harts (`bench=<workload> scale=<n>`), QEMU virt "
           f"with {meta['mem']} RAM, {accel}. Throughput = ops / elapsed `rdtime` of the run (all "
           f"harts between the harness's barriers), in million ops per second of guest time. Each "
           f"workload's work is per hart (mpsc's is a fixed total), and from 2 harts up the runner "
           f"halves the per-hart scale each time the harts double, so every boot of a pair does "
           f"about the same total work. "
           f"Each workload x alloc_type is probed at scale 1 on one hart and then run at the "
           f"scale that keeps the 1-hart run near {meta.get('target_ns', 0) / 1e6:.0f} ms of guest "
           f"time (at most {meta.get('max_scales')}), so slow allocators do less work; the scale is "
           f"in the JSON. `slow`: skipped after a boot of the same pair took over "
           f"{meta.get('slow_s', '?')} s; `timeout`: the boot passed the {meta.get('timeout_s', '?')} s limit. Under TCG the 2 host cores bound the speed-up: beyond 2 "
           f"harts a perfect allocator keeps throughput flat, not rising.", ""]
    out += meta_lines(meta)
    for m in meta.get("merged", []):
        out.append(f"- Re-measured {m['date_utc']} (commit `{m['git_commit'][:12]}`, load average "
                   f"{m['loadavg'][0]} .. {m['loadavg'][1]}), median of {m['kernel_reps']} boots "
                   f"per point: {', '.join(m['workloads'])}"
                   + (f" (alloc_types {', '.join(m['allocs'])} only; the others keep their earlier runs)"
                      if m.get("allocs") else "") + ".")
    spread = []  # max/min throughput over the boots of one point
    for k, rs in groups.items():
        ok = [r["ops"] / r["ns"] for r in rs if r["ok"] and r["ns"] > 0]
        if len(ok) > 1:
            spread.append((max(ok) / min(ok), k))
    if spread:
        spread.sort()
        worst = spread[-1]
        out.append(f"- Repeatability: over the {len(spread)} points booted more than once, the "
                   f"fastest boot was at most {worst[0]:.2f}x the slowest ({'/'.join(map(str, worst[1]))} "
                   f"harts), median spread {statistics.median(x for x, _ in spread):.2f}x; "
                   f"single-boot points carry the same uncertainty.")
    out.append("")
    for h in harts:
        out += [f"### {h} hart{'s' if h > 1 else ''}: Mops/s", "",
                "| workload | " + " | ".join(allocs) + " | mi / mi-locked |",
                "|---" * (2 + len(allocs)) + "|"]
        for w in workloads:
            vals = [tput.get((w, a, h)) for a in allocs]
            best = max((v for v in vals if v), default=None)
            cells = [("**" + fmt(v, 3) + "**" if v == best else fmt(v, 3)) if v else
                     ("slow" if (w, a, h) in skipped else "timeout" if (w, a, h) in timed_out else "FAIL")
                     for v, a in zip(vals, allocs)]
            mi, ml = tput.get((w, "mi", h)), tput.get((w, "mi-locked", h))
            out.append(f"| {w} | " + " | ".join(cells) + f" | {fmt(mi / ml) if mi and ml else 'n/a'} |")
        out.append("")
    SUMMARY["kernel"] = (tput, workloads, allocs, meta)
    if 4 in harts:
        out += kernel_targets(tput, workloads, allocs)
    frag = [r for r in data["runs"] if r["ok"] and r.get("mem")]
    if frag:
        out += ["### frag: live KiB peak / final, and allocator pages (segments) held peak / final", "",
                "Live bytes are the same for every alloc_type up to size-class rounding. Pages and "
                "segments are reported by mi and mi-locked (64 KiB heap pages and up, 4 MiB "
                "segments); the other types count only ha_alloc_pages pages there, so their "
                "fragmentation is not visible in the kernel (see the host RSS).", "",
                "| harts | " + " | ".join(allocs) + " |", "|---" * (1 + len(allocs)) + "|"]
        for h in harts:
            cells = []
            for a in allocs:
                m = [r["mem"] for r in frag if r["harts"] == h and r["alloc"] == a]
                if m:
                    m = m[0]
                    cells.append(f"{m['peak'] >> 10} / {m['final'] >> 10}; {m['pages_peak']} / "
                                 f"{m['pages_final']} ({m['segments_peak']} / {m['segments_final']})")
                else:
                    cells.append("n/a")
            out.append(f"| {h} | " + " | ".join(cells) + " |")
        out.append("")
    name = "kernel-scaling.png"
    kernel_plot(outdir, name, workloads, allocs, harts, tput, meta["accel"])
    out += [f"![kernel scaling]({name})", ""]
    held_lines, held_plots = held_section(data, outdir, workloads, allocs, harts)
    return out + held_lines, [name] + held_plots


def held_section(data, outdir, workloads, allocs, harts):
    """Peak bytes held / peak live bytes (ha_stats) per workload x alloc_type x harts."""
    ratio, remote = {}, set()
    for r in data["runs"]:
        h = r.get("held")
        # Only the workloads that read the statistics at their peaks: mi's
        # live peak is the highest a report saw (kernel/main.c print_held).
        if r["ok"] and h and h["live_peak"] > 0 and r["workload"] in ("frag", "churn"):
            ratio.setdefault((r["workload"], r["alloc"], r["harts"]), []).append(
                h["held_peak"] / h["live_peak"])
            if h["remote_frees"]:
                remote.add((r["workload"], r["alloc"], r["harts"]))
    if not ratio:
        return [], []
    ratio = {k: statistics.median(v) for k, v in ratio.items()}
    ws = [w for w in workloads if any(k[0] == w for k in ratio)]
    out = ["### Memory held / live (peak bytes, `ha_stats`)", "",
           "After each benchmark the kernel prints the allocator's `bytes_held_peak` and `bytes_peak` "
           "since boot (the boot runs one workload). Held is what the allocator cannot give to a "
           "request of another size: mi's pages and huge runs (empty kept pages included), the other "
           "types' managed bytes less their free bytes (block headers and rounding included; slab: "
           "pages not free and not spare). Held peaks are exact; mi's live peak is the highest total a "
           "statistics report saw, so only the workloads that read the statistics at their peaks "
           "(frag, churn) are shown. mi sums per-CPU figures, which overstate the live peak when "
           "blocks are freed on other CPUs (marked `*`: the ratio is then too low). Lower is better; "
           "1.00 would hold nothing beyond the live bytes.", ""]
    for h in harts:
        if not any(k[2] == h for k in ratio):
            continue
        out += [f"#### {h} hart{'s' if h > 1 else ''}", "",
                "| workload | " + " | ".join(allocs) + " |", "|---" * (1 + len(allocs)) + "|"]
        for w in ws:
            cells = [(fmt(ratio[(w, a, h)]) + ("*" if (w, a, h) in remote else ""))
                     if (w, a, h) in ratio else "n/a" for a in allocs]
            out.append(f"| {w} | " + " | ".join(cells) + " |")
        out.append("")
    frag = {(r["alloc"], r["harts"]): r["mem"] for r in data["runs"]
            if r["ok"] and r["workload"] == "frag" and r.get("mem", {}).get("held_peak")}
    if frag:
        out += ["frag, sampled together after step 3 of each round (the live peak): peak held / peak "
                "live, KiB (ratio).", "",
                "| harts | " + " | ".join(allocs) + " |", "|---" * (1 + len(allocs)) + "|"]
        for h in harts:
            cells = [f"{frag[(a, h)]['held_peak'] >> 10} / {frag[(a, h)]['peak'] >> 10} "
                     f"({frag[(a, h)]['held_peak'] / max(frag[(a, h)]['peak'], 1):.2f})"
                     if (a, h) in frag else "n/a" for a in allocs]
            out.append(f"| {h} | " + " | ".join(cells) + " |")
        out.append("")
        mi8 = frag.get(("mi", 8))
        if mi8:
            r = mi8["held_peak"] / max(mi8["peak"], 1)
            out += [f"- Target: mi's peak bytes held / peak live on frag at 8 harts at most 1.5: "
                    f"{r:.2f}, " + ("**met**." if r <= 1.5 else
                                    f"**missed** by {r / 1.5:.2f}x (alloc/mi/README.md, "
                                    "\"What a heap holds and gives back\", says why)."), ""]
    name = "kernel-held.png"
    tmp = tempfile.mkdtemp()
    with open(os.path.join(tmp, "held.dat"), "w") as f:
        for h in harts:
            f.write(f"{h} " + " ".join(fmt(ratio.get(("frag", a, h)) or float("nan"), 4)
                                       for a in allocs) + "\n")
    dat = os.path.join(tmp, "held.dat")
    plots = [f'"{dat}" using 1:{j + 2} with linespoints lw 2 title "{a}"' for j, a in enumerate(allocs)]
    gnuplot("\n".join([
        'set terminal pngcairo size 700,420 font "sans,9"', f'set output "{name}"',
        'set title "frag: peak bytes held / peak live bytes vs harts (kernel)"',
        "set logscale x", "set xtics (1, 2, 4, 8)", "set grid", "set key outside right",
        "set yrange [0:*]", "set datafile missing 'n/a'", "plot " + ", ".join(plots)]) + "\n", outdir)
    out += [f"![held / live]({name})", ""]
    return out, [name]


def kernel_targets(tput, workloads, allocs):
    lines = ["### Kernel targets (4 harts)", ""]
    ratios = []
    for w in THREAD_LOCAL:
        mi, ml = tput.get((w, "mi", 4)), tput.get((w, "mi-locked", 4))
        if mi and ml:
            ratios.append(f"{w} {mi / ml:.2f}x {'met' if mi / ml >= 3 else 'MISSED'}")
    lines.append("- `mi` at least 3x `mi-locked` on the thread-local workloads: " + "; ".join(ratios) + ".")
    behind = []
    for w in workloads:
        mi = tput.get((w, "mi", 4))
        for a in allocs:
            v = tput.get((w, a, 4))
            if a != "mi" and v and (not mi or v > mi):
                behind.append(f"{w}: {a} {v:.3f} vs mi {fmt(mi, 3)} ({v / mi:.2f}x)" if mi else f"{w}: mi failed")
    lines.append("- `mi` ahead of every other alloc_type on every workload: "
                 + ("**met**." if not behind else "**missed** on " + "; ".join(behind) + "."))
    lines.append("")
    return lines


def kernel_plot(outdir, name, workloads, allocs, harts, tput, accel):
    tmp = tempfile.mkdtemp()
    for w in workloads:
        with open(os.path.join(tmp, f"{w}.dat"), "w") as f:
            for h in harts:
                f.write(f"{h} " + " ".join(fmt(tput.get((w, a, h)) or float("nan"), 5)
                                           for a in allocs) + "\n")
    script = multiplot(name, len(workloads), 5, 300, 300,
                       f"Kernel throughput (Mops/s, log) vs harts, QEMU TCG {accel}") + [
              "set logscale xy", "set xtics (1, 2, 4, 8)", "set grid", "set key off",
              "set datafile missing 'n/a'"]
    for i, w in enumerate(workloads):
        dat = os.path.join(tmp, f"{w}.dat")
        if i == 0:
            script.append("set key bottom left font ',7'")
        elif i == 1:
            script.append("set key off")
        plots = [f'"{dat}" using 1:{j + 2} with linespoints lw 2 title "{a}"'
                 for j, a in enumerate(allocs)]
        script += [f'set title "{w}"', "plot " + ", ".join(plots)]
    script.append("unset multiplot")
    gnuplot("\n".join(script) + "\n", outdir)


def tcg_section(modes):
    """The once-off comparison that chose the TCG mode of make bench-qemu."""
    runs = {}
    for m, data in modes.items():
        for r in data["runs"]:
            runs[(m, r["workload"], r["alloc"], r["harts"])] = r
    keys = sorted({k[1:] for k in runs}, key=lambda k: (k[0], k[1], k[2]))
    meta = modes["mt"]["meta"]
    out = ["## TCG mode: multi-threaded vs single-threaded", "",
           f"Measured once ({meta['date_utc']}, load average {meta['machine']['loadavg_at_start']}) "
           f"with `run.py qemu --accel mt|single` on a subset; Mops/s (wall seconds of the boot).", "",
           "| workload | alloc | harts | mt | single |", "|---|---|---|---|---|"]
    def cell(r):
        if not r:
            return "n/a"
        if r.get("skipped"):
            return "skipped"
        return f"{r['ops'] / r['ns'] * 1e3:.3f} ({r['boot_s']:.1f} s)" if r["ok"] else f"timeout ({r['boot_s']:.0f} s)"
    for w, a, h in keys:
        out.append(f"| {w} | {a} | {h} | {cell(runs.get(('mt', w, a, h)))} | "
                   f"{cell(runs.get(('single', w, a, h)))} |")
    out.append("")
    return out


def icount_section(data):
    """Guest instructions per op at 1 hart under -icount (make bench-icount):
    the kernel path's cost with no host noise in it."""
    runs = [r for r in data["runs"] if r.get("ok") and r.get("ns") and r.get("harts") == 1]
    workloads = order({r["workload"] for r in runs}, data["meta"]["workloads"])
    allocs = order({r["alloc"] for r in runs}, data["meta"]["allocs"])
    per_op = {(r["workload"], r["alloc"]): r["ns"] / r["ops"] for r in runs}
    out = ["## Kernel: guest instructions per operation (1 hart, `-icount`, `make bench-icount`)", "",
           "QEMU's `-icount shift=0` makes guest time count guest instructions, so `ns / ops` below is "
           "the riscv64 instructions one operation of the workload takes, allocator and workload "
           "together, identical on every run. It measures the code path, not parallelism or the "
           "memory system.", ""]
    out += meta_lines(data["meta"])
    out += ["", "| workload | " + " | ".join(allocs) + " |", "|---|" + "---|" * len(allocs)]
    for w in workloads:
        out.append(f"| {w} | " + " | ".join(fmt(per_op.get((w, a)), 0) if (w, a) in per_op else "-"
                                           for a in allocs) + " |")
    out.append("")
    return out


def usable_section(data):
    """malloc_usable_size of 2^k and 2^k + 1 (make bench-usable)."""
    names = list(data)
    size = {n: dict((req, got) for req, got in data[n]) for n in names}
    reqs = sorted(size[names[0]])
    out = ["## Usable size of powers of two (`make bench-usable`)", "",
           "`malloc_usable_size(malloc(n))` under LD_PRELOAD of build/host/libhartalloc.so (each "
           "alloc_type by `HARTALLOC_TYPE`, a 1 GiB region) and of libmimalloc, for n = 2^k and "
           "2^k + 1; 0: malloc returned NULL. The last rows are over every size measured (2^k - 1, "
           "2^k, 2^k + 1 and 1.5 x 2^k from 16 bytes to 64 MiB): the largest usable / n, and how "
           "many powers of two got exactly n.", "",
           "| n | " + " | ".join(names) + " |", "|---" * (1 + len(names)) + "|"]
    for n in reqs:
        if n & (n - 1) == 0 or (n - 1) & (n - 2) == 0:
            out.append(f"| {n:,} | " + " | ".join(f"{size[a].get(n, 0):,}" for a in names) + " |")
    worst = {a: max(got / req for req, got in size[a].items() if got) for a in names}
    exact = {a: sum(1 for req, got in size[a].items() if req & (req - 1) == 0 and got == req) for a in names}
    pows = sum(1 for n in reqs if n & (n - 1) == 0)
    out.append("| **largest usable / n** | " + " | ".join(f"**{worst[a]:.2f}**" for a in names) + " |")
    out.append(f"| **2^k exact (of {pows})** | " + " | ".join(f"**{exact[a]}**" for a in names) + " |")
    out.append("")
    return out


def kernel_pair_section(pair, count, before=None):
    """The kernel pair (make bench-pair-kernel): instructions per ha_alloc(32, 8)
    + ha_dealloc, measured under -icount for every alloc_type, and the hit
    paths counted in the disassembly (tools/bench/fastpath-count.py)."""
    out = ["## Kernel: instructions per ha_alloc(32, 8) + ha_dealloc pair (`make bench-pair-kernel`)", ""]
    if pair:
        out += ["`bench=pair` (tests/bench/pair.c) on 1 hart under `-icount`: a loop of `ha_alloc(32, 8)` "
                "and `ha_dealloc` with one block kept live, so the page never empties. *loop* is the "
                "same loop calling two functions that only return (their two `ret`s excluded); "
                "*allocator* = *pair* - *loop*: the ABI entry points, the dispatch and the backend, "
                "plus the slow paths the loop meets (for mi, refilling the page's free list from its "
                "`local_free` every few hundred pairs).", ""]
        out += meta_lines(pair["meta"])
        old = {r["alloc"]: r for r in (before or {}).get("runs", []) if r.get("ok")}
        if old:
            out += ["", f"*before*: the allocator share measured the same way on "
                        f"{before['meta'].get('git_commit', '?')} (`kernel-pair-before.json`)."]
        out += ["", "| alloc_type | pair | loop | allocator |" + (" before |" if old else ""),
                "|---|---:|---:|---:|" + ("---:|" if old else "")]
        for r in pair["runs"]:
            prev = f" {fmt(old[r['alloc']]['allocator'])} |" if r["alloc"] in old else (" - |" if old else "")
            if r.get("ok"):
                out.append(f"| {r['alloc']} | {fmt(r['per_pair'])} | {fmt(r['loop'])} | "
                           f"**{fmt(r['allocator'])}** |" + prev)
            else:
                out.append(f"| {r['alloc']} | failed | | |" + prev)
        out.append("")
    if count:
        out += ["Hit paths counted in the disassembly (`tools/bench/fastpath-count.py "
                "build/riscv64/kernel.elf --rust <Rust kernel>`, run by `make bench-pair-kernel`; the "
                "instruction listing is in alloc/mi/README.md):", "",
                "| image | path | instructions | by function |", "|---|---|---:|---|"]
        for r in count["paths"]:
            out.append(f"| {r['image']} | {r['path']} | {r['total']} | "
                       + " + ".join(f"`{p['function']}` {p['instructions']}" for p in r["parts"]) + " |")
        for image, n in count["pairs"].items():
            out.append(f"| {image} | **pair** | **{n}** | |")
        out.append("")
    return out


def summary(outdir, host, pair_lines):
    """The README's Benchmarks section: the headline tables, linking the rest."""
    rel = outdir.rstrip("/")
    out = ["## Benchmarks", "",
           f"Latest measured figures (generated by `make bench` / `make bench-qemu` into "
           f"[{rel}/report.md]({rel}/report.md), which has every table, the machine, the versions "
           f"and the method; raw runs in `{rel}/host.json`, `{rel}/kernel.json`).", ""]
    hs = SUMMARY.get("host", {})
    for t in sorted({k[0] for k in hs}):
        ratios, gm, workloads = hs[(t, "time")]
        rss, rgm, _ = hs.get((t, "peak RSS"), ({p: {} for p in PEERS}, {p: float("nan") for p in PEERS}, []))
        out += [f"Host, {t} threads, {host['meta']['reps']} runs each (median): hartalloc time / peer "
                f"and peak RSS / mimalloc (below 1 = hartalloc better).", "",
                "| workload | " + " | ".join(f"time /{p}" for p in PEERS) + " | RSS /mimalloc |",
                "|---" * (2 + len(PEERS)) + "|"]
        for w in workloads:
            out.append(f"| {w} | " + " | ".join(fmt(ratios[p].get(w)) for p in PEERS)
                       + f" | {fmt(rss['mimalloc'].get(w))} |")
        out.append("| **geometric mean** | " + " | ".join(f"**{fmt(gm[p])}**" for p in PEERS)
                   + f" | **{fmt(rgm['mimalloc'])}** |")
        out += ["", f"![host time ratios]({rel}/host-time-t{t}.png)", ""]
    if "kernel" in SUMMARY:
        tput, workloads, allocs, meta = SUMMARY["kernel"]
        h = 4 if any(k[2] == 4 for k in tput) else max(k[2] for k in tput)
        out += [f"Kernel (riscv64, QEMU TCG {meta['accel']}), {h} harts, Mops/s of guest time:", "",
                "| workload | mi | mi-locked | best other (alloc_type) | mi / mi-locked |", "|---|---|---|---|---|"]
        for w in workloads:
            mi, ml = tput.get((w, "mi", h)), tput.get((w, "mi-locked", h))
            others = [(tput.get((w, a, h)), a) for a in allocs if a != "mi" and tput.get((w, a, h))]
            best = max(others, default=(None, "n/a"))
            out.append(f"| {w} | {fmt(mi, 3)} | {fmt(ml, 3)} | {fmt(best[0], 3)} ({best[1]}) | "
                       f"{fmt(mi / ml) if mi and ml else 'n/a'} |")
        out += ["", f"![kernel scaling]({rel}/kernel-scaling.png)", ""]
    if pair_lines:
        out += ["Instructions per malloc(32)+free pair (callgrind, steady state):", "", "```"]
        out += pair_lines + ["```", ""]
    return out


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else "docs/bench"
    host, kernel = load(os.path.join(outdir, "host.json")), load(os.path.join(outdir, "kernel.json"))
    out = ["# hartalloc benchmarks", "",
           "Generated by `tools/bench/report.py` from `host.json`, `sweep.json`, `memory.json` (`make bench`) and `kernel.json` "
           "(`make bench-qemu`) in this directory; the workloads are in `tests/bench/`. "
           "Every figure below was measured; the raw runs, machine, versions and commit are in the "
           "JSON files.", ""]
    if host:
        lines, _ = host_section(host, outdir)
        out += lines
    sweep, memory = load(os.path.join(outdir, "sweep.json")), load(os.path.join(outdir, "memory.json"))
    if sweep:
        out += sweep_section(sweep, outdir)
    if memory:
        out += memory_section(memory)
    if kernel:
        lines, _ = kernel_section(kernel, outdir)
        out += lines
    modes = {m: load(os.path.join(outdir, f"tcg-{m}.json")) for m in ("mt", "single")}
    if all(modes.values()):
        out += tcg_section(modes)
    icount = load(os.path.join(outdir, "kernel-icount.json"))
    if icount:
        out += icount_section(icount)
    usable = load(os.path.join(outdir, "usable.json"))
    if usable:
        out += usable_section(usable)
    kpair, kcount = load(os.path.join(outdir, "kernel-pair.json")), load(os.path.join(outdir, "fastpath-count.json"))
    if kpair or kcount:
        out += kernel_pair_section(kpair, kcount, load(os.path.join(outdir, "kernel-pair-before.json")))
    latency = load(os.path.join(outdir, "kernel-latency.json"))
    if latency:
        from latency_report import latency_section
        out += latency_section(latency, outdir, meta_lines, order)
    pair = os.path.join(outdir, "callgrind-pair.txt")
    pair_lines = open(pair).read().rstrip().splitlines() if os.path.exists(pair) else []
    if pair_lines:
        out += ["## Instructions per malloc(32)+free pair (callgrind, `make bench-pair`)", "",
                "`tools/bench/callgrind-pair.sh`: (Ir(N1) - Ir(N2)) / (N1 - N2) inside the loop "
                "function, which also holds a live block so the page never falls empty; the loop "
                "itself and the two PLT jumps add the same few instructions to every allocator.",
                "", "```"]
        out += pair_lines + ["```", ""]
    if os.path.exists(os.path.join(outdir, "profile.txt")):
        out += ["## Where the time goes", "",
                "[profile.txt](profile.txt): `make bench-profile W=glibc-thread` (callgrind, self "
                "instructions per function, hartalloc and mimalloc) and the pair loop under hartalloc.", ""]
    for name, lines in (("report.md", out), ("summary.md", summary(outdir, host, pair_lines))):
        with open(os.path.join(outdir, name), "w") as f:
            f.write("\n".join(lines))
        print(f"wrote {os.path.join(outdir, name)}")


if __name__ == "__main__":
    main()
