//! Which TLS roots genupdate trusts beyond its built-in ones: `--ca-file PATH`
//! (`GENUPDATE_CA_FILE`), a PEM file of root certificates, for a company proxy or
//! firewall that inspects TLS and signs with its own root.
//!
//! The file is read and checked when the flags are resolved, so a missing, empty or
//! broken file is a usage error (exit 2) naming the file before anything is sent.
//! The operating system's certificate store and the built-in webpki roots are
//! trusted as well (see `client::http_client`).

use std::path::Path;

/// The flag and variable, for messages.
const FLAG: &str = "--ca-file / GENUPDATE_CA_FILE";

/// Read `path` as PEM root certificates, checked the way the HTTP client will use them.
pub fn load_ca_file(path: &Path) -> Result<Vec<reqwest::Certificate>, String> {
    let shown = path.display();
    let bytes = std::fs::read(path).map_err(|e| format!("{FLAG} {shown}: cannot read it: {e}"))?;
    let certs = parse_pem(&bytes).map_err(|e| format!("{FLAG} {shown}: {e}"))?;
    // A certificate whose PEM armour is fine but whose content is not a certificate
    // is only found when it is added to a trust store: try that now, not mid-run.
    let mut probe = reqwest::Client::builder().tls_built_in_root_certs(false);
    for cert in &certs {
        probe = probe.add_root_certificate(cert.clone());
    }
    probe.build().map_err(|e| {
        format!("{FLAG} {shown}: not a usable root certificate ({e}); expected PEM certificates")
    })?;
    Ok(certs)
}

/// The certificates of a PEM bundle; an error says what is wrong in words.
pub fn parse_pem(bytes: &[u8]) -> Result<Vec<reqwest::Certificate>, String> {
    const BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";
    if !bytes.windows(BEGIN.len()).any(|w| w == BEGIN) {
        return Err(
            "holds no PEM certificate (a text file of -----BEGIN CERTIFICATE----- blocks is \
             expected; a binary DER .cer converts with `openssl x509 -inform der -in FILE.cer \
             -out FILE.pem`)"
                .into(),
        );
    }
    let certs = reqwest::Certificate::from_pem_bundle(bytes)
        .map_err(|e| format!("is not valid PEM ({e})"))?;
    if certs.is_empty() {
        return Err("holds no readable PEM certificate".into());
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_bundles_are_read_or_refused_in_words() {
        let table: &[(&[u8], Option<&str>)] = &[
            (b"", Some("no PEM certificate")),
            (b"\x30\x82\x01\x0a", Some("no PEM certificate")),
            (b"hello", Some("no PEM certificate")),
            (
                b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
                Some("PEM"),
            ),
        ];
        for (bytes, want) in table {
            match (parse_pem(bytes), want) {
                (Err(e), Some(w)) => assert!(e.contains(w), "{e}"),
                (Ok(c), None) => assert!(!c.is_empty()),
                (other, _) => panic!("{:?}: {:?}", String::from_utf8_lossy(bytes), other.err()),
            }
        }
    }

    #[test]
    fn a_missing_file_is_named() {
        let e = load_ca_file(Path::new("/nonexistent/corp-root.pem")).unwrap_err();
        assert!(
            e.contains("--ca-file") && e.contains("/nonexistent/corp-root.pem"),
            "{e}"
        );
    }
}
