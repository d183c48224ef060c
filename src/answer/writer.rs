//! Writes a response into a caller-supplied buffer: no allocation, name compression against
//! every name already in the packet, and all-or-nothing RRsets so truncation never leaves half
//! an RRset behind (RFC 2181 §9).

use super::small::Small;
use crate::wire::types;
use crate::zone::render::Template;
use crate::zone::{NameRef, RrSet, Zone, NONE};

/// The response would not fit in the size the client can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

pub const AN: usize = 0;
pub const NS: usize = 1;
pub const AR: usize = 2;

/// A name (suffix) already in the packet: where it starts and its uncompressed length.
#[derive(Clone, Copy, Default)]
struct Known {
    off: u16,
    len: u8,
}

/// How many names the byte-wise compressor remembers; later names are written uncompressed.
const KNOWN_MAX: usize = 32;
/// How many zone nodes the node-wise compressor remembers.
const NODES_MAX: usize = 24;

/// Where a record's owner comes from.
#[derive(Clone, Copy)]
pub enum Owner<'n> {
    /// A name already written at this packet offset (the question, a CNAME target).
    At(u16),
    /// A node of a zone (its name is written by walking up the tree).
    Node(&'n Zone, u32),
}

pub struct Writer<'a> {
    buf: &'a mut [u8],
    pub pos: usize,
    limit: usize,
    pub counts: [u16; 3],
    known: Small<Known, KNOWN_MAX>,
    /// Zone nodes already in the packet: which zone (by address), which node, where.
    nodes: Small<(usize, u32, u16), NODES_MAX>,
}

#[derive(Clone, Copy)]
pub struct Mark {
    pos: usize,
    counts: [u16; 3],
    nknown: usize,
    nnodes: usize,
}

impl<'a> Writer<'a> {
    /// `limit` is the largest response allowed (at most `buf.len()`); `pos` where writing starts.
    pub fn new(buf: &'a mut [u8], pos: usize, limit: usize) -> Self {
        let limit = limit.min(buf.len());
        Writer {
            buf,
            pos,
            limit,
            counts: [0; 3],
            known: Small::new(),
            nodes: Small::new(),
        }
    }

    pub fn buf(&mut self) -> &mut [u8] {
        self.buf
    }

    pub fn set_limit(&mut self, limit: usize) {
        self.limit = limit.min(self.buf.len());
    }

    pub fn mark(&self) -> Mark {
        Mark {
            pos: self.pos,
            counts: self.counts,
            nknown: self.known.len(),
            nnodes: self.nodes.len(),
        }
    }

    pub fn reset(&mut self, m: Mark) {
        self.pos = m.pos;
        self.counts = m.counts;
        self.known.truncate(m.nknown);
        self.nodes.truncate(m.nnodes);
    }

    /// Records that zone node `id` is written at `off` (e.g. the zone apex inside the question).
    pub fn remember_node(&mut self, zone: &Zone, id: u32, off: usize) {
        if off < 0x3FFF {
            self.nodes
                .push((zone as *const Zone as usize, id, off as u16));
        }
    }

    #[inline]
    fn node_at(&self, zone: usize, id: u32) -> Option<u16> {
        self.nodes
            .as_slice()
            .iter()
            .find(|&&(z, i, _)| i == id && z == zone)
            .map(|&(_, _, off)| off)
    }

    /// Writes the name of a zone node: its labels up to the first ancestor already in the
    /// packet, then a pointer. Returns an offset that refers to the name.
    pub fn node_name(&mut self, zone: &Zone, mut id: u32) -> Result<u16, Full> {
        let zkey = zone as *const Zone as usize;
        let start = self.pos;
        let mut first = true;
        loop {
            if let Some(off) = self.node_at(zkey, id) {
                self.u16(0xC000 | off)?;
                return Ok(if first { off } else { start as u16 });
            }
            let node = zone.node(id);
            let nm = zone.name(node);
            let len = nm[0] as usize;
            if len == 0 {
                self.bytes(&[0])?; // the root zone's apex
                return Ok(start as u16);
            }
            let here = self.pos;
            self.bytes(&nm[..1 + len])?;
            self.remember_node(zone, id, here);
            self.remember(here, nm.len());
            first = false;
            if node.parent == NONE {
                // Past the apex: the origin's parent is no node of ours.
                self.name(&nm[1 + len..], true)?;
                return Ok(start as u16);
            }
            id = node.parent;
        }
    }

