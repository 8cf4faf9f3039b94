//! A small tmpfs under a test's directory, to run keyward out of disk space.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A small tmpfs mounted under the test dir, unmounted when dropped.
pub struct SmallFs(pub PathBuf);

impl SmallFs {
    /// `None` when this machine cannot mount one (not root, or no tmpfs): the caller skips.
    pub fn mount(at: &Path, size: &str) -> Option<SmallFs> {
        std::fs::create_dir_all(at).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700")])
            .arg("tmpfs")
            .arg(at)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        ok.then(|| SmallFs(at.to_path_buf()))
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Fills the filesystem holding `dir` until a write fails with "no space".
pub fn fill(dir: &Path) {
    use std::io::Write;
    let mut f = std::fs::File::create(dir.join("filler")).unwrap();
    let block = vec![0u8; 4096];
    loop {
        match f.write_all(&block) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => break,
            Err(e) => panic!("filling the small filesystem: {e}"),
        }
    }
    // Also take the last partial blocks.
    let mut g = std::fs::File::create(dir.join("filler2")).unwrap();
    while g.write_all(&[0u8; 64]).is_ok() {}
}
