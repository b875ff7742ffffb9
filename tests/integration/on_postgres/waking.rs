//! Waking waiters by notification: a commit that makes a job claimable now notifies its
//! queue once (however many jobs it added), others notify nothing, and a waiting dequeue
//! is woken by the notification itself, not by its periodic re-check.

use postgres::fallible_iterator::FallibleIterator;

use crate::harness::{Job, TestEnv};
use crate::support::postgres::Session;
use crate::support::process::wait_for;
use crate::support::wait::{eventually, GENEROUS};

/// A session listening where queueprim notifies for `env`'s schema.
struct Listener {
    session: Session,
    channel: String,
}

impl Listener {
    fn on(env: &TestEnv) -> Listener {
        let channel = format!("queueprim.{}", env.schema().expect("a schema"));
        let mut session = Session::open();
        session
            .0
            .batch_execute(&format!("LISTEN \"{channel}\""))
            .expect("listen");
        Listener { session, channel }
    }

    /// The payloads (queue names) notified since the last call. A marker notified after
    /// them arrives after them (notifications come in commit order), so nothing needs a
    /// guessed wait.
    fn heard(&mut self) -> Vec<String> {
        self.session
            .0
            .batch_execute(&format!("NOTIFY \"{}\", 'marker'", self.channel))
            .expect("notify the marker");
        let mut heard = Vec::new();
        let mut notifications = self.session.0.notifications();
        let mut arriving = notifications.timeout_iter(GENEROUS);
        while let Some(note) = arriving.next().expect("read notifications") {
            match note.payload() {
                "marker" => return heard,
                queue => heard.push(queue.to_string()),
            }
        }
        panic!("the marker notification never came; heard {heard:?}");
    }
}

#[test]
fn only_commits_that_make_a_job_claimable_now_notify_once_per_queue() {
    let env = TestEnv::new();
    let mut listener = Listener::on(&env);
    env.enqueue("later", "1", &["--delay", "1h"]);
    assert!(
        listener.heard().is_empty(),
        "a delayed job is not claimable now"
    );
    let first = env.enqueue("q", "1", &["--group", "g"]);
    assert_eq!(listener.heard(), ["q"]);
    let lines: String = (0..100).map(|n| format!("{n}\n")).collect();
    env.cmd(["enqueue", "q", "--batch"])
        .stdin(lines)
        .expect_status(0);
    env.cmd(["enqueue", "other", "--batch"])
        .stdin("1\n2\n")
        .expect_status(0);
    assert_eq!(listener.heard(), ["q", "other"], "one per queue per commit");
    env.enqueue("q", "2", &["--group", "g"]);
    assert!(
        listener.heard().is_empty(),
        "a job waiting behind its group is not claimable"
    );
    let claimed = env.dequeue("q", &[]);
    assert_eq!(claimed.id, first.id, "the group's head, enqueued first");
    assert!(
        listener.heard().is_empty(),
        "a claim makes nothing claimable"
    );
    env.cmd(["complete", &first.id]).expect_status(0);
    assert_eq!(listener.heard(), ["q"], "the group's next job may go now");
    let taken = env.dequeue("q", &[]);
    assert!(listener.heard().is_empty());
    env.cmd(["release", &taken.id]).expect_status(0);
    assert_eq!(listener.heard(), ["q"], "a released job is claimable again");
    env.cmd(["pause", "q"]).expect_status(0);
    assert!(listener.heard().is_empty());
    env.cmd(["resume", "q"]).expect_status(0);
    assert_eq!(
        listener.heard(),
        ["q"],
        "a resumed queue may have work waiting"
    );
}

#[test]
fn a_waiting_dequeue_is_woken_by_the_notification_of_an_enqueue() {
    let env = TestEnv::new();
    // Re-checks an hour apart: only the notification can wake it in time.
    let mut waiter = env
        .cmd(["dequeue", "q", "--wait", "10m"])
        .env("QUEUEPRIM_DB", env.db_arg_as("woken"))
        .env("QUEUEPRIM_TEST_RECHECK_MS", "3600000")
        .spawn();
    let mut session = Session::open();
    eventually(GENEROUS, "the waiter to wait", || {
        session.count(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'woken' \
             AND state = 'idle' AND state_change < clock_timestamp() - interval '300 ms'",
        ) > 0
    });
    let job = env.enqueue("q", "1", &[]);
    let status = wait_for(&mut waiter, GENEROUS, "the woken dequeue");
    assert!(status.success(), "{status:?}");
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut waiter.stdout.take().expect("stdout"), &mut stdout)
        .expect("read stdout");
    let claimed: Job = serde_json::from_str(&stdout).expect("a job");
    assert_eq!(claimed.id, job.id);
}
