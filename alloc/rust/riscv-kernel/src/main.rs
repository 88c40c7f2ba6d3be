//! A no_std riscv64 kernel whose `#[global_allocator]` is hartalloc: the C
//! core linked in, the embedding hooks written in Rust (no C of its own).
//!
//! Boot, as a checklist:
//!  1. `_start`: whichever hart won OpenSBI's boot lottery zeroes .bss, takes
//!     its stack and calls `boot_main(hartid, fdt)`;
//!  2. read `alloc=<name>` (and `rounds=`, `selftest=`) from /chosen/bootargs;
//!  3. `HEAP.init` over the linker script's .heap region, one CPU per hart;
//!  4. start every other hart through SBI HSM at `_secondary_start`;
//!  5. every hart runs the collection churn (churn.rs), passing values to
//!     the next hart, which checks and frees them;
//!  6. the boot hart checks usage and `ha_check`, prints PASS/FAIL lines and a
//!     summary, and exits QEMU through the test finisher.
//! A panic (or a fault the C core reports) exits with status 1, an
//! allocation failure with 2, a bad boot argument with 4, a trap with 5.
#![no_std]
#![no_main]
#![feature(alloc_error_handler)]

extern crate alloc;

mod churn;
mod console;
mod fdt;
mod sbi;

use core::arch::{asm, global_asm};
use core::sync::atomic::{AtomicUsize, Ordering};

use hartalloc::{AllocType, Embedding, GlobalAllocator};

/// Harts this kernel can run on; keep in sync with kernel.ld.
pub const MAX_HARTS: usize = 8;

#[global_allocator]
pub static HEAP: GlobalAllocator = GlobalAllocator::new();

/// A hart's block: tp points at its hart's entry of `rk_harts` for the whole
/// run, so the C core's inline hooks (embed_inline.h, `struct rk_hart`) read
/// the CPU index and the allocator's CPU slot with one load each.
#[repr(C)]
pub struct Hart {
    hartid: usize,
    ha_slot: *mut core::ffi::c_void,
}

const HART_INIT: Hart = Hart { hartid: 0, ha_slot: core::ptr::null_mut() };

#[no_mangle]
static mut rk_harts: [Hart; MAX_HARTS] = [HART_INIT; MAX_HARTS];

// Entry. OpenSBI enters in S-mode with a0 = hartid, a1 = FDT (boot hart) or
// the opaque word given to hart_start (secondaries). tp points at the hart's
// block (rk_harts[hartid], 16 bytes) for the rest of the run; the hart id in
// it is the allocator's CPU index. Each hart's stack is the 64 KiB
// (STACK_SIZE in kernel.ld) slice hartid of .stacks.
global_asm!(
    r#"
    .section .text.entry, "ax"
    .globl _start
_start:
    li      t0, 8                   # MAX_HARTS
    bgeu    a0, t0, park
    la      sp, __stacks_start
    addi    t0, a0, 1
    slli    t0, t0, 16              # (hartid + 1) * STACK_SIZE
    add     sp, sp, t0
    la      t0, __bss_start
    la      t1, __bss_end
zero_bss:
    bgeu    t0, t1, bss_done
    sd      zero, 0(t0)
    addi    t0, t0, 8
    j       zero_bss
bss_done:
    la      tp, rk_harts            # after .bss is zeroed: tp = &rk_harts[hartid]
    slli    t0, a0, 4
    add     tp, tp, t0
    sd      a0, 0(tp)
    la      t0, trap_entry
    csrw    stvec, t0
    call    boot_main               # a0, a1 still as OpenSBI left them
    j       park

    .globl _secondary_start
_secondary_start:
    la      tp, rk_harts
    slli    t0, a0, 4
    add     tp, tp, t0
    sd      a0, 0(tp)
    la      sp, __stacks_start
    addi    t0, a0, 1
    slli    t0, t0, 16
    add     sp, sp, t0
    la      t0, trap_entry
    csrw    stvec, t0
    call    secondary_main
park:
    wfi
    j       park

    # Nothing traps on purpose (interrupts stay masked): report and exit.
    .align  2
trap_entry:
    call    trap_handler
"#
);

extern "C" {
    fn _secondary_start();
    static __heap_start: u8;
    static __heap_end: u8;
    /// HA_CPU_SLOT_INITIAL (hartalloc_embed.h): what every hart's slot holds
    /// until ha_init writes it.
    static ha_front_before_init: u8;
}

/// The hooks of hartalloc_embed.h, for this kernel.
pub struct Kernel;

impl Embedding for Kernel {
    fn cpu_index() -> u32 {
        hartid() as u32
    }

    // sstatus.SIE (bit 1): csrrci clears it and returns the old sstatus.
    fn irq_save() -> usize {
        let old: usize;
        unsafe { asm!("csrrci {}, sstatus, 2", out(reg) old) };
        old & 2
    }

