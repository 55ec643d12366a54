/* Only for compiling macOS code on Linux (scripts/build-macos.sh): zig's macOS
   headers lack <sys/syscall.h>, which the amalgamation includes on every Unix but
   uses only on Linux. A Mac's SDK has its own, and this folder is not used there. */
