//! Writing a token: the claims JSON into this thread's reused payload buffer, then header,
//! payload and signature into the one allocation returned. Everything the three signing paths
//! share is here, each taking the [`Times`] resolved once for the token:
//!
//! - `sign` (and `claims(..).sign(..)`): [`Builder::sign_at`] writes the builder's claims;
//! - `sign_claims` on a builder with claims of its own: [`Builder::sign_overlay`] writes the
//!   struct to this thread's [`Typed`] buffer, then `sign_at` writes it over the builder's
//!   claims;
//! - `sign_claims` on a builder without claims: the shortcut, [`Builder::sign_direct`] writes the
//!   struct straight into the payload, with the same time members, the same rule for the struct's
//!   `exp`/`nbf`/`iat`, the same final checks and the same signing.

use std::fmt;
use std::sync::OnceLock;

use serde::Serialize;
use serde_json::Value;

use super::times::Times;
use super::typed::{write_member, wrong_type_at, FieldSink, Typed, TypedError, TypedWriter};
use super::Builder;
use crate::algorithm::Algorithm;
use crate::encoding::base64url;
use crate::error::Error;
use crate::keys::Signer;
use crate::token::header;
use crate::token::registered::{ClaimType, Name};

thread_local! {
    /// The claims JSON of the token this thread is signing: one buffer, reused, so that signing
    /// allocates only the token.
    static PAYLOAD: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

thread_local! {
    /// The claims struct of `sign_claims`, written to JSON: reused like `PAYLOAD`.
    static OVERLAY: std::cell::RefCell<Typed> = std::cell::RefCell::new(Typed::default());
}

/// A payload buffer grown past this is dropped after use rather than kept for the thread.
const MAX_KEPT_PAYLOAD: usize = 16 * 1024;

/// Runs `write` on this thread's payload buffer, cleared, or on a buffer of its own when that
/// one is in use (signing from inside a `Signer`) or gone (the thread's end).
fn with_payload<R>(write: impl Fn(&mut Vec<u8>) -> R) -> R {
    PAYLOAD
        .try_with(|cell| match cell.try_borrow_mut() {
            Ok(mut json) => {
                json.clear();
                let written = write(&mut json);
                if json.capacity() > MAX_KEPT_PAYLOAD {
                    *json = Vec::new();
                }
                written
            }
            Err(_) => write(&mut Vec::new()),
        })
        .unwrap_or_else(|_| write(&mut Vec::new()))
}

impl Builder {
    /// Signs with the members of `overlay` (a claims struct) over this builder's claims.
    pub(super) fn sign_at<S: Signer + ?Sized>(
        &self,
        times: &Times,
        overlay: Option<&Typed>,
        signer: &S,
    ) -> Result<String, Error> {
        with_payload(|json| {
            self.payload(times, overlay, json)?;
            self.sign_payload(signer, json)
        })
    }

    /// `sign_claims` for a builder with claims of its own: the struct is written to this
    /// thread's [`Typed`] buffer, then signed over the builder's claims. `None` (nothing
    /// decided) when it is not a struct or does not serialize: the caller takes the way of
    /// `claims`, for its errors.
    pub(super) fn sign_overlay<T, S>(
        &self,
        times: &Times,
        claims: &T,
        signer: &S,
    ) -> Option<Result<String, Error>>
    where
        T: Serialize,
        S: Signer + ?Sized,
    {
        OVERLAY
            .try_with(|cell| {
                let mut overlay = cell.try_borrow_mut().ok()?;
                overlay.truncate(0);
                let written = claims.serialize(TypedWriter {
                    sink: &mut *overlay,
                });
                overlay.last_wins(0);
                let signed = match written {
                    Ok(()) => Some(self.sign_at(times, Some(&overlay), signer)),
                    Err(_) => None,
                };
                if overlay.json.capacity() > MAX_KEPT_PAYLOAD {
                    *overlay = Typed::default();
                }
                signed
            })
            .ok()
            .flatten()
    }

    /// `sign_claims` for a builder without claims of its own: the struct is written straight
    /// into the payload, no copy, no list of members. `None` (nothing decided) for anything the
    /// general way must handle: not a struct, a name perhaps repeated, a serialization error.
    pub(super) fn sign_direct<T, S>(
        &self,
        times: &Times,
        claims: &T,
        signer: &S,
    ) -> Option<Result<String, Error>>
    where
        T: Serialize,
        S: Signer + ?Sized,
    {
        with_payload(|json| {
            if let Err(e) = write_times(times, &mut ObjectWriter { json: &mut *json }) {
                return Some(Err(e));
            }
            let mut direct = Direct {
                json: &mut *json,
                times,
                seen: 0,
                has_exp: times.sets(Name::Exp),
                wrong_type: None,
            };
            claims.serialize(TypedWriter { sink: &mut direct }).ok()?;
            let (has_exp, wrong_type) = (direct.has_exp, direct.wrong_type);
            if let Err(e) = self.check_written(has_exp, wrong_type) {
                return Some(Err(e));
            }
            ObjectWriter { json: &mut *json }.finish();
            Some(self.sign_payload(signer, json))
        })
    }

    /// Writes the claims JSON: the time claims, then the builder's claims, then `overlay`'s,
    /// each left out where a later one (a setter, the overlay) replaces it.
    fn payload(
        &self,
        times: &Times,
        overlay: Option<&Typed>,
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        let empty = Typed::default();
        let overlay = overlay.unwrap_or(&empty);
        let has_exp = times.sets(Name::Exp)
            || self.claims.contains_key("exp")
            || self.typed.has(Name::Exp)
            || overlay.has(Name::Exp);
        let overridden = |name: &str| Name::of(name).is_some_and(|name| times.sets(name));
        let mut wrong = None;

        let mut object = ObjectWriter { json: out };
        write_times(times, &mut object)?;
        for (name, value) in &self.claims {
            if !overridden(name) && !overlay.contains(name) {
                if wrong.is_none() && !admits(name, value) {
                    wrong = Some(name.as_str());
                }
                object.member(name, value)?;
            }
        }
        for typed in [&self.typed, overlay] {
            let is_overlay = std::ptr::eq(typed, overlay);
            // Members kept one after the other are copied as one slice: usually the whole
            // struct, or the runs on either side of a member a setter replaces (`iat`).
            let mut run: Option<std::ops::Range<usize>> = None;
            for member in &typed.members {
                let replaced = member.registered.is_some_and(|name| times.sets(name))
                    || (!is_overlay && overlay.contains(member.name));
                if replaced {
                    if let Some(run) = run.take() {
                        object.raw_member(typed.json.get(run).unwrap_or_default());
                    }
                    continue;
                }
                if wrong.is_none() && member.wrong_type {
                    wrong = Some(member.name);
                }
                run = match run {
                    // `"a":1,"b":2`: one comma between two members in a row.
                    Some(run) if run.end + 1 == member.json.start => {
                        Some(run.start..member.json.end)
                    }
                    Some(run) => {
                        object.raw_member(typed.json.get(run).unwrap_or_default());
                        Some(member.json.clone())
                    }
                    None => Some(member.json.clone()),
                };
            }
            if let Some(run) = run {
                object.raw_member(typed.json.get(run).unwrap_or_default());
            }
        }
        self.check_written(has_exp, wrong)?;
        object.finish();
        Ok(())
    }

    /// The checks every path makes on the claims it wrote, in one order: an expiry (unless
    /// `without_expiry`), then no registered claim of the wrong type (the first one named).
    fn check_written(&self, has_exp: bool, wrong: Option<&str>) -> Result<(), Error> {
        if !has_exp && !self.without_expiry {
            return Err(no_expiry());
        }
        match wrong {
            Some(name) => Err(wrong_type(name)),
            None => Ok(()),
        }
    }

    /// Signs the claims JSON `payload`: header, payload and signature, in one buffer sized up
    /// front.
    fn sign_payload<S: Signer + ?Sized>(
        &self,
        signer: &S,
        payload: &[u8],
    ) -> Result<String, Error> {
        let algorithm = signer.algorithm();
        let kid = self.key_id.as_deref().or_else(|| signer.key_id());
        let typ = self.token_type.as_deref();
        let signature_len = algorithm.signature_len().unwrap_or(512);
        let mut token = Vec::with_capacity(
            encoded_header_len(algorithm, typ, kid)
                + base64url::encoded_len(payload.len())
                + base64url::encoded_len(signature_len)
                + 2,
        );
        write_header(algorithm, typ, kid, &mut token);
        token.push(b'.');
        base64url::encode_into(payload, &mut token);

        let mut inline = [0u8; MAX_INLINE_SIGNATURE];
        let heap;
        let signature = match signer.sign_into(&token, &mut inline)? {
            Some(len) => inline.get(..len).ok_or_else(|| {
                Error::signing(std::io::Error::other("the signer reported a wrong length"))
            })?,
            None => {
                heap = signer.sign(&token)?;
                &heap[..]
            }
        };
        if let Some(expected) = algorithm.signature_len() {
            if signature.len() != expected {
                return Err(Error::signing(WrongLength {
                    algorithm: algorithm.as_str(),
                    expected,
                    found: signature.len(),
                }));
            }
        }
        token.push(b'.');
        base64url::encode_into(signature, &mut token);
        // Base64url and dots are ASCII; the check is one pass over a few hundred bytes.
        String::from_utf8(token)
            .map_err(|_| Error::signing(std::io::Error::other("the encoded token is not ASCII")))
    }
}

/// Writes the time claims the setters set: `exp`, `nbf`, `iat`, in that order.
fn write_times(times: &Times, object: &mut ObjectWriter<'_>) -> Result<(), Error> {
    for (name, date) in times.members() {
        let Some(date) = date else { continue };
        match date.whole_seconds() {
            // What serde_json writes for the name and the integer, without its escaping scan
            // and serializer: the names are `exp`, `nbf` and `iat`, and the builder's times are
            // whole seconds.
            Some(seconds) => {
                object.separator();
                object.json.push(b'"');
                object.json.extend_from_slice(name.as_bytes());
                object.json.extend_from_slice(b"\":");
                serde_json::to_writer(&mut *object.json, &seconds).map_err(|e| {
                    Error::configuration(format!("claim `{name}` cannot be serialized: {e}"))
                })?;
            }
            None => object.member(name, &date)?,
        }
    }
    Ok(())
}

/// A claims struct written straight into the payload (`sign_claims` on a builder with no claims
/// of its own): no copy, no list of members.
struct Direct<'a> {
    json: &'a mut Vec<u8>,
    /// The time claims the builder's setters wrote (the struct's `exp`, `nbf`, `iat` are then
    /// skipped, as in `payload`).
    times: &'a Times,
    /// A bit per (length, first, last byte) of the names seen, to notice a name that may be
    /// repeated: then `sign_claims` takes the way that drops the earlier one.
    seen: u64,
    has_exp: bool,
    /// The first registered claim of the wrong type, reported after the expiry check (as `sign`
    /// reports them).
    wrong_type: Option<&'static str>,
}

