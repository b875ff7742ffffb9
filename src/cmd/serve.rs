//! `serve`: the queue over HTTP (see `crate::http`), on this command's database.

use std::sync::Arc;

use anyhow::Result;

use super::Context;
use crate::cli::ServeArgs;
use crate::error::Error;
use crate::http::{self, Options};

pub fn run(args: ServeArgs, ctx: &Context) -> Result<()> {
    if args.no_auth && !args.listen.ip().is_loopback() {
        return Err(Error::usage(format!(
            "--no-auth is refused on {}: without tokens anyone who can reach the address \
             reaches every queue; listen on 127.0.0.1 or ::1, or create tokens (queueprim \
             token create)",
            args.listen
        ))
        .into());
    }
    if args.no_auth {
        eprintln!(
            "queueprim serve: serving without tokens (--no-auth): every caller reaches every queue"
        );
    }
    let options = Options {
        listen: args.listen,
        auth: !args.no_auth,
        max_connections: args.max_connections as usize,
        idle_timeout: std::time::Duration::from_millis(args.idle_timeout.unsigned_abs()),
    };
    http::serve(options, Arc::new(ctx.opener()))
}