    /// Writes an RDATA name through its precomputed place in the tree.
    fn ref_name(&mut self, zone: &Zone, name: &[u8], r: NameRef) -> Result<u16, Full> {
        if r.node == NONE {
            return self.name(name, true);
        }
        let start = self.pos;
        if r.prefix > 0 {
            self.bytes(&name[..r.prefix as usize])?;
            self.node_name(zone, r.node)?;
            Ok(start as u16)
        } else {
            self.node_name(zone, r.node)
        }
    }

    #[inline]
    pub fn bytes(&mut self, b: &[u8]) -> Result<(), Full> {
        let end = self.pos + b.len();
        if end > self.limit {
            return Err(Full);
        }
        self.buf[self.pos..end].copy_from_slice(b);
        self.pos = end;
        Ok(())
    }

    #[inline]
    pub fn u16(&mut self, v: u16) -> Result<(), Full> {
        self.bytes(&v.to_be_bytes())
    }

    #[inline]
    pub fn u32(&mut self, v: u32) -> Result<(), Full> {
        self.bytes(&v.to_be_bytes())
    }

    /// Makes every suffix of the name written at `off` (uncompressed, `len` octets) available
    /// as a compression target. Used for the question.
    pub fn remember_name_at(&mut self, off: usize, name: &[u8]) {
        let mut i = 0;
        while i < name.len() && name[i] != 0 {
            self.remember(off + i, name.len() - i);
            i += 1 + name[i] as usize;
        }
    }

    fn remember(&mut self, off: usize, len: usize) {
        if off < 0x3FFF {
            self.known.push(Known {
                off: off as u16,
                len: len as u8,
            });
        }
    }

    /// Compares the (possibly compressed) name in the packet at `off` with `name`, ignoring case.
    fn same_name_at(&self, mut off: usize, name: &[u8]) -> bool {
        let mut i = 0;
        let mut hops = 0;
        loop {
            let Some(&len) = self.buf.get(off) else {
                return false;
            };
            if len >= 0xC0 {
                hops += 1;
                if hops > 8 {
                    return false;
                }
                off = (((len & 0x3F) as usize) << 8) | self.buf[off + 1] as usize;
                continue;
            }
            let l = len as usize;
            if name.get(i) != Some(&len) {
                return false;
            }
            if l == 0 {
                return true;
            }
            let (Some(a), Some(b)) = (
                self.buf.get(off + 1..off + 1 + l),
                name.get(i + 1..i + 1 + l),
            ) else {
                return false;
            };
            if !a.eq_ignore_ascii_case(b) {
                return false;
            }
            off += 1 + l;
            i += 1 + l;
        }
    }

    fn find(&self, suffix: &[u8]) -> Option<u16> {
        self.known
            .as_slice()
            .iter()
            .find(|k| k.len as usize == suffix.len() && self.same_name_at(k.off as usize, suffix))
            .map(|k| k.off)
    }

    /// Writes a wire name, compressed when `compress`; returns an offset that refers to it.
    pub fn name(&mut self, name: &[u8], compress: bool) -> Result<u16, Full> {
        let start = self.pos;
        let mut i = 0;
        loop {
            let len = name[i] as usize;
            if len == 0 {
                self.bytes(&[0])?;
                break;
            }
            if compress {
                if let Some(off) = self.find(&name[i..]) {
                    self.u16(0xC000 | off)?;
                    if i == 0 {
                        return Ok(off);
                    }
                    break;
                }
            }
            let here = self.pos;
            self.bytes(&name[i..i + 1 + len])?;
            if compress {
                self.remember(here, name.len() - i);
            }
            i += 1 + len;
        }
        Ok(start as u16)
    }

    fn owner(&mut self, owner: Owner<'_>) -> Result<(), Full> {
        match owner {
            Owner::At(off) => self.u16(0xC000 | off),
            Owner::Node(zone, id) => self.node_name(zone, id).map(|_| ()),
        }
    }

