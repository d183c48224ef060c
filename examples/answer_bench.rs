//! In-process cost of the answer path, without sockets: policydns's hand-written parse, lookup
//! and write (`answer::respond`) against a baseline built on hickory-proto's wire format for
//! the same work: decode the query with `Message::from_vec`, look up with our zone, build the
//! same response as a `Message`, encode with `to_vec`. This is the benchmark behind writing the
//! hot path's wire code by hand.
//!
//! cargo run --release --example answer_bench -- ZONE_FILE ORIGIN QUERY_FILE [ROUNDS]
//! (QUERY_FILE in dnsperf format, `name type` per line; bench/gen_zone.py writes both.)

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use hickory_proto::op::{Message, Query};
use hickory_proto::rr::{Name, RecordType};
use policydns::answer::respond;
use policydns::snapshot::{Options, Snapshot};
use policydns::wire::name;
use policydns::wire::{Transport, MAX_MESSAGE};
use policydns::zone::{Catalog, Zone};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: answer_bench ZONE_FILE ORIGIN QUERY_FILE [ROUNDS]");
        std::process::exit(2);
    }
    let origin = name::from_text(&args[2], None).expect("origin");
    let (zone, _) = Zone::load(&origin, Path::new(&args[1])).expect("zone loads");
    let snap = Snapshot {
        catalog: Catalog::new(vec![Arc::new(zone)]),
        options: Options::default(),
        ..Snapshot::default()
    };
    let rounds: usize = args.get(4).map(|r| r.parse().unwrap()).unwrap_or(20);
    let queries: Vec<Vec<u8>> = std::fs::read_to_string(&args[3])
        .expect("query file")
        .lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let (n, t) = (it.next()?, it.next()?);
            let mut m = Message::query();
            m.metadata.id = 1;
            m.add_query(Query::query(
                Name::from_ascii(n).ok()?,
                t.parse::<RecordType>().ok()?,
            ));
            m.to_vec().ok()
        })
        .collect();
    let mut out = vec![0u8; MAX_MESSAGE];

    // Ours.
    let mut bytes = 0usize;
    let t = Instant::now();
    for _ in 0..rounds {
        for q in &queries {
            bytes += respond(&snap, q, Transport::Udp, &mut out);
        }
    }
    let ours = t.elapsed().as_nanos() as f64 / (rounds * queries.len()) as f64;

    if std::env::var_os("ONLY_OURS").is_some() {
        println!(
            "policydns respond(): {ours:.0} ns/query ({} bytes/response)",
            bytes / (rounds * queries.len())
        );
        return;
    }
    // Baseline: the same responses through hickory-proto's Message decode/encode.
    let prepared: Vec<Message> = queries
        .iter()
        .map(|q| {
            let n = respond(&snap, q, Transport::Udp, &mut out);
            Message::from_vec(&out[..n]).expect("decodes")
        })
        .collect();
    let mut hbytes = 0usize;
    let t = Instant::now();
    for _ in 0..rounds {
        for (q, resp) in queries.iter().zip(&prepared) {
            let req = Message::from_vec(q).expect("query decodes");
            // The lookup itself is ours in both cases: only the wire work differs.
            let n = respond(&snap, q, Transport::Udp, &mut out);
            std::hint::black_box(n);
            let mut m = Message::response(req.metadata.id, req.metadata.op_code);
            m.metadata = resp.metadata;
            m.add_queries(req.queries.clone());
            m.add_answers(resp.answers.iter().cloned());
            m.add_authorities(resp.authorities.iter().cloned());
            m.add_additionals(resp.additionals.iter().cloned());
            hbytes += m.to_vec().expect("encodes").len();
        }
    }
    let baseline = t.elapsed().as_nanos() as f64 / (rounds * queries.len()) as f64;
    println!("queries: {} x {rounds} rounds", queries.len());
    println!(
        "policydns respond():                 {ours:8.0} ns/query ({} bytes/response)",
        bytes / (rounds * queries.len())
    );
    println!(
        "hickory decode + respond() + encode:  {baseline:8.0} ns/query ({} bytes/response)",
        hbytes / (rounds * queries.len())
    );
    println!(
        "hickory wire work alone ≈ {:.0} ns/query, {:.1}x our whole answer path",
        baseline - ours,
        (baseline - ours) / ours
    );
}
