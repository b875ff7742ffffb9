//! `token`: create, list and revoke the API tokens of `serve`. Only a hash of a token is
//! stored; `create` prints the token itself, once.

use anyhow::Result;

use super::Context;
use crate::cli::{TokenArgs, TokenCommand};
use crate::error::Error;
use crate::output::Printer;
use crate::store::NewToken;
use crate::tokens;

pub fn run(args: TokenArgs, ctx: &Context, out: &mut Printer) -> Result<()> {
    match args.command {
        TokenCommand::Create(create) => {
            let made = tokens::generate()?;
            let token = ctx.open_store()?.create_token(&NewToken {
                id: made.id,
                name: create.name,
                hash: made.hash,
                queues: create.queues,
                produce_only: create.produce_only,
                lasts: create.expires,
            })?;
            out.token_created(&token, &made.secret)
        }
        TokenCommand::List => {
            let tokens = match ctx.open_existing()? {
                Some(mut store) => store.tokens()?,
                None => Vec::new(),
            };
            out.tokens(&tokens)
        }
        TokenCommand::Revoke(revoke) => {
            let mut store = ctx.open_if_there()?.ok_or_else(|| {
                Error::not_found(format!(
                    "no token with id {}: there is no database yet",
                    revoke.id
                ))
            })?;
            let token = store.revoke_token(&revoke.id)?;
            out.token(&token)
        }
    }
}
