//! Interaction rules: each example rule of docs/rules/ fires on a case built
//! for it and stays silent on its near misses; cooldown, priority and `stop`
//! hold; a rule that errors leaves the others working; a rules file with
//! errors is refused whole with every error listed; rules resume after a
//! restart and act on a change exactly once, also when the writer is killed.
#![cfg(feature = "rules")] // the interaction rules

use kith::resolve::ResolveConfig;
use kith::rules::RulesError;
use kith::{
    attrs, Attrs, Change, ChangeEntry, ChangeId, Db, Decimal, EdgeProps, EntityId, EntityKind,
    NewEntity, Patch, RelKind, Value,
};
use std::time::Duration;

const WITHDRAWAL: &str = include_str!("../docs/rules/large-withdrawal.toml");
const COLLECTIONS: &str = include_str!("../docs/rules/collections-dispute.toml");
const PREMIER: &str = include_str!("../docs/rules/household-premier.toml");
const WEB: &str = include_str!("../docs/rules/web-signup.toml");

fn money(s: &str) -> Decimal {
    Decimal::parse(s).unwrap()
}

/// Every action raised so far, once the rules have caught up.
fn actions(db: &Db) -> Vec<ChangeEntry> {
    assert!(db.wait_for_rules(Duration::from_secs(20)), "rules lag");
    db.actions().read_after(ChangeId::ZERO, usize::MAX).unwrap()
}

/// (rule, customer) of each action.
fn fired(db: &Db) -> Vec<(String, EntityId)> {
    actions(db)
        .into_iter()
        .map(|e| match e.change {
            Change::ActionRaised { rule, customer, .. } => (rule, customer),
            other => panic!("not an action: {other:?}"),
        })
        .collect()
}

fn person(db: &Db, name: &str, extra: &[(&str, &str)]) -> EntityId {
    let mut p = NewEntity::person().attr(attrs::GIVEN_NAME, name);
    for (k, v) in extra {
        p = p.attr(*k, *v);
    }
    db.create(p).unwrap()
}

fn interaction(db: &Db, party: EntityId, fields: &[(&str, Value)]) -> EntityId {
    let mut i = NewEntity::new(EntityKind::INTERACTION);
    for (k, v) in fields {
        i = i.attr(*k, v.clone());
    }
    db.append_interaction(party, i).unwrap()
}

fn withdrawal(db: &Db, party: EntityId, amount: &str) -> EntityId {
    interaction(
        db,
        party,
        &[
            (attrs::INTERACTION_TYPE, Value::from("withdrawal")),
            (attrs::AMOUNT, Value::Decimal(money(amount))),
        ],
    )
}

