//! The axum example (rebuilt on the layer) as a real server on 127.0.0.1 (port 0), talked to over
//! HTTP: the happy path and every failure status, then stopped.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use keycard_test::RedisServer;
use serde_json::{json, Value};

/// The running example; killed when dropped, so a failing test does not leave it behind.
struct Server {
    child: Child,
    base: String,
    http: ureq::Agent,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start() -> Server {
    start_with(&[])
}

/// Starts the example with extra environment variables.
fn start_with(env: &[(&str, &str)]) -> Server {
    let mut path = std::env::current_exe().unwrap();
    path.pop();
    if path.ends_with("deps") {
        path.pop();
    }
    let exe = path
        .join("examples")
        .join(format!("axum_server{}", std::env::consts::EXE_SUFFIX));
    let mut child = Command::new(&exe)
        .env("KEYCARD_ADDR", "127.0.0.1:0")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", exe.display()));
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    let http: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    Server { child, base, http }
}

/// Status, `WWW-Authenticate` and JSON body of a response.
struct Answer {
    status: u16,
    challenge: Option<String>,
    body: Value,
}

impl Server {
    fn post(&self, path: &str, bearer: Option<&str>, body: Value) -> Answer {
        let mut request = self.http.post(format!("{}{path}", self.base));
        if let Some(token) = bearer {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        answer(request.send_json(body).unwrap())
    }

    fn get(&self, path: &str, authorization: Option<&str>) -> Answer {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        answer(request.call().unwrap())
    }

    fn login(&self, username: &str, password: &str) -> Answer {
        self.post(
            "/login",
            None,
            json!({ "username": username, "password": password }),
        )
    }
}

fn answer(mut response: ureq::http::Response<ureq::Body>) -> Answer {
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response.body_mut().read_json().unwrap_or(Value::Null);
    Answer {
        status,
        challenge,
        body,
    }
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[test]
fn login_use_refresh_and_logout() {
    login_use_refresh_and_logout_on(&start());
}

fn login_use_refresh_and_logout_on(server: &Server) {
    let login = server.login("alice", "wonderland");
    assert_eq!(login.status, 200, "{}", login.body);
    assert_eq!(login.body["expires_in"], 900);
    let access = login.body["access_token"].as_str().unwrap().to_owned();
    let refresh = login.body["refresh_token"].as_str().unwrap().to_owned();

    let me = server.get("/me", Some(&bearer(&access)));
    assert_eq!(me.status, 200);
    assert_eq!(me.body["sub"], "alice");
    assert_eq!(me.body["scope"], "read");

    let next = server.post("/refresh", None, json!({ "refresh_token": refresh }));
    assert_eq!(next.status, 200, "{}", next.body);
    let access2 = next.body["access_token"].as_str().unwrap().to_owned();
    let refresh2 = next.body["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(server.get("/me", Some(&bearer(&access2))).status, 200);

    let logout = server.post(
        "/logout",
        Some(&access2),
        json!({ "refresh_token": refresh2 }),
    );
    assert_eq!(logout.status, 204);
    let after = server.get("/me", Some(&bearer(&access2)));
    assert_eq!(after.status, 401);
    assert_eq!(
        after.challenge.as_deref(),
        Some(r#"Bearer realm="api", error="invalid_token", error_description="revoked""#)
    );
}

#[test]
fn protected_routes_answer_401_with_a_bearer_challenge() {
    let server = start();
    let no_token = server.get("/me", None);
    assert_eq!(no_token.status, 401);
    assert_eq!(no_token.challenge.as_deref(), Some(r#"Bearer realm="api""#));

    // RFC 6750 §3.1: an unsupported scheme is answered like no credentials.
    let not_bearer = server.get("/me", Some("Basic YWxpY2U6d29uZGVybGFuZA=="));
    assert_eq!(not_bearer.status, 401);
    assert_eq!(
        not_bearer.challenge.as_deref(),
        Some(r#"Bearer realm="api""#)
    );
    assert_eq!(not_bearer.body["error"], "not_bearer");

    let garbage = server.get("/me", Some("Bearer not.a.token"));
    assert_eq!(garbage.status, 401);
    assert_eq!(
        garbage.challenge.as_deref(),
        Some(r#"Bearer realm="api", error="invalid_token", error_description="malformed""#)
    );

    // A token signed by someone else's key: only the kind is told, not why.
    let login = server.login("alice", "wonderland");
    let access = login.body["access_token"].as_str().unwrap();
    let (input, _) = access.rsplit_once('.').unwrap();
    let forged = format!("{input}.{}", "A".repeat(43));
    let forged = server.get("/me", Some(&bearer(&forged)));
    assert_eq!(forged.status, 401);
    assert_eq!(forged.body["error_description"], "signature");
    assert_eq!(forged.body["error"], "invalid_token");

    // A refresh token is not an access token (RFC 8725 §3.11).
    let refresh = login.body["refresh_token"].as_str().unwrap();
    let wrong_kind = server.get("/me", Some(&bearer(refresh)));
    assert_eq!(wrong_kind.status, 401);
    assert_eq!(wrong_kind.body["error_description"], "token_type");
}

#[test]
fn admin_route_answers_403_without_the_scope() {
    let server = start();
    let alice = server.login("alice", "wonderland");
    let denied = server.get(
        "/admin",
        Some(&bearer(alice.body["access_token"].as_str().unwrap())),
    );
    assert_eq!(denied.status, 403);
    assert_eq!(
        denied.challenge.as_deref(),
        Some(
            r#"Bearer realm="api", error="insufficient_scope", scope="admin", error_description="insufficient_scope""#
        )
    );
    let root = server.login("root", "correct horse battery staple");
    let allowed = server.get(
        "/admin",
        Some(&bearer(root.body["access_token"].as_str().unwrap())),
    );
    assert_eq!(allowed.status, 200);
    assert_eq!(allowed.body["welcome"], "root");
}

#[test]
fn token_endpoint_failures_are_invalid_grant() {
    let server = start();
    let wrong = server.login("alice", "guess");
    assert_eq!(wrong.status, 400);
    assert_eq!(wrong.body["error"], "invalid_grant");

    // Refresh-token reuse: the second use of the same token is refused and ends the session.
    let login = server.login("alice", "wonderland");
    let refresh = login.body["refresh_token"].as_str().unwrap();
    let first = server.post("/refresh", None, json!({ "refresh_token": refresh }));
    assert_eq!(first.status, 200);
    let replay = server.post("/refresh", None, json!({ "refresh_token": refresh }));
    assert_eq!(replay.status, 400);
    assert_eq!(replay.body["error_description"], "refresh_reuse");
    let successor = first.body["access_token"].as_str().unwrap();
    let revoked = server.get("/me", Some(&bearer(successor)));
    assert_eq!(revoked.status, 401);
    assert_eq!(revoked.body["error_description"], "revoked");

    let unauthenticated_logout = server.post("/logout", None, json!({ "refresh_token": refresh }));
    assert_eq!(unauthenticated_logout.status, 401);
    assert_eq!(
        unauthenticated_logout.challenge.as_deref(),
        Some(r#"Bearer realm="api""#)
    );
}

#[test]
fn with_redis_url_the_example_keeps_its_sessions_in_redis() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let server = start_with(&[("REDIS_URL", &redis.url())]);
    assert_eq!(redis.query(&["DBSIZE"]).unwrap().as_deref(), Some("0"));
    let login = server.login("root", "correct horse battery staple");
    assert_eq!(login.status, 200, "{}", login.body);
    // The session's family is in Redis, not in the process.
    let keys: u64 = redis.query(&["DBSIZE"]).unwrap().unwrap().parse().unwrap();
    assert!(keys > 0, "no key in Redis after a login");
    // Reuse detection works through the Redis store: a used refresh token presented again
    // revokes the session, and its access token with it.
    let refresh = login.body["refresh_token"].as_str().unwrap().to_owned();
    let next = server.post("/refresh", None, json!({ "refresh_token": refresh }));
    assert_eq!(next.status, 200, "{}", next.body);
    let access = next.body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(server.get("/admin", Some(&bearer(&access))).status, 200);
    let replay = server.post("/refresh", None, json!({ "refresh_token": refresh }));
    assert_eq!(replay.status, 400, "{}", replay.body);
    assert_eq!(replay.body["error_description"], "refresh_reuse");
    let after = server.get("/admin", Some(&bearer(&access)));
    assert_eq!(after.status, 401);
    // And the whole flow of the in-memory test passes on Redis too.
    login_use_refresh_and_logout_on(&server);
}
