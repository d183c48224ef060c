//! Configuration + zone files → a new [`Snapshot`]. On reload a zone that fails keeps its
//! previous version; the failure is reported with file:line.

use std::sync::Arc;

use crate::answer::Snapshot;
use crate::config::Config;
use crate::zone::{name, Catalog, LoadError, Zone};

/// The result of building a snapshot: what to serve, and what went wrong on the way.
pub struct Built {
    pub snapshot: Snapshot,
    /// Zones that failed, each with every problem found.
    pub failures: Vec<(String, LoadError)>,
    pub warnings: Vec<String>,
}

/// Loads every configured zone. A zone that fails is taken from `previous` when it has one.
pub fn build(config: &Config, previous: Option<&Snapshot>) -> Built {
    let mut zones = Vec::with_capacity(config.zones.len());
    let mut failures = Vec::new();
    let mut warnings = Vec::new();
    for spec in &config.zones {
        match Zone::load(&spec.origin, &spec.file) {
            Ok((zone, w)) => {
                warnings.extend(w);
                zones.push(Arc::new(zone));
            }
            Err(e) => {
                let origin = name::to_text(&spec.origin);
                if let Some(old) = previous.and_then(|p| p.catalog.zone_by_origin(&spec.origin)) {
                    zones.push(old.clone());
                }
                failures.push((origin, e));
            }
        }
    }
    let built = Built {
        snapshot: Snapshot {
            catalog: Catalog::new(zones),
            options: config.options.clone(),
        },
        failures,
        warnings,
    };
    release_freed_memory();
    built
}

/// Parsing a large zone leaves many freed blocks that glibc keeps mapped; hand them back so
/// the server's resident size is what the zones really take.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}
