//! hartalloc as the `#[global_allocator]` of a Rust program: the crate's
//! build script compiles the C core; the embedding hooks are written here.
//! The simplest embedding: one CPU slot, held by whichever thread is inside
//! the allocator (irq_save takes a lock, the outermost irq_restore drops
//! it). A kernel would give each CPU its own slot instead.
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use hartalloc::{AllocType, Embedding, LazyGlobalAllocator};

const HEAP_SIZE: usize = 64 << 20;

#[global_allocator]
static HEAP: LazyGlobalAllocator = LazyGlobalAllocator::with_lazy_init(init_heap);

/// Runs on the first allocation, before main; must not allocate.
fn init_heap(heap: &LazyGlobalAllocator) {
    // The region: 4 MiB-aligned memory from the system allocator.
    let layout = Layout::from_size_align(HEAP_SIZE, 4 << 20).unwrap();
    let region = unsafe { System.alloc(layout) };
    if region.is_null() || unsafe { heap.init(AllocType::Mi, region as usize, HEAP_SIZE, 1) }.is_err() {
        Host::panic("cannot set up the heap");
    }
}

static LOCK: AtomicBool = AtomicBool::new(false);
thread_local! {
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

struct Host;

impl Embedding for Host {
    fn cpu_index() -> u32 {
        0
    }
    fn irq_save() -> usize {
        if DEPTH.with(|d| d.replace(d.get() + 1)) == 0 {
            while LOCK.swap(true, Ordering::Acquire) {
                std::thread::yield_now();
            }
        }
        0
    }
    fn irq_restore(_flags: usize) {
        if DEPTH.with(|d| {
            d.set(d.get() - 1);
            d.get()
        }) == 0
        {
            LOCK.store(false, Ordering::Release);
        }
    }
    fn panic(msg: &str) -> ! {
        let _ = writeln!(std::io::stderr(), "hartalloc: {}", msg);
        std::process::abort()
    }
    fn puts(s: &str) {
        let _ = std::io::stderr().write_all(s.as_bytes());
    }
}

hartalloc::embed_hooks!(Host);

fn main() {
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            std::thread::spawn(move || {
                let mut words: HashMap<String, u64> = HashMap::new();
                for i in 0..20_000u64 {
                    *words.entry(format!("word{}", (i * 7 + t) % 1000)).or_default() += 1;
                }
                words.values().sum::<u64>()
            })
        })
        .collect();
    let total: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    println!("rust: {} counted {} words on hartalloc", HEAP.name(), total);
}