impl FieldSink for &mut Direct<'_> {
    fn field<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        value: &T,
    ) -> Result<(), TypedError> {
        let bytes = name.as_bytes();
        let key = bytes.len() * 5
            + 3 * usize::from(bytes.first().copied().unwrap_or(0))
            + usize::from(bytes.last().copied().unwrap_or(0));
        let bit = 1u64 << (key % 64);
        if self.seen & bit != 0 {
            return Err(TypedError::NotAStruct);
        }
        self.seen |= bit;
        let registered = Name::of(name);
        if registered.is_some_and(|name| self.times.sets(name)) {
            return Ok(());
        }
        self.has_exp |= registered == Some(Name::Exp);
        let separator = if self.json.is_empty() { b'{' } else { b',' };
        self.json.push(separator);
        let value_start = write_member(self.json, name, value)?;
        if wrong_type_at(self.json, value_start, registered.map(Name::claim_type)) {
            self.wrong_type.get_or_insert(name);
        }
        Ok(())
    }
}

/// Writes one JSON object member by member.
struct ObjectWriter<'a> {
    json: &'a mut Vec<u8>,
}

impl ObjectWriter<'_> {
    fn separator(&mut self) {
        let separator = if self.json.is_empty() { b'{' } else { b',' };
        self.json.push(separator);
    }

    fn member<T: Serialize + ?Sized>(&mut self, name: &str, value: &T) -> Result<(), Error> {
        self.separator();
        serde_json::to_writer(&mut *self.json, name)
            .and_then(|()| {
                self.json.push(b':');
                serde_json::to_writer(&mut *self.json, value)
            })
            .map_err(|e| Error::configuration(format!("claim `{name}` cannot be serialized: {e}")))
    }

    /// A member already written as JSON (`"name":value`), or several, comma-separated.
    fn raw_member(&mut self, json: &[u8]) {
        self.separator();
        self.json.extend_from_slice(json);
    }

    fn finish(self) {
        if self.json.is_empty() {
            self.json.push(b'{');
        }
        self.json.push(b'}');
    }
}

