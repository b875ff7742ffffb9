//! `GET /openapi.json`: an OpenAPI 3.1 document of every route. A test checks it names
//! exactly the routes of `routes::table`, so the two cannot drift apart.

use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use super::errors::ErrorKind;

/// Serves the document.
pub async fn serve() -> Response {
    let mut text = document().to_string();
    text.push('\n');
    ([(CONTENT_TYPE, "application/json")], text).into_response()
}

fn reference(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn nullable(kind: &str) -> Value {
    json!({ "type": [kind, "null"] })
}

/// A duration as the CLI writes it.
fn duration(what: &str) -> Value {
    duration_like(what, "30s")
}

/// A duration field whose example differs from the usual one: a wait's example is short,
/// because clients that try the examples (schemathesis among them) really wait that long.
fn duration_like(what: &str, example: &str) -> Value {
    json!({ "type": "string", "description": format!("{what}, as humantime: 90s, 30m, 1h 30m, 7d"), "examples": [example] })
}

fn queue_param() -> Value {
    json!({
        "name": "queue", "in": "path", "required": true,
        "description": "Queue name, percent-encoded: tenant%2Facme for tenant/acme",
        "schema": { "type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[A-Za-z0-9._:/-]+$" }
    })
}

fn id_param() -> Value {
    json!({
        "name": "id", "in": "path", "required": true, "description": "The job's id",
        "schema": { "type": "string", "pattern": "^q_[A-Za-z0-9]{1,62}$" }
    })
}

fn query(name: &str, schema: Value, description: &str) -> Value {
    json!({ "name": name, "in": "query", "required": false, "schema": schema, "description": description })
}

fn errors(codes: &[&str]) -> Map<String, Value> {
    let mut responses = Map::new();
    for code in codes {
        let description = match *code {
            "400" => "Bad input (usage or invalid_input)",
            "401" => "No valid token (unauthorized; without tokens: a request not addressed to loopback, or sent by another site's page)",
            "404" => "No such job or queue, or not one this token reaches (not_found)",
            "409" => "The job's state does not allow it, or the claim is no longer yours (conflict)",
            "413" => "The body is over 1 MiB and 64 KiB (too_large)",
            _ => "The database is unavailable (database), or the request took too long (timeout)",
        };
        responses.insert(
            (*code).to_string(),
            json!({ "description": description, "content": { "application/json": { "schema": reference("Error") } } }),
        );
    }
    responses
}

/// An operation: its summary, parameters, body (if any) and its success answer.
fn operation(
    summary: &str,
    parameters: Vec<Value>,
    body: Option<Value>,
    ok: (&str, Value),
    codes: &[&str],
) -> Value {
    let mut responses = errors(codes);
    responses.insert(
        ok.0.to_string(),
        json!({ "description": summary, "content": { "application/json": { "schema": ok.1 } } }),
    );
    let mut op = json!({ "summary": summary, "parameters": parameters, "responses": responses });
    if let (Some(body), Some(map)) = (body, op.as_object_mut()) {
        map.insert(
            "requestBody".into(),
            json!({ "required": false, "content": { "application/json": { "schema": body } } }),
        );
    }
    op
}

const WRITE: &[&str] = &["400", "401", "404", "409", "413", "503"];
const READ: &[&str] = &["400", "401", "404", "503"];

fn array(of: Value) -> Value {
    json!({ "type": "array", "items": of })
}

/// Enqueue answers 201 when it made a job, 200 when every dedup key was taken.
fn enqueue() -> Value {
    let answer = json!({ "oneOf": [reference("Enqueued"), array(reference("Enqueued"))] });
    let mut op = operation(
        "Enqueue a job, or a batch of jobs (a JSON array; all or nothing). 201 when a job was \
         created (in a batch: any job), 200 when every dedup key was already taken and the \
         answer is the jobs that hold them (deduplicated: true)",
        vec![queue_param()],
        Some(json!({ "oneOf": [reference("NewJob"), array(reference("NewJob"))] })),
        ("201", answer.clone()),
        WRITE,
    );
    if let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) {
        responses.insert(
            "200".into(),
            json!({
                "description": "Nothing was created: every job's dedup key is held by an unfinished job, which is answered",
                "content": { "application/json": { "schema": answer } }
            }),
        );
    }
    op
}

