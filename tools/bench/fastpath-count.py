#!/usr/bin/env python3
"""fastpath-count.py - count the instructions of the allocator's hit paths in
a riscv64 kernel image, from its disassembly (riscv64-unknown-elf-objdump -d).

  fastpath-count.py KERNEL.elf [--rust RUST_KERNEL] [--json F.json] [--readme alloc/mi/README.md]

A hit path is the path a call takes when nothing is missing: an allocation
that finds a free block in its page, a free into the caller's own page that
stays in use. The C code marks every other direction unlikely, so GCC lays the
hit out as fall-through: the walk starts at a function's entry, falls through
every conditional branch, follows unconditional jumps inside the function and
stops at `ret`, or at an indirect jump (`jr`) or a jump out of the function
(a tail call), where it continues in the named next function of the chain.
The listing printed with the table is the proof: every counted instruction,
in order. Cross-check: `make bench-pair-kernel` measures the same pair under
-icount (its allocator share is this count plus the slow paths that a refill
of the page costs, amortised over the pairs).

With --readme, the table (and listing) replace what stands between the
`<!-- fastpath-count begin -->` and `<!-- fastpath-count end -->` markers.
"""
import argparse
import json
import re
import subprocess
import sys

OBJDUMP = "riscv64-unknown-elf-objdump"
FUNC_RE = re.compile(r"^([0-9a-f]+) <(.+)>:$")
INSN_RE = re.compile(r"^\s+([0-9a-f]+):\s+(\S+)\s*(.*)$")
BRANCHES = {"beq", "bne", "blt", "bge", "bltu", "bgeu", "beqz", "bnez", "blez", "bgez", "bltz", "bgtz",
            "bgt", "ble", "bgtu", "bleu"}

# (label, chain of functions): the C kernel through the ABI. With the
# per-CPU fronts (alloc/backend.h) ha_alloc and ha_dealloc are mi's fast
# paths themselves: a chain of one.
C_CHAINS = [
    ("ha_alloc (mi, hit)", ["ha_alloc"]),
    ("ha_dealloc (mi, local)", ["ha_dealloc"]),
]


def disassemble(elf):
    out = subprocess.run([OBJDUMP, "-d", "--no-show-raw-insn", elf], capture_output=True, text=True,
                         check=True).stdout
    funcs, cur = {}, None
    for line in out.splitlines():
        m = FUNC_RE.match(line)
        if m:
            cur = m.group(2)
            funcs[cur] = []
            continue
        m = INSN_RE.match(line)
        if m and cur is not None:
            ops = m.group(3).split("#")[0].strip()
            funcs[cur].append((int(m.group(1), 16), m.group(2), ops))
    return funcs


def walk(funcs, name):
    """The hit path through `name`: [(addr, mnemonic, operands)], and the
    function a tail call continues in (None after a ret)."""
    insns = funcs[name]
    index = {a: i for i, (a, _, _) in enumerate(insns)}
    path, i, seen = [], 0, set()
    while i < len(insns):
        if i in seen:
            raise SystemExit(f"fastpath-count: {name}: the fall-through path loops at {insns[i][0]:x}")
        seen.add(i)
        addr, mn, ops = insns[i]
        path.append(insns[i])
        if mn == "ret":
            return path, None
        if mn == "jr":
            return path, "indirect"
        if mn in ("j", "tail"):
            target = int(ops.split()[0], 16)
            if target in index:
                i = index[target]
                continue
            callee = re.search(r"<([^>+]+)", ops)
            return path, callee.group(1) if callee else "?"
        i += 1
    raise SystemExit(f"fastpath-count: {name}: ran off the end")


def count_chain(funcs, chain):
    parts, listing = [], []
    for k, fn in enumerate(chain):
        if fn not in funcs:
            raise SystemExit(f"fastpath-count: no function {fn} in the image")
        path, nxt = walk(funcs, fn)
        parts.append((fn, len(path)))
        listing += [f"{fn:>16}  {a:x}  {mn} {ops}".rstrip() for a, mn, ops in path]
        last = k == len(chain) - 1
        if last and nxt is not None:
            raise SystemExit(f"fastpath-count: {fn} ends in a jump to {nxt}, not a ret")
        if not last and nxt is None:
            raise SystemExit(f"fastpath-count: {fn} returns before reaching {chain[k + 1]}")
    return parts, listing


def rust_chains(funcs):
    """The Rust kernel's GlobalAlloc: __rust_alloc -> __rg_alloc (GlobalAlloc::alloc
    inlined) -> ha_alloc; the same for dealloc. The symbols of the shims carry
    Rust's hash, so they are found by their stem."""
    def find(stem):
        names = [n for n in funcs if n == stem or n.startswith(stem)]
        return names[0] if names else None
    chains = []
    for kind in ("alloc", "dealloc"):
        shim, rg = find(f"__rust_{kind}"), find(f"__rg_{kind}")
        chain = [n for n in (shim, rg) if n] + [f"ha_{kind}"]
        chains.append((f"GlobalAlloc::{kind} (mi)", chain))
    return chains


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("elf")
    ap.add_argument("--rust", help="the Rust kernel's image, for its GlobalAlloc count")
    ap.add_argument("--json")
    ap.add_argument("--readme")
    a = ap.parse_args()

    results, listing = [], []
    images = [("C kernel", a.elf, C_CHAINS)]
    if a.rust:
        images.append(("Rust kernel", a.rust, None))
    for image, elf, chains in images:
        funcs = disassemble(elf)
        for label, chain in chains or rust_chains(funcs):
            parts, lines = count_chain(funcs, chain)
            total = sum(n for _, n in parts)
            results.append({"image": image, "path": label, "total": total,
                            "parts": [{"function": f, "instructions": n} for f, n in parts]})
            listing += [f"{image}: {label}: {total}"] + lines + [""]
    pairs = {}
    for r in results:
        pairs[r["image"]] = pairs.get(r["image"], 0) + r["total"]

    table = ["| image | path | instructions | by function |", "|---|---|---:|---|"]
    for r in results:
        table.append(f"| {r['image']} | {r['path']} | {r['total']} | "
                     + " + ".join(f"`{p['function']}` {p['instructions']}" for p in r["parts"]) + " |")
    for image, n in pairs.items():
        table.append(f"| {image} | **pair** | **{n}** | |")
    text = "\n".join(table)
    print(text)
    print()
    print("\n".join(listing))

    if a.json:
        with open(a.json, "w") as f:
            json.dump({"elf": a.elf, "rust": a.rust, "paths": results, "pairs": pairs}, f, indent=1)
            f.write("\n")
    if a.readme:
        with open(a.readme) as f:
            readme = f.read()
        begin, end = "<!-- fastpath-count begin -->", "<!-- fastpath-count end -->"
        if begin not in readme or end not in readme:
            raise SystemExit(f"fastpath-count: {a.readme} has no {begin} ... {end} markers")
        block = (f"{begin}\n<!-- generated by tools/bench/fastpath-count.py (make bench-pair-kernel); "
                 f"do not edit -->\n{text}\n\n<details><summary>The counted instructions</summary>\n\n"
                 f"```\n" + "\n".join(listing).rstrip() + "\n```\n</details>\n" + end)
        head, rest = readme.split(begin, 1)
        readme = head + block + rest.split(end, 1)[1]
        with open(a.readme, "w") as f:
            f.write(readme)
    return 0


if __name__ == "__main__":
    sys.exit(main())
