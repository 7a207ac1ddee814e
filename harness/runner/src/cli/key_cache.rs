//! The key cache of `smime-lab scenario run`: the RSA keys a scenario's PKI is issued with,
//! kept between runs so that planning does not generate them again (about a second of CPU per
//! scenario; docs/bench.md).
//!
//! Every key of a plan is a pure function of its label (`pki/<seed>/<id>/key`) and its
//! [`KeySpec`] (`smime::key::Generated`), so the cache remembers keys and never chooses one: a
//! plan made with it is the plan made without, byte for byte. An entry is one file, named by
//! SHA-256 of [`smime::key::GENERATOR_VERSIONS`], the spec and the label (a version bump of a
//! crate that decides keys names every entry anew), holding the key as PKCS#8 DER.
//!
//! The directory is 0700 and every file 0600 (they are private keys), written atomically by the
//! one writer of outputs (`output::write_atomically`: a temporary file renamed into place), so
//! that two jobs planning at once never read half a file. A file that does not read as a key of
//! the spec asked for, or that others may read, is generated again and rewritten; a cache that
//! cannot be written is said once on standard error and the run goes on generating. No key byte
//! reaches a message. ECDSA keys take microseconds to generate and are not cached.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use sha2::{Digest as _, Sha256};
use smime::key::{Generated, KeyError, KeySource, KeySpec, PrivateKey};

use super::output::{PRIVATE, write_atomically};

/// `scenario run`'s options for the key cache.
#[derive(Debug, clap::Args)]
pub struct Options {
    /// Where the PKI's RSA keys are kept between runs (0700; each key a 0600 PKCS#8 file named by
    /// a hash of its label), so that a second run does not generate them again.
    #[arg(long, value_name = "DIR", default_value = "target/smime-lab/key-cache")]
    key_cache: PathBuf,
    /// Generate every key, reading and writing no key cache.
    #[arg(long, conflicts_with = "key_cache")]
    no_key_cache: bool,
}

impl Options {
    /// The key source planning uses: the cache, or generation under `--no-key-cache`.
    pub fn source(&self) -> Arc<dyn KeySource + Send + Sync> {
        if self.no_key_cache {
            Arc::new(Generated)
        } else {
            Arc::new(KeyCache::open(&self.key_cache))
        }
    }
}

/// Larger than any PKCS#8 key the lab makes (RSA-4096: about 2.4 KB); a larger file is stale.
const MAX_ENTRY: u64 = 16 * 1024;

/// Set once a cache that cannot be written has been said, so that it is said once a process.
static SAID: AtomicBool = AtomicBool::new(false);

/// A directory of keys as [`smime::key::Generated`] makes them.
#[derive(Debug)]
pub struct KeyCache {
    dir: PathBuf,
}

impl KeyCache {
    /// The cache in `dir`, created 0700 (an existing directory is made 0700). A directory that
    /// cannot be made is said on standard error; every key is then generated.
    pub fn open(dir: &Path) -> Self {
        if let Err(e) = std::fs::create_dir_all(dir).and_then(|()| private_dir(dir)) {
            say_once(dir, &e.to_string());
        }
        KeyCache {
            dir: dir.to_path_buf(),
        }
    }

    /// The file of the key labelled `label` of `spec`.
    fn entry(&self, label: &str, spec: KeySpec) -> PathBuf {
        let mut hash = Sha256::new();
        for part in [smime::key::GENERATOR_VERSIONS, spec.name(), label] {
            hash.update((part.len() as u64).to_be_bytes());
            hash.update(part.as_bytes());
        }
        let name: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
        self.dir.join(format!("{name}.p8"))
    }
}