fn paths() -> Value {
    let job_action = |summary: &str, body: &str| {
        operation(
            summary,
            vec![id_param()],
            Some(reference(body)),
            ("200", reference("Job")),
            WRITE,
        )
    };
    json!({
        "/v1/queues/{queue}/jobs": {
            "post": enqueue(),
            "get": operation(
                "List a queue's jobs, newest first",
                vec![
                    queue_param(),
                    query("status", json!({ "type": "string", "enum": ["pending", "claimed", "done", "dead"] }), "Only jobs with this status"),
                    query("type", json!({ "type": "string" }), "Only jobs of this type"),
                    query("worker", json!({ "type": "string" }), "Only jobs last claimed by this worker"),
                    query("limit", json!({ "type": "integer", "minimum": 1, "maximum": 1000, "default": 100 }), "At most this many"),
                ],
                None,
                ("200", array(reference("Job"))),
                READ,
            ),
            "delete": operation(
                "Purge a queue's jobs: status or older_than, or all=true, is required",
                vec![
                    queue_param(),
                    query("status", json!({ "type": "string", "enum": ["pending", "claimed", "done", "dead"] }), "Only jobs with this status (claimed jobs go only with status=claimed)"),
                    query("older_than", json!({ "type": "string" }), "Only jobs last updated longer ago than this duration"),
                    query("all", json!({ "type": "boolean" }), "Every job that is not claimed"),
                    query("dry_run", json!({ "type": "boolean" }), "Count only"),
                ],
                None,
                ("200", reference("Purge")),
                READ,
            ),
        },
        "/v1/queues/{queue}/claims": {
            "post": operation(
                "Claim up to count jobs, waiting up to wait (at most 120s) for one; [] when none came",
                vec![queue_param()],
                Some(reference("Claim")),
                ("200", array(reference("Job"))),
                WRITE,
            ),
        },
        "/v1/queues": {
            "get": operation("Counts and settings of every queue this token reaches", vec![], None, ("200", array(reference("Queue"))), READ),
        },
        "/v1/queues/{queue}": {
            "get": operation("A queue's settings", vec![queue_param()], None, ("200", reference("Settings")), READ),
            "patch": operation("Pause or resume a queue, or set its defaults", vec![queue_param()], Some(reference("SettingsChange")), ("200", reference("Settings")), WRITE),
        },
        "/v1/stats": {
            "get": operation("Job counts by status over the queues this token reaches", vec![], None, ("200", reference("Counts")), READ),
        },
        "/v1/jobs/{id}": {
            "get": operation("A job", vec![id_param()], None, ("200", reference("Job")), READ),
            "delete": operation("Cancel a pending job", vec![id_param()], None, ("200", reference("Cancelled")), WRITE),
        },
        "/v1/jobs/{id}/complete": {
            "post": operation("Complete a claimed job, with its output and follow-up jobs in one commit", vec![id_param()], Some(reference("Complete")), ("200", reference("Completed")), WRITE),
        },
        "/v1/jobs/{id}/fail": { "post": job_action("Record a failed attempt; the retry rule decides", "Fail") },
        "/v1/jobs/{id}/extend": { "post": job_action("Push a claim's deadline further", "Extend") },
        "/v1/jobs/{id}/release": { "post": job_action("Give a claimed job back without counting an attempt", "Release") },
        "/v1/jobs/{id}/retry": {
            "post": operation("Bring a dead (or done) job back to pending; an array of the one job, as retry prints", vec![id_param()], Some(reference("Retry")), ("200", array(reference("Job"))), WRITE),
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics of the queues this token reaches",
                "responses": {
                    "200": { "description": "Prometheus text format", "content": { "text/plain": { "schema": { "type": "string" } } } },
                    "401": { "description": "No valid token", "content": { "application/json": { "schema": reference("Error") } } },
                    "404": { "description": "A token that may only enqueue", "content": { "application/json": { "schema": reference("Error") } } },
                    "503": { "description": "The database is unavailable", "content": { "application/json": { "schema": reference("Error") } } }
                }
            }
        },
        "/healthz": {
            "get": {
                "summary": "Whether the server and its database answer",
                "security": [],
                "responses": {
                    "200": { "description": "Healthy", "content": { "application/json": { "schema": { "type": "object" } } } },
                    "503": { "description": "The database is unavailable", "content": { "application/json": { "schema": reference("Error") } } }
                }
            }
        },
        "/openapi.json": {
            "get": {
                "summary": "This document",
                "security": [],
                "responses": { "200": { "description": "OpenAPI 3.1", "content": { "application/json": { "schema": { "type": "object" } } } } }
            }
        }
    })
}

