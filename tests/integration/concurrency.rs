//! Many processes on one database at once: every job handed out once and done once, no
//! "database is locked", no lost update, and a database created by racing processes.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Barrier;
use std::thread;
use std::time::Duration;

use crate::harness::{Counts, Job, Run, TestEnv};

/// Checks one command from a concurrent thread: exit 0 and nothing on stderr (JSON output
/// writes no notes, so anything there is an error such as "database is locked").
fn clean(run: &Run) -> Result<(), String> {
    if run.code == Some(0) && run.stderr.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "queueprim {} exited {:?}, stderr: {}",
            run.args,
            run.code,
            run.stderr.trim_end()
        ))
    }
}

fn parse<T: serde::de::DeserializeOwned>(run: &Run) -> Result<T, String> {
    serde_json::from_str(&run.stdout)
        .map_err(|e| format!("queueprim {} printed {:?}: {e}", run.args, run.stdout))
}

/// A worker loop of real processes: `dequeue q --worker NAME`, then `complete ID --claim
/// TOKEN`, until dequeue prints nothing while `producers_left` was already zero. Returns the
/// jobs as dequeued, or the first thing that went wrong.
fn work(env: &TestEnv, worker: &str, producers_left: &AtomicUsize) -> Result<Vec<Job>, String> {
    let mut claimed = Vec::new();
    loop {
        let nothing_more_coming = producers_left.load(Ordering::SeqCst) == 0;
        let run = env.cmd(["dequeue", "q", "--worker", worker]).run();
        clean(&run)?;
        if run.stdout.is_empty() {
            if nothing_more_coming {
                return Ok(claimed);
            }
            thread::sleep(Duration::from_millis(20));
            continue;
        }
        let job: Job = parse(&run)?;
        if job.status != "claimed" || job.worker.as_deref() != Some(worker) {
            return Err(format!("{worker} dequeued {job:?}"));
        }
        let token = job
            .claim
            .clone()
            .ok_or_else(|| format!("dequeue printed no claim: {job:?}"))?;
        let run = env.cmd(["complete", &job.id, "--claim", &token]).run();
        clean(&run)?;
        let done: Job = parse(&run)?;
        if done.id != job.id || done.status != "done" {
            return Err(format!("{worker} completed {} but got {done:?}", job.id));
        }
        claimed.push(job);
    }
}

/// Runs `workers` worker loops at once and returns, for each job id, the worker that got it;
/// fails if any command failed or any job was handed out twice.
fn run_workers(
    env: &TestEnv,
    workers: usize,
    producers_left: &AtomicUsize,
) -> HashMap<String, String> {
    let results: Vec<(String, Result<Vec<Job>, String>)> = thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|i| {
                let name = format!("w{i}");
                s.spawn(move || {
                    let result = work(env, &name, producers_left);
                    (name, result)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("worker thread"))
            .collect()
    });
    let mut got_by: HashMap<String, String> = HashMap::new();
    for (worker, result) in results {
        let jobs = result.unwrap_or_else(|e| panic!("worker {worker} failed: {e}"));
        for job in jobs {
            if let Some(other) = got_by.insert(job.id.clone(), worker.clone()) {
                panic!("job {} was dequeued by both {other} and {worker}", job.id);
            }
        }
    }
    got_by
}

/// Checks every job of queue `q` is done, once, by the worker that dequeued it, and that the
/// payloads are exactly `expected`.
#[track_caller]
fn assert_all_done_once(
    env: &TestEnv,
    got_by: &HashMap<String, String>,
    expected: &BTreeSet<String>,
) {
    let total = expected.len() as u64;
    assert_eq!(got_by.len() as u64, total, "jobs dequeued");
    let done: Vec<Job> = env.json(&["list", "q", "--status", "done", "--limit", "0"]);
    assert_eq!(done.len() as u64, total, "done jobs");
    let ids: BTreeSet<&str> = done.iter().map(|j| j.id.as_str()).collect();
    assert_eq!(ids.len() as u64, total, "done jobs with distinct ids");
    let payloads: BTreeSet<String> = done.iter().map(|j| j.payload.to_string()).collect();
    assert_eq!(&payloads, expected, "payloads of the done jobs");
    for job in &done {
        assert_eq!(
            job.worker.as_ref(),
            got_by.get(&job.id),
            "job {} is recorded as done by another worker than the one that dequeued it",
            job.id
        );
        assert_eq!(
            job.attempt_count, 0,
            "no attempt of {} should have failed",
            job.id
        );
        assert!(job.errors.is_empty(), "{job:?}");
    }
    let counts: Counts = env.json(&["stats"]);
    assert_eq!(
        counts,
        Counts {
            pending: 0,
            claimed: 0,
            done: total,
            dead: 0,
            total,
        }
    );
}

