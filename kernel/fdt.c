/*
 * fdt.c - a validating, single-pass reader of the flattened device tree
 * (Devicetree Specification v0.4, chapter 5).
 *
 * The blob is untrusted input: every offset is checked against its block
 * before it is read, so a corrupted tree ends in a message naming the fault,
 * never in a wild load. Properties precede subnodes in the structure block,
 * so a node's #address-cells/#size-cells are known before its children's reg.
 */
#include "fdt.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "ha_format.h"
#include "param.h"

#define FDT_MAGIC 0xd00dfeedu
#define FDT_BEGIN_NODE 1u
#define FDT_END_NODE 2u
#define FDT_PROP 3u
#define FDT_NOP 4u
#define FDT_END 9u
#define FDT_HEADER_SIZE 40u
#define FDT_MAX_SIZE (16u << 20) /* QEMU's trees are a few KiB; more is corruption */
#define MAX_DEPTH 16
/* Lowest address a tree can be at: QEMU virt's RAM. The host test of this
 * parser (kernel/test/fdt_fuzz.c) sets 0, its buffers being anywhere. */
#ifndef FDT_MIN_ADDRESS
#define FDT_MIN_ADDRESS RAM_BASE
#endif

/* One open node on the path from the root. */
struct node {
    const char *name;
    unsigned addr_cells, size_cells; /* for this node's children (defaults 2, 1) */
    const char *device_type, *status;
    const uint8_t *reg;
    uint32_t reg_len;
    uint64_t timebase_hz;
};

static char error[200];

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Read `cells` 32-bit cells (1 or 2) as one number. */
static uint64_t cells_value(const uint8_t *p, unsigned cells)
{
    return cells == 2 ? (uint64_t)be32(p) << 32 | be32(p + 4) : be32(p);
}

/* Node name without its unit address: "memory@80000000" -> "memory". */
static bool name_is(const char *name, const char *want)
{
    while (*want && *name == *want)
        name++, want++;
    return *want == '\0' && (*name == '\0' || *name == '@');
}

