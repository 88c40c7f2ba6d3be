#!/usr/bin/env python3
"""run.py - run the benchmark workloads (tests/bench/) and record the results.

  run.py host      --bin B --preload L [--reps N] [--threads "2"] [--only "w .."] --out F.json
  run.py qemu      [--accel mt|single|icount] [--only "w .."] [--allocs "mi .."] [--harts "1 2 4 8"] --out F.json
  run.py pair      [--allocs "mi .."] [--rust-kernel K] --out F.json   (kernel pair, -icount)
  run.py test-host --bin B --preload L     (make test: each workload once, tiny)
  run.py test-qemu                         (make test: each workload once in the kernel, SMP=2)
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


def qemu_run(alloc, harts, args, accel, timeout):
    """Boot the kernel once through tools/qemu-run.sh; (output, exit status, wall s)."""
    log = os.path.join("build", "bench", "qemu-last.log")
    os.makedirs(os.path.dirname(log), exist_ok=True)
    env = dict(os.environ, ALLOC=alloc, SMP=str(harts), MEM=KERNEL_MEM, ARGS=args, ACCEL=accel,
               TIMEOUT=str(timeout), LOG=log, QUIET="0")
    if KERNEL:
        env["KERNEL"] = KERNEL
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
    ap.add_argument("mode", choices=["host", "qemu", "pair", "test-host", "test-qemu", "sweep", "memory"])
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
    ap.add_argument("--out")
    a = ap.parse_args()
    a.threads_given = "--threads" in sys.argv
    return {"host": cmd_host, "qemu": cmd_qemu, "pair": cmd_pair, "test-host": cmd_test_host,
            "test-qemu": cmd_test_qemu, "sweep": cmd_sweep, "memory": cmd_memory}[a.mode](a) or 0


if __name__ == "__main__":
    sys.exit(main())
