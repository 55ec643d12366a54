#!/usr/bin/env bash
# Builds for macOS on Linux, offline, what can be built without Apple's SDK (ADR 0023):
# every crate the Mac app and CLI are made of, compiled for the target (the app as its
# library: linking the app needs AppKit and WebKit, which no reachable registry
# carries), and the CLI linked as a Mach-O executable against libSystem by zig
# (cargo-zigbuild), then checked: its architecture, its minimum macOS, and that it
# links nothing but the system's own libraries.
#   bash scripts/build-macos.sh check   aarch64 (today's Macs): the test command's step
#   bash scripts/build-macos.sh         aarch64 and x86_64, joined into one universal CLI
#                                       -> target/macos/universal/cardiorisk
# Tools on Linux (scripts/setup.sh installs them, pinned): Debian's rustc with the
# standard library's source (rustc-web rust-web-src, -Zbuild-std, as for Windows),
# ziglang and cargo-zigbuild from PyPI in their own virtual environment, llvm-22 for
# otool and lipo. Nothing is downloaded at build time. On a Mac the same script uses
# Apple's toolchain (the release workflow runs it there, with PROFILE=release).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-universal}
case "$mode" in
  check) targets=(aarch64-apple-darwin) ;;
  universal) targets=(aarch64-apple-darwin x86_64-apple-darwin) ;;
  *) echo "usage: bash scripts/build-macos.sh [check|universal]" >&2; exit 2 ;;
esac

# The oldest macOS that runs on Apple silicon, and the oldest Rust's aarch64 target
# supports; one minimum for both halves of the universal binary.
export MACOSX_DEPLOYMENT_TARGET=11.0
export CARGO_TARGET_DIR=target/macos
# PROFILE=release on a Mac (the release workflow) for a CLI to ship.
profile=${PROFILE:-macos-check}

if [ "$(uname -s)" = Darwin ]; then
  # On a Mac (the release workflow): Apple's linker and tools, rustup's targets.
  build=(cargo build)
  # Tauri's bundler builds and links the app there; this script makes the CLI.
  packages=(-p cardiorisk-cli --bin cardiorisk)
  otool=otool
  lipo=lipo
else
  venv=${CARDIORISK_MACOS_TOOLS:-$HOME/.local/share/cardiorisk-build/macos-venv}
  [ -x "$venv/bin/cargo-zigbuild" ] || {
    echo "cargo-zigbuild is missing from $venv: run bash scripts/setup.sh" >&2
    exit 1
  }
  # cargo-zigbuild finds zig as `python -m ziglang`, with the venv's python first.
  # rustc warns that it cannot run xcrun to find the SDK: zig links against the
  # libSystem stubs it carries, and the binary records no SDK version.
  export PATH="$venv/bin:$PATH"
  # Debian's rustc builds the standard library for the target from its source.
  export RUSTC_BOOTSTRAP=1 RUSTC=/usr/bin/rustc
  build=(cargo-zigbuild zigbuild -Zbuild-std=std,panic_abort)
  # The app as its library (all of its code and its dependencies', compiled for the
  # Mac: only the final link needs Apple's frameworks), and the CLI, linked.
  packages=(-p cardiorisk-app --lib -p cardiorisk-cli --bin cardiorisk)
  otool=llvm-otool-22
  lipo=llvm-lipo-22
fi

[ -f ui/dist/index.html ] || bash scripts/build-ui.sh

# Tauri's build script writes the target's permission schema into gen/schemas; the
# committed copy is what it writes, so a check leaves the tree as it found it.
for target in "${targets[@]}"; do
  started=$(date +%s)
  "${build[@]}" --profile "$profile" --target "$target" "${packages[@]}"
  echo "$target: built in $(($(date +%s) - started)) s"

  cli="$CARGO_TARGET_DIR/$target/$profile/cardiorisk"
  arch=${target%%-*}
  [ "$arch" = aarch64 ] && mach_arch=arm64 || mach_arch=$arch
  kind=$(file -b "$cli")
  echo "$cli: $kind"
  case "$kind" in
    "Mach-O 64-bit $mach_arch executable"*) ;;
    *) echo "$cli is not a Mach-O $mach_arch executable" >&2; exit 1 ;;
  esac
  libraries=$("$otool" -L "$cli" | tail -n +2 | awk '{print $1}')
  echo "linked libraries:"; echo "$libraries" | sed 's/^/  /'
  # Only what every Mac has: /usr/lib and the system's frameworks.
  if echo "$libraries" | grep -vE '^(/usr/lib/|/System/Library/)'; then
    echo "the CLI links a library a Mac does not have (above)" >&2
    exit 1
  fi
  minimum=$("$otool" -l "$cli" | awk '/LC_BUILD_VERSION/ {found=1} found && $1 == "minos" {print $2; exit}')
  echo "minimum macOS: $minimum"
  [ "$minimum" = "$MACOSX_DEPLOYMENT_TARGET" ] || {
    echo "minimum macOS is $minimum, not $MACOSX_DEPLOYMENT_TARGET" >&2
    exit 1
  }
done

if [ "$mode" = universal ]; then
  mkdir -p "$CARGO_TARGET_DIR/universal"
  universal="$CARGO_TARGET_DIR/universal/cardiorisk"
  "$lipo" -create -output "$universal" \
    "$CARGO_TARGET_DIR/aarch64-apple-darwin/$profile/cardiorisk" \
    "$CARGO_TARGET_DIR/x86_64-apple-darwin/$profile/cardiorisk"
  "$lipo" -info "$universal"
  file "$universal"
fi
