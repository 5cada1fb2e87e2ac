//! Workloads on the broker under test: placed as scenarios are, the
//! seed's fault schedule applied through the proxies in real time, and on
//! the shared broker what the run left cleared afterwards.

use std::time::Duration;

use super::{Placement, Session, Target, Verdict};
use crate::external::instance::Instance;
use crate::external::isolate;
use crate::external::world::{Link, TcpWorld};
use crate::workload::client::Naming;
use crate::workload::probe::PROBE;
use crate::workload::run as workload_run;
use record::workload::Outcome;
use scenario::workload::Workload;
use scenario::VersionName;

impl Session {
    /// Runs one workload version at `seed` where `placement` (from
    /// `workload_placement`) says: the seed's fault schedule is applied
    /// through the proxies in real time, and the clients leave with
    /// DISCONNECT at the end; on the shared broker, under prefixes, with
    /// what the run left cleared afterwards.
    pub fn run_workload(
        &self,
        w: &Workload,
        v: VersionName,
        seed: u64,
        placement: &Placement,
    ) -> Verdict<Box<Outcome>> {
        let faults = workload_run::schedule(w, seed);
        self.run_workload_faults(w, v, seed, &faults, placement)
    }

    /// The same with a fault schedule of its own (what shrinking tries).
    pub fn run_workload_faults(
        &self,
        w: &Workload,
        v: VersionName,
        seed: u64,
        faults: &[record::workload::ScheduledFault],
        placement: &Placement,
    ) -> Verdict<Box<Outcome>> {
        let faults = faults.to_vec();
        let latency = w.network.latency.map(|r| (r.min.0, r.max.0));
        let (addr, tls) = self.shared_endpoint(v);
        let mut names = workload_run::clients(w);
        let broker_name = self.broker_name();
        // What survives a restart: the profile's promise (a URL broker is
        // never restarted).
        let promise = match &self.target {
            Target::Managed { profile, .. } => profile.promise(),
            Target::Url { .. } => scenario::workload::Persistence::Always,
        };
        let run = |broker, instance, naming: &Naming| {
            let link = Link {
                seed,
                broker,
                tls: tls.clone(),
                latency,
                connect_timeout: Duration::from_secs(10),
            };
            let mut outcome = workload_run::guarded(v, seed, &faults, || {
                match TcpWorld::with_proxies(&link, &names, instance) {
                    Ok(world) => {
                        workload_run::run_on(world, w, v, seed, &faults, naming, true, promise)
                    }
                    Err(e) => Outcome::failed(v, seed, &faults, e),
                }
            });
            outcome.broker = Some(broker_name.clone());
            outcome
        };
        let credentials = Naming {
            username: self.username.clone(),
            password: self.password.clone(),
            ..Naming::default()
        };
        match placement {
            Placement::Skip(why) => Verdict::Skipped(why.clone()),
            Placement::Dedicated(settings) => {
                let Target::Managed { profile, .. } = &self.target else {
                    return Verdict::Skipped("no profile to start a broker from".into());
                };
                match Instance::start(profile, settings) {
                    Ok(mut instance) => {
                        let addr = instance.addr_for(v);
                        Verdict::Ran(Box::new(run(addr, Some(&mut instance), &credentials)))
                    }
                    Err(e) => {
                        let mut outcome = Outcome::failed(v, seed, &faults, e);
                        outcome.broker = Some(broker_name);
                        Verdict::Ran(Box::new(outcome))
                    }
                }
            }
            Placement::Shared | Placement::Exclusive(_) => {
                let tag = self.next_tag();
                let naming = Naming {
                    topic_prefix: format!("gauntlet/{tag}/"),
                    id_prefix: format!("{tag}-"),
                    ..credentials
                };
                let mut outcome = run(addr, None, &naming);
                names.push(PROBE.into());
                let left = isolate::Leftovers {
                    retained: if w.workload.retain {
                        w.workload.topics.iter().map(|t| naming.topic(t)).collect()
                    } else {
                        Vec::new()
                    },
                    client_ids: names.iter().map(|n| naming.client_id(n)).collect(),
                };
                if let Err(e) = self.clean_up(addr, tls.as_ref(), v, &left, &tag) {
                    outcome.notes.push(format!("clean-up failed: {e}"));
                    outcome.notes.extend(self.revive(v, &tag));
                }
                Verdict::Ran(Box::new(outcome))
            }
        }
    }
}
