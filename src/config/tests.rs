//! The configuration's own rules, tested without a server.
use super::*;
use crate::wire::name;

fn write(text: &str) -> (tempdir::Dir, PathBuf) {
    let d = tempdir::Dir::new();
    let p = d.0.join("c.toml");
    std::fs::write(&p, text).unwrap();
    (d, p)
}

mod tempdir {
    pub struct Dir(pub std::path::PathBuf);
    impl Dir {
        pub fn new() -> Self {
            use std::sync::atomic::{AtomicU32, Ordering};
            static N: AtomicU32 = AtomicU32::new(0);
            let p = std::env::temp_dir().join(format!(
                "policydns-config-test-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&p).unwrap();
            Dir(p)
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

#[test]
fn zone_paths_are_relative_to_the_config_file() {
    let (d, p) = write("[[zone]]\norigin = \"example.test\"\nfile = \"e.zone\"\n");
    let c = Config::load(Some(&p), &Overrides::default()).unwrap();
    assert_eq!(c.zones[0].file, Some(d.0.join("e.zone")));
    assert_eq!(
        c.zones[0].origin,
        name::from_text("example.test.", None).unwrap()
    );
    assert!(c.default_listen);
}

#[test]
fn command_line_listen_replaces_and_zones_add() {
    let (_d, p) =
        write("[server]\nlisten=[\"127.0.0.1:1\"]\n[[zone]]\norigin = \"a.test.\"\nfile = \"a\"\n");
    let cli = Overrides {
        listen: vec!["127.0.0.1:2".into()],
        zones: vec!["b.test.=b".into()],
        ..Overrides::default()
    };
    let c = Config::load(Some(&p), &cli).unwrap();
    assert_eq!(c.listen, vec!["127.0.0.1:2".parse().unwrap()]);
    assert_eq!(c.zones.len(), 2);
}

#[test]
fn a_zone_file_and_route53_json_for_one_origin_make_one_zone() {
    let (d, p) = write(
        "[[zone]]\norigin = \"a.test.\"\nroute53 = [\"a.json\", \"b.json\"]\n[[zone]]\norigin = \"b.test.\"\nroute53 = \"c.json\"\n",
    );
    let cli = Overrides {
        zones: vec!["a.test.=a.zone".into()],
        route53: vec!["b.test=d.json".into()],
        ..Overrides::default()
    };
    let c = Config::load(Some(&p), &cli).unwrap();
    assert_eq!(c.zones.len(), 2);
    assert_eq!(c.zones[0].file, Some(PathBuf::from("a.zone")));
    assert_eq!(
        c.zones[0].route53,
        vec![d.0.join("a.json"), d.0.join("b.json")]
    );
    assert_eq!(c.zones[1].file, None);
    assert_eq!(
        c.zones[1].route53,
        vec![d.0.join("c.json"), PathBuf::from("d.json")]
    );
    let twice = Overrides {
        zones: vec!["a.test.=a.zone".into(), "a.test.=b.zone".into()],
        ..Overrides::default()
    };
    let e = Config::load(None, &twice).unwrap_err().to_string();
    assert!(e.contains("zone a.test. is configured twice"), "{e}");
}

#[test]
fn unknown_keys_are_refused_by_name() {
    let (_d, p) = write("[server]\nlisen = []\n");
    let e = Config::load(Some(&p), &Overrides::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("lisen"), "{e}");
}

#[test]
fn bad_values_are_all_reported() {
    let cli = Overrides {
        listen: vec!["localhost".into()],
        zones: vec!["nofile".into()],
        ..Overrides::default()
    };
    let e = Config::load(None, &cli).unwrap_err().to_string();
    assert!(e.contains("IP:PORT") && e.contains("ORIGIN=FILE"), "{e}");
}

#[test]
fn empty_version_refuses_version_queries() {
    let (_d, p) = write("[server]\nversion = \"\"\n[[zone]]\norigin = \"a.test.\"\nfile = \"a\"\n");
    let c = Config::load(Some(&p), &Overrides::default()).unwrap();
    assert!(c.options.version.is_none());
}

#[test]
fn every_bad_key_of_every_table_is_reported_at_its_line() {
    let (_d, p) = write(
        "[server]\nlisen = []\n\n[[zone]]\norigin = \"a.test.\"\nfile = \"a\"\nfiel = \"b\"\n\n[[record_set]]\nname = \"w.a.test.\"\ntype = \"A\"\nset_identifier = \"one\"\nweight = 300\nvalues = [\"192.0.2.1\"]\n\n[[record_set]]\nname = \"v.a.test.\"\ntype = \"A\"\nwieght = 1\nvalues = [\"192.0.2.2\"]\n\n[bogus]\nx = 1\n",
    );
    let Err(ConfigError::Invalid { problems, .. }) = Config::load(Some(&p), &Overrides::default())
    else {
        panic!("the config must be refused")
    };
    let at = |line: usize, what: &str| {
        problems
            .iter()
            .any(|m| m.contains(&format!("c.toml:{line}:")) && m.contains(what))
    };
    assert!(at(2, "`lisen`"), "{problems:#?}");
    assert!(at(7, "`fiel`"), "{problems:#?}");
    // A value that reads but is out of range is reported at its table's first line.
    assert!(at(9, "weight 300 is outside 0..255"), "{problems:#?}");
    assert!(at(19, "`wieght`"), "{problems:#?}");
    assert!(at(22, "`bogus`"), "{problems:#?}");
}

#[test]
fn tcp_limits_and_cookie_secrets_are_read_and_a_bad_secret_is_not_repeated() {
    let (_d, p) = write(
        "[server]\ntcp_max_connections = 100\ncookie_secret = [\"e5e973e5a6b2a43f48e7dc849e37bfcf\", \"445536bcd2513298075a5d379663c962\"]\n[[zone]]\norigin = \"a.test.\"\nfile = \"a\"\n",
    );
    let c = Config::load(Some(&p), &Overrides::default()).unwrap();
    assert_eq!(c.tcp_connections.max_total, 100);
    assert_eq!(
        c.tcp_connections.max_per_network, 25,
        "a quarter by default"
    );
    let secrets = c.options.cookies.expect("cookies on by default");
    assert_eq!(secrets.current[0], 0xe5);
    assert_eq!(secrets.previous.len(), 1);

    let (_d, p) = write(
        "[server]\ncookie_secret = [\"not-a-secret-but-private\"]\ntcp_max_connections_per_network = 0\n[[zone]]\norigin = \"a.test.\"\nfile = \"a\"\n",
    );
    let e = Config::load(Some(&p), &Overrides::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("cookie_secret #1") && e.contains("32 hexadecimal digits"),
        "{e}"
    );
    assert!(e.contains("tcp_max_connections_per_network"), "{e}");
    assert!(
        !e.contains("not-a-secret-but-private"),
        "the secret is not repeated: {e}"
    );

    let (_d, p) =
        write("[server]\ncookies = false\n[[zone]]\norigin = \"a.test.\"\nfile = \"a\"\n");
    assert!(Config::load(Some(&p), &Overrides::default())
        .unwrap()
        .options
        .cookies
        .is_none());
}

/// A configuration with two views, an internal and an internet-facing load balancer, and
/// `extra` appended.
fn with_views(extra: &str) -> Result<Config, ConfigError> {
    let base = r#"
[[view]]
name = "inside"
internal = true
match_clients = ["10.0.0.0/8"]
[[view]]
name = "outside"
match_clients = ["any"]
[[zone]]
origin = "a.test."
file = "a"
[[load_balancer]]
name = "internal-lb.elb.test."
scheme = "internal"
zones = [{ name = "az1", ipv4 = ["10.0.1.1"] }]
[[load_balancer]]
name = "public-lb.elb.test."
zones = [{ name = "az1", ipv4 = ["192.0.2.1"] }]
"#;
    let (_d, p) = write(&format!("{base}{extra}"));
    Config::load(Some(&p), &Overrides::default())
}

#[test]
fn view_rules_are_checked_with_a_message_each() {
    // (what is added, a part of the one problem expected; "" when it is accepted)
    let table = [
        (
            "[[zone]]\norigin = \"b.test.\"\nfile = \"b\"\nview = \"inside\"\n",
            "",
        ),
        (
            "[[zone]]\norigin = \"a.test.\"\nfile = \"a2\"\nview = \"inside\"\n",
            "",
        ),
        (
            "[[zone]]\norigin = \"b.test.\"\nfile = \"b\"\nview = \"nowhere\"\n",
            "c.toml:19: zone b.test.: view \"nowhere\" is not a [[view]] (defined: inside, outside)",
        ),
        (
            "[[record_set]]\nname = \"x.a.test.\"\ntype = \"A\"\nview = \"inside\"\nalias = { name = \"internal-lb.elb.test.\" }\n",
            "",
        ),
        (
            "[[record_set]]\nname = \"x.a.test.\"\ntype = \"A\"\nalias = { name = \"internal-lb.elb.test.\" }\n",
            "whose scheme is internal would be answered to clients of a public view",
        ),
        (
            "[[record_set]]\nname = \"x.a.test.\"\ntype = \"A\"\nview = \"outside\"\nalias = { name = \"dualstack.internal-lb.elb.test.\" }\n",
            "whose scheme is internal would be answered to clients of a public view",
        ),
        (
            "[[record_set]]\nname = \"x.a.test.\"\ntype = \"A\"\nview = \"outside\"\nalias = { name = \"public-lb.elb.test.\" }\n",
            "",
        ),
        (
            "[[record_set]]\nname = \"x.a.test.\"\ntype = \"A\"\nview = \"elsewhere\"\nvalues = [\"192.0.2.9\"]\n",
            "view \"elsewhere\" is not a [[view]]",
        ),
        (
            "[[view]]\nname = \"inside\"\nmatch_clients = [\"any\"]\n",
            "view \"inside\" is defined twice",
        ),
        (
            "[[view]]\nname = \"third\"\nmatch_clients = [\"10.0.0.300\"]\n",
            "match_clients \"10.0.0.300\" is not an address, a CIDR block, key:NAME or \"any\"",
        ),
        (
            "[[view]]\nname = \"third\"\nmatch_clients = [\"key:nokey\"]\n",
            "match_clients names key nokey. which is not defined",
        ),
        (
            "[[load_balancer]]\nname = \"other.elb.test.\"\nscheme = \"private\"\nzones = [{ name = \"az1\", ipv4 = [\"10.0.1.2\"] }]\n",
            "scheme \"private\" is not \"internet-facing\" or \"internal\"",
        ),
        (
            "[[zone]]\norigin = \"s.test.\"\nprimary = \"127.0.0.1:53\"\nview = \"inside\"\n",
            "a secondary zone cannot be in a view yet",
        ),
        (
            "[[load_balancer]]\nname = \"mine.elb.test.\"\nview = \"outside\"\nzones = [{ name = \"az1\", ipv4 = [\"192.0.2.7\"] }]\n[[record_set]]\nname = \"y.a.test.\"\ntype = \"A\"\nview = \"outside\"\nalias = { name = \"mine.elb.test.\" }\n",
            "",
        ),
        (
            "[[load_balancer]]\nname = \"mine.elb.test.\"\nview = \"outside\"\nzones = [{ name = \"az1\", ipv4 = [\"192.0.2.7\"] }]\n[[record_set]]\nname = \"y.a.test.\"\ntype = \"A\"\nalias = { name = \"mine.elb.test.\" }\n",
            "which belongs to view outside, would be answered outside that view",
        ),
        (
            "[[load_balancer]]\nname = \"mine.elb.test.\"\nview = \"nowhere\"\nzones = [{ name = \"az1\", ipv4 = [\"192.0.2.7\"] }]\n",
            "load_balancer mine.elb.test.: view \"nowhere\" is not a [[view]]",
        ),
    ];
    for (extra, expected) in table {
        match (with_views(extra), expected) {
            (Ok(_), "") => {}
            (Ok(_), e) => panic!("accepted, expected {e:?}:\n{extra}"),
            (Err(ConfigError::Invalid { problems, .. }), e) if !e.is_empty() => {
                assert_eq!(problems.len(), 1, "{problems:?}\n{extra}");
                assert!(problems[0].contains(e), "{problems:?} lacks {e:?}");
            }
            (Err(err), _) => panic!("refused {extra}: {err}"),
        }
    }
}

#[test]
fn a_zone_may_have_a_copy_per_view_but_not_two_in_one() {
    let c = with_views(
        "[[zone]]\norigin = \"a.test.\"\nfile = \"in\"\nview = \"inside\"\n[[zone]]\norigin = \"a.test.\"\nfile = \"out\"\nview = \"outside\"\n",
    )
    .unwrap();
    let views: Vec<Option<&str>> = c.zones.iter().map(|z| z.view.as_deref()).collect();
    assert_eq!(views, [None, Some("inside"), Some("outside")]);
    let Err(ConfigError::Invalid { problems, .. }) = with_views(
        "[[zone]]\norigin = \"a.test.\"\nfile = \"in\"\nview = \"inside\"\n[[zone]]\norigin = \"a.test.\"\nfile = \"again\"\nview = \"inside\"\n",
    ) else {
        panic!("two copies of a.test. in one view were accepted");
    };
    assert_eq!(
        problems,
        ["zone a.test. in view inside is configured twice"]
    );
}
