// Process-wide hardening done first thing in main().
#pragma once

namespace sotto {

// No core dumps (RLIMIT_CORE 0) and not dumpable (PR_SET_DUMPABLE 0), so keys and passphrases
// never land on disk through a crash, and other processes of the same user cannot ptrace us;
// umask 077, so every file sotto creates is its owner's alone; the open-file limit raised to its
// hard maximum, because every connection a stranger opens costs a descriptor until the CURVE
// handshake times out (5 s), and 1,024 of them would otherwise shut out real peers.
void harden_process();

}  // namespace sotto
