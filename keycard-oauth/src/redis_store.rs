//! Redis-backed [`CodeStore`] and [`KeyRingStore`] (the `redis` feature), so that several
//! instances of the service redeem each code once and sign with one key ring. Each operation is
//! one Lua script, atomic on its keys.

use std::fmt;

use keycard::Error;
use keycard_lifecycle::StoreFuture;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::Script;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::code::{CodeGrant, CodeStore, Redeemed};
use crate::keyring::{KeyRingStore, RingDocument};

/// A Redis error as a keycard store error, its text only (no connection details beyond it).
#[derive(Debug)]
struct RedisFailure(String);

impl fmt::Display for RedisFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "redis: {}", self.0)
    }
}

impl std::error::Error for RedisFailure {}

fn failure(e: &redis::RedisError) -> Error {
    Error::store(RedisFailure(e.to_string()))
}

fn corrupt(what: &str) -> Error {
    Error::store(RedisFailure(format!("unexpected data: {what}")))
}

/// Codes and the key ring in Redis, under one key prefix. Cheap to clone.
#[derive(Clone)]
pub struct RedisOAuthStore {
    conn: ConnectionManager,
    prefix: String,
}

impl fmt::Debug for RedisOAuthStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisOAuthStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// A grant as stored: times as Unix seconds.
#[derive(Serialize, Deserialize)]
struct StoredGrant {
    client_id: String,
    redirect_uri: String,
    code_challenge: String,
    scope: String,
    subject: String,
    expires_at: i64,
}

/// How long one Redis call may take before the operation fails closed with `store`.
const RESPONSE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

const INSERT: &str = r"
redis.call('HSET', KEYS[1], 'grant', ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return 1";

/// 0: unknown; 1, grant: first use; 2, refresh token or '': a replay.
const REDEEM: &str = r"
local grant = redis.call('HGET', KEYS[1], 'grant')
if not grant then return {0} end
if redis.call('HSETNX', KEYS[1], 'used', '1') == 0 then
  return {2, redis.call('HGET', KEYS[1], 'rt') or ''}
end
return {1, grant}";

const BIND: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'rt', ARGV[1]) end
return 1";

/// KEYS: version, document. ARGV: expected version ('' for none), new version, document.
const SWAP: &str = r"
local current = redis.call('GET', KEYS[1]) or ''
if current ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[3])
return 1";

impl RedisOAuthStore {
    /// Connects to `url` (`redis://host:port/db`); keys start with `prefix` (e.g. `"oauth:"`).
    /// Call it from inside a tokio runtime.
    ///
    /// # Errors
    /// [`ErrorKind::Store`](keycard::ErrorKind::Store) when Redis cannot be reached.
    pub async fn connect(url: &str, prefix: impl Into<String>) -> Result<Self, Error> {
        let client = redis::Client::open(url).map_err(|e| failure(&e))?;
        // The same bound as keycard-redis's default `response_timeout`: redis-rs's own 500 ms
        // turned a code redeemed by a slow answer into a `server_error` on a busy machine (the
        // script ran, the code was used up, and its first presenter got nothing).
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_connection_timeout(Some(RESPONSE_TIMEOUT));
        let conn = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(|e| failure(&e))?;
        Ok(RedisOAuthStore {
            conn,
            prefix: prefix.into(),
        })
    }

    fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }
}

impl CodeStore for RedisOAuthStore {
    fn insert<'a>(
        &'a self,
        key: &'a str,
        grant: CodeGrant,
        keep_until: OffsetDateTime,
        _now: OffsetDateTime,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let stored = StoredGrant {
                client_id: grant.client_id,
                redirect_uri: grant.redirect_uri,
                code_challenge: grant.code_challenge,
                scope: grant.scope,
                subject: grant.subject,
                expires_at: grant.expires_at.unix_timestamp(),
            };
            let json = serde_json::to_string(&stored).map_err(|_| corrupt("grant"))?;
            let until_ms = keep_until.unix_timestamp().saturating_mul(1000);
            let mut conn = self.conn.clone();
            let _: i64 = Script::new(INSERT)
                .key(self.key(&format!("code:{key}")))
                .arg(json)
                .arg(until_ms)
                .invoke_async(&mut conn)
                .await
                .map_err(|e| failure(&e))?;
            Ok(())
        })
    }

    fn redeem<'a>(&'a self, key: &'a str, now: OffsetDateTime) -> StoreFuture<'a, Redeemed> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let reply: Vec<redis::Value> = Script::new(REDEEM)
                .key(self.key(&format!("code:{key}")))
                .invoke_async(&mut conn)
                .await
                .map_err(|e| failure(&e))?;
            let text = |v: Option<&redis::Value>| match v {
                Some(redis::Value::BulkString(bytes)) => String::from_utf8(bytes.clone()).ok(),
                Some(redis::Value::SimpleString(s)) => Some(s.clone()),
                _ => None,
            };
            match reply.first() {
                Some(redis::Value::Int(1)) => {
                    let json = text(reply.get(1)).ok_or_else(|| corrupt("code reply"))?;
                    let g: StoredGrant =
                        serde_json::from_str(&json).map_err(|_| corrupt("grant"))?;
                    let expires_at = OffsetDateTime::from_unix_timestamp(g.expires_at)
                        .map_err(|_| corrupt("grant expiry"))?;
                    if expires_at <= now {
                        return Ok(Redeemed::Unknown);
                    }
                    Ok(Redeemed::Fresh(CodeGrant {
                        client_id: g.client_id,
                        redirect_uri: g.redirect_uri,
                        code_challenge: g.code_challenge,
                        scope: g.scope,
                        subject: g.subject,
                        expires_at,
                    }))
                }
                Some(redis::Value::Int(2)) => {
                    let token = text(reply.get(1)).filter(|t| !t.is_empty());
                    Ok(Redeemed::Replayed(token))
                }
                _ => Ok(Redeemed::Unknown),
            }
        })
    }

    fn bind<'a>(&'a self, key: &'a str, refresh_token: String) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let _: i64 = Script::new(BIND)
                .key(self.key(&format!("code:{key}")))
                .arg(refresh_token)
                .invoke_async(&mut conn)
                .await
                .map_err(|e| failure(&e))?;
            Ok(())
        })
    }
}

impl KeyRingStore for RedisOAuthStore {
    fn load(&self) -> StoreFuture<'_, Option<RingDocument>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let json: Option<String> = redis::cmd("GET")
                .arg(self.key("keyring:document"))
                .query_async(&mut conn)
                .await
                .map_err(|e| failure(&e))?;
            json.map(|j| serde_json::from_str(&j).map_err(|_| corrupt("key ring")))
                .transpose()
        })
    }

    fn compare_and_set<'a>(
        &'a self,
        expected: Option<u64>,
        new: RingDocument,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let json = serde_json::to_string(&new).map_err(|_| corrupt("key ring"))?;
            let mut conn = self.conn.clone();
            let swapped: i64 = Script::new(SWAP)
                .key(self.key("keyring:version"))
                .key(self.key("keyring:document"))
                .arg(expected.map(|v| v.to_string()).unwrap_or_default())
                .arg(new.version.to_string())
                .arg(json)
                .invoke_async(&mut conn)
                .await
                .map_err(|e| failure(&e))?;
            Ok(swapped == 1)
        })
    }
}
