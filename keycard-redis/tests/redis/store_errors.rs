//! Issue 22 on Redis: a refresh that fails with `store` after its rotation was committed. The
//! instance's Redis user may not `GET`, so its read of the subject's cutoff, after the swap,
//! fails; the client retries on another instance (the outage is over) and must receive the
//! successor the rotation stored, never reuse, whatever the grace period.

use std::time::Duration as StdDuration;

use crate::common::{instances, issuer_builder};

use keycard::time::Duration;
use keycard::{Claims, ErrorKind};
use keycard_lifecycle::TokenIssuer;
use keycard_redis::{RedisConfig, RedisStore};
use keycard_test::{RedisServer, TestClock};

fn claim(token: &str, name: &str) -> String {
    let claims: serde_json::Value = keycard::unverified::decode_claims(token).unwrap();
    claims[name].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_failing_after_its_rotation_is_retried_to_the_same_successor_on_redis() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    server
        .query(&[
            "ACL", "SETUSER", "noget", "on", ">secret", "~*", "&*", "+@all", "-get",
        ])
        .unwrap();
    let url = format!("redis://noget:secret@127.0.0.1:{}/", server.port());
    let denied =
        RedisStore::connect(RedisConfig::new(url).response_timeout(StdDuration::from_millis(500)))
            .await
            .expect("connects: the snapshot and the feed need no GET");
    let clock = TestClock::new();

    for (grace, retry_after) in [
        (Some(Duration::ZERO), Duration::seconds(10)),
        (None, Duration::minutes(5)),
    ] {
        let with_grace = |b: keycard_lifecycle::TokenIssuerBuilder| match grace {
            Some(grace) => b.grace_period(grace),
            None => b,
        };
        let healthy = instances(&server, &clock, 1, with_grace).await;
        let healthy = &healthy[0].issuer;
        let failing: TokenIssuer = with_grace(issuer_builder(&clock, &denied)).build().unwrap();
        let api = healthy.access_validator().build().unwrap();

        let login = healthy.issue("alice", &()).await.unwrap();
        let err = failing.refresh(&login.refresh_token).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Store, "{err}");
        // The rotation was committed: Redis holds a successor the client never received.
        let sid = claim(&login.access_token, "sid");
        let record = server
            .query(&["HGET", &format!("keycard:fam:{{{sid}}}"), "record"])
            .unwrap()
            .unwrap();
        let record: serde_json::Value = serde_json::from_str(&record).unwrap();
        let stored = record["previous"]["successor"]["refresh_token"]
            .as_str()
            .expect("the family keeps the successor until it is handed out")
            .to_owned();

        clock.advance(retry_after);
        let retried = healthy
            .refresh(&login.refresh_token)
            .await
            .expect("the retry receives the successor, not reuse");
        assert_eq!(retried.refresh_token, stored, "grace {grace:?}");
        api.verify::<Claims>(&retried.access_token).unwrap();
        let next = healthy.refresh(&retried.refresh_token).await.unwrap();
        api.verify::<Claims>(&next.access_token).unwrap();
    }
}
