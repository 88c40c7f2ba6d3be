/*
 * trapvec.S - the S-mode trap vector (direct mode, so 4-byte aligned).
 *
 * The kernel never leaves S-mode and every hart stays on its own stack, so a
 * trap simply pushes the registers a C call may clobber, calls trap_handler
 * and returns with sret. The handler runs with sstatus.SIE cleared by the
 * hardware, so traps do not nest; sepc and sstatus need no saving.
 *
 * irq_resume: where a hartalloc fast path returns when an interrupt arrived
 * inside it (trap.c defers it: that path's ra points here, its real return
 * address is in the CPU block, and interrupts stay masked until here).
 * Unmasking lets the waiting interrupt in at once, before the `ret`; only ra
 * changes, which a call clobbers anyway.
 */
#include "param.h"

    .section .text
    .balign 4
    .globl trap_vector
trap_vector:
    addi sp, sp, -128
    sd ra, 0(sp)
    sd t0, 8(sp)
    sd t1, 16(sp)
    sd t2, 24(sp)
    sd t3, 32(sp)
    sd t4, 40(sp)
    sd t5, 48(sp)
    sd t6, 56(sp)
    sd a0, 64(sp)
    sd a1, 72(sp)
    sd a2, 80(sp)
    sd a3, 88(sp)
    sd a4, 96(sp)
    sd a5, 104(sp)
    sd a6, 112(sp)
    sd a7, 120(sp)
    mv a0, sp
    call trap_handler
    ld ra, 0(sp)
    ld t0, 8(sp)
    ld t1, 16(sp)
    ld t2, 24(sp)
    ld t3, 32(sp)
    ld t4, 40(sp)
    ld t5, 48(sp)
    ld t6, 56(sp)
    ld a0, 64(sp)
    ld a1, 72(sp)
    ld a2, 80(sp)
    ld a3, 88(sp)
    ld a4, 96(sp)
    ld a5, 104(sp)
    ld a6, 112(sp)
    ld a7, 120(sp)
    addi sp, sp, 128
    sret

    .balign 4
    .globl irq_resume
irq_resume:
    ld ra, CPU_DEFERRED_RA(tp)
    csrsi sstatus, 2
    ret
