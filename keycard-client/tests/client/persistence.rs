//! The persistence hook across a crash: a child process (this test binary, re-invoked with
//! `KEYCARD_CLIENT_CHILD` set) refreshes, saves the rotated token set from the callback, and is
//! killed with SIGKILL right after; the restarted client resumes from the saved set without a
//! refresh while it is valid, then refreshes with the rotated refresh token, and the server
//! never sees a refresh token used twice.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use keycard::time::Duration;
use keycard::Clock as _;
use keycard_client::{Grant, OAuthError, TokenEndpoint, TokenSet};
use keycard_test::TestClock;

use crate::auth_server::{AuthServer, CLIENT_ID, SECRET};

const CHILD: &str = "KEYCARD_CLIENT_CHILD";
const ROTATED: &str = "persisted the rotated token set";

/// Saves `set` so that a crash leaves the old file or the new one, never half of either.
fn save(path: &Path, set: &TokenSet) -> std::io::Result<()> {
    let temporary = path.with_extension("tmp");
    let bytes = serde_json::to_vec(set).map_err(std::io::Error::other)?;
    {
        use std::io::Write as _;
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
    }
    std::fs::rename(&temporary, path)
}

fn load(path: &Path) -> TokenSet {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn endpoint() -> keycard_client::TokenEndpointBuilder {
    TokenEndpoint::builder(CLIENT_ID).client_secret_post(SECRET)
}

/// The child's side: refresh once (the saved set has no access token), report, then hang until
/// killed. Does nothing unless run as the child.
#[test]
#[ignore = "the child process of persistence_survives_sigkill_right_after_a_rotation"]
fn persistence_child() {
    let (Ok(url), Ok(path)) = (std::env::var(CHILD), std::env::var("KEYCARD_CLIENT_FILE")) else {
        return;
    };
    let path = PathBuf::from(path);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let source = endpoint()
            .url(&url)
            .unwrap()
            .token_source(Grant::RefreshToken(load(&path)))
            .persist(move |set| {
                let path = path.clone();
                async move { save(&path, &set) }
            })
            .build();
        source.token().await.unwrap();
        println!("{ROTATED}");
        std::future::pending::<()>().await;
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistence_survives_sigkill_right_after_a_rotation() {
    // The child reads the system clock: follow it here, so both agree on expiries.
    let clock = TestClock::following_system();
    let server = AuthServer::start(&clock).await;
    let directory = std::env::temp_dir().join(format!("keycard-client-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let path = directory.join("tokens.json");
    let signed_in = server.sign_in();
    let first_refresh = signed_in.refresh_token().unwrap().to_owned();
    save(&path, &TokenSet::from_refresh_token(first_refresh.clone())).unwrap();

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "persistence::persistence_child",
            "--include-ignored",
            "--nocapture",
        ])
        .env(CHILD, server.token_url())
        .env("KEYCARD_CLIENT_FILE", &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let child = tokio::task::spawn_blocking(move || {
        let reported = BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .any(|line| line == ROTATED);
        // `Child::kill` is SIGKILL on Unix: no destructor, no flush, no goodbye.
        child.kill().unwrap();
        let status = child.wait().unwrap();
        (reported, status)
    })
    .await
    .unwrap();
    assert!(child.0, "the child never reported its rotation");
    assert!(!child.1.success(), "killed, not exited: {:?}", child.1);
    assert_eq!(server.refresh_requests(), 1);

    // The restarted client: the saved set holds the rotated refresh token and a valid access
    // token, which it uses without a refresh.
    let saved = load(&path);
    assert_ne!(saved.refresh_token(), Some(first_refresh.as_str()));
    assert!(saved.is_valid_at(clock.now()));
    let endpoint = endpoint()
        .clock(clock.clone())
        .url(&server.token_url())
        .unwrap();
    let source = endpoint
        .token_source(Grant::RefreshToken(saved.clone()))
        .build();
    assert_eq!(&*source.token().await.unwrap(), saved.access_token());
    assert_eq!(server.refresh_requests(), 1);
    // Once it expires, the rotated refresh token refreshes: accepted, and no reuse.
    clock.advance(Duration::minutes(11));
    let fresh = source.token().await.unwrap();
    assert_ne!(&*fresh, saved.access_token());
    assert_eq!(server.refresh_requests(), 2);
    assert_eq!(server.reuse_detected(), 0);
    std::fs::remove_dir_all(&directory).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_save_fails_the_refresh_and_the_retry_uses_the_rotated_refresh_token() {
    let clock = TestClock::new();
    let server = AuthServer::start(&clock).await;
    let signed_in = server.sign_in();
    let saved = Arc::new(Mutex::new(Vec::<TokenSet>::new()));
    let fail = Arc::new(AtomicBool::new(true));
    let source = endpoint()
        .clock(clock.clone())
        .url(&server.token_url())
        .unwrap()
        .token_source(Grant::RefreshToken(TokenSet::from_refresh_token(
            signed_in.refresh_token().unwrap(),
        )))
        .persist({
            let (saved, fail) = (Arc::clone(&saved), Arc::clone(&fail));
            move |set| {
                let (saved, fail) = (Arc::clone(&saved), Arc::clone(&fail));
                async move {
                    if fail.swap(false, Ordering::SeqCst) {
                        return Err(std::io::Error::other("disk full"));
                    }
                    saved.lock().unwrap().push(set);
                    Ok(())
                }
            }
        })
        .configure(|b| {
            b.min_backoff(Duration::seconds(1))
                .max_backoff(Duration::seconds(1))
        })
        .build();

    // The save failed: the new access token is not used...
    let err = source.token().await.unwrap_err();
    assert!(
        matches!(OAuthError::of(&err), Some(OAuthError::Persist(_))),
        "{err}"
    );
    assert_eq!(server.refresh_requests(), 1);
    // ...and the retry after the back-off presents the rotated refresh token, not the spent one.
    clock.advance(Duration::seconds(1));
    let token = source.token().await.unwrap();
    assert_eq!(server.refresh_requests(), 2);
    assert_eq!(server.reuse_detected(), 0);
    let saved = saved.lock().unwrap();
    assert_eq!(saved.len(), 1);
    assert_eq!(
        saved[0].access_token(),
        &*token,
        "the token in use was saved first"
    );
}
