//! The one failure type: a stable kind and a message for people, printed as
//! `error[KIND]: message` on one line.

/// Everything that can go wrong, with the kind printed in `error[KIND]`.
#[derive(Debug)]
pub(crate) struct Failure {
    /// keycard's `ErrorKind::as_str()` name, or `usage`.
    pub(crate) kind: &'static str,
    /// What went wrong and, where there is one, what to do about it.
    pub(crate) message: String,
}

impl Failure {
    /// A failure of the kind `kind`.
    pub(crate) fn new(kind: &'static str, message: impl Into<String>) -> Self {
        Failure {
            kind,
            message: message.into(),
        }
    }

    /// The line printed on standard error: never more than one, whatever the message holds.
    pub(crate) fn line(&self) -> String {
        let message: String = self
            .message
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        format!("error[{}]: {}", self.kind, message)
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
        Failure::new(e.kind().as_str(), e.to_string())
    }
}

/// A problem with the command line or the files it names.
pub(crate) fn usage(message: impl Into<String>) -> Failure {
    Failure::new("usage", message)
}

/// A key that cannot be used as asked.
pub(crate) fn key(message: impl Into<String>) -> Failure {
    Failure::new("key", message)
}
