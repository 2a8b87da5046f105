//! Failover: starting one, the leader election, choosing the replica, the state machine, and
//! the switch of our configuration to the promoted replica.

use super::events::Level;
use super::instance::{FailoverState, Flags, Instance};
use super::{
    Action, Sentinel, Who, SIMFAILURE_CRASH_AFTER_ELECTION, SIMFAILURE_CRASH_AFTER_PROMOTION,
};
use std::collections::BTreeMap;

/// Random delay added to failover start times so sentinels do not all start together.
const MAX_DESYNC: i64 = 1000;

impl Sentinel {
    /// Starts a failover when the master is ODOWN, none is running and the previous attempt
    /// is at least 2 × failover-timeout old.
    pub(crate) fn start_failover_if_needed(&mut self, now: i64, name: &str) -> bool {
        let m = &self.masters[name];
        if !m.inst.flags.has(Flags::O_DOWN) || m.inst.flags.has(Flags::FAILOVER_IN_PROGRESS) {
            return false;
        }
        if now - m.failover_start_time < m.failover_timeout * 2 {
            if m.failover_delay_logged != m.failover_start_time {
                let at = m.failover_start_time + m.failover_timeout * 2;
                let start = m.failover_start_time;
                self.log(
                    Level::Warning,
                    format!(
                        "Next failover delay: I will not start a failover before {}",
                        ctime(at)
                    ),
                );
                if let Some(m) = self.masters.get_mut(name) {
                    m.failover_delay_logged = start;
                }
            }
            return false;
        }
        self.start_failover(now, name);
        true
    }

    /// Begins a failover in a new epoch.
    pub(crate) fn start_failover(&mut self, now: i64, name: &str) {
        self.current_epoch += 1;
        let epoch = self.current_epoch;
        let jitter = self.random(MAX_DESYNC);
        if let Some(m) = self.masters.get_mut(name) {
            m.failover_state = FailoverState::WaitStart;
            m.failover_state_change_time = now;
            m.inst.flags.set(Flags::FAILOVER_IN_PROGRESS);
            m.failover_epoch = epoch;
            m.failover_start_time = now + jitter;
        }
        self.event_text(name, Level::Warning, "+new-epoch", epoch.to_string());
        self.event_master(name, Level::Warning, "+try-failover", "");
    }

    /// Our vote for the leader of master `name`'s failover in `epoch` (one vote per epoch):
    /// returns whom we voted for and in which epoch.
    pub(crate) fn vote_leader(
        &mut self,
        now: i64,
        name: &str,
        epoch: u64,
        runid: &str,
    ) -> (Option<String>, u64) {
        if epoch > self.current_epoch {
            self.current_epoch = epoch;
            self.out.push(Action::SaveConfig);
            self.event_text(name, Level::Warning, "+new-epoch", epoch.to_string());
        }
        let current = self.current_epoch;
        let jitter = self.random(MAX_DESYNC);
        let myid = self.myid.clone();
        let Some(m) = self.masters.get_mut(name) else {
            return (None, 0);
        };
        if m.leader_epoch < epoch && current <= epoch {
            m.leader = Some(runid.to_string());
            m.leader_epoch = current;
            if !runid.eq_ignore_ascii_case(&myid) {
                m.failover_start_time = now + jitter;
            }
            self.out.push(Action::SaveConfig);
            self.event_text(
                name,
                Level::Warning,
                "+vote-for-leader",
                format!("{runid} {current}"),
            );
        }
        let m = &self.masters[name];
        (m.leader.clone(), m.leader_epoch)
    }

