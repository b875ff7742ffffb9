//! Hearing that another process made work claimable: LISTEN on the channel that commits
//! notify. By default on the `--db` connection itself. Behind a pooler in transaction mode
//! that cannot work (each statement may run on another server session, so a LISTEN is left
//! behind on whichever ran it), so `QUEUEPRIM_LISTEN_DB` names a direct connection to
//! listen on instead, or `none` to listen nowhere: waiters then find new work when they look
//! again anyway, every few seconds (`watch::RECHECK`).

use std::collections::BTreeSet;
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use postgres::fallible_iterator::FallibleIterator;
use postgres::Client;

use super::errors::explain;
use super::sql::quote_ident;
use super::target::Target;
use crate::error::Error;
use crate::store::backend::Changed;

/// How long asking whether a connection is still there may take.
const PROBE: Duration = Duration::from_secs(5);

/// The variable naming where waiters listen.
pub const LISTEN_DB: &str = "QUEUEPRIM_LISTEN_DB";
/// Its value for listening nowhere.
const NOWHERE: &str = "none";

/// Where notifications are heard.
enum Route {
    /// On the connection every command uses.
    Main,
    /// On a connection of its own, straight to the server.
    Direct(Box<Direct>),
    /// Nowhere: only the waiters' own looks find new work.
    Nowhere,
}

/// The server `QUEUEPRIM_LISTEN_DB` names, and the connection to it once made.
struct Direct {
    target: Target,
    client: Option<Client>,
}

pub struct Listener {
    /// The channel commits notify when they make a job claimable; its payload is the queue.
    channel: String,
    /// The schema `--db` names, which the direct connection's messages name too.
    schema: String,
    /// Decided at the first wait, so that commands that never wait never read the variable.
    route: Option<Route>,
    /// Whether LISTEN is in force on the connection that hears.
    listening: bool,
    /// Notifications received for the queue being waited on, and reconnections (which may
    /// have lost some).
    changes: u64,
}

impl Listener {
    pub fn new(channel: &str, schema: &str) -> Listener {
        Listener {
            channel: channel.to_string(),
            schema: schema.to_string(),
            route: None,
            listening: false,
            changes: 0,
        }
    }

    /// Counts the notifications already received for `queue`, without waiting; listens
    /// first if not yet listening.
    pub fn changes(&mut self, main: &mut Client, name: &str, queue: &str) -> Result<u64> {
        self.listen(main, name)?;
        let context = format!("cannot wait on {}", self.hearing_name(name));
        let mut arrived = 0;
        if let Some(client) = self.hearing(main) {
            let mut notifications = client.notifications();
            let mut pending = notifications.iter();
            while let Some(note) = pending.next().map_err(|e| explain(&context, e.into()))? {
                if note.payload() == queue {
                    arrived += 1;
                }
            }
        }
        self.changes += arrived;
        Ok(self.changes)
    }

    /// Waits until the counter moves past `seen`, at most `max`, and returns it.
    pub fn wait(
        &mut self,
        main: &mut Client,
        name: &str,
        seen: u64,
        queue: &str,
        max: Duration,
    ) -> Result<u64> {
        self.changes(main, name, queue)?;
        let context = format!("cannot wait on {}", self.hearing_name(name));
        let until = Instant::now() + max;
        while self.changes == seen {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let Some(client) = self.hearing(main) else {
                sleep(left);
                break;
            };
            let note = client.notifications().timeout_iter(left).next();
            let closed = client.is_closed();
            match note.map_err(|e| explain(&context, e.into()))? {
                Some(note) if note.payload() == queue => self.changes += 1,
                Some(_) => {}
                None if closed => {
                    return Err(explain(
                        &context,
                        anyhow!("the server closed the connection"),
                    ))
                }
                None => break,
            }
        }
        Ok(self.changes)
    }

    /// Waits at most `max` for notifications about any queue, and names the queues they
    /// carry: `serve`'s one watcher of every queue. The first call starts listening and says
    /// every queue may have changed (what came before went unheard); so does every wait when
    /// listening nowhere, since then only looking again finds new work.
    pub fn wait_any(&mut self, main: &mut Client, name: &str, max: Duration) -> Result<Changed> {
        if !self.listening {
            self.listen(main, name)?;
            return Ok(Changed::Everything);
        }
        let context = format!("cannot wait on {}", self.hearing_name(name));
        let Some(client) = self.hearing(main) else {
            sleep(max);
            return Ok(Changed::Everything);
        };
        let first = client.notifications().timeout_iter(max).next();
        let Some(first) = first.map_err(|e| explain(&context, e.into()))? else {
            if client.is_closed() {
                return Err(explain(
                    &context,
                    anyhow!("the server closed the connection"),
                ));
            }
            return Ok(Changed::Nothing);
        };
        let mut queues = BTreeSet::from([first.payload().to_string()]);
        let mut notifications = client.notifications();
        let mut already_here = notifications.iter();
        while let Some(note) = already_here
            .next()
            .map_err(|e| explain(&context, e.into()))?
        {
            queues.insert(note.payload().to_string());
        }
        Ok(Changed::Queues(queues.into_iter().collect()))
    }

