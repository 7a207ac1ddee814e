//! Private keys: the algorithms the lab issues, deterministic generation, PKCS#8 in and out.