    /// The leader for `epoch` if one has a majority of all known sentinels and the quorum,
    /// counting our own vote (for the most voted one, or for ourselves).
    ///
    /// Only votes cast in `epoch` count. Redis counts those of the current epoch, which may
    /// have moved past the failover's: a candidate still waiting in epoch 8 then counts votes
    /// given to it in epoch 9 (its requests carry the current epoch) and is elected in 8
    /// beside the sentinel that really won epoch 8 — two promotions in one epoch.
    fn get_leader(&mut self, now: i64, name: &str, epoch: u64) -> Option<String> {
        let m = &self.masters[name];
        let mut counters: BTreeMap<String, u64> = BTreeMap::new();
        for s in m.sentinels.values() {
            if let Some(l) = &s.leader {
                if s.leader_epoch == epoch {
                    *counters.entry(l.clone()).or_default() += 1;
                }
            }
        }
        let voters = m.sentinels.len() as u64 + 1;
        let quorum = m.quorum as u64;
        let mut winner: Option<String> = None;
        let mut max_votes = 0;
        for (l, v) in &counters {
            if *v > max_votes {
                max_votes = *v;
                winner = Some(l.clone());
            }
        }
        let candidate = winner.clone().unwrap_or_else(|| self.myid.clone());
        let (myvote, leader_epoch) = self.vote_leader(now, name, epoch, &candidate);
        if let (Some(v), true) = (myvote, leader_epoch == epoch) {
            let votes = counters.entry(v.clone()).or_default();
            *votes += 1;
            if *votes > max_votes {
                max_votes = *votes;
                winner = Some(v);
            }
        }
        let needed = voters / 2 + 1;
        winner.filter(|_| max_votes >= needed && max_votes >= quorum)
    }

    /// Drives a running failover one step.
    pub(crate) fn failover_state_machine(&mut self, now: i64, name: &str) {
        let m = &self.masters[name];
        if !m.inst.flags.has(Flags::FAILOVER_IN_PROGRESS) {
            return;
        }
        match m.failover_state {
            FailoverState::WaitStart => self.wait_start(now, name),
            FailoverState::SelectSlave => self.select_slave_step(now, name),
            FailoverState::SendSlaveofNoone => self.send_slaveof_noone(now, name),
            FailoverState::WaitPromotion => {
                if now - m.failover_state_change_time > m.failover_timeout {
                    self.event_master(name, Level::Warning, "-failover-abort-slave-timeout", "");
                    self.abort_failover(now, name);
                }
            }
            FailoverState::ReconfSlaves => self.reconf_next_slave(now, name),
            FailoverState::None | FailoverState::UpdateConfig => {}
        }
    }

    fn wait_start(&mut self, now: i64, name: &str) {
        let epoch = self.masters[name].failover_epoch;
        let leader = self.get_leader(now, name, epoch);
        let is_leader = leader.is_some_and(|l| l.eq_ignore_ascii_case(&self.myid));
        let m = &self.masters[name];
        if !is_leader && !m.inst.flags.has(Flags::FORCE_FAILOVER) {
            let election_timeout = self.timings.election_timeout.min(m.failover_timeout);
            if now - m.failover_start_time > election_timeout {
                self.event_master(name, Level::Warning, "-failover-abort-not-elected", "");
                self.abort_failover(now, name);
            }
            return;
        }
        self.event_master(name, Level::Warning, "+elected-leader", "");
        if self.simulate_failure & SIMFAILURE_CRASH_AFTER_ELECTION != 0 {
            self.out.push(Action::Log {
                level: Level::Warning,
                line: "Simulated failure: crash after election".into(),
            });
            self.crashed = true;
        }
        if let Some(m) = self.masters.get_mut(name) {
            m.failover_state = FailoverState::SelectSlave;
            m.failover_state_change_time = now;
        }
        self.event_master(name, Level::Warning, "+failover-state-select-slave", "");
    }

    fn select_slave_step(&mut self, now: i64, name: &str) {
        match self.select_slave(now, name) {
            None => {
                self.event_master(name, Level::Warning, "-failover-abort-no-good-slave", "");
                self.abort_failover(now, name);
            }
            Some(key) => {
                let who = Who::Replica(key.clone());
                self.event_on(name, &who, Level::Warning, "+selected-slave", "");
                if let Some(m) = self.masters.get_mut(name) {
                    if let Some(r) = m.replicas.get_mut(&key) {
                        r.flags.set(Flags::PROMOTED);
                    }
                    m.promoted = Some(key);
                    m.failover_state = FailoverState::SendSlaveofNoone;
                    m.failover_state_change_time = now;
                }
                self.event_on(
                    name,
                    &who,
                    Level::Notice,
                    "+failover-state-send-slaveof-noone",
                    "",
                );
            }
        }
    }

