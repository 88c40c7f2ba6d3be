//! Compile the C allocator core (alloc/*.c and its part folders mi/, classic/,
//! checked/; two directories up) into
//! libhartalloc_core.a for the target being built, and link it.
//!
//! Only the core: the embedding hooks (ha_embed_*) come from the Rust side,
//! through `hartalloc::embed_hooks!`. The `cc` crate is not available, so this
//! calls the C compiler directly:
//!   - riscv64 bare metal: riscv64-unknown-elf-gcc, lp64d, medany, plus libgcc;
//!   - anything else (the host): gcc with -fPIC.
//! HA_CC / HA_AR / HA_CFLAGS override the choice.
use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn run(cmd: &mut Command) {
    let status = cmd.status().unwrap_or_else(|e| panic!("cannot run {:?}: {}", cmd, e));
    if !status.success() {
        panic!("{:?} failed: {}", cmd, status);
    }
}

/// The folders of alloc/ that hold the core's sources (the Makefile's ALLOC_SRCS).
const CORE_DIRS: [&str; 4] = ["", "mi", "classic", "checked"];

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let core_dir = manifest.join("../..").canonicalize().expect("alloc/ directory");
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let target = env::var("TARGET").unwrap();

    let riscv = target.starts_with("riscv64");
    let (cc, ar, arch_flags): (&str, &str, &[&str]) = if riscv {
        ("riscv64-unknown-elf-gcc", "riscv64-unknown-elf-ar",
         &["-march=rv64gc", "-mabi=lp64d", "-mcmodel=medany"])
    } else {
        ("gcc", "ar", &["-fPIC"])
    };
    let cc = env::var("HA_CC").unwrap_or_else(|_| cc.to_string());
    let ar = env::var("HA_AR").unwrap_or_else(|_| ar.to_string());
    let extra = env::var("HA_CFLAGS").unwrap_or_default();

    let mut sources: Vec<PathBuf> = CORE_DIRS
        .iter()
        .flat_map(|d| fs::read_dir(core_dir.join(d)).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().map_or(false, |x| x == "c"))
        .collect();
    sources.sort();

    let mut objects = Vec::new();
    for src in &sources {
        // mi/alloc.c -> mi_alloc.o: the part folder keeps object names apart.
        let rel = src.strip_prefix(&core_dir).unwrap().to_string_lossy().replace('/', "_");
        let obj = out.join(rel).with_extension("o");
        let mut cmd = Command::new(&cc);
        cmd.args(&["-std=gnu11", "-O2", "-g", "-Wall", "-Wextra", "-Wno-unused-parameter"])
            .args(&["-fno-strict-aliasing", "-ffreestanding", "-fno-builtin-malloc", "-fno-builtin-free"])
            .args(arch_flags)
            .args(extra.split_whitespace())
            .arg("-I")
            .arg(core_dir.join("include"))
            .arg("-I")
            .arg(&core_dir)
            .arg("-c")
            .arg(src)
            .arg("-o")
            .arg(&obj);
        run(&mut cmd);
        objects.push(obj);
    }
    let lib = out.join("libhartalloc_core.a");
    let _ = fs::remove_file(&lib);
    run(Command::new(&ar).arg("crs").arg(&lib).args(&objects));

    println!("cargo:rustc-link-search=native={}", out.display());
    println!("cargo:rustc-link-lib=static=hartalloc_core");
    if riscv {
        // GCC turns __builtin_clz/ctz/popcount into libgcc calls without Zbb,
        // and compiler_builtins does not provide them for riscv64.
        let libgcc = Command::new(&cc)
            .args(arch_flags)
            .arg("-print-libgcc-file-name")
            .output()
            .expect("cc -print-libgcc-file-name");
        let libgcc = PathBuf::from(String::from_utf8(libgcc.stdout).unwrap().trim());
        println!("cargo:rustc-link-search=native={}", libgcc.parent().unwrap().display());
        println!("cargo:rustc-link-lib=static=gcc");
    }
    for d in CORE_DIRS.iter().chain(["include"].iter()) {
        watch(&core_dir.join(d));
    }
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=HA_CC");
    println!("cargo:rerun-if-env-changed=HA_AR");
    println!("cargo:rerun-if-env-changed=HA_CFLAGS");
}

/// Rebuild when a C source or header in `dir` changes. (Not the directory
/// itself: cargo would scan it recursively, alloc/rust/ included.)
fn watch(dir: &Path) {
    for entry in fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().map_or(false, |x| x == "c" || x == "h") {
            println!("cargo:rerun-if-changed={}", p.display());
        }
    }
}