#[test]
fn a_platinum_customers_large_withdrawal_has_their_banker_call() {
    let db = Db::temporary().unwrap();
    let managed_by = db.register_relationship_kind("MANAGED_BY").unwrap();
    db.load_rules(WITHDRAWAL).unwrap();
    let banker = person(&db, "Bob", &[]);
    let ann = person(&db, "Ann", &[(attrs::TIER, "platinum")]);
    let gil = person(&db, "Gil", &[(attrs::TIER, "gold")]);
    db.relate(ann, managed_by, banker, EdgeProps::new())
        .unwrap();

    withdrawal(&db, ann, "9000.00"); // near miss: not over $10,000
    interaction(
        &db,
        ann,
        &[
            (attrs::INTERACTION_TYPE, Value::from("deposit")),
            (attrs::AMOUNT, Value::Decimal(money("20000"))),
        ],
    ); // near miss: a deposit
    withdrawal(&db, gil, "20000.00"); // near miss: gold
    assert!(fired(&db).is_empty(), "{:?}", fired(&db));

    withdrawal(&db, ann, "12500.00");
    let all = actions(&db);
    assert_eq!(all.len(), 1);
    let Change::ActionRaised {
        rule,
        customer,
        why,
        fields,
        effects,
        trigger,
        ..
    } = &all[0].change
    else {
        panic!()
    };
    assert_eq!(
        (rule.as_str(), *customer),
        ("platinum-large-withdrawal", ann)
    );
    assert_eq!(trigger, "interaction.added");
    assert!(
        why.contains(&("customer.tier".into(), "platinum".into())),
        "{why:?}"
    );
    assert!(
        why.contains(&("event.after.amount".into(), "12500".into())),
        "{why:?}"
    );
    assert!(fields.contains(&("message".into(), "Have their banker call today".into())));
    assert!(fields.contains(&("queue".into(), "private-banking".into())));
    assert_eq!(effects.len(), 2, "{effects:?}");
    assert!(
        effects[0].contains(&format!("assigned to {}", banker.0)),
        "{effects:?}"
    );
    // The effects are in the database.
    let a = db.get(ann).unwrap().unwrap();
    assert_eq!(a.text("next_best_action"), Some("banker_call"));
    let tasks: Vec<_> = db
        .recent_interactions(ann, 10)
        .unwrap()
        .into_iter()
        .filter_map(|(_, i)| db.get(i).unwrap())
        .filter(|i| i.text(attrs::INTERACTION_TYPE) == Some("task"))
        .collect();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].attr("assignee"), Some(Value::Int(banker.0 as i64)));
    assert_eq!(tasks[0].text(attrs::STATUS), Some("open"));

    // Cooldown: a second large withdrawal the same day does not fire.
    withdrawal(&db, ann, "15000.00");
    assert_eq!(fired(&db).len(), 1);
    let stats = db.rule_stats().unwrap();
    assert_eq!(stats[0].fires, 1);
    assert_eq!(stats[0].errors, 0);
    assert!(db.check().unwrap().is_ok());
}

fn dispute(db: &Db, party: EntityId, department: &str, status: &str) {
    interaction(
        db,
        party,
        &[
            (attrs::INTERACTION_TYPE, Value::from("dispute")),
            ("department", Value::from(department)),
            (attrs::STATUS, Value::from(status)),
        ],
    );
}

fn collections_call(db: &Db, party: EntityId) {
    interaction(
        db,
        party,
        &[
            (attrs::INTERACTION_TYPE, Value::from("collections_call")),
            (attrs::STATUS, Value::from("scheduled")),
        ],
    );
}

#[test]
fn a_collections_call_is_stopped_by_an_open_mortgage_dispute_and_stops_lower_rules() {
    let db = Db::temporary().unwrap();
    db.load_rules(COLLECTIONS).unwrap();
    // A lower-priority rule on the same change: `stop` keeps it silent
    // where the hold fires.
    db.set_rule(
        "log-collections-calls",
        r#"on = ["interaction.added"]
when = 'event.after.interaction_type == "collections_call"'
priority = 1
message = "collections call logged""#,
    )
    .unwrap();
    let carl = person(&db, "Carl", &[]);
    let dana = person(&db, "Dana", &[]);
    let erin = person(&db, "Erin", &[]);
    dispute(&db, carl, "mortgage", "open");
    dispute(&db, dana, "cards", "open"); // near miss: another unit
    dispute(&db, erin, "mortgage", "closed"); // near miss: closed
    assert!(fired(&db).is_empty());
    for p in [carl, dana, erin] {
        collections_call(&db, p);
    }
    let mut got = fired(&db);
    got.sort();
    assert_eq!(
        got,
        vec![
            ("collections-hold-on-mortgage-dispute".to_string(), carl),
            ("log-collections-calls".to_string(), dana),
            ("log-collections-calls".to_string(), erin),
        ]
    );
    let c = db.get(carl).unwrap().unwrap();
    assert!(matches!(
        c.attr("do_not_call_until"),
        Some(Value::Timestamp(_))
    ));
    assert!(db
        .get(dana)
        .unwrap()
        .unwrap()
        .attr("do_not_call_until")
        .is_none());
    let ctx = db.context(carl).unwrap();
    assert!(ctx
        .open_items
        .iter()
        .any(|o| o.entity.text(attrs::INTERACTION_TYPE) == Some("alert")));
    // Priority orders the rules: the hold runs first.
    let rules = db.rules().unwrap();
    assert_eq!(rules[0].name(), "collections-hold-on-mortgage-dispute");
}

