//! The one failure type: a stable kind, a message for people, and what it means for a script
//! (its exit status). [`crate::output`] prints it as `error[KIND]: message` on one line and exits
//! with its [`Status`].

use keycard::{ErrorCategory, ErrorKind};

/// What a subcommand gives: its standard output, or why it failed.
pub(crate) type Outcome = Result<String, Failure>;

/// The exit statuses, as `--help` says them (and README.md's table).
pub(crate) const EXIT_STATUS_HELP: &str = "\
Exit status:
  0  success; the result on standard output
  1  the token was refused: one line `error[KIND]: message` on standard error, KIND
     the reason (malformed, algorithm, unknown_key_id, signature, expired,
     not_yet_valid, audience, issuer, token_type, missing_claim, ...)
  2  the command line, a file it names or standard input must be fixed: arguments
     that do not parse, a bad flag value, a missing, unreadable or too large file,
     a file that is not a usable key (error[usage], error[key], error[algorithm], ...)
  3  a service failed, not the token: a remote key set (--jwks-url, --issuer) could
     not be fetched or held no usable key (error[key_source]; try again later, or
     pass the --alg its message names), or the system's random generator failed
     (error[random])";

/// What a failure means for whoever runs the command: its exit status.
///
/// | Status | Meaning |
/// |---|---|
/// | 1 | [`Status::Refused`]: the token was refused. |
/// | 2 | [`Status::Usage`]: the command line, a file it names or its input must be fixed. |
/// | 3 | [`Status::Unavailable`]: a service the command needs failed; try again later. |
///
/// (0 is success; clap's own usage errors exit 2 too.) keycard's [`ErrorCategory`] decides
/// between a failing service (`Backend`: 3) and the rest; between a refused token and a command
/// line to fix, where the failure arises does, not its kind: `algorithm` is a refused token when
/// the token's `alg` is `none`, and a command line to fix when `--alg none` is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    /// 1: the token was refused: it is malformed, forged, expired, for another audience, ...
    Refused,
    /// 2: a problem with the command line, a file it names (missing, unreadable, too large, not
    /// a key) or standard input, that the user must fix; no token was judged.
    Usage,
    /// 3: a service the command depends on failed: a remote key set could not be fetched or used
    /// (`key_source`), or the system's random generator failed (`random`). Neither the token's
    /// fault nor the command line's: try again later.
    Unavailable,
}

impl Status {
    /// The process exit status.
    pub(crate) const fn code(self) -> u8 {
        match self {
            Status::Refused => 1,
            Status::Usage => 2,
            Status::Unavailable => 3,
        }
    }
}

/// Everything that can go wrong, with the kind printed in `error[KIND]` and the exit status.
#[derive(Debug)]
pub(crate) struct Failure {
    /// keycard's `ErrorKind::as_str()` name, or `usage`.
    pub(crate) kind: &'static str,
    /// What went wrong and, where there is one, what to do about it. Unescaped: it is escaped
    /// once, when it is printed.
    pub(crate) message: String,
    /// The exit status.
    pub(crate) status: Status,
}

impl Failure {
    /// A failure of keycard's kind `kind` while setting up (reading the command line, its files,
    /// its keys): exit 2, or 3 for a failing service (`key_source`, `random`: keycard's
    /// `ErrorCategory::Backend`).
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        let status = match kind.category() {
            ErrorCategory::Backend => Status::Unavailable,
            _ => Status::Usage,
        };
        Failure {
            kind: kind.as_str(),
            message: message.into(),
            status,
        }
    }

    /// The token was refused, for `kind`: exit 1 for keycard's `ErrorCategory::Token` kinds
    /// (`malformed`, `signature`, `expired`, ...); a setup problem (2) or a failing service (3)
    /// met while checking it keeps its own status.
    pub(crate) fn token(kind: ErrorKind, message: impl Into<String>) -> Self {
        let mut failure = Failure::new(kind, message);
        if kind.category() == ErrorCategory::Token {
            failure.status = Status::Refused;
        }
        failure
    }

    /// keycard's verdict on the token: exit 1 when it refused the token (see [`Failure::token`]).
    pub(crate) fn refused(e: &keycard::Error) -> Self {
        Failure::token(e.kind(), e.to_string())
    }

    /// The same failure with more said after its message.
    pub(crate) fn with_note(mut self, note: &str) -> Self {
        if !note.is_empty() {
            self.message.push_str("; ");
            self.message.push_str(note);
        }
        self
    }
}

/// keycard's errors outside the token's check (a key file, an `--alg`, the validator's
/// settings) are the command line's to fix: exit 2, or 3 for a failing service. Where keycard
/// judges the token, [`Failure::refused`] says so.
impl From<keycard::Error> for Failure {
    fn from(e: keycard::Error) -> Self {
        Failure::new(e.kind(), e.to_string())
    }
}

/// A problem with the command line or the files it names: the one kind that is the CLI's own.
/// Exit 2.
pub(crate) fn usage(message: impl Into<String>) -> Failure {
    Failure {
        kind: "usage",
        message: message.into(),
        status: Status::Usage,
    }
}

/// A key that cannot be used as asked: exit 2.
pub(crate) fn key(message: impl Into<String>) -> Failure {
    Failure::new(ErrorKind::Key, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_statuses_follow_what_failed() {
        assert_eq!(usage("x").status.code(), 2);
        assert_eq!(key("x").status.code(), 2);
        // The same kind is a refused token or a command line to fix, by where it arose.
        assert_eq!(
            Failure::new(ErrorKind::Algorithm, "--alg none")
                .status
                .code(),
            2
        );
        assert_eq!(
            Failure::token(ErrorKind::Algorithm, "alg none")
                .status
                .code(),
            1
        );
        assert_eq!(
            Failure::refused(&keycard::Error::unknown_key_id("k"))
                .status
                .code(),
            1
        );
        // A key or setting refused while checking a token is still the command line's to fix.
        assert_eq!(
            Failure::token(ErrorKind::Configuration, "x").status.code(),
            2
        );
        // A failing service is 3 wherever it shows.
        for kind in [ErrorKind::KeySource, ErrorKind::Random] {
            assert_eq!(Failure::new(kind, "x").status.code(), 3, "{kind:?}");
            assert_eq!(Failure::token(kind, "x").status.code(), 3, "{kind:?}");
        }
        let failure = Failure::from(keycard::Error::random_failure()).with_note("n");
        assert_eq!(
            (failure.kind, failure.status),
            ("random", Status::Unavailable)
        );
    }
}
