//! Collection churn on every hart, over the global allocator.
//!
//! Each round a hart builds, checks and drops Vec, String, BTreeMap,
//! VecDeque, BinaryHeap, Rc and page-aligned Box values, and posts one
//! `Parcel` (a Box holding a Vec, a String, a BTreeMap and a 4 KiB-aligned
//! page) into the mailbox of the next hart, which checks it and frees it:
//! every value crosses to another allocator CPU before it is dropped.
//! Any mismatch panics, which fails the run.

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, BinaryHeap, VecDeque};
use alloc::format;
use alloc::rc::Rc;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};

use hartalloc::PAGE_SIZE;

use crate::{MAX_HARTS, HEAP};

pub const DEFAULT_ROUNDS: usize = 100;

/// What a hart did, published when it finishes.
#[derive(Clone, Copy, Default)]
pub struct HartResult {
    pub rounds: usize,
    pub parcels_received: usize,
    pub values_checked: usize,
}

const ZERO: AtomicUsize = AtomicUsize::new(0);
static ROUNDS_DONE: [AtomicUsize; MAX_HARTS] = [ZERO; MAX_HARTS];
static RECEIVED: [AtomicUsize; MAX_HARTS] = [ZERO; MAX_HARTS];
static CHECKED: [AtomicUsize; MAX_HARTS] = [ZERO; MAX_HARTS];
/// MAILBOX[h]: a `Box<Parcel>` for hart h (as a raw pointer) or 0. Only hart
/// h-1 stores into it, only hart h takes from it.
static MAILBOX: [AtomicUsize; MAX_HARTS] = [ZERO; MAX_HARTS];

/// Every hart's result (not allocated: the caller then measures usage).
pub fn results() -> [HartResult; MAX_HARTS] {
    let mut out = [HartResult::default(); MAX_HARTS];
    for (h, r) in out.iter_mut().enumerate() {
        *r = HartResult {
            rounds: ROUNDS_DONE[h].load(Ordering::Acquire),
            parcels_received: RECEIVED[h].load(Ordering::Acquire),
            values_checked: CHECKED[h].load(Ordering::Acquire),
        };
    }
    out
}