impl KeySource for KeyCache {
    fn key(&self, label: &str, spec: KeySpec) -> Result<PrivateKey, KeyError> {
        if !spec.is_rsa() {
            return Generated.key(label, spec);
        }
        let path = self.entry(label, spec);
        if let Some(key) = read(&path, spec) {
            return Ok(key);
        }
        let key = Generated.key(label, spec)?;
        let written = key
            .to_pkcs8_der()
            .map_err(|e| e.to_string())
            .and_then(|der| write_atomically(&path, &der, PRIVATE).map_err(|e| format!("{e:#}")));
        if let Err(e) = written {
            say_once(&self.dir, &e);
        }
        Ok(key)
    }
}

/// The key in `path` if it is a private key of `spec` that only its owner may read; `None` (to
/// be generated and rewritten) for anything else.
fn read(path: &Path, spec: KeySpec) -> Option<PrivateKey> {
    let file = std::fs::File::open(path).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if file.metadata().ok()?.permissions().mode() & 0o077 != 0 {
            return None;
        }
    }
    let mut der = Vec::new();
    file.take(MAX_ENTRY + 1).read_to_end(&mut der).ok()?;
    if der.len() as u64 > MAX_ENTRY {
        return None;
    }
    PrivateKey::from_pkcs8_der(&der)
        .ok()
        .filter(|key| key.spec() == Some(spec))
}

#[cfg(unix)]
fn private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

#[cfg(not(unix))]
fn private_dir(_dir: &Path) -> std::io::Result<()> {
    Ok(())
}

