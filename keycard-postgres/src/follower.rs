//! The task that keeps the local view current: one connection of its own that `LISTEN`s on the
//! schema's revocation channel, a full reload when it connects and every `full_resync`, and a
//! heartbeat that confirms the view is current.
//!
//! The heartbeat is a `NOTIFY` on a channel only this connection listens to
//! (`<schema>_sync_<backend pid>`). PostgreSQL keeps one notification queue in commit order and
//! delivers it to each listener in that order, so when the heartbeat comes back, every
//! revocation committed before it was sent has been delivered and applied: the view is current
//! as of the moment it was sent. Silence alone proves nothing (a dead connection is silent too),
//! so only a returned heartbeat or a completed reload moves the view's freshness.

use std::future::poll_fn;
use std::sync::Arc;
use std::time::{Duration, Instant};

use keycard::time::OffsetDateTime;
use keycard::Error;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};
use tokio::sync::Notify;
use tokio_postgres::{AsyncMessage, Client, NoTls};

use crate::error::{corrupt, failure, timed_out};
use crate::sql::Sql;
use crate::view::{from_nanos, micros, Change, Entries, View};

/// The longest pause between two heartbeats; shorter when the staleness bound is short.
const HEARTBEAT: Duration = Duration::from_secs(1);

/// The pause before reconnecting, doubled after each failure up to a second.
const RETRY: Duration = Duration::from_millis(100);

