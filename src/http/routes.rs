//! Every route of the API in one table: the router is built from it, and the OpenAPI
//! document's test checks the document names exactly these routes. Claims may wait, so
//! they get their own, longer, request timeout.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, Request};
use axum::handler::Handler;
use axum::http::header::CONTENT_LENGTH;
use axum::http::{Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post, MethodRouter};
use axum::Router;

use super::auth::{authenticate, TokenId};
use super::body::{too_large, MAX_BODY};
use super::errors::{ApiError, ErrorKind};
use super::{activity, dashboard, jobs, openapi, queues, App};
use crate::text::visible;
use crate::time::{now, rfc3339};

/// How long any request but a claim may take before it is answered 503.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The routes, and the method and path of each.
pub struct Routes {
    router: Router<Arc<App>>,
    pub table: Vec<(&'static str, &'static str)>,
}

impl Routes {
    fn new() -> Routes {
        Routes {
            router: Router::new(),
            table: Vec::new(),
        }
    }

    fn add<H, T>(mut self, method: &'static str, path: &'static str, handler: H) -> Routes
    where
        H: Handler<T, Arc<App>>,
        T: 'static,
    {
        let route: MethodRouter<Arc<App>> = match method {
            "POST" => post(handler),
            "PATCH" => patch(handler),
            "DELETE" => delete(handler),
            _ => get(handler),
        };
        self.router = self.router.route(path, route);
        self.table.push((method, path));
        self
    }
}

/// The routes that need a caller (a token, unless the server runs without).
fn guarded() -> (Routes, Routes) {
    let quick = Routes::new()
        .add("POST", "/v1/queues/{queue}/jobs", jobs::enqueue)
        .add("GET", "/v1/queues/{queue}/jobs", queues::list)
        .add("DELETE", "/v1/queues/{queue}/jobs", queues::purge)
        .add("GET", "/v1/queues", queues::queues)
        .add("GET", "/v1/queues/{queue}", queues::settings)
        .add("PATCH", "/v1/queues/{queue}", queues::configure)
        .add("GET", "/v1/stats", queues::stats)
        .add("GET", "/v1/jobs/{id}", jobs::get)
        .add("DELETE", "/v1/jobs/{id}", jobs::cancel)
        .add("POST", "/v1/jobs/{id}/complete", jobs::complete)
        .add("POST", "/v1/jobs/{id}/fail", jobs::fail)
        .add("POST", "/v1/jobs/{id}/extend", jobs::extend)
        .add("POST", "/v1/jobs/{id}/release", jobs::release)
        .add("POST", "/v1/jobs/{id}/retry", jobs::retry)
        .add("GET", "/v1/throughput", activity::throughput)
        .add("POST", "/v1/queues/{queue}/retry", activity::retry_queue)
        .add("GET", "/metrics", queues::metrics);
    let waiting = Routes::new().add("POST", "/v1/queues/{queue}/claims", jobs::claim);
    (quick, waiting)
}

/// The routes anyone may call.
fn open() -> Routes {
    Routes::new()
        .add("GET", "/healthz", health)
        .add("GET", "/openapi.json", openapi::serve)
}

/// Every route's method and path.
#[cfg(test)]
pub fn table() -> Vec<(&'static str, &'static str)> {
    let (quick, waiting) = guarded();
    [quick.table, waiting.table, open().table].concat()
}

/// The whole API, with its limits, authentication and access log.
pub fn router(app: Arc<App>) -> Router {
    let (quick, waiting) = guarded();
    let claim_time = jobs::MOST_WAIT + REQUEST_TIMEOUT;
    let guarded = quick
        .router
        .route_layer(middleware::from_fn(move |req, next| {
            timeout(REQUEST_TIMEOUT, req, next)
        }))
        .merge(
            waiting
                .router
                .route_layer(middleware::from_fn(move |req, next| {
                    timeout(claim_time, req, next)
                })),
        )
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&app),
            authenticate,
        ));
    guarded
        .merge(open().router)
        .merge(dashboard::router())
        .fallback(no_route)
        // After every route: it applies to the routes added so far.
        .method_not_allowed_fallback(no_method)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn(refuse_declared_too_large))
        .layer(middleware::from_fn(access_log))
        .with_state(app)
}

async fn no_route(uri: Uri) -> ApiError {
    match unencoded_queue(uri.path()) {
        Some(queue) => ApiError::not_found(format!(
            "no such route: a queue name's slashes are written %2F in a path, so the queue \
             {} is {} there (see /openapi.json)",
            visible(queue, 300),
            visible(&queue.replace('/', "%2F"), 400)
        )),
        None => ApiError::not_found("no such route: see /openapi.json"),
    }
}

/// The queue a path under `/v1/queues/` that matched no route seems to name with its
/// slashes unencoded (`/v1/queues/tenant/acme/mail/jobs`), if it seems to name one.
fn unencoded_queue(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/v1/queues/")?.trim_end_matches('/');
    let queue = match rest.rsplit_once('/') {
        Some((queue, "jobs" | "claims" | "retry")) => queue,
        _ => rest,
    };
    queue.contains('/').then_some(queue)
}

/// A route asked with a method it does not have: 405, with the methods it has in `Allow`
/// (which axum adds), and a JSON error like every other.
async fn no_method(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorKind::Usage,
        format!(
            "{} is not a method of {}: see the allow header or /openapi.json",
            visible(method.as_str(), 20),
            visible(uri.path(), 300)
        ),
    )
}

/// `GET /healthz`: 200 while the database answers, 503 otherwise.
async fn health(axum::extract::State(app): axum::extract::State<Arc<App>>) -> Response {
    match app.readers.read(|store| store.now()).await {
        Ok(_) => (
            StatusCode::OK,
            [("content-type", "application/json")],
            "{\"ok\":true}\n",
        )
            .into_response(),
        Err(e) => ApiError::from_store(e, String::new).into_response(),
    }
}

/// Answers 413 at once to a body declared larger than the limit, without reading any of it
/// (a client that sent `Expect: 100-continue` then sends nothing). Bodies of unknown length
/// are cut at the limit as they are read.
async fn refuse_declared_too_large(req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(length) if length > MAX_BODY as u64 => too_large().into_response(),
        _ => next.run(req).await,
    }
}

async fn timeout(limit: Duration, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Timeout,
            format!("the request took over {}s; retry later", limit.as_secs()),
        )
        .into_response(),
    }
}

/// Where a connection came from, for the access log.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub std::net::SocketAddr);

/// One line per request on stderr: time, peer, method, path, status, duration and the
/// token's id (never its secret).
async fn access_log(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = visible(req.uri().path(), 300);
    let peer = req
        .extensions()
        .get::<Peer>()
        .map_or_else(|| "-".to_string(), |peer| peer.0.to_string());
    let response = next.run(req).await;
    let token = response
        .extensions()
        .get::<TokenId>()
        .map_or("-", |id| id.0.as_str());
    // Formatted first and written at once: stderr is unbuffered, and `eprintln!` would
    // make a system call of every piece of the line.
    let line = format!(
        "{} {peer} {method} {path} {} {:.1}ms {token}\n",
        rfc3339(now()),
        response.status().as_u16(),
        started.elapsed().as_secs_f64() * 1000.0
    );
    let _ = std::io::stderr().write_all(line.as_bytes());
    response
}
