//! Just enough DER (ITU-T X.690) to take apart the key containers `ring` does not read itself:
//! SubjectPublicKeyInfo (RFC 5280 §4.1.2.7) and PKCS#1 `RSAPublicKey` (RFC 8017 §A.1.1).

use crate::error::Error;

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OID: u8 = 0x06;
const OCTET_STRING: u8 = 0x04;

/// rsaEncryption, 1.2.840.113549.1.1.1 (RFC 8017 §A.1).
pub(crate) const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
/// id-ecPublicKey, 1.2.840.10045.2.1 (RFC 5480 §2.1.1).
pub(crate) const OID_EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// secp256r1 (P-256), 1.2.840.10045.3.1.7 (RFC 5480 §2.1.1.1).
pub(crate) const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// secp384r1 (P-384), 1.3.132.0.34 (RFC 5480 §2.1.1.1).
pub(crate) const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
/// id-Ed25519, 1.3.101.112 (RFC 8410 §3).
pub(crate) const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];

/// A cursor over DER bytes.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(rest: &'a [u8]) -> Self {
        Reader { rest }
    }

    /// Reads one tag-length-value and returns its contents, requiring `tag`.
    fn read(&mut self, tag: u8) -> Result<&'a [u8], Error> {
        let (&found, rest) = self.rest.split_first().ok_or_else(truncated)?;
        if found != tag {
            return Err(Error::key(format!(
                "DER: expected tag 0x{tag:02x}, found 0x{found:02x}"
            )));
        }
        let (&first, mut rest) = rest.split_first().ok_or_else(truncated)?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            // Long form: 1 to 4 length bytes, minimal (X.690 §10.1), no indefinite form.
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 4 || rest.len() < count {
                return Err(Error::key("DER: unsupported length encoding"));
            }
            let (digits, after) = rest.split_at(count);
            rest = after;
            let len = digits
                .iter()
                .fold(0usize, |n, &d| (n << 8) | usize::from(d));
            if digits[0] == 0 || len < 0x80 {
                return Err(Error::key("DER: non-minimal length"));
            }
            len
        };
        if rest.len() < len {
            return Err(truncated());
        }
        let (contents, after) = rest.split_at(len);
        self.rest = after;
        Ok(contents)
    }

    /// Reads the next element whatever its tag, returning tag and contents.
    fn read_any(&mut self) -> Result<(u8, &'a [u8]), Error> {
        let tag = *self.rest.first().ok_or_else(truncated)?;
        Ok((tag, self.read(tag)?))
    }

    fn finish(&self) -> Result<(), Error> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(Error::key("DER: trailing data"))
        }
    }
}

#[cold]
fn truncated() -> Error {
    Error::key("DER: truncated")
}

/// The parts of a SubjectPublicKeyInfo.
pub(crate) struct Spki<'a> {
    /// The algorithm OID's contents.
    pub(crate) algorithm: &'a [u8],
    /// The parameters' contents when they are an OID (EC curves), else `None`.
    pub(crate) curve: Option<&'a [u8]>,
    /// The subjectPublicKey BIT STRING's bytes (without the unused-bits octet).
    pub(crate) key: &'a [u8],
}

/// Parses a DER SubjectPublicKeyInfo.
pub(crate) fn parse_spki(der: &[u8]) -> Result<Spki<'_>, Error> {
    let mut outer = Reader::new(der);
    let mut spki = Reader::new(outer.read(SEQUENCE)?);
    outer.finish()?;
    let mut alg_id = Reader::new(spki.read(SEQUENCE)?);
    let algorithm = alg_id.read(OID)?;
    let curve = if alg_id.rest.is_empty() {
        None
    } else {
        match alg_id.read_any()? {
            (OID, curve) => Some(curve),
            _ => None, // NULL for RSA
        }
    };
    alg_id.finish()?;
    let bits = spki.read(BIT_STRING)?;
    spki.finish()?;
    match bits.split_first() {
        Some((0, key)) => Ok(Spki {
            algorithm,
            curve,
            key,
        }),
        _ => Err(Error::key("DER: public key bit string has unused bits")),
    }
}

/// Parses a PKCS#1 `RSAPublicKey` and returns `(n, e)` as unsigned big-endian bytes.
pub(crate) fn parse_rsa_public_key(der: &[u8]) -> Result<(&[u8], &[u8]), Error> {
    let mut outer = Reader::new(der);
    let mut seq = Reader::new(outer.read(SEQUENCE)?);
    outer.finish()?;
    let n = unsigned(seq.read(INTEGER)?)?;
    let e = unsigned(seq.read(INTEGER)?)?;
    seq.finish()?;
    Ok((n, e))
}