    /// The best replica to promote, as Redis ranks them: reachable, recently heard from, not
    /// priority 0, not cut off from the master for too long; then lower priority, higher
    /// offset, smaller run id.
    pub(crate) fn select_slave(&self, now: i64, name: &str) -> Option<String> {
        let m = &self.masters[name];
        let ping = self.timings.ping_period;
        let mut max_link_down = m.inst.down_after * 10;
        if m.inst.flags.has(Flags::S_DOWN) {
            max_link_down += now - m.inst.s_down_since;
        }
        let info_validity = if m.inst.flags.has(Flags::S_DOWN) {
            ping * 5
        } else {
            self.timings.info_period * 3
        };
        let mut candidates: Vec<&Instance> = m
            .replicas
            .values()
            .filter(|r| {
                !r.flags.has(Flags::S_DOWN | Flags::O_DOWN)
                    && !r.disconnected()
                    && now - r.links.last_avail_time <= ping * 5
                    && r.slave_priority != 0
                    && now - r.info_refresh <= info_validity
                    && r.master_link_down_time <= max_link_down
            })
            .collect();
        candidates.sort_by(|a, b| compare_replicas(a, b));
        candidates.first().map(|r| r.name.clone())
    }

    fn send_slaveof_noone(&mut self, now: i64, name: &str) {
        let m = &self.masters[name];
        let Some(key) = m.promoted.clone() else {
            self.abort_failover(now, name);
            return;
        };
        let who = Who::Replica(key);
        let disconnected = self.inst(name, &who).is_none_or(|r| r.disconnected());
        if disconnected {
            if now - m.failover_state_change_time > m.failover_timeout {
                self.event_master(name, Level::Warning, "-failover-abort-slave-timeout", "");
                self.abort_failover(now, name);
            }
            return;
        }
        if self.send_promotion(name, &who) {
            self.event_on(
                name,
                &who,
                Level::Notice,
                "+failover-state-wait-promotion",
                "",
            );
            if let Some(m) = self.masters.get_mut(name) {
                m.failover_state = FailoverState::WaitPromotion;
                m.failover_state_change_time = now;
            }
        }
    }

    /// Asks for the promotion: SLAVEOF NO ONE to the replica, or, for a coordinated failover
    /// with the primary still reachable, `FAILOVER TO <replica> TIMEOUT <failover-timeout>` to
    /// the primary, which pauses writes until the replica has them all and then hands over.
    fn send_promotion(&mut self, name: &str, who: &Who) -> bool {
        let m = &self.masters[name];
        let primary_up = !m.inst.disconnected() && !m.inst.flags.has(Flags::S_DOWN);
        if m.coordinated && primary_up {
            let Some(r) = self.inst(name, who) else {
                return false;
            };
            // The primary knows its replicas by IP.
            let host = self.ip_of(&r.host).unwrap_or_else(|| r.host.clone());
            let port = r.port;
            let timeout = m.failover_timeout.to_string();
            self.log(
                Level::Warning,
                format!("Coordinated failover of '{name}': asking the master to hand over to {host}:{port}"),
            );
            return self.send(
                name,
                &Who::Master,
                vec![
                    b"FAILOVER".to_vec(),
                    b"TO".to_vec(),
                    host.into_bytes(),
                    port.to_string().into_bytes(),
                    b"TIMEOUT".to_vec(),
                    timeout.into_bytes(),
                ],
                super::instance::Pending::Ignore,
            );
        }
        self.send_slaveof(name, who, None)
    }

    /// The promoted replica reports `role:master`: the new configuration takes this epoch and
    /// the other replicas are pointed at it.
    pub(crate) fn promotion_observed(&mut self, now: i64, name: &str, key: &str) {
        let who = Who::Replica(key.to_string());
        if let Some(m) = self.masters.get_mut(name) {
            m.config_epoch = m.failover_epoch;
            m.failover_state = FailoverState::ReconfSlaves;
            m.failover_state_change_time = now;
        }
        self.out.push(Action::SaveConfig);
        self.event_on(name, &who, Level::Warning, "+promoted-slave", "");
        if self.simulate_failure & SIMFAILURE_CRASH_AFTER_PROMOTION != 0 {
            self.out.push(Action::Log {
                level: Level::Warning,
                line: "Simulated failure: crash after promotion".into(),
            });
            self.crashed = true;
        }
        self.event_master(name, Level::Warning, "+failover-state-reconf-slaves", "");
        let m = &self.masters[name];
        if let (Some(path), Some(p)) = (m.client_reconfig_script.clone(), m.replicas.get(key)) {
            self.out.push(Action::RunScript {
                path,
                args: vec![
                    name.to_string(),
                    "leader".into(),
                    "start".into(),
                    self.announce_host(&m.inst.host),
                    m.inst.port.to_string(),
                    self.announce_host(&p.host),
                    p.port.to_string(),
                ],
            });
        }
        self.force_hello(name);
    }

