//! The SHA-256 manifest of the instructor's files in a student repository.
//!
//! `grader release` writes it beside course.yaml; every grading of that
//! repository (in place, or as a `--submission`) compares the files with it,
//! so an edited test or harness in a student's repository is visible to the
//! instructor (nbgrader's checksum idea). The format is `sha256sum`'s, so
//! `sha256sum -c instructor-files.sha256` checks it by hand too.

use crate::model::InstructorFiles;
use anyhow::Context;
use sha2::{Digest, Sha256};
use std::fs;
use std::path::Path;

/// The manifest's file name, at the course root.
pub const MANIFEST_FILE: &str = "instructor-files.sha256";

/// Path (relative, `/`-separated) and SHA-256 of each instructor-owned file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    pub entries: Vec<(String, String)>,
}

/// The SHA-256 of `bytes` in lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Manifest {
    /// `sha256sum`'s format: one `<hex>  <path>` line per file.
    pub fn render(&self) -> String {
        self.entries
            .iter()
            .map(|(path, hash)| format!("{hash}  {path}\n"))
            .collect()
    }

    /// Read the manifest written by [`Manifest::render`].
    pub fn parse(text: &str) -> anyhow::Result<Manifest> {
        let mut entries = Vec::new();
        for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.is_empty()) {
            let (hash, path) = line
                .split_once("  ")
                .filter(|(h, p)| h.len() == 64 && !p.is_empty())
                .with_context(|| format!("line {}: expected `<sha256>  <path>`", n + 1))?;
            entries.push((path.to_owned(), hash.to_owned()));
        }
        Ok(Manifest { entries })
    }

    /// The manifest in `root`, if it has one.
    pub fn read(root: &Path) -> anyhow::Result<Option<Manifest>> {
        let path = root.join(MANIFEST_FILE);
        if !path.is_file() {
            return Ok(None);
        }
        let text =
            fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        Manifest::parse(&text)
            .map(Some)
            .with_context(|| format!("{} is not a manifest", path.display()))
    }

    /// Compare the files under `tree` (a student repository) with the
    /// manifest. Paths that would leave the tree count as missing.
    pub fn verify(&self, tree: &Path) -> InstructorFiles {
        self.compare(tree, |found, path| found.missing.push(path.to_owned()))
    }

    /// Compare the files a submission sent with the manifest: a file it did
    /// not send is not sent, never missing; one it sent that is not the
    /// release's (another content, a link, a directory) is changed.
    pub fn verify_sent(&self, submission: &Path) -> InstructorFiles {
        self.compare(submission, |found, path| {
            let sent = fs::symlink_metadata(submission.join(path)).is_ok();
            if sent && is_inside(path) {
                found.changed.push(path.to_owned());
            } else {
                found.not_sent += 1;
            }
        })
    }

    /// Each listed file that is a regular file inside `tree` is changed or
    /// not; `absent` decides about the others.
    fn compare(
        &self,
        tree: &Path,
        mut absent: impl FnMut(&mut InstructorFiles, &str),
    ) -> InstructorFiles {
        let mut found = InstructorFiles {
            checked: self.entries.len(),
            ..InstructorFiles::default()
        };
        for (path, hash) in &self.entries {
            // symlink_metadata: a link in place of a file is not the file.
            let file = tree.join(path);
            let regular = fs::symlink_metadata(&file).is_ok_and(|m| m.is_file());
            match fs::read(&file) {
                Ok(bytes) if is_inside(path) && regular => {
                    if sha256_hex(&bytes) != *hash {
                        found.changed.push(path.clone());
                    }
                }
                _ => absent(&mut found, path),
            }
        }
        found
    }
}

/// A manifest path that stays inside the tree it is joined to.
fn is_inside(path: &str) -> bool {
    !path.split('/').any(|part| part == ".." || part.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest_of(files: &[(&str, &str)]) -> Manifest {
        Manifest {
            entries: files
                .iter()
                .map(|(p, c)| (p.to_string(), sha256_hex(c.as_bytes())))
                .collect(),
        }
    }

    #[test]
    fn sha256_matches_the_standard_test_vector() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn a_rendered_manifest_parses_back() {
        let manifest = manifest_of(&[("course.yaml", "title: x"), ("a b/c.rs", "fn main(){}")]);
        assert_eq!(Manifest::parse(&manifest.render()).unwrap(), manifest);
        assert!(Manifest::parse("not a manifest\n").is_err());
    }

    #[test]
    fn verify_names_changed_and_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("same.rs"), "same").unwrap();
        fs::write(dir.path().join("edited.rs"), "edited").unwrap();
        let manifest = manifest_of(&[
            ("same.rs", "same"),
            ("edited.rs", "original"),
            ("gone.rs", "x"),
            ("../outside.rs", "x"),
        ]);
        let found = manifest.verify(dir.path());
        assert_eq!(found.checked, 4);
        assert_eq!(found.changed, vec!["edited.rs"]);
        assert_eq!(found.missing, vec!["gone.rs", "../outside.rs"]);
        assert!(!found.intact());
    }

    #[cfg(unix)]
    #[test]
    fn a_submission_is_compared_on_the_files_it_sent_only() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("same.rs"), "same").unwrap();
        fs::write(dir.path().join("edited.rs"), "edited").unwrap();
        std::os::unix::fs::symlink("same.rs", dir.path().join("linked.rs")).unwrap();
        let manifest = manifest_of(&[
            ("same.rs", "same"),
            ("edited.rs", "original"),
            ("linked.rs", "same"),
            ("not-sent.rs", "x"),
            ("../outside.rs", "x"),
        ]);
        let found = manifest.verify_sent(dir.path());
        assert_eq!(found.checked, 5);
        assert_eq!(found.changed, vec!["edited.rs", "linked.rs"]);
        assert!(found.missing.is_empty(), "{found:?}");
        assert_eq!(found.not_sent, 2);
        assert!(!found.intact());
        let only_src = manifest_of(&[("a.rs", "x"), ("b.rs", "y")]).verify_sent(dir.path());
        assert!(only_src.intact());
        assert_eq!(only_src.not_sent, 2);
    }
}
