#!/usr/bin/env python3
"""run.py - run the benchmark workloads (tests/bench/) and record the results.

  run.py host      --bin B --preload L [--reps N] [--threads "2"] [--only "w .."] --out F.json
  run.py qemu      [--accel mt|single|icount] [--only "w .."] [--allocs "mi .."] [--harts "1 2 4 8"] --out F.json
  run.py pair      [--allocs "mi .."] [--rust-kernel K] --out F.json   (kernel pair, -icount)
  run.py test-host --bin B --preload L     (make test: each workload once, tiny)
  run.py test-qemu                         (make test: each workload once in the kernel, SMP=2)
  run.py latency   [--only "w .."] [--allocs "mi .."] [--harts "1 4"] --out F.json
  run.py test-latency                      (make test: the latency image's figures hold together)
  run.py sweep     --bin B --preload L [--reps N] [--threads "1 2 .."] --out F.json
  run.py memory    --bin B --preload L [--reps N] --out F.json

Sweep (issue 15): tools/bench/thread_sweep.c at each thread count, the same
total work split over the threads, under hartalloc with its default slots,
hartalloc with HARTALLOC_CPUS=2 (no slot to lease: every thread shares one
heap per CPU), libmimalloc and glibc. Memory: arch/host/preload/
memory_return.c's MEMRET figures (resident memory after frees) under
hartalloc, libmimalloc and glibc.

Host: each workload is run by the plain driver (tools/bench/host_main.c) under
every allocator: hartalloc through LD_PRELOAD of build/host/libhartalloc.so,
glibc (no preload), and Debian's libmimalloc, libjemalloc and libtcmalloc,
also through LD_PRELOAD. Repetitions are interleaved (rep 1 of every
allocator, then rep 2, ...) so a change in the machine's load hits all alike.
Kernel: one QEMU boot per workload x alloc_type x harts, through
tools/qemu-run.sh, with bench=<workload> scale=<n> on the command line.
Every run keeps the BENCH line (ops, ns), for frag the MEM line, and in the kernel the
HELD line (the allocator's peak bytes held and live since boot, ha_stats).
Latency: one boot of build/riscv64/kernel-latency.elf with latency=1 under
-icount per workload (and the alloc suite) x alloc_type x harts; every run
keeps the LAT* lines (kernel/latency.h): per operation the call count, sum,
max, lock waits and the histogram, and the slowest calls.
"""
import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time

WORKLOADS = ["glibc-thread", "glibc-simple", "larson", "mstress", "xmalloc",
             "cache-scratch", "cache-thrash", "mpsc", "malloc-large", "frag", "churn"]

HOST_LIBS = {
    "hartalloc": None,  # --preload
    "glibc": "",
    "mimalloc": "/usr/lib/x86_64-linux-gnu/libmimalloc.so.2",
    "jemalloc": "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2",
    "tcmalloc": "/usr/lib/x86_64-linux-gnu/libtcmalloc.so.4",
}
# Debian packages holding them, for the versions recorded with the results.
HOST_PACKAGES = ["libc6", "libmimalloc2.0", "libjemalloc2", "libgoogle-perftools4",
                 "libtcmalloc-minimal4", "gcc-12", "qemu-system-misc", "opensbi",
                 "gcc-riscv64-unknown-elf", "valgrind"]

# Work multipliers (ctx->scale): a host run takes roughly 0.1-0.5 s with 2
# threads on this project's 2-core machine when it is otherwise idle. Scale
# multiplies iterations only, never working sets, so every scale measures the
# same workload.
HOST_SCALE = {"glibc-thread": 800, "glibc-simple": 240, "larson": 1600, "mstress": 480,
              "xmalloc": 480, "cache-scratch": 1600, "cache-thrash": 1600, "mpsc": 160,
              "malloc-large": 160, "frag": 480, "churn": 40}

KERNEL_ALLOCS = ["mi", "mi-locked", "tlsf", "buddy", "slab", "first-fit", "best-fit", "worst-fit"]
KERNEL_HARTS = [1, 2, 4, 8]
# Kernel scales: the largest scale per workload (about 0.4 s of guest time for
# mi at 1 hart). Each workload x alloc_type is first probed at scale 1 on one
# hart, and its scale is cut so that the 1-hart run stays near
# KERNEL_TARGET_NS: the list allocators are up to 100x slower than mi on some
# workloads and would otherwise take minutes per boot. Throughput (ops/s)
# stays comparable across scales; the scale used is recorded with every run.
KERNEL_SCALE = {"glibc-thread": 25, "glibc-simple": 3, "larson": 50, "mstress": 20,
                "xmalloc": 10, "cache-scratch": 150, "cache-thrash": 250, "mpsc": 4,
                "malloc-large": 20, "frag": 40, "churn": 10}
