//! Queues moved from a SQLite file to PostgreSQL and back, as a user would: `export` piped
//! into `import`, two real processes. Every job comes out byte for byte as it went in. And
//! an import killed with its transaction open on the server adds nothing.

use std::fs;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use super::crashes::{stdin_round, Kill, Round};
use crate::harness::TestEnv;
use crate::moving::{body, populate, Db};
use crate::support::process::{Ended, Reaped};
use crate::support::rng::Rng;
use crate::support::wait::GENEROUS;

/// `queueprim export` on `from` piped into `queueprim import` on `to`; both must succeed.
/// Returns what import printed.
fn pipe(from: &Db, to: &Db) -> Value {
    let mut export = from
        .process()
        .arg("export")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn export");
    let lines = export.stdout.take().expect("export's stdout");
    let import = to
        .process()
        .arg("import")
        .stdin(Stdio::from(lines))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn import");
    let imported = Reaped::new(import).finish(GENEROUS * 6, "import");
    let exported = Reaped::new(export).finish(GENEROUS, "export");
    assert_eq!(exported.code, Some(0), "export: {}", exported.stderr);
    assert_eq!(imported.code, Some(0), "import: {}", imported.stderr);
    serde_json::from_str(&imported.stdout).expect("import prints its report")
}

#[test]
fn a_queue_moved_from_sqlite_to_postgresql_and_back_keeps_every_job_byte_for_byte() {
    let env = TestEnv::new();
    let old = Db::sqlite(&env, "old.db");
    populate(&old);
    let pg = Db::of(&env);
    let report = pipe(&old, &pg);
    assert_eq!(report["skipped"], 0);
    assert_eq!(pg.list(), old.list(), "list on PostgreSQL, byte for byte");
    assert_eq!(pg.queues(), old.queues(), "queues on PostgreSQL");
    let exported = old.export(&[]);
    assert_eq!(
        body(&pg.export(&[])),
        body(&exported),
        "PostgreSQL's export"
    );
    let back = Db::sqlite(&env, "back.db");
    pipe(&pg, &back);
    assert_eq!(
        back.list(),
        old.list(),
        "list back on SQLite, byte for byte"
    );
    assert_eq!(back.queues(), old.queues(), "queues back on SQLite");
    assert_eq!(
        body(&back.export(&[])),
        body(&exported),
        "the export back on SQLite"
    );
    assert!(back.path().exists() && old.path().exists());
}

const JOBS: usize = 5_000;

fn import_round(input: &Path, n: usize, kill: Kill) -> Round {
    stdin_round(
        &["import"],
        input,
        "moved",
        JOBS,
        &format!("import{n}"),
        kill,
    )
}

#[test]
fn an_import_killed_with_its_transaction_open_adds_nothing() {
    let mut rng = Rng::for_test("pg_import_killed");
    let scratch = TestEnv::new();
    let payloads: String = (0..JOBS)
        .map(|n| format!("{{\"n\":{n},\"note\":\"a job of a large import\"}}\n"))
        .collect();
    scratch
        .cmd(["enqueue", "moved", "--batch"])
        .stdin(payloads)
        .expect_status(0);
    let input = scratch.dir().join("export.jsonl");
    fs::write(&input, Db::of(&scratch).export(&[])).expect("write the export");
    let reference = import_round(&input, 0, Kill::Never);
    assert_eq!((reference.ended, reference.jobs), (Ended::Exited(0), JOBS));
    for n in 1..=6 {
        let kill = match n % 2 {
            0 => Kill::AtCommit,
            _ => Kill::After(rng.between(Duration::ZERO, reference.took.mul_f64(1.1))),
        };
        let round = import_round(&input, n, kill);
        println!("round {n}: {kill:?}: {round:?}");
        // Held at its COMMIT, the import had inserted every job: killed there, it was
        // killed inside its transaction, proven.
        if matches!(kill, Kill::AtCommit) {
            assert_eq!(
                (round.ended, round.jobs),
                (Ended::Killed, 0),
                "an import killed just before its commit added jobs"
            );
        }
        if round.cut {
            assert_eq!(
                round.jobs, 0,
                "a transaction the server rolled back left jobs"
            );
        }
    }
}
