//! The `keycard` binary, driven as a process: its interface is a contract for scripts (exit
//! codes, `error[KIND]: message` on one line of standard error, JSON on standard output).
//!
//! Keys come from `tests/keys/` (throw-away OpenSSL keys) and expected values from the RFC
//! vectors in `tests/vectors/`.

#[path = "cli/common.rs"]
mod common;
#[path = "cli/decode.rs"]
mod decode;
#[path = "cli/escaping.rs"]
mod escaping;
#[path = "cli/exits.rs"]
mod exits;
#[path = "cli/inputs.rs"]
mod inputs;
#[path = "cli/keygen.rs"]
mod keygen;
#[path = "cli/remote.rs"]
mod remote;
#[path = "cli/sign.rs"]
mod sign;
#[path = "cli/verify.rs"]
mod verify;
