//! `keycard`: decode, verify and sign JSON Web Tokens, and make keys, from the command line.
//!
//! ```text
//! keycard decode [--json] [--now UNIX_SECS] TOKEN
//! keycard verify (--key FILE | --secret FILE | --jwks-url URL | --issuer URL) [--alg ALG]...
//!     [--aud AUD]... [--iss ISS] [--typ TYP] [--leeway SECS] [--now UNIX_SECS] [--no-exp]
//!     [--allow-http] [--timeout SECS] TOKEN
//! keycard sign (--key FILE | --secret FILE) [--alg ALG] [--exp +30m] [--iss ISS] [--sub SUB]
//!     [--aud AUD]... [--jti JTI] [--nbf WHEN] [-c NAME=VALUE]... [CLAIMS | @FILE | -]
//! keycard keygen --alg ALG --out PREFIX
//! keycard thumbprint FILE
//! ```
//!
//! FILE is a JWK, a JWK Set or a PEM key (SPKI, PKCS#8, PKCS#1, SEC1); `--secret FILE` is a raw
//! HMAC secret, used byte for byte. TOKEN or CLAIMS `-` reads standard input.
//!
//! Every command exits 0 on success. On failure it exits 1 and prints one line on standard error,
//! `error[KIND]: message`, where KIND is keycard's stable `ErrorKind::as_str()` name (`expired`,
//! `signature`, `audience`, ...) or `usage` for a problem with the command line or its files.
//! Arguments that do not parse exit 2 with clap's usage message.

#![forbid(unsafe_code)]

mod decode;
mod failure;
mod input;
mod keygen;
mod keys;
mod remote;
mod sign;
mod verify;
mod when;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::failure::Failure;

/// The command line.
#[derive(Parser)]
#[command(
    name = "keycard",
    version,
    about = "Decode, verify and sign JSON Web Tokens, and make keys for them",
    after_help = "Exit status: 0 on success; 1 with `error[KIND]: message` on standard error \
                  when a token, key or file is refused; 2 when the arguments do not parse."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The subcommands.
#[derive(Subcommand)]
enum Command {
    /// Print a token's header and claims WITHOUT verifying anything.
    Decode(decode::DecodeArgs),
    /// Verify a token and print its claims as JSON.
    Verify(verify::VerifyArgs),
    /// Sign claims and print the token.
    Sign(sign::SignArgs),
    /// Make a new key: private PEM, private JWK, public JWK and JWK Set, `kid` = its thumbprint.
    Keygen(keygen::KeygenArgs),
    /// Print the RFC 7638 thumbprint of a key (of each key, for a JWK Set).
    Thumbprint(keygen::ThumbprintArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Decode(args) => decode::run(&args),
        Command::Verify(args) => verify::run(&args),
        Command::Sign(args) => sign::run(&args),
        Command::Keygen(args) => keygen::run(&args),
        Command::Thumbprint(args) => keygen::thumbprint(&args),
    };
    match result {
        Ok(output) => {
            if !output.is_empty() {
                println!("{output}");
            }
            ExitCode::SUCCESS
        }
        Err(failure) => {
            eprintln!("{}", failure.line());
            ExitCode::FAILURE
        }
    }
}

/// What a subcommand gives: its standard output, or why it failed.
type Outcome = Result<String, Failure>;