    fn irq_restore(flags: usize) {
        if flags & 2 != 0 {
            unsafe { asm!("csrsi sstatus, 2") };
        }
    }

    fn panic(msg: &str) -> ! {
        fail_exit(1, format_args!("hartalloc fault: {}", msg))
    }

    fn puts(s: &str) {
        console::write_str(s);
    }

    fn cpu_slot(cpu: u32) -> *mut *mut core::ffi::c_void {
        if (cpu as usize) < MAX_HARTS {
            unsafe { core::ptr::addr_of_mut!(rk_harts[cpu as usize].ha_slot) }
        } else {
            core::ptr::null_mut()
        }
    }
}

hartalloc::embed_hooks!(Kernel);

pub fn hartid() -> usize {
    let id: usize;
    unsafe { asm!("ld {}, 0(tp)", out(reg) id) };
    id
}

/// The alloc_type's name, for PASS/FAIL lines (set once at boot).
static ALLOC_NAME: AtomicUsize = AtomicUsize::new(0);
static ALLOC_NAME_LEN: AtomicUsize = AtomicUsize::new(0);

fn alloc_name() -> &'static str {
    let len = ALLOC_NAME_LEN.load(Ordering::Acquire);
    let ptr = ALLOC_NAME.load(Ordering::Acquire) as *const u8;
    if ptr.is_null() {
        return "?";
    }
    unsafe { core::str::from_utf8_unchecked(core::slice::from_raw_parts(ptr, len)) }
}

/// Print a FAIL line naming the fault and exit QEMU with `code`.
pub fn fail_exit(code: u8, what: core::fmt::Arguments) -> ! {
    println!("FAIL rust-kernel/{}/hart{} {}", alloc_name(), hartid(), what);
    sbi::exit(code)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    fail_exit(1, format_args!("panic: {}", info))
}

#[no_mangle]
extern "C" fn trap_handler() -> ! {
    let (cause, epc, tval): (usize, usize, usize);
    unsafe { asm!("csrr {}, scause", "csrr {}, sepc", "csrr {}, stval", out(reg) cause, out(reg) epc, out(reg) tval) };
    fail_exit(5, format_args!("unexpected trap: scause {:#x} sepc {:#x} stval {:#x}", cause, epc, tval))
}

#[alloc_error_handler]
fn alloc_error(layout: core::alloc::Layout) -> ! {
    fail_exit(2, format_args!("allocation failure: size {} align {}", layout.size(), layout.align()))
}

static NCPU: AtomicUsize = AtomicUsize::new(0);
static ROUNDS: AtomicUsize = AtomicUsize::new(0);
static ONLINE: AtomicUsize = AtomicUsize::new(0);
static DONE: AtomicUsize = AtomicUsize::new(0);

