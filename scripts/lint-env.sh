# Sourced by the scripts that build the workspace's debug targets. The test build is
# clippy's too (ADR 0029): clippy-driver compiles the workspace's own crates with its
# lints, warnings denied, and rustc the dependencies. The wrapper is part of each
# crate's fingerprint, so every script that builds these targets sets it alike, or the
# next one rebuilds the workspace's crates.
export RUSTC_WORKSPACE_WRAPPER=clippy-driver
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
