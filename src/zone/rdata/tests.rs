//! The presentation forms this module reads, as a specification: one row per RFC example
//! (text → wire hex, the hex being what BIND 9.18 serves for the same text, see
//! `tests/zonefile_interop.rs`), then the errors, then relative-name completion.

use super::*;
use crate::wire::name;
use crate::zone::lex::Lexer;

/// Tokenizes `text` with the zone-file lexer and parses it as `rtype` RDATA under `origin`.
fn read(rtype: u16, text: &str, origin: &str) -> Result<Vec<u8>, RdataError> {
    let mut lx = Lexer::new(text);
    let mut toks = Vec::new();
    lx.next_entry(&mut toks).expect("lexes");
    let origin = name::from_text(origin, None).unwrap();
    parse(rtype, &toks, &origin)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

/// (type, presentation text under origin `types.test.`, wire form in hex).
const EXAMPLES: &[(u16, &str, &str)] = &[
    // RFC 1035
    (A, "192.0.2.53", "C0000235"),
    (AAAA, "2001:db8::53", "20010DB8000000000000000000000053"),
    (NS, "ns", "026E73057479706573047465737400"),
    (MX, "10 mx", "000A026D78057479706573047465737400"),
    (HINFO, "\"DEC-2060\" \"TOPS20\"", "084445432D3230363006544F50533230"),
    (TXT, "\"v=spf1 -all\" \"second string\" plain \\065\\066", "0B763D73706631202D616C6C0D7365636F6E6420737472696E6705706C61696E024142"),
    (SOA, "ns hostmaster 2024010101 3600 900 604800 300", "026E730574797065730474657374000A686F73746D617374657205747970657304746573740078A3F17500000E100000038400093A800000012C"),
    (MINFO, "rmail emailbx", "05726D61696C05747970657304746573740007656D61696C6278057479706573047465737400"),
    (WKS, "192.0.2.1 TCP 21 25", "C00002010600000440"),
    // RFC 1183
    (RP, "louie.trantor rp-txt", "056C6F756965077472616E746F720574797065730474657374000672702D747874057479706573047465737400"),
    (AFSDB, "1 afs", "000103616673057479706573047465737400"),
    (X25, "311061700956", "0C333131303631373030393536"),
    (ISDN, "150862028003217", "0F313530383632303238303033323137"),
    (ISDN, "150862028003217 004", "0F31353038363230323830303332313703303034"),
    (RT, "2 Relay.Prime.COM.", "00020552656C6179055072696D6503434F4D00"),
    // RFC 2163, 1712
    (PX, "50 it. ADMD-garr.PRMD-garr.C-it.", "0032026974000941444D442D676172720950524D442D6761727204432D697400"),
    (GPOS, "-32.6882 116.8652 10.0", "082D33322E36383832083131362E383635320431302E30"),
    // RFC 1876
    (LOC, "42 21 54 N 71 06 18 W -24m 30m", "0033161389172DD070BE15F000988D20"),
    (LOC, "42 21 43.952 N 71 5 6.344 W -24m 1m 200m", "001224138917069070BF2DD800988D20"),
    (LOC, "90 S 0 E 0", "001216136CB027008000000000989680"),
    (LOC, "52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m", "000016138B3CF018810CBCE0009895B8"),
    // RFC 2782, 3403, 8659, 7553
    (SRV, "0 5 5060 sip", "0000000513C403736970057479706573047465737400"),
    (NAPTR, "100 10 \"u\" \"E2U+sip\" \"!^.*$!sip:info@example.com!\" .", "0064000A0175074532552B7369701B215E2E2A24217369703A696E666F406578616D706C652E636F6D2100"),
    (CAA, "0 issue \"ca.example.net\"", "0005697373756563612E6578616D706C652E6E6574"),
    (CAA, "128 tbs \"Unknown\"", "8003746273556E6B6E6F776E"),
    (URI, "1 1 \"\"", "00010001"),
    (URI, "10 1 \"ftp://ftp1.example.com/public\"", "000A00016674703A2F2F667470312E6578616D706C652E636F6D2F7075626C6963"),
    // RFC 4034 §3.3, §4.3 and RFC 5155 Appendix A: a signed zone's records
    (RRSIG, "A 5 3 86400 20030322173103 20030220173103 2642 example.com. oJB1W6WNGv+ldvQ3WDG0MQkg5IEhjRip8WTrPYGv07h108dUKGMeDPKijVCHX3DDKdfb+v6oB9wfuh3DTJXUAfI/M0zmO/zz8bW0Rznl8O3tGNazPwQKkRN20XPXV6nwwfoXmJQbsLNrLfkGJ5D6fwFm8nN+6pBzeDQfsS3Ap3o=", "00010503000151803E7C9DD73E5510D70A52076578616D706C6503636F6D00A090755BA58D1AFFA576F4375831B4310920E481218D18A9F164EB3D81AFD3B875D3C75428631E0CF2A28D50875F70C329D7DBFAFEA807DC1FBA1DC34C95D401F23F334CE63BFCF3F1B5B44739E5F0EDED18D6B33F040A911376D173D757A9F0C1FA1798941BB0B36B2DF9062790FA7F0166F2737EEA907378341FB12DC0A77A"),
    (RRSIG, "A RSASHA1 3 86400 1048354263 1045762263 2642 example.com. oJB1W6WNGv+ldvQ3WDG0MQkg5IEhjRip8WTrPYGv07h108dUKGMeDPKijVCHX3DDKdfb+v6oB9wfuh3DTJXUAfI/M0zmO/zz8bW0Rznl8O3tGNazPwQKkRN20XPXV6nwwfoXmJQbsLNrLfkGJ5D6fwFm8nN+6pBzeDQfsS3Ap3o=", "00010503000151803E7C9DD73E5510D70A52076578616D706C6503636F6D00A090755BA58D1AFFA576F4375831B4310920E481218D18A9F164EB3D81AFD3B875D3C75428631E0CF2A28D50875F70C329D7DBFAFEA807DC1FBA1DC34C95D401F23F334CE63BFCF3F1B5B44739E5F0EDED18D6B33F040A911376D173D757A9F0C1FA1798941BB0B36B2DF9062790FA7F0166F2737EEA907378341FB12DC0A77A"),
    (NSEC, "host.example.com. A MX RRSIG NSEC TYPE1234", "04686F7374076578616D706C6503636F6D000006400100000003041B000000000000000000000000000000000000000000000000000020"),
    (NSEC3, "1 1 12 aabbccdd 2t7b4g4vsa5smi47k61mv5bv1a22bojr MX DNSKEY NS SOA NSEC3PARAM RRSIG", "0101000C04AABBCCDD14174EB2409FE28BCB4887A1836F957F0A8425E27B000722010000000290"),
    (NSEC3PARAM, "1 0 12 aabbccdd", "0100000C04AABBCCDD"),
    (NSEC3PARAM, "1 0 0 -", "0100000000"),
    // RFC 4398, 4701, 6698, 8162, 4255, 7929
    (CERT, "PGP 0 0 mQINBFVZtk8BEACq9r4pDEOuzyvITs+qwoZYE29XbYTmhpwmoxH3uGo2", "000300000099020D045559B64F011000AAF6BE290C43AECF2BC84ECFAAC28658136F576D84E6869C26A311F7B86A36"),
    (CERT, "1 12345 RSASHA256 MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA", "000130390830820122300D06092A864886F70D01010105000382010F003082010A0282010100"),
    (CERT, "URI 0 0 aHR0cDovL2V4YW1wbGUuY29tL2NlcnQ=", "00FD000000687474703A2F2F6578616D706C652E636F6D2F63657274"),
    (DHCID, "AAIBY2/AuCccgoJbsaxcQc9TUapptP69lOjxfNuVAA2kjEA=", "000201636FC0B8271C82825BB1AC5C41CF5351AA69B4FEBD94E8F17CDB95000DA48C40"),
    (TLSA, "3 1 1 d2abde240d7cd3ee6b4b28c54df034b97983a1d16e8a410e4561cb106618e971", "030101D2ABDE240D7CD3EE6B4B28C54DF034B97983A1D16E8A410E4561CB106618E971"),
    (SMIMEA, "3 0 1 d2abde240d7cd3ee6b4b28c54df034b97983a1d16e8a410e4561cb106618e971", "030001D2ABDE240D7CD3EE6B4B28C54DF034B97983A1D16E8A410E4561CB106618E971"),
    (SSHFP, "2 1 123456789abcdef67890123456789abcdef67890", "0201123456789ABCDEF67890123456789ABCDEF67890"),
    (OPENPGPKEY, "mQINBFVZtk8BEACq9r4pDEOuzyvITs+qwoZYE29XbYTmhpwmoxH3uGo2", "99020D045559B64F011000AAF6BE290C43AECF2BC84ECFAAC28658136F576D84E6869C26A311F7B86A36"),
    // RFC 3123: negation, and the address part without its trailing zero octets
    (APL, "1:192.168.32.0/21 !1:192.168.38.0/28", "00011503C0A82000011C83C0A826"),
    (APL, "1:224.0.0.0/4 2:FF00:0:0:0:0:0:0:0/8", "00010401E000020801FF"),
    (APL, "1:0.0.0.0/0 !2:2001:db8::/32", "000100000002208420010DB8"),
    // RFC 4025: gateway types 0 (none), 1, 2, 3
    (IPSECKEY, "10 0 2 . AQNRU3mG7TVTO2BkR47usntb102uFJtugbo6BSGvgqt4AQ==", "0A0002010351537986ED35533B6064478EEEB27B5BD74DAE149B6E81BA3A0521AF82AB7801"),
    (IPSECKEY, "10 1 2 192.0.2.38 AQNRU3mG7TVTO2BkR47usntb102uFJtugbo6BSGvgqt4AQ==", "0A0102C0000226010351537986ED35533B6064478EEEB27B5BD74DAE149B6E81BA3A0521AF82AB7801"),
    (IPSECKEY, "( 10 2 2 2001:0DB8:0:8002::2000:1 AQNRU3mG7TVTO2BkR47usntb102uFJtugbo6BSGvgqt4AQ== )", "0A020220010DB8000080020000000020000001010351537986ED35533B6064478EEEB27B5BD74DAE149B6E81BA3A0521AF82AB7801"),
    (IPSECKEY, "10 3 2 mygateway.example.com. AQNRU3mG7TVTO2BkR47usntb102uFJtugbo6BSGvgqt4AQ==", "0A0302096D7967617465776179076578616D706C6503636F6D00010351537986ED35533B6064478EEEB27B5BD74DAE149B6E81BA3A0521AF82AB7801"),
    // RFC 6742, 7043
    (NID, "10 0014:4fff:ff20:ee64", "000A00144FFFFF20EE64"),
    (L32, "10 10.1.2.0", "000A0A010200"),
    (L64, "10 2001:0DB8:1140:1000", "000A20010DB811401000"),
    (LP, "10 l64-subnet1.example.com.", "000A0B6C36342D7375626E657431076578616D706C6503636F6D00"),
    (EUI48, "00-00-5e-00-53-2a", "00005E00532A"),
    (EUI64, "00-00-5e-ef-10-00-00-2a", "00005EEF1000002A"),
    // RFC 8777: relay types 0..3, the D-bit
    (AMTRELAY, "0 0 0 .", "0000"),
    (AMTRELAY, "10 0 1 203.0.113.15", "0A01CB00710F"),
    (AMTRELAY, "10 0 2 2600:1f16:17c:3950:47ac:cb79:62ba:702e", "0A0226001F16017C395047ACCB7962BA702E"),
    (AMTRELAY, "128 1 3 amtrelays.example.com.", "808309616D7472656C617973076578616D706C6503636F6D00"),
    // RFC 7477, 8976
    (CSYNC, "66 3 A NS AAAA", "000000420003000460000008"),
    (ZONEMD, "2018031900 1 1 ( c68090d90a7aed716bc459f9340e3d7c1370d4d24b7e2fc3a1ddc0b9a87153b9a9713b3c9ae5cc27777f98b8e730044c )", "7848B91C0101C68090D90A7AED716BC459F9340E3D7C1370D4D24B7E2FC3A1DDC0B9A87153B9A9713B3C9AE5CC27777F98B8E730044C"),
    // RFC 9460 Appendix D
    (HTTPS, "0 foo.example.com.", "000003666F6F076578616D706C6503636F6D00"),
    (SVCB, "1 .", "000100"),
    (SVCB, "16 foo.example.com. port=53", "001003666F6F076578616D706C6503636F6D00000300020035"),
    (SVCB, "1 foo.example.com. key667=hello", "000103666F6F076578616D706C6503636F6D00029B000568656C6C6F"),
    (SVCB, "1 foo.example.com. key667=\"hello\\210qoo\"", "000103666F6F076578616D706C6503636F6D00029B000968656C6C6FD2716F6F"),
    (SVCB, "1 foo.example.com. ( ipv6hint=\"2001:db8::1,2001:db8::53:1\" )", "000103666F6F076578616D706C6503636F6D000006002020010DB800000000000000000000000120010DB8000000000000000000530001"),
    (SVCB, "1 example.com. ( ipv6hint=\"2001:db8:122:344::192.0.2.33\" )", "0001076578616D706C6503636F6D000006001020010DB80122034400000000C0000221"),
    (SVCB, "16 foo.example.org. ( alpn=h2,h3-19 mandatory=ipv4hint,alpn ipv4hint=192.0.2.1 )", "001003666F6F076578616D706C65036F7267000000000400010004000100090268320568332D313900040004C0000201"),
    (SVCB, "16 foo.example.org. alpn=\"f\\\\\\\\oo\\\\,bar,h2\"", "001003666F6F076578616D706C65036F7267000001000C08665C6F6F2C626172026832"),
    (SVCB, "16 foo.example.org. alpn=f\\\\\\092oo\\092,bar,h2", "001003666F6F076578616D706C65036F7267000001000C08665C6F6F2C626172026832"),
    // Every parameter, in no particular order; `sip` is relative.
    (SVCB, "3 sip ipv6hint=2001:db8::1 port=8443 no-default-alpn alpn=\"h2,h3\" mandatory=port,alpn ech=AEn+DQBFKwAgACABWIHUGj4u+PIggYXcR5JF0gYk3dCRioBW8uJq9H4mKAAIAAEAAQABAANAEnB1YmxpYy50bHMtZWNoLmRldgAA", "000303736970057479706573047465737400000000040001000300010006026832026833000200000003000220FB0005004B0049FE0D00452B00200020015881D41A3E2EF8F2208185DC479245D20624DDD0918A8056F2E26AF47E26280008000100010001000340127075626C69632E746C732D6563682E64657600000006001020010DB8000000000000000000000001"),
    (HTTPS, "1 . key65000 key7=\"/dns-query{?dns}\" ipv4hint=192.0.2.1,192.0.2.2", "00010000040008C0000201C0000202000700102F646E732D71756572797B3F646E737DFDE80000"),
    // `keyNNNNN=` gives a known key's wire value (BIND and Knot read it so)
    (SVCB, "1 . key0=\\000\\001 alpn=h2", "00010000000002000100010003026832"),
    (SVCB, "1 . key1=\\002h2", "00010000010003026832"),
    (SVCB, "1 . alpn=h2 key2", "0001000001000302683200020000"),
    (SVCB, "1 . key3=53", "000100000300023533"),
    (SVCB, "1 . ech=\"\"", "00010000050000"),
    // RFC 3597 generic data, for any type
    (NULL, "\\# 4 00010203", "00010203"),
    (65280, "\\# 4 0A000001", "0A000001"),
    (MX, "\\# 5 000A 01 78 00", "000A017800"),
    (LOC, "\\# 4 01020304", "01020304"),
    (AMTRELAY, "\\# 3 000401", "000401"),
];

#[test]
fn rfc_examples_have_the_wire_form_bind_gives_them() {
    let mut wrong = Vec::new();
    for &(rtype, text, want) in EXAMPLES {
        match read(rtype, text, "types.test.") {
            Ok(got) if hex(&got) == want => {}
            Ok(got) => wrong.push(format!(
                "{} {text}: got {}, want {want}",
                mnemonic(rtype),
                hex(&got)
            )),
            Err(e) => wrong.push(format!("{} {text}: {e}", mnemonic(rtype))),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// (type, text, the error's message).
const ERRORS: &[(u16, &str, &str)] = &[
    (A, "192.0.2.1 extra", "unexpected trailing data \"extra\""),
    (A, "192.0.2", "bad IPv4 address \"192.0.2\""),
    (A, "\\# 3 C00002", "\\# data is not a valid A"),
    (65280, "\\# 3 0A000001", "\\# length 3 but 4 octets of data"),
    (MX, "\\# 3 000A05", "\\# data is not a valid MX"),
    (X25, "\\# 2 0141", "\\# data is not a valid X25"),
    (OPENPGPKEY, "\\# 0", "\\# data is not a valid OPENPGPKEY"),
    (WKS, "\\# 4 C0000201", "\\# data is not a valid WKS"),
    (
        LOC,
        "\\# 15 0033161389172DD070BE15F000988D",
        "\\# data is not a valid LOC",
    ),
    (
        SVCB,
        "\\# 7 0001000002000000",
        "\\# length 7 but 8 octets of data",
    ),
    (
        SVCB,
        "\\# 11 000100 0001 0000 0000 0000",
        "\\# data is not a valid SVCB",
    ),
    (MX, "70000 mx", "preference 70000 out of range"),
    (LOC, "91 N 0 E 0", "LOC latitude 91 out of range"),
    (LOC, "42 60 N 0 E 0", "LOC latitude 60 out of range"),
    (LOC, "0 N 181 W 0", "LOC longitude 181 out of range"),
    (
        LOC,
        "42 21 54 X 71 06 18 W -24m",
        "bad LOC hemisphere \"X\"",
    ),
    (LOC, "42 21 54 N 71 06 18 W", "missing LOC altitude"),
    (LOC, "42 N 71 W 0 1.234m", "bad LOC size \"1.234m\""),
    (SVCB, "1 . foo=bar", "bad SvcParam key \"foo\""),
    (SVCB, "1 . key65535", "bad SvcParam key \"key65535\""),
    (
        SVCB,
        "1 . key123=abc key123=def",
        "SvcParam key123 given twice",
    ),
    (SVCB, "1 . port=1 port=2", "SvcParam port given twice"),
    (
        SVCB,
        "1 . mandatory=key123",
        "SvcParam mandatory: lists key123 which is not given",
    ),
    (
        SVCB,
        "1 . mandatory=mandatory",
        "SvcParam mandatory: cannot list mandatory",
    ),
    (
        SVCB,
        "1 . mandatory=key123,key123 key123",
        "SvcParam mandatory: lists key123 twice",
    ),
    (
        SVCB,
        "1 . no-default-alpn",
        "SvcParam no-default-alpn: needs alpn",
    ),
    (
        SVCB,
        "1 . alpn=h2 no-default-alpn=x",
        "SvcParam no-default-alpn: takes no value",
    ),
    (SVCB, "1 . port=http", "SvcParam port: bad port \"http\""),
    (
        SVCB,
        "1 . ipv4hint=2001:db8::1",
        "SvcParam ipv4hint: bad IPv4 address \"2001:db8::1\"",
    ),
    (SVCB, "1 . alpn", "SvcParam alpn: needs a value"),
    (
        SVCB,
        "1 . key4=192.0.2.1",
        "SvcParam ipv4hint: value does not have the key's wire layout",
    ),
    (
        SVCB,
        "1 . key0=alpn alpn=h2",
        "SvcParam mandatory: lists key24940 which is not given",
    ),
    (CERT, "FOO 0 0 AAAA", "bad CERT type \"FOO\""),
    (CERT, "PGP 0 NOALG AAAA", "bad algorithm \"NOALG\""),
    (
        APL,
        "3:192.0.2.0/24",
        "bad APL address family \"3:192.0.2.0/24\"",
    ),
    (
        APL,
        "1:192.0.2.0/33",
        "APL prefix 1:192.0.2.0/33 out of range",
    ),
    (IPSECKEY, "10 4 2 x AAAA", "bad IPSECKEY gateway type \"4\""),
    (
        IPSECKEY,
        "10 0 2 gw AAAA",
        "bad gateway for type 0 (must be \".\") \"gw\"",
    ),
    (
        AMTRELAY,
        "10 2 1 192.0.2.1",
        "bad AMTRELAY discovery optional bit \"2\"",
    ),
    (
        EUI48,
        "00-00-5e-00-53",
        "bad EUI-48 address \"00-00-5e-00-53\"",
    ),
    (
        EUI64,
        "0000:5eef:1000:002a",
        "bad EUI-64 address \"0000:5eef:1000:002a\"",
    ),
    (
        NID,
        "10 0014:4fff:ff20",
        "bad 64-bit identifier \"0014:4fff:ff20\"",
    ),
    (ZONEMD, "1 1 1 00ff", "bad ZONEMD digest length \"2\""),
    (DS, "1 8 2 0011", "bad DS digest length \"2\""),
    (CDS, "1 8 1 0011", "bad DS digest length \"2\""),
    (LOC, "1 n 1 E 0", "bad LOC latitude minutes \"n\""),
    (AMTRELAY, "0 0 0", "missing gateway"),
    (
        NULL,
        "00",
        "NULL RDATA can only be given in RFC 3597 \\# form",
    ),
    (NSEC, "a AXFR2", "bad type \"AXFR2\""),
    (
        RRSIG,
        "A 13 2 300 2026-12-01 20261201000000 1 example.test. AAAA",
        "bad signature expiration \"2026-12-01\"",
    ),
    (
        RRSIG,
        "A 13 2 300 20261301000000 20261201000000 1 example.test. AAAA",
        "signature expiration 20261301000000 out of range",
    ),
    (
        NSEC3,
        "1 0 0 - NOT*BASE32 A",
        "bad next hashed owner name \"NOT*BASE32\"",
    ),
    (OPT, "\\# 0", "query-only type cannot appear in a zone"),
    (
        65280,
        "00",
        "TYPE65280 RDATA is not read in presentation form; write it as RFC 3597 `\\# LEN HEX`",
    ),
    (TXT, "\"\\300\"", "bad escape \"\\\\300\""),
];

#[test]
fn bad_rdata_is_refused_naming_what_is_wrong() {
    let mut wrong = Vec::new();
    for &(rtype, text, want) in ERRORS {
        match read(rtype, text, "types.test.") {
            Err(e) if e.to_string() == want => {}
            Err(e) => wrong.push(format!(
                "{} {text}: error {e:?}, want {want:?}",
                mnemonic(rtype)
            )),
            Ok(d) => wrong.push(format!(
                "{} {text}: accepted as {}",
                mnemonic(rtype),
                hex(&d)
            )),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// (type, text with a relative name under origin `t5.test.`, the same with it absolute).
const RELATIVE: &[(u16, &str, &str)] = &[
    (NS, "ns", "ns.t5.test."),
    (CNAME, "x", "x.t5.test."),
    (DNAME, "x", "x.t5.test."),
    (PTR, "x", "x.t5.test."),
    (MB, "x", "x.t5.test."),
    (MG, "x", "x.t5.test."),
    (MR, "x", "x.t5.test."),
    (MX, "10 mx", "10 mx.t5.test."),
    (AFSDB, "1 afs", "1 afs.t5.test."),
    (KX, "1 kx", "1 kx.t5.test."),
    (RT, "1 relay", "1 relay.t5.test."),
    (LP, "1 subnet", "1 subnet.t5.test."),
    (RP, "mbox txt", "mbox.t5.test. txt.t5.test."),
    (MINFO, "a b", "a.t5.test. b.t5.test."),
    (PX, "50 map822 map400", "50 map822.t5.test. map400.t5.test."),
    (SOA, "ns hm 1 2 3 4 5", "ns.t5.test. hm.t5.test. 1 2 3 4 5"),
    (SRV, "0 0 5060 sip", "0 0 5060 sip.t5.test."),
    (
        NAPTR,
        "1 1 \"\" \"\" \"\" _sip._udp",
        "1 1 \"\" \"\" \"\" _sip._udp.t5.test.",
    ),
    (SVCB, "1 sip alpn=h2", "1 sip.t5.test. alpn=h2"),
    (HTTPS, "0 cdn", "0 cdn.t5.test."),
    (IPSECKEY, "10 3 2 gw AQNR", "10 3 2 gw.t5.test. AQNR"),
    (AMTRELAY, "10 0 3 relay", "10 0 3 relay.t5.test."),
    (NSAP_PTR, "host", "host.t5.test."),
    (TALINK, "prev next", "prev.t5.test. next.t5.test."),
    (A6, "64 ::1:2:3:4 prefix", "64 ::1:2:3:4 prefix.t5.test."),
    (
        HIP,
        "2 2001 AwEAAQ== rvs1 rvs2",
        "2 2001 AwEAAQ== rvs1.t5.test. rvs2.t5.test.",
    ),
];

#[test]
fn every_name_in_rdata_is_completed_with_the_origin() {
    for &(rtype, relative, absolute) in RELATIVE {
        let a = read(rtype, relative, "t5.test.").unwrap();
        let b = read(rtype, absolute, "elsewhere.").unwrap();
        assert_eq!(hex(&a), hex(&b), "{} {relative}", mnemonic(rtype));
    }
    // `.` stays the root, `@` is the origin.
    assert_eq!(read(SVCB, "1 .", "t5.test.").unwrap(), [0, 1, 0]);
    assert_eq!(
        read(SVCB, "1 @", "t5.test.").unwrap(),
        read(SVCB, "1 t5.test.", ".").unwrap()
    );
}

#[test]
fn records_differing_only_in_name_case_are_the_same_for_rfc_4034_types_only() {
    let a = read(MX, "10 MAIL.example.test.", "example.test.").unwrap();
    let b = read(MX, "10 mail", "example.test.").unwrap();
    assert_ne!(a, b);
    assert_eq!(canonical(MX, &a), canonical(MX, &b));
    let a = read(PX, "1 A.test. B.test.", ".").unwrap();
    let b = read(PX, "1 a.test. b.test.", ".").unwrap();
    assert_eq!(canonical(PX, &a), canonical(PX, &b));
    let a = read(A6, "64 ::1 PREFIX.test.", ".").unwrap();
    let b = read(A6, "64 ::1 prefix.test.", ".").unwrap();
    assert_eq!(canonical(A6, &a), canonical(A6, &b));
    // SVCB is not in RFC 4034 §6.2's list: its target keeps its case.
    let a = read(SVCB, "1 SIP.test.", ".").unwrap();
    let b = read(SVCB, "1 sip.test.", ".").unwrap();
    assert_ne!(canonical(SVCB, &a), canonical(SVCB, &b));
}

#[test]
fn soa_timers_use_the_full_unsigned_range() {
    assert!(read(SOA, "ns hm 1 4294967295 1 1 1", "example.test.").is_ok());
}

#[test]
fn dnssec_algorithms_may_be_named() {
    let digest = "00FF".repeat(16);
    let d = read(
        DS,
        &format!("12345 ECDSAP256SHA256 2 {digest}"),
        "example.test.",
    )
    .unwrap();
    assert_eq!(d[..4], [0x30, 0x39, 13, 2]);
    assert_eq!(hex(&d[4..]), digest);
}

/// (type, text read under `t5.test.`, the text `presentation` gives back: what `dig` prints).
const PRESENTATION: &[(u16, &str, &str)] = &[
    (
        SVCB,
        "1 sip alpn=h2,h3 port=8443 ipv4hint=192.0.2.60",
        "1 sip.t5.test. alpn=\"h2,h3\" port=8443 ipv4hint=192.0.2.60",
    ),
    (
        HTTPS,
        "1 . port=8443 alpn=\"h2,h3\" mandatory=alpn,port",
        "1 . mandatory=alpn,port alpn=\"h2,h3\" port=8443",
    ),
    (HTTPS, "0 pool.svc.example.", "0 pool.svc.example."),
    (
        SVCB,
        "1 . alpn=h3 no-default-alpn ipv6hint=2001:db8::1,2001:db8::53:1 key667=hello",
        "1 . alpn=\"h3\" no-default-alpn ipv6hint=2001:db8::1,2001:db8::53:1 key667=\"hello\"",
    ),
    (
        SVCB,
        "16 foo.example.org. alpn=f\\\\\\\\oo\\\\,bar,h2",
        "16 foo.example.org. alpn=\"f\\\\\\\\oo\\\\,bar,h2\"",
    ),
    (
        SVCB,
        "1 doh.example. alpn=h2 dohpath=/dns-query{?dns} ech=AEX+DQBB",
        "1 doh.example. alpn=\"h2\" ech=AEX+DQBB dohpath=\"/dns-query{?dns}\"",
    ),
    (SVCB, "1 . key65333", "1 . key65333"),
    (
        LOC,
        "42 21 54 N 71 06 18 W -24m 30m",
        "42 21 54.000 N 71 6 18.000 W -24.00m 30m 10000m 10m",
    ),
    (
        LOC,
        "42 21 43.952 N 71 5 6.344 W -24m 1m 200m",
        "42 21 43.952 N 71 5 6.344 W -24.00m 1m 200m 10m",
    ),
    (
        LOC,
        "90 S 0 E 0",
        "90 0 0.000 S 0 0 0.000 E 0.00m 1m 10000m 10m",
    ),
    (
        LOC,
        "52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m",
        "52 22 23.000 N 4 53 32.000 E -2.00m 0m 10000m 10m",
    ),
    (
        LOC,
        "0 N 0 E 12.34m 0.5m",
        "0 0 0.000 N 0 0 0.000 E 12.34m 0.50m 10000m 10m",
    ),
    (EUI48, "00-00-5e-00-53-2a", "00-00-5e-00-53-2a"),
    (EUI64, "00-00-5E-EF-10-00-00-2A", "00-00-5e-ef-10-00-00-2a"),
    (
        URI,
        "10 1 \"ftp://ftp1.example.com/public\"",
        "10 1 \"ftp://ftp1.example.com/public\"",
    ),
    (URI, "1 1 \"\"", "1 1 \"\""),
];

#[test]
fn presentation_prints_what_dig_prints_and_reads_back_to_the_same_octets() {
    for &(rtype, text, want) in PRESENTATION {
        let wire = read(rtype, text, "t5.test.").unwrap_or_else(|e| panic!("{text}: {e}"));
        let shown = presentation(rtype, &wire);
        assert_eq!(shown.as_deref(), Some(want), "{text}");
        let again = read(rtype, want, "t5.test.").unwrap_or_else(|e| panic!("{want}: {e}"));
        assert_eq!(hex(&again), hex(&wire), "{want} reads back differently");
    }
}

#[test]
fn presentation_leaves_other_types_and_malformed_rdata_to_the_generic_form() {
    assert_eq!(presentation(A, &[192, 0, 2, 1]), None);
    assert_eq!(presentation(LOC, &[1; 16]), None, "LOC version 1");
    assert_eq!(
        presentation(SVCB, &[0, 1, 0, 0, 1, 0, 9]),
        None,
        "a parameter cut short"
    );
    assert_eq!(presentation(EUI48, &[0; 5]), None);
}
