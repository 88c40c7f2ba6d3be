/*
 * finisher.h - ending the run. QEMU virt's test finisher (MMIO at 0x100000)
 * is the only exit that carries a status: SBI SRST exits QEMU with 0 even for
 * a failure under OpenSBI 1.1.
 */
#ifndef RV_FINISHER_H
#define RV_FINISHER_H

/* QEMU's exit status for each way a run ends (1..255: 0 would read as pass). */
enum exit_code {
    EXIT_PASS = 0,
    EXIT_TEST_FAILED = 1, /* a test case failed                         */
    EXIT_PANIC = 2,       /* kernel or allocator panic                  */
    EXIT_TRAP = 3,        /* unexpected trap                            */
    EXIT_BAD_BOOT = 4,    /* bad device tree, boot argument or hart set */
};

/* Exit QEMU with `code`; never returns. */
void finisher_exit(unsigned code) __attribute__((noreturn));

#endif /* RV_FINISHER_H */