/// Returns the contents of the `privateKey` OCTET STRING of a PKCS#8 `PrivateKeyInfo` or
/// `OneAsymmetricKey` (RFC 5208 §5, RFC 5958 §2).
pub(crate) fn pkcs8_private_key(der: &[u8]) -> Result<&[u8], Error> {
    let mut outer = Reader::new(der);
    let mut info = Reader::new(outer.read(SEQUENCE)?);
    outer.finish()?;
    info.read(INTEGER)?;
    info.read(SEQUENCE)?;
    info.read(OCTET_STRING)
}

/// Reads one OCTET STRING that must fill `der` exactly.
pub(crate) fn octet_string(der: &[u8]) -> Result<&[u8], Error> {
    let mut reader = Reader::new(der);
    let contents = reader.read(OCTET_STRING)?;
    reader.finish()?;
    Ok(contents)
}

/// Strips the sign octet from a positive DER INTEGER.
fn unsigned(int: &[u8]) -> Result<&[u8], Error> {
    match int {
        [] => Err(Error::key("DER: empty integer")),
        [first, ..] if first & 0x80 != 0 => Err(Error::key("DER: negative integer")),
        [0, rest @ ..] if !rest.is_empty() => Ok(rest),
        _ => Ok(int),
    }
}

/// Encodes one DER element.
pub(crate) fn encode(tag: u8, contents: &[u8], out: &mut Vec<u8>) {
    out.push(tag);
    let bytes = contents.len().to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count();
    let digits = &bytes[skip..];
    match digits {
        [] => out.push(0),
        [short] if *short < 0x80 => out.push(*short),
        // At most size_of::<usize>() = 8 length octets, so the count fits in the low bits.
        _ => {
            out.push(0x80 | u8::try_from(digits.len()).unwrap_or(0x7f));
            out.extend_from_slice(digits);
        }
    }
    out.extend_from_slice(contents);
}

/// Encodes a SubjectPublicKeyInfo around `key`.
pub(crate) fn encode_spki(algorithm: &[u8], curve: Option<&[u8]>, key: &[u8]) -> Vec<u8> {
    let mut alg_id = Vec::new();
    encode(OID, algorithm, &mut alg_id);
    match curve {
        Some(curve) => encode(OID, curve, &mut alg_id),
        None if algorithm == OID_RSA => encode(0x05, &[], &mut alg_id), // NULL
        None => {}
    }
    let mut bits = Vec::with_capacity(key.len() + 1);
    bits.push(0);
    bits.extend_from_slice(key);
    let mut body = Vec::new();
    encode(SEQUENCE, &alg_id, &mut body);
    encode(BIT_STRING, &bits, &mut body);
    let mut out = Vec::new();
    encode(SEQUENCE, &body, &mut out);
    out
}

/// Encodes a PKCS#1 `RSAPublicKey` from unsigned big-endian `n` and `e`.
pub(crate) fn encode_rsa_public_key(n: &[u8], e: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    for int in [n, e] {
        let int = strip_zeros(int);
        let mut contents = Vec::with_capacity(int.len() + 1);
        if int.first().is_none_or(|b| b & 0x80 != 0) {
            contents.push(0);
        }
        contents.extend_from_slice(int);
        encode(INTEGER, &contents, &mut body);
    }
    let mut out = Vec::new();
    encode(SEQUENCE, &body, &mut out);
    out
}

/// Drops leading zero octets of an unsigned big-endian integer.
pub(crate) fn strip_zeros(int: &[u8]) -> &[u8] {
    let skip = int.iter().take_while(|&&b| b == 0).count();
    &int[skip..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spki_round_trips() {
        let point = [4u8; 65];
        let der = encode_spki(OID_EC, Some(OID_P256), &point);
        let spki = parse_spki(&der).unwrap();
        assert_eq!(spki.algorithm, OID_EC);
        assert_eq!(spki.curve, Some(OID_P256));
        assert_eq!(spki.key, point);
    }

    #[test]
    fn rsa_public_key_round_trips_with_sign_octets() {
        let n = [0xc0u8; 256];
        let der = encode_rsa_public_key(&n, &[1, 0, 1]);
        let (n2, e2) = parse_rsa_public_key(&der).unwrap();
        assert_eq!(n2, n);
        assert_eq!(e2, [1, 0, 1]);
    }

    #[test]
    fn rejects_truncation_trailing_data_and_bad_lengths() {
        let der = encode_spki(OID_ED25519, None, &[9; 32]);
        for cut in 0..der.len() {
            assert!(parse_spki(&der[..cut]).is_err(), "cut at {cut}");
        }
        let mut long = der.clone();
        long.push(0);
        assert!(parse_spki(&long).is_err());
        // Indefinite length and a non-minimal long form.
        assert!(parse_spki(&[0x30, 0x80, 0, 0]).is_err());
        assert!(parse_spki(&[0x30, 0x81, 0x01, 0x00]).is_err());
    }
}
