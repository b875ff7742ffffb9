//! Connecting to the server, encrypted as libpq's `sslmode` says: rustls (with `ring`)
//! through tokio-postgres-rustls, which certificates are trusted (`sslrootcert`, or libpq's
//! default `~/.postgresql/root.crt`), and handshake failures told in words that say what to
//! change. No TLS is hand-written here: the checks are rustls' own, chosen per mode.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Result;
use postgres::config::{Host, SslMode};
use postgres::{Client, Config};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{verify_server_cert_signed_by_trust_anchor, verify_server_name};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::target::{Target, Tls};
use crate::error::Error;
use crate::text::visible;

/// `sslrootcert=system`: the operating system's trusted authorities.
pub const SYSTEM_ROOTS: &str = "system";

/// Connects to the server `target` names. A failed handshake is a database error naming
/// the server and what to change; other failures come back as the driver's, for the caller
/// to explain.
pub fn connect(target: &Target) -> Result<Client> {
    let mut config = target.config.clone();
    // libpq never uses TLS on a Unix socket (the server refuses it there), whatever sslmode.
    if only_unix_sockets(&config) {
        config.ssl_mode(SslMode::Disable);
    }
    if config.get_hosts().is_empty() {
        // Only `hostaddr`s: the certificate is checked against the address connected to.
        for addr in config.get_hostaddrs().to_vec() {
            config.host(&addr.to_string());
        }
    }
    let check = match config.get_ssl_mode() {
        SslMode::Disable => Check::Nothing,
        _ => check_for(target)?,
    };
    let connector = MakeRustlsConnect::new(client_config(&check)?);
    config
        .connect(connector)
        .map_err(|e| explain_handshake(target, &check, e))
}

fn only_unix_sockets(config: &Config) -> bool {
    #[cfg(unix)]
    let unix = |host: &Host| matches!(host, Host::Unix(_));
    #[cfg(not(unix))]
    let unix = |_: &Host| false;
    !config.get_hosts().is_empty()
        && config.get_hostaddrs().is_empty()
        && config.get_hosts().iter().all(unix)
}

/// What the server's certificate is checked for.
enum Check {
    /// Nothing: the connection is encrypted, but any server may be at the other end.
    Nothing,
    /// Signed by one of `roots` (verify-ca, or require with a root certificate at hand).
    Chain(Roots),
    /// Signed by one of `roots` and issued for the host connected to (verify-full).
    ChainAndName(Roots),
}

/// Trusted authorities and where they came from, for messages.
struct Roots {
    store: Arc<RootCertStore>,
    from: String,
}

/// libpq's rules: prefer and allow never check; require checks the chain when a root
/// certificate file is named or found at the default place; verify-ca and verify-full need
/// one.
fn check_for(target: &Target) -> Result<Check> {
    Ok(match target.tls {
        Tls::Off | Tls::Prefer => Check::Nothing,
        Tls::Require => match roots(target)? {
            Some(roots) => Check::Chain(roots),
            None => Check::Nothing,
        },
        Tls::VerifyCa => Check::Chain(needed_roots(target, "verify-ca")?),
        Tls::VerifyFull => Check::ChainAndName(needed_roots(target, "verify-full")?),
    })
}

fn needed_roots(target: &Target, mode: &str) -> Result<Roots> {
    roots(target)?.ok_or_else(|| {
        Error::invalid(format!(
            "cannot connect to {}: sslmode={mode} needs the certificate of the authority that \
             signed the server's: pass sslrootcert=FILE (PEM), sslrootcert=system for the \
             system's trusted authorities, or put it in ~/.postgresql/root.crt",
            target.name()
        ))
        .into()
    })
}

/// The trusted authorities: `sslrootcert`, or else `~/.postgresql/root.crt` if it exists.
fn roots(target: &Target) -> Result<Option<Roots>> {
    match target.root_cert.as_deref() {
        Some(SYSTEM_ROOTS) => system_roots(target).map(Some),
        Some(file) => file_roots(target, Path::new(file)).map(Some),
        None => match default_root_file().filter(|path| path.exists()) {
            Some(path) => file_roots(target, &path).map(Some),
            None => Ok(None),
        },
    }
}

/// libpq's default: `root.crt` in `.postgresql` in the home folder.
fn default_root_file() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|dirs| dirs.home_dir().join(".postgresql/root.crt"))
}

fn file_roots(target: &Target, path: &Path) -> Result<Roots> {
    let shown = visible(&path.display().to_string(), 200);
    let refuse = |why: String| -> anyhow::Error {
        Error::invalid(format!(
            "cannot connect to {}: root certificates '{shown}' {why}",
            target.name()
        ))
        .into()
    };
    let bytes = std::fs::read(path).map_err(|e| refuse(format!("cannot be read: {e}")))?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| refuse(format!("are not PEM certificates: {e}")))?;
    let mut store = RootCertStore::empty();
    let (added, _) = store.add_parsable_certificates(certs);
    if added == 0 {
        return Err(refuse("hold no certificate rustls can use".to_string()));
    }
    Ok(Roots {
        store: Arc::new(store),
        from: format!("'{shown}'"),
    })
}

fn system_roots(target: &Target) -> Result<Roots> {
    let found = rustls_native_certs::load_native_certs();
    let mut store = RootCertStore::empty();
    store.add_parsable_certificates(found.certs);
    if store.is_empty() {
        return Err(Error::invalid(format!(
            "cannot connect to {}: sslrootcert=system found no trusted authorities on this \
             system (install ca-certificates, or pass sslrootcert=FILE)",
            target.name()
        ))
        .into());
    }
    Ok(Roots {
        store: Arc::new(store),
        from: "the system's trusted authorities".to_string(),
    })
}

