//! A client's network: its address cut to a prefix length (a /24 or /56 by default), the unit
//! that response-rate limiting and the TCP connection limits count by — one host of a network
//! can take any of its addresses, so limiting per address would limit nothing.

use std::net::IpAddr;

/// The address cut to `ipv4_prefix` or `ipv6_prefix` bits, as octets, with the family in the
/// last octet (4 or 6) so an IPv4 network never equals an IPv6 one. No allocation.
pub fn of(client: IpAddr, ipv4_prefix: u8, ipv6_prefix: u8) -> [u8; 17] {
    let mut out = [0u8; 17];
    let (octets, prefix): (&[u8], u8) = match client {
        IpAddr::V4(a) => {
            out[16] = 4;
            (&a.octets()[..], ipv4_prefix.min(32))
        }
        IpAddr::V6(a) => {
            out[16] = 6;
            (&a.octets()[..], ipv6_prefix.min(128))
        }
    };
    let mut bytes = [0u8; 16];
    bytes[..octets.len()].copy_from_slice(octets);
    for (i, b) in bytes.iter_mut().enumerate() {
        let keep = (prefix as usize).saturating_sub(i * 8).min(8);
        *b &= if keep == 0 { 0 } else { 0xFFu8 << (8 - keep) };
    }
    out[..16].copy_from_slice(&bytes);
    out
}

/// The network's first address: what a log line names for the network as a whole.
pub fn first_address(client: IpAddr, ipv4_prefix: u8, ipv6_prefix: u8) -> IpAddr {
    let n = of(client, ipv4_prefix, ipv6_prefix);
    if n[16] == 4 {
        IpAddr::from([n[0], n[1], n[2], n[3]])
    } else {
        let mut o = [0u8; 16];
        o.copy_from_slice(&n[..16]);
        IpAddr::from(o)
    }
}

#[cfg(test)]
mod tests {
    use super::of;

    #[test]
    fn addresses_of_one_network_are_one_network_and_others_are_not() {
        let ip = |s: &str| s.parse().unwrap();
        let table = [
            ("192.0.2.1", "192.0.2.200", 24, true),
            ("192.0.2.1", "192.0.3.1", 24, false),
            ("192.0.2.1", "192.0.3.1", 16, true),
            ("192.0.2.1", "192.0.2.2", 32, false),
            ("2001:db8:0:1::1", "2001:db8:0:1:ffff::9", 56, true),
            ("2001:db8:0:1::1", "2001:db8:0:100::1", 56, false),
            ("0.0.0.0", "::", 0, false), // families never meet
        ];
        for (a, b, prefix, same) in table {
            assert_eq!(
                of(ip(a), prefix, prefix.max(56)) == of(ip(b), prefix, prefix.max(56)),
                same,
                "{a} and {b} at /{prefix}"
            );
        }
    }
}
