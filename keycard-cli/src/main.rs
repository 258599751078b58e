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
//! Every command exits 0 on success. On failure it prints one line on standard error,
//! `error[KIND]: message`, where KIND is keycard's stable `ErrorKind::as_str()` name (`expired`,
//! `signature`, `audience`, ..., `key_source` when a remote key set cannot be fetched) or `usage`
//! for a problem with the command line or its files, and exits 1 when the token was refused, 2
//! when the command line, its files or its input must be fixed (as clap does for arguments that
//! do not parse), 3 when a service failed (a remote key set): [`failure::Status`].
//!
//! Standard input and files are read through a bounded reader: a TOKEN `-` up to
//! [`input::MAX_TOKEN_INPUT`] bytes (keycard's default token limit and whitespace), files and
//! CLAIMS `-` up to [`input::MAX_FILE_LEN`] (1 MiB).

#![forbid(unsafe_code)]

// The modules, each naming only those below it (checked by `tests::modules_depend_one_way`):
//
//   main                                           parses the command line, runs one subcommand
//   decode  verify  sign  keygen  thumbprint       the subcommands; none names another
//   remote                                         keys from a JWK Set URL or by discovery
//   keys                                           key files; Family::of, the one algorithm table
//   input                                          arguments, files, standard input, a header
//   output                                         claims, JSON, notes, the error line; escaping
//   failure  when                                  Failure and its kinds; times and dates

mod decode;
mod failure;
mod input;
mod keygen;
mod keys;
mod output;
mod remote;
mod sign;
mod thumbprint;
mod verify;
mod when;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
/// The command line.
#[derive(Parser)]
#[command(
    name = "keycard",
    version,
    about = "Decode, verify and sign JSON Web Tokens, and make keys for them",
    after_help = failure::EXIT_STATUS_HELP
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
    Thumbprint(thumbprint::ThumbprintArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    output::finish(match cli.command {
        Command::Decode(args) => decode::run(&args),
        Command::Verify(args) => verify::run(&args),
        Command::Sign(args) => sign::run(&args),
        Command::Keygen(args) => keygen::run(&args),
        Command::Thumbprint(args) => thumbprint::run(&args),
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// The modules of `src/` below `main`, bottom first, as in the comment at the top; modules
    /// in one layer must not name each other.
    const LAYERS: &[&[&str]] = &[
        &["failure", "when"],
        &["output"],
        &["input"],
        &["keys"],
        &["remote"],
        &["decode", "verify", "sign", "keygen", "thumbprint"],
    ];

    fn layer(module: &str) -> Option<usize> {
        LAYERS.iter().position(|layer| layer.contains(&module))
    }

    /// The modules a line of code names: `crate::name` and each item of `crate::{a, b::C}`.
    fn named_modules(line: &str) -> Vec<String> {
        let ident = |s: &str| -> String {
            s.trim_start()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect()
        };
        let mut found = Vec::new();
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            let Some(list) = rest.strip_prefix('{') else {
                found.push(ident(rest));
                continue;
            };
            // The top-level items of the braces: `{a, b::{C, D}}` names `a` and `b`.
            let (mut depth, mut item_start) = (0usize, true);
            for (i, c) in list.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && !c.is_whitespace() => {
                        found.push(ident(&list[i..]));
                        item_start = false;
                    }
                    _ => {}
                }
            }
        }
        found
    }

    #[test]
    fn modules_depend_one_way() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut checked = Vec::new();
        for entry in std::fs::read_dir(&src).unwrap() {
            let path = entry.unwrap().path();
            let module = path.file_stem().unwrap().to_str().unwrap().to_owned();
            if module == "main" {
                continue;
            }
            let own = layer(&module)
                .unwrap_or_else(|| panic!("src/{module}.rs is in no layer of LAYERS"));
            let code = std::fs::read_to_string(&path).unwrap();
            for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
                for named in named_modules(line) {
                    let Some(theirs) = layer(&named) else {
                        panic!("src/{module}.rs names crate::{named}, which is not a module below main");
                    };
                    assert!(
                        named == module || theirs < own,
                        "src/{module}.rs names crate::{named}, which is not below it: {line}"
                    );
                }
            }
            checked.push(module);
        }
        assert_eq!(
            checked.len(),
            LAYERS.iter().map(|l| l.len()).sum::<usize>(),
            "a module of LAYERS has no file: {checked:?}"
        );
    }

    #[test]
    fn the_module_reader_sees_every_import_form() {
        assert_eq!(named_modules("use crate::keys::{self, KeyFile};"), ["keys"]);
        assert_eq!(
            named_modules("use crate::{input, keys::{a, b}, output};"),
            ["input", "keys", "output"]
        );
        assert_eq!(
            named_modules("x(crate::output::json(&v), crate::when::now())"),
            ["output", "when"]
        );
    }
}
