/*
 * entry.S - where harts enter the kernel.
 *
 * OpenSBI (fw_dynamic) jumps to _start on ONE hart in S-mode with
 * a0 = hart id, a1 = device tree. Which hart that is depends on OpenSBI's boot
 * lottery, so nothing here assumes hart 0. The other harts wait in OpenSBI
 * until the kernel starts them with HSM hart_start at _start_secondary, again
 * with a0 = hart id.
 *
 * Every hart takes its CPU index with one amoadd on cpus_online; the index
 * picks its stack and its per-CPU block (tp). cpus_online and boot_claimed
 * live in .data, not .bss: the boot hart zeroes .bss after taking its index.
 */
#include "param.h"

    .section .text.entry, "ax", @progbits
    .globl _start
_start:
    csrw sie, zero
    /* Only the first hart to arrive boots. */
    la t0, boot_claimed
    li t1, 1
    amoswap.w.aq t1, t1, (t0)
    bnez t1, late_hart
    call take_cpu_index
    /* Zero .bss (8-byte aligned by the linker script). The stacks and the
     * heap are outside it: we are running on one of those stacks. */
    la t0, __bss_start
    la t1, __bss_end
1:  bgeu t0, t1, 2f
    sd zero, (t0)
    addi t0, t0, 8
    j 1b
2:  mv a2, t2
    call kmain              /* kmain(hartid, fdt, cpu index) never returns */
    j park

    .globl _start_secondary
_start_secondary:
    csrw sie, zero
    call take_cpu_index
    mv a1, t2
    call secondary_main     /* secondary_main(hartid, cpu index) never returns */
    j park

/*
 * A hart reaching _start after the boot hart is one being started by HSM that
 * came in at the firmware's default address instead of _start_secondary:
 * OpenSBI 1.1's hart_start marks the hart START_PENDING before it stores the
 * start address, so a hart woken early jumps to the old address (measured:
 * 1 boot in 40-80 at -smp 4 or 8, multi-threaded TCG). It is still a hart we
 * asked for, so it joins as a secondary, once bring-up has begun (.bss is
 * zeroed by then). cpus_late counts these entries for the boot log.
 */
late_hart:
    la t0, bringup_open
1:  lw t1, (t0)
    beqz t1, 1b
    fence r, rw             /* acquire: see everything the boot hart wrote before */
    la t0, cpus_late
    li t1, 1
    amoadd.w zero, t1, (t0)
    j _start_secondary

/* take_cpu_index: t2 = this hart's CPU index; sp = top of its stack,
 * tp = &cpus[index]. Leaves a0/a1 alone; parks a hart beyond MAX_HARTS. */
take_cpu_index:
    la t0, cpus_online
    li t1, 1
    amoadd.w.aqrl t2, t1, (t0)
    li t1, MAX_HARTS
    bgeu t2, t1, park
    addi t3, t2, 1
    li t1, STACK_SIZE
    mul t3, t3, t1
    la sp, __stacks_start
    add sp, sp, t3          /* stacks grow down from the top of slot index */
    li t1, CPU_BLOCK_SIZE
    mul t3, t2, t1
    la tp, cpus
    add tp, tp, t3
    ret

park:
    csrw sie, zero
    csrci sstatus, 2
3:  wfi
    j 3b

/*
 * Test hooks for a missing or malformed device tree: bootargs live inside the
 * tree, so they cannot ask for a bad one. `make test` boots copies of
 * the kernel linked with arch/riscv64/hooks/entry_hook.S, which jumps here.
 */
    .globl _start_no_fdt
_start_no_fdt:
    li a1, 0
    j _start

    .globl _start_bad_fdt
_start_bad_fdt:
    la a1, __image_start    /* kernel code where the tree should be: bad magic */
    j _start

    /* OpenSBI's own memory, which PMP denies to S-mode: reading the "tree"
     * takes a load access fault, so this one tests the trap path. */
    .globl _start_firmware_fdt
_start_firmware_fdt:
    li a1, RAM_BASE
    j _start

    .section .data
    .balign 4
    .globl cpus_online
cpus_online:
    .word 0
boot_claimed:
    .word 0
    .globl bringup_open
bringup_open:               /* set by smp_bring_up before the first hart_start */
    .word 0
    .globl cpus_late
cpus_late:
    .word 0

    .section .stacks, "aw", @nobits
    .balign 16
    .globl __stacks_start
__stacks_start:
    .space MAX_HARTS * STACK_SIZE
    .globl __stacks_end
__stacks_end:
