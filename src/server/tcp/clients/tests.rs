use std::net::IpAddr;
use std::time::Duration;

use super::{Clients, ConnectionLimits, Refusal};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn limits(max_total: usize, max_per_network: usize) -> ConnectionLimits {
    ConnectionLimits {
        max_total,
        max_per_network,
        ..ConnectionLimits::default()
    }
}

#[test]
fn a_network_holds_at_most_its_share_and_others_still_get_in() {
    let clients = Clients::new(limits(100, 3));
    let held: Vec<_> = (1..=3)
        .map(|i| clients.admit(ip(&format!("192.0.2.{i}"))).unwrap())
        .collect();
    assert_eq!(
        clients.admit(ip("192.0.2.200")).err(),
        Some(Refusal::NetworkFull),
        "a fourth address of the same /24"
    );
    assert!(clients.admit(ip("192.0.3.1")).is_ok(), "another /24");
    assert_eq!(held.len(), 3);
}

#[test]
fn ipv6_networks_are_counted_by_their_slash_56() {
    let clients = Clients::new(limits(100, 1));
    let _a = clients.admit(ip("2001:db8:0:1::1")).unwrap();
    assert_eq!(
        clients.admit(ip("2001:db8:0:1:ff::1")).err(),
        Some(Refusal::NetworkFull)
    );
    assert!(clients.admit(ip("2001:db8:0:100::1")).is_ok());
}

#[test]
fn a_closed_connection_gives_its_place_back() {
    let clients = Clients::new(limits(100, 1));
    let a = clients.admit(ip("192.0.2.1")).unwrap();
    drop(a);
    assert!(clients.admit(ip("192.0.2.1")).is_ok());
    assert_eq!(clients.len(), 0, "the second one was dropped too");
}

#[tokio::test]
async fn a_full_table_closes_the_longest_idle_connection_for_a_newcomer() {
    let clients = Clients::new(limits(3, 3));
    let a = clients.admit(ip("192.0.2.1")).unwrap().admitted;
    let b = clients.admit(ip("192.0.3.1")).unwrap().admitted;
    let c = clients.admit(ip("192.0.4.1")).unwrap().admitted;
    std::thread::sleep(Duration::from_millis(3));
    a.idle(); // just answered a query: idle for the shortest time
    b.busy(); // answering now
              // c has been idle since it connected: the longest.
    let d = clients.admit(ip("198.51.100.1")).unwrap();
    assert!(d.evicted);
    tokio::time::timeout(Duration::from_secs(1), c.closed())
        .await
        .expect("the longest-idle connection is told to close");
    assert_eq!(clients.len(), 3);
    drop(c); // its own drop after eviction frees nothing twice
    assert_eq!(clients.len(), 3);
    drop((a, b));
}

#[test]
fn a_newcomer_is_turned_away_only_when_every_connection_is_busy() {
    let clients = Clients::new(limits(2, 2));
    let a = clients.admit(ip("192.0.2.1")).unwrap().admitted;
    let b = clients.admit(ip("192.0.3.1")).unwrap().admitted;
    a.busy();
    b.busy();
    assert_eq!(
        clients.admit(ip("198.51.100.1")).err(),
        Some(Refusal::AllBusy)
    );
    b.idle();
    assert!(clients.admit(ip("198.51.100.1")).unwrap().evicted);
}

#[test]
fn an_evicted_connection_no_longer_counts_against_its_network() {
    let clients = Clients::new(limits(1, 1));
    let _a = clients.admit(ip("192.0.2.1")).unwrap();
    let _b = clients.admit(ip("198.51.100.1")).unwrap(); // evicts a
    let _c = clients.admit(ip("192.0.2.1")).unwrap(); // a's network has room again
}