/// Aborts a background task when its owner goes away.
pub(crate) struct AbortOnDrop(pub(crate) tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub(crate) struct Follower {
    pg: tokio_postgres::Config,
    sql: Arc<Sql>,
    view: Arc<View>,
    wake: Arc<Notify>,
    full_resync: Duration,
    response_timeout: Duration,
}

/// One connection's state.
pub(crate) struct Session {
    /// Shared with the heartbeat in flight, which runs as a task of its own.
    client: Arc<Client>,
    heard: UnboundedReceiver<(String, String)>,
    _driver: AbortOnDrop,
    sync_channel: String,
    nonce: u64,
    /// The heartbeat in flight: its nonce, and when it was sent.
    pending: Option<(u64, (Instant, OffsetDateTime))>,
    /// A `catch_up` asked while a heartbeat was in flight: send another when it returns.
    wanted: bool,
}

impl Follower {
    pub(crate) fn new(
        pg: tokio_postgres::Config,
        sql: Arc<Sql>,
        view: Arc<View>,
        wake: Arc<Notify>,
        full_resync: Duration,
        response_timeout: Duration,
    ) -> Self {
        Follower {
            pg,
            sql,
            view,
            wake,
            full_resync,
            response_timeout,
        }
    }

    fn heartbeat_interval(&self) -> Duration {
        (self.view.max_staleness() / 4).clamp(Duration::from_millis(10), HEARTBEAT)
    }

    /// Connects, listens, and reloads the view.
    pub(crate) async fn open(&self) -> Result<Session, Error> {
        let what = "connecting the revocation listener";
        let (client, mut connection) =
            tokio::time::timeout(self.response_timeout, self.pg.connect(NoTls))
                .await
                .map_err(|_| timed_out(what))?
                .map_err(|e| failure(what, &e))?;
        // The connection is driven here, so that its notifications can be read; they are
        // handed to the session in the order they arrive. It ends when the connection does,
        // which closes the channel and tells the session.
        let (tell, heard) = unbounded_channel();
        let driver = tokio::spawn(async move {
            while let Some(Ok(message)) = poll_fn(|cx| connection.poll_message(cx)).await {
                if let AsyncMessage::Notification(n) = message {
                    if tell
                        .send((n.channel().to_owned(), n.payload().to_owned()))
                        .is_err()
                    {
                        break;
                    }
                }
            }
        });
        let driver = AbortOnDrop(driver.abort_handle());
        let row = tokio::time::timeout(
            self.response_timeout,
            client.query_one("SELECT pg_backend_pid()", &[]),
        )
        .await
        .map_err(|_| timed_out(what))?
        .map_err(|e| failure(what, &e))?;
        let pid: i32 = row.try_get(0).map_err(|e| failure(what, &e))?;
        let sync_channel = self.sql.sync_channel(pid);
        tokio::time::timeout(
            self.response_timeout,
            client.batch_execute(&format!(
                "LISTEN \"{}\"; LISTEN \"{sync_channel}\"",
                self.sql.channel
            )),
        )
        .await
        .map_err(|_| timed_out(what))?
        .map_err(|e| failure(what, &e))?;
        let mut session = Session {
            client: Arc::new(client),
            heard,
            _driver: driver,
            sync_channel,
            nonce: 0,
            pending: None,
            wanted: false,
        };
        self.reload(&mut session).await?;
        Ok(session)
    }

    /// Replaces the view by the tables' revocations in force. LISTEN is already on, so a
    /// revocation committed after the read starts is heard, and one committed before is read.
    async fn reload(&self, session: &mut Session) -> Result<(), Error> {
        let what = "reloading the revocation view";
        let started = self.view.now();
        self.view.begin_reload();
        // A large table takes longer than one statement should: the staleness bound at least.
        let limit = self.response_timeout.max(self.view.max_staleness());
        let rows = match tokio::time::timeout(
            limit,
            session.client.query(&self.sql.snapshot, &[&started.1]),
        )
        .await
        {
            Ok(Ok(rows)) => rows,
            Ok(Err(e)) => {
                self.view.abandon_reload();
                return Err(failure(what, &e));
            }
            Err(_) => {
                self.view.abandon_reload();
                return Err(timed_out(what));
            }
        };
        let mut fresh = Entries::default();
        for row in rows {
            let parsed = (|| -> Result<(), Error> {
                let kind: &str = row.try_get(0).map_err(|e| failure(what, &e))?;
                let id: String = row.try_get(1).map_err(|e| failure(what, &e))?;
                let cutoff: i64 = row.try_get(2).map_err(|e| failure(what, &e))?;
                let until: OffsetDateTime = row.try_get(3).map_err(|e| failure(what, &e))?;
                let until = micros(until);
                match kind {
                    "t" => {
                        fresh.tokens.insert(id, until);
                    }
                    "s" => {
                        fresh.sessions.insert(id, until);
                    }
                    _ => {
                        let cutoff = from_nanos(cutoff).ok_or_else(|| corrupt("a cutoff"))?;
                        fresh.subjects.insert(id, (cutoff, until));
                    }
                }
                Ok(())
            })();
            if let Err(e) = parsed {
                self.view.abandon_reload();
                return Err(e);
            }
        }
        self.view.finish_reload(fresh);
        // What was heard while reading is newer than or equal to what was read.
        while let Ok(heard) = session.heard.try_recv() {
            if self.hear(session, &heard) {
                // Asked to reload again: leave the view unconfirmed; the caller's next tick
                // reloads.
                return Err(corrupt("a notification asked for a reload"));
            }
        }
        self.view.mark_synced(started);
        Ok(())
    }

    /// Applies one notification; true when it asks for a full reload (`*`, or a payload this
    /// version cannot read).
    fn hear(&self, session: &mut Session, (channel, payload): &(String, String)) -> bool {
        if *channel == session.sync_channel {
            if let Some((nonce, sent)) = session.pending {
                if payload.parse() == Ok(nonce) {
                    self.view.mark_synced(sent);
                    session.pending = None;
                }
            }
            return false;
        }
        if *channel != self.sql.channel {
            return false;
        }
        match Change::parse(payload) {
            Some(change) => {
                self.view.apply(&change);
                false
            }
            None => true,
        }
    }

    /// Sends a heartbeat without waiting for its statement to return: what confirms the view
    /// is the notification coming back, which `hear` handles, and meanwhile the follower goes
    /// on applying what it hears. A heartbeat that never comes back ends the session after the
    /// response timeout (`follow`).
    fn heartbeat(&self, session: &mut Session) {
        session.nonce += 1;
        let sent = self.view.now();
        let (client, channel, nonce) = (
            Arc::clone(&session.client),
            session.sync_channel.clone(),
            session.nonce.to_string(),
        );
        let limit = self.response_timeout;
        tokio::spawn(async move {
            let params: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&channel, &nonce];
            let statement = client.execute("SELECT pg_notify($1, $2)", &params);
            let _ = tokio::time::timeout(limit, statement).await;
        });
        session.pending = Some((session.nonce, sent));
        session.wanted = false;
    }

    /// Follows one connection until it fails.
    async fn follow(&self, mut session: Session) -> Result<(), Error> {
        let mut ticker = tokio::time::interval(self.heartbeat_interval());
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_reload = Instant::now();
        loop {
            tokio::select! {
                heard = session.heard.recv() => {
                    let Some(heard) = heard else {
                        return Err(timed_out("listening for revocations (connection lost)"));
                    };
                    if self.hear(&mut session, &heard) {
                        self.reload(&mut session).await?;
                        last_reload = Instant::now();
                    }
                    if session.wanted && session.pending.is_none() {
                        self.heartbeat(&mut session);
                    }
                }
                _ = ticker.tick() => {
                    if let Some((_, (sent, _))) = session.pending {
                        if sent.elapsed() > self.response_timeout {
                            return Err(timed_out("confirming the revocation view"));
                        }
                    }
                    if last_reload.elapsed() >= self.full_resync {
                        self.reload(&mut session).await?;
                        last_reload = Instant::now();
                    }
                    if session.pending.is_none() {
                        self.heartbeat(&mut session);
                    }
                }
                () = self.wake.notified() => {
                    if session.pending.is_none() {
                        self.heartbeat(&mut session);
                    } else {
                        session.wanted = true;
                    }
                }
            }
        }
    }

    /// Follows the database for ever: a session at a time, a new one (with a reload) after
    /// every failure. Ends when the store's last clone aborts it.
    pub(crate) async fn run(self, mut session: Option<Session>) {
        let mut pause = RETRY;
        loop {
            let current = match session.take() {
                Some(current) => current,
                None => match self.open().await {
                    Ok(current) => current,
                    Err(_) => {
                        self.view.record_failure();
                        tokio::time::sleep(pause).await;
                        pause = (pause * 2).min(Duration::from_secs(1));
                        continue;
                    }
                },
            };
            pause = RETRY;
            // It returns only with the failure that ended the session.
            let _lost = self.follow(current).await;
            self.view.record_failure();
            tokio::time::sleep(RETRY).await;
        }
    }
}