KERNEL_TARGET_NS = 300e6
# A boot slower than this (wall seconds) skips the larger hart counts of its
# workload x alloc_type: they would only be slower.
KERNEL_SLOW_S = 8
KERNEL_TIMEOUT = 25


def kernel_scale(scale, harts):
    """Scale at `harts`: per-hart work halves as harts double from 2 up, so the
    total work (and the boot time of a scalable allocator) stays flat where
    the 2 host cores stop adding speed."""
    return max(1, round(scale * min(1.0, 2.0 / harts)))
KERNEL_MEM = "256M"
KERNEL = os.environ.get("BENCH_KERNEL", "")  # default: qemu-run.sh's build/riscv64/kernel.elf

BENCH_RE = re.compile(r"^BENCH (\S+) alloc=(\S*) cpus=(\d+) ops=(\d+) ns=(\d+)", re.M)
MEM_RE = re.compile(r"^MEM (\S+) alloc=(\S*) cpus=(\d+) peak=(\d+) final=(\d+) "
                    r"pages=(\d+)/(\d+) segments=(\d+)/(\d+)(?: held=(\d+)/(\d+))?", re.M)
HELD_RE = re.compile(r"^HELD (\S+) alloc=(\S*) cpus=(\d+) live_peak=(-?\d+) held_peak=(-?\d+) "
                     r"live=(-?\d+) held=(-?\d+) remote_frees=(\d+)", re.M)
PAIR_RE = re.compile(r"^PAIR alloc=(\S*) cpus=(\d+) pairs=(\d+) loop_ns=(\d+) pair_ns=(\d+)", re.M)
# Instructions of the stand-ins' own `ret`s, counted in loop_ns (tests/bench/pair.c).
PAIR_NULL_RETS = 2
PAIR_SCALE = 10
RUSAGE_RE = re.compile(r"^RUSAGE maxrss_kb=(\d+) utime_us=(\d+) stime_us=(\d+)", re.M)


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


def machine_meta():
    cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
    versions = {}
    for p in HOST_PACKAGES:
        v = sh(f"dpkg-query -W -f='${{Version}}' {p} 2>/dev/null")
        if v:
            versions[p] = v
    dirty = sh("git status --porcelain -- alloc arch tests tools | head -1")
    return {
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "git_commit": sh("git rev-parse HEAD"),
        "git_dirty": bool(dirty),
        "machine": {"cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release(),
                    "loadavg_at_start": sh("cut -d' ' -f1-3 /proc/loadavg")},
        "compiler": sh("gcc --version | head -1"),
        "rv_compiler": sh("riscv64-unknown-elf-gcc --version | head -1"),
        "qemu": sh("qemu-system-riscv64 --version | head -1"),
        "packages": versions,
    }


def parse(out):
    """The BENCH, MEM and RUSAGE figures of one run's output (None if absent)."""
    r = {}
    m = BENCH_RE.search(out)
    if m:
        r.update(ops=int(m.group(4)), ns=int(m.group(5)), cpus=int(m.group(3)))
    m = MEM_RE.search(out)
    if m:
        r["mem"] = {"peak": int(m.group(4)), "final": int(m.group(5)),
                    "pages_peak": int(m.group(6)), "pages_final": int(m.group(7)),
                    "segments_peak": int(m.group(8)), "segments_final": int(m.group(9))}
        if m.group(10):
            r["mem"].update(held_peak=int(m.group(10)), held_final=int(m.group(11)))
    m = HELD_RE.search(out)
    if m:
        r["held"] = {"live_peak": int(m.group(4)), "held_peak": int(m.group(5)),
                     "live_end": int(m.group(6)), "held_end": int(m.group(7)),
                     "remote_frees": int(m.group(8))}
    m = RUSAGE_RE.search(out)
    if m:
        r.update(maxrss_kb=int(m.group(1)), utime_us=int(m.group(2)), stime_us=int(m.group(3)))
    r["failed"] = bool(re.search(r"^FAIL ", out, re.M))
    return r


def host_env(alloc, preload):
    env = dict(os.environ, BENCH_ALLOC=alloc, HARTALLOC_TYPE="mi")
    env.pop("LD_PRELOAD", None)
    lib = preload if alloc == "hartalloc" else HOST_LIBS[alloc]
    if lib:
        env["LD_PRELOAD"] = lib
    return env


