//! hartalloc as the `#[global_allocator]` of a host Rust program: the C core
//! (compiled by hartalloc's build script) with the embedding hooks written in
//! Rust, so no C embedding is linked. `cargo test` runs tests/churn.rs.
//!
//! Host threads outnumber the allocator's CPU slots, so a thread gains
//! exclusive use of its slot in `irq_save` (the contract in
//! hartalloc_embed.h allows it): each thread is given slot
//! `n % SLOTS` on first use and holds that slot's lock from the outermost
//! `irq_save` to the matching `irq_restore`.
//!
//! The alloc_type comes from the environment variable HA_ALLOC (default "mi"),
//! read with libc's getenv because std's would allocate.
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Write;
use std::sync::atomic::{AtomicU32, Ordering};

use hartalloc::{AllocType, Embedding, LazyGlobalAllocator};

/// CPU slots handed to ha_init.
pub const SLOTS: u32 = 4;
/// The heap: one region, 4 MiB aligned, from the system allocator.
pub const HEAP_SIZE: usize = 256 << 20;
const HEAP_ALIGN: usize = 4 << 20;

#[global_allocator]
pub static HEAP: LazyGlobalAllocator = LazyGlobalAllocator::with_lazy_init(init_heap);

/// Runs on the first allocation (before main): must not allocate.
fn init_heap(heap: &LazyGlobalAllocator) {
    let name = alloc_type_name();
    let ty = match AllocType::from_name(name) {
        Some(ty) => ty,
        None => HostEmbedding::panic_fmt(format_args!(
            "HA_ALLOC={}: unknown alloc_type (valid: {})",
            name,
            AllocType::names()
        )),
    };
    let layout = Layout::from_size_align(HEAP_SIZE, HEAP_ALIGN).unwrap();
    let region = unsafe { System.alloc(layout) };
    if region.is_null() {
        HostEmbedding::panic("cannot reserve the heap region");
    }
    if let Err(e) = unsafe { heap.init(ty, region as usize, HEAP_SIZE, SLOTS) } {
        HostEmbedding::panic_fmt(format_args!("ha_init({}) failed: {:?}", name, e));
    }
}

extern "C" {
    fn getenv(name: *const u8) -> *const u8;
}

/// $HA_ALLOC, or "mi".
pub fn alloc_type_name() -> &'static str {
    let value = unsafe { hartalloc::c_str(getenv(b"HA_ALLOC\0".as_ptr())) };
    if value.is_empty() {
        "mi"
    } else {
        value
    }
}

static SLOT_LOCKS: [AtomicU32; SLOTS as usize] = [AtomicU32::new(0), AtomicU32::new(0), AtomicU32::new(0), AtomicU32::new(0)];
static NEXT_SLOT: AtomicU32 = AtomicU32::new(0);

thread_local! {
    static SLOT: Cell<u32> = const { Cell::new(u32::MAX) };
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

pub struct HostEmbedding;

impl HostEmbedding {
    fn slot() -> u32 {
        SLOT.with(|s| {
            if s.get() == u32::MAX {
                s.set(NEXT_SLOT.fetch_add(1, Ordering::Relaxed) % SLOTS);
            }
            s.get()
        })
    }

    fn panic_fmt(args: std::fmt::Arguments) -> ! {
        let _ = std::io::stderr().write_fmt(format_args!("hartalloc host: {}\n", args));
        std::process::abort()
    }
}

impl Embedding for HostEmbedding {
    fn cpu_index() -> u32 {
        Self::slot()
    }

    fn irq_save() -> usize {
        let depth = DEPTH.with(|d| d.replace(d.get() + 1));
        if depth == 0 {
            let lock = &SLOT_LOCKS[Self::slot() as usize];
            let mut spins = 0u32;
            while lock.swap(1, Ordering::Acquire) != 0 {
                while lock.load(Ordering::Relaxed) != 0 {
                    spins += 1;
                    if spins % 64 == 0 {
                        std::thread::yield_now(); // the holder may be descheduled
                    } else {
                        std::hint::spin_loop();
                    }
                }
            }
        }
        0
    }

    fn irq_restore(_flags: usize) {
        let depth = DEPTH.with(|d| {
            d.set(d.get() - 1);
            d.get()
        });
        if depth == 0 {
            SLOT_LOCKS[Self::slot() as usize].store(0, Ordering::Release);
        }
    }

    fn panic(msg: &str) -> ! {
        Self::panic_fmt(format_args!("{}", msg))
    }

    fn puts(s: &str) {
        let _ = std::io::stderr().write_all(s.as_bytes());
    }
}

hartalloc::embed_hooks!(HostEmbedding);
