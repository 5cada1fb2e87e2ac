//! Packet loss as TCP lives it. turmoil's own `fail_rate` stalls TCP streams
//! forever (its TCP never retransmits), so loss is modelled one level up: a
//! lost segment holds the link for a retransmission timeout, after which
//! everything held is delivered; losses in a row back off exponentially, and
//! a burst longer than TCP would bear kills the link (silently, half-open).

/// How often a segment gets a chance to be lost.
pub const SEGMENT_INTERVAL_MS: u64 = 10;
/// First retransmission timeout (Linux's minimum RTO).
pub const INITIAL_RTO_MS: u64 = 200;
/// Consecutive losses after which the connection is as good as dead.
pub const MAX_RETRANSMISSIONS: u32 = 6;

/// What to do with the link now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkAction {
    Nothing,
    /// A segment was lost: hold the link.
    Hold,
    /// The retransmission got through: release what was held.
    Release,
    /// Too many losses in a row: the link is dead until healed.
    Kill,
}

/// A small deterministic generator (SplitMix64): the loss pattern is a
/// function of the seed alone.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The seed of one client's link: a function of the run's seed and the
/// client's name alone, so adding a client changes no other link.
pub fn link_seed(seed: u64, client: &str) -> u64 {
    client.bytes().fold(seed ^ 0xA076_1D64_78BD_642F, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3)
    })
}

/// The lossy links of one run, by client name, each seeded from the run's
/// seed and the client's name.
#[derive(Clone, Debug, Default)]
pub struct Links {
    seed: u64,
    losses: std::collections::BTreeMap<String, Loss>,
}

impl Links {
    pub fn new(seed: u64) -> Links {
        Links {
            seed,
            losses: Default::default(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.losses.is_empty()
    }

    /// Sets `client`'s loss rate (0 stops it). True if the link it replaces
    /// was alive, so whatever it held must be released.
    pub fn set(&mut self, client: &str, rate: f64) -> bool {
        let release = self.losses.remove(client).is_some_and(|old| !old.is_dead());
        if rate > 0.0 {
            let seed = link_seed(self.seed, client);
            self.losses.insert(client.to_owned(), Loss::new(rate, seed));
        }
        release
    }

    /// Forgets `client`'s link if loss killed it, and says at which rate it
    /// lost: a healed link starts afresh at that rate.
    pub fn take_dead(&mut self, client: &str) -> Option<f64> {
        let rate = self.losses.get(client).filter(|l| l.is_dead())?.rate();
        self.losses.remove(client);
        Some(rate)
    }

    /// Advances every link to `now_ms`: what each link must do, and what
    /// the trace says of it.
    pub fn tick(&mut self, now_ms: u64) -> Vec<(String, LinkAction, String)> {
        let mut out = Vec::new();
        for (client, l) in &mut self.losses {
            let action = l.tick(now_ms);
            let what = match action {
                LinkAction::Nothing => continue,
                LinkAction::Hold => format!("segment lost on {client}'s link: retransmitting"),
                LinkAction::Release => format!("{client}'s link recovered"),
                LinkAction::Kill => format!(
                    "{client}'s link is dead after {} losses in a row (half-open until healed)",
                    MAX_RETRANSMISSIONS + 1
                ),
            };
            out.push((client.clone(), action, what));
        }
        out
    }
}

#[derive(Clone, Debug)]
pub struct Loss {
    rate: f64,
    rng: SplitMix64,
    next_segment_at: u64,
    /// While holding: when the retransmission happens, and how many losses
    /// in a row so far.
    holding: Option<(u64, u32)>,
    dead: bool,
}

impl Loss {
    /// `rate` in [0, 1]: the chance each segment is lost.
    pub fn new(rate: f64, seed: u64) -> Loss {
        Loss {
            rate: rate.clamp(0.0, 1.0),
            rng: SplitMix64::new(seed),
            next_segment_at: 0,
            holding: None,
            dead: false,
        }
    }

    pub fn rate(&self) -> f64 {
        self.rate
    }

    pub fn is_dead(&self) -> bool {
        self.dead
    }

    /// Advances to `now_ms`.
    pub fn tick(&mut self, now_ms: u64) -> LinkAction {
        if self.dead || self.rate == 0.0 {
            return LinkAction::Nothing;
        }
        match self.holding {
            Some((retransmit_at, losses)) if now_ms >= retransmit_at => {
                if self.rng.next_f64() < self.rate {
                    if losses >= MAX_RETRANSMISSIONS {
                        self.dead = true;
                        self.holding = None;
                        return LinkAction::Kill;
                    }
                    let rto = INITIAL_RTO_MS << losses;
                    self.holding = Some((now_ms + rto, losses + 1));
                    LinkAction::Nothing
                } else {
                    self.holding = None;
                    self.next_segment_at = now_ms + SEGMENT_INTERVAL_MS;
                    LinkAction::Release
                }
            }
            Some(_) => LinkAction::Nothing,
            None if now_ms >= self.next_segment_at => {
                self.next_segment_at = now_ms + SEGMENT_INTERVAL_MS;
                if self.rng.next_f64() < self.rate {
                    self.holding = Some((now_ms + INITIAL_RTO_MS, 1));
                    LinkAction::Hold
                } else {
                    LinkAction::Nothing
                }
            }
            None => LinkAction::Nothing,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actions(rate: f64, seed: u64, until: u64) -> Vec<(u64, LinkAction)> {
        let mut l = Loss::new(rate, seed);
        (0..until)
            .map(|t| (t, l.tick(t)))
            .filter(|(_, a)| *a != LinkAction::Nothing)
            .collect()
    }

    #[test]
    fn no_loss_does_nothing() {
        assert!(actions(0.0, 1, 100_000).is_empty());
    }

    #[test]
    fn every_hold_is_released_or_kills() {
        let a = actions(0.05, 9, 600_000);
        assert!(a.iter().any(|(_, x)| *x == LinkAction::Hold));
        let mut held = false;
        for (t, x) in &a {
            match x {
                LinkAction::Hold => {
                    assert!(!held, "hold while held at {t}");
                    held = true;
                }
                LinkAction::Release | LinkAction::Kill => {
                    assert!(held, "release without hold at {t}");
                    held = false;
                }
                LinkAction::Nothing => {}
            }
        }
    }

    #[test]
    fn total_loss_kills_the_link_after_backoff() {
        let a = actions(1.0, 3, 100_000);
        assert_eq!(a[0], (0, LinkAction::Hold));
        // 200 + 400 + ... + 6400 ms of retransmissions, then dead.
        let backoff: u64 = (0..MAX_RETRANSMISSIONS).map(|k| INITIAL_RTO_MS << k).sum();
        assert_eq!(a[1], (backoff, LinkAction::Kill));
        assert_eq!(a.len(), 2);
    }

    #[test]
    fn same_seed_same_losses() {
        assert_eq!(actions(0.1, 5, 50_000), actions(0.1, 5, 50_000));
        assert_ne!(actions(0.1, 5, 50_000), actions(0.1, 6, 50_000));
    }
}
