//! TLS to the server as libpq's `sslmode` means it, against a server of the tests' own with
//! `ssl=on` on 127.0.0.1 and certificates made here (an authority, a server certificate
//! for localhost and 127.0.0.1, and an unrelated authority): prefer and require encrypt
//! without checking, verify-ca checks the authority, verify-full the authority and the host
//! name, and each refusal names the server (never the password) and what to change; and a
//! server without TLS, which require refuses and prefer reaches unencrypted.

use std::fs;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::OnceLock;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

use crate::harness::{Cmd, Job, TestEnv};
use crate::support::postgres::{private_cluster_with, server_owner, Cluster, DATABASE};
use crate::support::process::wait_for;
use crate::support::wait::{eventually, GENEROUS};

/// The TLS server and the files a client may trust.
struct TlsServer {
    cluster: Cluster,
    /// The authority that signed the server's certificate (PEM).
    ca: PathBuf,
    /// An authority that signed nothing the server holds.
    other_ca: PathBuf,
    /// Keeps the certificates while the server runs.
    _files: tempfile::TempDir,
}

/// One TLS server for every test here: making a cluster takes seconds.
fn server() -> &'static TlsServer {
    static SERVER: OnceLock<TlsServer> = OnceLock::new();
    SERVER.get_or_init(start_server)
}

/// A certificate authority of the tests' own.
struct Authority {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

fn authority(name: &str) -> Authority {
    let key = KeyPair::generate().expect("an authority's key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("authority params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let cert = params.self_signed(&key).expect("a self-signed authority");
    Authority {
        pem: cert.pem(),
        issuer: Issuer::new(params, key),
    }
}

fn start_server() -> TlsServer {
    let files = tempfile::Builder::new()
        .prefix("queueprim-tls-")
        .tempdir()
        .expect("a folder for the certificates");
    let dir = files.path();
    let ca = authority("queueprim test authority");
    let other = authority("some other authority");
    let key = KeyPair::generate().expect("the server's key");
    let mut params = CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])
        .expect("the server's names");
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    let cert = params
        .signed_by(&key, &ca.issuer)
        .expect("sign the server's certificate");
    write(dir, "ca.pem", &ca.pem, 0o644);
    write(dir, "other-ca.pem", &other.pem, 0o644);
    write(dir, "server.crt", &cert.pem(), 0o644);
    // The server refuses a key others may read; as root, tests run it as `postgres`.
    write(dir, "server.key", &key.serialize_pem(), 0o600);
    if let Some((uid, gid)) = server_owner().expect("the server's user") {
        for path in [
            dir.to_path_buf(),
            dir.join("server.crt"),
            dir.join("server.key"),
        ] {
            std::os::unix::fs::chown(&path, Some(uid), Some(gid))
                .expect("hand the certificate to the server's user");
        }
    }
    let port = free_port().to_string();
    let cert_file = dir.join("server.crt").display().to_string();
    let key_file = dir.join("server.key").display().to_string();
    let cluster = private_cluster_with(&[
        ("listen_addresses", "127.0.0.1"),
        ("port", &port),
        ("ssl", "on"),
        ("ssl_cert_file", &cert_file),
        ("ssl_key_file", &key_file),
    ]);
    TlsServer {
        cluster,
        ca: dir.join("ca.pem"),
        other_ca: dir.join("other-ca.pem"),
        _files: files,
    }
}

fn write(dir: &Path, name: &str, text: &str, mode: u32) {
    let path = dir.join(name);
    fs::write(&path, text).expect("write a certificate file");
    fs::set_permissions(&path, fs::Permissions::from_mode(mode)).expect("set its mode");
}

/// A TCP port nobody listens on right now, for the server to take.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("its address").port()
}

/// A test's schema on the TLS server, and the URL to reach it by TCP.
struct Client {
    env: TestEnv,
    schema: String,
}

impl Client {
    fn new() -> Client {
        let schema = server().cluster.fresh_schema();
        Client {
            env: TestEnv::new(),
            schema,
        }
    }

    /// The URL: `host` (with `extra` parameters) on the TLS server's port, with a password
    /// that must never show (the server trusts every local connection anyway).
    fn url(&self, host: &str, extra: &str) -> String {
        format!(
            "postgresql://postgres:s3cret-pw@{host}:{}/{DATABASE}?schema={}&{extra}",
            server().cluster.port,
            self.schema
        )
    }

    fn cmd(&self, url: &str, args: &[&str]) -> Cmd {
        self.env.cmd(args).env("QUEUEPRIM_DB", url)
    }

    /// Whether queueprim's schema got onto the server.
    fn schema_exists(&self) -> bool {
        server().cluster.psql(&format!(
            "SELECT count(*) FROM pg_namespace WHERE nspname = '{}'",
            self.schema
        )) == "1"
    }
}

/// Whether the session of the process connected as `application` is encrypted, as the
/// server sees it; waits for the session to be there.
fn encrypted(application: &str) -> bool {
    let mut ssl = String::new();
    eventually(GENEROUS, "the waiter's session", || {
        ssl = server().cluster.psql(&format!(
            "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
             WHERE a.application_name = '{application}'"
        ));
        !ssl.is_empty()
    });
    ssl == "t"
}

/// Starts a `dequeue --wait` connected by `url` as `application`, reports whether the server
/// sees its session encrypted, then gives it a job and checks it got it.
fn waiter_encrypted(client: &Client, url: &str, application: &str) -> bool {
    let url = format!("{url}&application_name={application}");
    let waiter = client.cmd(&url, &["dequeue", "q", "--wait", "5m"]).spawn();
    let encrypted = encrypted(application);
    let job: Job = client
        .cmd(&url, &["enqueue", "q", "--payload", "1"])
        .expect_status(0)
        .json();
    let (status, stdout, stderr) = finish(waiter);
    assert!(status, "{stderr}");
    let claimed: Job = serde_json::from_str(&stdout).expect("the waiter's job");
    assert_eq!(claimed.id, job.id);
    encrypted
}

fn finish(mut child: Child) -> (bool, String, String) {
    use std::io::Read;
    let status = wait_for(&mut child, GENEROUS * 3, "dequeue --wait");
    let (mut stdout, mut stderr) = (String::new(), String::new());
    child
        .stdout
        .take()
        .map(|mut out| out.read_to_string(&mut stdout));
    child
        .stderr
        .take()
        .map(|mut err| err.read_to_string(&mut stderr));
    (status.success(), stdout, stderr)
}

/// A refusal: exit `code`, one line naming the server, never the password.
#[track_caller]
fn assert_refused(client: &Client, url: &str, code: i32) -> String {
    let run = client
        .cmd(url, &["enqueue", "q", "--payload", "1"])
        .expect_status(code);
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr
            .starts_with("error: cannot connect to postgresql://postgres@"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("s3cret"), "{}", run.stderr);
    assert!(!client.schema_exists(), "nothing was written");
    run.stderr
}

#[test]
fn require_and_prefer_encrypt_and_disable_does_not() {
    let client = Client::new();
    let require = client.url("127.0.0.1", "sslmode=require");
    assert!(waiter_encrypted(&client, &require, "tls_require"));
    // No sslmode at all is libpq's prefer: TLS, since the server offers it.
    let prefer = client.url("127.0.0.1", "");
    assert!(waiter_encrypted(&client, &prefer, "tls_prefer"));
    let disable = client.url("127.0.0.1", "sslmode=disable");
    assert!(!waiter_encrypted(&client, &disable, "tls_disable"));
}

#[test]
fn verify_full_with_the_right_authority_connects_by_either_name_encrypted() {
    let client = Client::new();
    let root = format!("sslmode=verify-full&sslrootcert={}", server().ca.display());
    let by_address = client.url("127.0.0.1", &root);
    assert!(waiter_encrypted(&client, &by_address, "tls_full_ip"));
    let by_name = client.url("localhost", &root);
    assert!(waiter_encrypted(&client, &by_name, "tls_full_name"));
}

#[test]
fn verify_full_finds_the_authority_where_libpq_looks_by_default() {
    let client = Client::new();
    let url = client.url("127.0.0.1", "sslmode=verify-full");
    let message = assert_refused(&client, &url, 2);
    assert!(
        message.contains("sslmode=verify-full needs the certificate of the authority"),
        "{message}"
    );
    assert!(message.contains("sslrootcert=FILE"), "{message}");
    let folder = client.env.dir().join(".postgresql");
    fs::create_dir_all(&folder).expect("~/.postgresql");
    fs::copy(&server().ca, folder.join("root.crt")).expect("~/.postgresql/root.crt");
    assert!(waiter_encrypted(&client, &url, "tls_default_root"));
}

