//! What the commands print: standard output where a closed pipe
//! (`duban status | head -3`) ends the output quietly — the command still
//! finishes its work and exits as it would, printing nothing more.
//! `print!` and `println!` in src/cli are this module's (see cli/mod.rs).

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once a write found the pipe closed: what follows is dropped.
static CLOSED: AtomicBool = AtomicBool::new(false);

/// Standard output, quiet on a closed pipe.
pub(crate) struct Stdout;

impl Stdout {
    fn quiet<T>(result: io::Result<T>, none: T) -> io::Result<T> {
        match result {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                CLOSED.store(true, Ordering::Relaxed);
                Ok(none)
            }
            other => other,
        }
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if CLOSED.load(Ordering::Relaxed) {
            return Ok(buf.len());
        }
        Stdout::quiet(io::stdout().write(buf), buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if CLOSED.load(Ordering::Relaxed) {
            return Ok(());
        }
        Stdout::quiet(io::stdout().flush(), ())
    }
}

/// What `print!` and `println!` call: the text whole, or nothing once the
/// pipe is closed; any other failure said once on stderr.
pub(crate) fn print(args: std::fmt::Arguments<'_>) {
    let mut out = io::stdout().lock();
    if CLOSED.load(Ordering::Relaxed) {
        return;
    }
    if let Err(e) = Stdout::quiet(out.write_fmt(args), ()) {
        CLOSED.store(true, Ordering::Relaxed);
        let _ = writeln!(io::stderr(), "error: writing output: {e}");
    }
}