    /// Writes one record; returns the offset of the first name in its RDATA when the type's
    /// names are written compressed (a CNAME's target, for the next owner in a chain). `refs`
    /// places those names in `zone`'s tree (empty: search the packet instead).
    pub fn record(
        &mut self,
        owner: Owner<'_>,
        rtype: u16,
        class: u16,
        ttl: u32,
        rdata: &[u8],
        names: Option<(&Zone, &[NameRef])>,
    ) -> Result<Option<u16>, Full> {
        self.owner(owner)?;
        self.u16(rtype)?;
        self.u16(class)?;
        self.u32(ttl)?;
        if !types::rdata_names_compressible(rtype) {
            self.u16(rdata.len() as u16)?;
            self.bytes(rdata)?;
            return Ok(None);
        }
        let len_at = self.pos;
        self.u16(0)?;
        let write = |w: &mut Self, name: &[u8], i: usize| match names
            .and_then(|(z, refs)| Some((z, *refs.get(i)?)))
        {
            Some((z, r)) => w.ref_name(z, name, r),
            None => w.name(name, true),
        };
        let first = match rtype {
            types::MX => {
                self.bytes(&rdata[..2])?;
                write(self, &rdata[2..], 0)?
            }
            types::SOA | types::MINFO => {
                let a = crate::zone::rdata::wire_name_len(rdata).unwrap_or(rdata.len());
                let first = write(self, &rdata[..a], 0)?;
                let b =
                    a + crate::zone::rdata::wire_name_len(&rdata[a..]).unwrap_or(rdata.len() - a);
                write(self, &rdata[a..b], 1)?;
                self.bytes(&rdata[b..])?;
                first
            }
            _ => write(self, rdata, 0)?,
        };
        let rdlen = (self.pos - len_at - 2) as u16;
        self.buf[len_at..len_at + 2].copy_from_slice(&rdlen.to_be_bytes());
        Ok(Some(first))
    }

    /// Copies a pre-rendered template into `section` as `count` records, pointing its apex
    /// pointers at `apex_at`. All or nothing.
    #[inline]
    pub fn template(
        &mut self,
        section: usize,
        t: &Template,
        count: u16,
        apex_at: u16,
    ) -> Result<usize, Full> {
        self.rendered(
            section,
            &t.bytes,
            &t.apex_ptrs,
            &t.self_ptrs,
            count,
            apex_at,
        )
    }

    /// Copies pre-rendered records (see `zone::render`) and fills in their pointers.
    #[inline]
    pub fn rendered(
        &mut self,
        section: usize,
        bytes: &[u8],
        apex_ptrs: &[u16],
        self_ptrs: &[(u16, u16)],
        count: u16,
        apex_at: u16,
    ) -> Result<usize, Full> {
        let base = self.pos;
        if !self_ptrs.is_empty() && base + bytes.len() >= 0x3FFF {
            // Its inner pointers could not reach (a large TCP response): the caller writes it
            // the long way.
            return Err(Full);
        }
        self.bytes(bytes)?;
        let apex = (0xC000 | apex_at).to_be_bytes();
        for &p in apex_ptrs {
            let p = base + p as usize;
            self.buf[p..p + 2].copy_from_slice(&apex);
        }
        for &(p, target) in self_ptrs {
            let p = base + p as usize;
            let v = (0xC000 | (base + target as usize) as u16).to_be_bytes();
            self.buf[p..p + 2].copy_from_slice(&v);
        }
        self.counts[section] += count;
        Ok(base)
    }

    /// Writes a whole RRset of `zone` into `section`, or nothing at all. Returns the RDATA name
    /// offset of the last record (meaningful for a one-record CNAME set).
    pub fn rrset(
        &mut self,
        section: usize,
        owner: Owner<'_>,
        zone: &Zone,
        set: &RrSet,
        ttl: u32,
    ) -> Result<Option<u16>, Full> {
        let m = self.mark();
        let mut last = None;
        let per = if matches!(set.rtype, types::SOA | types::MINFO) {
            2
        } else {
            1
        };
        let names = zone.name_refs(set);
        for (i, rdata) in zone.rdatas(set).enumerate() {
            let refs = names.get(i * per..).unwrap_or(&[]);
            match self.record(
                owner,
                set.rtype,
                types::CLASS_IN,
                ttl,
                rdata,
                Some((zone, refs)),
            ) {
                Ok(r) => last = r,
                Err(e) => {
                    self.reset(m);
                    return Err(e);
                }
            }
        }
        self.counts[section] += set.count;
        Ok(last)
    }

