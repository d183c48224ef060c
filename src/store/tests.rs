use super::journal::Journal;
use super::*;
use crate::route53::Action;

fn set(name: &str, rtype: &str, values: &[&str]) -> ResourceRecordSet {
    let values = values.iter().map(|v| v.to_string()).collect();
    ResourceRecordSet::simple(name.into(), rtype.into(), 300, values)
}

fn apex() -> Vec<ResourceRecordSet> {
    vec![
        set(
            "z.test.",
            "SOA",
            &["ns1.z.test. h.z.test. 1 7200 900 1209600 86400"],
        ),
        set("z.test.", "NS", &["ns1.z.test."]),
    ]
}

fn change(action: Action, s: ResourceRecordSet) -> Change {
    Change {
        action,
        resource_record_set: s,
    }
}

fn origin() -> Vec<u8> {
    name::from_text("z.test.", None).unwrap()
}

#[test]
fn a_batch_applies_in_order_or_not_at_all() {
    use Action::*;
    let www = || set("www.z.test.", "A", &["192.0.2.1"]);
    let cases: Vec<(&str, Vec<Change>, Result<usize, &str>)> = vec![
        ("create", vec![change(Create, www())], Ok(3)),
        ("create then delete", vec![change(Create, www()), change(Delete, www())], Ok(2)),
        (
            "create twice",
            vec![change(Create, www()), change(Create, www())],
            Err("Tried to create resource record set [name='www.z.test.', type='A'] but it already exists"),
        ),
        (
            "delete what is not there",
            vec![change(Delete, www())],
            Err("Tried to delete resource record set [name='www.z.test.', type='A'] but it was not found"),
        ),
        (
            "delete with other values",
            vec![
                change(Create, www()),
                change(Delete, set("www.z.test.", "A", &["192.0.2.2"])),
            ],
            Err("but the values provided do not match the current values"),
        ),
        ("upsert adds", vec![change(Upsert, www())], Ok(3)),
        (
            "outside the zone",
            vec![change(Create, set("www.other.test.", "A", &["192.0.2.1"]))],
            Err("RRSet with DNS name www.other.test. is not permitted in zone z.test."),
        ),
        (
            "the apex SOA cannot go",
            vec![change(Delete, apex()[0].clone())],
            Err("A HostedZone must contain exactly one SOA record."),
        ),
    ];
    for (what, changes, want) in cases {
        let mut sets = RecordSets::from_sets(apex());
        let got = apply_changes(&mut sets, &origin(), &changes);
        match want {
            Ok(n) => {
                assert_eq!(got, Ok(()), "{what}");
                assert_eq!(sets.len(), n, "{what}");
            }
            Err(text) => {
                let problems = got.expect_err(what);
                assert!(
                    problems.iter().any(|p| p.contains(text)),
                    "{what}: {problems:?}"
                );
                assert_eq!(
                    sets,
                    RecordSets::from_sets(apex()),
                    "{what}: nothing applied"
                );
            }
        }
    }
}

#[test]
fn record_sets_sort_as_route53_lists_them() {
    let sets = RecordSets::from_sets([
        set("b.z.test.", "A", &[]),
        set("a.b.z.test.", "A", &[]),
        set("z.test.", "NS", &[]),
        set("a.z.test.", "TXT", &[]),
        set("a.z.test.", "A", &[]),
        set("z.test.", "SOA", &[]),
    ]);
    let order: Vec<String> = sets
        .iter()
        .map(|s| format!("{} {}", s.name, s.rtype))
        .collect();
    assert_eq!(
        order,
        [
            "z.test. NS",
            "z.test. SOA",
            "a.z.test. A",
            "a.z.test. TXT",
            "b.z.test. A",
            "a.b.z.test. A"
        ]
    );
}

fn zone_entry(seq: u32) -> Entry {
    Entry::CreateZone {
        zone: HostedZone {
            id: format!("Z{seq}"),
            name: format!("z{seq}.test."),
            caller_reference: format!("ref-{seq}"),
            comment: None,
            private_zone: false,
            vpcs: Vec::new(),
            name_servers: vec!["ns1.z.test.".into()],
            serial: 1,
            record_sets: RecordSets::from_sets(apex()),
            tags: Default::default(),
            dnssec: Default::default(),
        },
        change: ChangeInfo {
            id: format!("C{seq}"),
            submitted_at: 0,
            comment: None,
        },
    }
}

#[test]
fn the_journal_replays_what_was_appended() {
    let dir = tempdir("replay");
    let (mut j, state, _) = Journal::open(&dir).unwrap();
    assert_eq!(state.seq, 0);
    j.append(1, &[&zone_entry(1), &zone_entry(2)]).unwrap();
    drop(j);
    let (_, state, opened) = Journal::open(&dir).unwrap();
    assert_eq!(opened.replayed, 2);
    assert!(opened.cut.is_none());
    assert_eq!(state.zones.len(), 2);
    assert_eq!(state.seq, 2);
}

