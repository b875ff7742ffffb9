//! Group commit as `serve`'s writer runs it, driven through the store (requests over HTTP
//! cannot be made to arrive in one batch): every write of a batch stands or falls alone,
//! wherever in the batch it is, and the batch commits once.

use queueprim::job::NewJob;
use queueprim::store::{OpenOptions, Scoped, Store, Synchronous, Write, Written};

use crate::harness::{Counts, Job, TestEnv};

fn enqueue(payload: &str) -> Scoped {
    Scoped {
        write: Write::Enqueue(vec![NewJob::new("q", payload)]),
        scope: None,
    }
}

/// A write that fails: there is no such job.
fn cancel_nothing() -> Scoped {
    Scoped {
        write: Write::Cancel {
            id: "q_0000000000nothing".into(),
        },
        scope: None,
    }
}

fn open(env: &TestEnv) -> Store {
    let options = OpenOptions {
        synchronous: Synchronous::Full,
        create_dir: false,
    };
    Store::open(&env.location(), &options).expect("open the store")
}

#[test]
fn each_write_of_a_group_commit_stands_or_falls_alone() {
    let env = TestEnv::new();
    let mut store = open(&env);
    // Failures first, between, twice in a row and last; successes alone and in a row.
    let batch = [
        cancel_nothing(),
        enqueue("1"),
        cancel_nothing(),
        cancel_nothing(),
        enqueue("2"),
        enqueue("3"),
        cancel_nothing(),
    ];
    let results = store.write_together(&batch).expect("the batch commits");
    let ok: Vec<bool> = results.iter().map(Result::is_ok).collect();
    assert_eq!(ok, [false, true, false, false, true, true, false]);
    let ids: Vec<String> = results
        .into_iter()
        .filter_map(Result::ok)
        .map(|written| match written {
            Written::Enqueued(mut jobs) => jobs.remove(0).job.id,
            other => panic!("an enqueue answered {other:?}"),
        })
        .collect();
    drop(store);
    // What was answered is what is stored, from another process.
    for (id, payload) in ids.iter().zip(["1", "2", "3"]) {
        let job: Job = env.json(&["get", id]);
        assert_eq!(
            job.payload,
            serde_json::json!(payload.parse::<i64>().unwrap())
        );
    }
    assert_eq!(env.json::<Counts>(&["stats"]).total, 3);

    // A batch of one write, which the commit keeps with no savepoint released before it.
    let mut store = open(&env);
    let results = store.write_together(&[enqueue("4")]).expect("commits");
    assert!(results[0].is_ok());
    let results = store.write_together(&[cancel_nothing()]).expect("commits");
    assert!(results[0].is_err());
    drop(store);
    assert_eq!(env.json::<Counts>(&["stats"]).total, 4);

    // On PostgreSQL a statement the server refuses leaves the transaction aborted until
    // ROLLBACK TO: a write of two jobs whose second it refuses (text with a NUL byte, which
    // no request can carry: JSON escapes it) is undone whole, its first job with it, and
    // the write after it still commits. SQLite stores such text.
    if env.schema().is_some() {
        let mut store = open(&env);
        let refused = Scoped {
            write: Write::Enqueue(vec![NewJob::new("q", "5"), NewJob::new("q", "\"a\u{0}b\"")]),
            scope: None,
        };
        let results = store
            .write_together(&[refused, enqueue("6")])
            .expect("commits");
        assert!(results[0].is_err(), "{:?}", results[0]);
        assert!(results[1].is_ok(), "{:?}", results[1]);
        drop(store);
        assert_eq!(env.json::<Counts>(&["stats"]).total, 5, "job 5 was undone");
    }
}
