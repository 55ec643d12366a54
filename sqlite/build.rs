//! Compiles SQLite3 Multiple Ciphers into `libsqlite3.a` in OUT_DIR and puts that
//! directory on the link path of every crate that depends on this one.
//!
//! rusqlite's `libsqlite3-sys` is built without `bundled` and with pkg-config off
//! (`SQLITE3_NO_PKG_CONFIG` in `.cargo/config.toml`), so all it asks of the linker is
//! `-lsqlite3`; the first `libsqlite3` on the search path is this one. Nothing here
//! emits a link request of its own, so the library is linked exactly once.
//! `cardiorisk_core::db` refuses a connection whose SQLite lacks the cipher, so a
//! build that picked up a system SQLite fails at the first open instead of writing
//! patients in clear.

use std::env;

fn main() {
    let source_dir = sqlite3mc_src::source_dir();
    let source = source_dir.join(sqlite3mc_src::SOURCE_FILE);
    println!("cargo:rerun-if-changed={}", source.display());
    println!("cargo:rerun-if-changed=build.rs");

    let target_os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let mut build = cc::Build::new();
    build
        .file(&source)
        .cargo_metadata(false)
        .warnings(false)
        // The compile options rusqlite's bundled SQLite uses and this code relies on.
        .define("SQLITE_CORE", None)
        .define("SQLITE_DEFAULT_FOREIGN_KEYS", "1")
        .define("SQLITE_ENABLE_API_ARMOR", None)
        .define("SQLITE_ENABLE_COLUMN_METADATA", None)
        .define("SQLITE_ENABLE_JSON1", None)
        .define("SQLITE_THREADSAFE", "1")
        .define("SQLITE_USE_URI", "1")
        .define("SQLITE_DQS", "0")
        .define("HAVE_USLEEP", "1")
        .define("HAVE_ISNAN", None)
        .define("_POSIX_THREAD_SAFE_FUNCTIONS", None)
        // Temporary tables, indices and sort spills stay in memory: no temporary file
        // can hold a page in clear.
        .define("SQLITE_TEMP_STORE", "3")
        // Extensions are never loaded; the cipher's own SQL functions are built in.
        .define("SQLITE_OMIT_LOAD_EXTENSION", None)
        // RC4 is broken; no database of ours may ever be opened with it. The cipher
        // is chosen on every connection (`cardiorisk_core::db::Cipher`), never left
        // to the library's default.
        .define("HAVE_CIPHER_RC4", "0");
    if target_os != "windows" {
        build.define("HAVE_LOCALTIME_R", None);
    }
    let host = env::var("HOST").unwrap_or_default();
    if target_os == "macos" && !host.contains("apple") {
        build.include(concat!(env!("CARGO_MANIFEST_DIR"), "/darwin-shim"));
    }
    build.compile("sqlite3");

    let out_dir = env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    println!("cargo:rustc-link-search=native={out_dir}");
    if target_os == "windows" {
        // The cipher's random nonces come from RtlGenRandom.
        println!("cargo:rustc-link-lib=dylib=advapi32");
    }
}
