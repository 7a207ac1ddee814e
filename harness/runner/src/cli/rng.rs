//! The randomness behind a command's output (salts, IVs, content keys, MIME boundaries, PSS salts):
//! derived from a `--seed` label for byte-stable output, else fresh from the operating system.

use anyhow::Context as _;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng as _;

/// `smime::rng::seeded(label)` when a seed label is given (any text: `7` works as well as
/// `fixtures/alice`), else a generator seeded by the operating system's CSPRNG.
pub(crate) fn rng(seed: Option<&str>) -> anyhow::Result<ChaCha20Rng> {
    match seed {
        Some(label) => Ok(smime::rng::seeded(label)),
        None => {
            let mut seed = [0u8; 32];
            getrandom::fill(&mut seed)
                .map_err(|e| anyhow::anyhow!("{e}"))
                .context("the operating system gave no randomness; pass --seed LABEL instead")?;
            Ok(ChaCha20Rng::from_seed(seed))
        }
    }
}
