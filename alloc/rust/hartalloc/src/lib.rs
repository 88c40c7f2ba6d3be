//! hartalloc for Rust kernels: the C allocator behind `#[global_allocator]`.
//!
//! Three layers, each usable alone:
//!  - [`ffi`]: the `extern "C"` declarations of `alloc/include/hartalloc.h`;
//!  - [`GlobalAllocator`]: a `GlobalAlloc` mapping alloc/dealloc/alloc_zeroed/
//!    realloc one-to-one onto `ha_alloc`/`ha_dealloc`/`ha_alloc_zeroed`/
//!    `ha_realloc`, plus a safe API shaped like ArceOS's axalloc
//!    `GlobalAllocator` (init, add_memory, alloc_pages, used/available, name);
//!  - [`Embedding`] and [`embed_hooks!`]: the five hooks the C core needs
//!    (`alloc/include/hartalloc_embed.h`), written in Rust and exported with C
//!    linkage, so a kernel links the core with no C glue of its own.
//!
//! The build script compiles the C core for the target being built and links
//! it (see build.rs). Only core is used: the crate builds for the host with
//! rustup's stable toolchain and for riscv64gc-unknown-none-elf with rustc 1.63.
//! The C ABI is LP64 (`unsigned long` is `usize`), as on both targets.
#![no_std]

use core::alloc::{GlobalAlloc, Layout};
pub use core::ffi::c_void;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU32, Ordering};

/// The C ABI, declared as in hartalloc.h. `ha_type` travels as `u32` so an
/// out-of-range value from C is never a Rust enum.
#[allow(non_camel_case_types)]
pub mod ffi {
    use core::ffi::c_void;

    pub type ha_type = u32;

    pub const HA_OK: i32 = 0;
    pub const HA_EINVAL: i32 = 1;
    pub const HA_ETOOSMALL: i32 = 2;
    pub const HA_EALIGN: i32 = 3;
    pub const HA_EBUSY: i32 = 4;
    pub const HA_EFULL: i32 = 5;
    pub const HA_ENOINIT: i32 = 6;

    pub const HA_MEMORY_ZEROED: u32 = 1;
    pub const HA_PAGE_SIZE: usize = 4096;
    pub const HA_ALL_CPUS: u32 = !0;

    /// `struct ha_stats`.
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct ha_stats {
        pub allocs: u64,
        pub frees: u64,
        pub remote_frees: u64,
        pub bytes_in_use: u64,
        pub bytes_peak: u64,
        pub pages_in_use: u64,
        pub segments_in_use: u64,
        pub bytes_held: u64,
        pub bytes_held_peak: u64,
    }

    extern "C" {
        pub fn ha_init(ty: ha_type, start: *mut c_void, size: usize, ncpu: u32) -> i32;
        pub fn ha_init_flags(ty: ha_type, start: *mut c_void, size: usize, ncpu: u32, flags: u32) -> i32;
        pub fn ha_add_memory(start: *mut c_void, size: usize) -> i32;
        pub fn ha_add_memory_flags(start: *mut c_void, size: usize, flags: u32) -> i32;

        pub fn ha_type_from_name(name: *const u8, out: *mut ha_type) -> i32;
        pub fn ha_type_name(ty: ha_type) -> *const u8;
        pub fn ha_name() -> *const u8;
        pub fn ha_type_names() -> *const u8;

        pub fn ha_alloc(size: usize, align: usize) -> *mut c_void;
        pub fn ha_alloc_zeroed(size: usize, align: usize) -> *mut c_void;
        pub fn ha_dealloc(ptr: *mut c_void, size: usize, align: usize);
        pub fn ha_realloc(ptr: *mut c_void, old_size: usize, align: usize, new_size: usize) -> *mut c_void;
        pub fn ha_usable_size(ptr: *const c_void) -> usize;
        pub fn ha_free(ptr: *mut c_void);

        pub fn ha_alloc_pages(num_pages: usize, align_pow2: usize) -> *mut c_void;
        pub fn ha_dealloc_pages(addr: *mut c_void, num_pages: usize);

        pub fn ha_used_bytes() -> usize;
        pub fn ha_available_bytes() -> usize;
        pub fn ha_used_pages() -> usize;
        pub fn ha_available_pages() -> usize;

        pub fn ha_get_stats(cpu: u32, out: *mut ha_stats) -> i32;
        pub fn ha_print_stats();
        pub fn ha_check() -> i32;
    }
}

pub use ffi::ha_stats as Stats;
pub use ffi::HA_PAGE_SIZE as PAGE_SIZE;