def run_host_once(binary, preload, alloc, workload, threads, scale, timeout=300):
    start = time.monotonic()
    try:
        p = subprocess.run([binary, workload, str(threads), str(scale)], env=host_env(alloc, preload),
                           capture_output=True, text=True, timeout=timeout)
        out, rc = p.stdout + p.stderr, p.returncode
    except subprocess.TimeoutExpired:
        out, rc = "timeout", 124
    r = parse(out)
    r.update(workload=workload, alloc=alloc, threads=threads, scale=scale, rc=rc,
             wall_ns=int((time.monotonic() - start) * 1e9))
    r["ok"] = rc == 0 and "ns" in r and not r["failed"]
    if not r["ok"]:
        r["output"] = out[-2000:]
    return r


def cmd_host(a):
    workloads = a.only.split() or WORKLOADS
    threads = [int(t) for t in a.threads.split()]
    meta = machine_meta()
    meta.update(kind="host", workloads=workloads, reps=a.reps, threads=threads, scales=HOST_SCALE,
                libs={k: (a.preload if k == "hartalloc" else v) for k, v in HOST_LIBS.items()})
    runs = []
    for w in workloads:
        for t in threads:
            for rep in range(a.reps):
                for alloc in HOST_LIBS:
                    r = run_host_once(a.bin, a.preload, alloc, w, t, HOST_SCALE[w])
                    r["rep"] = rep
                    runs.append(r)
                    print(f"host {w:14} t={t} {alloc:10} rep {rep}: "
                          + (f"{r['ns'] / 1e6:9.2f} ms {r.get('maxrss_kb', 0):7} KB"
                             if r["ok"] else f"FAILED rc={r['rc']}"), flush=True)
    meta["loadavg_at_end"] = sh("cut -d' ' -f1-3 /proc/loadavg")
    if a.merge and os.path.exists(a.out):
        # Replace the runs of these workloads x thread counts in an earlier
        # file, keep the rest (and its metadata, with a note of the merge).
        with open(a.out) as f:
            old = json.load(f)
        runs = [r for r in old["runs"] if not (r["workload"] in workloads and r["threads"] in threads)] + runs
        old["meta"].setdefault("merged", []).append(
            {k: meta[k] for k in ("date_utc", "git_commit", "workloads", "threads", "reps")}
            | {"loadavg": [meta["machine"]["loadavg_at_start"], meta["loadavg_at_end"]]})
        for w in workloads:
            if w not in old["meta"]["workloads"]:
                old["meta"]["workloads"].append(w)
        old["meta"]["scales"] = HOST_SCALE
        meta = old["meta"]
    save(a.out, {"meta": meta, "runs": runs})


def qemu_run(alloc, harts, args, accel, timeout, log="qemu-last.log", kernel=None, mem=None):
    """Boot the kernel once through tools/qemu-run.sh; (output, exit status, wall s)."""
    log = os.path.join("build", "bench", log)
    os.makedirs(os.path.dirname(log), exist_ok=True)
    env = dict(os.environ, ALLOC=alloc, SMP=str(harts), MEM=mem or KERNEL_MEM, ARGS=args, ACCEL=accel,
               TIMEOUT=str(timeout), LOG=log, QUIET="0")
    if kernel or KERNEL:
        env["KERNEL"] = kernel or KERNEL
    start = time.monotonic()
    try:
        p = subprocess.run(["tools/qemu-run.sh"], env=env, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=timeout + 30)
        out, rc = p.stdout + p.stderr, p.returncode
    except subprocess.TimeoutExpired:
        out, rc = "timeout", 124
    return out, rc, time.monotonic() - start


def kernel_record(w, alloc, h, scale, out, rc, boot_s):
    r = parse(out)
    r.update(workload=w, alloc=alloc, harts=h, scale=scale, rc=rc, boot_s=round(boot_s, 3))
    r["ok"] = rc == 0 and "ns" in r and not r["failed"]
    if not r["ok"]:
        r["output"] = out[-1500:]
    print(f"qemu {w:14} {alloc:10} harts={h} scale={scale:<4}: "
          + (f"{r['ops'] / r['ns'] * 1e3:9.3f} Mops/s ({boot_s:5.2f} s boot)"
             if r["ok"] else f"FAILED rc={rc} ({boot_s:.1f} s)"), flush=True)
    return r


# ---- latency (kernel/latency.c) ------------------------------------------------

LAT_KERNEL = os.environ.get("LATENCY_KERNEL", os.path.join("build", "riscv64", "kernel-latency.elf"))
LAT_PHASES = WORKLOADS + ["alloc"]  # "alloc": the alloc suite (test=alloc)
# Work multipliers: enough calls that p99.9 rests on dozens of calls (most
# workloads make 80k-180k calls per hart for mi), few enough that the whole
# run stays within 15 minutes on 2 cores (xmalloc and mpsc at 4 harts spin
# through whole round-robin slices and stay at 1).
LAT_SCALE = {"glibc-thread": 2, "glibc-simple": 1, "larson": 8, "mstress": 10, "xmalloc": 1,
             "cache-scratch": 100, "cache-thrash": 100, "mpsc": 1, "malloc-large": 20, "frag": 8,
             "churn": 1}
