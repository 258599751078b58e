//! Keys from a remote JWK Set: `--jwks-url URL`, or `--issuer URL` and its discovery document,
//! fetched once through keycard-jwks on a current-thread tokio runtime made for that one fetch.

use std::sync::Arc;
use std::time::Duration;

use keycard::{Algorithm, ErrorKind, KeySet, Verifier};
use keycard_jwks::RemoteKeySet;

use crate::failure::{usage, Failure};
use crate::keys::{self, alg_flag};

/// Where the keys come from.
pub(crate) enum Source<'a> {
    /// `--jwks-url`.
    JwksUrl(&'a str),
    /// `--issuer`: discovery.
    Issuer(&'a str),
}

impl Source<'_> {
    fn url(&self) -> &str {
        match self {
            Source::JwksUrl(url) | Source::Issuer(url) => url,
        }
    }

    fn flag(&self) -> &'static str {
        match self {
            Source::JwksUrl(_) => "--jwks-url",
            Source::Issuer(_) => "--issuer",
        }
    }
}

/// How to fetch.
pub(crate) struct Fetch {
    /// `--allow-http`.
    pub(crate) allow_http: bool,
    /// `--timeout`, in seconds.
    pub(crate) timeout_secs: u64,
}

/// The verification keys of the remote set, for `algs` (or, when empty, for the algorithm each
/// key names or the one its type fits), and notes about the keys that were left out.
pub(crate) fn verification_keys(
    source: &Source<'_>,
    algs: &[Algorithm],
    fetch: &Fetch,
) -> Result<(KeySet, Vec<String>), Failure> {
    check_scheme(source, fetch.allow_http)?;
    if let Some(hmac) = algs.iter().find(|&&a| keys::is_hmac(a)) {
        return Err(usage(format!(
            "--alg {hmac} needs a shared secret, which a published key set must not carry: use \
             --secret FILE"
        )));
    }
    let timeout = Duration::from_secs(fetch.timeout_secs);
    let builder = match source {
        Source::JwksUrl(url) => RemoteKeySet::from_url(*url),
        Source::Issuer(issuer) => RemoteKeySet::discover(*issuer),
    };
    // Every algorithm a published key can serve, so that a key left out for want of an --alg
    // is found here and named with the flag that adds it (`filter`).
    let mut builder = builder
        .algorithms(keys::asymmetric())
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .no_background_refresh();
    if fetch.allow_http {
        builder = builder.allow_http();
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::from(keycard::Error::key_source(e)))?;
    let remote = runtime
        .block_on(builder.build())
        .map_err(|e| fetch_failure(source, e))?;
    let mut notes: Vec<String> = remote
        .skipped()
        .iter()
        .map(|s| {
            let mut what = format!("key #{}", s.index);
            if let Some(kid) = &s.key_id {
                what.push_str(&format!(" (kid `{kid}`)"));
            }
            format!("{what} skipped: {}", s.reason)
        })
        .collect();
    let (keys, filtered) = filter(&remote.keys(), algs);
    notes.extend(filtered);
    if keys.is_empty() {
        return Err(Failure::new(
            ErrorKind::KeySource,
            format!(
                "no usable key in `{}`: {}",
                remote.jwks_uri(),
                notes.join("; ")
            ),
        ));
    }
    Ok((keys, notes))
}

/// Plain http only with `--allow-http`; anything else but https is refused.
fn check_scheme(source: &Source<'_>, allow_http: bool) -> Result<(), Failure> {
    let url = source.url();
    let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    match scheme.as_deref() {
        Some("https") => Ok(()),
        Some("http") if allow_http => Ok(()),
        Some("http") => Err(usage(format!(
            "{} `{url}` is plain http, which anyone on the path can tamper with: use https, or \
             pass --allow-http (for local testing only)",
            source.flag()
        ))),
        _ => Err(usage(format!(
            "{} `{url}` is not an https URL",
            source.flag()
        ))),
    }
}

/// A keycard-jwks failure as a CLI one: the command line's problems are `usage`; the
/// provider's (unreachable, an HTTP error, not a JWK Set, another issuer) are keycard's
/// `key_source`, the keys could not be fetched.
fn fetch_failure(source: &Source<'_>, e: keycard_jwks::Error) -> Failure {
    match e {
        keycard_jwks::Error::InsecureUrl { url } => usage(format!(
            "`{url}` (from {} `{}`) is not an https URL: plain http only with --allow-http (for \
             local testing only)",
            source.flag(),
            source.url()
        )),
        keycard_jwks::Error::InvalidUrl { .. } | keycard_jwks::Error::Configuration(_) => {
            usage(format!("{}: {e}", source.flag()))
        }
        e @ keycard_jwks::Error::IssuerMismatch { .. } => {
            Failure::from(keycard::Error::key_source(e)).with_note("check --issuer")
        }
        e => Failure::from(keycard::Error::key_source(e)),
    }
}

/// The keys to keep: those for `algs` or, without `--alg`, those bound to one algorithm by their
/// JWK (a key without `alg` that fits several, an RSA key, needs `--alg`, as with `--key`).
/// Returns them and a note for each key left out, with the flag that makes it usable.
fn filter(keys: &KeySet, algs: &[Algorithm]) -> (KeySet, Vec<String>) {
    // Group the uses of one key (the same RFC 7638 thumbprint and kid).
    let mut groups: Vec<(String, Option<String>, Vec<&dyn Verifier>)> = Vec::new();
    for key in keys.iter() {
        let thumbprint = key.public_jwk().map(|jwk| jwk.thumbprint());
        let thumbprint = thumbprint.unwrap_or_default();
        let kid = key.key_id().map(str::to_owned);
        match groups
            .iter_mut()
            .find(|(t, k, _)| *t == thumbprint && *k == kid)
        {
            Some((_, _, uses)) => uses.push(key),
            None => groups.push((thumbprint, kid, vec![key])),
        }
    }
    let mut kept: Vec<Arc<dyn Verifier>> = Vec::new();
    let mut notes = Vec::new();
    for (_, kid, uses) in groups {
        let what = match &kid {
            Some(kid) => format!("key (kid `{kid}`)"),
            None => "a key without kid".to_owned(),
        };
        let fits: Vec<Algorithm> = uses.iter().map(|k| k.algorithm()).collect();
        if algs.is_empty() {
            if let [_, _, ..] = fits.as_slice() {
                notes.push(format!(
                    "{what} skipped: it has no `alg`: pass {}",
                    alg_flag(&fits)
                ));
                continue;
            }
        }
        let mut missing = Vec::new();
        for key in uses {
            if !algs.is_empty() && !algs.contains(&key.algorithm()) {
                missing.push(key.algorithm());
                continue;
            }
            match key.public_jwk().map(|jwk| jwk.to_verifier(key.algorithm())) {
                Some(Ok(verifier)) => kept.push(Arc::from(verifier)),
                Some(Err(e)) => notes.push(format!("{what} skipped: {e}")),
                None => notes.push(format!("{what} skipped: it has no public form")),
            }
        }
        if !missing.is_empty() && missing.len() == fits.len() {
            notes.push(format!(
                "{what} skipped: it is for {}, not the --alg given: add {}",
                names(&missing),
                alg_flag(&missing)
            ));
        }
    }
    (kept.into_iter().collect(), notes)
}

fn names(algs: &[Algorithm]) -> String {
    algs.iter()
        .map(|a| a.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