/// The alloc_types of hartalloc.h, in ABI order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum AllocType {
    Mi = 0,
    MiLocked,
    Tlsf,
    Buddy,
    Slab,
    FirstFit,
    BestFit,
    WorstFit,
}

impl AllocType {
    pub const ALL: [AllocType; 8] = [
        AllocType::Mi,
        AllocType::MiLocked,
        AllocType::Tlsf,
        AllocType::Buddy,
        AllocType::Slab,
        AllocType::FirstFit,
        AllocType::BestFit,
        AllocType::WorstFit,
    ];

    /// The type named `name` ("mi", "tlsf", ...), as ha_type_from_name decides.
    pub fn from_name(name: &str) -> Option<AllocType> {
        let mut buf = [0u8; 32];
        if name.len() >= buf.len() || name.as_bytes().contains(&0) {
            return None;
        }
        buf[..name.len()].copy_from_slice(name.as_bytes());
        let mut raw: ffi::ha_type = 0;
        if unsafe { ffi::ha_type_from_name(buf.as_ptr(), &mut raw) } != 0 {
            return None;
        }
        AllocType::from_raw(raw)
    }

    pub fn from_raw(raw: ffi::ha_type) -> Option<AllocType> {
        AllocType::ALL.get(raw as usize).copied()
    }

    pub fn name(self) -> &'static str {
        unsafe { c_str(ffi::ha_type_name(self as ffi::ha_type)) }
    }

    /// "mi, mi-locked, tlsf, ...": every valid name, for error messages.
    pub fn names() -> &'static str {
        unsafe { c_str(ffi::ha_type_names()) }
    }
}

/// Why a call failed: the negated `HA_E*` codes, plus `NoMemory` for a NULL
/// from an allocating call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AllocError {
    InvalidParam,
    TooSmall,
    Misaligned,
    AlreadyInitialized,
    Full,
    NotInitialized,
    NoMemory,
    Other(i32),
}

impl AllocError {
    fn check(rc: i32) -> Result<(), AllocError> {
        match -rc {
            ffi::HA_OK => Ok(()),
            ffi::HA_EINVAL => Err(AllocError::InvalidParam),
            ffi::HA_ETOOSMALL => Err(AllocError::TooSmall),
            ffi::HA_EALIGN => Err(AllocError::Misaligned),
            ffi::HA_EBUSY => Err(AllocError::AlreadyInitialized),
            ffi::HA_EFULL => Err(AllocError::Full),
            ffi::HA_ENOINIT => Err(AllocError::NotInitialized),
            _ => Err(AllocError::Other(rc)),
        }
    }
}

pub type AllocResult<T = ()> = Result<T, AllocError>;

const UNINIT: u32 = 0;
const INITIALIZING: u32 = 1;
const READY: u32 = 2;
const FAILED: u32 = 3;

/// The global allocator of a kernel (or of a host program), in the shape of
/// ArceOS's `axalloc::GlobalAllocator`.
///
/// Before `init` succeeds, allocating calls return NULL (so the kernel's
/// alloc_error_handler reports it) instead of reaching an uninitialised core:
/// `ha_alloc` itself returns NULL before `ha_init`, so `GlobalAlloc::alloc`
/// is the bare call, a tail jump (the kernel's whole allocation path is the
/// C core's). A program whose runtime allocates before main (the host) uses
/// [`LazyGlobalAllocator`] instead, built with [`GlobalAllocator::with_lazy_init`]:
/// its first allocation runs the function, which must call `init` and must
/// not allocate; every allocation checks that first.
pub struct GlobalAllocator<const LAZY: bool = false> {
    state: AtomicU32,
    lazy_init: Option<fn(&GlobalAllocator<LAZY>)>,
}

/// A [`GlobalAllocator`] that initialises itself on its first allocation.
pub type LazyGlobalAllocator = GlobalAllocator<true>;

impl GlobalAllocator<false> {
    pub const fn new() -> GlobalAllocator<false> {
        GlobalAllocator { state: AtomicU32::new(UNINIT), lazy_init: None }
    }
}

impl GlobalAllocator<true> {
    pub const fn with_lazy_init(init: fn(&GlobalAllocator<true>)) -> GlobalAllocator<true> {
        GlobalAllocator { state: AtomicU32::new(UNINIT), lazy_init: Some(init) }
    }
}

