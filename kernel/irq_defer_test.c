/*
 * irq_defer_test.c - the `irq-defer` suite (kernel only): an interrupt at
 * every instruction of hartalloc's fast paths.
 *
 * With HA_EMBED_IRQ_DEFER (hartalloc_embed.h) the fast paths mask nothing:
 * an interrupt that arrives inside them waits, in trap.c, until the fast
 * function returns through irq_resume. This suite proves it at each
 * instruction boundary of the section ha_fast_text in turn: it writes a
 * c.ebreak there, calls ha_alloc or ha_dealloc six ways (a hit, a local
 * free, a miss, the free of a huge block, a free that empties its page, an
 * alignment that is not a power of two, so that every instruction runs in
 * one of them), and when the breakpoint is
 * reached puts the original instruction back and raises the software
 * interrupt, which is then pending at exactly that instruction. The
 * interrupt's handler allocates and frees blocks of the same class (the
 * same page's lists and counts). After every call: the interrupt was
 * deferred once and delivered at irq_resume, never inside the fast path;
 * interrupts are on again; the interrupted call's block is sound and not
 * one the handler holds; blocks keep their contents; ha_check passes; and
 * ha_used_bytes is exactly the blocks alive. Last, every instruction of the
 * section must have been interrupted at least once. Run on one CPU with
 * alloc=mi.
 */
#include "alloc_cases.h"
#include "cpu.h"
#include "harness.h"
#include "hartalloc.h"
#include "trap.h"

#define BLOCK 32
#define HANDLER_KEEP 4
#define C_EBREAK 0x9002u

static volatile uint16_t *armed_at; /* where the c.ebreak sits, or NULL */
static uint16_t armed_saved;        /* the two bytes it replaced        */
static unsigned bp_hits, handler_runs, handler_bad;
static unsigned long handler_sepc;
static unsigned char *handler_blocks[HANDLER_KEEP];
static unsigned handler_live;
static uint32_t handler_seq;

static void fence_i(void) { __asm__ volatile("fence.i" ::: "memory"); }

static void arm(volatile uint16_t *at)
{
    armed_saved = *at;
    armed_at = at;
    *at = C_EBREAK;
    fence_i();
}

static void disarm(void)
{
    if (armed_at) {
        *armed_at = armed_saved;
        fence_i();
        armed_at = 0;
    }
}

/* The first BLOCK bytes carry the pattern (a huge block's too: filling it
 * all at every boundary would be slow under TCG). */
static void fill(unsigned char *p, uint32_t seq) { ta_fill(p, BLOCK, seq); }
static bool intact(const unsigned char *p, uint32_t seq) { return ta_verify(p, BLOCK, seq) == BLOCK; }

static bool on_breakpoint(unsigned long sepc)
{
    if (!armed_at || sepc != (unsigned long)armed_at)
        return false;
    disarm();
    bp_hits++;
    csr_set(sip, SIP_SSIP); /* pending at sepc as soon as this trap returns */
    return true;
}

/* The interrupt handler's work: free the blocks it kept, take new ones of
 * the same class. */
static void on_soft_irq(unsigned long sepc)
{
    handler_runs++;
    handler_sepc = sepc;
    for (unsigned i = 0; i < HANDLER_KEEP; i++) {
        if (handler_blocks[i]) {
            if (!intact(handler_blocks[i], handler_seq - HANDLER_KEEP + i))
                handler_bad++;
            ha_dealloc(handler_blocks[i], BLOCK, 8);
            handler_live--;
        }
    }
    for (unsigned i = 0; i < HANDLER_KEEP; i++) {
        unsigned char *p = ha_alloc(BLOCK, 8);
        handler_blocks[i] = p;
        if (!p) {
            handler_bad++;
            continue;
        }
        fill(p, handler_seq + i);
        handler_live++;
    }
    handler_seq += HANDLER_KEEP;
}

static bool held_by_handler(const void *p)
{
    for (unsigned i = 0; i < HANDLER_KEEP; i++)
        if (handler_blocks[i] == p)
            return true;
    return false;
}

static bool irqs_on(void) { return (csr_read(sstatus) & SSTATUS_SIE) != 0; }

/* The calls made with each instruction armed in turn: between them they
 * run every instruction of the section, each way out of the fast paths
 * included. */
enum op { OP_ALLOC_HIT, OP_FREE_LOCAL, OP_ALLOC_MISS, OP_FREE_HUGE, OP_FREE_EMPTIES, OP_ALLOC_BAD_ALIGN, OP_COUNT };
static const char *const op_names[OP_COUNT] = {
    "alloc that hits", "local free", "alloc that misses (align 2048)", "free of a huge block",
    "free that empties its page", "alloc refused (align 24)",
};
static const size_t op_size[OP_COUNT] = {BLOCK, BLOCK, BLOCK, 8u << 20, 5000, BLOCK};
static const size_t op_align[OP_COUNT] = {8, 8, 2048, 8, 8, 24};
#define MAX_BOUNDARIES 256

static bool is_free(enum op op) { return op == OP_FREE_LOCAL || op == OP_FREE_HUGE || op == OP_FREE_EMPTIES; }

