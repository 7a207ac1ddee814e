//! The PKCS#12 key derivation function (RFC 7292 appendix B.2) and its password encoding.
//!
//! Written here because no crate of this RustCrypto generation implements it: `pkcs5` does PBKDF2
//! and scrypt only, and the `pkcs12` crate that has it cannot resolve beside `cms 0.3.0-rc.0`.
//! It is still what protects every "legacy" PKCS#12 file (pbeWithSHAAnd3-KeyTripleDES-CBC,
//! pbeWithSHAAnd40BitRC2-CBC, ...) and derives the MAC key of every file except RFC 9579 ones.

use sha2::digest::{Digest, block_api::BlockSizeUser};

/// What the derived bytes are for (the "ID" byte of appendix B.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Purpose {
    EncryptionKey = 1,
    Iv = 2,
    MacKey = 3,
}

/// The password as RFC 7292 appendix B.1 wants it: a BMPString (UTF-16 big-endian) followed by two
/// zero bytes. Characters outside the BMP become surrogate pairs, as OpenSSL writes them.
pub(crate) fn bmp_password(password: &str) -> Vec<u8> {
    let mut bytes: Vec<u8> = password.encode_utf16().flat_map(u16::to_be_bytes).collect();
    bytes.extend_from_slice(&[0, 0]);
    bytes
}

/// RFC 7292 appendix B.2 with hash `D`, for `out_len` bytes. `iterations` below 1 counts as 1.
pub(crate) fn derive<D: Digest + BlockSizeUser>(
    password: &[u8],
    salt: &[u8],
    purpose: Purpose,
    iterations: u32,
    out_len: usize,
) -> Vec<u8> {
    let v = <D as BlockSizeUser>::block_size();
    let u = <D as Digest>::output_size();

    // Step 1-4: D is v copies of the ID byte; I = S || P, each repeated up to a multiple of v.
    let diversifier = vec![purpose as u8; v];
    let mut input = repeat_to_block_multiple(salt, v);
    input.extend(repeat_to_block_multiple(password, v));

    let mut out = Vec::with_capacity(out_len);
    loop {
        // Step 6a: A_i = H^r(D || I).
        let mut block = D::new()
            .chain_update(&diversifier)
            .chain_update(&input)
            .finalize();
        for _ in 1..iterations {
            block = D::digest(&block);
        }
        let wanted = out_len.saturating_sub(out.len()).min(u);
        out.extend_from_slice(block.get(..wanted).unwrap_or(&block));
        if out.len() >= out_len {
            return out;
        }
        // Step 6b-c: B = A_i repeated to v bytes; each v-byte block I_j becomes (I_j + B + 1) mod 2^(8v).
        let addend: Vec<u8> = block.iter().copied().cycle().take(v).collect();
        for chunk in input.chunks_mut(v) {
            let mut carry = 1u16;
            for (byte, add) in chunk.iter_mut().zip(&addend).rev() {
                let sum = u16::from(*byte) + u16::from(*add) + carry;
                // Keep the low byte; the high byte is the carry into the next (more significant) one.
                *byte = sum.to_be_bytes()[1];
                carry = sum >> 8;
            }
        }
    }
}

/// `data` repeated to `v * ceil(len / v)` bytes; empty stays empty (appendix B.2 step 2-3).
fn repeat_to_block_multiple(data: &[u8], v: usize) -> Vec<u8> {
    let len = data.len().div_ceil(v) * v;
    data.iter().copied().cycle().take(len).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha1::Sha1;

    // Known answers from OpenSSL 3's own implementation, e.g.
    // `openssl kdf -keylen 24 -kdfopt digest:SHA1 -kdfopt hexpass:0073006D006500670000
    //  -kdfopt hexsalt:0A58CF64530D823F -kdfopt iter:1 -kdfopt id:1 PKCS12KDF`
    // (hexpass is the BMPString "smeg" plus two zero bytes).
    const SALT: [u8; 8] = [0x0A, 0x58, 0xCF, 0x64, 0x53, 0x0D, 0x82, 0x3F];
    const SALT2: [u8; 8] = [0x05, 0xDE, 0xC9, 0x59, 0xAC, 0xFF, 0x72, 0xF7];

    #[test]
    fn bmp_password_has_trailing_nulls() {
        assert_eq!(bmp_password("ab"), [0, b'a', 0, b'b', 0, 0]);
        assert_eq!(bmp_password(""), [0, 0]);
        // U+1F600 is a surrogate pair in UTF-16.
        assert_eq!(bmp_password("\u{1F600}"), [0xD8, 0x3D, 0xDE, 0x00, 0, 0]);
    }

    #[test]
    fn sha1_key_and_iv_match_openssl() {
        let password = bmp_password("smeg");
        let key = derive::<Sha1>(&password, &SALT, Purpose::EncryptionKey, 1, 24);
        assert_eq!(
            hex::encode_upper(key),
            "8AAAE6297B6CB04642AB5B077851284EB7128F1A2A7FBCA3"
        );
        let iv = derive::<Sha1>(&password, &SALT, Purpose::Iv, 1, 8);
        assert_eq!(hex::encode_upper(iv), "79993DFE048D3B76");
    }

    #[test]
    fn output_longer_than_one_hash_matches_openssl() {
        // 50 bytes need three SHA-1 rounds, so the I_j update of step 6c is exercised.
        let password = bmp_password("smeg");
        let key = derive::<Sha1>(&password, &SALT, Purpose::EncryptionKey, 1, 50);
        assert_eq!(
            hex::encode_upper(key),
            "8AAAE6297B6CB04642AB5B077851284EB7128F1A2A7FBCA340830D0CE0D7879D3EFEDB33C8AE755C95B9DEFAF51CF797FCA4"
        );
    }

    #[test]
    fn sha2_mac_keys_match_openssl() {
        let password = bmp_password("queeg");
        let sha256 = derive::<sha2::Sha256>(&password, &SALT2, Purpose::MacKey, 1000, 32);
        assert_eq!(
            hex::encode_upper(sha256),
            "64BD552BB4ECEC8224B888D4FA1DC49C6FF894BFC59B10402D83AD46C0D8DA4B"
        );
        // SHA-512 has a 128-byte block, unlike SHA-1 and SHA-256.
        let sha512 = derive::<sha2::Sha512>(&password, &SALT2, Purpose::MacKey, 1000, 64);
        assert_eq!(
            hex::encode_upper(sha512),
            "B2587204C6CBDA975C143740C4D3309850AC282BF83FB0E44F0FB90F2F76AE37ED6F81CFE5B0709A7920BC5DEE028715C7E18DD0DA540D7BAF112A4A7F08878B"
        );
    }
}