/// A value derived from (hart, index) so contents can be checked anywhere.
fn pattern(hart: usize, i: usize) -> u64 {
    ((hart as u64) << 40) ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

#[repr(C, align(4096))]
struct Page([u64; PAGE_SIZE / 8]);

#[repr(C, align(65536))]
struct Aligned64K([u8; 64]);

struct Parcel {
    from: usize,
    seq: usize,
    words: Vec<u64>,
    text: String,
    page: Box<Page>,
    tree: BTreeMap<usize, String>,
}

impl Parcel {
    fn new(from: usize, seq: usize) -> Box<Parcel> {
        let mut page = Box::new(Page([0; PAGE_SIZE / 8]));
        page.0[seq % 512] = pattern(from, seq);
        Box::new(Parcel {
            from,
            seq,
            words: (0..seq % 300).map(|i| pattern(from, i)).collect(),
            text: format!("parcel {} from hart {}", seq, from),
            page,
            tree: (0..seq % 16).map(|i| (i, i.to_string())).collect(),
        })
    }

    fn verify(&self, from: usize, seq: usize) {
        assert_eq!((self.from, self.seq), (from, seq), "parcel order");
        assert_eq!(self.words.len(), seq % 300);
        assert!(self.words.iter().enumerate().all(|(i, w)| *w == pattern(from, i)), "parcel words");
        assert_eq!(self.text, format!("parcel {} from hart {}", seq, from));
        assert_eq!(&*self.page as *const Page as usize % PAGE_SIZE, 0);
        assert_eq!(self.page.0[seq % 512], pattern(from, seq));
        assert_eq!(self.tree.len(), seq % 16);
        assert!(self.tree.iter().all(|(k, v)| *v == k.to_string()), "parcel tree");
    }
}

/// The churn of one hart: `rounds` rounds, `rounds` parcels sent to the next
/// hart, `rounds` parcels received from the previous one.
pub fn run(hart: usize, ncpu: usize, rounds: usize) {
    let next = (hart + 1) % ncpu;
    let prev = (hart + ncpu - 1) % ncpu;
    let mut outgoing: Option<Box<Parcel>> = None;
    let (mut sent, mut received, mut checked) = (0, 0, 0);
    let mut round = 0;
    while round < rounds || sent < rounds || received < rounds {
        if round < rounds {
            checked += collections_round(hart, round);
            round += 1;
        }
        // Post a parcel when the next hart's mailbox is empty.
        if outgoing.is_none() && sent < rounds {
            outgoing = Some(Parcel::new(hart, sent));
        }
        if let Some(p) = outgoing.take() {
            let raw = Box::into_raw(p) as usize;
            if MAILBOX[next].compare_exchange(0, raw, Ordering::Release, Ordering::Relaxed).is_ok() {
                sent += 1;
            } else {
                outgoing = Some(unsafe { Box::from_raw(raw as *mut Parcel) });
            }
        }
        // Take, check and free the previous hart's parcel.
        let raw = MAILBOX[hart].swap(0, Ordering::Acquire);
        if raw != 0 {
            let parcel = unsafe { Box::from_raw(raw as *mut Parcel) };
            parcel.verify(prev, received);
            received += 1;
            checked += 1;
        }
        if round >= rounds {
            core::hint::spin_loop();
        }
    }
    RECEIVED[hart].store(received, Ordering::Release);
    CHECKED[hart].store(checked, Ordering::Release);
    ROUNDS_DONE[hart].store(round, Ordering::Release);
}

/// One round of single-hart churn; returns the number of values checked.
fn collections_round(hart: usize, round: usize) -> usize {
    let mut checked = 0;

    // Vec: grow (realloc), check, shrink (realloc down), check.
    let n = 1 + round * 37 % 2000;
    let mut v: Vec<u64> = Vec::new();
    for i in 0..n {
        v.push(pattern(hart, i));
    }
    v.truncate(n / 2 + 1);
    v.shrink_to_fit();
    assert!(v.iter().enumerate().all(|(i, x)| *x == pattern(hart, i)), "vec contents");
    checked += v.len();

    // Zeroed allocation.
    let z = alloc::vec![0u32; 1 + round * 13 % 5000];
    assert!(z.iter().all(|x| *x == 0), "zeroed vec");

    // Strings.
    let mut strings: Vec<String> = (0..32).map(|i| format!("h{}-r{}-{}", hart, round, i)).collect();
    strings.retain(|s| !s.ends_with('3'));
    for s in strings.iter_mut() {
        s.push_str("-suffix");
    }
    for (i, s) in strings.iter().enumerate() {
        let expect_i = if i < 3 { i } else { i + 1 + (i - 3) / 9 }; // "3", "13", "23" were removed
        assert_eq!(*s, format!("h{}-r{}-{}-suffix", hart, round, expect_i));
        checked += 1;
    }

    // BTreeMap with boxed slices; remove every third key.
    let mut tree: BTreeMap<u64, Box<[u8]>> = BTreeMap::new();
    for i in 0..200 {
        tree.insert(pattern(hart, i), alloc::vec![(i % 251) as u8; i % 97].into_boxed_slice());
    }
    for i in (0..200).step_by(3) {
        assert!(tree.remove(&pattern(hart, i)).is_some());
    }
    assert_eq!(tree.len(), 200 - 67);
    for i in 0..200 {
        match tree.get(&pattern(hart, i)) {
            Some(b) => {
                assert!(i % 3 != 0 && b.len() == i % 97 && b.iter().all(|x| *x == (i % 251) as u8), "tree value");
                checked += 1;
            }
            None => assert_eq!(i % 3, 0, "tree lost a key"),
        }
    }

    // VecDeque as a queue, BinaryHeap order, Rc sharing.
    let mut queue: VecDeque<Rc<String>> = VecDeque::new();
    let shared = Rc::new(format!("shared {}", round));
    for i in 0..100 {
        queue.push_back(if i % 10 == 0 { shared.clone() } else { Rc::new(i.to_string()) });
        if i % 3 == 2 {
            queue.pop_front();
        }
    }
    assert_eq!(queue.len(), 100 - 33);
    assert_eq!(Rc::strong_count(&shared), 1 + queue.iter().filter(|s| Rc::ptr_eq(s, &shared)).count());
    let mut heap: BinaryHeap<u64> = (0..300).map(|i| pattern(hart, i) % 1000).collect();
    let mut last = u64::MAX;
    while let Some(x) = heap.pop() {
        assert!(x <= last, "heap order");
        last = x;
        checked += 1;
    }

    // Large alignments.
    let pages: Vec<Box<Page>> = (0..4).map(|i| Box::new(Page([pattern(hart, round + i); PAGE_SIZE / 8]))).collect();
    let wide = Box::new(Aligned64K([round as u8; 64]));
    for (i, p) in pages.iter().enumerate() {
        assert_eq!(&**p as *const Page as usize % PAGE_SIZE, 0);
        assert!(p.0.iter().all(|w| *w == pattern(hart, round + i)), "page contents");
    }
    assert_eq!(&*wide as *const Aligned64K as usize % 65536, 0);
    assert!(wide.0.iter().all(|b| *b == round as u8));
    checked + pages.len() + 1
}

/// The page API (ArceOS PageAllocator): aligned, counted, returned. Runs on
/// the boot hart alone.
pub fn pages_case(check: fn(bool, &str, core::fmt::Arguments) -> bool) -> bool {
    let before = HEAP.used_pages();
    let mut blocks = Vec::new();
    let mut aligned = true;
    for (i, (n, align)) in [(1usize, PAGE_SIZE), (3, PAGE_SIZE), (16, 16 * PAGE_SIZE), (5, 8 * PAGE_SIZE)].iter().enumerate() {
        let addr = match HEAP.alloc_pages(*n, *align) {
            Ok(a) => a,
            Err(e) => return check(false, "pages", format_args!("alloc_pages({}, {:#x}): {:?}", n, align, e)),
        };
        aligned &= addr % align == 0;
        let words = unsafe { core::slice::from_raw_parts_mut(addr as *mut u64, n * PAGE_SIZE / 8) };
        for (j, w) in words.iter_mut().enumerate() {
            *w = pattern(i, j);
        }
        blocks.push((addr, *n, i));
    }
    let counted = HEAP.used_pages() == before + 1 + 3 + 16 + 5;
    let mut intact = true;
    for (addr, n, i) in blocks.drain(..) {
        let words = unsafe { core::slice::from_raw_parts(addr as *const u64, n * PAGE_SIZE / 8) };
        intact &= words.iter().enumerate().all(|(j, w)| *w == pattern(i, j));
        unsafe { HEAP.dealloc_pages(addr, n) };
    }
    let returned = HEAP.used_pages() == before;
    check(
        aligned && counted && intact && returned,
        "pages",
        format_args!("aligned {} counted {} intact {} returned {}", aligned, counted, intact, returned),
    )
}
