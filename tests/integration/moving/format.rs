//! The export line format, version 1, pinned like the job JSON: parsing fails on any field
//! added, removed or retyped, and a file written by hand to the documented format imports
//! as documented.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::Value;

use super::{lines, populate, Db};
use crate::harness::{Job, QueueCounts, TestEnv};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub queueprim_export: u32,
    pub engine: String,
    pub exported_at: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum Line {
    Settings(Settings),
    Job(Box<JobLine>),
    End(End),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub queue: String,
    pub paused: bool,
    pub timeout_ms: Option<i64>,
    pub max_retries: Option<u32>,
    pub backoff_ms: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct End {
    pub jobs: u64,
    pub settings: u64,
}

// Every field is here to pin the format, read or not.
#[allow(dead_code)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobLine {
    pub id: String,
    pub queue: String,
    #[serde(rename = "type")]
    pub job_type: Option<String>,
    pub payload: Value,
    pub priority: i64,
    pub status: String,
    pub stored: String,
    pub attempt_count: u32,
    pub max_retries: u32,
    pub backoff_ms: Option<i64>,
    pub backoff_max_ms: Option<i64>,
    pub group: Option<String>,
    pub key: Option<String>,
    pub worker: Option<String>,
    pub claim: Option<String>,
    pub claim_lapsed: bool,
    pub visible_after: Option<i64>,
    pub output: Option<Value>,
    pub errors: Vec<FailureLine>,
    pub created_at: i64,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
}

#[allow(dead_code)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailureLine {
    pub at: i64,
    pub attempt: u32,
    pub worker: Option<String>,
    pub reason: String,
}

/// Every field a job line has, null or not.
const JOB_FIELDS: [&str; 22] = [
    "id",
    "queue",
    "type",
    "payload",
    "priority",
    "status",
    "stored",
    "attempt_count",
    "max_retries",
    "backoff_ms",
    "backoff_max_ms",
    "group",
    "key",
    "worker",
    "claim",
    "claim_lapsed",
    "visible_after",
    "output",
    "errors",
    "created_at",
    "updated_at",
    "finished_at",
];

fn keys(value: &Value) -> BTreeSet<&str> {
    value
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect()
}

/// The lines of an export, checked against the pinned format: a header, settings, jobs,
/// and an end line that counts them, every field present.
#[track_caller]
pub fn parse(export: &str) -> (Header, Vec<Settings>, Vec<JobLine>) {
    let values = lines(export);
    let (first, rest) = values.split_first().expect("a header line");
    assert_eq!(
        keys(first),
        BTreeSet::from(["queueprim_export", "engine", "exported_at"])
    );
    let header: Header = serde_json::from_value(first.clone()).expect("the header");
    let (last, middle) = rest.split_last().expect("an end line");
    let Line::End(end) = serde_json::from_value(last.clone()).expect("the end line") else {
        panic!("the last line is the end line: {last}");
    };
    let (mut settings, mut jobs) = (Vec::new(), Vec::new());
    for value in middle {
        assert_eq!(keys(value).len(), 1, "one key names a line: {value}");
        match serde_json::from_value(value.clone()).expect("a pinned line") {
            Line::Settings(s) => {
                assert!(jobs.is_empty(), "settings come before the jobs");
                assert_eq!(keys(&value["settings"]).len(), 5, "{value}");
                settings.push(s);
            }
            Line::Job(job) => {
                assert_eq!(keys(&value["job"]), BTreeSet::from(JOB_FIELDS), "{value}");
                jobs.push(*job);
            }
            Line::End(_) => panic!("an end line before the end: {value}"),
        }
    }
    assert_eq!(
        (end.jobs, end.settings),
        (jobs.len() as u64, settings.len() as u64)
    );
    (header, settings, jobs)
}

