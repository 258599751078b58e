//! `verify --jwks-url` and `verify --issuer`: keys from a JWK Set served by a small HTTP server
//! started here on 127.0.0.1 (port 0), one thread, one response per connection.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use keycard::time::Duration;
use keycard::{Algorithm, Builder, EcdsaPrivateKey};
use serde_json::{json, Value};

use crate::common::*;

/// What each path answers: a status and a JSON body.
type Routes = Arc<Mutex<HashMap<String, (u16, String)>>>;

/// A local identity provider: `base` is `http://127.0.0.1:PORT`.
struct Server {
    base: String,
    routes: Routes,
}

impl Server {
    fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let routes: Routes = Arc::default();
        let served = Arc::clone(&routes);
        // Lives until the test binary exits.
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(&stream);
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).is_err() {
                    continue;
                }
                // The headers, up to the blank line; a GET has no body.
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line.trim() != "" {
                    line.clear();
                }
                let path = request_line
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or("/")
                    .to_owned();
                let (status, body) = served
                    .lock()
                    .unwrap()
                    .get(&path)
                    .cloned()
                    .unwrap_or((404, "{}".to_owned()));
                let response = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n\
                     content-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes());
            }
        });
        Server { base, routes }
    }

    fn serve(&self, path: &str, status: u16, body: impl Into<String>) {
        self.routes
            .lock()
            .unwrap()
            .insert(path.to_owned(), (status, body.into()));
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// A fresh ES256 key, `kid: k1`, and the JWK Set of its public half (with `alg`).
fn es256_key() -> (EcdsaPrivateKey, String) {
    let key = EcdsaPrivateKey::generate(Algorithm::ES256).unwrap();
    let public = key.public_key().with_key_id("k1").to_jwk();
    let jwk: Value = serde_json::from_str(&public.to_json()).unwrap();
    (key, json!({ "keys": [jwk] }).to_string())
}

/// A token signed by `key`, with `kid`, `iss` and `aud: api`, valid for an hour.
fn token(key: &EcdsaPrivateKey, kid: &str, iss: &str) -> String {
    Builder::new()
        .key_id(kid)
        .issuer(iss)
        .subject("remote")
        .audience("api")
        .expires_in(Duration::hours(1))
        .sign(key)
        .unwrap()
}

/// A server with `/jwks` serving `jwks` and an OpenID configuration naming `issuer`.
fn provider(jwks: &str, issuer: Option<&str>) -> Server {
    let server = Server::start();
    server.serve("/jwks", 200, jwks);
    let issuer = issuer.map_or_else(|| server.base.clone(), str::to_owned);
    server.serve(
        "/.well-known/openid-configuration",
        200,
        json!({ "issuer": issuer, "jwks_uri": server.url("/jwks") }).to_string(),
    );
    server
}

fn claims(out: &str) -> Value {
    serde_json::from_str(out).unwrap()
}

#[test]
fn jwks_url_verifies_a_token_signed_by_the_served_key() {
    let (key, jwks) = es256_key();
    let server = provider(&jwks, None);
    let token = token(&key, "k1", "https://anyone.example");
    let out = ok(&[
        "verify",
        "--jwks-url",
        &server.url("/jwks"),
        "--allow-http",
        "--aud",
        "api",
        &token,
    ]);
    let claims = claims(&out);
    assert_eq!(claims["sub"], "remote");
    assert_eq!(claims["iss"], "https://anyone.example");
}

#[test]
fn issuer_discovers_the_jwks_and_requires_its_iss() {
    let (key, jwks) = es256_key();
    let server = provider(&jwks, None);
    let good = token(&key, "k1", &server.base);
    let out = ok(&[
        "verify",
        "--issuer",
        &server.base,
        "--allow-http",
        "--aud",
        "api",
        &good,
    ]);
    assert_eq!(claims(&out)["iss"], server.base.as_str());

    // Signed by the served key, but by another issuer: `--issuer` is also `--iss`.
    let other = token(&key, "k1", "https://other.example");
    let err = fails(
        &[
            "verify",
            "--issuer",
            &server.base,
            "--allow-http",
            "--aud",
            "api",
            &other,
        ],
        "issuer",
    );
    assert!(err.contains("other.example"), "{err}");
}

#[test]
fn an_unknown_kid_is_unknown_key_id() {
    let (key, jwks) = es256_key();
    let server = provider(&jwks, None);
    let token = token(&key, "k2", &server.base);
    for source in ["--jwks-url", "--issuer"] {
        let url = if source == "--jwks-url" {
            server.url("/jwks")
        } else {
            server.base.clone()
        };
        fails(
            &[
                "verify",
                source,
                &url,
                "--allow-http",
                "--aud",
                "api",
                &token,
            ],
            "unknown_key_id",
        );
    }
}

#[test]
fn plain_http_is_refused_without_allow_http() {
    let (key, jwks) = es256_key();
    let server = provider(&jwks, None);
    let token = token(&key, "k1", &server.base);
    for (source, url) in [
        ("--jwks-url", server.url("/jwks")),
        ("--issuer", server.base.clone()),
    ] {
        let err = fails_with(
            &["verify", source, &url, "--aud", "api", &token],
            USAGE,
            "usage",
        );
        assert!(err.contains("--allow-http"), "{source}: {err}");
        assert!(err.contains(&url), "{source}: {err}");
    }
}

#[test]
fn a_discovery_document_for_another_issuer_is_refused() {
    let (key, jwks) = es256_key();
    let server = provider(&jwks, Some("https://impostor.example"));
    let token = token(&key, "k1", &server.base);
    let err = fails_with(
        &[
            "verify",
            "--issuer",
            &server.base,
            "--allow-http",
            "--aud",
            "api",
            &token,
        ],
        UNAVAILABLE,
        "key_source",
    );
    assert!(err.contains("https://impostor.example"), "{err}");
    assert!(err.contains("--issuer"), "{err}");
}

#[test]
fn a_server_error_names_the_status() {
    let (key, jwks) = es256_key();
    let server = provider(&jwks, None);
    server.serve("/jwks", 500, "{}");
    let token = token(&key, "k1", &server.base);
    for (source, url) in [
        ("--jwks-url", server.url("/jwks")),
        ("--issuer", server.base.clone()),
    ] {
        let err = fails_with(
            &[
                "verify",
                source,
                &url,
                "--allow-http",
                "--aud",
                "api",
                &token,
            ],
            UNAVAILABLE,
            "key_source",
        );
        assert!(err.contains("HTTP 500"), "{source}: {err}");
        assert!(err.contains(&server.url("/jwks")), "{source}: {err}");
    }
}

#[test]
fn a_document_that_is_not_a_jwk_set_is_refused() {
    let (key, _) = es256_key();
    let server = provider(r#"{"issuer":"not a key set"}"#, None);
    let token = token(&key, "k1", &server.base);
    let err = fails_with(
        &[
            "verify",
            "--jwks-url",
            &server.url("/jwks"),
            "--allow-http",
            &token,
        ],
        UNAVAILABLE,
        "key_source",
    );
    assert!(err.contains("not a valid JWK Set"), "{err}");
}

#[test]
fn a_body_that_is_not_json_is_a_key_source_failure() {
    let (key, jwks) = es256_key();
    let token = token(&key, "k1", "https://anyone.example");
    // The key set itself, then the discovery document, answered with something that is not JSON.
    let server = provider(&jwks, None);
    server.serve("/jwks", 200, "<html>maintenance</html>");
    let err = fails_with(
        &[
            "verify",
            "--jwks-url",
            &server.url("/jwks"),
            "--allow-http",
            &token,
        ],
        UNAVAILABLE,
        "key_source",
    );
    assert!(err.contains(&server.url("/jwks")), "{err}");
    let server = provider(&jwks, None);
    server.serve("/.well-known/openid-configuration", 200, "{not json");
    let err = fails_with(
        &["verify", "--issuer", &server.base, "--allow-http", &token],
        UNAVAILABLE,
        "key_source",
    );
    assert!(err.contains(&server.base), "{err}");
}

#[test]
fn an_unreachable_server_is_a_fetch_failure() {
    // A port that was free a moment ago: nothing listens on it now.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/jwks");
    let err = fails_with(
        &["verify", "--jwks-url", &url, "--allow-http", "a.b.c"],
        UNAVAILABLE,
        "key_source",
    );
    assert!(err.contains(&url), "{err}");
}

#[test]
fn keys_left_out_for_want_of_alg_name_the_flag() {
    let (key, _) = es256_key();
    // The served key without `alg` is still an EC P-256 key: ES256 is the one it fits.
    let mut jwk: Value =
        serde_json::from_str(&key.public_key().with_key_id("k1").to_jwk().to_json()).unwrap();
    jwk.as_object_mut().unwrap().remove("alg");
    let server = provider(&json!({ "keys": [jwk] }).to_string(), None);
    let token = token(&key, "k1", &server.base);
    let url = server.url("/jwks");
    let err = fails_with(
        &[
            "verify",
            "--jwks-url",
            &url,
            "--allow-http",
            "--alg",
            "ES384",
            "--aud",
            "api",
            &token,
        ],
        UNAVAILABLE,
        "key_source",
    );
    assert!(err.contains("kid `k1`"), "{err}");
    assert!(err.contains("add --alg ES256"), "{err}");
    let out = ok(&[
        "verify",
        "--jwks-url",
        &url,
        "--allow-http",
        "--alg",
        "ES256",
        "--aud",
        "api",
        &token,
    ]);
    assert_eq!(claims(&out)["sub"], "remote");
}

#[test]
fn two_key_sources_at_once_are_a_usage_error() {
    let key_file = key("p256.pkcs8.pem");
    for args in [
        vec![
            "verify",
            "--key",
            &key_file,
            "--jwks-url",
            "https://idp.example/jwks",
            "t",
        ],
        vec![
            "verify",
            "--jwks-url",
            "https://idp.example/jwks",
            "--issuer",
            "https://idp.example",
            "t",
        ],
        vec![
            "verify",
            "--secret",
            &key_file,
            "--issuer",
            "https://idp.example",
            "t",
        ],
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stdout(&out).is_empty(), "{args:?}");
        assert!(
            stderr(&out).contains("cannot be used with"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn allow_http_and_timeout_need_a_remote_key_source() {
    let key_file = key("p256.pkcs8.pem");
    for flags in [vec!["--allow-http"], vec!["--timeout", "5"]] {
        let mut args = vec!["verify", "--key", &key_file];
        args.extend(flags);
        args.push("t");
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stdout(&out).is_empty(), "{args:?}");
        assert!(
            stderr(&out).contains("--jwks-url") || stderr(&out).contains("--issuer"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn iss_and_issuer_must_agree() {
    let err = fails_with(
        &[
            "verify",
            "--issuer",
            "https://idp.example",
            "--iss",
            "https://other.example",
            "t.t.t",
        ],
        USAGE,
        "usage",
    );
    assert!(err.contains("--iss") && err.contains("--issuer"), "{err}");
}

#[test]
fn an_rsa_key_without_alg_needs_alg_as_with_key() {
    // Without `alg`, an RSA key fits six algorithms: the command line says which.
    let pem = std::fs::read_to_string(key("rsa2048.spki.pem")).unwrap();
    let public = keycard::pem::verifier(Algorithm::RS256, &pem)
        .unwrap()
        .public_jwk()
        .unwrap()
        .with_key_id("r1");
    let mut jwk: Value = serde_json::from_str(&public.to_json()).unwrap();
    jwk.as_object_mut().unwrap().remove("alg");
    let server = provider(&json!({ "keys": [jwk] }).to_string(), None);
    let token = ok(&[
        "sign",
        "--key",
        &key("rsa2048.pkcs8.pem"),
        "--alg",
        "RS256",
        "--kid",
        "r1",
        "--expires-in",
        "3600",
        r#"{"sub":"rsa","aud":"api"}"#,
    ]);
    let url = server.url("/jwks");
    let err = fails_with(
        &[
            "verify",
            "--jwks-url",
            &url,
            "--allow-http",
            "--aud",
            "api",
            &token,
        ],
        UNAVAILABLE,
        "key_source",
    );
    assert!(err.contains("kid `r1`"), "{err}");
    assert!(
        err.contains("it has no `alg`: pass --alg RS256 (or RS384"),
        "{err}"
    );
    let out = ok(&[
        "verify",
        "--jwks-url",
        &url,
        "--allow-http",
        "--alg",
        "RS256",
        "--aud",
        "api",
        &token,
    ]);
    assert_eq!(claims(&out)["sub"], "rsa");
}

#[test]
fn a_provider_s_key_ids_are_escaped_in_notes() {
    let (key, jwks) = es256_key();
    // Beside the usable key, an RSA key without `alg` (left out, with a note) whose kid would
    // clear the screen and forge a line.
    let pem = std::fs::read_to_string(crate::common::key("rsa2048.spki.pem")).unwrap();
    let rsa = keycard::pem::verifier(Algorithm::RS256, &pem)
        .unwrap()
        .public_jwk()
        .unwrap()
        .with_key_id("r\u{1b}[2J\r\nINJECTED\u{202e}");
    let mut rsa: Value = serde_json::from_str(&rsa.to_json()).unwrap();
    rsa.as_object_mut().unwrap().remove("alg");
    let mut jwks: Value = serde_json::from_str(&jwks).unwrap();
    jwks["keys"].as_array_mut().unwrap().push(rsa);
    let server = provider(&jwks.to_string(), None);
    let token = token(&key, "k1", &server.base);
    let out = run(&[
        "verify",
        "--jwks-url",
        &server.url("/jwks"),
        "--allow-http",
        "--aud",
        "api",
        &token,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let note = stderr(&out);
    assert_eq!(note.lines().count(), 1, "{note}");
    assert!(
        !note.trim_end().chars().any(keycard::text::needs_escape),
        "{note:?}"
    );
    assert!(
        note.contains(r"kid `r\u{1b}[2J\r\nINJECTED\u{202e}`"),
        "{note}"
    );
}