#[no_mangle]
extern "C" fn boot_main(hartid: usize, fdt: usize) -> ! {
    // Before anything can allocate (no other hart runs yet): the contract's
    // starting value of every slot.
    for cpu in 0..MAX_HARTS {
        unsafe { rk_harts[cpu].ha_slot = core::ptr::addr_of!(ha_front_before_init) as *mut core::ffi::c_void };
    }
    let args = unsafe { fdt::bootargs(fdt) }.unwrap_or("");
    let name = fdt::arg(args, "alloc").unwrap_or("mi");
    ALLOC_NAME_LEN.store(name.len(), Ordering::Release);
    ALLOC_NAME.store(name.as_ptr() as usize, Ordering::Release);
    println!("rust-kernel: boot hart {}, bootargs \"{}\"", hartid, args);

    let ty = match AllocType::from_name(name) {
        Some(ty) => ty,
        None => {
            println!("rust-kernel: unknown alloc_type \"{}\" (valid: {})", name, AllocType::names());
            sbi::exit(4)
        }
    };
    let rounds = match fdt::arg(args, "rounds").map(|r| r.parse::<usize>()) {
        None => churn::DEFAULT_ROUNDS,
        Some(Ok(r)) if r > 0 => r,
        Some(_) => fail_exit(4, format_args!("bad rounds= in bootargs")),
    };
    ROUNDS.store(rounds, Ordering::Relaxed);

    // One allocator CPU per hart id that exists (virt numbers them 0..n-1).
    let ncpu = (0..MAX_HARTS).filter(|h| sbi::hart_status(*h).is_some()).max().map_or(1, |h| h + 1);
    NCPU.store(ncpu, Ordering::Release);
    let (start, end) = unsafe { (&__heap_start as *const u8 as usize, &__heap_end as *const u8 as usize) };
    if let Err(e) = unsafe { HEAP.init(ty, start, end - start, ncpu as u32) } {
        fail_exit(3, format_args!("init: {:?} over [{:#x}, {:#x})", e, start, end));
    }
    println!("rust-kernel: {} over {} MiB at {:#x}, {} harts, {} rounds", HEAP.name(), (end - start) >> 20, start, ncpu, rounds);

    match fdt::arg(args, "selftest") {
        Some("panic") => panic!("selftest: deliberate panic"),
        Some("oom") => {
            let v: alloc::vec::Vec<u8> = alloc::vec::Vec::with_capacity(1 << 40);
            fail_exit(3, format_args!("1 TiB allocation succeeded at {:p}", v.as_ptr()));
        }
        Some("fault") => {
            // A free of memory the allocator never managed: the C core's
            // check calls ha_embed_panic, i.e. Kernel::panic above.
            unsafe { hartalloc::ffi::ha_dealloc(0x1000 as *mut _, 16, 8) };
            fail_exit(3, format_args!("a free of 0x1000 was not caught"));
        }
        Some("trap") => {
            let word = unsafe { core::ptr::read_volatile(8 as *const u64) }; // no RAM there
            fail_exit(3, format_args!("a load from 0x8 returned {:#x}", word));
        }
        _ => {}
    }

    // Allocated before the churn and alive until the end, so the usage check
    // compares against a non-empty heap.
    let title = alloc::format!("rust-kernel: {} harts={}", HEAP.name(), ncpu);
    let used_before = HEAP.used_bytes();
    let t0 = sbi::micros();
    for h in (0..ncpu).filter(|h| *h != hartid) {
        if sbi::hart_status(h) == Some(sbi::HartState::Stopped) {
            if let Err(e) = sbi::hart_start(h, _secondary_start as usize, 0) {
                fail_exit(3, format_args!("hart_start({}) failed: {}", h, e));
            }
        }
    }
    run_on_this_hart();
    while DONE.load(Ordering::Acquire) < ncpu {
        core::hint::spin_loop();
    }
    let elapsed = sbi::micros() - t0;
    report(&title, ncpu, rounds, used_before, elapsed)
}

#[no_mangle]
extern "C" fn secondary_main(_hartid: usize) -> ! {
    run_on_this_hart();
    loop {
        unsafe { asm!("wfi") };
    }
}

/// Wait until every hart is online, then churn.
fn run_on_this_hart() {
    let ncpu = NCPU.load(Ordering::Acquire);
    ONLINE.fetch_add(1, Ordering::AcqRel);
    while ONLINE.load(Ordering::Acquire) < ncpu {
        core::hint::spin_loop();
    }
    churn::run(hartid(), ncpu, ROUNDS.load(Ordering::Relaxed));
    DONE.fetch_add(1, Ordering::AcqRel);
}

fn check(ok: bool, case: &str, detail: core::fmt::Arguments) -> bool {
    println!("{} rust-kernel/{}/{} {}", if ok { "PASS" } else { "FAIL" }, alloc_name(), case, detail);
    ok
}

/// Runs on the boot hart once every hart has finished its churn.
fn report(title: &str, ncpu: usize, rounds: usize, used_before: usize, elapsed_us: u64) -> ! {
    let mut ok = true;
    let results = churn::results();
    let ran = results.iter().filter(|r| r.rounds == rounds).count();
    ok &= check(ran == ncpu, "harts-online", format_args!("{} of {} harts ran {} rounds", ran, ncpu, rounds));
    let received: usize = results.iter().map(|r| r.parcels_received).sum();
    ok &= check(
        received == ncpu * rounds,
        "cross-hart-free",
        format_args!("{} values checked and freed on the next hart", received),
    );
    let checked: usize = results.iter().map(|r| r.values_checked).sum();
    ok &= check(checked > 0, "collections", format_args!("{} collection values checked", checked));
    ok &= churn::pages_case(check);
    let used_after = HEAP.used_bytes();
    ok &= check(
        used_after == used_before,
        "used-bytes-restored",
        format_args!("used bytes {} before, {} after", used_before, used_after),
    );
    let rc = HEAP.check();
    ok &= check(rc.is_ok(), "ha_check", format_args!("{:?}", rc));
    if let Some(s) = HEAP.stats(hartalloc::ffi::HA_ALL_CPUS) {
        println!(
            "{} allocs={} frees={} remote_frees={} peak={} B held_peak={} B, available {} B, {} ms",
            title,
            s.allocs,
            s.frees,
            s.remote_frees,
            s.bytes_peak,
            s.bytes_held_peak,
            HEAP.available_bytes(),
            elapsed_us / 1000
        );
    } else {
        println!("{}, available {} B, {} ms", title, HEAP.available_bytes(), elapsed_us / 1000);
    }
    HEAP.print_stats(); // through the puts hook
    sbi::exit(if ok { 0 } else { 3 })
}
