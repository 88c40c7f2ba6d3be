//! Collection churn over hartalloc, one case per behaviour: `cargo test` runs
//! this program (harness = false), which prints a PASS or FAIL line per case.
//! Cases run one after another on the main thread, so nothing else allocates
//! while a case checks that the heap is valid (ha_check) and that used bytes
//! return to their starting value once its values are dropped. (libtest's
//! own threads allocate while a test starts, which would blur that count.)
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::thread;

use hartalloc::{AllocType, LazyGlobalAllocator, PAGE_SIZE};

use hartalloc_host_test::{alloc_type_name, HEAP, HEAP_SIZE, SLOTS};

// More threads than CPU slots (plus the harness's), so slots are shared. Not
// many more: the locked backends spin in C, and a preempted lock holder costs
// every spinner its time slice on a loaded machine.
const THREADS: usize = 6;

/// Run `case` and check the heap afterwards: valid, and back to its usage.
fn balanced<F: FnOnce()>(case: F) {
    let heap: &LazyGlobalAllocator = &HEAP;
    // std keeps a few allocations made on first use (the main thread's handle
    // on the first spawn): make them before measuring.
    thread::spawn(|| thread::current().id()).join().unwrap();
    let before = heap.used_bytes();
    case();
    assert_eq!(heap.check(), Ok(()), "ha_check after the case");
    assert_eq!(heap.used_bytes(), before, "used bytes after everything was dropped");
}