fn say_once(dir: &Path, error: &str) {
    if !SAID.swap(true, Ordering::SeqCst) {
        eprintln!(
            "warning: the key cache {} cannot be used ({error}): keys are generated, which is \
             slower (--key-cache DIR chooses another, --no-key-cache turns it off)",
            dir.display()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scenario::plan::{Action, Plan};

    fn load(name: &str) -> scenario::LoadedScenario {
        let path = test_support::repo_root().join(format!("scenarios/{name}.yaml"));
        scenario::load(&path).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()))
    }

    /// Everything of a plan that is bytes: each entity's certificate and key, the CRLs, and the
    /// actions (the SST, the PKCS#12 files, every certificate a step writes) as `Debug` shows
    /// them, byte by byte. `PrivateKey`'s `Debug` hides the key, hence the keys apart.
    fn bytes_of(plan: &Plan) -> Vec<Vec<u8>> {
        let mut bytes = Vec::new();
        for entity in &plan.pki.entities {
            bytes.push(entity.id.as_bytes().to_vec());
            bytes.push(entity.certificate.clone());
            bytes.push(entity.key.to_pkcs8_der().unwrap());
        }
        for crl in &plan.pki.crls {
            bytes.push(crl.der.clone());
        }
        bytes.push(format!("{:?}", plan.actions).into_bytes());
        bytes
    }

    fn entries(dir: &Path) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        files
    }

    #[test]
    fn a_plan_from_a_warm_cache_is_the_plan_without_one_byte_for_byte() {
        // An SST and PKCS#12 files (rsa-happy-path), separate signing and encryption keys and
        // their devices, an RSA-1024 user.
        for name in [
            "rsa-happy-path",
            "separate-signing-and-encryption",
            "rsa-1024-user",
        ] {
            let loaded = load(name);
            let generated = scenario::plan(&loaded).unwrap();
            assert!(
                generated
                    .actions
                    .iter()
                    .any(|a| matches!(a, Action::ImportCollection(_) | Action::InstallIdentity(_))),
                "{name} has no SST or PKCS#12 file to compare"
            );
            let dir = tempfile::tempdir().unwrap();
            let cache = KeyCache::open(&dir.path().join("keys"));
            let cold = scenario::plan_with(&loaded, &cache).unwrap();
            let cached = entries(&cache.dir);
            let rsa = generated
                .pki
                .entities
                .iter()
                .filter(|e| e.key.spec().is_some_and(KeySpec::is_rsa))
                .count();
            assert_eq!(cached.len(), rsa, "{name}: one file per RSA key");
            let warm = scenario::plan_with(&loaded, &cache).unwrap();
            assert_eq!(
                entries(&cache.dir),
                cached,
                "{name}: a warm plan writes nothing"
            );
            assert!(
                bytes_of(&cold) == bytes_of(&generated),
                "{name}: cold plan differs"
            );
            assert!(
                bytes_of(&warm) == bytes_of(&generated),
                "{name}: warm plan differs"
            );
        }
    }

    #[test]
    fn a_damaged_entry_is_generated_again_and_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let cache = KeyCache::open(dir.path());
        let label = "pki/key-cache-test/alice/key";
        let spec = KeySpec::Rsa1024;
        let expected = Generated.key(label, spec).unwrap().to_pkcs8_der().unwrap();
        let path = cache.entry(label, spec);
        let other = Generated
            .key("another label", KeySpec::Rsa2048)
            .unwrap()
            .to_pkcs8_der()
            .unwrap();
        let damages: [(&str, Vec<u8>); 5] = [
            ("truncated", expected[..expected.len() / 2].to_vec()),
            ("empty", Vec::new()),
            ("garbage", b"not a key at all".to_vec()),
            ("a key of another spec", other),
            ("too large", vec![0x30; 64 * 1024]),
        ];
        for (what, bytes) in damages {
            write_atomically(&path, &bytes, PRIVATE).unwrap();
            let key = cache.key(label, spec).unwrap();
            assert_eq!(key.to_pkcs8_der().unwrap(), expected, "{what}: wrong key");
            assert_eq!(
                std::fs::read(&path).unwrap(),
                expected,
                "{what}: not rewritten"
            );
        }
        #[cfg(unix)]
        {
            // An entry others may read is not trusted: it is written again, 0600.
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            cache.key(label, spec).unwrap();
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[cfg(unix)]
    #[test]
    fn the_directory_is_0700_and_every_entry_0600() {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("target/smime-lab/key-cache");
        // An existing directory that others may read is made private.
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let cache = KeyCache::open(&dir);
        assert_eq!(mode(&dir), 0o700);
        for (n, spec) in [KeySpec::Rsa1024, KeySpec::Rsa2048, KeySpec::EcdsaP256]
            .into_iter()
            .enumerate()
        {
            cache.key(&format!("pki/modes/{n}/key"), spec).unwrap();
        }
        let files = entries(&dir);
        assert_eq!(files.len(), 2, "only RSA keys are kept: {files:?}");
        for file in files {
            assert_eq!(mode(&file), 0o600, "{}", file.display());
        }
    }

    #[test]
    fn entries_are_named_by_versions_spec_and_label() {
        let cache = KeyCache {
            dir: PathBuf::from("cache"),
        };
        let a = cache.entry("pki/s/alice/key", KeySpec::Rsa2048);
        assert_eq!(a, cache.entry("pki/s/alice/key", KeySpec::Rsa2048));
        assert_ne!(a, cache.entry("pki/s/alice/key", KeySpec::Rsa3072));
        assert_ne!(a, cache.entry("pki/s/bob/key", KeySpec::Rsa2048));
        // The name shows nothing of the label.
        assert!(!a.to_string_lossy().contains("alice"));
    }

    #[test]
    fn no_key_cache_generates() {
        use clap::Parser as _;
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            keys: Options,
        }
        let off = Cli::parse_from(["x", "--no-key-cache"]).keys;
        assert!(format!("{:?}", off.source()).contains("Generated"));
        let dir = tempfile::tempdir().unwrap();
        let flag = std::ffi::OsStr::new("--key-cache");
        let on = Cli::parse_from([std::ffi::OsStr::new("x"), flag, dir.path().as_os_str()]).keys;
        assert!(format!("{:?}", on.source()).contains("KeyCache"));
        assert!(Cli::try_parse_from(["x", "--no-key-cache", "--key-cache", "d"]).is_err());
    }
}
