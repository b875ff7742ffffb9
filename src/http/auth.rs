//! Who is calling: the bearer token of each request, looked up by the hash of its secret,
//! and what it may reach. A queue or job outside the token's patterns is answered exactly
//! as one that does not exist (404), so nothing about other tenants can be learnt; lists,
//! counts and metrics leave them out. Without tokens (`--no-auth`) only requests made on
//! this machine, and not by another site's page in a browser, are answered.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, HOST, ORIGIN, WWW_AUTHENTICATE};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::errors::{ApiError, ApiResult};
use super::App;
use crate::store::Scope;
use crate::text::printable;
use crate::tokens::{self, Token};

/// The caller of a request.
#[derive(Debug, Clone)]
pub enum Caller {
    /// The server runs without authentication (loopback only): every queue.
    Anyone,
    Token(Arc<Token>),
}

/// The token id a response was made for, for the access log.
#[derive(Debug, Clone)]
pub struct TokenId(pub String);

impl Caller {
    /// The hash of the caller's token, to check it again later; `None` without tokens.
    pub fn token_hash(&self) -> Option<String> {
        match self {
            Caller::Anyone => None,
            Caller::Token(token) => Some(token.hash.clone()),
        }
    }

    /// Whether the caller reaches `queue`.
    pub fn reaches(&self, queue: &str) -> bool {
        match self {
            Caller::Anyone => true,
            Caller::Token(token) => token.reaches(queue),
        }
    }

    /// The queues the store may act in for this caller; `None`: all.
    pub fn scope(&self) -> Option<Scope> {
        match self {
            Caller::Anyone => None,
            Caller::Token(token) => {
                let token = Arc::clone(token);
                Some(Arc::new(move |queue: &str| token.reaches(queue)))
            }
        }
    }

    /// Refuses a queue the caller does not reach, as if it did not exist.
    pub fn require_queue(&self, queue: &str) -> ApiResult<()> {
        match self.reaches(queue) {
            true => Ok(()),
            false => Err(no_queue(queue)),
        }
    }

    /// Whether the caller's token may only enqueue.
    pub fn only_produces(&self) -> bool {
        matches!(self, Caller::Token(token) if token.produce_only)
    }

    /// Refuses a token that may only enqueue.
    pub fn require_consumer(&self) -> ApiResult<()> {
        match self {
            Caller::Token(token) if token.produce_only => Err(ApiError::not_found(
                "not found for this token: it may only enqueue jobs",
            )),
            _ => Ok(()),
        }
    }

    fn id(&self) -> String {
        match self {
            Caller::Anyone => "-".into(),
            Caller::Token(token) => token.id.clone(),
        }
    }
}

/// The answer for a queue the caller does not reach, the same whether it exists or not.
pub fn no_queue(queue: &str) -> ApiError {
    ApiError::not_found(format!("queue {queue} is not one this token reaches"))
}

/// Middleware: finds the caller of every request it guards, or answers 401.
pub async fn authenticate(State(app): State<Arc<App>>, mut req: Request, next: Next) -> Response {
    // Only the hash crosses the await: a request is not shared between threads.
    let hash = bearer(&req).map(tokens::hash);
    let caller = match app.auth {
        true => identify(&app, hash).await,
        false => anyone_here(&req),
    };
    let caller = match caller {
        Ok(caller) => caller,
        Err(refusal) => {
            let mut response = refusal.into_response();
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return response;
        }
    };
    let id = caller.id();
    req.extensions_mut().insert(caller);
    let mut response = next.run(req).await;
    response.extensions_mut().insert(TokenId(id));
    response
}

/// The caller whose secret hashes to `hash`.
async fn identify(app: &App, hash: Option<String>) -> ApiResult<Caller> {
    let hash = hash.ok_or_else(|| {
        ApiError::unauthorized("this needs a token: send Authorization: Bearer TOKEN")
    })?;
    let found = app
        .readers
        .read(move |store| store.authenticate(&hash))
        .await
        .map_err(|e| ApiError::from_store(e, String::new))?;
    match found {
        Some(token) => Ok(Caller::Token(Arc::new(token))),
        None => Err(ApiError::unauthorized(
            "the token is not valid: unknown, expired or revoked",
        )),
    }
}

/// Without tokens, the caller of a request sent on this machine by a program or by the
/// server's own pages. A browser here reaches the loopback address too: a page of any site
/// may post to it (a `text/plain` body needs no preflight), and a name of the page's own
/// that resolves to 127.0.0.1 (DNS rebinding) would even let it read the answers. So the
/// request must name a loopback host, and a page's `Origin` must be the server itself.
fn anyone_here(req: &Request) -> ApiResult<Caller> {
    // A Host that cannot be read names no loopback either.
    let host = match req.headers().get(HOST) {
        Some(value) => Some(value.to_str().unwrap_or("")),
        None => req.uri().authority().map(|a| a.as_str()),
    };
    let origin = req.headers().get(ORIGIN).map(|v| v.to_str().unwrap_or(""));
    let refuse = |what: &str, value: &str| {
        Err(ApiError::unauthorized(format!(
            "this server runs without tokens (--no-auth) and answers only requests to its \
             loopback address that no other site's page sent: {what} '{}' is refused",
            printable(value)
        )))
    };
    if let Some(host) = host.filter(|host| !is_loopback_host(host)) {
        return refuse("Host", host);
    }
    match (origin, host) {
        (Some(origin), Some(host)) if origin.eq_ignore_ascii_case(&format!("http://{host}")) => {
            Ok(Caller::Anyone)
        }
        (Some(origin), _) => refuse("Origin", origin),
        (None, _) => Ok(Caller::Anyone),
    }
}

/// Whether a `Host` value (`name[:port]`, `[v6][:port]`) names this machine's loopback.
fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => host,
        },
    };
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The token of an `Authorization: Bearer TOKEN` header.
fn bearer(req: &Request) -> Option<&str> {
    let value = req.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|token| !token.is_empty())
}

#[cfg(test)]
mod tests {
    use super::is_loopback_host;

    #[test]
    fn only_names_of_the_loopback_are_loopback_hosts() {
        for host in [
            "127.0.0.1:8080",
            "127.0.0.1",
            "localhost:1",
            "LocalHost",
            "[::1]:80",
            "127.9.9.9:1",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "evil.example:8080",
            "127.0.0.1.evil.example:8080",
            "localhost.evil.example",
            "10.0.0.1:8080",
            "[::2]:80",
            "",
            "[",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }
}
