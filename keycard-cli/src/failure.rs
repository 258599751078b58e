//! The one failure type: a stable kind and a message for people. [`crate::output`] prints it as
//! `error[KIND]: message` on one line.

use keycard::ErrorKind;

/// What a subcommand gives: its standard output, or why it failed.
pub(crate) type Outcome = Result<String, Failure>;

/// Everything that can go wrong, with the kind printed in `error[KIND]`.
#[derive(Debug)]
pub(crate) struct Failure {
    /// keycard's `ErrorKind::as_str()` name, or `usage`.
    pub(crate) kind: &'static str,
    /// What went wrong and, where there is one, what to do about it. Unescaped: it is escaped
    /// once, when it is printed.
    pub(crate) message: String,
}

impl Failure {
    /// A failure of keycard's kind `kind`.
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Failure {
            kind: kind.as_str(),
            message: message.into(),
        }
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

impl From<keycard::Error> for Failure {
    fn from(e: keycard::Error) -> Self {
        Failure::new(e.kind(), e.to_string())
    }
}

/// A problem with the command line or the files it names: the one kind that is the CLI's own.
pub(crate) fn usage(message: impl Into<String>) -> Failure {
    Failure {
        kind: "usage",
        message: message.into(),
    }
}

/// A key that cannot be used as asked.
pub(crate) fn key(message: impl Into<String>) -> Failure {
    Failure::new(ErrorKind::Key, message)
}