# A workload added to WORKLOADS without a scale here would stop a whole run
# midway (make bench-latency did, once): every command checks it first.
for _name, _scales in (("HOST_SCALE", HOST_SCALE), ("KERNEL_SCALE", KERNEL_SCALE), ("LAT_SCALE", LAT_SCALE)):
    _missing = [w for w in WORKLOADS if w not in _scales]
    if _missing:
        sys.exit(f"run.py: {_name} has no scale for {', '.join(_missing)}")
LAT_TIMEOUT = 240  # mstress on mi at 4 harts took 120-130 s of wall time at load average 13-21
LAT_HEAD_RE = re.compile(r"^LAT phase=(\S+) alloc=(\S*) cpus=(\d+) calibration=(\d+)$")
LAT_OP_RE = re.compile(r"^LATOP op=(\S+) calls=(\d+) sum=(\d+) max=(\d+) waited=(\d+) "
                       r"spins=(\d+) max_spins=(\d+) bytes=(\d+)$")
LAT_HIST_RE = re.compile(r"^LATH op=(\S+) hist=(\S+)$")
LAT_WORST_RE = re.compile(r"^LATW op=(\S+) cost=(\d+) spins=(\d+) size=(\d+) align=(\d+) "
                          r"old=(\d+) cpu=(\d+) pages=(-?\d+) segments=(-?\d+)$")


def parse_latency(out):
    """The LAT blocks of one boot: {phase: {cpus, calibration, ops, worst}}."""
    phases, cur = {}, None
    for line in out.splitlines():
        if m := LAT_HEAD_RE.match(line):
            cur = phases[m.group(1)] = {"alloc": m.group(2), "cpus": int(m.group(3)),
                                         "calibration": int(m.group(4)), "ops": {}, "worst": []}
        elif cur is None:
            continue
        elif m := LAT_OP_RE.match(line):
            keys = ["calls", "sum", "max", "waited", "spins", "max_spins", "bytes"]
            cur["ops"][m.group(1)] = dict(zip(keys, map(int, m.groups()[1:])), hist={})
        elif m := LAT_HIST_RE.match(line):
            h = cur["ops"][m.group(1)]["hist"]
            for pair in m.group(2).split(","):
                b, c = pair.split(":")
                h[b] = h.get(b, 0) + int(c)
        elif m := LAT_WORST_RE.match(line):
            keys = ["cost", "spins", "size", "align", "old", "cpu", "pages", "segments"]
            cur["worst"].append(dict(zip(keys, map(int, m.groups()[1:])), op=m.group(1)))
        elif line.startswith("LATEND"):
            cur = None
    return phases


def latency_boot(phase, alloc, harts, timeout=LAT_TIMEOUT, scale=None, mem=None):
    if scale is None:
        scale = 1 if phase == "alloc" else LAT_SCALE[phase]
    what = "test=alloc" if phase == "alloc" else f"bench={phase} scale={scale}"
    out, rc, wall = qemu_run(alloc, harts, f"{what} latency=1", "icount", timeout,
                             log=f"latency-{phase}-{alloc}-{harts}.log", kernel=LAT_KERNEL, mem=mem)
    lat = parse_latency(out).get(phase)
    r = {"phase": phase, "alloc": alloc, "harts": harts, "rc": rc, "boot_s": round(wall, 2),
         "scale": scale}
    b = parse(out)
    r.update({k: b[k] for k in ("ops", "ns") if k in b})
    r["failed"] = b["failed"]
    r["ok"] = rc == 0 and lat is not None and not b["failed"]
    if lat:
        r.update(lat)
    if not r["ok"]:
        r["output"] = out[-1500:]
    return r


def cmd_latency(a):
    from concurrent.futures import ThreadPoolExecutor
    phases = a.only.split() or LAT_PHASES
    allocs = a.allocs.split() or KERNEL_ALLOCS
    harts = [int(h) for h in a.harts.split()] if a.harts else [1, 4]
    meta = machine_meta()
    meta.update(kind="latency", phases=phases, allocs=allocs, harts=harts, accel="icount",
                mem=KERNEL_MEM, scales=LAT_SCALE)
    # The alloc suite runs at 1 hart only: its hand-off cases spin until
    # another hart moves, and under -icount's round-robin each such spin
    # lasts a whole time slice (the suite does not finish in minutes).
    jobs = [(p, al, h) for h in harts for p in phases for al in allocs if p != "alloc" or h == 1]
    # Guest instructions do not depend on the host's load: boots run two at once.
    with ThreadPoolExecutor(max_workers=a.jobs) as pool:
        runs = list(pool.map(lambda j: latency_boot(*j), jobs))
    for r in runs:
        ops = r.get("ops", {}) if isinstance(r.get("ops"), dict) else {}
        worst = max((o["max"] for o in ops.values()), default=0)
        print(f"latency {r['phase']:14} {r['alloc']:10} harts={r['harts']}: "
              + (f"max {worst:8} ({r['boot_s']:5.1f} s boot)" if r["ok"] else
                 f"FAILED rc={r['rc']} ({r['boot_s']:.1f} s)"), flush=True)
    meta["loadavg_at_end"] = sh("cut -d' ' -f1-3 /proc/loadavg")
    save(a.out, {"meta": meta, "runs": runs})