#[test]
fn a_household_passing_250k_is_offered_premier_once() {
    let db = Db::temporary().unwrap();
    db.load_rules(PREMIER).unwrap();
    let eve = person(&db, "Eve", &[]);
    let fay = person(&db, "Fay", &[]);
    let house = db
        .create(NewEntity::household().attr(attrs::NAME, "Lee household"))
        .unwrap();
    let other = person(&db, "Gus", &[]);
    let acct = |owner: EntityId, bal: &str| {
        let a = db
            .create(
                NewEntity::account()
                    .attr(attrs::PRODUCT_TYPE, "savings")
                    .attr(attrs::BALANCE, money(bal)),
            )
            .unwrap();
        db.relate(owner, RelKind::OWNS, a, EdgeProps::new())
            .unwrap();
        a
    };
    for p in [eve, fay] {
        db.relate(p, RelKind::MEMBER_OF, house, EdgeProps::new())
            .unwrap();
    }
    acct(eve, "200000.00");
    let fays = acct(fay, "40000.00");
    let gus = acct(other, "100000.00");
    let set = |a: EntityId, bal: &str| {
        db.update(a, Patch::new().set(attrs::BALANCE, money(bal)))
            .unwrap();
    };
    set(gus, "150000.00"); // near miss: no household, under the line
    set(fays, "45000.00"); // near miss: 245,000
    assert!(fired(&db).is_empty());
    set(fays, "60000.00"); // 260,000: crosses
    assert_eq!(
        fired(&db),
        vec![("household-premier-offer".to_string(), fay)]
    );
    assert_eq!(
        db.get(fay).unwrap().unwrap().text("next_best_action"),
        Some("offer_premier")
    );
    set(fays, "70000.00"); // near miss: was over already
    assert_eq!(fired(&db).len(), 1);
}

fn record(name: &str, email: &str) -> Attrs {
    let mut a = Attrs::new();
    a.insert(attrs::GIVEN_NAME.into(), Value::from(name));
    a.insert(attrs::FAMILY_NAME.into(), Value::from("Lee"));
    a.insert(attrs::EMAIL.into(), Value::from(email));
    a.insert(
        attrs::BIRTH_DATE.into(),
        Value::Date(kith::Date::parse("1980-02-01").unwrap()),
    );
    a
}

#[test]
fn a_web_signup_matching_a_customer_is_welcomed_as_one() {
    let db = Db::temporary().unwrap();
    db.load_rules(WEB).unwrap();
    let cfg = ResolveConfig::default();
    let p = EntityKind::PERSON;
    db.upsert_record("crm", "C1", p, record("Ann", "ann.lee@example.com"), &cfg)
        .unwrap();
    // Near miss: a sign-up that matches nobody.
    db.upsert_record("web", "W9", p, record("Zed", "zed@example.org"), &cfg)
        .unwrap();
    assert!(fired(&db).is_empty(), "{:?}", fired(&db));
    db.upsert_record("web", "W1", p, record("Ann", "ann.lee@example.com"), &cfg)
        .unwrap();
    let customer = db.customer_of_record("crm", "C1").unwrap().unwrap();
    let customer = db.follow_merges(customer).unwrap();
    assert_eq!(
        fired(&db),
        vec![("web-signup-existing-customer".to_string(), customer)]
    );
    assert_eq!(
        db.get(customer).unwrap().unwrap().text("next_best_action"),
        Some("welcome_existing_customer")
    );
}

