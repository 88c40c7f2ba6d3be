/*
 * sbi.h - calls into OpenSBI: one ecall helper returning {error, value} and a
 * small wrapper per call the kernel makes. OpenSBI 1.1 on QEMU virt offers
 * the legacy console, IPI, HSM, TIME and SRST extensions (no DBCN).
 */
#ifndef RV_SBI_H
#define RV_SBI_H

#include <stdint.h>

struct sbiret {
    long error; /* 0 or a negative SBI_ERR_*                                */
    long value;
};

#define SBI_EXT_LEGACY_PUTCHAR 0x01
#define SBI_EXT_TIME 0x54494D45 /* "TIME" */
#define SBI_EXT_HSM 0x48534D    /* "HSM"  */
#define SBI_EXT_IPI 0x735049    /* "sPI"  */
#define SBI_EXT_SRST 0x53525354 /* "SRST" */

#define SBI_HSM_STARTED 0 /* hart_get_status values */
#define SBI_HSM_STOPPED 1
#define SBI_HSM_START_PENDING 2

#define SBI_SRST_SHUTDOWN 0
#define SBI_SRST_REASON_NONE 0
#define SBI_SRST_REASON_FAILURE 1

struct sbiret sbi_ecall(long ext, long fid, unsigned long a0, unsigned long a1, unsigned long a2,
                        unsigned long a3, unsigned long a4, unsigned long a5);

static inline void sbi_console_putchar(int ch)
{
    sbi_ecall(SBI_EXT_LEGACY_PUTCHAR, 0, (unsigned long)ch, 0, 0, 0, 0, 0);
}

/* Start a stopped hart at start_addr (S-mode, a0 = hart id, a1 = opaque). */
static inline struct sbiret sbi_hart_start(unsigned long hartid, unsigned long start_addr,
                                           unsigned long opaque)
{
    return sbi_ecall(SBI_EXT_HSM, 0, hartid, start_addr, opaque, 0, 0, 0);
}

static inline struct sbiret sbi_hart_get_status(unsigned long hartid)
{
    return sbi_ecall(SBI_EXT_HSM, 2, hartid, 0, 0, 0, 0, 0);
}

/* Raise a supervisor software interrupt on the harts hart_mask_base + i for
 * every bit i set in hart_mask. */
static inline struct sbiret sbi_send_ipi(unsigned long hart_mask, unsigned long hart_mask_base)
{
    return sbi_ecall(SBI_EXT_IPI, 0, hart_mask, hart_mask_base, 0, 0, 0, 0);
}

/* Program this hart's next timer interrupt at absolute time stime (timebase
 * units); also clears a pending one. */
static inline void sbi_set_timer(uint64_t stime)
{
    sbi_ecall(SBI_EXT_TIME, 0, stime, 0, 0, 0, 0, 0);
}

static inline struct sbiret sbi_system_reset(unsigned long type, unsigned long reason)
{
    return sbi_ecall(SBI_EXT_SRST, 0, type, reason, 0, 0, 0, 0);
}

#endif /* RV_SBI_H */