/// A value derived from (thread, index) so contents can be checked anywhere.
fn pattern(thread: usize, i: usize) -> u64 {
    ((thread as u64) << 40) ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

fn selected_alloc_type_is_running() {
    assert_eq!(HEAP.name(), alloc_type_name());
    assert!(HEAP.is_ready());
    for ty in AllocType::ALL.iter() {
        assert_eq!(AllocType::from_name(ty.name()), Some(*ty));
        assert!(AllocType::names().contains(ty.name()));
    }
    assert_eq!(AllocType::from_name("no-such-type"), None);
    assert_eq!(AllocType::from_name(""), None);
    assert_eq!(unsafe { HEAP.init(AllocType::Mi, 4096, 4096, 1) }, Err(hartalloc::AllocError::AlreadyInitialized));
}

fn vec_and_string_churn_on_threads() {
    balanced(|| {
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                thread::spawn(move || {
                    for round in 0..40 {
                        let mut v: Vec<u64> = Vec::new();
                        for i in 0..(round * 97 % 3000) {
                            v.push(pattern(t, i));
                        }
                        let mut strings: Vec<String> = (0..64).map(|i| format!("t{}-r{}-{}", t, round, i)).collect();
                        for (i, x) in v.iter().enumerate() {
                            assert_eq!(*x, pattern(t, i));
                        }
                        v.truncate(v.len() / 3);
                        v.shrink_to_fit();
                        strings.retain(|s| !s.ends_with('7'));
                        for s in strings.iter_mut() {
                            s.push_str(&"x".repeat(round));
                        }
                        for (i, x) in v.iter().enumerate() {
                            assert_eq!(*x, pattern(t, i));
                        }
                        for s in &strings {
                            assert!(s.starts_with(&format!("t{}-r{}-", t, round)));
                            assert!(s.ends_with(&"x".repeat(round)));
                        }
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
    });
}

fn hashmap_and_btreemap_churn_on_threads() {
    // Live blocks per thread stay in the thousands: the list-based fits
    // (first/best/worst-fit) scan every free block per call.
    const KEYS: usize = 1500;
    balanced(|| {
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                thread::spawn(move || {
                    let mut hash: HashMap<String, Vec<u32>> = HashMap::new();
                    let mut tree: BTreeMap<u64, Box<[u8]>> = BTreeMap::new();
                    for i in 0..KEYS {
                        hash.insert(format!("key-{}-{}", t, i), (0..(i % 50) as u32).collect());
                        tree.insert(pattern(t, i), vec![(i % 251) as u8; i % 300].into_boxed_slice());
                        if i % 3 == 0 {
                            let k = i / 2;
                            hash.remove(&format!("key-{}-{}", t, k));
                            tree.remove(&pattern(t, k));
                        }
                    }
                    // Exactly the keys never removed remain, with their contents.
                    let removed: HashSet<usize> = (0..KEYS).filter(|i| i % 3 == 0).map(|i| i / 2).collect();
                    for i in 0..KEYS {
                        let in_hash = hash.get(&format!("key-{}-{}", t, i));
                        let in_tree = tree.get(&pattern(t, i));
                        assert_eq!(in_hash.is_none(), removed.contains(&i));
                        assert_eq!(in_tree.is_none(), removed.contains(&i));
                        if let (Some(v), Some(b)) = (in_hash, in_tree) {
                            assert_eq!(v.len(), i % 50);
                            assert!(v.iter().enumerate().all(|(j, x)| *x == j as u32));
                            assert_eq!(b.len(), i % 300);
                            assert!(b.iter().all(|x| *x == (i % 251) as u8));
                        }
                    }
                    assert_eq!(hash.len(), KEYS - removed.len());
                    assert_eq!(tree.len(), KEYS - removed.len());
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
    });
}

#[repr(C, align(4096))]
struct Page4K([u64; 512]);

#[repr(C, align(65536))]
struct Aligned64K([u8; 100]);

fn boxes_with_large_alignments() {
    balanced(|| {
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                thread::spawn(move || {
                    let mut pages: Vec<Box<Page4K>> = Vec::new();
                    let mut wide: VecDeque<Box<Aligned64K>> = VecDeque::new();
                    for i in 0..200 {
                        let mut p = Box::new(Page4K([0; 512]));
                        p.0[i % 512] = pattern(t, i);
                        pages.push(p);
                        wide.push_back(Box::new(Aligned64K([(i % 256) as u8; 100])));
                        if i % 4 == 3 {
                            wide.pop_front();
                        }
                    }
                    for (i, p) in pages.iter().enumerate() {
                        assert_eq!(&**p as *const Page4K as usize % 4096, 0);
                        assert_eq!(p.0[i % 512], pattern(t, i));
                        assert_eq!(p.0.iter().filter(|x| **x != 0).count(), (pattern(t, i) != 0) as usize);
                    }
                    for b in &wide {
                        assert_eq!(&**b as *const Aligned64K as usize % 65536, 0);
                        assert!(b.0.iter().all(|x| *x == b.0[0]));
                    }
                    assert_eq!(wide.len(), 200 - 50);
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
    });
}

/// A value made on one thread, checked and dropped on another.
struct Parcel {
    from: usize,
    seq: usize,
    words: Vec<u64>,
    text: String,
    page: Box<Page4K>,
    tree: BTreeMap<usize, String>,
}

impl Parcel {
    fn new(from: usize, seq: usize) -> Parcel {
        let mut page = Box::new(Page4K([0; 512]));
        page.0[seq % 512] = pattern(from, seq);
        Parcel {
            from,
            seq,
            words: (0..seq % 700).map(|i| pattern(from, i)).collect(),
            text: format!("parcel {} from {}", seq, from),
            page,
            tree: (0..seq % 20).map(|i| (i, i.to_string())).collect(),
        }
    }

    fn verify(&self) {
        assert!(self.words.iter().enumerate().all(|(i, w)| *w == pattern(self.from, i)));
        assert_eq!(self.words.len(), self.seq % 700);
        assert_eq!(self.text, format!("parcel {} from {}", self.seq, self.from));
        assert_eq!(self.page.0[self.seq % 512], pattern(self.from, self.seq));
        assert_eq!(self.tree.len(), self.seq % 20);
        assert!(self.tree.iter().all(|(k, v)| *v == k.to_string()));
    }
}

fn values_dropped_on_another_thread() {
    balanced(|| {
        const PER_THREAD: usize = 500;
        // Bounded channels keep the live set small; a sender that finds its
        // channel full keeps receiving, so the ring of threads cannot deadlock.
        let (senders, receivers): (Vec<_>, Vec<_>) = (0..THREADS).map(|_| mpsc::sync_channel::<Box<Parcel>>(8)).unzip();
        let start = Arc::new(Barrier::new(THREADS));
        let mut workers = Vec::new();
        for (t, rx) in receivers.into_iter().enumerate() {
            // Thread t sends to thread t+1 and receives from thread t-1.
            let tx = senders[(t + 1) % THREADS].clone();
            let start = start.clone();
            workers.push(thread::spawn(move || {
                start.wait();
                let (mut sent, mut received) = (0, 0);
                let mut pending: Option<Box<Parcel>> = None;
                while sent < PER_THREAD || received < PER_THREAD {
                    if pending.is_none() && sent < PER_THREAD {
                        pending = Some(Box::new(Parcel::new(t, sent)));
                    }
                    if let Some(p) = pending.take() {
                        match tx.try_send(p) {
                            Ok(()) => sent += 1,
                            Err(mpsc::TrySendError::Full(p)) => pending = Some(p),
                            Err(mpsc::TrySendError::Disconnected(_)) => panic!("receiver gone"),
                        }
                    }
                    match rx.try_recv() {
                        Ok(p) => {
                            assert_eq!(p.from, (t + THREADS - 1) % THREADS);
                            assert_eq!(p.seq, received);
                            p.verify();
                            received += 1;
                        }
                        Err(_) => thread::yield_now(),
                    }
                }
                received
            }));
        }
        drop(senders);
        for w in workers {
            assert_eq!(w.join().unwrap(), PER_THREAD);
        }
    });
}

fn zeroed_allocation_and_realloc_keep_contents() {
    balanced(|| {
        for n in [1usize, 15, 4096, 100_000, 3 << 20].iter() {
            let v = vec![0u8; *n]; // alloc_zeroed
            assert!(v.iter().all(|b| *b == 0));
            let mut w: Vec<u32> = (0..*n as u32 / 4 + 1).collect();
            for _ in 0..3 {
                w.reserve(w.len() * 2); // realloc up
            }
            w.truncate(w.len() / 2);
            w.shrink_to_fit(); // realloc down
            assert!(w.iter().enumerate().all(|(i, x)| *x == i as u32));
        }
    });
}

fn pages_are_aligned_counted_and_returned() {
    balanced(|| {
        let heap: &LazyGlobalAllocator = &HEAP;
        let pages_before = heap.used_pages();
        let mut blocks = Vec::new();
        for (i, (n, align)) in [(1, PAGE_SIZE), (3, PAGE_SIZE), (16, 16 * PAGE_SIZE), (5, 8 * PAGE_SIZE)].iter().enumerate() {
            let addr = heap.alloc_pages(*n, *align).expect("alloc_pages");
            assert_eq!(addr % align, 0);
            let words = unsafe { std::slice::from_raw_parts_mut(addr as *mut u64, n * PAGE_SIZE / 8) };
            for (j, w) in words.iter_mut().enumerate() {
                *w = pattern(i, j);
            }
            blocks.push((addr, *n, i));
        }
        assert_eq!(heap.used_pages(), pages_before + 1 + 3 + 16 + 5);
        assert_eq!(heap.alloc_pages(1, 100), Err(hartalloc::AllocError::InvalidParam));
        for (addr, n, i) in blocks {
            let words = unsafe { std::slice::from_raw_parts(addr as *const u64, n * PAGE_SIZE / 8) };
            assert!(words.iter().enumerate().all(|(j, w)| *w == pattern(i, j)));
            unsafe { heap.dealloc_pages(addr, n) };
        }
        assert_eq!(heap.used_pages(), pages_before);
    });
}

fn usage_figures_follow_allocations() {
    let heap: &LazyGlobalAllocator = &HEAP;
    let before = heap.used_bytes();
    let block: Vec<u8> = Vec::with_capacity(1 << 20);
    assert!(heap.used_bytes() >= before + (1 << 20));
    assert!(heap.available_bytes() > 0 && heap.available_bytes() < HEAP_SIZE);
    drop(block);
    assert_eq!(heap.used_bytes(), before);
    let all = heap.stats(hartalloc::ffi::HA_ALL_CPUS);
    if let Some(s) = all {
        assert!(s.allocs >= s.frees);
        // What the allocator holds covers what is live; its peak covers it.
        assert!(s.bytes_held >= s.bytes_in_use && s.bytes_held > 0, "held {} for {} live", s.bytes_held, s.bytes_in_use);
        assert!(s.bytes_held_peak >= s.bytes_held);
        // A backend with one heap (mi-locked) reports CPU 0 only.
        assert!(heap.stats(0).is_some());
        let per_cpu: Vec<u64> = (0..SLOTS).filter_map(|cpu| heap.stats(cpu)).map(|c| c.allocs).collect();
        assert!(per_cpu.iter().sum::<u64>() >= s.allocs, "per-CPU allocs add up to the total");
    }
}

fn main() {
    let cases: [(&str, fn()); 8] = [
        ("selected_alloc_type_is_running", selected_alloc_type_is_running),
        ("vec_and_string_churn_on_threads", vec_and_string_churn_on_threads),
        ("hashmap_and_btreemap_churn_on_threads", hashmap_and_btreemap_churn_on_threads),
        ("boxes_with_large_alignments", boxes_with_large_alignments),
        ("values_dropped_on_another_thread", values_dropped_on_another_thread),
        ("zeroed_allocation_and_realloc_keep_contents", zeroed_allocation_and_realloc_keep_contents),
        ("pages_are_aligned_counted_and_returned", pages_are_aligned_counted_and_returned),
        ("usage_figures_follow_allocations", usage_figures_follow_allocations),
    ];
    let ty = alloc_type_name();
    let mut failed = 0;
    for (name, case) in cases.iter() {
        match std::panic::catch_unwind(*case) {
            Ok(()) => println!("PASS rust-host/{}/{}", ty, name),
            Err(_) => {
                println!("FAIL rust-host/{}/{}", ty, name);
                failed += 1;
            }
        }
    }
    println!("rust-host/{}: {} passed, {} failed", ty, cases.len() - failed, failed);
    if failed > 0 {
        std::process::exit(1);
    }
}