fn client_config(check: &Check) -> Result<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Verifier {
        roots: match check {
            Check::Nothing => None,
            Check::Chain(roots) | Check::ChainAndName(roots) => Some(roots.store.clone()),
        },
        check_name: matches!(check, Check::ChainAndName(_)),
        provider: provider.clone(),
    };
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    // What libpq 17 sends, and what a server taking direct TLS connections requires.
    config.alpn_protocols = vec![b"postgresql".to_vec()];
    Ok(config)
}

/// Checks the server's certificate as far as the mode asks, always with rustls' own
/// functions; the handshake's signatures are checked in every mode, so the connection is
/// encrypted to whoever holds the certificate's key.
#[derive(Debug)]
struct Verifier {
    roots: Option<Arc<RootCertStore>>,
    check_name: bool,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Some(roots) = &self.roots {
            let cert = ParsedCertificate::try_from(end_entity)?;
            let algorithms = self.provider.signature_verification_algorithms.all;
            verify_server_cert_signed_by_trust_anchor(
                &cert,
                roots,
                intermediates,
                now,
                algorithms,
            )?;
            if self.check_name {
                verify_server_name(&cert, server_name)?;
            }
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A failed TLS handshake as a database error saying what to change; any other failure is
/// passed on as it is.
fn explain_handshake(target: &Target, check: &Check, err: postgres::Error) -> anyhow::Error {
    let reason = match tls_failure(&err) {
        Some(failure) => refused(check, failure),
        // The driver's own words for a server that answered the TLS request with no.
        None if says(&err, "does not support TLS") => format!(
            "the server does not accept TLS connections (sslmode={} needs them: turn ssl on \
             in the server's configuration, or use sslmode=prefer to connect unencrypted)",
            mode_name(target.tls)
        ),
        None => return err.into(),
    };
    Error::database(format!("cannot connect to {}: {reason}", target.name())).into()
}

/// Whether the error or one of its causes says `text`.
fn says(err: &postgres::Error, text: &str) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(current) = cause {
        if current.to_string().contains(text) {
            return true;
        }
        cause = current.source();
    }
    false
}

/// The rustls error under a driver error: tokio-rustls hands it over inside an I/O error.
fn tls_failure(err: &postgres::Error) -> Option<&rustls::Error> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(current) = cause {
        if let Some(found) = current.downcast_ref::<rustls::Error>() {
            return Some(found);
        }
        let inner = current
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>());
        if inner.is_some() {
            return inner;
        }
        cause = current.source();
    }
    None
}

fn refused(check: &Check, failure: &rustls::Error) -> String {
    let from = match check {
        Check::Chain(roots) | Check::ChainAndName(roots) => roots.from.as_str(),
        Check::Nothing => "the trusted authorities",
    };
    match failure {
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => format!(
            "the server's certificate is not signed by an authority in {from} (pass \
             sslrootcert=FILE with the certificate of the authority that signed it)"
        ),
        rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext {
            expected,
            presented,
        }) => format!(
            "the server's certificate is for {}, not {} (connect by a name it holds, or have \
             a certificate issued for this one; sslmode=verify-ca checks the authority alone)",
            names(presented),
            visible(&expected.to_str(), 200)
        ),
        rustls::Error::InvalidCertificate(CertificateError::NotValidForName) => {
            "the server's certificate is not issued for the host connected to (connect by a \
             name it holds; sslmode=verify-ca checks the authority alone)"
                .to_string()
        }
        rustls::Error::InvalidCertificate(
            CertificateError::Expired | CertificateError::ExpiredContext { .. },
        ) => "the server's certificate has expired (renew it on the server)".to_string(),
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. },
        ) => {
            "the server's certificate is not valid yet (is this machine's clock right?)".to_string()
        }
        other => format!(
            "the TLS handshake failed: {}",
            visible(&other.to_string(), 300)
        ),
    }
}

/// The names a certificate holds, as webpki lists them (`DnsName("db")`, `IpAddress(10.0.0.1)`),
/// made plain; `no name at all` for none.
fn names(presented: &[String]) -> String {
    if presented.is_empty() {
        return "no host name at all".to_string();
    }
    let plain: Vec<String> = presented
        .iter()
        .map(|name| {
            let inner = name
                .strip_prefix("DnsName(\"")
                .and_then(|rest| rest.strip_suffix("\")"))
                .or_else(|| {
                    name.strip_prefix("IpAddress(")
                        .and_then(|rest| rest.strip_suffix(')'))
                })
                .unwrap_or(name);
            visible(inner, 100)
        })
        .collect();
    plain.join(", ")
}

fn mode_name(tls: Tls) -> &'static str {
    match tls {
        Tls::Off => "disable",
        Tls::Prefer => "prefer",
        Tls::Require => "require",
        Tls::VerifyCa => "verify-ca",
        Tls::VerifyFull => "verify-full",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_names_a_certificate_holds_read_plainly() {
        let presented = vec![
            "DnsName(\"db.example\")".to_string(),
            "IpAddress(10.0.0.1)".to_string(),
            "DirectoryName".to_string(),
        ];
        assert_eq!(names(&presented), "db.example, 10.0.0.1, DirectoryName");
        assert_eq!(names(&[]), "no host name at all");
    }
}
