//! Which normative statements the scenario library checks, per version.

use std::collections::{BTreeMap, BTreeSet};

use scenario::spec;
use scenario::{Scenario, VersionName};

/// Coverage of one version's statements.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionCoverage {
    pub version: VersionName,
    /// Statement id → the scenarios (by name) that cite it.
    pub cited: BTreeMap<&'static str, Vec<String>>,
    /// Statements no scenario cites, in specification order.
    pub missing: Vec<&'static str>,
    pub total: usize,
}

impl VersionCoverage {
    pub fn percent(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            100.0 * self.cited.len() as f64 / self.total as f64
        }
    }
}

/// Counts, for each version, the statements cited by scenarios that run on it.
pub fn compute<'a>(
    scenarios: impl IntoIterator<Item = &'a Scenario> + Clone,
) -> Vec<VersionCoverage> {
    [VersionName::V311, VersionName::V5]
        .into_iter()
        .map(|version| {
            let statements = spec::statements(version.protocol());
            let mut cited: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
            for s in scenarios.clone() {
                if !s.versions.contains(&version) {
                    continue;
                }
                let ids: BTreeSet<&str> = s.spec.ids_for(version).into_iter().collect();
                for id in ids {
                    if let Some(st) = statements.iter().find(|st| st.id == id) {
                        cited.entry(st.id).or_default().push(s.name.clone());
                    }
                }
            }
            let missing = statements
                .iter()
                .map(|st| st.id)
                .filter(|id| !cited.contains_key(id))
                .collect();
            VersionCoverage {
                version,
                cited,
                missing,
                total: statements.len(),
            }
        })
        .collect()
}
