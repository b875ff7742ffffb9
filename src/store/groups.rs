//! Ordered groups: jobs of one group run one at a time, in enqueue order. Only a group's
//! live job (its head) is ever pending, scheduled or claimed; the rest wait as `queued`,
//! out of the claim index, so a busy group costs other jobs nothing.
//!
//! Every change to a group's state takes the group's lock first ([`Tx::lock_group`]), after
//! the job's own row: where transactions run side by side (PostgreSQL under READ
//! COMMITTED), a job finishing and a job joining the group could otherwise each miss the
//! other and leave the group with no live job.

use anyhow::Result;

use super::backend::{Deleted, Seq, Stored, Tx};
use crate::job::{Job, Status};
use crate::time::Millis;

/// Writes back a job after a transition. A pending job of a group waits behind the group's
/// live job, if another is live; a job that finishes lets the next one of its group go.
pub(super) fn save(tx: &mut dyn Tx, seq: Seq, job: &Job, now: Millis) -> Result<()> {
    let stored = match (job.status, &job.group) {
        (Status::Pending, Some(group)) => {
            tx.lock_group(&job.queue, group)?;
            let behind = tx.group_has_live(&job.queue, group, Some(seq))?;
            Stored::for_pending(job, behind, now)
        }
        (Status::Pending, None) => Stored::for_pending(job, false, now),
        (other, _) => Stored::settled(other),
    };
    tx.update(seq, job, stored)?;
    if let (Some(group), Status::Done | Status::Dead) = (&job.group, job.status) {
        tx.lock_group(&job.queue, group)?;
        advance(tx, &job.queue, group, now)?;
    }
    Ok(())
}

/// Whether a new job of the group has to wait: some job of it is live or already waiting.
/// The caller holds the group's lock.
pub(super) fn is_busy(tx: &mut dyn Tx, queue: &str, group: &str) -> Result<bool> {
    Ok(tx.group_has_queued(queue, group)? || tx.group_has_live(queue, group, None)?)
}

/// Lets the group's next waiting job go, once no job of the group is live. The caller holds
/// the group's lock.
pub(super) fn advance(tx: &mut dyn Tx, queue: &str, group: &str, now: Millis) -> Result<()> {
    if tx.group_has_live(queue, group, None)? {
        return Ok(());
    }
    if let Some((seq, visible_after)) = tx.group_next_queued(queue, group)? {
        let stored = match visible_after {
            Some(visible) if visible > now => Stored::Scheduled,
            _ => Stored::Pending,
        };
        tx.set_stored(seq, queue, stored)?;
    }
    Ok(())
}

/// After jobs were deleted: lets each group whose live job went go on, once per group.
pub(super) fn advance_after_delete(
    tx: &mut dyn Tx,
    deleted: &[Deleted],
    now: Millis,
) -> Result<()> {
    let mut heads: Vec<(&str, &str)> = deleted
        .iter()
        .filter(|d| d.stored.is_live())
        .filter_map(|d| Some((d.queue.as_str(), d.group.as_deref()?)))
        .collect();
    heads.sort_unstable();
    heads.dedup();
    for (queue, group) in heads {
        tx.lock_group(queue, group)?;
        advance(tx, queue, group, now)?;
    }
    Ok(())
}