fn job_schema() -> Value {
    let failure = json!({
        "type": "object",
        "required": ["at", "attempt", "worker", "reason"],
        "properties": { "at": { "type": "string" }, "attempt": { "type": "integer" }, "worker": nullable("string"), "reason": { "type": "string" } }
    });
    json!({
        "type": "object",
        "description": "A job, exactly as the CLI prints it",
        "required": ["id", "queue", "type", "payload", "priority", "status", "attempts", "attempt_count", "max_retries",
                     "backoff_ms", "backoff_max_ms", "group", "key", "worker", "claim", "claim_deadline", "run_after",
                     "visible_after", "output", "errors", "created_at", "updated_at", "finished_at"],
        "properties": {
            "id": { "type": "string" }, "queue": { "type": "string" }, "type": nullable("string"),
            "payload": {}, "priority": { "type": "integer" },
            "status": { "type": "string", "enum": ["pending", "claimed", "done", "dead"] },
            "attempts": { "type": "integer" }, "attempt_count": { "type": "integer" }, "max_retries": { "type": "integer" },
            "backoff_ms": nullable("integer"), "backoff_max_ms": nullable("integer"),
            "group": nullable("string"), "key": nullable("string"), "worker": nullable("string"), "claim": nullable("string"),
            "claim_deadline": nullable("string"), "run_after": nullable("string"), "visible_after": nullable("string"),
            "output": {}, "errors": array(failure),
            "created_at": { "type": "string" }, "updated_at": { "type": "string" }, "finished_at": nullable("string")
        }
    })
}

/// Every kind of error the API answers.
fn error_kind() -> Value {
    let kinds: Vec<&str> = ErrorKind::ALL.iter().map(|kind| kind.as_str()).collect();
    json!({
        "type": "string", "enum": kinds,
        "description": "usage, invalid_input: 400 (usage also 405); unauthorized: 401; not_found: 404; conflict: 409; too_large: 413; database, timeout: 503; internal: 500"
    })
}

fn with(base: Value, extra: Value) -> Value {
    json!({ "allOf": [base, extra] })
}

fn schemas() -> Value {
    let counts = json!({
        "type": "object", "required": ["pending", "claimed", "done", "dead", "total"],
        "properties": { "pending": { "type": "integer" }, "claimed": { "type": "integer" }, "done": { "type": "integer" }, "dead": { "type": "integer" }, "total": { "type": "integer" } }
    });
    let settings = json!({
        "type": "object", "required": ["paused", "timeout_ms", "max_retries", "backoff_ms"],
        "properties": { "paused": { "type": "boolean" }, "timeout_ms": nullable("integer"), "max_retries": nullable("integer"), "backoff_ms": nullable("integer") }
    });
    let named = json!({ "type": "object", "required": ["queue"], "properties": { "queue": { "type": "string" } } });
    let new_job_properties = json!({
        "payload": { "description": "Any JSON value, at most 1 MiB" },
        "priority": { "description": "An integer (higher first) or high, normal, low", "oneOf": [{ "type": "integer" }, { "type": "string", "enum": ["high", "normal", "low"] }] },
        "max_retries": { "type": "integer", "minimum": 0 },
        "type": { "type": "string" }, "group": { "type": "string" }, "key": { "type": "string" },
        "backoff": duration("Delay before the first retry, doubling after"), "backoff_max": duration("Longest delay between retries"),
        "delay": duration("Visible only after this long"), "at": { "type": "string", "description": "Visible only from this RFC 3339 time" }
    });
    let mut follow_up_properties = new_job_properties.clone();
    if let Some(map) = follow_up_properties.as_object_mut() {
        map.insert("queue".into(), json!({ "type": "string" }));
    }
    json!({
        "Error": {
            "type": "object", "required": ["error"],
            "properties": { "error": { "type": "object", "required": ["kind", "message"], "properties": { "kind": error_kind(), "message": { "type": "string" } } } }
        },
        "Job": job_schema(),
        "Enqueued": with(reference("Job"), json!({ "type": "object", "required": ["deduplicated"], "properties": { "deduplicated": { "type": "boolean" } } })),
        "Completed": with(reference("Job"), json!({
            "type": "object", "required": ["follow_ups"],
            "properties": { "follow_ups": array(json!({ "type": "object", "required": ["id", "queue", "deduplicated"], "properties": { "id": { "type": "string" }, "queue": { "type": "string" }, "deduplicated": { "type": "boolean" } } })) }
        })),
        "Counts": counts,
        "Queue": with(named.clone(), with(counts.clone(), settings.clone())),
        "Settings": with(named, settings),
        "Purge": { "type": "object", "required": ["matched", "removed", "dry_run"], "properties": { "matched": { "type": "integer" }, "removed": { "type": "integer" }, "dry_run": { "type": "boolean" } } },
        "Cancelled": { "type": "object", "required": ["cancelled"], "properties": { "cancelled": array(json!({ "type": "string" })) } },
        "NewJob": { "type": "object", "required": ["payload"], "additionalProperties": false, "properties": new_job_properties },
        "FollowUp": { "type": "object", "required": ["queue", "payload"], "additionalProperties": false, "properties": follow_up_properties },
        "Claim": {
            "type": "object", "additionalProperties": false,
            "properties": {
                "worker": { "type": "string" }, "timeout": duration("How long the claim lasts, at least 1s"),
                "count": { "type": "integer", "minimum": 1, "maximum": 10000 }, "type": { "type": "string" },
                "wait": duration_like("How long to wait for a job, at most 120s", "2s")
            }
        },
        "Complete": {
            "type": "object", "additionalProperties": false,
            "properties": { "claim": { "type": "string" }, "output": { "description": "Any JSON value, at most 1 MiB" }, "follow_ups": array(reference("FollowUp")) }
        },
        "Fail": {
            "type": "object", "additionalProperties": false,
            "properties": { "claim": { "type": "string" }, "reason": { "type": "string" }, "dead": { "type": "boolean" }, "retry_in": duration("Delay before the retry") }
        },
        "Extend": { "type": "object", "additionalProperties": false, "required": ["by"], "properties": { "claim": { "type": "string" }, "by": duration("How much longer") } },
        "Release": { "type": "object", "additionalProperties": false, "properties": { "claim": { "type": "string" } } },
        "Retry": { "type": "object", "additionalProperties": false, "properties": {} },
        "SettingsChange": {
            "type": "object", "additionalProperties": false,
            "properties": {
                "paused": { "type": "boolean" }, "timeout": duration("Claim length, at least 1s"), "max_retries": { "type": "integer", "minimum": 0 },
                "backoff": duration("Retry backoff for new jobs"), "reset": { "type": "boolean" }
            }
        }
    })
}

