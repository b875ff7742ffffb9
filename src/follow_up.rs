//! The follow-up jobs `complete` enqueues with `--follow-up`: JSON objects that name a queue
//! and a payload and may carry enqueue's options, given inline, in a file (`@FILE`) or on
//! stdin (`-`), one object after another (JSON lines, or pretty-printed).

use std::io::{IsTerminal, Read};

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::error::Error;
use crate::input::{
    compact_json, parse_group, parse_job_type, parse_key, parse_priority, parse_queue,
};
use crate::job::{Backoff, NewJob, Visible};
use crate::text::visible;
use crate::time::{parse_duration, parse_positive_duration, parse_timestamp};

/// The most text one `--follow-up` reads from a file or stdin: every follow-up is held in
/// memory and checked before anything is written.
const MAX_FOLLOW_UP_BYTES: u64 = 256 * 1024 * 1024;

/// One job as written: `queue` and `payload`, and `enqueue`'s options by their flag names
/// (`max_retries` for `--max-retries`). Durations are strings like `"90s"`. Follow-ups and
/// the HTTP API's enqueue read jobs in this one shape; the API names the queue in its path.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    queue: Option<String>,
    payload: Box<RawValue>,
    priority: Option<Value>,
    #[serde(rename = "type")]
    job_type: Option<String>,
    group: Option<String>,
    key: Option<String>,
    delay: Option<String>,
    at: Option<String>,
    max_retries: Option<u32>,
    backoff: Option<String>,
    backoff_max: Option<String>,
}

/// The follow-ups one `--follow-up` value gives: inline JSON, `@FILE` or `-` for stdin.
pub fn read(value: &str) -> anyhow::Result<Vec<NewJob>> {
    let (text, origin) = source(value)?;
    let mut jobs = Vec::new();
    let stream = serde_json::Deserializer::from_str(&text).into_iter::<Spec>();
    for (index, spec) in stream.enumerate() {
        let refuse = |why: String| {
            Error::invalid(format!(
                "invalid --follow-up ({origin}, object {}): {why}",
                index + 1
            ))
        };
        let spec = spec.map_err(|e| refuse(e.to_string()))?;
        jobs.push(new_job(spec, None).map_err(refuse)?);
    }
    if jobs.is_empty() {
        return Err(Error::invalid(format!(
            "invalid --follow-up ({origin}): expected a JSON object like \
             {{\"queue\":\"next\",\"payload\":{{}}}}, got nothing"
        ))
        .into());
    }
    Ok(jobs)
}

/// The text of a `--follow-up` value, and where it came from, for errors.
fn source(value: &str) -> anyhow::Result<(String, String)> {
    if value == "-" {
        if std::io::stdin().is_terminal() {
            eprintln!("reading --follow-up objects from stdin; end with Ctrl-D");
        }
        let text = read_capped(std::io::stdin().lock())
            .map_err(|e| Error::invalid(format!("cannot read --follow-up from stdin: {e}")))?;
        Ok((text, "stdin".into()))
    } else if let Some(path) = value.strip_prefix('@') {
        let quoted = visible(path, usize::MAX);
        let text = std::fs::File::open(path)
            .and_then(read_capped)
            .map_err(|e| Error::invalid(format!("cannot read --follow-up file '{quoted}': {e}")))?;
        Ok((text, format!("file '{quoted}'")))
    } else {
        Ok((value.to_string(), "argument".into()))
    }
}

