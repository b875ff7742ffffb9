//! API tokens in the database: created, listed, revoked and found by the hash of their
//! secret. Times are the store's, like every job's.

use anyhow::Result;

use super::Store;
use crate::error::Error;
use crate::time::Millis;
use crate::tokens::Token;

/// What `token create` asks for; the store stamps the times.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub id: String,
    pub name: Option<String>,
    pub hash: String,
    pub queues: Vec<String>,
    pub produce_only: bool,
    /// How long the token lasts; `None`: until revoked.
    pub lasts: Option<Millis>,
}

impl Store {
    /// Stores a token and returns it as stored.
    pub fn create_token(&mut self, new: &NewToken) -> Result<Token> {
        self.write(|tx, _, now| {
            let token = Token {
                id: new.id.clone(),
                name: new.name.clone(),
                hash: new.hash.clone(),
                queues: new.queues.clone(),
                produce_only: new.produce_only,
                created_at: now,
                expires_at: new.lasts.map(|lasts| now.saturating_add(lasts)),
                revoked_at: None,
            };
            tx.insert_token(&token)?;
            Ok(token)
        })
    }

    /// Every token, oldest first.
    pub fn tokens(&mut self) -> Result<Vec<Token>> {
        self.db.tokens()
    }

    /// Revokes a token for good; revoking one already revoked keeps its first time.
    pub fn revoke_token(&mut self, id: &str) -> Result<Token> {
        let name = self.name().to_string();
        self.write(|tx, _, now| {
            tx.revoke_token(id, now)?
                .ok_or_else(|| Error::not_found(format!("no token with id {id} in {name}")).into())
        })
    }

    /// The live token (not revoked, not expired) whose secret hashes to `hash`.
    pub fn authenticate(&mut self, hash: &str) -> Result<Option<Token>> {
        let Some(token) = self.db.token_by_hash(hash)? else {
            return Ok(None);
        };
        let live = match token.expires_at {
            Some(_) => token.is_live(self.now()?),
            None => token.revoked_at.is_none(),
        };
        Ok(live.then_some(token))
    }
}