    /// [`Writer::rrset`] with the records in a random order: a uniformly random permutation
    /// of sets of up to 64 records, a random rotation of larger ones. Returns where the first
    /// written record's first RDATA name starts.
    pub fn rrset_shuffled(
        &mut self,
        section: usize,
        owner: Owner<'_>,
        zone: &Zone,
        set: &RrSet,
        ttl: u32,
        rng: &mut crate::policy::Random,
    ) -> Result<Option<u16>, Full> {
        const MAX_PERMUTED: usize = 64;
        let m = self.mark();
        let per = if matches!(set.rtype, types::SOA | types::MINFO) {
            2
        } else {
            1
        };
        let names = zone.name_refs(set);
        let n = set.count as usize;
        let mut order: Small<u16, MAX_PERMUTED> = Small::new();
        let rotation = if n <= MAX_PERMUTED {
            for i in 0..n {
                order.push(i as u16);
            }
            order.shuffle(rng);
            0
        } else {
            rng.below(n as u64) as usize
        };
        let mut rdatas: Small<&[u8], MAX_PERMUTED> = Small::new();
        let mut first = None;
        let mut write = |w: &mut Self, i: usize, rdata: &[u8]| {
            let refs = names.get(i * per..).unwrap_or(&[]);
            let r = w.record(
                owner,
                set.rtype,
                types::CLASS_IN,
                ttl,
                rdata,
                Some((zone, refs)),
            )?;
            first = first.or(Some(r));
            Ok::<(), Full>(())
        };
        let written = if n <= MAX_PERMUTED {
            zone.rdatas(set).for_each(|r| {
                rdatas.push(r);
            });
            order
                .as_slice()
                .iter()
                .try_for_each(|&i| write(self, i as usize, rdatas.as_slice()[i as usize]))
        } else {
            zone.rdatas(set)
                .enumerate()
                .skip(rotation)
                .chain(zone.rdatas(set).enumerate().take(rotation))
                .try_for_each(|(i, r)| write(self, i, r))
        };
        if let Err(e) = written {
            self.reset(m);
            return Err(e);
        }
        self.counts[section] += set.count;
        Ok(first.flatten())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_suffix_is_compressed_to_a_pointer() {
        let mut buf = [0u8; 512];
        let mut w = Writer::new(&mut buf, 12, 512);
        let q = b"\x03www\x07example\x04test\x00";
        w.bytes(q).unwrap();
        w.remember_name_at(12, q);
        let at = w.pos;
        w.name(b"\x03ns1\x07EXAMPLE\x04test\x00", true).unwrap();
        // "ns1" label then a pointer to "example.test" at 12 + 4.
        assert_eq!(&buf[at..at + 6], b"\x03ns1\xc0\x10");
    }

    #[test]
    fn whole_name_match_returns_the_earlier_offset() {
        let mut buf = [0u8; 512];
        let mut w = Writer::new(&mut buf, 12, 512);
        let q = b"\x01a\x04test\x00";
        w.bytes(q).unwrap();
        w.remember_name_at(12, q);
        assert_eq!(w.name(b"\x01A\x04test\x00", true).unwrap(), 12);
    }

    #[test]
    fn rrset_that_does_not_fit_leaves_nothing() {
        let mut buf = [0u8; 64];
        let mut w = Writer::new(&mut buf, 12, 40);
        let origin = crate::wire::name::from_text("t.", None).unwrap();
        let recs = crate::zone::parse::parse_str(
            "$TTL 1\n@ SOA a b 1 1 1 1 1\n@ NS a\n@ A 192.0.2.1\n@ A 192.0.2.2\n",
            &origin,
            std::path::Path::new("t"),
        )
        .unwrap();
        let (zone, _) = Zone::compile(&origin, recs).unwrap();
        let set = zone.rrset(zone.apex(), crate::wire::types::A).unwrap();
        // Two A records take 32 octets; 28 are left.
        assert_eq!(w.rrset(AN, Owner::At(12), &zone, set, 60), Err(Full));
        assert_eq!(w.pos, 12);
        assert_eq!(w.counts, [0, 0, 0]);
    }
}