    fn reconf_next_slave(&mut self, now: i64, name: &str) {
        let m = &self.masters[name];
        let Some(target) = m
            .promoted
            .as_ref()
            .and_then(|k| m.replicas.get(k))
            .map(|p| (p.host.clone(), p.port))
        else {
            return;
        };
        let parallel = m.parallel_syncs.max(1) as usize;
        let mut in_progress = m
            .replicas
            .values()
            .filter(|r| r.flags.has(Flags::RECONF_SENT | Flags::RECONF_INPROG))
            .count();
        let keys: Vec<String> = m.replicas.keys().cloned().collect();
        for key in keys {
            if in_progress >= parallel {
                break;
            }
            let who = Who::Replica(key.clone());
            let Some(r) = self.inst(name, &who) else {
                continue;
            };
            if r.flags.has(Flags::PROMOTED | Flags::RECONF_DONE) {
                continue;
            }
            if r.flags.has(Flags::RECONF_SENT)
                && now - r.slave_reconf_sent_time > self.timings.slave_reconf_timeout
            {
                self.event_on(name, &who, Level::Notice, "-slave-reconf-sent-timeout", "");
                if let Some(r) = self.inst_mut(name, &who) {
                    r.flags.clear(Flags::RECONF_SENT);
                    r.flags.set(Flags::RECONF_DONE);
                }
            }
            let Some(r) = self.inst(name, &who) else {
                continue;
            };
            if r.flags.has(Flags::RECONF_SENT | Flags::RECONF_INPROG) || r.disconnected() {
                continue;
            }
            if self.send_slaveof(name, &who, Some((&target.0, target.1))) {
                if let Some(r) = self.inst_mut(name, &who) {
                    r.flags.set(Flags::RECONF_SENT);
                    r.slave_reconf_sent_time = now;
                }
                self.event_on(name, &who, Level::Notice, "+slave-reconf-sent", "");
                in_progress += 1;
            }
        }
        self.detect_failover_end(now, name);
    }

    fn detect_failover_end(&mut self, now: i64, name: &str) {
        let m = &self.masters[name];
        let Some(promoted) = m.promoted.as_ref().and_then(|k| m.replicas.get(k)) else {
            return;
        };
        if promoted.flags.has(Flags::S_DOWN) {
            return;
        }
        let target = (promoted.host.clone(), promoted.port);
        let mut not_reconfigured = m
            .replicas
            .values()
            .filter(|r| {
                !r.flags.has(Flags::PROMOTED | Flags::RECONF_DONE) && !r.flags.has(Flags::S_DOWN)
            })
            .count();
        let timeout = now - m.failover_state_change_time > m.failover_timeout;
        if timeout {
            not_reconfigured = 0;
            self.event_master(name, Level::Warning, "+failover-end-for-timeout", "");
        }
        if not_reconfigured == 0 {
            self.event_master(name, Level::Warning, "+failover-end", "");
            if let Some(m) = self.masters.get_mut(name) {
                m.failover_state = FailoverState::UpdateConfig;
                m.failover_state_change_time = now;
            }
        }
        if timeout {
            let keys: Vec<String> = self.masters[name].replicas.keys().cloned().collect();
            for key in keys {
                let who = Who::Replica(key);
                let skip = self.inst(name, &who).is_none_or(|r| {
                    r.flags
                        .has(Flags::PROMOTED | Flags::RECONF_DONE | Flags::RECONF_SENT)
                        || r.disconnected()
                });
                if skip {
                    continue;
                }
                if self.send_slaveof(name, &who, Some((&target.0, target.1))) {
                    self.event_on(name, &who, Level::Notice, "+slave-reconf-sent-be", "");
                    if let Some(r) = self.inst_mut(name, &who) {
                        r.flags.set(Flags::RECONF_SENT);
                    }
                }
            }
        }
    }