fn read_capped(input: impl Read) -> std::io::Result<String> {
    let mut text = String::new();
    input
        .take(MAX_FOLLOW_UP_BYTES + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > MAX_FOLLOW_UP_BYTES {
        return Err(std::io::Error::other(format!(
            "more than {} MiB",
            MAX_FOLLOW_UP_BYTES >> 20
        )));
    }
    Ok(text)
}

/// Checks a job the way `enqueue` checks its flags. `in_queue` is the queue named apart
/// (the API's path), when the object must not name one itself.
pub fn new_job(spec: Spec, in_queue: Option<&str>) -> Result<NewJob, String> {
    let field = |name: &str, e: String| format!("\"{name}\": {e}");
    let queue = match (in_queue, spec.queue) {
        (None, Some(queue)) => parse_queue(&queue).map_err(|e| field("queue", e))?,
        (None, None) => return Err("missing field `queue`".into()),
        (Some(path), None) => path.to_string(),
        (Some(_), Some(_)) => {
            return Err("unknown field `queue`: the queue is named in the path".into())
        }
    };
    let priority = match spec.priority {
        None => 0,
        Some(Value::String(word)) => parse_priority(&word).map_err(|e| field("priority", e))?,
        Some(Value::Number(n)) => {
            parse_priority(&n.to_string()).map_err(|e| field("priority", e))?
        }
        Some(other) => {
            return Err(field(
                "priority",
                format!("expected an integer or high, normal, low, got {other}"),
            ))
        }
    };
    let visible = match (spec.delay, spec.at) {
        (Some(_), Some(_)) => return Err("\"delay\" and \"at\" cannot both be given".into()),
        (Some(delay), None) => {
            Visible::After(parse_duration(&delay).map_err(|e| field("delay", e))?)
        }
        (None, Some(at)) => Visible::At(parse_timestamp(&at).map_err(|e| field("at", e))?),
        (None, None) => Visible::Now,
    };
    let backoff = match (spec.backoff, spec.backoff_max) {
        (None, Some(_)) => return Err("\"backoff_max\" needs \"backoff\"".into()),
        (None, None) => None,
        (Some(base), max) => Some(Backoff {
            base: parse_positive_duration(&base).map_err(|e| field("backoff", e))?,
            max: max
                .map(|m| parse_positive_duration(&m))
                .transpose()
                .map_err(|e| field("backoff_max", e))?,
        }),
    };
    let optional =
        |name: &str, value: Option<String>, parse: fn(&str) -> Result<String, String>| {
            value
                .map(|v| parse(&v))
                .transpose()
                .map_err(|e| field(name, e))
        };
    Ok(NewJob {
        queue,
        job_type: optional("type", spec.job_type, parse_job_type)?,
        payload: compact_json(spec.payload.get()).map_err(|e| field("payload", e))?,
        priority,
        max_retries: spec.max_retries,
        backoff,
        group: optional("group", spec.group, parse_group)?,
        key: optional("key", spec.key, parse_key)?,
        visible,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_object_carries_enqueue_s_options() {
        let jobs = read(
            r#"{"queue":"mail","payload":{"to": "a"},"priority":"high","type":"t","group":"g",
               "key":"k","delay":"90s","max_retries":3,"backoff":"1s","backoff_max":"1m"}
               {"queue":"audit","payload":1.50,"priority":-3}"#,
        )
        .unwrap();
        assert_eq!(jobs.len(), 2);
        let (first, second) = (&jobs[0], &jobs[1]);
        assert_eq!(
            (first.queue.as_str(), first.payload.as_str()),
            ("mail", r#"{"to":"a"}"#)
        );
        assert_eq!((first.priority, first.max_retries), (10, Some(3)));
        assert_eq!(first.visible, Visible::After(90_000));
        assert_eq!(
            first.backoff.map(|b| (b.base, b.max)),
            Some((1_000, Some(60_000)))
        );
        assert_eq!((second.payload.as_str(), second.priority), ("1.50", -3));
    }

    #[test]
    fn mistakes_name_the_object_and_the_field() {
        let err = |text: &str| read(text).unwrap_err().to_string();
        assert!(err(r#"{"queue":"q","payload":1,"prio":1}"#).contains("unknown field `prio`"));
        assert!(err(r#"{"queue":"q"}"#).contains("missing field `payload`"));
        let bad = err(r#"{"queue":"q","payload":1} {"queue":"q","payload":1,"delay":"soon"}"#);
        assert!(
            bad.contains("object 2") && bad.contains("\"delay\""),
            "{bad}"
        );
        assert!(err(r#"{"queue":"bad name","payload":1}"#).contains("\"queue\""));
        assert!(err("").contains("got nothing"));
    }
}
