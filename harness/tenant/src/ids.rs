//! Deterministic identifiers (GUIDs) for tenant objects, so that two runs of one scenario show
//! the same `Guid`, `ExternalDirectoryObjectId` and tenant id in their snapshots.

use sha1::Digest as _;

/// RFC 4122 name-based UUID, version 5 (SHA-1), in the URL namespace, of
/// `mock-tenant:{kind}:{key}`.
pub fn guid(kind: &str, key: &str) -> String {
    // 6ba7b811-9dad-11d1-80b4-00c04fd430c8, the RFC 4122 URL namespace.
    const NAMESPACE_URL: [u8; 16] = [
        0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30,
        0xc8,
    ];
    let mut hasher = sha1::Sha1::new();
    hasher.update(NAMESPACE_URL);
    hasher.update(format!("mock-tenant:{kind}:{}", key.to_ascii_lowercase()).as_bytes());
    let digest = hasher.finalize();
    let mut bytes = [0u8; 16];
    for (out, byte) in bytes.iter_mut().zip(digest.iter()) {
        *out = *byte;
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x50;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_and_versioned() {
        let a = guid("recipient", "Alice@Contoso.com");
        assert_eq!(a, guid("recipient", "alice@contoso.com"));
        assert_ne!(a, guid("recipient", "bob@contoso.com"));
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "5");
    }
}