/// The document.
pub fn document() -> Value {
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "queueprim",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "A durable work queue over HTTP. Every route but /healthz and /openapi.json needs Authorization: Bearer TOKEN (queueprim token create). A token reaches only the queues its patterns match: any other queue or job is answered 404. JSON out is exactly what the CLI prints."
        },
        "security": [{ "bearer": [] }],
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "schemas": schemas()
        },
        "paths": paths()
    });
    // The routes the dashboard added describe themselves.
    let (paths, schemas) = super::activity::openapi(operation, queue_param());
    for (at, added) in [("/paths", paths), ("/components/schemas", schemas)] {
        if let Some(map) = doc.pointer_mut(at).and_then(Value::as_object_mut) {
            map.extend(
                added
                    .into_iter()
                    .map(|(name, value)| (name.to_string(), value)),
            );
        }
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every route is in the document, and the document names no other.
    #[test]
    fn the_document_names_exactly_the_routes_served() {
        let doc = document();
        let mut documented: Vec<(String, String)> = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                documented.push((method.to_uppercase(), path.clone()));
            }
        }
        let mut served: Vec<(String, String)> = super::super::routes::table()
            .into_iter()
            .map(|(method, path)| (method.to_string(), path.to_string()))
            .collect();
        documented.sort();
        served.sort();
        assert_eq!(documented, served);
        assert_eq!(doc["openapi"], "3.1.0");
    }

    /// The document's error kinds are every kind there is, and the 413 its limit.
    #[test]
    fn the_error_kinds_and_the_limit_are_the_server_s() {
        let doc = document();
        let kinds = &doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]
            ["kind"]["enum"];
        assert_eq!(kinds.as_array().unwrap().len(), ErrorKind::ALL.len());
        let limit = super::super::body::in_binary_units(super::super::body::MAX_BODY);
        assert!(
            doc.to_string().contains(&format!("over {limit}")),
            "{limit}"
        );
    }

    /// Every schema a document refers to is defined.
    #[test]
    fn every_reference_resolves() {
        let doc = document();
        let text = doc.to_string();
        for piece in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = piece.split('"').next().unwrap();
            assert!(doc["components"]["schemas"].get(name).is_some(), "{name}");
        }
    }
}
