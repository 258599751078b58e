//! The redis-server guard against a real server (skipped, loudly, without one).

use keycard_test::RedisServer;

#[test]
fn starts_answers_restarts_from_its_append_only_file_and_cleans_up() {
    let Some(mut redis) =
        RedisServer::start_with(&["--appendonly", "yes", "--appendfsync", "always"])
    else {
        return;
    };
    assert!(redis.url().starts_with("redis://127.0.0.1:"));
    assert_eq!(redis.query(&["PING"]).unwrap().as_deref(), Some("PONG"));
    assert_eq!(
        redis.query(&["SET", "k", "v 1"]).unwrap().as_deref(),
        Some("OK")
    );
    assert_eq!(redis.query(&["DBSIZE"]).unwrap().as_deref(), Some("1"));
    assert_eq!(redis.query(&["GET", "missing"]).unwrap(), None);
    assert!(redis.query(&["NOSUCHCOMMAND"]).is_err());

    redis.kill();
    assert!(redis.query(&["PING"]).is_err(), "killed");
    redis.restart();
    assert_eq!(
        redis.query(&["GET", "k"]).unwrap().as_deref(),
        Some("v 1"),
        "replayed"
    );

    let dir = redis.dir().to_owned();
    assert!(dir.exists());
    let port = redis.port();
    drop(redis);
    assert!(!dir.exists(), "its directory is removed");
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[test]
fn two_servers_have_their_own_ports_and_directories() {
    let (Some(a), Some(b)) = (RedisServer::start(), RedisServer::start()) else {
        return;
    };
    assert_ne!(a.port(), b.port());
    assert_ne!(a.dir(), b.dir());
    a.query(&["SET", "only-in-a", "1"]).unwrap();
    assert_eq!(b.query(&["DBSIZE"]).unwrap().as_deref(), Some("0"));
}