    /// Gives up a failover: before the promotion was observed, or (superseded by a newer
    /// configuration) while the replicas are being reconfigured.
    pub(crate) fn abort_failover(&mut self, now: i64, name: &str) {
        if let Some(m) = self.masters.get_mut(name) {
            for r in m.replicas.values_mut() {
                r.flags
                    .clear(Flags::RECONF_SENT | Flags::RECONF_INPROG | Flags::RECONF_DONE);
            }
            m.inst
                .flags
                .clear(Flags::FAILOVER_IN_PROGRESS | Flags::FORCE_FAILOVER);
            m.failover_state = FailoverState::None;
            m.failover_state_change_time = now;
            m.coordinated = false;
            if let Some(k) = m.promoted.take() {
                if let Some(r) = m.replicas.get_mut(&k) {
                    r.flags.clear(Flags::PROMOTED);
                }
            }
        }
    }

    /// The failover ended: our configuration now names the promoted replica as the master.
    pub(crate) fn switch_to_promoted(&mut self, now: i64, name: &str) {
        let m = &self.masters[name];
        let (host, port) = match m.promoted.as_ref().and_then(|k| m.replicas.get(k)) {
            Some(p) => (p.host.clone(), p.port),
            None => (m.inst.host.clone(), m.inst.port),
        };
        let (old_host, old_port) = (self.announce_host(&m.inst.host), m.inst.port);
        self.event_text(
            name,
            Level::Warning,
            "+switch-master",
            format!(
                "{name} {old_host} {old_port} {} {port}",
                self.announce_host(&host)
            ),
        );
        self.reset_master_and_change_address(now, name, &host, port);
    }
}

/// Replica ranking for promotion: lower priority, then higher offset, then smaller run id
/// (case-insensitive; unknown run ids last).
pub fn compare_replicas(a: &Instance, b: &Instance) -> std::cmp::Ordering {
    a.slave_priority
        .cmp(&b.slave_priority)
        .then(b.slave_repl_offset.cmp(&a.slave_repl_offset))
        .then_with(|| match (&a.runid, &b.runid) {
            (None, None) => std::cmp::Ordering::Equal,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some(_), None) => std::cmp::Ordering::Less,
            (Some(x), Some(y)) => x.to_ascii_lowercase().cmp(&y.to_ascii_lowercase()),
        })
}

/// A unix time in ms as C's `ctime` prints it, without the newline.
pub fn ctime(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, mo, d) = civil_from_days(days);
    let wd = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][days.rem_euclid(7) as usize];
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{wd} {} {:2} {:02}:{:02}:{:02} {y}",
        months[(mo - 1) as usize],
        d,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::instance::Kind;
    use crate::core::SentinelConfig;

    const T: i64 = 1_000_000;

    /// Found by the deployment simulation (tests/sim.rs, seed 2435 before the fix): we
    /// started a failover in epoch 8 and voted for ourselves; another sentinel won epoch 8;
    /// epoch 9 began and two sentinels, asked with our current epoch 9, voted for us. Those
    /// epoch-9 votes must not elect us in epoch 8.
    #[test]
    fn votes_of_a_later_epoch_do_not_elect_in_an_earlier_one() {
        let mut c = SentinelConfig::default();
        let args: Vec<String> = "monitor mymaster 127.0.0.1 6379 2"
            .split(' ')
            .map(str::to_string)
            .collect();
        c.apply(&args).expect("config");
        let mut s = Sentinel::new(c, 26379, 1, T);
        let me = s.myid.clone();
        s.current_epoch = 9;
        let m = s.masters.get_mut("mymaster").expect("master");
        m.leader = Some(me.clone());
        m.leader_epoch = 8;
        let winner = "w".repeat(40);
        for (i, (leader, epoch)) in [(&me, 9), (&me, 9), (&winner, 8), (&winner, 8)]
            .into_iter()
            .enumerate()
        {
            let id = format!("{i:040}");
            let mut x = Instance::new(
                Kind::Sentinel,
                id.clone(),
                "127.0.0.1",
                26380 + i as u16,
                1000,
                T,
            );
            x.leader = Some(leader.clone());
            x.leader_epoch = epoch;
            m.sentinels.insert(id, x);
        }
        assert_eq!(s.get_leader(T, "mymaster", 8), None);
        // In epoch 9 those two votes and ours would make a majority of five.
        let m = s.masters.get_mut("mymaster").expect("master");
        m.leader_epoch = 0;
        assert_eq!(s.get_leader(T, "mymaster", 9), Some(me));
    }
}
