//! Where sessions and retained messages live across a restart: records, the
//! changes the broker core emits, and two stores — one in memory (it outlives
//! a simulated crash when the simulation keeps it) and one on disk (redb).

use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

/// A message as stored: an MQTT 5.0 PUBLISH packet (topic, payload, QoS,
/// retain and properties in one well-defined encoding) plus what the packet
/// does not carry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRecord {
    pub publish: Vec<u8>,
    pub publisher: Option<String>,
    pub received_at: u64,
    pub expires_at: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionRecord {
    pub filter: String,
    /// The SUBSCRIBE options byte as granted.
    pub options: u8,
    pub id: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    pub message: MessageRecord,
    pub qos: u8,
    pub retain: bool,
    pub subscription_ids: Vec<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutFlightRecord {
    pub packet_id: u16,
    pub delivery: DeliveryRecord,
    /// PUBREL sent, waiting for PUBCOMP.
    pub released: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WillRecord {
    pub message: MessageRecord,
    pub delay: u32,
    pub publish_at: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    pub client_id: String,
    /// Protocol level: 4 (3.1.1) or 5.
    pub level: u8,
    pub expiry_interval: u32,
    /// None while connected.
    pub disconnected_at: Option<u64>,
    pub subscriptions: Vec<SubscriptionRecord>,
    pub outflight: Vec<OutFlightRecord>,
    pub queue: Vec<DeliveryRecord>,
    pub inbound_qos2: Vec<u16>,
    pub next_packet_id: u16,
    pub will: Option<WillRecord>,
}

/// One change to persist: a session or retained message written (`Some`) or
/// removed (`None`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    Session {
        client_id: String,
        record: Option<SessionRecord>,
    },
    Retained {
        topic: String,
        message: Option<MessageRecord>,
    },
}

/// Everything a store holds, in key order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub sessions: Vec<SessionRecord>,
    pub retained: Vec<MessageRecord>,
}

pub trait Store: Send {
    /// Applies changes atomically, in order.
    fn apply(&mut self, changes: &[Change]) -> io::Result<()>;
    fn load(&self) -> io::Result<Snapshot>;
}

/// A store in memory. Clones share the same contents, so a copy kept outside
/// a crashed broker is what the restarted one loads.
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    inner: Arc<Mutex<MemoryInner>>,
}

#[derive(Debug, Default)]
struct MemoryInner {
    sessions: BTreeMap<String, SessionRecord>,
    retained: BTreeMap<String, MessageRecord>,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// Forgets everything (a restart that lost its disk).
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.sessions.clear();
        inner.retained.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryInner> {
        // A panic elsewhere while holding the lock leaves consistent data:
        // every write below is a single map operation.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Store for MemoryStore {
    fn apply(&mut self, changes: &[Change]) -> io::Result<()> {
        let mut inner = self.lock();
        for change in changes {
            match change {
                Change::Session { client_id, record } => match record {
                    Some(r) => {
                        inner.sessions.insert(client_id.clone(), r.clone());
                    }
                    None => {
                        inner.sessions.remove(client_id);
                    }
                },
                Change::Retained { topic, message } => match message {
                    Some(m) => {
                        inner.retained.insert(topic.clone(), m.clone());
                    }
                    None => {
                        inner.retained.remove(topic);
                    }
                },
            }
        }
        Ok(())
    }

    fn load(&self) -> io::Result<Snapshot> {
        let inner = self.lock();
        Ok(Snapshot {
            sessions: inner.sessions.values().cloned().collect(),
            retained: inner.retained.values().cloned().collect(),
        })
    }
}

const SESSIONS: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("sessions");
const RETAINED: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("retained");

/// A store on disk: one redb database file in a directory. Each `apply` is
/// one durable transaction.
pub struct RedbStore {
    db: redb::Database,
}

fn io_err(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(e.to_string())
}

impl RedbStore {
    pub fn open(dir: &Path) -> io::Result<RedbStore> {
        std::fs::create_dir_all(dir)?;
        let db = redb::Database::create(dir.join("broker.redb")).map_err(io_err)?;
        let tx = db.begin_write().map_err(io_err)?;
        tx.open_table(SESSIONS).map_err(io_err)?;
        tx.open_table(RETAINED).map_err(io_err)?;
        tx.commit().map_err(io_err)?;
        Ok(RedbStore { db })
    }
}

impl Store for RedbStore {
    fn apply(&mut self, changes: &[Change]) -> io::Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        let tx = self.db.begin_write().map_err(io_err)?;
        {
            let mut sessions = tx.open_table(SESSIONS).map_err(io_err)?;
            let mut retained = tx.open_table(RETAINED).map_err(io_err)?;
            for change in changes {
                match change {
                    Change::Session { client_id, record } => match record {
                        Some(r) => {
                            let bytes = postcard::to_allocvec(r).map_err(io_err)?;
                            sessions
                                .insert(client_id.as_str(), bytes.as_slice())
                                .map_err(io_err)?;
                        }
                        None => {
                            sessions.remove(client_id.as_str()).map_err(io_err)?;
                        }
                    },
                    Change::Retained { topic, message } => match message {
                        Some(m) => {
                            let bytes = postcard::to_allocvec(m).map_err(io_err)?;
                            retained
                                .insert(topic.as_str(), bytes.as_slice())
                                .map_err(io_err)?;
                        }
                        None => {
                            retained.remove(topic.as_str()).map_err(io_err)?;
                        }
                    },
                }
            }
        }
        tx.commit().map_err(io_err)
    }

    fn load(&self) -> io::Result<Snapshot> {
        use redb::ReadableTable;
        let tx = self.db.begin_read().map_err(io_err)?;
        let mut snapshot = Snapshot::default();
        let sessions = tx.open_table(SESSIONS).map_err(io_err)?;
        for entry in sessions.iter().map_err(io_err)? {
            let (key, value) = entry.map_err(io_err)?;
            let record: SessionRecord = postcard::from_bytes(value.value()).map_err(|e| {
                io_err(format!(
                    "stored session {:?} is unreadable: {e}",
                    key.value()
                ))
            })?;
            snapshot.sessions.push(record);
        }
        let retained = tx.open_table(RETAINED).map_err(io_err)?;
        for entry in retained.iter().map_err(io_err)? {
            let (key, value) = entry.map_err(io_err)?;
            let record: MessageRecord = postcard::from_bytes(value.value()).map_err(|e| {
                io_err(format!(
                    "stored retained message {:?} is unreadable: {e}",
                    key.value()
                ))
            })?;
            snapshot.retained.push(record);
        }
        Ok(snapshot)
    }
}
