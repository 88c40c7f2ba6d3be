/*
 * irq_defer_test.c - the `irq-defer` suite (kernel only): an interrupt at
 * every instruction of hartalloc's fast paths.
 *
 * With HA_EMBED_IRQ_DEFER (hartalloc_embed.h) the fast paths mask nothing:
 * an interrupt that arrives inside them waits, in trap.c, until the fast
 * function returns through irq_resume. This suite proves it at each
 * instruction boundary of the section ha_fast_text in turn: it writes a
 * c.ebreak there, calls ha_alloc or ha_dealloc, and when the breakpoint is
 * reached puts the original instruction back and raises the software
 * interrupt, which is then pending at exactly that instruction. The
 * interrupt's handler allocates and frees blocks of the same class (the
 * same page's lists and counts). After every call: the interrupt was
 * deferred once and delivered at irq_resume, never inside the fast path;
 * interrupts are on again; the interrupted call's block is sound and not
 * one the handler holds; blocks keep their contents; ha_check passes; and
 * ha_used_bytes is exactly the blocks alive. Run on one CPU with alloc=mi.
 */
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

static void fill(unsigned char *p, uint32_t seq)
{
    for (unsigned i = 0; i < BLOCK; i++)
        p[i] = (unsigned char)(seq * 29u + i);
}

static bool intact(const unsigned char *p, uint32_t seq)
{
    for (unsigned i = 0; i < BLOCK; i++)
        if (p[i] != (unsigned char)(seq * 29u + i))
            return false;
    return true;
}

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

static void every_instruction(struct th_ctx *ctx)
{
    if (ctx->cpu != 0)
        return;
    TH_CHECK_MSG(ctx, ha_name()[0] == 'm' && ha_name()[1] == 'i' && ha_name()[2] == '\0',
                 "irq-defer interrupts mi's fast paths: boot it with alloc=mi (got %s)", ha_name());
    volatile uint16_t *start = (volatile uint16_t *)__start_ha_fast_text;
    volatile uint16_t *stop = (volatile uint16_t *)__stop_ha_fast_text;
    TH_CHECK(ctx, start < stop);
    TH_CHECK(ctx, irqs_on());
    unsigned char *live = ha_alloc(BLOCK, 8); /* the page never empties */
    TH_CHECK(ctx, live != 0);
    fill(live, 0xabcd);
    size_t used_before = ha_used_bytes();
    trap_breakpoint_hook = on_breakpoint;
    trap_soft_irq_hook = on_soft_irq;
    unsigned boundaries = 0, hits[2] = {0, 0};
    for (volatile uint16_t *at = start; at < stop && !ctx->failed; at += (*at & 3) == 3 ? 2 : 1) {
        boundaries++;
        for (unsigned op = 0; op < 2 && !ctx->failed; op++) {
            unsigned char *q = 0;
            uint32_t seq = 0x1000 + boundaries * 2 + op;
            if (op == 1) {
                q = ha_alloc(BLOCK, 8);
                TH_EXPECT(ctx, q != 0);
                if (!q)
                    break;
                fill(q, seq);
            }
            unsigned runs = handler_runs, seen = bp_hits;
            uint64_t deferred = irqs_deferred[0];
            arm(at);
            if (op == 0)
                q = ha_alloc(BLOCK, 8);
            else
                ha_dealloc(q, BLOCK, 8);
            bool hit = bp_hits != seen;
            disarm();
            TH_EXPECT(ctx, irqs_on());
            if (hit) {
                hits[op]++;
                TH_EXPECT(ctx, irqs_deferred[0] - deferred == 1);
                TH_EXPECT(ctx, handler_runs - runs == 1);
                TH_EXPECT(ctx, handler_sepc >= (unsigned long)irq_resume &&
                                   handler_sepc < (unsigned long)irq_resume + 12);
            } else {
                TH_EXPECT(ctx, handler_runs == runs && irqs_deferred[0] == deferred);
            }
            if (op == 0) {
                TH_EXPECT(ctx, q != 0 && ((uintptr_t)q & 7) == 0 && !held_by_handler(q));
                if (q) {
                    fill(q, seq);
                    TH_EXPECT(ctx, intact(q, seq));
                    ha_dealloc(q, BLOCK, 8);
                }
            }
            TH_EXPECT(ctx, handler_bad == 0);
            TH_EXPECT(ctx, intact(live, 0xabcd));
            TH_EXPECT(ctx, ha_check() == 0);
            TH_EXPECT(ctx, ha_used_bytes() == used_before + (size_t)handler_live * BLOCK);
            if (ctx->failed)
                th_printf("irq-defer: failed with the interrupt at %p (%s path)\n", (void *)at,
                          op == 0 ? "alloc" : "free");
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
    /* Every instruction of a hit and of a local free, at the least. */
    TH_CHECK_MSG(ctx, hits[0] >= 10 && hits[1] >= 10,
                 "only %u (alloc) and %u (free) of %u instructions were interrupted", hits[0], hits[1],
                 boundaries);
    th_printf("irq-defer: %u instructions in ha_fast_text; an interrupt at each of the %u on the alloc "
              "path and the %u on the free path was deferred to the return\n",
              boundaries, hits[0], hits[1]);
}

static const struct th_case cases[] = {
    {"every_instruction", every_instruction},
};

const struct th_suite th_suite_irq_defer = {
    "irq-defer", "an interrupt at every instruction of mi's fast paths (kernel, alloc=mi, 1 CPU)",
    TH_CASES(cases), TH_SUITE_USES_ALLOCATOR,
};
