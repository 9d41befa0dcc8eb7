//! Whom an HttpSink trusts, and who it is: the system's trust store, found as
//! OpenSSL and curl find it (`SSL_CERT_FILE` and `SSL_CERT_DIR` first, then the
//! distribution's bundle), or only the sink's `caFile`; and its client certificate
//! for mutual TLS. Verification is never switched off.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use ureq::tls::{Certificate, ClientCert, PemItem, PrivateKey, RootCerts, TlsConfig};

/// The files of a sink's TLS options, as given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct TlsFiles {
    /// `caFile`: a PEM bundle trusted instead of the system's store.
    pub ca_file: Option<PathBuf>,
    /// `clientCert` and `clientKey`: the certificate (chain) and key presented to
    /// the server, both or neither.
    pub client: Option<(PathBuf, PathBuf)>,
}

/// What the files held when they were read: a changed file (a renewed client
/// certificate, say) is read again at the next post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsKey {
    files: TlsFiles,
    modified: Vec<Option<SystemTime>>,
}

impl TlsKey {
    /// The files, whatever their times.
    pub fn files(&self) -> &TlsFiles {
        &self.files
    }
}

impl TlsFiles {
    fn paths(&self) -> impl Iterator<Item = &Path> {
        let client = self.client.iter().flat_map(|(c, k)| [c.as_path(), k.as_path()]);
        self.ca_file.as_deref().into_iter().chain(client)
    }

    /// The files and their modification times now.
    pub fn key(&self) -> TlsKey {
        let modified = self.paths().map(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok()).collect();
        TlsKey { files: self.clone(), modified }
    }

    /// The TLS configuration these files give; an error names the file and why.
    pub fn config(&self) -> Result<TlsConfig, String> {
        let roots = match &self.ca_file {
            Some(path) => {
                Arc::new(certificates(path).map_err(|e| format!("caFile {}: {e}", path.display()))?)
            }
            None => system_roots()?,
        };
        let client = match &self.client {
            Some((cert, key)) => {
                let chain = certificates(cert).map_err(|e| format!("clientCert {}: {e}", cert.display()))?;
                let key = private_key(key).map_err(|e| format!("clientKey {}: {e}", key.display()))?;
                Some(ClientCert::new_with_certs(&chain, key))
            }
            None => None,
        };
        Ok(TlsConfig::builder().root_certs(RootCerts::Specific(roots)).client_cert(client).build())
    }
}

/// Why a PEM file cannot be used. The texts are those of the polyfill too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PemError {
    /// It does not exist.
    NotFound,
    /// It cannot be read.
    Unreadable,
    /// It holds no certificate.
    NoCertificate,
    /// It holds no (unencrypted) private key.
    NoKey,
}

impl std::fmt::Display for PemError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PemError::NotFound => "no such file",
            PemError::Unreadable => "not readable",
            PemError::NoCertificate => "no certificate in it",
            PemError::NoKey => "no private key in it",
        })
    }
}

fn pem_items(path: &Path) -> Result<Vec<PemItem<'static>>, PemError> {
    let pem = std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => PemError::NotFound,
        _ => PemError::Unreadable,
    })?;
    // A damaged section ends the reading: what came before it is kept.
    Ok(ureq::tls::parse_pem(&pem).map_while(Result::ok).collect())
}

/// The certificates of a PEM file; an error when it has none.
pub fn certificates(path: &Path) -> Result<Vec<Certificate<'static>>, PemError> {
    let certs: Vec<_> = pem_items(path)?
        .into_iter()
        .filter_map(|item| match item {
            PemItem::Certificate(c) => Some(c),
            _ => None,
        })
        .collect();
    if certs.is_empty() {
        return Err(PemError::NoCertificate);
    }
    Ok(certs)
}

/// The first private key of a PEM file.
pub fn private_key(path: &Path) -> Result<PrivateKey<'static>, PemError> {
    pem_items(path)?
        .into_iter()
        .find_map(|item| match item {
            PemItem::PrivateKey(k) => Some(k),
            _ => None,
        })
        .ok_or(PemError::NoKey)
}

/// The system's trust store, read once per process.
fn system_roots() -> Result<Arc<Vec<Certificate<'static>>>, String> {
    static ROOTS: OnceLock<Result<Arc<Vec<Certificate<'static>>>, String>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let found = rustls_native_certs::load_native_certs();
            if found.certs.is_empty() {
                let why = found.errors.first().map_or_else(|| "none found".to_string(), |e| e.to_string());
                return Err(format!(
                    "no trusted certificates in the system's store ({why}): install ca-certificates, set \
                     SSL_CERT_FILE, or give the sink a caFile"
                ));
            }
            Ok(Arc::new(found.certs.iter().map(|c| Certificate::from_der(c.as_ref()).to_owned()).collect()))
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_without_certificates_or_keys_is_named_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "not a certificate\n").unwrap();
        assert_eq!(certificates(&junk).unwrap_err(), PemError::NoCertificate);
        assert_eq!(private_key(&junk).unwrap_err(), PemError::NoKey);
        assert_eq!(certificates(&dir.path().join("missing.pem")).unwrap_err(), PemError::NotFound);
        let files = TlsFiles { ca_file: Some(junk.clone()), client: None };
        assert_eq!(files.config().unwrap_err(), format!("caFile {}: no certificate in it", junk.display()));
    }

    #[test]
    fn a_changed_file_changes_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, "a").unwrap();
        let files = TlsFiles { ca_file: Some(ca.clone()), client: None };
        let before = files.key();
        assert_eq!(files.key(), before);
        let later = SystemTime::now() + std::time::Duration::from_secs(5);
        std::fs::File::options().write(true).open(&ca).unwrap().set_modified(later).unwrap();
        assert_ne!(files.key(), before);
    }
}
