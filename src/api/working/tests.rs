//! Batches reach the served zone by patches, the double buffer's spare is reused, and what
//! both give is the zone a full compile of the store gives.

use std::collections::BTreeMap;

use super::*;
use crate::config::{Config, Overrides};
use crate::route53::{Action, Change, ResourceRecordSet};
use crate::store::{plan_changes, RecordSets};
use crate::zone::describe;

fn config() -> Config {
    let dir = std::env::temp_dir().join(format!("policydns-working-{}", std::process::id()));
    Config::load(
        None,
        &Overrides {
            api_listen: vec!["127.0.0.1:0".into()],
            api_keys: vec!["AKID:SECRET".into()],
            state_dir: Some(dir.display().to_string()),
            ..Default::default()
        },
    )
    .unwrap()
}

fn set(name: &str, rtype: &str, values: &[&str]) -> ResourceRecordSet {
    let values = values.iter().map(|v| v.to_string()).collect();
    ResourceRecordSet::simple(name.into(), rtype.into(), 300, values)
}

fn weighted(name: &str, id: &str, weight: i64, value: &str) -> ResourceRecordSet {
    ResourceRecordSet {
        set_identifier: Some(id.into()),
        weight: Some(weight),
        ..set(name, "A", &[value])
    }
}

fn hosted(sets: usize) -> HostedZone {
    let mut all = vec![
        set(
            "z.test.",
            "SOA",
            &["ns1.z.test. h.z.test. 1 7200 900 1209600 86400"],
        ),
        set("z.test.", "NS", &["ns1.z.test."]),
        set("ns1.z.test.", "A", &["192.0.2.53"]),
    ];
    all.extend((0..sets).map(|i| set(&format!("h{i}.z.test."), "A", &["192.0.2.1"])));
    HostedZone {
        id: "ZTEST".into(),
        name: "z.test.".into(),
        caller_reference: "r".into(),
        comment: None,
        private_zone: false,
        vpcs: Vec::new(),
        name_servers: vec!["ns1.z.test.".into()],
        serial: 1,
        record_sets: RecordSets::from_sets(all),
        tags: BTreeMap::new(),
        dnssec: Default::default(),
    }
}

/// One group commit of `batches` on `state`: the zone it publishes and whether the spare
/// given was used.
fn group(
    config: &Config,
    state: &mut HostedZone,
    served: &Arc<Zone>,
    spare: Option<Spare>,
    batches: &[Vec<Change>],
) -> (Finished, bool) {
    let had_spare = spare.is_some();
    let mut w = Working::new(state.origin(), Some(served.clone()), spare);
    for changes in batches {
        let plan = plan_changes(&state.record_sets, &state.origin(), changes).unwrap();
        let rrsets = crate::api::prepare::rrset_changes(config, state, &plan).unwrap();
        w.apply(config, state, &plan, rrsets, state.serial + 1)
            .unwrap();
        state.record_sets.commit(plan);
        state.serial += 1;
    }
    let used_spare = had_spare && w.spare.is_none();
    assert!(!w.full, "patched, not compiled whole");
    (w.finish(config, Some(state), &[]).unwrap(), used_spare)
}

fn change(action: Action, s: ResourceRecordSet) -> Change {
    Change {
        action,
        resource_record_set: s,
    }
}

#[test]
fn changes_are_patched_into_a_reused_buffer_and_serve_what_a_full_compile_serves() {
    use Action::*;
    let config = config();
    let mut state = hosted(2000);
    let served = Arc::new(compile(&config, &state, None).unwrap());
    let groups: Vec<Vec<Vec<Change>>> = vec![
        vec![vec![change(
            Upsert,
            set("h1.z.test.", "A", &["192.0.2.9", "192.0.2.10"]),
        )]],
        vec![
            vec![change(
                Create,
                set("new.deep.z.test.", "TXT", &["\"hello\""]),
            )],
            vec![change(Delete, set("h2.z.test.", "A", &["192.0.2.1"]))],
        ],
        vec![vec![
            change(Create, weighted("w.z.test.", "one", 1, "198.51.100.1")),
            change(Create, weighted("w.z.test.", "two", 3, "198.51.100.2")),
        ]],
        vec![vec![change(
            Delete,
            set("new.deep.z.test.", "TXT", &["\"hello\""]),
        )]],
        vec![vec![change(
            Upsert,
            weighted("w.z.test.", "two", 0, "198.51.100.3"),
        )]],
    ];
    let (mut served, mut spare) = (served, None);
    let mut reused = 0;
    for (i, batches) in groups.iter().enumerate() {
        let (done, used) = group(&config, &mut state, &served, spare, batches);
        reused += usize::from(used);
        let full = compile(&config, &state, None).unwrap();
        assert_eq!(describe(&done.zone), describe(&full), "group {i}");
        assert!(
            done.step.is_some(),
            "group {i}: an IXFR step from the batch"
        );
        served = done.zone;
        spare = done.spare;
    }
    // Every group after the first found the previous version free and patched it.
    assert_eq!(reused, groups.len() - 1);
}

#[test]
fn the_step_of_a_patch_holds_only_what_changed() {
    let config = config();
    let mut state = hosted(500);
    let served = Arc::new(compile(&config, &state, None).unwrap());
    let batch = vec![change(
        Action::Upsert,
        set("h7.z.test.", "A", &["192.0.2.77"]),
    )];
    let (done, _) = group(&config, &mut state, &served, None, &[batch]);
    let (removed, added) = done.step.unwrap();
    let text = |rrs: &[crate::transfer::records::Rr<'_>]| -> Vec<String> {
        rrs.iter()
            .map(|r| format!("{} {:?}", crate::wire::name::to_text(&r.owner), r.rdata))
            .collect()
    };
    assert_eq!(text(&removed), ["h7.z.test. [192, 0, 2, 1]"]);
    assert_eq!(text(&added), ["h7.z.test. [192, 0, 2, 77]"]);
}
