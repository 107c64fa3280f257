//! Files a command writes (`export --out`, `eval --out`, `tokenizer train --out`, `plot --out`, …): checked
//! before any work is done, and written whole or not at all, so that no command can destroy a file.
//!
//! * A path that names a file of the checkpoint the command reads is refused (`export --out DIR/model.bpk`
//!   would replace the weights it is reading).
//! * Only a regular file is ever replaced: a folder, a device (`/dev/full`), a named pipe or a socket is refused.
//! * A symbolic link is followed: its target is written and the link kept. A link to nothing is refused.
//! * The folder must exist and take a new file, which is tried before the work starts.
//! * The bytes go to a temporary file beside the target, which is synced and renamed over it: an interrupted
//!   command leaves the old file (or none), never half of a new one.
//! * Every file written gets mode 0644 (owner writes, everyone reads), whatever the format.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Why an output path cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("{path} is a file of the checkpoint being read ({checkpoint}); write somewhere else")]
    Protected { path: PathBuf, checkpoint: PathBuf },
    #[error("{path} is {what}, not a regular file; give the path of a file to write")]
    NotAFile { path: PathBuf, what: &'static str },
    #[error("{path} is a symbolic link to nothing ({target}); remove it or give another path")]
    DanglingLink { path: PathBuf, target: PathBuf },
    #[error("cannot write into {dir}: {source} (does the folder exist, and may you write in it?)")]
    Folder {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A path checked for writing; [`OutputFile::write`] replaces it atomically.
#[derive(Debug, Clone)]
pub struct OutputFile {
    /// What the user gave (for messages).
    shown: PathBuf,
    /// What is written: the path itself, or the target of the symbolic link it is.
    target: PathBuf,
}

/// The regular files in `dir` (a checkpoint folder, its resume folder included): what a command that reads
/// `dir` must not write onto.
pub fn checkpoint_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(e.path()),
                Ok(_) => out.push(e.path()),
                Err(_) => {}
            }
        }
    }
    out
}

impl OutputFile {
    /// Checks that `path` can be written without destroying anything: see the module's rules. `protected`
    /// lists the files the command reads (e.g. [`checkpoint_files`]); `checkpoint` names them in the error.
    pub fn check(
        path: &Path,
        protected: &[PathBuf],
        checkpoint: &Path,
    ) -> Result<Self, OutputError> {
        let target = match fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_symlink() => {
                fs::canonicalize(path).map_err(|_| OutputError::DanglingLink {
                    path: path.to_path_buf(),
                    target: fs::read_link(path).unwrap_or_default(),
                })?
            }
            _ => path.to_path_buf(),
        };
        if let Ok(m) = fs::metadata(&target) {
            if !m.is_file() {
                return Err(OutputError::NotAFile {
                    path: path.to_path_buf(),
                    what: kind(&m),
                });
            }
            if protected.iter().any(|p| same_file(p, &target)) {
                return Err(OutputError::Protected {
                    path: path.to_path_buf(),
                    checkpoint: checkpoint.to_path_buf(),
                });
            }
        }
        let out = Self {
            shown: path.to_path_buf(),
            target,
        };
        // The folder must take a new file: try one now rather than after the work.
        let probe = out
            .dir()
            .join(format!(".reflectdiffu-probe-{}", std::process::id()));
        File::create(&probe).map_err(|source| OutputError::Folder {
            dir: out.dir(),
            source,
        })?;
        let _ = fs::remove_file(&probe);
        Ok(out)
    }

    /// [`Self::check`] for a command that reads no checkpoint.
    pub fn check_new(path: &Path) -> Result<Self, OutputError> {
        Self::check(path, &[], Path::new(""))
    }

    /// The path as the user gave it.
    pub fn path(&self) -> &Path {
        &self.shown
    }

    fn dir(&self) -> PathBuf {
        match self.target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }

    /// The temporary file beside the target (`NAME.partial`) that [`Self::write`] and [`Self::commit`] use, and
    /// that a command writing as it goes (`eval`'s replies) fills: after an interruption it holds what was done.
    pub fn temp_path(&self) -> PathBuf {
        let name = self
            .target
            .file_name()
            .map_or_else(|| "out".into(), |n| n.to_string_lossy().to_string());
        self.dir().join(format!("{name}.partial"))
    }

    /// Creates (or empties) [`Self::temp_path`] for writing as the work goes.
    pub fn create_partial(&self) -> Result<File, OutputError> {
        create(&self.temp_path()).map_err(|source| OutputError::Write {
            path: self.temp_path(),
            source,
        })
    }

    /// Replaces the file with `bytes`, atomically.
    pub fn write(&self, bytes: &[u8]) -> Result<(), OutputError> {
        let tmp = self.temp_path();
        let err = |source| OutputError::Write {
            path: self.shown.clone(),
            source,
        };
        let mut f = create(&tmp).map_err(err)?;
        f.write_all(bytes).map_err(err)?;
        drop(f);
        self.commit()
    }

    /// Moves the temporary file (written by a writer that takes a path, e.g. a safetensors store) over the
    /// target, after syncing it and giving it mode 0644.
    pub fn commit(&self) -> Result<(), OutputError> {
        let tmp = self.temp_path();
        let err = |source| OutputError::Write {
            path: self.shown.clone(),
            source,
        };
        set_mode(&tmp).map_err(err)?;
        File::open(&tmp).and_then(|f| f.sync_all()).map_err(err)?;
        fs::rename(&tmp, &self.target).map_err(|source| {
            let _ = fs::remove_file(&tmp);
            err(source)
        })?;
        if let Ok(d) = File::open(self.dir()) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    /// Removes the temporary file after a failed write.
    pub fn discard(&self) {
        let _ = fs::remove_file(self.temp_path());
    }
}

fn create(path: &Path) -> std::io::Result<File> {
    let mut o = OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o644);
    o.open(path)
}

fn set_mode(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o644))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

fn kind(m: &fs::Metadata) -> &'static str {
    if m.is_dir() {
        return "a folder";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = m.file_type();
        if t.is_char_device() || t.is_block_device() {
            return "a device";
        }
        if t.is_fifo() {
            return "a named pipe";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    "not a regular file"
}

/// True when `a` and `b` are the same file (the same inode on Unix, so hard links and `..` detours count).
fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(x), Ok(y)) = (fs::metadata(a), fs::metadata(b)) {
            return x.dev() == y.dev() && x.ino() == y.ino();
        }
    }
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_file_a_folder_and_a_missing_folder_are_refused_before_any_work() {
        let dir = tempfile::tempdir().unwrap();
        let ckpt = dir.path().join("ckpt");
        fs::create_dir(&ckpt).unwrap();
        fs::write(ckpt.join("model.bpk"), b"weights").unwrap();
        let protected = checkpoint_files(&ckpt);
        // the same file by another spelling
        let other = ckpt.join("..").join("ckpt").join("model.bpk");
        for p in [ckpt.join("model.bpk"), other] {
            let e = OutputFile::check(&p, &protected, &ckpt).unwrap_err();
            assert!(matches!(e, OutputError::Protected { .. }), "{e}");
        }
        assert_eq!(fs::read(ckpt.join("model.bpk")).unwrap(), b"weights");
        // a new file beside them is fine
        OutputFile::check(&ckpt.join("model.safetensors"), &protected, &ckpt).unwrap();
        let e = OutputFile::check_new(&ckpt).unwrap_err();
        assert!(
            matches!(
                e,
                OutputError::NotAFile {
                    what: "a folder",
                    ..
                }
            ),
            "{e}"
        );
        let e = OutputFile::check_new(&dir.path().join("missing/x.json")).unwrap_err();
        assert!(matches!(e, OutputError::Folder { .. }), "{e}");
        #[cfg(unix)]
        {
            let e = OutputFile::check_new(Path::new("/dev/null")).unwrap_err();
            assert!(
                matches!(
                    e,
                    OutputError::NotAFile {
                        what: "a device",
                        ..
                    }
                ),
                "{e}"
            );
        }
        // nothing was left behind by the checks
        let names: Vec<_> = fs::read_dir(&ckpt)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_is_followed_and_kept_and_every_file_gets_one_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.json");
        fs::write(&real, b"old").unwrap();
        fs::set_permissions(&real, fs::Permissions::from_mode(0o600)).unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let out = OutputFile::check_new(&link).unwrap();
        out.write(b"new").unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(&real).unwrap(), b"new");
        assert_eq!(
            fs::metadata(&real).unwrap().permissions().mode() & 0o777,
            0o644
        );
        let dangling = dir.path().join("dangling");
        std::os::unix::fs::symlink(dir.path().join("nowhere/x"), &dangling).unwrap();
        let e = OutputFile::check_new(&dangling).unwrap_err();
        assert!(matches!(e, OutputError::DanglingLink { .. }), "{e}");
        // a named pipe is refused, not replaced
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo with a valid NUL-terminated path.
        assert_eq!(unsafe { libc_mkfifo(c.as_ptr(), 0o644) }, 0);
        let e = OutputFile::check_new(&fifo).unwrap_err();
        assert!(
            matches!(
                e,
                OutputError::NotAFile {
                    what: "a named pipe",
                    ..
                }
            ),
            "{e}"
        );
    }

    #[cfg(unix)]
    unsafe extern "C" {
        #[link_name = "mkfifo"]
        fn libc_mkfifo(path: *const std::ffi::c_char, mode: u32) -> i32;
    }
}
