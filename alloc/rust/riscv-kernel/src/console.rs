//! Console output through the SBI, one line at a time across harts.
//!
//! The lock records its owner's hartid, so a hart that panics while printing
//! (or is interrupted by the allocator's fault path) still gets its message out.

use core::fmt::{self, Write};
use core::sync::atomic::{AtomicUsize, Ordering};

use crate::{hartid, sbi};

const FREE: usize = usize::MAX;
static OWNER: AtomicUsize = AtomicUsize::new(FREE);

/// Hold the console for the rest of the scope (re-entrant on one hart).
struct Guard {
    reentered: bool,
}

fn lock() -> Guard {
    let me = hartid();
    if OWNER.load(Ordering::Relaxed) == me {
        return Guard { reentered: true };
    }
    while OWNER.compare_exchange_weak(FREE, me, Ordering::Acquire, Ordering::Relaxed).is_err() {
        core::hint::spin_loop();
    }
    Guard { reentered: false }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if !self.reentered {
            OWNER.store(FREE, Ordering::Release);
        }
    }
}

struct Sbi;

impl Write for Sbi {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for b in s.bytes() {
            sbi::console_putchar(b);
        }
        Ok(())
    }
}

pub fn write_str(s: &str) {
    let _g = lock();
    let _ = Sbi.write_str(s);
}

pub fn print(args: fmt::Arguments) {
    let _g = lock();
    let _ = Sbi.write_fmt(args);
}

#[macro_export]
macro_rules! println {
    ($($arg:tt)*) => {
        $crate::console::print(format_args!("{}\n", format_args!($($arg)*)))
    };
}
