//! An operator-supplied latency map: measured round-trip times from client networks to
//! regions, e.g. from RIPE Atlas-style probes. Route 53 uses AWS's own measurements (§3.3),
//! which nobody else has; without a map, great-circle distance stands in.
//!
//! Format: one measurement per line, `CIDR REGION RTT_MS`; `#` starts a comment.
//!
//! ```text
//! # prefix          region          rtt_ms
//! 198.51.100.0/24   eu-central-1    12.5
//! 198.51.100.0/24   us-east-1       95
//! 2001:db8::/32     us-west-2       40
//! ```
//!
//! The longest prefix holding the client decides; only the regions measured for it are
//! compared. A client in no prefix falls back to distance.

use std::net::IpAddr;
use std::path::Path;

use ipnetwork::IpNetwork;

use super::regions;

#[derive(Debug, Clone, Default)]
pub struct LatencyMap {
    /// Longest prefixes first; each with (region, RTT in ms).
    prefixes: Vec<(IpNetwork, Vec<(u16, f64)>)>,
}

/// A latency map that does not read; shown as `file:line: message`.
#[derive(Debug, thiserror::Error)]
pub enum LatencyError {
    #[error("{}: {source}", path.display())]
    Read {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{}: {}", path.display(), error.line, error.problem)]
    Line {
        path: std::path::PathBuf,
        error: LineError,
    },
}

/// What is wrong with one line of a latency map.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {problem}")]
pub struct LineError {
    pub line: usize,
    pub problem: String,
}

impl LatencyMap {
    /// Reads a map; errors are `file:line: message`.
    pub fn load(path: &Path) -> Result<LatencyMap, LatencyError> {
        let text = std::fs::read_to_string(path).map_err(|source| LatencyError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text).map_err(|error| LatencyError::Line {
            path: path.to_path_buf(),
            error,
        })
    }

    /// Lines of `CIDR REGION RTT_MS`; `#` starts a comment.
    pub fn parse(text: &str) -> Result<LatencyMap, LineError> {
        let mut prefixes: Vec<(IpNetwork, Vec<(u16, f64)>)> = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let f: Vec<&str> = line.split_whitespace().collect();
            let problem = |problem: String| LineError {
                line: i + 1,
                problem,
            };
            let [cidr, region, rtt] = f[..] else {
                return Err(problem(format!(
                    "expected CIDR REGION RTT_MS, found {line:?}"
                )));
            };
            let net: IpNetwork = cidr
                .parse()
                .map_err(|e| problem(format!("{cidr:?}: {e}")))?;
            let region = regions::index(region)
                .ok_or_else(|| problem(format!("unknown region {region:?}")))?;
            let rtt: f64 = rtt
                .parse()
                .ok()
                .filter(|r: &f64| r.is_finite() && *r >= 0.0)
                .ok_or_else(|| problem(format!("RTT {rtt:?} is not a number of milliseconds")))?;
            match prefixes.iter_mut().find(|(n, _)| *n == net) {
                Some((_, v)) => match v.iter_mut().find(|(r, _)| *r == region) {
                    Some(e) => e.1 = rtt,
                    None => v.push((region, rtt)),
                },
                None => prefixes.push((net, vec![(region, rtt)])),
            }
        }
        prefixes.sort_by_key(|(n, _)| std::cmp::Reverse(n.prefix()));
        Ok(LatencyMap { prefixes })
    }

    /// The measurements for the longest prefix holding `addr` that the client revealed
    /// (`source_prefix` bits), if any.
    pub fn lookup(&self, addr: IpAddr, source_prefix: u8) -> Option<&[(u16, f64)]> {
        self.prefixes
            .iter()
            .find(|(n, _)| n.prefix() <= source_prefix && n.contains(addr))
            .map(|(_, v)| v.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_prefix_decides() {
        let m = LatencyMap::parse(
            "198.51.0.0/16 us-east-1 80\n198.51.100.0/24 eu-central-1 10 # probe 7\n",
        )
        .unwrap();
        let eu = regions::index("eu-central-1").unwrap();
        assert_eq!(
            m.lookup("198.51.100.9".parse().unwrap(), 32),
            Some(&[(eu, 10.0)][..])
        );
        assert_eq!(
            m.lookup("198.51.7.1".parse().unwrap(), 32).map(|v| v.len()),
            Some(1)
        );
        assert_eq!(
            m.lookup("198.51.100.9".parse().unwrap(), 16)
                .map(|v| v[0].1),
            Some(80.0),
            "a /16 client cannot use the /24"
        );
        assert!(m.lookup("203.0.113.1".parse().unwrap(), 32).is_none());
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(
            LatencyMap::parse("\n198.51.100.0/24 mars-1 3\n")
                .unwrap_err()
                .line,
            2
        );
        assert!(LatencyMap::parse("10.0.0.0/8 us-east-1 fast\n").is_err());
    }
}
