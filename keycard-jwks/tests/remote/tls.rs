//! An https identity provider on 127.0.0.1 whose certificate a test CA signed (both made here
//! with rcgen): reached through `root_certificates_pem`, refused without it.

use std::sync::Arc;

use keycard::{Algorithm, Claims, Validator};
use keycard_jwks::{Error, RemoteKeySet, ValidatorExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::{es256, jwks, token};

/// A test CA, and an https server on 127.0.0.1 with a leaf certificate of that CA, serving a
/// discovery document and `document` as its JWK Set. Stops when dropped.
struct HttpsProvider {
    ca_pem: String,
    base: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for HttpsProvider {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl HttpsProvider {
    async fn start(document: String) -> HttpsProvider {
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(rcgen::DnType::CommonName, "keycard test CA");
        ca.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
        ];
        let ca =
            rcgen::CertifiedIssuer::self_signed(ca, rcgen::KeyPair::generate().unwrap()).unwrap();
        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
            .unwrap()
            .signed_by(&leaf_key, &ca)
            .unwrap();

        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
        )
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!(
            "https://127.0.0.1:{}",
            listener.local_addr().unwrap().port()
        );
        let discovery = serde_json::json!({
            "issuer": format!("{base}/"),
            "jwks_uri": format!("{base}/jwks"),
        })
        .to_string();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let acceptor = acceptor.clone();
                let (discovery, document) = (discovery.clone(), document.clone());
                tokio::spawn(async move {
                    // A client that refuses the certificate ends the handshake: nothing to serve.
                    let Ok(mut tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    let mut request = Vec::new();
                    let mut buffer = [0; 1024];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match tls.read(&mut buffer).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buffer[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&request);
                    let body = if head.starts_with("GET /jwks ") {
                        document
                    } else if head.starts_with("GET /.well-known/openid-configuration ") {
                        discovery
                    } else {
                        String::new()
                    };
                    let status = if body.is_empty() {
                        "404 Not Found"
                    } else {
                        "200 OK"
                    };
                    let response = format!(
                        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = tls.write_all(response.as_bytes()).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        HttpsProvider {
            ca_pem: ca.pem(),
            base,
            task,
        }
    }
}

#[tokio::test]
async fn an_https_provider_behind_a_private_ca_is_reached_with_its_root_certificate() {
    let key = es256("tls");
    let provider = HttpsProvider::start(jwks(&[&key])).await;
    let issuer = format!("{}/", provider.base);
    let keys = RemoteKeySet::discover(issuer.clone())
        .root_certificates_pem(provider.ca_pem.clone())
        .algorithms([Algorithm::ES256])
        .no_background_refresh()
        .await
        .unwrap();
    assert_eq!(keys.jwks_uri(), format!("{}/jwks", provider.base));
    let validator = Validator::builder_with_remote(&keys)
        .audience("api")
        .build()
        .unwrap();
    let claims: Claims = validator.verify(&token(&key, &issuer)).unwrap();
    assert_eq!(claims.issuer.as_deref(), Some(issuer.as_str()));
}

#[tokio::test]
async fn without_the_private_root_the_certificate_is_refused() {
    let provider = HttpsProvider::start(jwks(&[&es256("tls")])).await;
    let err = RemoteKeySet::from_url(format!("{}/jwks", provider.base))
        .algorithms([Algorithm::ES256])
        .no_background_refresh()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Fetch { .. }), "{err}");
    assert!(err.to_string().contains("certificate"), "{err}");
}

#[tokio::test]
async fn a_root_bundle_without_a_certificate_is_a_configuration_error() {
    for pem in [
        "",
        "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
    ] {
        let err = RemoteKeySet::from_url("https://127.0.0.1:1/jwks")
            .root_certificates_pem(pem)
            .algorithms([Algorithm::ES256])
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Configuration(_)), "{err}");
        assert!(
            err.to_string().contains("root certificate bundle #0"),
            "{err}"
        );
    }
}

#[tokio::test]
async fn a_caller_supplied_client_is_used_as_it_is() {
    let key = es256("tls");
    let provider = HttpsProvider::start(jwks(&[&key])).await;
    let ca = reqwest::Certificate::from_pem(provider.ca_pem.as_bytes()).unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(ca)
        .redirect(RemoteKeySet::redirect_policy())
        .build()
        .unwrap();
    let keys = RemoteKeySet::from_url(format!("{}/jwks", provider.base))
        .http_client(client)
        .algorithms([Algorithm::ES256])
        .no_background_refresh()
        .await
        .unwrap();
    assert_eq!(keys.keys().len(), 1);
}
