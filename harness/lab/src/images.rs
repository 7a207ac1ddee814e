//! The Docker images the containers runtime uses, and how to tell a current image from a stale
//! one. `cargo xtask images` builds them (offline, from the host's Debian mirror, with
//! `mmdebstrap`); this module is what it and the runtime agree on.
//!
//! | image | recipe | used by |
//! |---|---|---|
//! | `smime-lab-base:bookworm` | `docker/base/packages` | `smtp`, `tenant` (our binaries are copied in at start) |
//! | `smime-lab-directory:bookworm` | `docker/directory/packages` | `directory` |
//! | `smime-lab-pki-web:bookworm` | `docker/pki-web/packages` | `pki-web` |
//!
//! Each image carries two labels: [`RECIPE_LABEL`], the hash of its recipe (package list,
//! command, environment, suite) as compiled into this crate, which the runtime checks; and
//! [`INPUTS_LABEL`], that hash plus the apt sources it was built from, which `cargo xtask images`
//! checks to skip an image whose inputs did not change.

use sha2::{Digest as _, Sha256};

use crate::Service;

/// The Debian suite every image is built from.
pub const SUITE: &str = "bookworm";
/// The tag of every image.
pub const TAG: &str = "bookworm";
/// Label: hash of the recipe.
pub const RECIPE_LABEL: &str = "org.smime-lab.recipe";
/// Label: hash of the recipe and the apt sources.
pub const INPUTS_LABEL: &str = "org.smime-lab.inputs";
/// Bump when the way images are built changes in a way the recipe files do not show.
const RECIPE_FORMAT: &str = "smime-lab image recipe v1";

/// One image: a Debian minbase root filesystem with some packages, imported with a command and
/// an environment.
#[derive(Debug, Clone, Copy)]
pub struct ImageRecipe {
    /// Repository name, e.g. `smime-lab-directory`.
    pub name: &'static str,
    /// Where the package list lives, relative to the repository root.
    pub recipe_path: &'static str,
    /// The package list's text: one Debian package per line, `#` comments.
    pub packages_text: &'static str,
    /// The image's default command (the lab always gives its own).
    pub cmd: &'static [&'static str],
    pub env: &'static [&'static str],
    pub description: &'static str,
}

const ENV: &[&str] = &[
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG=C.UTF-8",
];

pub const BASE: ImageRecipe = ImageRecipe {
    name: "smime-lab-base",
    recipe_path: "docker/base/packages",
    packages_text: include_str!("../../../docker/base/packages"),
    cmd: &["/bin/sh"],
    env: ENV,
    description: "Debian bookworm minbase for the lab's own binaries (smtp-sink, mock-tenant)",
};

pub const DIRECTORY: ImageRecipe = ImageRecipe {
    name: "smime-lab-directory",
    recipe_path: "docker/directory/packages",
    packages_text: include_str!("../../../docker/directory/packages"),
    cmd: &["slapd", "-d", "none", "-h", "ldap:///"],
    env: ENV,
    description: "OpenLDAP slapd from Debian bookworm",
};

pub const PKI_WEB: ImageRecipe = ImageRecipe {
    name: "smime-lab-pki-web",
    recipe_path: "docker/pki-web/packages",
    packages_text: include_str!("../../../docker/pki-web/packages"),
    cmd: &["nginx", "-g", "daemon off;"],
    env: ENV,
    description: "nginx from Debian bookworm, serving CRLs and AIA certificates",
};

/// Every image, in build order.
pub const ALL: [ImageRecipe; 3] = [BASE, DIRECTORY, PKI_WEB];

/// The image a service runs on.
pub fn for_service(service: Service) -> ImageRecipe {
    match service {
        Service::Directory => DIRECTORY,
        Service::PkiWeb => PKI_WEB,
        Service::Smtp | Service::Tenant => BASE,
    }
}

impl ImageRecipe {
    /// `name:tag`.
    pub fn reference(&self) -> String {
        format!("{}:{TAG}", self.name)
    }

    /// The packages to install beyond minbase.
    pub fn packages(&self) -> Vec<&'static str> {
        self.packages_text
            .lines()
            .map(|line| line.split('#').next().unwrap_or_default().trim())
            .filter(|line| !line.is_empty())
            .flat_map(str::split_whitespace)
            .collect()
    }

    /// The hash of everything in the recipe that shapes the image (not its comments).
    pub fn recipe_hash(&self) -> String {
        let mut hasher = Sha256::new();
        let mut field = |name: &str, values: &[&str]| {
            hasher.update(name.as_bytes());
            hasher.update(b"\0");
            for value in values {
                hasher.update(value.as_bytes());
                hasher.update(b"\0");
            }
            hasher.update(b"\n");
        };
        field("format", &[RECIPE_FORMAT]);
        field("name", &[self.name]);
        field("suite", &[SUITE]);
        field("packages", &self.packages());
        field("cmd", self.cmd);
        field("env", self.env);
        hex::encode(hasher.finalize())
    }

    /// The hash of the recipe and the apt sources the image is built from.
    pub fn inputs_hash(&self, apt_sources: &str) -> String {
        let mut hasher = Sha256::new();
        hasher.update(self.recipe_hash().as_bytes());
        hasher.update(b"\0");
        hasher.update(apt_sources.as_bytes());
        hex::encode(hasher.finalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_lists() {
        assert_eq!(BASE.packages(), Vec::<&str>::new());
        assert_eq!(DIRECTORY.packages(), ["slapd", "ldap-utils"]);
        assert_eq!(PKI_WEB.packages(), ["nginx"]);
    }

    #[test]
    fn hashes_differ_per_image_and_per_sources() {
        let hashes: std::collections::BTreeSet<String> =
            ALL.iter().map(ImageRecipe::recipe_hash).collect();
        assert_eq!(hashes.len(), ALL.len());
        assert_eq!(BASE.recipe_hash().len(), 64);
        assert_ne!(BASE.inputs_hash("a"), BASE.inputs_hash("b"));
        assert_eq!(BASE.recipe_hash(), BASE.recipe_hash());
    }
}
