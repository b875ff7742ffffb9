//! A PostgreSQL `--db` URL: the server to connect to, the schema that holds the queue, and
//! how to secure the connection. What queueprim reads itself (`schema`, and the `sslmode`
//! values and `sslrootcert` the driver does not know) is taken out before the rest goes to
//! the driver. The URL's password never appears in a message: [`Target::name`] leaves it out.

use std::time::Duration;

use anyhow::Result;
use postgres::config::{Host, SslMode};
use postgres::Config;

use crate::error::Error;

/// The schema the tables live in unless the URL names another.
pub const DEFAULT_SCHEMA: &str = "queueprim";
/// Longest schema name accepted: room to spare under PostgreSQL's 63-byte identifiers, in
/// the notification channel named after it.
const MAX_SCHEMA_CHARS: usize = 48;
/// How long connecting may take when the URL does not say (`connect_timeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How the connection is secured, as libpq's `sslmode` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    /// `disable`: never.
    Off,
    /// `allow`, `prefer` (the default): TLS when the server offers it, unverified.
    Prefer,
    /// `require`: TLS always; the certificate checked as for `VerifyCa` only when a root
    /// certificate file is named or found, as libpq does.
    Require,
    /// `verify-ca`: TLS with a certificate signed by a trusted authority.
    VerifyCa,
    /// `verify-full`: as `verify-ca`, and issued for the host connected to.
    VerifyFull,
}

/// A PostgreSQL server and schema, parsed from a URL.
#[derive(Debug, Clone)]
pub struct Target {
    /// The URL as given, for child processes that must reach the same database.
    url: String,
    pub config: Config,
    pub schema: String,
    pub tls: Tls,
    /// A file of trusted certificates (PEM), from `sslrootcert`.
    pub root_cert: Option<String>,
    name: String,
}

impl Target {
    pub fn is_url(text: &str) -> bool {
        let lower = text.get(..13).unwrap_or(text).to_ascii_lowercase();
        lower.starts_with("postgres://") || lower.starts_with("postgresql://")
    }

    /// Parses a `postgres://` or `postgresql://` URL. A bad one is bad input.
    pub fn parse(url: &str) -> Result<Target> {
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut schema = DEFAULT_SCHEMA.to_string();
        let mut tls = None;
        let mut root_cert = None;
        let mut passed = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "schema" => schema = parse_schema(value)?,
                "sslmode" => tls = Some(parse_sslmode(value, "sslmode")?),
                "sslrootcert" => root_cert = Some(decode(value)?),
                _ => passed.push(pair),
            }
        }
        let (tls, root_cert) = tls_settings(tls, root_cert)?;
        let driver_url = match passed.is_empty() {
            true => base.to_string(),
            false => format!("{base}?{}", passed.join("&")),
        };
        let mut config: Config = driver_url.parse().map_err(|e| {
            Error::invalid(format!("invalid PostgreSQL URL {}: {e}", redacted(base)))
        })?;
        fill_from_environment(&mut config);
        config.ssl_mode(match tls {
            Tls::Off => SslMode::Disable,
            Tls::Prefer => SslMode::Prefer,
            Tls::Require | Tls::VerifyCa | Tls::VerifyFull => SslMode::Require,
        });
        if config.get_application_name().is_none() {
            config.application_name("queueprim");
        }
        let name = display_name(&config, &schema);
        Ok(Target {
            url: url.to_string(),
            config,
            schema,
            tls,
            root_cert,
            name,
        })
    }

    /// The URL exactly as given (password included): only for the environment of a child
    /// process that must reach the same database, never for a message.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The server and schema as messages name them: user, hosts, ports and database, never
    /// the password.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The same server, named with `schema`: for a second connection serving the schema of
    /// another URL.
    pub fn for_schema(mut self, schema: &str) -> Target {
        self.name = display_name(&self.config, schema);
        self.schema = schema.to_string();
        self
    }
}