/// The largest signature made on the stack: ES512's 132 bytes, more than any HMAC, ECDSA or
/// EdDSA signature keycard makes. RSA signatures come from `Signer::sign`: against RSA's cost the
/// allocation does not show, and the stack buffer stays small for the others.
const MAX_INLINE_SIGNATURE: usize = 132;

/// The base64url of the default header (`typ: JWT`, no `kid`) of every algorithm, made once
/// with `header::write`: most tokens need no header work at all.
fn default_headers() -> &'static [String; Algorithm::ALL.len()] {
    static HEADERS: OnceLock<[String; Algorithm::ALL.len()]> = OnceLock::new();
    HEADERS.get_or_init(|| {
        Algorithm::ALL
            .map(|algorithm| base64url::encode(&header::write(algorithm, Some("JWT"), None)))
    })
}

fn default_header(
    algorithm: Algorithm,
    typ: Option<&str>,
    kid: Option<&str>,
) -> Option<&'static str> {
    if typ != Some("JWT") || kid.is_some() {
        return None;
    }
    let i = Algorithm::ALL.iter().position(|a| *a == algorithm)?;
    default_headers().get(i).map(String::as_str)
}

fn encoded_header_len(algorithm: Algorithm, typ: Option<&str>, kid: Option<&str>) -> usize {
    match default_header(algorithm, typ, kid) {
        Some(header) => header.len(),
        // `{"alg":"RS256","typ":"…","kid":"…"}` with room for escapes.
        None => base64url::encoded_len(
            32 + typ.map_or(0, |t| 2 * t.len()) + kid.map_or(0, |k| 2 * k.len()),
        ),
    }
}

