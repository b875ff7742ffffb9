//! PostgreSQL URLs: a password never shows in any output, error or help, bad settings in
//! the URL are bad input (exit 2), and `info` names the server and schema.

use serde_json::Value;

use crate::harness::TestEnv;

const SECRET: &str = "pw-0f-s3cret";

/// The test's URL with a password in it (trust authentication ignores it).
fn with_password(env: &TestEnv) -> String {
    env.db_arg().to_string_lossy().replacen(
        "postgresql:///",
        &format!("postgresql://postgres:{SECRET}@/"),
        1,
    )
}

#[test]
fn the_password_appears_in_no_output_error_or_help() {
    let env = TestEnv::new();
    let url = with_password(&env);
    let job = env.enqueue("q", "1", &[]);
    let runs = [
        env.cmd(["info", "--format", "json"])
            .env("QUEUEPRIM_DB", &url)
            .run(),
        env.cmd(["info"]).env("QUEUEPRIM_DB", &url).run(),
        env.cmd(["get", &job.id]).env("QUEUEPRIM_DB", &url).run(),
        env.cmd(["get", "q_nosuchjob0"])
            .env("QUEUEPRIM_DB", &url)
            .run(),
        env.cmd(["list", "--help"]).env("QUEUEPRIM_DB", &url).run(),
        env.cmd(["--db", &format!("{url}&sslmode=never"), "stats"])
            .run(),
        env.cmd(["--db", &url.replace("/qp?", "/no_such_db?"), "stats"])
            .run(),
    ];
    for run in &runs {
        assert!(!run.stdout.contains(SECRET), "{}: {}", run.args, run.stdout);
        assert!(!run.stderr.contains(SECRET), "{}: {}", run.args, run.stderr);
    }
    assert_eq!(runs[0].code, Some(0), "{}", runs[0].stderr);
    assert_eq!(runs[3].code, Some(3), "{}", runs[3].stderr);
    assert_eq!(runs[5].code, Some(2), "{}", runs[5].stderr);
    assert_eq!(runs[6].code, Some(1), "{}", runs[6].stderr);
}

#[test]
fn info_names_the_server_the_schema_and_the_engine() {
    let env = TestEnv::new();
    env.enqueue("q", "1", &[]);
    let info: Value = env.json(&["info", "--format", "json"]);
    assert_eq!(info["backend"], "postgresql");
    let schema = env.schema().expect("a schema");
    let db = info["db"].as_str().expect("db");
    assert!(db.starts_with("postgresql://postgres@%2F"), "{db}");
    assert!(db.ends_with(&format!("/qp (schema {schema})")), "{db}");
    assert_eq!(info["schema_version"], info["supported_schema_version"]);
    assert_eq!(info["counts"]["total"], 1);
    assert_eq!(info["wal_bytes"], Value::Null);
}

#[test]
fn bad_urls_are_bad_input_and_touch_nothing() {
    let env = TestEnv::new();
    for url in [
        format!("{}&sslmode=sometimes", env.db_arg().to_string_lossy()),
        env.db_arg()
            .to_string_lossy()
            .replace("schema=", "schema=Not-Valid"),
        "postgresql://host:notaport/db".to_string(),
    ] {
        env.cmd(["enqueue", "q", "--payload", "1"])
            .env("QUEUEPRIM_DB", &url)
            .expect_status(2);
    }
    assert!(!env.db_exists());
}