#[test]
fn an_export_has_its_header_settings_jobs_in_enqueue_order_and_end() {
    let env = TestEnv::new();
    let db = Db::of(&env);
    let made = populate(&db);
    let (header, settings, jobs) = parse(&db.export(&[]));
    assert_eq!(header.queueprim_export, 1);
    let engine = match crate::harness::ENGINE {
        crate::harness::Engine::Sqlite => "sqlite",
        crate::harness::Engine::Postgres => "postgresql",
    };
    assert_eq!(header.engine, engine);
    crate::harness::assert_timestamp(&header.exported_at);
    let queues: Vec<&str> = settings.iter().map(|s| s.queue.as_str()).collect();
    assert_eq!(queues, ["emails", "paused"]);
    assert_eq!(
        (
            settings[0].timeout_ms,
            settings[0].max_retries,
            settings[0].backoff_ms
        ),
        (Some(300_000), Some(3), Some(30_000))
    );
    assert!(settings[1].paused);
    // Enqueue order is the order `list` shows, reversed.
    let listed: Vec<Job> = db.json(&["list", "--limit", "0"]);
    let exported: Vec<&str> = jobs.iter().map(|j| j.id.as_str()).collect();
    let oldest_first: Vec<&str> = listed.iter().rev().map(|j| j.id.as_str()).collect();
    assert_eq!(exported, oldest_first);
    let stored = |id: &str| -> (&str, &str) {
        let job = jobs.iter().find(|j| j.id == id).expect("exported");
        (job.status.as_str(), job.stored.as_str())
    };
    assert_eq!(stored(&made.pending), ("pending", "pending"));
    assert_eq!(stored(&made.delayed), ("pending", "scheduled"));
    assert_eq!(stored(&made.backing_off), ("pending", "scheduled"));
    assert_eq!(stored(&made.group_live), ("claimed", "claimed"));
    for id in &made.group_queued {
        assert_eq!(stored(id), ("pending", "queued"));
    }
    assert_eq!(stored(&made.done), ("done", "done"));
    assert_eq!(stored(&made.dead), ("dead", "dead"));
    let lapsed = jobs.iter().find(|j| j.id == made.lapsed).unwrap();
    assert!(lapsed.claim_lapsed && lapsed.claim.is_some(), "{lapsed:?}");
    let done = jobs.iter().find(|j| j.id == made.done).unwrap();
    assert_eq!(done.output.as_ref().unwrap()["at"][1], 2.0);
    let dead = jobs.iter().find(|j| j.id == made.dead).unwrap();
    assert_eq!(dead.errors[0].reason, "smtp said no\nat all");
    assert_eq!(dead.errors[0].worker.as_deref(), Some("w-dead"));
    assert!(dead.visible_after.is_none() && dead.finished_at.is_some());
}

/// A file written by hand to the documented format, version 1, imports as documented: with
/// a blank line, whitespace in a payload, and fields that are null left out.
const WRITTEN_BY_HAND: &str = r#"{"queueprim_export":1,"engine":"sqlite","exported_at":"2026-01-01T00:00:00.000Z"}
{"settings":{"queue":"mail","paused":true,"timeout_ms":60000,"max_retries":2,"backoff_ms":null}}
{"job":{"id":"q_0000000001","queue":"mail","type":"send","payload":{"to": "a@b.c", "n": 1.50},"priority":10,"status":"claimed","stored":"claimed","attempt_count":1,"max_retries":2,"backoff_ms":1000,"backoff_max_ms":null,"group":null,"key":"k","worker":"w1","claim":"c_000000000001","claim_lapsed":false,"visible_after":4102444800000,"output":null,"errors":[{"at":1767225600000,"attempt":1,"worker":"w0","reason":"boom"}],"created_at":1767225600000,"updated_at":1767225601000,"finished_at":null}}

{"job":{"id":"q_0000000002","queue":"mail","payload":[],"priority":0,"status":"done","stored":"done","attempt_count":0,"max_retries":0,"group":"g","worker":"w1","claim":"c_000000000002","claim_lapsed":false,"output":"ok","errors":[],"created_at":1767225600000,"updated_at":1767225602000,"finished_at":1767225602000}}
{"end":{"jobs":2,"settings":1}}
"#;

#[test]
fn an_export_written_by_hand_imports_as_documented() {
    let env = TestEnv::new();
    let db = Db::of(&env);
    let report: Value = db
        .cmd(["import"])
        .stdin(WRITTEN_BY_HAND)
        .expect_status(0)
        .json();
    assert_eq!(
        report,
        serde_json::json!({"imported": 2, "skipped": 0, "settings": 1})
    );
    let printed = db.cmd(["get", "q_0000000001"]).expect_status(0).stdout;
    // The payload is kept as written, only compacted: the number's spelling too.
    assert!(
        printed.contains(r#""payload":{"to":"a@b.c","n":1.50}"#),
        "{printed}"
    );
    let job: Job = serde_json::from_str(&printed).unwrap();
    assert_eq!(job.status, "claimed");
    assert_eq!(
        (job.attempts, job.attempt_count, job.max_retries),
        (2, 1, 2)
    );
    assert_eq!(job.priority, 10);
    assert_eq!(job.job_type.as_deref(), Some("send"));
    assert_eq!(job.backoff_ms, Some(1000));
    assert_eq!(
        job.claim_deadline.as_deref(),
        Some("2100-01-01T00:00:00.000Z")
    );
    assert_eq!(job.created_at, "2026-01-01T00:00:00.000Z");
    assert_eq!(job.updated_at, "2026-01-01T00:00:01.000Z");
    assert_eq!(job.errors[0].at, "2026-01-01T00:00:00.000Z");
    assert_eq!(job.errors[0].reason, "boom");
    let done: Job = db.json(&["get", "q_0000000002"]);
    assert_eq!(
        (done.status.as_str(), done.output, done.group.as_deref()),
        ("done", Some(Value::from("ok")), Some("g"))
    );
    // The claim is the job's: its holder finishes it with its token.
    db.cmd(["complete", "q_0000000001", "--claim", "c_000000000001"])
        .expect_status(0);
    let queues: Vec<QueueCounts> = db.json(&["queues"]);
    assert_eq!(
        (queues[0].paused, queues[0].timeout_ms, queues[0].done),
        (true, Some(60_000), 2)
    );
}
