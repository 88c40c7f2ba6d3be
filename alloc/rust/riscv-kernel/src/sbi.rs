//! The SBI calls this kernel makes (OpenSBI 1.1), and the virt test finisher.

use core::arch::asm;

/// `ecall` into the SBI: returns (error, value).
fn sbi_call(eid: usize, fid: usize, a0: usize, a1: usize, a2: usize) -> (isize, usize) {
    let (error, value): (usize, usize);
    unsafe {
        asm!("ecall",
             inlateout("a0") a0 => error, inlateout("a1") a1 => value,
             in("a2") a2, in("a6") fid, in("a7") eid, options(nostack));
    }
    (error as isize, value)
}

/// Legacy console putchar (EID 0x01): the only console OpenSBI 1.1 has (no DBCN).
pub fn console_putchar(c: u8) {
    sbi_call(0x01, 0, c as usize, 0, 0);
}

const EID_HSM: usize = 0x48534D;

/// Start `hartid` at physical address `start` with a0 = hartid, a1 = opaque.
pub fn hart_start(hartid: usize, start: usize, opaque: usize) -> Result<(), isize> {
    match sbi_call(EID_HSM, 0, hartid, start, opaque) {
        (0, _) => Ok(()),
        (e, _) => Err(e),
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum HartState {
    Started,
    Stopped,
    Other(usize),
}

/// None when `hartid` does not exist.
pub fn hart_status(hartid: usize) -> Option<HartState> {
    match sbi_call(EID_HSM, 2, hartid, 0, 0) {
        (0, 0) => Some(HartState::Started),
        (0, 1) => Some(HartState::Stopped),
        (0, s) => Some(HartState::Other(s)),
        _ => None,
    }
}

/// The virt machine's test finisher: 0x5555 exits QEMU with status 0,
/// (code << 16) | 0x3333 with status `code` (1..=255 for a failure).
const FINISHER: *mut u32 = 0x10_0000 as *mut u32;

pub fn exit(code: u8) -> ! {
    let word = if code == 0 { 0x5555 } else { ((code as u32) << 16) | 0x3333 };
    unsafe { core::ptr::write_volatile(FINISHER, word) };
    loop {
        unsafe { asm!("wfi") };
    }
}

/// Time in microseconds (rdtime at the virt timebase, 10 MHz).
pub fn micros() -> u64 {
    let t: u64;
    unsafe { asm!("rdtime {}", out(reg) t) };
    t / 10
}
