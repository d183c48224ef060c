//! Helpers the integration tests share: a temporary directory, and queries built byte by byte
//! (hickory-proto lowercases names and cannot send every option we need).

#![allow(dead_code)] // each test file uses its own subset

use std::net::IpAddr;
use std::path::PathBuf;

/// A temporary directory, removed on drop; `tag` keeps parallel tests apart.
pub struct Dir(pub PathBuf);

impl Dir {
    pub fn new(tag: &str) -> Dir {
        let p = std::env::temp_dir().join(format!("policydns-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Dir(p)
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A query for `name` `qtype` (ID 0x1234), with an OPT carrying EDNS Client Subnet
/// (`address`, source prefix) when `ecs` is given.
pub fn query(name: &str, qtype: u16, ecs: Option<(IpAddr, u8)>) -> Vec<u8> {
    let mut p = vec![0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, ecs.is_some() as u8];
    for label in name.trim_end_matches('.').split('.') {
        p.push(label.len() as u8);
        p.extend_from_slice(label.as_bytes());
    }
    p.push(0);
    p.extend_from_slice(&qtype.to_be_bytes());
    p.extend_from_slice(&[0, 1]);
    if let Some((addr, prefix)) = ecs {
        let (family, bytes): (u16, Vec<u8>) = match addr {
            IpAddr::V4(a) => (1, a.octets().to_vec()),
            IpAddr::V6(a) => (2, a.octets().to_vec()),
        };
        let n = (prefix as usize).div_ceil(8);
        let mut opt = vec![0, 8];
        opt.extend_from_slice(&((4 + n) as u16).to_be_bytes());
        opt.extend_from_slice(&family.to_be_bytes());
        opt.extend_from_slice(&[prefix, 0]);
        opt.extend_from_slice(&bytes[..n]);
        p.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0]);
        p.extend_from_slice(&(opt.len() as u16).to_be_bytes());
        p.extend_from_slice(&opt);
    }
    p
}
