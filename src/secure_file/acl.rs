//! POSIX ACLs on a secret file: systemd hands a service its credentials (`LoadCredential=`) as
//! files owned by root, mode 0400, with an ACL entry letting the service's user read them.
//! With an ACL, the mode's group bits show the ACL *mask*, so such a file reads as 0440 though
//! no group may read it. [`grants_only`] reads the ACL itself (`system.posix_acl_access`, the
//! kernel's format: a version, then tag/permission/id entries) and accepts the group bits only
//! when every entry that can grant them grants nothing to anyone but `uid`.

use std::fs::File;
use std::os::unix::io::AsRawFd;

const XATTR: &[u8] = b"system.posix_acl_access\0";
const VERSION: u32 = 2;
const USER_OBJ: u16 = 0x01;
const USER: u16 = 0x02;
const GROUP_OBJ: u16 = 0x04;
const GROUP: u16 = 0x08;
const MASK: u16 = 0x10;
const OTHER: u16 = 0x20;

/// Whether `file` has an ACL under which only its owner and `uid` may access it: the owning
/// group, every named group and others get nothing, and every named user is `uid`.
pub(super) fn grants_only(file: &File, uid: u32) -> bool {
    let mut buf = [0u8; 512];
    // SAFETY: the name is NUL-terminated, `buf` is writable for its length, `fd` is open.
    let n = unsafe {
        libc::fgetxattr(
            file.as_raw_fd(),
            XATTR.as_ptr().cast(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    match usize::try_from(n) {
        Ok(n) => acl_grants_only(&buf[..n], uid),
        Err(_) => false,
    }
}

/// [`grants_only`] on the xattr's bytes.
fn acl_grants_only(acl: &[u8], uid: u32) -> bool {
    let Some((version, entries)) = acl.split_first_chunk::<4>() else {
        return false;
    };
    if u32::from_le_bytes(*version) != VERSION || entries.is_empty() || entries.len() % 8 != 0 {
        return false;
    }
    let mut has_mask = false;
    for entry in entries.chunks_exact(8) {
        let tag = u16::from_le_bytes([entry[0], entry[1]]);
        let perm = u16::from_le_bytes([entry[2], entry[3]]);
        let id = u32::from_le_bytes([entry[4], entry[5], entry[6], entry[7]]);
        let fine = match tag {
            USER_OBJ => true,
            USER => id == uid || perm == 0,
            GROUP_OBJ | GROUP | OTHER => perm == 0,
            MASK => {
                has_mask = true;
                true
            }
            _ => false,
        };
        if !fine {
            return false;
        }
    }
    has_mask
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANY: u32 = u32::MAX;

    fn acl(entries: &[(u16, u16, u32)]) -> Vec<u8> {
        let mut out = VERSION.to_le_bytes().to_vec();
        for (tag, perm, id) in entries {
            out.extend_from_slice(&tag.to_le_bytes());
            out.extend_from_slice(&perm.to_le_bytes());
            out.extend_from_slice(&id.to_le_bytes());
        }
        out
    }

    /// What systemd writes for `LoadCredential=` with `User=` uid 990.
    fn systemd(user: u32, group_perm: u16) -> Vec<u8> {
        acl(&[
            (USER_OBJ, 4, ANY),
            (USER, 4, user),
            (GROUP_OBJ, group_perm, ANY),
            (MASK, 4, ANY),
            (OTHER, 0, ANY),
        ])
    }

    #[test]
    fn a_systemd_credential_acl_for_our_user_alone_is_accepted() {
        assert!(acl_grants_only(&systemd(990, 0), 990));
    }

    #[test]
    fn anyone_else_in_the_acl_is_refused() {
        assert!(!acl_grants_only(&systemd(990, 0), 991), "another user");
        assert!(!acl_grants_only(&systemd(990, 4), 990), "the owning group");
        let with_group = acl(&[
            (USER_OBJ, 4, ANY),
            (USER, 4, 990),
            (GROUP_OBJ, 0, ANY),
            (GROUP, 4, 100),
            (MASK, 4, ANY),
            (OTHER, 0, ANY),
        ]);
        assert!(!acl_grants_only(&with_group, 990), "a named group");
        let others = acl(&[
            (USER_OBJ, 4, ANY),
            (GROUP_OBJ, 0, ANY),
            (MASK, 4, ANY),
            (OTHER, 4, ANY),
        ]);
        assert!(!acl_grants_only(&others, 990), "others");
    }

    #[test]
    fn a_malformed_or_maskless_acl_is_refused() {
        assert!(!acl_grants_only(&[], 990));
        assert!(!acl_grants_only(&systemd(990, 0)[..10], 990));
        let mut v1 = systemd(990, 0);
        v1[0] = 1;
        assert!(!acl_grants_only(&v1, 990));
        let no_mask = acl(&[(USER_OBJ, 4, ANY), (GROUP_OBJ, 0, ANY), (OTHER, 0, ANY)]);
        assert!(!acl_grants_only(&no_mask, 990));
        assert!(
            !acl_grants_only(&acl(&[(0x40, 0, ANY)]), 990),
            "unknown tag"
        );
    }

    /// A real file with systemd's ACL (on a file system that takes ACLs: tmpfs at /dev/shm
    /// here; skipped where none does): read as a secret for our user, refused for another.
    #[test]
    fn a_file_with_the_acl_systemd_writes_is_read_for_our_user_only() {
        use crate::secure_file::{read_secret, Purpose, Secrecy};
        use std::os::unix::fs::PermissionsExt;
        let me = crate::secure_file::effective_uid();
        let dir = tempfile::tempdir_in("/dev/shm")
            .or_else(|_| tempfile::tempdir())
            .unwrap();
        let purpose = Purpose {
            what: "PIN file",
            kind: crate::ErrorKind::Token,
            secrecy: Secrecy::Secret,
        };
        for (user, ok) in [(me, true), (me.wrapping_add(1), false)] {
            let path = dir.path().join(format!("pin-{user}"));
            std::fs::write(&path, "123456\n").unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
            let blob = systemd(user, 0);
            let name = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
            // SAFETY: NUL-terminated names, `blob` readable for its length.
            let set = unsafe {
                libc::setxattr(
                    name.as_ptr(),
                    XATTR.as_ptr().cast(),
                    blob.as_ptr().cast(),
                    blob.len(),
                    0,
                )
            };
            if set != 0 {
                eprintln!(
                    "no ACLs on {}: {}",
                    dir.path().display(),
                    std::io::Error::last_os_error()
                );
                return;
            }
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o440, "the mask shows as group bits");
            let read = read_secret(&path, purpose, 64);
            assert_eq!(
                read.is_ok(),
                ok,
                "ACL for uid {user}: {:?}",
                read.err().map(|e| e.to_string())
            );
        }
    }
}
