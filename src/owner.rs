//! Which process holds a claim or runs a run: its pid and the time the
//! system started it, as one token ("4242@123456"), so a pid the system
//! gave again to another process is not taken for the first. A claim
//! whose process is gone is taken back at once; a run whose process is
//! gone is shown as interrupted.
//!
//! Linux tells the start time in `/proc/PID/stat`; elsewhere the token is
//! the pid alone and every owner counts as alive (claims then expire by
//! their time, as before).

use std::sync::LazyLock;

static CURRENT: LazyLock<String> = LazyLock::new(|| token(std::process::id()));

/// This process's token.
pub fn current() -> &'static str {
    CURRENT.as_str()
}

/// This machine's name (empty where the system does not tell).
pub fn host() -> &'static str {
    static HOST: LazyLock<String> = LazyLock::new(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .or_else(|_| std::env::var("HOSTNAME"))
            .unwrap_or_default()
    });
    HOST.as_str()
}

/// This machine's boot (Linux's boot id): a token of a process that ran
/// before the machine restarted names no process of this boot.
pub fn boot() -> &'static str {
    static BOOT: LazyLock<String> = LazyLock::new(|| {
        std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
            .map(|b| b.trim().to_string())
            .unwrap_or_default()
    });
    BOOT.as_str()
}

/// Whether the process of `token`, which ran on the machine `host` in
/// its boot `boot`, is known to be gone: on this machine, in this boot,
/// and [`alive`] says no — or on this machine in an earlier boot.
pub fn gone(token: &str, host: &str, boot: &str) -> bool {
    if host.is_empty() || host != self::host() {
        return false;
    }
    if !boot.is_empty() && !self::boot().is_empty() && boot != self::boot() {
        return true;
    }
    !alive(token)
}

fn token(pid: u32) -> String {
    match start_time(pid) {
        Some(t) => format!("{pid}@{t}"),
        None => pid.to_string(),
    }
}

/// The start time (clock ticks since boot) of process `pid`, field 22 of
/// `/proc/PID/stat`.
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces.
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(19)?.parse().ok()
}

/// Whether the process of `token` still runs: false only when this
/// machine can tell it is gone (no such pid, or another process under it).
pub fn alive(token: &str) -> bool {
    if token == current() {
        return true;
    }
    let (pid, started) = match token.split_once('@') {
        Some((p, s)) => (p, Some(s)),
        None => (token, None),
    };
    let Ok(pid) = pid.parse::<u32>() else {
        return true;
    };
    if !std::path::Path::new("/proc/self/stat").exists() {
        return true;
    }
    match (start_time(pid), started) {
        (None, _) => false,
        (Some(now), Some(then)) => then.parse::<u64>().is_ok_and(|t| t == now),
        (Some(_), None) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_reused_pid_is_not() {
        assert!(alive(current()));
        let pid = std::process::id();
        assert!(!alive(&format!("{pid}@1")) || start_time(pid).is_none());
    }
}