static bool streq(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

static bool terminated(const char *s, uint32_t max)
{
    for (uint32_t i = 0; i < max; i++)
        if (!s[i])
            return true;
    return false;
}

/* We read reg as one or two 32-bit cells per number. */
static bool cells_ok(unsigned cells) { return cells == 1 || cells == 2; }

/* A string property is NUL-terminated inside its length. */
static const char *string_value(const uint8_t *v, uint32_t len)
{
    return len > 0 && v[len - 1] == '\0' ? (const char *)v : NULL;
}

static const char *fail(const void *blob, const char *fmt, ...)
{
    int n = ha_format(error, sizeof error, "device tree at %p: ", blob);
    va_list ap;
    va_start(ap, fmt);
    ha_vformat(error + n, sizeof error - (size_t)n, fmt, ap);
    va_end(ap);
    return error;
}

static const char *add_ranges(const void *blob, struct range *list, unsigned *count,
                              const struct node *n, const struct node *parent)
{
    unsigned stride = 4 * (parent->addr_cells + parent->size_cells);
    if (!cells_ok(parent->addr_cells) || !cells_ok(parent->size_cells))
        return fail(blob, "node %s: unsupported #address-cells %u / #size-cells %u", n->name,
                    parent->addr_cells, parent->size_cells);
    if (n->reg_len % stride)
        return fail(blob, "node %s: reg of %u bytes is not a list of (address, size)", n->name,
                    n->reg_len);
    for (uint32_t off = 0; off < n->reg_len; off += stride) {
        if (*count == FDT_MAX_RANGES)
            return fail(blob, "more than %u memory ranges", FDT_MAX_RANGES);
        list[*count].base = cells_value(n->reg + off, parent->addr_cells);
        list[*count].size = cells_value(n->reg + off + 4 * parent->addr_cells, parent->size_cells);
        (*count)++;
    }
    return NULL;
}

/* A node closed: record what it contributes. path[0] is the root. */
static const char *finish_node(const void *blob, struct fdt_info *out, struct node *path,
                               unsigned depth)
{
    struct node *n = &path[depth], *parent = depth ? &path[depth - 1] : NULL;
    if (depth == 1 && name_is(n->name, "cpus") && n->timebase_hz)
        out->timebase_hz = n->timebase_hz;
    if (depth == 2 && name_is(parent->name, "cpus") && n->device_type &&
        streq(n->device_type, "cpu")) {
        if (!n->reg || n->reg_len < 4 * parent->addr_cells || !cells_ok(parent->addr_cells))
            return fail(blob, "cpu node %s has no usable reg (hart id)", n->name);
        if (n->status && !streq(n->status, "okay") && !streq(n->status, "ok"))
            return NULL; /* a disabled hart is not ours to start */
        if (out->nharts == FDT_MAX_HARTS)
            return fail(blob, "more than %u harts", FDT_MAX_HARTS);
        out->hartids[out->nharts++] = (unsigned long)cells_value(n->reg, parent->addr_cells);
        if (!out->timebase_hz && n->timebase_hz) /* allowed per cpu too */
            out->timebase_hz = n->timebase_hz;
    }
    if (depth == 1 && n->reg &&
        (name_is(n->name, "memory") || (n->device_type && streq(n->device_type, "memory"))))
        return add_ranges(blob, out->memory, &out->nmemory, n, parent);
    if (depth == 2 && name_is(parent->name, "reserved-memory") && n->reg)
        return add_ranges(blob, out->reserved, &out->nreserved, n, parent);
    return NULL;
}

static void note_property(struct node *n, unsigned depth, const char *name, const uint8_t *v,
                          uint32_t len, struct fdt_info *out)
{
    if (streq(name, "#address-cells") && len == 4)
        n->addr_cells = be32(v);
    else if (streq(name, "#size-cells") && len == 4)
        n->size_cells = be32(v);
    else if (streq(name, "device_type"))
        n->device_type = string_value(v, len);
    else if (streq(name, "status"))
        n->status = string_value(v, len);
    else if (streq(name, "reg"))
        n->reg = v, n->reg_len = len;
    else if (streq(name, "timebase-frequency") && (len == 4 || len == 8))
        n->timebase_hz = cells_value(v, len / 4);
    else if (depth == 1 && name_is(n->name, "chosen") && streq(name, "bootargs"))
        out->bootargs = string_value(v, len);
}

/* Walk the structure block: tokens, nesting and every name offset. */
static const char *walk(const uint8_t *fdt, uint32_t off_struct, uint32_t size_struct,
                        const char *strings, uint32_t size_strings, struct fdt_info *out)
{
    struct node path[MAX_DEPTH];
    int depth = -1; /* index of the innermost open node */
    const uint8_t *p = fdt + off_struct, *end = p + size_struct;
    for (;;) {
        if (end - p < 4)
            return fail(fdt, "structure block ends without FDT_END");
        uint32_t token = be32(p), at = (uint32_t)(p - fdt - off_struct);
        p += 4;
        switch (token) {
        case FDT_BEGIN_NODE: {
            const char *name = (const char *)p;
            while (p < end && *p)
                p++;
            if (p == end)
                return fail(fdt, "node name at structure offset 0x%x runs off the block", at);
            p = fdt + ((p + 1 - fdt + 3) & ~(uintptr_t)3);
            if (++depth == MAX_DEPTH)
                return fail(fdt, "nodes nested deeper than %d", MAX_DEPTH);
            if (depth == 0 && *name)
                return fail(fdt, "the first node is '%s', not the root", name);
            path[depth] = (struct node){ .name = name, .addr_cells = 2, .size_cells = 1 };
            break;
        }
        case FDT_END_NODE: {
            if (depth < 0)
                return fail(fdt, "FDT_END_NODE without an open node at offset 0x%x", at);
            const char *err = finish_node(fdt, out, path, (unsigned)depth);
            if (err)
                return err;
            depth--;
            break;
        }
        case FDT_PROP: {
            if (end - p < 8)
                return fail(fdt, "property header at offset 0x%x runs off the block", at);
            uint32_t len = be32(p), nameoff = be32(p + 4);
            p += 8;
            if (len > (uint32_t)(end - p))
                return fail(fdt, "property at offset 0x%x: length %u runs off the block", at, len);
            if (nameoff >= size_strings)
                return fail(fdt, "property at offset 0x%x: name offset 0x%x outside the strings",
                            at, nameoff);
            const char *name = strings + nameoff;
            if (!terminated(name, size_strings - nameoff))
                return fail(fdt, "property name at 0x%x is not terminated", nameoff);
            if (depth < 0)
                return fail(fdt, "property '%s' outside any node", name);
            note_property(&path[depth], (unsigned)depth, name, p, len, out);
            p = fdt + ((p + len - fdt + 3) & ~(uintptr_t)3);
            break;
        }
        case FDT_NOP:
            break;
        case FDT_END:
            if (depth != -1)
                return fail(fdt, "FDT_END with %d node(s) still open", depth + 1);
            return NULL;
        default:
            return fail(fdt, "unknown token 0x%x at structure offset 0x%x", token, at);
        }
    }
}

const char *fdt_parse(const void *blob, struct fdt_info *out)
{
    const uint8_t *fdt = blob;
    *out = (struct fdt_info){ 0 };
    if (!blob)
        return "no device tree: a1 was 0 at entry (the firmware passed none)";
    if ((uintptr_t)blob < FDT_MIN_ADDRESS || ((uintptr_t)blob & 7))
        return fail(blob, "not an 8-byte aligned RAM address");
    if (be32(fdt) != FDT_MAGIC)
        return fail(blob, "bad magic 0x%08x (expected 0x%08x): not a device tree", be32(fdt),
                    FDT_MAGIC);
    uint32_t total = be32(fdt + 4); /* the only bound on everything read after it */
    if (total < FDT_HEADER_SIZE || total > FDT_MAX_SIZE)
        return fail(blob, "implausible totalsize %u", total);
    uint32_t off_struct = be32(fdt + 8), off_strings = be32(fdt + 12), off_rsv = be32(fdt + 16),
             version = be32(fdt + 20), last_comp = be32(fdt + 24), size_strings = be32(fdt + 32),
             size_struct = be32(fdt + 36);
    if (version < 17 || last_comp > 17)
        return fail(blob, "version %u (compatible back to %u); need 17", version, last_comp);
    if (off_struct % 4 || off_struct < FDT_HEADER_SIZE || size_struct > total - off_struct ||
        off_struct > total)
        return fail(blob, "structure block 0x%x+0x%x outside totalsize 0x%x", off_struct,
                    size_struct, total);
    if (off_strings < FDT_HEADER_SIZE || off_strings > total || size_strings > total - off_strings)
        return fail(blob, "strings block 0x%x+0x%x outside totalsize 0x%x", off_strings,
                    size_strings, total);
    if (off_rsv % 8 || off_rsv < FDT_HEADER_SIZE || off_rsv > total - 16)
        return fail(blob, "reservation block at 0x%x outside totalsize 0x%x", off_rsv, total);
    out->base = (uintptr_t)blob;
    out->size = total;

    /* The header's reservation block: (address, size) pairs up to a zero size. */
    for (uint32_t off = off_rsv;; off += 16) {
        if (off > total - 16)
            return fail(blob, "reservation block runs off the end");
        uint64_t base = (uint64_t)be32(fdt + off) << 32 | be32(fdt + off + 4);
        uint64_t size = (uint64_t)be32(fdt + off + 8) << 32 | be32(fdt + off + 12);
        if (size == 0)
            break;
        if (out->nreserved == FDT_MAX_RANGES)
            return fail(blob, "more than %u reserved ranges", FDT_MAX_RANGES);
        out->reserved[out->nreserved++] = (struct range){ base, size };
    }

    const char *err = walk(fdt, off_struct, size_struct, (const char *)fdt + off_strings,
                           size_strings, out);
    if (err)
        return err;
    if (!out->timebase_hz)
        return fail(blob, "no timebase-frequency in /cpus");
    if (out->nharts == 0)
        return fail(blob, "no enabled cpu node under /cpus");
    if (out->nmemory == 0)
        return fail(blob, "no /memory node with a reg property");
    return NULL;
}