impl<const LAZY: bool> GlobalAllocator<LAZY> {
    /// Start the allocator of type `ty` over [start, start+size) for CPU
    /// indices 0..ncpu (as returned by the embedding's `cpu_index`).
    ///
    /// # Safety
    /// The region must be valid, unused memory that lives forever.
    pub unsafe fn init(&self, ty: AllocType, start: usize, size: usize, ncpu: u32) -> AllocResult {
        let rc = ffi::ha_init(ty as ffi::ha_type, start as *mut _, size, ncpu);
        let result = AllocError::check(rc);
        match result {
            Ok(()) => self.state.store(READY, Ordering::Release),
            // A second init must not disturb the running allocator.
            Err(AllocError::AlreadyInitialized) => {}
            Err(_) => self.state.store(FAILED, Ordering::Release),
        }
        result
    }

    /// Hand another region to the running allocator.
    ///
    /// # Safety
    /// As for `init`; the region must not overlap one already added.
    pub unsafe fn add_memory(&self, start: usize, size: usize) -> AllocResult {
        AllocError::check(ffi::ha_add_memory(start as *mut _, size))
    }

    /// The running alloc_type's name ("" before init).
    pub fn name(&self) -> &'static str {
        unsafe { c_str(ffi::ha_name()) }
    }

    pub fn is_ready(&self) -> bool {
        self.state.load(Ordering::Acquire) == READY
    }

    /// True once the allocator may be called, running the lazy init if needed.
    #[inline]
    fn ready(&self) -> bool {
        self.state.load(Ordering::Acquire) == READY || self.ready_slow()
    }

    #[cold]
    fn ready_slow(&self) -> bool {
        let init = match self.lazy_init {
            Some(f) => f,
            None => return false,
        };
        if self.state.compare_exchange(UNINIT, INITIALIZING, Ordering::Acquire, Ordering::Acquire).is_ok() {
            init(self);
            if self.state.load(Ordering::Acquire) == INITIALIZING {
                self.state.store(FAILED, Ordering::Release); // init() was not called
            }
        }
        loop {
            match self.state.load(Ordering::Acquire) {
                READY => return true,
                INITIALIZING => core::hint::spin_loop(),
                _ => return false,
            }
        }
    }

    /// Allocate a block for `layout` (size 0 included).
    pub fn alloc(&self, layout: Layout) -> AllocResult<NonNull<u8>> {
        if !self.ready() {
            return Err(AllocError::NotInitialized);
        }
        let p = unsafe { ffi::ha_alloc(layout.size(), layout.align()) };
        NonNull::new(p as *mut u8).ok_or(AllocError::NoMemory)
    }

    /// # Safety
    /// `pos` came from `alloc` with this `layout` and is not used afterwards.
    pub unsafe fn dealloc(&self, pos: NonNull<u8>, layout: Layout) {
        ffi::ha_dealloc(pos.as_ptr() as *mut _, layout.size(), layout.align());
    }

    /// `num_pages` 4 KiB pages aligned to `align_pow2` bytes (a power of two,
    /// at least PAGE_SIZE); returns the start address.
    pub fn alloc_pages(&self, num_pages: usize, align_pow2: usize) -> AllocResult<usize> {
        if !self.ready() {
            return Err(AllocError::NotInitialized);
        }
        if num_pages == 0 || !align_pow2.is_power_of_two() || align_pow2 < PAGE_SIZE {
            return Err(AllocError::InvalidParam);
        }
        let p = unsafe { ffi::ha_alloc_pages(num_pages, align_pow2) };
        if p.is_null() {
            Err(AllocError::NoMemory)
        } else {
            Ok(p as usize)
        }
    }

    /// # Safety
    /// `pos` came from `alloc_pages(num_pages, _)` and is not used afterwards.
    pub unsafe fn dealloc_pages(&self, pos: usize, num_pages: usize) {
        ffi::ha_dealloc_pages(pos as *mut _, num_pages);
    }

    pub fn used_bytes(&self) -> usize {
        unsafe { ffi::ha_used_bytes() }
    }
    pub fn available_bytes(&self) -> usize {
        unsafe { ffi::ha_available_bytes() }
    }
    pub fn used_pages(&self) -> usize {
        unsafe { ffi::ha_used_pages() }
    }
    pub fn available_pages(&self) -> usize {
        unsafe { ffi::ha_available_pages() }
    }

    /// Statistics of CPU `cpu`, or of all CPUs with `ffi::HA_ALL_CPUS`.
    pub fn stats(&self, cpu: u32) -> Option<Stats> {
        let mut s = Stats::default();
        if unsafe { ffi::ha_get_stats(cpu, &mut s) } == 0 {
            Some(s)
        } else {
            None
        }
    }

    /// Validate every structure (ha_check): call only while no other CPU
    /// allocates. The first broken invariant is printed through the
    /// embedding's `puts`; Err carries ha_check's return value.
    pub fn check(&self) -> Result<(), i32> {
        match unsafe { ffi::ha_check() } {
            0 => Ok(()),
            rc => Err(rc),
        }
    }

    pub fn print_stats(&self) {
        unsafe { ffi::ha_print_stats() }
    }
}

