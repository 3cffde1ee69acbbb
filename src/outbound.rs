//! The HTTP requests tessera itself makes (back-channel logout tokens to
//! clients, the command line's calls to a running server): one TLS setup
//! for all of them.

use std::sync::Arc;
use ureq::tls::{RootCerts, TlsConfig, TlsProvider};

/// rustls on the binary's one crypto provider (aws-lc-rs, never ring),
/// with Mozilla's roots built in, so nothing depends on the host's.
pub fn tls() -> TlsConfig {
    TlsConfig::builder()
        .provider(TlsProvider::Rustls)
        .root_certs(RootCerts::WebPki)
        .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .build()
}