fn write_header(algorithm: Algorithm, typ: Option<&str>, kid: Option<&str>, out: &mut Vec<u8>) {
    match default_header(algorithm, typ, kid) {
        Some(header) => out.extend_from_slice(header.as_bytes()),
        None => base64url::encode_into(&header::write(algorithm, typ, kid), out),
    }
}

#[cold]
fn no_expiry() -> Error {
    Error::configuration(
        "the token has no expiry: call `expires_in` or `expires_at` \
         (or `without_expiry` to mint a token that never expires)",
    )
}

#[cold]
fn wrong_type(name: &str) -> Error {
    Error::configuration(format!(
        "claim `{name}` has the wrong type for a registered claim (RFC 7519 §4.1)"
    ))
}

/// Whether `value` has the JSON type of the registered claim `name` (RFC 7519 §4.1), if it is
/// one: the builder refuses what no validator accepts, and the validator reads these claims with
/// the same table (`registered::ClaimType`).
fn admits(name: &str, value: &Value) -> bool {
    ClaimType::of(name).is_none_or(|ty| ty.admits(value))
}

/// A signer returned a signature whose length its algorithm rules out.
#[derive(Debug)]
struct WrongLength {
    algorithm: &'static str,
    expected: usize,
    found: usize,
}

impl fmt::Display for WrongLength {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the signer returned {} bytes, but {} signatures are {} bytes \
             (ECDSA must be R || S, not ASN.1 DER: RFC 7518 §3.4)",
            self.found, self.algorithm, self.expected
        )
    }
}

impl std::error::Error for WrongLength {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::claims::NumericDate;

    #[test]
    fn whole_second_times_are_written_as_serde_json_writes_them() {
        for seconds in [0, -1, 1_700_000_000, -377_705_116_800, 253_402_300_799] {
            let date = NumericDate::from_unix(seconds).unwrap();
            let mut json = Vec::new();
            let times = Times::for_test(Some(date), None, Some(date));
            write_times(&times, &mut ObjectWriter { json: &mut json }).unwrap();
            let expected = format!(r#"{{"exp":{seconds},"iat":{seconds}"#);
            assert_eq!(String::from_utf8(json).unwrap(), expected);
        }
        let half = serde_json::from_str::<NumericDate>("1.5").unwrap();
        assert_eq!(half.whole_seconds(), None);
        let mut json = Vec::new();
        let times = Times::for_test(None, Some(half), None);
        write_times(&times, &mut ObjectWriter { json: &mut json }).unwrap();
        assert_eq!(json, br#"{"nbf":1.5"#);
    }
}
