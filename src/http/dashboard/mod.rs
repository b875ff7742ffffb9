//! The dashboard at `/`: one page of plain HTML, CSS and JavaScript, embedded in the binary
//! and served with a strict Content-Security-Policy (nothing inline, nothing from anywhere
//! else). It holds no data: the page reads and acts through the API (`/v1/…`) with the
//! token the user signs in with, kept in the tab's sessionStorage, so it shows exactly what
//! that token may see and does exactly what the CLI does.

use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// Scripts, styles and images only from this server, requests only to it, no frames, no
/// forms sent anywhere: a payload that slipped through as markup could run nothing.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                      connect-src 'self'; base-uri 'none'; form-action 'none'; \
                      frame-ancestors 'none'";

const INDEX: &str = include_str!("index.html");
const SCRIPT: &str = include_str!("app.js");
const STYLE: &str = include_str!("style.css");
const ICON: &str = include_str!("icon.svg");

/// The page and its assets. Not part of the API: no token is needed to load the page,
/// which shows nothing until the API answers.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(
            "/",
            get(|| async { asset("text/html; charset=utf-8", INDEX) }),
        )
        .route(
            "/dashboard/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", SCRIPT) }),
        )
        .route(
            "/dashboard/style.css",
            get(|| async { asset("text/css; charset=utf-8", STYLE) }),
        )
        .route(
            "/dashboard/icon.svg",
            get(|| async { asset("image/svg+xml", ICON) }),
        )
}

fn asset(kind: &'static str, body: &'static str) -> Response {
    (
        [
            (CONTENT_TYPE, kind),
            (CONTENT_SECURITY_POLICY, POLICY),
            (X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (X_FRAME_OPTIONS, "DENY"),
            // The fragment (`#token=…`) never leaves the browser; no page address either.
            (REFERRER_POLICY, "no-referrer"),
            // Always asked again, so a new binary's page is never mixed with an old script.
            (CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}
