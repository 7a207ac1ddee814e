//! Whether one of our binaries can run in a container of the base image, checked before the
//! container is made: the binaries are built on the host and copied into Debian bookworm
//! (`images::BASE`), so a binary for another architecture than the engine's, or one linked
//! against a newer glibc than bookworm's 2.36 (a host such as Ubuntu 24.04 links against 2.39),
//! would start and die with a loader error in the container's log. This says which, and what to
//! do, before anything starts.
//!
//! The glibc a binary needs is the newest `GLIBC_x.y` version its dynamic symbols reference:
//! those names are in the `.dynstr` section (the version-needed records point into it). A static
//! binary (musl, or glibc linked statically) has none and runs anywhere of its architecture.
//! Parsed with the `object` crate (ELF only); a file that is not ELF is left to the container to
//! refuse.

use std::path::Path;

use object::{Architecture, Object as _, ObjectSection as _};

use crate::LabError;

/// Debian bookworm's glibc, the base image's.
pub(super) const BASE_GLIBC: (u32, u32) = (2, 36);

/// The engine's architecture as Docker names it (Go's names: `amd64`, `arm64`) for an ELF
/// machine; `None` for one the lab has no image for.
fn engine_name(architecture: Architecture) -> Option<&'static str> {
    match architecture {
        Architecture::X86_64 => Some("amd64"),
        Architecture::Aarch64 => Some("arm64"),
        _ => None,
    }
}

/// The newest `GLIBC_major.minor` a `.dynstr` names (`GLIBC_PRIVATE` and other non-versions
/// are not versions).
fn newest_glibc(dynstr: &[u8]) -> Option<(u32, u32)> {
    dynstr
        .split(|&b| b == 0)
        .filter_map(|name| name.strip_prefix(b"GLIBC_"))
        .filter_map(|version| {
            let text = std::str::from_utf8(version).ok()?;
            let mut parts = text.split('.');
            let major = parts.next()?.parse().ok()?;
            let minor = parts.next().map_or(Some(0), |m| m.parse().ok())?;
            Some((major, minor))
        })
        .max()
}

/// An error naming `program` when its bytes cannot run in the base image on an engine of
/// `engine_arch` (`None`: the engine did not say, and only glibc is checked).
pub(super) fn check(
    program: &Path,
    bytes: &[u8],
    engine_arch: Option<&str>,
) -> Result<(), LabError> {
    let Ok(file) = object::File::parse(bytes) else {
        return Ok(());
    };
    if let (Some(engine), machine) = (engine_arch, file.architecture()) {
        let built_for = engine_name(machine);
        if built_for != Some(engine) {
            return Err(LabError::Other(format!(
                "{} is built for {} and the Docker engine runs {engine}: the containers cannot run \
                 it. Build it for {engine} (`cargo build --target ...`), or use the local runtime \
                 (--runtime local)",
                program.display(),
                built_for.map_or_else(|| format!("{machine:?}"), str::to_owned),
            )));
        }
    }
    let dynstr = file
        .section_by_name(".dynstr")
        .and_then(|section| section.data().ok());
    if let Some(needed) = dynstr.and_then(newest_glibc)
        && needed > BASE_GLIBC
    {
        return Err(LabError::Other(format!(
            "{} needs glibc {}.{} and the containers run Debian bookworm's glibc {}.{}: it would \
             not start there. Build it on a system with glibc {}.{} or older (Debian bookworm, \
             Ubuntu 22.04), or as a static binary (`cargo build --target \
             x86_64-unknown-linux-musl`), or use the local runtime (--runtime local)",
            program.display(),
            needed.0,
            needed.1,
            BASE_GLIBC.0,
            BASE_GLIBC.1,
            BASE_GLIBC.0,
            BASE_GLIBC.1,
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_glibc_version_is_read_from_dynstr() {
        let dynstr = b"\0libc.so.6\0GLIBC_2.2.5\0GLIBC_2.34\0GLIBC_PRIVATE\0memcpy\0GLIBC_2.14\0";
        assert_eq!(newest_glibc(dynstr), Some((2, 34)));
        assert_eq!(newest_glibc(b"\0GLIBC_2.39\0GLIBC_2.3\0"), Some((2, 39)));
        assert_eq!(newest_glibc(b"\0libm.so.6\0sqrt\0"), None);
    }

    /// The binary running this test was linked on this host; the check says whether the
    /// containers could run it, and what it says is read from the binary itself.
    #[test]
    fn this_hosts_own_binary_is_judged_by_its_glibc_and_machine() {
        let exe = std::env::current_exe().expect("the test binary");
        let bytes = std::fs::read(&exe).expect("read it");
        let file = object::File::parse(&*bytes).expect("an ELF file");
        let engine = engine_name(file.architecture()).expect("a machine the lab knows");
        let needed = file
            .section_by_name(".dynstr")
            .and_then(|s| s.data().ok())
            .and_then(newest_glibc);
        let result = check(&exe, &bytes, Some(engine));
        match needed {
            Some(v) if v > BASE_GLIBC => assert!(result.is_err()),
            _ => assert!(result.is_ok(), "{result:?}"),
        }
        // The same bytes on an engine of the other architecture are refused, naming both.
        let other = if engine == "amd64" { "arm64" } else { "amd64" };
        let refused = check(&exe, &bytes, Some(other)).expect_err("another architecture");
        let message = refused.to_string();
        assert!(
            message.contains(engine) && message.contains(other),
            "{message}"
        );
    }

    /// The same binary as if linked on a newer system: one of its `GLIBC_2.NN` names rewritten to
    /// `GLIBC_2.99` in place (same length), as a host with a newer glibc would have written it.
    #[test]
    fn a_binary_for_a_newer_glibc_is_refused_naming_both_versions() {
        let exe = std::env::current_exe().expect("the test binary");
        let mut bytes = std::fs::read(&exe).expect("read it");
        let range = {
            let file = object::File::parse(&*bytes).expect("an ELF file");
            let section = file.section_by_name(".dynstr").expect("a dynamic binary");
            let (offset, size) = section.file_range().expect("in the file");
            usize::try_from(offset).unwrap()..usize::try_from(offset + size).unwrap()
        };
        let dynstr = &bytes[range.clone()];
        let at = dynstr
            .windows(11)
            .position(|w| {
                w.starts_with(b"GLIBC_2.")
                    && w[8].is_ascii_digit()
                    && w[9].is_ascii_digit()
                    && w[10] == 0
            })
            .expect("a GLIBC_2.NN version name");
        bytes[range.start + at + 8] = b'9';
        bytes[range.start + at + 9] = b'9';
        let engine = engine_name(object::File::parse(&*bytes).unwrap().architecture());
        let message = check(&exe, &bytes, engine)
            .expect_err("glibc 2.99 is newer than bookworm's")
            .to_string();
        assert!(
            message.contains("needs glibc 2.99") && message.contains("glibc 2.36"),
            "{message}"
        );
    }

    #[test]
    fn what_is_not_elf_is_left_to_the_container() {
        assert!(check(Path::new("x"), b"#!/bin/sh\necho hi\n", Some("amd64")).is_ok());
    }
}
