//! RFC 9018 Appendix A's examples, and the rules of RFC 7873 §5.2.2 and RFC 9018 §4.3.

use super::{split, Secret, Secrets};

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn secret(s: &str) -> Secret {
    hex(s).try_into().unwrap()
}

fn only(s: &str) -> Secrets {
    Secrets {
        current: secret(s),
        previous: Vec::new(),
    }
}

#[test]
fn server_cookies_are_the_rfc_9018_examples() {
    // (secret, client cookie, client address, time, server cookie): Appendix A.1–A.4.
    let table = [
        (
            "e5e973e5a6b2a43f48e7dc849e37bfcf",
            "2464c4abcf10c957",
            "198.51.100.100",
            1559731985,
            "010000005cf79f111f8130c3eee29480",
        ),
        (
            "e5e973e5a6b2a43f48e7dc849e37bfcf",
            "2464c4abcf10c957",
            "198.51.100.100",
            1559734385,
            "010000005cf7a871d4a564a1442aca77",
        ),
        (
            "e5e973e5a6b2a43f48e7dc849e37bfcf",
            "fc93fc62807ddb86",
            "203.0.113.203",
            1559734700,
            "010000005cf7a9acf73a7810aca2381e",
        ),
        (
            "445536bcd2513298075a5d379663c962",
            "22681ab97d52c298",
            "2001:db8:220:1:59de:d0f4:8769:82b8",
            1559741961,
            "010000005cf7c609a6bb79d16625507a",
        ),
    ];
    for (s, client, ip, now, want) in table {
        let client: [u8; 8] = hex(client).try_into().unwrap();
        let got = only(s).server_cookie(&client, ip.parse().unwrap(), now);
        assert_eq!(got.to_vec(), hex(want), "{ip} at {now}");
    }
}

#[test]
fn returned_cookies_are_judged_as_rfc_9018_says() {
    let old = "dd3bdf9344b678b185a6f5cb60fca715";
    let new = "445536bcd2513298075a5d379663c962";
    let rolled = Secrets {
        current: secret(new),
        previous: vec![secret(old)],
    };
    // (secrets, client address, the whole COOKIE option, time, valid?)
    let table = [
        // A.2: the cookie of A.1 comes back 40 minutes later.
        (
            only("e5e973e5a6b2a43f48e7dc849e37bfcf"),
            "198.51.100.100",
            "2464c4abcf10c957010000005cf79f111f8130c3eee29480",
            1559734385,
            true,
        ),
        // A.3: another server of the set set the reserved octets; they are hashed as received.
        // Stamped 1559727985: good a minute later, too old when A.3's client sends it (1 h
        // 52 min later: the server makes a new one).
        (
            only("e5e973e5a6b2a43f48e7dc849e37bfcf"),
            "203.0.113.203",
            "fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5",
            1559728045,
            true,
        ),
        (
            only("e5e973e5a6b2a43f48e7dc849e37bfcf"),
            "203.0.113.203",
            "fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5",
            1559734700,
            false,
        ),
        // The same cookie from another address is not its client's.
        (
            only("e5e973e5a6b2a43f48e7dc849e37bfcf"),
            "203.0.113.204",
            "fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5",
            1559728045,
            false,
        ),
        // A.4: made with the old secret, accepted while it is still listed, not after.
        (
            rolled.clone(),
            "2001:db8:220:1:59de:d0f4:8769:82b8",
            "22681ab97d52c298010000005cf7c57926556bd0934c72f8",
            1559741961,
            true,
        ),
        (
            only(new),
            "2001:db8:220:1:59de:d0f4:8769:82b8",
            "22681ab97d52c298010000005cf7c57926556bd0934c72f8",
            1559741961,
            false,
        ),
        // A.1's cookie: an hour old is still good, an hour and a second is not; five minutes
        // ahead is good, a second more is not.
        (
            only("e5e973e5a6b2a43f48e7dc849e37bfcf"),
            "198.51.100.100",
            "2464c4abcf10c957010000005cf79f111f8130c3eee29480",
            1559731985 + 3600,
            true,
        ),
        (
            only("e5e973e5a6b2a43f48e7dc849e37bfcf"),
            "198.51.100.100",
            "2464c4abcf10c957010000005cf79f111f8130c3eee29480",
            1559731985 + 3601,
            false,
        ),
        (
            only("e5e973e5a6b2a43f48e7dc849e37bfcf"),
            "198.51.100.100",
            "2464c4abcf10c957010000005cf79f111f8130c3eee29480",
            1559731985 - 300,
            true,
        ),
        (
            only("e5e973e5a6b2a43f48e7dc849e37bfcf"),
            "198.51.100.100",
            "2464c4abcf10c957010000005cf79f111f8130c3eee29480",
            1559731985 - 301,
            false,
        ),
        // Another version, or a server cookie of another length (someone else's design).
        (
            only("e5e973e5a6b2a43f48e7dc849e37bfcf"),
            "198.51.100.100",
            "2464c4abcf10c957020000005cf79f111f8130c3eee29480",
            1559731985,
            false,
        ),
        (
            only("e5e973e5a6b2a43f48e7dc849e37bfcf"),
            "198.51.100.100",
            "2464c4abcf10c9570102030405060708",
            1559731985,
            false,
        ),
    ];
    for (secrets, ip, option, now, want) in table {
        let option = hex(option);
        let (client, server) = split(&option).unwrap();
        assert_eq!(
            secrets.valid(client, server, ip.parse().unwrap(), now),
            want,
            "{ip} {option:02x?} at {now}"
        );
    }
}

#[test]
fn a_timestamp_is_read_across_the_wrap_of_2106() {
    let s = only("e5e973e5a6b2a43f48e7dc849e37bfcf");
    let client = [1u8; 8];
    let ip = "192.0.2.1".parse().unwrap();
    let made = s.server_cookie(&client, ip, u32::MAX - 100);
    assert!(
        s.valid(&client, &made, ip, 1000),
        "an hour less a bit, across the wrap"
    );
}

#[test]
fn cookie_option_lengths_are_those_rfc_7873_allows() {
    for (len, ok) in [
        (0, false),
        (7, false),
        (8, true),
        (9, false),
        (15, false),
        (16, true),
        (24, true),
        (40, true),
        (41, false),
    ] {
        assert_eq!(split(&vec![0u8; len]).is_some(), ok, "{len} octets");
    }
}
