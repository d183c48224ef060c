//! The limiter's rules, one per test, on hand-made answers.

use super::*;

/// An answer for `www.example.` A with `an` answers and `rcode`.
fn answer(rcode: u8, an: u16) -> Vec<u8> {
    let mut r = vec![0x12, 0x34, 0x84, rcode, 0, 1];
    r.extend_from_slice(&an.to_be_bytes());
    r.extend_from_slice(&[0, 0, 0, 0]);
    r.extend_from_slice(b"\x03www\x07example\x00\x00\x01\x00\x01");
    r
}

fn client(last: u8) -> IpAddr {
    [198, 51, 100, last].into()
}

#[test]
fn the_rate_passes_then_every_slip_th_is_truncated_and_the_rest_dropped() {
    let s = RrlSettings::at_rate(5);
    let mut l = Limiter::default();
    let r = answer(0, 1);
    let verdicts: Vec<Verdict> = (0..11).map(|_| l.check(&s, 100, client(1), &r)).collect();
    use Verdict::*;
    assert_eq!(
        verdicts,
        [Send, Send, Send, Send, Send, Drop, Slip, Drop, Slip, Drop, Slip]
    );
}

#[test]
fn the_allowance_comes_back_with_time() {
    let s = RrlSettings::at_rate(5);
    let mut l = Limiter::default();
    let r = answer(0, 1);
    for _ in 0..5 {
        assert_eq!(l.check(&s, 100, client(1), &r), Verdict::Send);
    }
    assert_ne!(l.check(&s, 100, client(1), &r), Verdict::Send);
    // One second on: the debt of one is paid and four more go out.
    let sent = (0..10)
        .filter(|_| l.check(&s, 101, client(1), &r) == Verdict::Send)
        .count();
    assert_eq!(sent, 4);
}

#[test]
fn one_network_is_one_client_and_another_network_is_not_limited_by_it() {
    let s = RrlSettings::at_rate(2);
    let mut l = Limiter::default();
    let r = answer(0, 1);
    assert_eq!(l.check(&s, 7, client(1), &r), Verdict::Send);
    assert_eq!(l.check(&s, 7, client(2), &r), Verdict::Send, "same /24");
    assert_ne!(
        l.check(&s, 7, client(3), &r),
        Verdict::Send,
        "same /24, over the rate"
    );
    let elsewhere: IpAddr = [203, 0, 113, 9].into();
    assert_eq!(l.check(&s, 7, elsewhere, &r), Verdict::Send);
}

#[test]
fn exempt_networks_and_truncated_answers_are_never_limited() {
    let mut s = RrlSettings::at_rate(1);
    s.exempt = vec!["198.51.100.0/24".parse().unwrap()];
    let mut l = Limiter::default();
    let r = answer(0, 1);
    assert!((0..100).all(|_| l.check(&s, 1, client(1), &r) == Verdict::Send));
    let s = RrlSettings::at_rate(1);
    let mut tc = answer(0, 1);
    tc[2] |= 0x02;
    assert!((0..100).all(|_| l.check(&s, 1, client(1), &tc) == Verdict::Send));
}

#[test]
fn errors_have_their_own_rate() {
    let mut s = RrlSettings::at_rate(100);
    s.errors_per_second = 1;
    let mut l = Limiter::default();
    let refused = answer(5, 0);
    assert_eq!(l.check(&s, 1, client(1), &refused), Verdict::Send);
    assert_ne!(l.check(&s, 1, client(1), &refused), Verdict::Send);
    assert_eq!(l.check(&s, 1, client(1), &answer(0, 1)), Verdict::Send);
}

#[test]
fn nxdomain_for_every_name_of_a_zone_shares_one_bucket() {
    let s = RrlSettings::at_rate(3);
    let mut l = Limiter::default();
    // x<n>.example. NXDOMAIN with the SOA owner pointing at "example." in the question.
    let nx = |n: u8| {
        let mut r = vec![0x12, 0x34, 0x84, 3, 0, 1, 0, 0, 0, 1, 0, 0];
        r.extend_from_slice(&[2, b'x', b'0' + n]);
        r.extend_from_slice(b"\x07example\x00\x00\x01\x00\x01");
        r.extend_from_slice(&[0xC0, 15]); // offset of "example." in the question
        r.extend_from_slice(&[0, 6, 0, 1, 0, 0, 0, 60, 0, 0]);
        r
    };
    let sent = (0..9)
        .filter(|&n| l.check(&s, 1, client(1), &nx(n)) == Verdict::Send)
        .count();
    assert_eq!(sent, 3);
}

#[test]
fn a_slipped_answer_is_the_header_and_question_with_tc() {
    let mut r = answer(0, 1);
    r.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]);
    let len = r.len();
    let n = slip(&mut r, len);
    assert_eq!(n, 12 + 13 + 4);
    assert_eq!(r[2] & 0x02, 0x02);
    assert_eq!(&r[6..12], &[0; 6]);
}

#[test]
fn a_slipped_answer_keeps_its_opt_record_and_cookie() {
    let mut r = answer(0, 1);
    r[11] = 1; // ARCOUNT: the OPT
    r.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]);
    // OPT: payload 1232, a COOKIE option (client 8 + server 16 octets).
    let mut opt = vec![0, 0, 41, 0x04, 0xD0, 0, 0, 0, 0, 0, 28, 0, 10, 0, 24];
    opt.extend(1..=24u8);
    r.extend_from_slice(&opt);
    let len = r.len();
    let n = slip(&mut r, len);
    assert_eq!(n, 12 + 13 + 4 + opt.len());
    assert_eq!(&r[6..12], &[0, 0, 0, 0, 0, 1]);
    assert_eq!(&r[29..n], &opt[..]);
}