/// The TLS mode and root certificates: the URL's, else libpq's variables (`PGSSLMODE`,
/// `PGSSLROOTCERT`), else `prefer` with the default root file. As in libpq,
/// `sslrootcert=system` makes the default `verify-full`, and refuses weaker modes: the
/// system's authorities sign certificates for anyone, so only the host name tells servers
/// apart.
fn tls_settings(tls: Option<Tls>, root_cert: Option<String>) -> Result<(Tls, Option<String>)> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let root_cert = root_cert.or_else(|| env("PGSSLROOTCERT"));
    let tls = match tls {
        Some(tls) => Some(tls),
        None => env("PGSSLMODE")
            .map(|mode| parse_sslmode(&mode, "PGSSLMODE"))
            .transpose()?,
    };
    let system = root_cert.as_deref() == Some(super::tls::SYSTEM_ROOTS);
    match tls {
        None if system => Ok((Tls::VerifyFull, root_cert)),
        None => Ok((Tls::Prefer, root_cert)),
        Some(Tls::VerifyFull) => Ok((Tls::VerifyFull, root_cert)),
        Some(_) if system => Err(Error::invalid(
            "sslrootcert=system needs sslmode=verify-full in the PostgreSQL URL: the \
             system's authorities vouch for any host, so only its name tells them apart",
        )
        .into()),
        Some(tls) => Ok((tls, root_cert)),
    }
}

/// What libpq would take from the environment when the URL leaves it out (`PGHOST`,
/// `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`), with libpq's default socket folder
/// where no host is given at all, and a bound on how long connecting may take.
fn fill_from_environment(config: &mut Config) {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if config.get_hosts().is_empty() && config.get_hostaddrs().is_empty() {
        let hosts = env("PGHOST").unwrap_or_else(|| {
            let socket_dir = "/var/run/postgresql";
            match std::path::Path::new(socket_dir).is_dir() {
                true => socket_dir.to_string(),
                false => "localhost".to_string(),
            }
        });
        for host in hosts.split(',') {
            config.host(host);
        }
    }
    if config.get_ports().is_empty() {
        if let Some(port) = env("PGPORT").and_then(|p| p.parse().ok()) {
            config.port(port);
        }
    }
    if config.get_user().is_none() {
        if let Some(user) = env("PGUSER") {
            config.user(&user);
        }
    }
    if config.get_password().is_none() {
        if let Some(password) = env("PGPASSWORD") {
            config.password(password);
        }
    }
    if config.get_dbname().is_none() {
        if let Some(dbname) = env("PGDATABASE") {
            config.dbname(&dbname);
        }
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
}

/// `postgresql://user@host:port/db (schema s)`, for messages.
fn display_name(config: &Config, schema: &str) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let port = config.get_ports().get(i).or(config.get_ports().first());
            let host = match host {
                Host::Tcp(name) => name.clone(),
                // Percent-encoded, as libpq reads a socket folder in a URL's host: plain, the
                // folder would run into the database name after it.
                #[cfg(unix)]
                Host::Unix(path) => socket_host(&path.display().to_string()),
            };
            match port {
                Some(port) => format!("{host}:{port}"),
                None => host,
            }
        })
        .collect();
    let user = config
        .get_user()
        .map(|u| format!("{u}@"))
        .unwrap_or_default();
    let db = config.get_dbname().unwrap_or_default();
    format!(
        "postgresql://{user}{}/{db} (schema {schema})",
        hosts.join(",")
    )
}

/// The URL up to its query without its password, for a message about the URL itself.
fn redacted(base: &str) -> String {
    let Some((scheme, rest)) = base.split_once("://") else {
        return base.to_string();
    };
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    match authority.rsplit_once('@') {
        Some((credentials, hosts)) => {
            let user = credentials.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}@{hosts}/{path}")
        }
        None => base.to_string(),
    }
}

fn parse_schema(value: &str) -> Result<String> {
    let valid_start = value
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    let valid = valid_start
        && value.len() <= MAX_SCHEMA_CHARS
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        return Err(Error::invalid(format!(
            "invalid schema '{}' in the PostgreSQL URL: use 1-{MAX_SCHEMA_CHARS} lowercase \
             letters, digits and _, starting with a letter or _",
            crate::text::visible(value, 80)
        ))
        .into());
    }
    Ok(value.to_string())
}

