//! The real binary on a pseudo-terminal (stdin and stderr), stdout piped: for the
//! tests of what genupdate does when a person is at the terminal. Built on libc's
//! `openpty` (libc is already a dev-dependency).

use super::{ID, Run, SECRET};
use genesys_sandbox::Sandbox;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct OnPty {
    child: Child,
    master: std::fs::File,
    /// Everything the child wrote to the terminal so far.
    seen: Arc<Mutex<Vec<u8>>>,
}

impl OnPty {
    pub fn start(sb: &Sandbox, args: &[&str]) -> OnPty {
        let (mut master, mut slave) = (0, 0);
        // SAFETY: openpty writes two new descriptors into the integers given.
        let rc = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: both are fresh descriptors owned by nobody else.
        let (master, slave) =
            unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        let child = {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_genupdate"));
            cmd.args(args)
                .env("GENESYSCLOUD_REGION", sb.url())
                .env("GENESYSCLOUD_OAUTHCLIENT_ID", ID)
                .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", SECRET)
                .env_remove("GENESYSCLOUD_ACCESS_TOKEN")
                .env_remove("RUST_LOG")
                .env("NO_COLOR", "1")
                .stdin(Stdio::from(slave.try_clone().unwrap()))
                .stderr(Stdio::from(slave))
                .stdout(Stdio::piped());
            cmd.spawn().expect("genupdate starts")
            // `cmd` (and the parent's copies of the slave) dropped here: the
            // master reads EOF/EIO once the child exits.
        };
        let master = std::fs::File::from(master);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (mut reader, sink) = (master.try_clone().unwrap(), seen.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        OnPty {
            child,
            master,
            seen,
        }
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.seen.lock().unwrap()).into_owned()
    }

    /// Wait until the terminal shows `needle` (false if the child ended first).
    /// A generous bound only so a broken build fails instead of hanging.
    pub fn wait_for(&mut self, needle: &str) -> bool {
        let give_up = Instant::now() + Duration::from_secs(120);
        while Instant::now() < give_up {
            if self.text().contains(needle) {
                return true;
            }
            if let Ok(Some(_)) = self.child.try_wait() {
                std::thread::sleep(Duration::from_millis(100));
                return self.text().contains(needle);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    pub fn answer(&mut self, line: &str) {
        self.master.write_all(line.as_bytes()).unwrap();
        self.master.write_all(b"\n").unwrap();
    }

    /// Wait for the exit; the exit code, stdout and the terminal's text.
    pub fn finish(mut self) -> Run {
        let mut stdout = String::new();
        if let Some(mut out) = self.child.stdout.take() {
            out.read_to_string(&mut stdout).unwrap();
        }
        let status = self.child.wait().unwrap();
        std::thread::sleep(Duration::from_millis(100));
        Run {
            code: status.code().unwrap_or(-1),
            stdout,
            stderr: self.text(),
        }
    }
}
