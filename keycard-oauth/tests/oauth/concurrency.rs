//! Concurrent presentations of one refresh token: the reads are held at a barrier until all
//! have read the family, so every request races on the one compare-and-set.

use std::sync::atomic::Ordering;

use crate::common::fixture;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_concurrent_refreshes_rotate_once_and_all_receive_the_same_refresh_token() {
    let f = fixture();
    let login = f
        .service
        .issue_pair("basic-client", "alice", None)
        .await
        .unwrap();
    let refresh = login.refresh_token.unwrap();
    f.families.hold_first_reads(16);
    let f = std::sync::Arc::new(f);
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let f = std::sync::Arc::clone(&f);
            let body = format!("grant_type=refresh_token&refresh_token={refresh}");
            tokio::spawn(async move {
                let reply = f.token(&body).await;
                (
                    reply.status,
                    reply.json["refresh_token"].as_str().map(str::to_owned),
                )
            })
        })
        .collect();
    let mut tokens = Vec::new();
    for task in tasks {
        let (status, token) = task.await.unwrap();
        assert_eq!(status, 200);
        tokens.push(token.unwrap());
    }
    assert_eq!(
        f.families.rotations.load(Ordering::SeqCst),
        1,
        "one rotation"
    );
    assert!(
        tokens.iter().all(|t| t == &tokens[0]),
        "the rest from the grace period"
    );
}