#[test]
fn a_torn_tail_is_cut_at_the_last_whole_entry() {
    for keep in [3usize, 9, 40] {
        let dir = tempdir(&format!("torn{keep}"));
        let (mut j, _, _) = Journal::open(&dir).unwrap();
        j.append(1, &[&zone_entry(1)]).unwrap();
        let whole = std::fs::metadata(dir.join("api/journal")).unwrap().len();
        j.append(2, &[&zone_entry(2)]).unwrap();
        drop(j);
        // A crash in the middle of the second write: only `keep` of its bytes reached the disk.
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(dir.join("api/journal"))
            .unwrap();
        f.set_len(whole + keep as u64).unwrap();
        let (mut j, state, opened) = Journal::open(&dir).unwrap();
        assert_eq!(state.seq, 1, "keep {keep}");
        assert!(opened.cut.unwrap().contains("the last whole entry is 1"));
        // Appending after the cut continues cleanly.
        j.append(2, &[&zone_entry(3)]).unwrap();
        drop(j);
        let (_, state, opened) = Journal::open(&dir).unwrap();
        assert!(opened.cut.is_none());
        assert!(state.zones.contains_key("Z3"));
    }
}

#[test]
fn a_flipped_bit_is_detected() {
    let dir = tempdir("flip");
    let (mut j, _, _) = Journal::open(&dir).unwrap();
    j.append(1, &[&zone_entry(1)]).unwrap();
    j.append(2, &[&zone_entry(2)]).unwrap();
    drop(j);
    let path = dir.join("api/journal");
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 5;
    bytes[last] ^= 0x20;
    std::fs::write(&path, bytes).unwrap();
    let (_, state, opened) = Journal::open(&dir).unwrap();
    assert_eq!(state.seq, 1);
    assert!(opened.cut.unwrap().contains("checksum"));
}

#[test]
fn compaction_keeps_the_state_and_empties_the_journal() {
    let dir = tempdir("compact");
    let (mut j, mut state, _) = Journal::open(&dir).unwrap();
    for i in 1..=3 {
        let e = zone_entry(i);
        j.append(i as u64, &[&e]).unwrap();
        state.apply(&e).unwrap();
    }
    j.compact(&state).unwrap();
    assert_eq!(std::fs::metadata(dir.join("api/journal")).unwrap().len(), 0);
    j.append(4, &[&zone_entry(4)]).unwrap();
    drop(j);
    let (_, reopened, opened) = Journal::open(&dir).unwrap();
    assert_eq!(opened.replayed, 1);
    assert_eq!(reopened.zones.len(), 4);
}

fn tempdir(what: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("policydns-store-{what}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Plans and commits a batch, as the store does.
fn apply_changes(
    sets: &mut RecordSets,
    origin: &[u8],
    changes: &[Change],
) -> Result<(), Vec<String>> {
    let plan = plan_changes(sets, origin, changes)?;
    sets.commit(plan);
    Ok(())
}

#[test]
fn large_batches_apply_as_small_ones_do() {
    let creates: Vec<Change> = (0..40)
        .map(|i| {
            change(
                Action::Create,
                set(&format!("h{i}.z.test."), "A", &["192.0.2.1"]),
            )
        })
        .collect();
    let mut sets = RecordSets::from_sets(apex());
    assert_eq!(apply_changes(&mut sets, &origin(), &creates), Ok(()));
    assert_eq!(sets.len(), 42);
    let mut mixed: Vec<Change> = (0..20)
        .map(|i| {
            change(
                Action::Delete,
                set(&format!("H{i}.Z.TEST"), "a", &["192.0.2.1"]),
            )
        })
        .collect();
    mixed.extend((20..40).map(|i| {
        change(
            Action::Upsert,
            set(&format!("h{i}.z.test."), "A", &["192.0.2.2"]),
        )
    }));
    assert_eq!(apply_changes(&mut sets, &origin(), &mixed), Ok(()));
    assert_eq!(sets.len(), 22);
    assert!(sets
        .iter()
        .filter(|s| s.rtype == "A")
        .all(|s| { s.resource_records.as_ref().unwrap()[0].value == "192.0.2.2" }));
    // And a failure among many leaves everything as it was.
    let before = sets.clone();
    let mut bad = creates.clone();
    bad.truncate(30);
    assert!(apply_changes(&mut sets, &origin(), &bad).is_err());
    assert_eq!(sets, before);
}
