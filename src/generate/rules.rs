//! A rules file of any size for benchmarks: rules of the shapes of
//! `docs/rules/` with different thresholds, so that most are evaluated and
//! few fire. Deterministic: the same `n` gives the same text.

use std::fmt::Write;

/// A rules file of `n` rules. Rule 0, `every-withdrawal`, fires on every
/// withdrawal (an action without effects: what a benchmark of delivery
/// waits for); the others are withdrawal thresholds by tier, 24-hour
/// withdrawal sums, open disputes at a collections call, deposits by
/// segment on any change (with a cooldown) and household deposits crossing
/// a line, with thresholds rising with their number.
pub fn rule_set(n: usize) -> String {
    let mut out = String::new();
    for i in 0..n {
        let name = format!("r{i:03}");
        let tier = ["platinum", "gold", "standard"][i % 3];
        let (on, when, tail) = match i % 5 {
            _ if i == 0 => (
                "interaction.added",
                "event.after.interaction_type == \"withdrawal\"".to_string(),
                String::new(),
            ),
            0 => (
                "interaction.added",
                format!(
                    "customer.tier == \"{tier}\" && event.after.interaction_type == \"withdrawal\" && event.after.amount > {}.0",
                    10_000 + 1_000 * i
                ),
                "cooldown = \"1d\"\n[[rule.actions]]\ntype = \"set\"\nattribute = \"next_best_action\"\nvalue = \"banker_call\"\n".to_string(),
            ),
            1 => (
                "interaction.added",
                format!(
                    "event.after.interaction_type == \"withdrawal\" && sum(customer.interactions.filter(x, x.type == \"withdrawal\" && x.age_hours < 24.0).map(x, x.amount)) > {}.0",
                    50_000 * i
                ),
                String::new(),
            ),
            2 => (
                "interaction.added",
                "event.after.interaction_type == \"collections_call\" && customer.open_items.exists(o, o.type == \"dispute\")".to_string(),
                String::new(),
            ),
            3 => (
                "customer.changed",
                format!(
                    "customer.deposits > {}.0 && customer.segment == \"retail\"",
                    1_000_000 + 100_000 * i
                ),
                "cooldown = \"1h\"\n".to_string(),
            ),
            _ => (
                "account.balance_changed",
                format!(
                    "customer.household.deposits > {0}.0 && customer.household.deposits - (event.after.balance - event.before.balance) <= {0}.0",
                    250_000 + 10_000 * i
                ),
                String::new(),
            ),
        };
        let _ = write!(
            out,
            "[[rule]]\nname = \"{name}\"\non = [\"{on}\"]\nwhen = '{when}'\npriority = {}\n{tail}\n",
            n - i
        );
    }
    out
}