static void every_instruction(struct th_ctx *ctx)
{
    if (ctx->cpu != 0)
        return;
    TH_CHECK_MSG(ctx, ha_name()[0] == 'm' && ha_name()[1] == 'i' && ha_name()[2] == '\0',
                 "irq-defer interrupts mi's fast paths: boot it with alloc=mi (got %s)", ha_name());
    volatile uint16_t *start = (volatile uint16_t *)__start_ha_fast_text;
    volatile uint16_t *stop = (volatile uint16_t *)__stop_ha_fast_text;
    TH_CHECK(ctx, start < stop && stop - start <= MAX_BOUNDARIES);
    TH_CHECK(ctx, irqs_on());
    unsigned char *live = ha_alloc(BLOCK, 8); /* the BLOCK page never empties */
    TH_CHECK(ctx, live != 0);
    fill(live, 0xabcd);
    size_t used_before = ha_used_bytes();
    trap_breakpoint_hook = on_breakpoint;
    trap_soft_irq_hook = on_soft_irq;
    static bool covered[MAX_BOUNDARIES];
    unsigned boundaries = 0, hits[OP_COUNT] = {0};
    for (volatile uint16_t *at = start; at < stop && !ctx->failed; at += (*at & 3) == 3 ? 2 : 1) {
        unsigned index = boundaries++;
        covered[index] = false;
        for (unsigned op = 0; op < OP_COUNT && !ctx->failed; op++) {
            unsigned char *q = 0;
            size_t size = op_size[op], align = op_align[op];
            uint32_t seq = 0x1000 + index * OP_COUNT + op;
            if (is_free(op)) {
                q = ha_alloc(size, align);
                TH_EXPECT(ctx, q != 0);
                if (!q)
                    break;
                fill(q, seq);
            }
            unsigned runs = handler_runs, seen = bp_hits;
            uint64_t deferred = irqs_deferred[0];
            arm(at);
            if (is_free(op))
                ha_dealloc(q, size, align);
            else
                q = ha_alloc(size, align);
            bool hit = bp_hits != seen;
            disarm();
            TH_EXPECT(ctx, irqs_on());
            if (hit) {
                hits[op]++;
                covered[index] = true;
                TH_EXPECT(ctx, irqs_deferred[0] - deferred == 1);
                TH_EXPECT(ctx, handler_runs - runs == 1);
                TH_EXPECT(ctx, handler_sepc >= (unsigned long)irq_resume &&
                                   handler_sepc < (unsigned long)irq_resume + 12);
            } else {
                TH_EXPECT(ctx, handler_runs == runs && irqs_deferred[0] == deferred);
            }
            if (op == OP_ALLOC_BAD_ALIGN) {
                TH_EXPECT(ctx, q == 0); /* not a power of two: NULL, nothing taken */
            } else if (!is_free(op)) {
                TH_EXPECT(ctx, q != 0 && ((uintptr_t)q & (align - 1)) == 0 && !held_by_handler(q));
                if (q) {
                    fill(q, seq);
                    TH_EXPECT(ctx, intact(q, seq));
                    ha_dealloc(q, size, align);
                }
            }
            TH_EXPECT(ctx, handler_bad == 0);
            TH_EXPECT(ctx, intact(live, 0xabcd));
            TH_EXPECT(ctx, ha_check() == 0);
            TH_EXPECT(ctx, ha_used_bytes() == used_before + (size_t)handler_live * BLOCK);
            if (ctx->failed)
                th_printf("irq-defer: failed with the interrupt at %p (%s)\n", (void *)at, op_names[op]);
        }
    }
    trap_breakpoint_hook = 0;
    trap_soft_irq_hook = 0;
    for (unsigned i = 0; i < HANDLER_KEEP; i++) {
        if (handler_blocks[i])
            ha_dealloc(handler_blocks[i], BLOCK, 8);
        handler_blocks[i] = 0;
    }
    handler_live = 0;
    ha_dealloc(live, BLOCK, 8);
    if (ctx->failed)
        return;
    /* Every instruction of the section was interrupted by some call. */
    unsigned index = 0;
    for (volatile uint16_t *at = start; at < stop; at += (*at & 3) == 3 ? 2 : 1, index++)
        TH_CHECK_MSG(ctx, covered[index], "the instruction at %p was never interrupted: no call ran it",
                     (void *)at);
    th_printf("irq-defer: an interrupt at each of the %u instructions in ha_fast_text was deferred to "
              "the return; instructions interrupted per call:", boundaries);
    for (unsigned op = 0; op < OP_COUNT; op++)
        th_printf(" %s %u%s", op_names[op], hits[op], op + 1 < OP_COUNT ? "," : "\n");
}

static const struct th_case cases[] = {
    {"every_instruction", every_instruction},
};

const struct th_suite th_suite_irq_defer = {
    "irq-defer", "an interrupt at every instruction of mi's fast paths (kernel, alloc=mi, 1 CPU)",
    TH_CASES(cases), TH_SUITE_USES_ALLOCATOR,
};