#[test]
fn a_rule_that_errors_is_counted_and_the_others_still_fire() {
    let db = Db::temporary().unwrap();
    db.load_rules(
        r#"
[[rule]]
name = "needs-amount"
on = ["interaction.added"]
when = 'event.after.amount > 100.0'

[[rule]]
name = "any-call"
on = ["interaction.added"]
when = 'event.after.interaction_type == "call"'
"#,
    )
    .unwrap();
    let ann = person(&db, "Ann", &[]);
    interaction(&db, ann, &[(attrs::INTERACTION_TYPE, Value::from("call"))]);
    assert_eq!(fired(&db), vec![("any-call".to_string(), ann)]);
    let stats = db.rule_stats().unwrap();
    let bad = stats.iter().find(|s| s.name == "needs-amount").unwrap();
    assert_eq!((bad.errors, bad.fires), (1, 0));
    assert!(
        bad.last_error.as_deref().unwrap().contains("amount"),
        "{bad:?}"
    );
    assert!(db.rules_status().unwrap().last_error.is_none());
}

#[test]
fn a_rules_file_with_errors_is_refused_whole_with_every_error() {
    let db = Db::temporary().unwrap();
    let text = r#"
[[rule]]
name = "good"
on = ["interaction.added"]
when = 'customer.tier == "platinum"'

[[rule]]
name = "bad-trigger"
on = ["interaction.addded"]
when = 'true'

[[rule]]
name = "bad-field"
on = ["customer.changed"]
when = 'customer.tierr == "gold"'

[[rule]]
name = "bad-syntax"
on = ["customer.changed"]
when = 'customer.tier == '

[[rule]]
name = "bad-action"
on = ["customer.changed"]
when = 'true'
[[rule.actions]]
type = "sett"
"#;
    let Err(RulesError::Invalid(errs)) = db.load_rules(text) else {
        panic!("accepted")
    };
    let names: Vec<&str> = errs.iter().map(|e| e.rule.as_str()).collect();
    assert_eq!(
        names,
        ["bad-trigger", "bad-field", "bad-syntax", "bad-action"],
        "{errs:?}"
    );
    assert!(
        errs[0]
            .message
            .contains("did you mean \"interaction.added\""),
        "{errs:?}"
    );
    assert!(
        errs[1].message.contains("did you mean \"tier\""),
        "{errs:?}"
    );
    assert!(errs[2].message.contains("condition line 1"), "{errs:?}");
    assert!(errs[3].message.contains("unknown action type"), "{errs:?}");
    assert!(errs.iter().all(|e| e.line.is_some()), "{errs:?}");
    assert!(db.rules().unwrap().is_empty(), "nothing loaded");
    // An unknown attribute must be declared; a relationship kind must exist.
    let Err(RulesError::Invalid(errs)) = db.load_rules(
        r#"[[rule]]
name = "x"
on = ["customer.changed"]
when = 'customer.profile.loyalty_points > 10'
[[rule.actions]]
type = "task"
summary = "s"
assignee = "NO_SUCH_KIND""#,
    ) else {
        panic!("accepted")
    };
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert!(errs.iter().any(|e| e.message.contains("NO_SUCH_KIND")));
    assert!(errs.iter().any(|e| e.message.contains("declare it")));
    // Broken TOML says where.
    let Err(RulesError::Invalid(errs)) = db.load_rules("[[rule]]\nname = \n") else {
        panic!("accepted")
    };
    assert_eq!(errs[0].line, Some(2), "{errs:?}");
}

