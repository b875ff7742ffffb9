//! Getting back to a database server that went away (restarted, or the network dropped)
//! while a long-running command (`dequeue --wait`, `work`) was using it: connect again with
//! growing pauses until it answers, or until SIGINT/SIGTERM. Short commands never do this:
//! a write whose connection died may or may not have committed, and only its caller can
//! tell which is safe to do next.

use std::thread::sleep;
use std::time::Duration;

use anyhow::Result;

use crate::signals::Interrupt;
use crate::store::Store;

/// The first pause, doubled after each failed try up to [`LONGEST`].
const FIRST: Duration = Duration::from_millis(100);
const LONGEST: Duration = Duration::from_secs(5);
/// How often a pause looks for SIGINT/SIGTERM.
const SLICE: Duration = Duration::from_millis(100);

/// Connects `store` again after `why` (a failure that left it disconnected), pausing
/// between tries, and says so on stderr. A signal arriving meanwhile ends the tries: `why`
/// is then returned, for the caller's own signal handling to take over.
pub fn reconnect(store: &mut Store, why: anyhow::Error, interrupt: &Interrupt) -> Result<()> {
    eprintln!(
        "queueprim: lost the connection to {} ({why:#}); connecting again",
        store.name()
    );
    let mut pause = FIRST;
    let mut tries = 0u32;
    loop {
        let mut waited = Duration::ZERO;
        while waited < pause {
            if interrupt.received().is_some() {
                return Err(why);
            }
            sleep(SLICE.min(pause - waited));
            waited += SLICE;
        }
        tries += 1;
        match store.reconnect() {
            Ok(()) => {
                eprintln!(
                    "queueprim: connected again to {} after {tries} tries",
                    store.name()
                );
                return Ok(());
            }
            Err(e) if tries == 1 || pause == LONGEST => {
                eprintln!("queueprim: still no connection: {e:#}; trying again");
            }
            Err(_) => {}
        }
        pause = (pause * 2).min(LONGEST);
    }
}
