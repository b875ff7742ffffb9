//! Per-queue settings: pause and resume, and the defaults a queue gives jobs and claims that
//! do not choose their own.

use anyhow::Result;

use super::Store;
use crate::job::QueueSettings;

impl Store {
    pub fn settings(&mut self, queue: &str) -> Result<QueueSettings> {
        self.db.settings(queue)
    }

    /// Changes a queue's settings with `change`, in one transaction, and returns them.
    pub fn update_settings(
        &mut self,
        queue: &str,
        change: impl Fn(&mut QueueSettings),
    ) -> Result<QueueSettings> {
        self.write(|tx, _, _| {
            let mut settings = tx.settings(queue)?;
            change(&mut settings);
            tx.write_settings(queue, &settings)?;
            Ok(settings)
        })
    }
}
