//! Heap bytes a loaded zone keeps, counted by a wrapping allocator (no guesswork from RSS):
//! `cargo run --release --example zone_memory -- ZONE_FILE ORIGIN`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let now = LIVE.fetch_add(l.size(), Ordering::Relaxed) + l.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static A: Counting = Counting;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let origin = policydns::wire::name::from_text(&args[2], None).expect("origin");
    let t = std::time::Instant::now();
    let (zone, _) =
        policydns::zone::Zone::load(&origin, std::path::Path::new(&args[1])).expect("loads");
    let secs = t.elapsed().as_secs_f64();
    let live = LIVE.load(Ordering::Relaxed);
    let records = zone.record_count;
    println!(
        "{records} records, {} names: {:.1} MiB kept ({:.0} B/record), peak {:.1} MiB, load {secs:.2} s",
        zone.nodes.len(),
        live as f64 / 1048576.0,
        live as f64 / records as f64,
        PEAK.load(Ordering::Relaxed) as f64 / 1048576.0
    );
}
