#!/usr/bin/env python3
"""gen_corpus.py - write the seed inputs of tests/fuzz/corpus (the encoding is
described at the top of fuzz_alloc.c). Run it after changing the encoding."""
import os, struct

ALLOC, ALIGNED, ZEROED, REALLOC, DEALLOC, FREE, PAGES, REWRITE, VERIFY, BAD_ALIGN = range(10)

def size_sel(n):
    if n < 256: return n
    if n < 4096: return (4 << 13) | n
    if n < 8 * 0x2000: return (6 << 13) | (n // 8)
    return (7 << 13) | min(n // 128, 0x1fff)

def op(code, cpu, slot, size=0, align_sel=0, raw_size=None):
    s = size_sel(size) if raw_size is None else raw_size
    return struct.pack('<BBBH', code | (cpu << 4), slot, align_sel, s)

seeds = {}
# Blocks of many sizes on every CPU, freed from the next CPU (remote frees).
sizes = [0, 1, 8, 24, 100, 256, 1000, 4096, 5000, 70000, 300000, 1 << 20]
seeds['cross_cpu'] = b''.join(op(ALLOC, i % 4, i, sz) for i, sz in enumerate(sizes)) + \
    b''.join(op(DEALLOC, (i + 1) % 4, i) for i in range(len(sizes)))
# Fill pages of one class on CPU 0 (full pages), free them on CPUs 1-3, reuse.
full = b''.join(op(ALLOC, 0, i, 2000) for i in range(60))
full += b''.join(op(DEALLOC, 1 + i % 3, i) for i in range(60))
full += b''.join(op(ALLOC, 0, i, 2000) for i in range(60))
seeds['full_page_handoff'] = full
# A realloc chain growing and shrinking, verified each time.
chain = op(ALLOC, 0, 5, 10)
for n in [20, 100, 4000, 9000, 70000, 600000, 50, 8, 0, 3000]:
    chain += op(REALLOC, 2, 5, n) + op(VERIFY, 1, 5)
seeds['realloc_chain'] = chain
# Page runs of every alignment between byte blocks.
pg = b''
for i in range(10):
    pg += op(PAGES, i % 4, 2 * i, raw_size=i, align_sel=i % 5) + op(ALLOC, i % 4, 2 * i + 1, 64 * i)
pg += b''.join(op(DEALLOC, 3, i) for i in range(20))
seeds['pages'] = pg
# Dirty a block, free it, get zeroed memory of the same size back.
z = b''
for sz in [16, 200, 3000, 40000]:
    z += op(ALLOC, 1, 0, sz) + op(REWRITE, 1, 0) + op(FREE, 1, 0) + op(ZEROED, 1, 0, sz) + op(VERIFY, 1, 0)
seeds['zeroed_reuse'] = z
# Large alignments, and alignments that are not powers of two.
al = b''.join(op(ALIGNED, i % 4, i, 100 + 1000 * i, align_sel=12 + i) for i in range(9))
al += b''.join(op(BAD_ALIGN, 0, i, 64, align_sel=i) for i in range(9))
al += b''.join(op(FREE, (i + 2) % 4, i) for i in range(9))
seeds['aligned'] = al

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus')
os.makedirs(out, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(out, name), 'wb') as f:
        f.write(data)