#[test]
fn verify_full_with_another_authority_is_refused_saying_to_pass_sslrootcert() {
    let client = Client::new();
    for mode in ["verify-full", "verify-ca", "require"] {
        let url = client.url(
            "127.0.0.1",
            &format!("sslmode={mode}&sslrootcert={}", server().other_ca.display()),
        );
        let message = assert_refused(&client, &url, 1);
        assert!(
            message.contains("the server's certificate is not signed by an authority in"),
            "{mode}: {message}"
        );
        assert!(message.contains("pass sslrootcert=FILE"), "{message}");
    }
}

#[test]
fn verify_full_against_a_certificate_for_another_host_names_the_hosts_it_is_for() {
    let client = Client::new();
    let root = format!("sslrootcert={}&hostaddr=127.0.0.1", server().ca.display());
    let url = client.url("db.elsewhere.test", &format!("sslmode=verify-full&{root}"));
    let message = assert_refused(&client, &url, 1);
    assert!(
        message.contains(
            "the server's certificate is for localhost, 127.0.0.1, not db.elsewhere.test"
        ),
        "{message}"
    );
    assert!(message.contains("verify-ca"), "{message}");
    // verify-ca checks the authority alone, as libpq's does.
    let url = client.url("db.elsewhere.test", &format!("sslmode=verify-ca&{root}"));
    assert!(waiter_encrypted(&client, &url, "tls_verify_ca"));
}

#[test]
fn the_system_store_is_only_for_verify_full_and_does_not_know_a_private_authority() {
    let client = Client::new();
    let weak = client.url("127.0.0.1", "sslmode=require&sslrootcert=system");
    let run = client
        .cmd(&weak, &["enqueue", "q", "--payload", "1"])
        .expect_status(2);
    assert!(
        run.stderr
            .contains("sslrootcert=system needs sslmode=verify-full"),
        "{}",
        run.stderr
    );
    // Without sslmode, sslrootcert=system means verify-full; our authority is not the
    // system's (or the system has none: then that is what the message says).
    let url = client.url("127.0.0.1", "sslrootcert=system");
    let run = client.cmd(&url, &["enqueue", "q", "--payload", "1"]).run();
    assert_ne!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("not signed by an authority in the system's trusted authorities")
            || run
                .stderr
                .contains("found no trusted authorities on this system"),
        "{}",
        run.stderr
    );
    assert!(!client.schema_exists());
}

#[test]
fn require_on_a_unix_socket_connects_unencrypted_as_libpq_does() {
    // The server takes no TLS on its socket; libpq does not ask for it there.
    let env = TestEnv::new();
    let url = format!("{}&sslmode=verify-full", env.db_arg().to_string_lossy());
    env.cmd(["enqueue", "q", "--payload", "1"])
        .env("QUEUEPRIM_DB", &url)
        .expect_status(0);
}

#[test]
fn a_server_without_tls_is_refused_by_require_and_reached_plainly_by_prefer() {
    let port = free_port();
    let plain = private_cluster_with(&[
        ("listen_addresses", "127.0.0.1"),
        ("port", &port.to_string()),
    ]);
    let env = TestEnv::on(&plain);
    let schema = env.schema().expect("a schema");
    let url = |mode: &str| {
        format!(
            "postgresql://postgres:s3cret-pw@127.0.0.1:{port}/{DATABASE}?schema={schema}\
             &sslmode={mode}&application_name=plain_{mode}"
        )
    };
    let run = env
        .cmd(["enqueue", "q", "--payload", "1"])
        .env("QUEUEPRIM_DB", url("require"))
        .expect_status(1);
    assert!(
        run.stderr.contains(
            "the server does not accept TLS connections (sslmode=require needs them: turn ssl \
             on in the server's configuration, or use sslmode=prefer"
        ),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("s3cret"), "{}", run.stderr);
    let mut waiter = env
        .cmd(["dequeue", "q", "--wait", "5m"])
        .env("QUEUEPRIM_DB", url("prefer"))
        .spawn();
    let mut ssl = String::new();
    eventually(GENEROUS, "the waiter's session", || {
        ssl = plain.psql(
            "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
             WHERE a.application_name = 'plain_prefer'",
        );
        !ssl.is_empty()
    });
    assert_eq!(ssl, "f", "unencrypted");
    env.cmd(["enqueue", "q", "--payload", "1"])
        .env("QUEUEPRIM_DB", url("prefer"))
        .expect_status(0);
    let status = wait_for(&mut waiter, GENEROUS * 3, "dequeue --wait");
    assert!(status.success(), "{status:?}");
}
