//! SLOWLOG entries and LATENCY events.

use bytes::Bytes;
use std::collections::{HashMap, VecDeque};

/// One slow command.
#[derive(Debug, Clone)]
pub struct SlowEntry {
    /// Increasing id.
    pub id: u64,
    /// Unix time (s) it ran.
    pub time: i64,
    /// Duration in microseconds.
    pub micros: u64,
    /// Arguments (trimmed as Redis does: at most 32 args, each at most 128 bytes).
    pub args: Vec<Bytes>,
    /// Client `ip:port`.
    pub addr: String,
    /// Client name.
    pub name: Bytes,
}

/// One latency event's history.
#[derive(Debug, Clone, Default)]
pub struct LatencyEvent {
    /// Samples (unix s, ms), the last 160.
    pub samples: VecDeque<(i64, u64)>,
    /// The highest latency seen (ms).
    pub max: u64,
}

/// SLOWLOG and LATENCY storage.
#[derive(Debug, Default)]
pub struct SlowLog {
    /// Newest first.
    pub entries: VecDeque<SlowEntry>,
    /// Next entry id.
    pub next_id: u64,
    /// Latency events by name (`command`, `fast-command`, ...).
    pub latency: HashMap<String, LatencyEvent>,
}

impl SlowLog {
    /// Records a command that took `micros`, keeping at most `max_len` entries.
    pub fn push(&mut self, mut entry: SlowEntry, max_len: usize) {
        entry.id = self.next_id;
        self.next_id += 1;
        if entry.args.len() > 32 {
            let extra = entry.args.len() - 31;
            entry.args.truncate(31);
            entry
                .args
                .push(Bytes::from(format!("... ({extra} more arguments)")));
        }
        for a in entry.args.iter_mut() {
            if a.len() > 128 {
                let more = a.len() - 128;
                let mut v = a[..128].to_vec();
                v.extend_from_slice(format!("... ({more} more bytes)").as_bytes());
                *a = Bytes::from(v);
            }
        }
        self.entries.push_front(entry);
        self.entries.truncate(max_len);
    }

    /// Records a latency sample for `event` (ms) at unix time `now_s`.
    pub fn latency_sample(&mut self, event: &str, now_s: i64, ms: u64) {
        let ev = self.latency.entry(event.to_string()).or_default();
        match ev.samples.back_mut() {
            Some(last) if last.0 == now_s => last.1 = last.1.max(ms),
            _ => {
                ev.samples.push_back((now_s, ms));
                if ev.samples.len() > 160 {
                    ev.samples.pop_front();
                }
            }
        }
        ev.max = ev.max.max(ms);
    }
}
