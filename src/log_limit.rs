//! Log lines a client can cause at will — refused transfers, NOTIFYs and updates, rejected
//! signatures — admitted once per client and kind every ten seconds, with how many were left
//! out since, so a flood of refused requests cannot flood the log (100,000 refused AXFRs once
//! wrote 100,000 lines).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

/// How often one client's lines of one kind get through.
pub const EVERY: Duration = Duration::from_secs(10);

/// Sources remembered at most; past that the memory starts over (a flood of spoofed sources
/// then logs one line per source, never more than this many at once).
const MAX_SOURCES: usize = 10_000;

/// A client and the kind of line it caused.
type Source = (Option<IpAddr>, &'static str);

/// When the source's last line went out, and how many were left out since.
type Seen = (Instant, u64);

#[derive(Default)]
pub struct LogLimit {
    seen: Mutex<HashMap<Source, Seen>>,
}

impl LogLimit {
    /// Whether a line of `kind` caused by `peer` goes to the log now; if so, how many such lines
    /// were left out since the last one.
    pub fn admit(&self, peer: Option<IpAddr>, kind: &'static str) -> Option<u64> {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        match seen.get_mut(&(peer, kind)) {
            Some((since, quiet)) if now.duration_since(*since) < EVERY => {
                *quiet += 1;
                None
            }
            Some((since, quiet)) => {
                let left_out = *quiet;
                (*since, *quiet) = (now, 0);
                Some(left_out)
            }
            None => {
                if seen.len() >= MAX_SOURCES {
                    seen.clear();
                }
                seen.insert((peer, kind), (now, 0));
                Some(0)
            }
        }
    }
}

/// The process's one limiter.
pub static LIMIT: LazyLock<LogLimit> = LazyLock::new(LogLimit::default);

/// [`LogLimit::admit`] on the process's limiter.
pub fn admit(peer: Option<IpAddr>, kind: &'static str) -> Option<u64> {
    LIMIT.admit(peer, kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_client_and_kind_then_the_count_of_those_left_out() {
        let l = LogLimit::default();
        let a: Option<IpAddr> = Some([192, 0, 2, 1].into());
        let b: Option<IpAddr> = Some([192, 0, 2, 2].into());
        assert_eq!(l.admit(a, "transfer refused"), Some(0));
        for _ in 0..99 {
            assert_eq!(l.admit(a, "transfer refused"), None);
        }
        assert_eq!(l.admit(a, "NOTIFY refused"), Some(0), "another kind");
        assert_eq!(l.admit(b, "transfer refused"), Some(0), "another client");
        // Once the window has passed, the next line carries the count.
        l.seen
            .lock()
            .unwrap()
            .get_mut(&(a, "transfer refused"))
            .unwrap()
            .0 -= EVERY;
        assert_eq!(l.admit(a, "transfer refused"), Some(99));
    }
}