/// An `sslmode` value, from the URL or from `PGSSLMODE` (`source` names which).
fn parse_sslmode(value: &str, source: &str) -> Result<Tls> {
    Ok(match value {
        "disable" => Tls::Off,
        "allow" | "prefer" => Tls::Prefer,
        "require" => Tls::Require,
        "verify-ca" => Tls::VerifyCa,
        "verify-full" => Tls::VerifyFull,
        other => {
            return Err(Error::invalid(format!(
                "invalid {source} '{}'{}: use disable, allow, prefer, require, verify-ca or \
                 verify-full",
                crate::text::visible(other, 80),
                match source {
                    "sslmode" => " in the PostgreSQL URL",
                    _ => "",
                }
            ))
            .into())
        }
    })
}

/// A percent-encoded URL value (a file path).
fn decode(value: &str) -> Result<String> {
    let mut bytes = Vec::with_capacity(value.len());
    let mut rest = value.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        let hex = tail.get(..2).and_then(|h| std::str::from_utf8(h).ok());
        match (byte, hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(decoded)) => {
                bytes.push(decoded);
                rest = tail.get(2..).unwrap_or_default();
            }
            _ => {
                bytes.push(byte);
                rest = tail;
            }
        }
    }
    String::from_utf8(bytes).map_err(|_| {
        Error::invalid("a PostgreSQL URL value is not valid UTF-8 once decoded").into()
    })
}

/// A socket folder as a URL's host: every byte but letters, digits and `-._~` escaped.
fn socket_host(folder: &str) -> String {
    folder
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_and_tls_settings_are_taken_out_and_the_rest_passed_on() {
        let target = Target::parse(
            "postgresql://ada:s3cret@db.example:6432/jobs?schema=team_a&sslmode=verify-full\
             &sslrootcert=%2Fetc%2Fca.pem&application_name=x",
        )
        .unwrap();
        assert_eq!(target.schema, "team_a");
        assert_eq!(target.tls, Tls::VerifyFull);
        assert_eq!(target.root_cert.as_deref(), Some("/etc/ca.pem"));
        assert_eq!(target.config.get_application_name(), Some("x"));
        assert_eq!(target.config.get_password(), Some(&b"s3cret"[..]));
        assert_eq!(
            target.name(),
            "postgresql://ada@db.example:6432/jobs (schema team_a)"
        );
    }

    #[test]
    fn the_system_store_means_verify_full_and_refuses_weaker_modes() {
        let target = Target::parse("postgresql://h/db?sslrootcert=system").unwrap();
        assert_eq!(target.tls, Tls::VerifyFull);
        let target =
            Target::parse("postgresql://h/db?sslrootcert=system&sslmode=verify-full").unwrap();
        assert_eq!(target.tls, Tls::VerifyFull);
        for mode in ["disable", "allow", "prefer", "require", "verify-ca"] {
            let url = format!("postgresql://h/db?sslrootcert=system&sslmode={mode}");
            let err = Target::parse(&url).unwrap_err();
            let typed = err.downcast_ref::<Error>().expect("typed");
            assert_eq!(typed.kind, crate::error::Kind::InvalidInput, "{mode}");
        }
    }

    #[test]
    fn a_unix_socket_folder_is_a_host() {
        let target = Target::parse("postgresql:///jobs?host=/tmp/pg&user=u").unwrap();
        assert_eq!(target.schema, DEFAULT_SCHEMA);
        assert_eq!(
            target.name(),
            "postgresql://u@%2Ftmp%2Fpg/jobs (schema queueprim)"
        );
    }

    #[test]
    fn bad_urls_are_refused_without_their_password() {
        for url in [
            "postgresql://ada:s3cret@host/db?sslmode=sometimes",
            "postgresql://ada:s3cret@host/db?schema=Bad-Name",
            "postgresql://ada:s3cret@host:notaport/db",
            "postgresql://ada:s3cret@host/db?bogus=1",
        ] {
            let err = Target::parse(url).unwrap_err();
            let message = format!("{err:#}");
            assert!(!message.contains("s3cret"), "{message}");
            let typed = err.downcast_ref::<Error>().expect("typed");
            assert_eq!(typed.kind, crate::error::Kind::InvalidInput, "{message}");
        }
    }

    #[test]
    fn only_postgres_schemes_are_urls() {
        assert!(Target::is_url("postgres://h/db"));
        assert!(Target::is_url("PostgreSQL://h/db"));
        assert!(!Target::is_url("queue.db"));
        assert!(!Target::is_url("./postgres://x"));
    }
}