def bucket_low(b):
    """Smallest cost in histogram bucket b (kernel/latency.c's bucket_of)."""
    b = int(b)
    if b < 8:
        return b
    e, sub = (b - 8) // 8 + 3, (b - 8) % 8
    return (8 + sub) << (e - 3)


# mi's worst-case bound (alloc/mi/README.md, "Worst-case bound"): guest
# instructions per call, the constants of the formula there.
MI_BOUND = {
    "A": 1300,   # longest fixed path: a fresh segment's page for a large block
    "k": 4, "K": 64,     # per remote free counted in; MI_COLLECT_MAX
    "r": 61, "R": 8,     # per handed-back page requeued; MI_RETURNED_MAX
    "q": 345, "Q": 4,    # per class-queue page examined; MI_SEARCH_MAX
    "e": 4, "E": 128,    # per block carved; MI_EXTEND_MAX_BLOCKS
    "v": 74, "V": 16,    # per kept page checked by a sweep; 4 x MI_SWEEP_MAX
    "d": 100, "D": 4,    # per kept page retired by a sweep; MI_SWEEP_MAX
    "h": 50,             # per heap segment searched for a run of slices
    "w": 8,              # per 64 pool segments searched for a free one
    "F": 400,            # a free's fixed path that retires a page
}
MI_WORST = ["worst-remote", "worst-returned", "worst-queue", "worst-pool", "worst-sweep"]


