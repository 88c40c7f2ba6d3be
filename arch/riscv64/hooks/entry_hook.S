/*
 * entry_hook.S - linked only into the test copies of the kernel
 * (build/riscv64/kernel-<hook>-fdt.elf), never into kernel.elf: its code
 * lands at 0x80200000, where fw_dynamic enters, ahead of _start. (QEMU enters
 * an ELF kernel at its lowest load address, not at e_entry.)
 *
 * hook "corrupt": boot with a1 pointing at the broken tree below, which has a
 * valid header but an unknown token in its structure block.
 * any other hook: jump to HOOK_TARGET, one of the bad device tree entries in
 * entry.S.
 */
    .section .text.hook, "ax", @progbits
#ifdef HOOK_corrupt
    la a1, corrupt_fdt
    j _start

.macro be32 v
    .byte ((\v) >> 24) & 0xff, ((\v) >> 16) & 0xff, ((\v) >> 8) & 0xff, (\v) & 0xff
.endm

    .section .rodata.hook, "a", @progbits
    .balign 8
corrupt_fdt:
    be32 0xd00dfeed     /* magic */
    be32 68             /* totalsize */
    be32 56             /* off_dt_struct */
    be32 68             /* off_dt_strings */
    be32 40             /* off_mem_rsvmap */
    be32 17             /* version */
    be32 16             /* last_comp_version */
    be32 0              /* boot_cpuid_phys */
    be32 0              /* size_dt_strings */
    be32 12             /* size_dt_struct */
    .quad 0, 0          /* reservation block: the terminating empty entry */
    be32 1              /* FDT_BEGIN_NODE */
    be32 0              /* the root's empty name, padded */
    be32 7              /* no such token */
#else
    j HOOK_TARGET
#endif
