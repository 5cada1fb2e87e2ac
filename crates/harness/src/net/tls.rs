//! `mqtts://`: TLS to the broker with rustls, verifying its certificate
//! against a CA file or the web's roots, or (asked for by name) not at all.

use std::io;
use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// How clients wrap their connections in TLS.
#[derive(Clone)]
pub struct Tls {
    config: Arc<ClientConfig>,
    server_name: ServerName<'static>,
}

impl Tls {
    /// Verifies the broker's certificate for `host` against the CAs in
    /// `ca` (PEM), or the web's roots without one; `insecure` accepts any
    /// certificate (the handshake's signatures are still checked).
    pub fn new(host: &str, ca: Option<&Path>, insecure: bool) -> Result<Tls, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS: {e}"))?;
        let config = if insecure {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
                .with_no_client_auth()
        } else {
            let mut roots = RootCertStore::empty();
            match ca {
                Some(path) => {
                    let certs = CertificateDer::pem_file_iter(path)
                        .map_err(|e| format!("--ca {}: {e}", path.display()))?
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|e| format!("--ca {}: {e}", path.display()))?;
                    if certs.is_empty() {
                        return Err(format!(
                            "--ca {}: no PEM certificate in the file",
                            path.display()
                        ));
                    }
                    for c in certs {
                        roots
                            .add(c)
                            .map_err(|e| format!("--ca {}: {e}", path.display()))?;
                    }
                }
                None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        };
        let server_name = ServerName::try_from(host.to_owned())
            .map_err(|e| format!("TLS: {host:?} is not a valid server name: {e}"))?;
        Ok(Tls {
            config: Arc::new(config),
            server_name,
        })
    }

    pub async fn connect(&self, tcp: TcpStream) -> io::Result<TlsStream<TcpStream>> {
        TlsConnector::from(self.config.clone())
            .connect(self.server_name.clone(), tcp)
            .await
    }

    /// One handshake with the broker at `addr` within `limit`: whether its
    /// certificate is accepted.
    pub fn probe(
        &self,
        addr: std::net::SocketAddr,
        limit: std::time::Duration,
    ) -> Result<(), String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        rt.block_on(async {
            let handshake = async {
                let tcp = TcpStream::connect(addr).await?;
                self.connect(tcp).await
            };
            match tokio::time::timeout(limit, handshake).await {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err(format!("no handshake within {} s", limit.as_secs())),
            }
        })
    }
}

/// `--insecure`: any certificate is accepted, but the handshake must still
/// be signed by the key of the certificate the broker presented.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
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
            &self.0.signature_verification_algorithms,
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
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