impl Default for GlobalAllocator<false> {
    fn default() -> Self {
        GlobalAllocator::new()
    }
}

// Rust's GlobalAlloc maps one-to-one onto the C ABI, which takes the same
// (size, align) pair on every call.
unsafe impl<const LAZY: bool> GlobalAlloc for GlobalAllocator<LAZY> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // Not lazy: ha_alloc answers NULL before ha_init on its own.
        if LAZY && !self.ready() {
            return core::ptr::null_mut();
        }
        ffi::ha_alloc(layout.size(), layout.align()) as *mut u8
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        ffi::ha_dealloc(ptr as *mut _, layout.size(), layout.align())
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !self.ready() {
            return core::ptr::null_mut();
        }
        ffi::ha_alloc_zeroed(layout.size(), layout.align()) as *mut u8
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ffi::ha_realloc(ptr as *mut _, layout.size(), layout.align(), new_size) as *mut u8
    }
}

/// A NUL-terminated string from C as `&str` ("?" if it is not UTF-8, "" for
/// NULL).
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string that lives as long as 'a.
pub unsafe fn c_str<'a>(p: *const u8) -> &'a str {
    if p.is_null() {
        return "";
    }
    let mut len = 0;
    while *p.add(len) != 0 {
        len += 1;
    }
    core::str::from_utf8(core::slice::from_raw_parts(p, len)).unwrap_or("?")
}

/// What the C core needs from the world around it (hartalloc_embed.h).
/// Implement it on a type and export it with [`embed_hooks!`].
pub trait Embedding {
    /// Index of the running CPU, in 0..ncpu (ncpu as given to init). Only
    /// called between `irq_save` and `irq_restore`.
    fn cpu_index() -> u32;
    /// Mask local interrupts, returning the previous state; must nest.
    fn irq_save() -> usize;
    fn irq_restore(flags: usize);
    /// Stop everything with `msg` (a fault the core found); never returns.
    fn panic(msg: &str) -> !;
    /// Write `s` (statistics, ha_check reports) to the console.
    fn puts(s: &str);
    /// The optional CPU slot hook (hartalloc_embed.h, HA_EMBED_CPU_SLOT): CPU
    /// `cpu`'s word for the allocator, or null past the last CPU. Only an
    /// embedding whose C build defines HA_EMBED_CPU_SLOT (its HA_EMBED_INLINE
    /// header, which also reads the caller's word inline) is ever asked.
    /// With deferred interrupts too, every word must hold the C symbol
    /// `ha_front_before_init`'s address (HA_CPU_SLOT_INITIAL) until `init`
    /// writes it: the allocating calls read through it (the Rust kernel sets
    /// them first thing at boot).
    fn cpu_slot(_cpu: u32) -> *mut *mut c_void {
        core::ptr::null_mut()
    }
}

/// Export an [`Embedding`] implementation as the C symbols `ha_embed_*`.
/// Use once per program: `hartalloc::embed_hooks!(MyKernel);`
#[macro_export]
macro_rules! embed_hooks {
    ($embedding:ty) => {
        const _: () = {
            #[no_mangle]
            pub extern "C" fn ha_embed_cpu_index() -> u32 {
                <$embedding as $crate::Embedding>::cpu_index()
            }
            #[no_mangle]
            pub extern "C" fn ha_embed_irq_save() -> usize {
                <$embedding as $crate::Embedding>::irq_save()
            }
            #[no_mangle]
            pub extern "C" fn ha_embed_irq_restore(flags: usize) {
                <$embedding as $crate::Embedding>::irq_restore(flags)
            }
            #[no_mangle]
            pub unsafe extern "C" fn ha_embed_panic(message: *const u8) -> ! {
                <$embedding as $crate::Embedding>::panic($crate::c_str(message))
            }
            #[no_mangle]
            pub extern "C" fn ha_embed_cpu_slot(cpu: u32) -> *mut *mut $crate::c_void {
                <$embedding as $crate::Embedding>::cpu_slot(cpu)
            }
            #[no_mangle]
            pub unsafe extern "C" fn ha_embed_puts(s: *const u8) {
                <$embedding as $crate::Embedding>::puts($crate::c_str(s))
            }
        };
    };
}
