//! Just enough of the flattened device tree to read /chosen/bootargs.
//! Layout (devicetree spec 5.4): a big-endian header, then a structure block
//! of 4-byte-aligned tokens, and a strings block holding property names.

const MAGIC: u32 = 0xd00d_feed;
const BEGIN_NODE: u32 = 1;
const END_NODE: u32 = 2;
const PROP: u32 = 3;
const NOP: u32 = 4;
const END: u32 = 9;

unsafe fn be32(p: *const u8) -> u32 {
    u32::from_be_bytes([*p, *p.add(1), *p.add(2), *p.add(3)])
}

/// The NUL-terminated string at `p`, without the NUL.
unsafe fn cstr<'a>(p: *const u8) -> &'a [u8] {
    let mut n = 0;
    while *p.add(n) != 0 {
        n += 1;
    }
    core::slice::from_raw_parts(p, n)
}

/// The value of /chosen/bootargs, if the tree at `fdt` has one.
///
/// # Safety
/// `fdt` is the address the firmware passed in a1, and the tree stays intact.
pub unsafe fn bootargs(fdt: usize) -> Option<&'static str> {
    let base = fdt as *const u8;
    if fdt == 0 || be32(base) != MAGIC {
        return None;
    }
    let structs = base.add(be32(base.add(8)) as usize);
    let strings = base.add(be32(base.add(12)) as usize);
    let mut p = structs;
    let mut depth = 0usize;
    let mut in_chosen = false;
    loop {
        let token = be32(p);
        p = p.add(4);
        match token {
            BEGIN_NODE => {
                let name = cstr(p);
                p = p.add((name.len() + 1 + 3) & !3);
                depth += 1;
                in_chosen = depth == 2 && name == b"chosen";
            }
            END_NODE => {
                depth -= 1;
                in_chosen = false;
            }
            PROP => {
                let len = be32(p) as usize;
                let name = cstr(strings.add(be32(p.add(4)) as usize));
                let value = p.add(8);
                p = value.add((len + 3) & !3);
                if in_chosen && name == b"bootargs" {
                    let bytes = core::slice::from_raw_parts(value, len);
                    let bytes = bytes.split(|b| *b == 0).next().unwrap_or(&[]);
                    return core::str::from_utf8(bytes).ok();
                }
            }
            NOP => {}
            END => return None,
            _ => return None, // corrupt tree
        }
    }
}

/// The value of `key=value` in a whitespace-separated argument string.
pub fn arg<'a>(args: &'a str, key: &str) -> Option<&'a str> {
    args.split_whitespace().find_map(|word| {
        let mut kv = word.splitn(2, '=');
        match (kv.next(), kv.next()) {
            (Some(k), Some(v)) if k == key => Some(v),
            _ => None,
        }
    })
}
