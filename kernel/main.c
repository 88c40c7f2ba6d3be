/*
 * main.c - the test kernel: boot on whichever hart OpenSBI picked, bring the
 * others online, set up the allocator, run the selected suite and benchmark
 * on every hart, report and exit QEMU with the verdict.
 */
#include "barrier.h"
#include "bootargs.h"
#include "console.h"
#include "cpu.h"
#include "fdt.h"
#include "finisher.h"
#include "harness.h"
#include "harness_embed.h"
#include "hartalloc.h"
#include "latency.h"
#include "memory.h"
#include "panic.h"
#include "smp.h"
#include "timer.h"

static struct fdt_info boot_fdt;
static struct boot_args args;
static unsigned ncpu;
static unsigned failed_cases; /* written by CPU 0 */

/* After a benchmark: the allocator's peaks since boot (the kernel boots for
 * one workload), for the held/live table of tools/bench/report.py:
 *   HELD <name> alloc=<type> cpus=<n> live_peak=<B> held_peak=<B> live=<B> held=<B> remote_frees=<n>
 * held_peak is exact for every type. live_peak is exact for the single-lock
 * types; mi's is the highest total any statistics report saw (its fast paths
 * count only in their pages), so it means something for the workloads that
 * report at their peaks (frag, churn: bench_sample_stats). */
static void print_held(const char *bench, unsigned cpus)
{
    struct ha_stats st = { 0 };
    ha_get_stats(HA_ALL_CPUS, &st);
    console_printf("HELD %s alloc=%s cpus=%u live_peak=%lld held_peak=%lld live=%lld held=%lld remote_frees=%llu\n",
                   bench, ha_name(), cpus, (long long)st.bytes_peak, (long long)st.bytes_held_peak,
                   (long long)st.bytes_in_use, (long long)st.bytes_held, (unsigned long long)st.remote_frees);
}

/* What every CPU runs once released; CPU 0 then reports and ends the run. */
static void run(unsigned cpu)
{
    unsigned failed = 0;
    /* Each phase ends with every CPU past a barrier and the next begins with
     * one, so CPU 0 reads and clears the latency figures alone in between. */
    if (args.suite) {
        failed = th_run_suite(args.suite, cpu, ncpu, args.seed, args.scale, true);
        if (cpu == 0) {
            latency_report(args.suite->name, ncpu);
            latency_reset();
        }
    }
    if (args.bench) {
        th_run_bench(args.bench, cpu, ncpu, args.seed, args.scale);
        if (cpu == 0) {
            print_held(args.bench->name, ncpu);
            latency_report(args.bench->name, ncpu);
        }
    }
    if (cpu == 0)
        failed_cases = failed;
}

void kmain(unsigned long hartid, const void *fdt, unsigned index)
{
    cpu_setup(hartid, index);
    console_printf("hartalloc test kernel: hart %lu booted first (OpenSBI's boot lottery)\n",
                   hartid);

    const char *err = fdt_parse(fdt, &boot_fdt);
    if (err)
        die(EXIT_BAD_BOOT, "%s", err);
    console_printf("boot: args \"%s\", %u harts in the device tree, timebase %llu Hz\n",
                   boot_fdt.bootargs ? boot_fdt.bootargs : "", boot_fdt.nharts,
                   (unsigned long long)boot_fdt.timebase_hz);
    bootargs_parse(boot_fdt.bootargs, &args);
    timer_init(boot_fdt.timebase_hz, harness_timer_tick);

    ncpu = smp_bring_up(&boot_fdt, args.harts);
    memory_init(args.alloc, args.heap_cpus && args.heap_cpus < ncpu ? args.heap_cpus : ncpu, &boot_fdt);
    if (args.latency) {
        if (!latency_built())
            die(EXIT_BAD_BOOT, "latency=1 needs the measuring image: make kernel-latency, then "
                               "boot build/riscv64/kernel-latency.elf (KERNEL=...)");
        latency_enable();
    }
    barrier_init(ncpu);
    console_printf("run: alloc=%s test=%s bench=%s cpus=%u seed=%llu scale=%u (booted in %llu ms)\n",
                   ha_name(), args.suite ? args.suite->name : "-",
                   args.bench ? args.bench->name : "-", ncpu, (unsigned long long)args.seed,
                   args.scale, (unsigned long long)time_ms());

    smp_release(run);
    run(0);

    for (unsigned c = 0; c < ncpu; c++)
        if (!cpu_stack_intact(c))
            panic("cpu %u overflowed its %u KiB stack during the run", c, STACK_SIZE >> 10);
    ha_print_stats();
    console_printf("exit: %s after %llu ms\n", failed_cases ? "FAILED" : "passed",
                   (unsigned long long)time_ms());
    finisher_exit(failed_cases ? EXIT_TEST_FAILED : EXIT_PASS);
}
