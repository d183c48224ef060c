//! Matchers, URLs, host headers, framing and verdicts, without a network.
use super::*;

#[test]
fn matcher() {
    let cases: &[(&str, &[u16], &[u16])] = &[
        ("200", &[200], &[201, 302]),
        ("200,302", &[200, 302], &[201, 301, 500]),
        ("200-299", &[200, 250, 299], &[199, 300]),
        ("200-299, 302", &[204, 302], &[301, 404]),
    ];
    for (s, yes, no) in cases {
        let m: StatusMatcher = s.parse().unwrap();
        assert!(yes.iter().all(|&c| m.matches(c)), "{s}");
        assert!(no.iter().all(|&c| !m.matches(c)), "{s}");
    }
    for bad in ["", "abc", "299-200", "99", "600", "200-", "200,,302"] {
        assert!(bad.parse::<StatusMatcher>().is_err(), "{bad:?}");
    }
    let d = StatusMatcher::default();
    assert!(d.matches(200) && d.matches(399) && !d.matches(199) && !d.matches(400));
}

#[test]
fn urls_and_host_header() {
    let mut s = HttpSpec::new(Scheme::Http, "::1", 8080);
    s.path = "health?x=1".into();
    assert_eq!(s.url(), "http://[::1]:8080/health?x=1");
    let s = HttpSpec::new(Scheme::Https, "example.com", 443);
    assert_eq!(s.url(), "https://example.com:443/");
    let ip: IpAddr = "192.0.2.1".parse().unwrap();
    assert_eq!(
        route53_host_header(Scheme::Http, Some("a.example"), ip, 80),
        "a.example"
    );
    assert_eq!(
        route53_host_header(Scheme::Https, Some("a.example"), ip, 443),
        "a.example"
    );
    assert_eq!(
        route53_host_header(Scheme::Http, Some("a.example"), ip, 443),
        "a.example:443"
    );
    assert_eq!(
        route53_host_header(Scheme::Http, None, ip, 8080),
        "192.0.2.1"
    );
}

#[test]
fn search_window() {
    assert!(contains(b"abcdef", b"cde"));
    assert!(!contains(b"abcdef", b"cdf"));
    assert!(!contains(b"ab", b"abc"));
}
