//! Reading the small text files a user points devstack at (stack files, `.env`, `env_file:`,
//! `.dockerignore`) with a size cap, refusing anything that is not a regular file.
//!
//! Without this, `-f /dev/zero` or `env_file: /dev/zero` grew memory until the kernel
//! stepped in, and an `env_file` that is a FIFO hung `up` forever. Only reads; the errors
//! are `io::Error`s so callers keep their own "cannot read 'path': …" wording.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// The largest stack or env file read. Real ones are kilobytes; the official Airflow
/// compose file is 12 KiB.
pub const MAX_TEXT_FILE: u64 = 16 * 1024 * 1024;

/// The whole file as UTF-8 text, if it is a regular file of at most `cap` bytes.
///
/// A FIFO, device, socket or directory is refused before it is opened for reading (an
/// open of a FIFO alone would block until a writer came).
pub fn read_capped(path: &Path, cap: u64) -> io::Result<String> {
    check_regular(&std::fs::metadata(path)?)?;
    // Non-blocking, so that a file swapped for a FIFO after the check cannot hang the
    // open either; for a regular file the flag changes nothing.
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)?;
    check_regular(&file.metadata()?)?;
    read_at_most(&mut file, cap)
}

fn read_at_most(file: &mut File, cap: u64) -> io::Result<String> {
    let mut bytes = Vec::new();
    file.take(cap.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(io::Error::new(
            io::ErrorKind::FileTooLarge,
            format!(
                "the file is larger than {} (the limit for stack and env files)",
                describe_size(cap)
            ),
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "the file is not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

fn check_regular(meta: &std::fs::Metadata) -> io::Result<()> {
    let ft = meta.file_type();
    if ft.is_file() {
        return Ok(());
    }
    let what = if ft.is_dir() {
        "a directory"
    } else if ft.is_fifo() {
        "a FIFO (named pipe)"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    };
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("it is {what}, not a regular file; give the path of a text file"),
    ))
}

fn describe_size(bytes: u64) -> String {
    if bytes >= 1024 * 1024 && bytes.is_multiple_of(1024 * 1024) {
        format!("{} MiB", bytes / (1024 * 1024))
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_regular_file_within_the_cap_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.env");
        std::fs::write(&p, "A=1\n").unwrap();
        assert_eq!(read_capped(&p, 4).unwrap(), "A=1\n");
    }

    #[test]
    fn a_file_over_the_cap_is_refused_naming_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.yaml");
        std::fs::write(&p, "x".repeat(5)).unwrap();
        let e = read_capped(&p, 4).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::FileTooLarge);
        assert!(e.to_string().contains("larger than 4 bytes"), "{e}");
        let e = read_at_most(&mut File::open(&p).unwrap(), 2 * 1024 * 1024).unwrap();
        assert_eq!(e.len(), 5);
    }

    // Regression: `-f /dev/zero` and `env_file: /dev/zero` read until memory ran out.
    #[test]
    fn dev_zero_is_refused_without_reading() {
        let e = read_capped(Path::new("/dev/zero"), MAX_TEXT_FILE).unwrap_err();
        assert!(e.to_string().contains("character device"), "{e}");
    }

    // Regression: an `env_file` that is a FIFO hung `up` (the open blocks for a writer).
    #[test]
    fn a_fifo_is_refused_without_opening_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &p,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let e = read_capped(&p, MAX_TEXT_FILE).unwrap_err();
        assert!(e.to_string().contains("FIFO"), "{e}");
    }

    #[test]
    fn a_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let e = read_capped(dir.path(), MAX_TEXT_FILE).unwrap_err();
        assert!(e.to_string().contains("a directory"), "{e}");
    }

    #[test]
    fn invalid_utf8_names_the_offset() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bin");
        std::fs::write(&p, b"ab\xff").unwrap();
        let e = read_capped(&p, 10).unwrap_err();
        assert!(e.to_string().contains("offset 2"), "{e}");
    }
}