def mi_bound(heap_segments, pool_segments):
    """The bound of any mi call but a huge block's or an out-of-memory retry."""
    b = MI_BOUND
    return (b["A"] + b["k"] * b["K"] + b["r"] * b["R"] + b["q"] * b["Q"] + b["e"] * b["E"]
            + b["v"] * b["V"] + b["d"] * b["D"] + b["h"] * heap_segments
            + b["w"] * -(-pool_segments // 64))


def test_mi_bound():
    """mi's worst cases (tests/bench/worst_case.c) at 2 harts (the remote
    ones need a second CPU): the slowest call stays under the bound, and does
    not grow with the size of the worst case (scale 2 vs 4: twice the remote
    frees on a page, twice the pages handed back; the pool at 256 MiB vs
    1 GiB). The unbounded code fails these: its slowest call doubles."""
    failed = 0
    b = MI_BOUND
    def slowest(r, op, limit=None):
        ws = [w["cost"] for w in r.get("worst", []) if w["op"] == op and (not limit or w["size"] <= limit)]
        return max(ws, default=0)
    for w in ["worst-remote", "worst-returned", "worst-queue"]:
        runs = [latency_boot(w, "mi", 2, scale=s) for s in (2, 4)]
        if not all(r["ok"] for r in runs):
            failed += report_test(f"latency.mi-bound.{w}", False, runs[-1].get("output", "")[-300:])
            continue
        small, big = (max(slowest(r, "alloc"), slowest(r, "dealloc")) for r in runs)
        bound = mi_bound(59, 59)
        failed += report_test(f"latency.mi-bound.{w}", small == big and 0 < big <= bound,
                              f"slowest call {small} at scale 2, {big} at scale 4 (bound {bound})")
    # A free that gives back a segment of kept empty pages.
    r = latency_boot("worst-sweep", "mi", 1, scale=1)
    bound = b["F"] + b["v"] * b["V"] + b["d"] * b["D"]
    got = slowest(r, "dealloc")
    failed += report_test("latency.mi-bound.worst-sweep", r["ok"] and 0 < got <= bound,
                          f"slowest free {got} > {bound}" if r["ok"] else r.get("output", "")[-300:])
    # A fragmented pool: the search for one segment grows by w per 64 segments.
    one_segment = (4 << 20) - (12 << 10)
    runs = [latency_boot("worst-pool", "mi", 1, scale=1, mem=m) for m in ("256M", "1G")]
    if all(r["ok"] for r in runs):
        small, big = (slowest(r, "alloc", one_segment) for r in runs)
        grow = b["w"] * (-(-251 // 64) - -(-59 // 64))
        failed += report_test("latency.mi-bound.worst-pool",
                              0 < small <= big <= small + grow and big <= mi_bound(251, 251),
                              f"slowest one-segment allocation {small} with 59 segments, {big} with 251")
    else:
        failed += report_test("latency.mi-bound.worst-pool", False, runs[-1].get("output", "")[-300:])
    return failed


def cmd_test_latency(a):
    """The measuring image's figures hold together: each operation's histogram
    counts its calls, its max falls in its last bucket, the mean lies between
    the smallest bucket and the max; the same boot twice gives the same
    figures (-icount); the alloc suite still passes with every call wrapped;
    a 4-hart boot reports lock waits only for calls that spun; kernel.elf
    refuses latency=1."""
    failed = 0
    runs = {}
    for phase, alloc, harts in [("glibc-simple", "mi", 1), ("glibc-simple", "mi", 1),
                                ("larson", "tlsf", 4), ("alloc", "mi", 1)]:
        r = latency_boot(phase, alloc, harts)
        name = f"latency.{phase}-{alloc}-{harts}"
        failed += report_test(name + ".boots", r["ok"], r.get("output", "")[-300:])
        if not r["ok"]:
            continue
        problems = []
        for op, o in r["ops"].items():
            counted = sum(o["hist"].values())
            top = max(int(b) for b in o["hist"])
            if counted != o["calls"]:
                problems.append(f"{op}: histogram counts {counted} calls of {o['calls']}")
            if not bucket_low(top) <= o["max"] < bucket_low(top + 1):
                problems.append(f"{op}: max {o['max']} outside its last bucket {top}")
            lo = bucket_low(min(int(b) for b in o["hist"]))
            if not lo * o["calls"] <= o["sum"] <= o["max"] * o["calls"]:
                problems.append(f"{op}: sum {o['sum']} impossible for {o['calls']} calls")
            if (o["waited"] == 0) != (o["spins"] == 0) or o["max_spins"] > o["spins"]:
                problems.append(f"{op}: lock waits {o['waited']} calls, {o['spins']} spins")
        for w in r["worst"]:
            if w["cost"] > r["ops"][w["op"]]["max"]:
                problems.append(f"worst call {w} above its operation's max")
        if phase == "glibc-simple" and r["ops"]["alloc"]["calls"] != r["ops"]["dealloc"]["calls"]:
            problems.append("glibc-simple frees every block it allocates: alloc and dealloc "
                            "calls differ")
        failed += report_test(name + ".consistent", not problems, "; ".join(problems[:3]))
        key = (phase, alloc, harts)
        if key in runs:
            same = {k: runs[key][k] for k in ("ops", "worst")} == {k: r[k] for k in ("ops", "worst")}
            failed += report_test(name + ".deterministic", same, "two boots under -icount differ")
        runs[key] = r
    failed += test_mi_bound()
    out, rc, _ = qemu_run("mi", 1, "bench=glibc-simple latency=1", "icount", 30)
    failed += report_test("latency.kernel-elf-refuses", rc == 4 and "needs the measuring image" in out,
                          f"rc={rc}: " + out.strip().splitlines()[-1] if out.strip() else "")
    return 1 if failed else 0


def cmd_qemu(a):
    workloads = a.only.split() or WORKLOADS
    allocs = a.allocs.split() or KERNEL_ALLOCS
    harts = [int(h) for h in a.harts.split()] if a.harts else KERNEL_HARTS
    meta = machine_meta()
    meta.update(kind="kernel", workloads=workloads, allocs=allocs, accel=a.accel, mem=KERNEL_MEM,
                harts=harts, max_scales=KERNEL_SCALE, target_ns=KERNEL_TARGET_NS,
                timeout_s=a.timeout, slow_s=KERNEL_SLOW_S)
    runs = []
    for w in workloads:
        for alloc in allocs:
            # Probe: scale 1 on one hart; it is also the 1-hart result if the
            # scale stays 1.
            probe = kernel_record(w, alloc, 1, 1, *qemu_run(alloc, 1, f"bench={w} scale=1",
                                                             a.accel, a.timeout))
            scale = 1
            if probe["ok"]:
                scale = int(max(1, min(KERNEL_SCALE[w] * a.scale_mul,
                                       KERNEL_TARGET_NS * a.scale_mul / max(probe["ns"], 1))))
            for h in harts:
                sh_ = kernel_scale(scale, h)
                for rep in range(a.kernel_reps):
                    if h == 1 and sh_ == 1 and rep == 0:
                        r = probe
                    else:
                        r = kernel_record(w, alloc, h, sh_, *qemu_run(
                            alloc, h, f"bench={w} scale={sh_}", a.accel, a.timeout))
                    runs.append(r)
                if r["boot_s"] > KERNEL_SLOW_S or not r["ok"]:
                    for skipped in harts[harts.index(h) + 1:]:
                        runs.append(dict(workload=w, alloc=alloc, harts=skipped, scale=scale,
                                         ok=False, skipped=True, rc=None, boot_s=0))
                    break
    meta["loadavg_at_end"] = sh("cut -d' ' -f1-3 /proc/loadavg")
    meta["kernel_reps"] = a.kernel_reps
    if a.merge and os.path.exists(a.out):
        # Replace the runs of these workloads x alloc_types in an earlier
        # file, keep the rest (and its metadata, with a note of the merge).
        with open(a.out) as f:
            old = json.load(f)
        runs = [r for r in old["runs"]
                if not (r["workload"] in workloads and r["alloc"] in allocs)] + runs
        old["meta"].setdefault("merged", []).append(
            {k: meta[k] for k in ("date_utc", "git_commit", "workloads", "allocs", "kernel_reps")}
            | {"loadavg": [meta["machine"]["loadavg_at_start"], meta["loadavg_at_end"]]})
        meta = old["meta"]
    save(a.out, {"meta": meta, "runs": runs})


def cmd_pair(a):
    """bench=pair on one hart under -icount for every alloc_type: guest
    instructions per pair, the loop's share apart (tests/bench/pair.c)."""
    allocs = a.allocs.split() or KERNEL_ALLOCS
    meta = machine_meta()
    meta.update(kind="kernel-pair", accel="icount", harts=1, scale=PAIR_SCALE, null_rets=PAIR_NULL_RETS)
    runs = []
    for alloc in allocs:
        out, rc, boot_s = qemu_run(alloc, 1, f"bench=pair scale={PAIR_SCALE}", "icount", a.timeout)
        m = PAIR_RE.search(out)
        r = dict(alloc=alloc, rc=rc, boot_s=round(boot_s, 3), ok=bool(m) and rc == 0)
        if m:
            pairs, loop_ns, pair_ns = int(m.group(3)), int(m.group(4)), int(m.group(5))
            loop = loop_ns / pairs - PAIR_NULL_RETS
            total = pair_ns / pairs
            r.update(pairs=pairs, loop_ns=loop_ns, pair_ns=pair_ns, per_pair=round(total, 2),
                     loop=round(loop, 2), allocator=round(total - loop, 2))
            print(f"pair {alloc:10}: {total:8.2f} guest insns/pair, loop {loop:.2f}, "
                  f"allocator {total - loop:.2f}", flush=True)
        else:
            r["output"] = out[-1500:]
            print(f"pair {alloc:10}: FAILED rc={rc}", flush=True)
        runs.append(r)
    meta["loadavg_at_end"] = sh("cut -d' ' -f1-3 /proc/loadavg")
    save(a.out, {"meta": meta, "runs": runs})


def save(path, data):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"wrote {path}")


def report_test(name, ok, detail):
    print(f"PASS {name}" if ok else f"FAIL {name} {detail}", flush=True)
    return 0 if ok else 1


def cmd_test_host(a):
    failed = 0
    for w in WORKLOADS + ["pair"]:
        r = run_host_once(a.bin, a.preload, "hartalloc", w, 2, 1, timeout=60)
        detail = f"rc={r['rc']}: " + " | ".join(r.get("output", "").strip().splitlines()[-3:])
        failed += report_test(f"bench-host.{w}", r["ok"], detail)
    return 1 if failed else 0


def cmd_test_qemu(a):
    failed = 0
    for w in WORKLOADS + ["pair"]:
        out, rc, _ = qemu_run("mi", 2, f"bench={w} scale=1", "mt", 60)
        r = parse(out)
        ok = rc == 0 and "ns" in r and not r["failed"]
        detail = f"rc={rc}: " + " | ".join(out.strip().splitlines()[-3:])
        failed += report_test(f"bench-qemu.{w}", ok, detail)
    return 1 if failed else 0


SWEEP_THREADS = "1 2 4 8 16 32 64 128 256 512 1000"
SWEEP_ROUNDS = 160000  # rounds of 64 malloc + 64 free, split over the threads
SWEEP_CONFIGS = {  # name: (library key of HOST_LIBS, extra environment)
    "hartalloc": ("hartalloc", {}),
    "hartalloc-cpus2": ("hartalloc", {"HARTALLOC_CPUS": "2"}),
    "mimalloc": ("mimalloc", {}),
    "glibc": ("glibc", {}),
}
SWEEP_RE = re.compile(r"^SWEEP threads=(\d+) rounds=(\d+) ops=(\d+) ns=(\d+) cpu_ns=(\d+) maxrss_kb=(\d+)", re.M)
MEMRET_RE = re.compile(r"^MEMRET (\S+) start_kb=(\d+) peak_kb=(\d+) end_kb=(\d+) ms=(\d+)", re.M)


def run_plain(argv, env, timeout=300):
    try:
        p = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)
        return p.stdout + p.stderr, p.returncode
    except subprocess.TimeoutExpired:
        return "timeout", 124


def cmd_sweep(a):
    threads = [int(t) for t in (a.threads if a.threads_given else SWEEP_THREADS).split()]
    meta = machine_meta()
    meta.update(kind="sweep", reps=a.reps, threads=threads, total_rounds=SWEEP_ROUNDS,
                configs={k: {"lib": (a.preload if lib == "hartalloc" else HOST_LIBS[lib]), "env": e}
                         for k, (lib, e) in SWEEP_CONFIGS.items()})
    runs = []
    for t in threads:
        for rep in range(a.reps):
            for name, (lib, extra) in SWEEP_CONFIGS.items():
                env = dict(host_env(lib, a.preload), **extra)
                out, rc = run_plain([a.bin, str(t), str(SWEEP_ROUNDS)], env)
                m = SWEEP_RE.search(out)
                r = {"config": name, "threads": t, "rep": rep, "rc": rc, "ok": rc == 0 and bool(m)}
                if m:
                    r.update(ops=int(m.group(3)), ns=int(m.group(4)), cpu_ns=int(m.group(5)),
                             maxrss_kb=int(m.group(6)))
                else:
                    r["output"] = out[-2000:]
                runs.append(r)
                print(f"sweep t={t:5} {name:16} rep {rep}: "
                      + (f"{r['ns'] / 1e6:9.2f} ms, cpu {r['cpu_ns'] / 1e6:9.2f} ms, {r['maxrss_kb']:7} KB"
                         if r["ok"] else f"FAILED rc={rc}"),
                      flush=True)
    meta["loadavg_at_end"] = sh("cut -d' ' -f1-3 /proc/loadavg")
    save(a.out, {"meta": meta, "runs": runs})


def cmd_memory(a):
    meta = machine_meta()
    meta.update(kind="memory", reps=a.reps,
                libs={k: (a.preload if k == "hartalloc" else HOST_LIBS[k]) for k in ("hartalloc", "mimalloc", "glibc")})
    runs = []
    for rep in range(a.reps):
        for lib in ("hartalloc", "mimalloc", "glibc"):
            out, rc = run_plain([a.bin], host_env(lib, a.preload))
            for m in MEMRET_RE.finditer(out):
                runs.append({"alloc": lib, "rep": rep, "check": m.group(1), "start_kb": int(m.group(2)),
                             "peak_kb": int(m.group(3)), "end_kb": int(m.group(4)), "ms": int(m.group(5))})
                print(f"memory {lib:10} {m.group(1):16} rep {rep}: start {m.group(2)} KB, peak "
                      f"{m.group(3)} KB, end {m.group(4)} KB after {m.group(5)} ms", flush=True)
    meta["loadavg_at_end"] = sh("cut -d' ' -f1-3 /proc/loadavg")
    save(a.out, {"meta": meta, "runs": runs})


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["host", "qemu", "pair", "test-host", "test-qemu", "sweep", "memory",
                                     "latency", "test-latency"])
    ap.add_argument("--bin")
    ap.add_argument("--preload")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", default=str(os.cpu_count() or 2))
    ap.add_argument("--only", default="")
    ap.add_argument("--allocs", default="")
    ap.add_argument("--harts", default="")
    ap.add_argument("--accel", default="mt")
    ap.add_argument("--scale-mul", type=int, default=1, help="multiply every kernel scale")
    ap.add_argument("--timeout", type=int, default=KERNEL_TIMEOUT)
    ap.add_argument("--kernel-reps", type=int, default=1, help="boots per point (median)")
    ap.add_argument("--merge", action="store_true",
                    help="qemu: replace only these workloads' runs in an existing --out file")
    ap.add_argument("--jobs", type=int, default=2, help="latency: boots at once")
    ap.add_argument("--out")
    a = ap.parse_args()
    a.threads_given = "--threads" in sys.argv
    return {"host": cmd_host, "qemu": cmd_qemu, "pair": cmd_pair, "test-host": cmd_test_host,
            "test-qemu": cmd_test_qemu, "sweep": cmd_sweep, "memory": cmd_memory,
            "latency": cmd_latency, "test-latency": cmd_test_latency}[a.mode](a) or 0


if __name__ == "__main__":
    sys.exit(main())