#[test]
fn rules_resume_after_a_restart_and_act_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let rule = r#"[[rule]]
name = "big"
on = ["interaction.added"]
when = 'event.after.amount > 100.0'
[[rule.actions]]
type = "set"
attribute = "flagged"
value = true
"#;
    let ann;
    {
        let db = Db::open(&path).unwrap();
        db.load_rules(rule).unwrap();
        ann = person(&db, "Ann", &[]);
        withdrawal(&db, ann, "500");
        assert_eq!(fired(&db).len(), 1);
    }
    {
        // Changes committed while no handle runs the rules …
        let db = Db::builder().path(&path).run_rules(false).open().unwrap();
        withdrawal(&db, ann, "600");
        withdrawal(&db, ann, "700");
        assert!(!db.rules_status().unwrap().running);
    }
    for _ in 0..2 {
        // … are evaluated by the next one, exactly once.
        let db = Db::open(&path).unwrap();
        assert_eq!(db.rules().unwrap().len(), 1, "the rules are stored");
        let got = actions(&db);
        assert_eq!(got.len(), 3, "{got:?}");
        let ids: std::collections::BTreeSet<String> = got
            .iter()
            .map(|e| match &e.change {
                Change::ActionRaised { action, .. } => action.clone(),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(ids.len(), 3);
        assert!(db.check().unwrap().is_ok());
    }
    let db = Db::open(&path).unwrap();
    assert!(db.delete_rule("big").unwrap());
    assert!(!db.delete_rule("big").unwrap());
    assert!(db.rules().unwrap().is_empty());
    withdrawal(&db, ann, "800");
    assert_eq!(actions(&db).len(), 3, "a deleted rule is silent");
}

const DIR_VAR: &str = "KITH_RULES_CRASH_DIR";

/// The child: appends large withdrawals until killed.
#[test]
#[ignore = "run by the crash test as a child process"]
fn rules_crash_child_writer() {
    let Ok(dir) = std::env::var(DIR_VAR) else {
        return;
    };
    let db = Db::open(&dir).unwrap();
    let ann = db.lookup("crm", "ann").unwrap().unwrap();
    loop {
        withdrawal(&db, ann, "5000");
    }
}

#[test]
fn a_killed_writer_leaves_every_change_acted_on_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let db = Db::open(&path).unwrap();
        db.load_rules(
            r#"[[rule]]
name = "big"
on = ["interaction.added"]
when = 'event.after.interaction_type == "withdrawal"'
[[rule.actions]]
type = "alert"
summary = "large withdrawal"
"#,
        )
        .unwrap();
        db.create(NewEntity::person().identifier("crm", "ann"))
            .unwrap();
    }
    for round in 0..3u64 {
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--ignored",
                "--exact",
                "rules_crash_child_writer",
                "--nocapture",
            ])
            .env(DIR_VAR, &path)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(700 + 300 * round));
        child.kill().unwrap();
        child.wait().unwrap();
    }
    let db = Db::open(&path).unwrap();
    let ann = db.lookup("crm", "ann").unwrap().unwrap();
    let got = actions(&db);
    let withdrawals: Vec<EntityId> = db
        .recent_interactions(ann, usize::MAX)
        .unwrap()
        .into_iter()
        .map(|(_, i)| i)
        .filter(|i| {
            db.get(*i).unwrap().unwrap().text(attrs::INTERACTION_TYPE) == Some("withdrawal")
        })
        .collect();
    assert!(
        withdrawals.len() > 3,
        "the child wrote {}",
        withdrawals.len()
    );
    assert_eq!(got.len(), withdrawals.len(), "one action per withdrawal");
    let alerts = db
        .recent_interactions(ann, usize::MAX)
        .unwrap()
        .into_iter()
        .filter(|(_, i)| {
            db.get(*i).unwrap().unwrap().text(attrs::INTERACTION_TYPE) == Some("alert")
        })
        .count();
    assert_eq!(alerts, withdrawals.len(), "one alert per withdrawal");
    let ids: std::collections::BTreeSet<String> = got
        .iter()
        .map(|e| match &e.change {
            Change::ActionRaised { action, .. } => action.clone(),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(ids.len(), got.len(), "no action twice");
    let report = db.check().unwrap();
    assert!(report.is_ok(), "{:?}", report.violations);
}

#[test]
fn why_names_what_a_condition_read_also_beside_comprehensions() {
    let db = Db::temporary().unwrap();
    // A comprehension variable (`c`) that prefixes another name (`customer`)
    // must not hide `customer.tier` from the "why".
    db.set_rule(
        "tiered",
        r#"on = ["interaction.added"]
when = '[1, 2].exists(c, c == 2) && customer.tier == "gold" && event.after.interaction_type == "call"'"#,
    )
    .unwrap();
    let ann = person(&db, "Ann", &[(attrs::TIER, "gold")]);
    interaction(&db, ann, &[(attrs::INTERACTION_TYPE, Value::from("call"))]);
    let got = actions(&db);
    let Change::ActionRaised { why, .. } = &got[0].change else {
        panic!()
    };
    assert!(
        why.contains(&("customer.tier".into(), "gold".into())),
        "{why:?}"
    );
}

#[test]
fn the_benchmark_rule_set_loads_and_its_first_rule_fires_on_a_withdrawal() {
    let db = Db::temporary().unwrap();
    let names = db.load_rules(&kith::generate::rule_set(100)).unwrap();
    assert_eq!(names.len(), 100);
    let ann = person(&db, "Ann", &[(attrs::TIER, "platinum")]);
    withdrawal(&db, ann, "50.00");
    let fired = fired(&db);
    assert_eq!(fired, vec![("r000".to_string(), ann)]);
    let stats = db.rule_stats().unwrap();
    assert!(stats.iter().all(|s| s.errors == 0), "{stats:?}");
}

#[test]
fn rules_on_rules_stop_at_their_depth_and_never_retrigger_themselves() {
    let db = Db::temporary().unwrap();
    // `a` writes on every change to the customer: its own writes must not
    // trigger it again, or it would never stop.
    // Each rule sets its flag; b, c and d each fire on the flag before theirs.
    let rule = |name: &str, on: &str, when: &str| {
        format!(
            "[[rule]]\nname = \"{name}\"\non = [\"{on}\"]\nwhen = '{when}'\n\
             [[rule.actions]]\ntype = \"set\"\nattribute = \"flag_{name}\"\nvalue = true\n"
        )
    };
    let mut file = String::from("attributes = [\"flag_a\", \"flag_b\", \"flag_c\"]\n");
    file += &rule("a", "interaction.added", "true");
    file += &rule("self", "customer.changed", "true");
    for (name, after) in [("b", "a"), ("c", "b"), ("d", "c")] {
        file += &rule(
            name,
            "party.updated",
            &format!("\"flag_{after}\" in event.changed"),
        );
    }
    db.load_rules(&file).unwrap();
    let ann = person(&db, "Ann", &[]);
    // Wait for the person's own commit to be evaluated first.
    let _ = fired(&db);
    interaction(&db, ann, &[(attrs::INTERACTION_TYPE, Value::from("call"))]);
    // a at depth 0, b at 1, c at 2; d would be at 3, past the default 2.
    let mut seen: Vec<(String, u32)> = Vec::new();
    for _ in 0..5 {
        seen = actions(&db)
            .into_iter()
            .filter_map(|e| match e.change {
                Change::ActionRaised {
                    rule,
                    depth,
                    customer,
                    ..
                } if customer == ann => Some((rule, depth)),
                _ => None,
            })
            .collect();
        if seen.len() >= 6 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    seen.sort();
    assert_eq!(
        seen,
        vec![
            ("a".to_string(), 0),
            ("b".to_string(), 1),
            ("c".to_string(), 2),
            ("self".to_string(), 0),
            ("self".to_string(), 0),
            ("self".to_string(), 2),
        ],
        "self fires for the person's creation, the interaction and b's write (depth 2), \
         never for a commit carrying its own action"
    );
    let a = db.get(ann).unwrap().unwrap();
    assert_eq!(a.attr("flag_c"), Some(Value::Bool(true)));
    assert!(a.attr("flag_d").is_none());
}

#[test]
fn rules_tag_and_untag_a_customer() {
    let db = Db::temporary().unwrap();
    db.load_rules(
        r#"
[[rule]]
name = "vip-on-big-deposit"
on = ["interaction.added"]
when = 'event.after.interaction_type == "deposit"'
[[rule.actions]]
type = "tag"
value = "vip"

[[rule]]
name = "not-vip-on-complaint"
on = ["interaction.added"]
when = 'event.after.interaction_type == "complaint" && has(customer.profile.tags) && "vip" in customer.profile.tags'
[[rule.actions]]
type = "untag"
value = "vip"
"#,
    )
    .unwrap();
    let ann = person(&db, "Ann", &[]);
    interaction(
        &db,
        ann,
        &[(attrs::INTERACTION_TYPE, Value::from("deposit"))],
    );
    interaction(
        &db,
        ann,
        &[(attrs::INTERACTION_TYPE, Value::from("deposit"))],
    );
    let _ = fired(&db);
    assert_eq!(
        db.get(ann).unwrap().unwrap().attr("tags"),
        Some(Value::List(vec![Value::from("vip")])),
        "tagged once, however often"
    );
    interaction(
        &db,
        ann,
        &[(attrs::INTERACTION_TYPE, Value::from("complaint"))],
    );
    let got = fired(&db);
    assert_eq!(got.last().unwrap().0, "not-vip-on-complaint", "{got:?}");
    assert!(db.get(ann).unwrap().unwrap().attr("tags").is_none());
    assert!(db.load_rules("[[rule]]\nname = \"x\"\non = [\"customer.changed\"]\nwhen = 'true'\n[[rule.actions]]\ntype = \"tag\"\n").is_err());
}

#[test]
fn a_huge_or_deeply_nested_condition_is_refused_or_runs_never_crashes() {
    let db = Db::temporary().unwrap();
    let huge = vec!["1"; 100_000].join(" + ");
    let Err(RulesError::Invalid(errs)) = db.set_rule(
        "huge",
        &format!("on = [\"customer.changed\"]\nwhen = '{huge} > 0'"),
    ) else {
        panic!("accepted")
    };
    assert!(errs[0].message.contains("at most 4096"), "{errs:?}");
    // Deep, but within the bound: checked, run, silent.
    let deep = format!("{}false", "!".repeat(4000));
    db.set_rule(
        "deep",
        &format!("on = [\"interaction.added\"]\nwhen = '{deep}'"),
    )
    .unwrap();
    let ann = person(&db, "Ann", &[]);
    interaction(&db, ann, &[(attrs::INTERACTION_TYPE, Value::from("call"))]);
    assert!(fired(&db).is_empty());
    let stats = db.rule_stats().unwrap();
    assert_eq!((stats[0].evaluations, stats[0].errors), (1, 0), "{stats:?}");
}

#[test]
fn a_window_cut_by_its_limit_says_truncated_and_keeps_the_newest() {
    let db = Db::temporary().unwrap();
    let ann = person(&db, "Ann", &[]);
    // 1,005 withdrawals: the window holds the newest 1,000 and says so.
    db.transaction(|tx| {
        for _ in 0..1005 {
            tx.append_interaction(
                ann,
                NewEntity::new(EntityKind::INTERACTION)
                    .attr(attrs::INTERACTION_TYPE, "withdrawal")
                    .attr(attrs::AMOUNT, money("1")),
            )?;
        }
        Ok::<_, kith::Error>(())
    })
    .unwrap();
    let rules = db
        .parse_rules(
            r#"[[rule]]
name = "w"
on = ["customer.changed"]
when = 'customer.interactions_truncated && size(customer.interactions) == 1000 && customer.interactions[999].age_hours < 1.0'
"#,
        )
        .unwrap();
    let got = db.test_rules(Some(&rules), ann, None).unwrap();
    assert!(got[0].fires, "{got:?}");
    let bob = person(&db, "Bob", &[]);
    withdrawal(&db, bob, "5");
    let got = db.test_rules(Some(&rules), bob, None).unwrap();
    assert!(!got[0].fires && got[0].error.is_none(), "{got:?}");
}
