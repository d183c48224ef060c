//! Conversions that need no files: escapes, names in values, TOML strings.
use super::convert::qualify_names;
use super::export::toml_str;
use super::*;
use crate::wire::types;

#[test]
fn octal_escapes_become_master_file_form() {
    assert_eq!(
        octal_to_master("\\052.example.com.").unwrap(),
        "*.example.com."
    );
    assert_eq!(octal_to_master("a\\056b").unwrap(), "a\\046b");
    assert_eq!(
        octal_to_master("\"ex\\344mple\"").unwrap(),
        "\"ex\\228mple\""
    );
    assert_eq!(octal_to_master("a\\\"b").unwrap(), "a\\\"b");
    assert!(octal_to_master("\\089").is_err());
    assert!(octal_to_master("\\400").is_err());
}

#[test]
fn names_in_values_are_fully_qualified() {
    assert_eq!(
        qualify_names(types::CNAME, "www.example.com"),
        "www.example.com."
    );
    assert_eq!(
        qualify_names(types::MX, "10 mail.example.com"),
        "10 mail.example.com."
    );
    assert_eq!(
        qualify_names(types::SRV, "1 2 3 t.example.com."),
        "1 2 3 t.example.com."
    );
    assert_eq!(
        qualify_names(types::SOA, "ns.x hm.x 1 2 3 4 5"),
        "ns.x. hm.x. 1 2 3 4 5"
    );
    assert_eq!(qualify_names(types::TXT, "\"a b\""), "\"a b\"");
    assert_eq!(qualify_names(65, "1 . alpn=h2"), "1 . alpn=h2");
}

#[test]
fn toml_strings_read_back_unchanged() {
    for s in ["a\"b", "\"v=spf1 \\\" -all\"", "*.x.", "it's"] {
        let t: toml::Table = toml::from_str(&format!("k = {}", toml_str(s))).unwrap();
        assert_eq!(t["k"].as_str(), Some(s));
    }
}
