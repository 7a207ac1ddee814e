//! The tar archive of directories and files copied into a container before it starts.

use super::spec::FileIn;
use crate::LabError;

/// A tar archive of directories and files, extracted at `/` in the container.
pub(super) async fn tar(dirs: &[String], files: &[FileIn]) -> Result<Vec<u8>, LabError> {
    let tar_error = |e: std::io::Error| {
        LabError::Other(format!(
            "cannot build the archive to copy into a container: {e}"
        ))
    };
    let mut builder = tokio_tar::Builder::new(Vec::new());
    let mut parents: Vec<String> = Vec::new();
    let add_parents = |path: &str, parents: &mut Vec<String>| {
        let mut prefix = String::new();
        for segment in path.trim_start_matches('/').split('/') {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(segment);
            if !parents.contains(&prefix) {
                parents.push(prefix.clone());
            }
        }
    };
    for dir in dirs {
        add_parents(dir, &mut parents);
    }
    for file in files {
        if let Some((parent, _)) = file.path.rsplit_once('/')
            && !parent.is_empty()
        {
            add_parents(parent, &mut parents);
        }
    }
    for dir in &parents {
        let mut header = tokio_tar::Header::new_gnu();
        header.set_entry_type(tokio_tar::EntryType::Directory);
        header.set_mode(0o755);
        header.set_size(0);
        header.set_mtime(0);
        builder
            .append_data(&mut header, format!("{dir}/"), &[][..])
            .await
            .map_err(tar_error)?;
    }
    for file in files {
        let mut header = tokio_tar::Header::new_gnu();
        header.set_entry_type(tokio_tar::EntryType::Regular);
        header.set_mode(file.mode);
        header.set_size(file.bytes.len() as u64);
        header.set_mtime(0);
        builder
            .append_data(
                &mut header,
                file.path.trim_start_matches('/'),
                file.bytes.as_slice(),
            )
            .await
            .map_err(tar_error)?;
    }
    builder.into_inner().await.map_err(tar_error)
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt as _;

    use super::*;

    #[tokio::test]
    async fn archives_create_parents_and_modes() {
        let archive = tar(
            &["/srv/pki".into()],
            &[FileIn {
                path: "/usr/local/bin/x".into(),
                bytes: b"#!/bin/sh\n".to_vec(),
                mode: 0o755,
            }],
        )
        .await
        .expect("archive");
        let mut entries = tokio_tar::Archive::new(archive.as_slice());
        let mut names = Vec::new();
        let mut stream = entries.entries().expect("entries");
        while let Some(entry) = stream.next().await {
            let entry = entry.expect("entry");
            let path = entry.path().expect("path").display().to_string();
            let mode = entry.header().mode().expect("mode");
            names.push((path, mode));
        }
        assert_eq!(
            names,
            [
                ("srv/".to_owned(), 0o755),
                ("srv/pki/".to_owned(), 0o755),
                ("usr/".to_owned(), 0o755),
                ("usr/local/".to_owned(), 0o755),
                ("usr/local/bin/".to_owned(), 0o755),
                ("usr/local/bin/x".to_owned(), 0o755),
            ]
        );
    }
}