    /// Whether the connection of its own, if there is one, is still there.
    pub fn connected(&mut self) -> bool {
        match &mut self.route {
            Some(Route::Direct(direct)) => direct.client.as_mut().is_none_or(alive),
            _ => true,
        }
    }

    /// After the `--db` connection was made again (`main_replaced`) or the listening one
    /// was lost: listen again where needed, and count a change, since whatever was notified
    /// meanwhile is lost and a waiter should look again.
    pub fn reconnect(&mut self, main: &mut Client, name: &str, main_replaced: bool) -> Result<()> {
        let lost = match &mut self.route {
            Some(Route::Main) => main_replaced,
            Some(Route::Direct(direct)) => {
                let lost = !direct.client.as_mut().is_none_or(alive);
                if lost {
                    direct.client = None;
                }
                lost
            }
            Some(Route::Nowhere) | None => false,
        };
        if lost {
            self.listening = false;
            self.listen(main, name)?;
        }
        self.changes += 1;
        Ok(())
    }

    fn listen(&mut self, main: &mut Client, name: &str) -> Result<()> {
        if self.route.is_none() {
            self.route = Some(route(&self.schema)?);
        }
        if self.listening {
            return Ok(());
        }
        let listen = format!("LISTEN {}", quote_ident(&self.channel));
        match &mut self.route {
            Some(Route::Main) => main
                .batch_execute(&listen)
                .map_err(|e| explain(&format!("cannot listen on {name}"), e.into()))?,
            Some(Route::Direct(direct)) => {
                let fresh = connect_direct(&direct.target, main, name)?;
                let context = format!("cannot listen on {}", direct.target.name());
                direct
                    .client
                    .insert(fresh)
                    .batch_execute(&listen)
                    .map_err(|e| explain(&context, e.into()))?;
            }
            Some(Route::Nowhere) | None => {}
        }
        self.listening = true;
        Ok(())
    }

    /// The connection notifications arrive on, if any.
    fn hearing<'a>(&'a mut self, main: &'a mut Client) -> Option<&'a mut Client> {
        match &mut self.route {
            Some(Route::Main) => Some(main),
            Some(Route::Direct(direct)) => direct.client.as_mut(),
            Some(Route::Nowhere) | None => None,
        }
    }

    fn hearing_name<'a>(&'a self, name: &'a str) -> &'a str {
        match &self.route {
            Some(Route::Direct(direct)) => direct.target.name(),
            _ => name,
        }
    }
}

/// Whether a connection is still there after a failure. Asked, not just looked up: a pooler
/// ends a client's connection with a FATAL error (its own login to the server failing, say)
/// that the driver reports before it notices the connection closed.
pub fn alive(client: &mut Client) -> bool {
    !client.is_closed() && client.is_valid(PROBE).is_ok()
}

/// Where to listen, from `QUEUEPRIM_LISTEN_DB`. A bad value is bad input (exit 2).
fn route(schema: &str) -> Result<Route> {
    let Some(value) = std::env::var_os(LISTEN_DB).filter(|v| !v.is_empty()) else {
        return Ok(Route::Main);
    };
    let text = value.to_str().unwrap_or_default();
    if text == NOWHERE {
        return Ok(Route::Nowhere);
    }
    if !Target::is_url(text) {
        return Err(Error::invalid(format!(
            "invalid {LISTEN_DB} '{}': give a postgresql:// URL that reaches the server \
             directly (not through a pooler), or {NOWHERE} to listen nowhere",
            crate::text::visible(&value.to_string_lossy(), 80)
        ))
        .into());
    }
    let target = Target::parse(text).map_err(|e| Error::invalid(format!("{LISTEN_DB}: {e:#}")))?;
    Ok(Route::Direct(Box::new(Direct {
        target: target.for_schema(schema),
        client: None,
    })))
}

/// Connects to the server `QUEUEPRIM_LISTEN_DB` names, and makes sure it is the database
/// `--db` reaches: notifications never cross databases, so a waiter listening on another
/// one would never be woken.
fn connect_direct(target: &Target, main: &mut Client, name: &str) -> Result<Client> {
    let context = format!("cannot listen on {} ({LISTEN_DB})", target.name());
    let mut direct = super::tls::connect(target).map_err(|e| explain(&context, e))?;
    let here = current_database(&mut direct).map_err(|e| explain(&context, e))?;
    let there = current_database(main).map_err(|e| explain(&format!("cannot read {name}"), e))?;
    if here != there {
        return Err(Error::invalid(format!(
            "{LISTEN_DB} reaches database '{}' but --db reaches '{}': waiters would never \
             hear of new jobs; point it at the same database",
            crate::text::visible(&here, 80),
            crate::text::visible(&there, 80)
        ))
        .into());
    }
    Ok(direct)
}

fn current_database(client: &mut Client) -> Result<String> {
    let row = client.query_typed_one("SELECT current_database()::text", &[])?;
    Ok(row.try_get(0)?)
}