#[test]
fn eight_workers_complete_400_jobs_each_exactly_once() {
    let env = TestEnv::new();
    let input: String = (0..400).map(|n| format!("{{\"n\":{n}}}\n")).collect();
    let created: Vec<Job> = env
        .cmd(["enqueue", "q", "--batch"])
        .stdin(input)
        .expect_status(0)
        .json();
    assert_eq!(created.len(), 400);

    let got_by = run_workers(&env, 8, &AtomicUsize::new(0));

    let expected: BTreeSet<String> = (0..400).map(|n| format!("{{\"n\":{n}}}")).collect();
    assert_all_done_once(&env, &got_by, &expected);
    let created_ids: BTreeSet<&str> = created.iter().map(|j| j.id.as_str()).collect();
    let dequeued_ids: BTreeSet<&str> = got_by.keys().map(String::as_str).collect();
    assert_eq!(
        created_ids, dequeued_ids,
        "the jobs dequeued are the jobs enqueued"
    );
}

#[test]
fn processes_racing_to_create_a_new_database_all_enqueue_their_jobs() {
    // Several rounds, each on a fresh file, to give the creation and migration race more
    // chances to show.
    for round in 0..5 {
        let env = TestEnv::new();
        assert!(!env.db().exists());
        let barrier = Barrier::new(8);
        let runs: Vec<Run> = thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|p| {
                    let (env, barrier) = (&env, &barrier);
                    s.spawn(move || {
                        let input: String = (0..20)
                            .map(|n| format!("{{\"n\":{n},\"p\":{p}}}\n"))
                            .collect();
                        let cmd = env.cmd(["enqueue", "q", "--batch"]).stdin(input);
                        barrier.wait();
                        cmd.run()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("enqueue thread"))
                .collect()
        });
        for run in &runs {
            if let Err(e) = clean(run) {
                panic!("round {round}: {e}");
            }
            let jobs: Vec<Job> = run.json();
            assert_eq!(jobs.len(), 20, "round {round}");
        }

        let counts: Counts = env.json(&["stats"]);
        assert_eq!(
            counts,
            Counts {
                pending: 160,
                claimed: 0,
                done: 0,
                dead: 0,
                total: 160,
            },
            "round {round}"
        );
        let jobs: Vec<Job> = env.json(&["list", "--limit", "0"]);
        let ids: BTreeSet<&str> = jobs.iter().map(|j| j.id.as_str()).collect();
        assert_eq!(ids.len(), 160, "round {round}: distinct ids");
        let payloads: BTreeSet<String> = jobs.iter().map(|j| j.payload.to_string()).collect();
        let expected: BTreeSet<String> = (0..8)
            .flat_map(|p| (0..20).map(move |n| format!("{{\"n\":{n},\"p\":{p}}}")))
            .collect();
        assert_eq!(payloads, expected, "round {round}: payloads");
    }
}

#[test]
fn producers_and_consumers_running_together_finish_every_job_exactly_once() {
    const PRODUCERS: usize = 4;
    const PER_PRODUCER: usize = 25;
    let env = TestEnv::new();
    // Create the database first, so this test is about the running queue, not creation.
    env.json::<Counts>(&["stats"]);
    let producers_left = AtomicUsize::new(PRODUCERS);

    let (producer_results, got_by) = thread::scope(|s| {
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let (env, producers_left) = (&env, &producers_left);
                s.spawn(move || {
                    let result = (0..PER_PRODUCER).try_for_each(|n| {
                        let payload = format!("{{\"n\":{n},\"p\":{p}}}");
                        let run = env.cmd(["enqueue", "q", "--payload", &payload]).run();
                        clean(&run)?;
                        parse::<Job>(&run).map(drop)
                    });
                    producers_left.fetch_sub(1, Ordering::SeqCst);
                    result
                })
            })
            .collect();
        let got_by = run_workers(&env, 4, &producers_left);
        let results: Vec<Result<(), String>> = producers
            .into_iter()
            .map(|h| h.join().expect("producer thread"))
            .collect();
        (results, got_by)
    });
    for (p, result) in producer_results.into_iter().enumerate() {
        result.unwrap_or_else(|e| panic!("producer {p} failed: {e}"));
    }

    let expected: BTreeSet<String> = (0..PRODUCERS)
        .flat_map(|p| (0..PER_PRODUCER).map(move |n| format!("{{\"n\":{n},\"p\":{p}}}")))
        .collect();
    assert_all_done_once(&env, &got_by, &expected);
}
