//! Redis Streams, between hosts: a producer host's daemon forwards each batch as one
//! stream entry (`asyncbatch:{job}`), and consumers on any host read them through a
//! consumer group, acknowledge what they delivered and delete it, and claim what a
//! crashed consumer left pending. Synchronous (the `redis` crate, no async runtime),
//! every call bounded by socket timeouts.
//!
//! An entry's fields: `v` (format, 1), `id` (the batch id), `job` (identifier),
//! `host`, `count` (items) and `items` (the MessagePack array of the items, as in a
//! failure file).

use std::time::Duration;

use redis::streams::{StreamAutoClaimOptions, StreamAutoClaimReply, StreamId, StreamReadOptions};
use redis::{Commands, Value};
use thiserror::Error;

use crate::batch::Batch;
use crate::batch_id::BatchId;
use crate::msgpack::Reader;

/// An entry as Redis gives it.
pub type StreamIdOf = StreamId;

/// The stream of a job: `{prefix}{identifier}` (the identifier's bytes as they are).
pub fn stream_key(prefix: &str, job: &[u8]) -> Vec<u8> {
    let mut k = prefix.as_bytes().to_vec();
    k.extend_from_slice(job);
    k
}

/// The hash of a job's counters shared by every host (`forwarded`, `claims`,
/// `deadLetters`).
pub fn stats_key(prefix: &str, job: &[u8]) -> Vec<u8> {
    let mut k = prefix.as_bytes().to_vec();
    k.extend_from_slice(b"stats:");
    k.extend_from_slice(job);
    k
}

/// The stream key prefix unless one is given.
pub const DEFAULT_PREFIX: &str = "asyncbatch:";
/// The consumer group unless one is given.
pub const DEFAULT_GROUP: &str = "asyncbatch";

/// Why a Redis call failed.
#[derive(Debug, Error)]
pub enum RedisFailure {
    /// Redis cannot be reached, or the connection broke (it is made again).
    #[error("redis at {addr} unreachable: {why}")]
    Unreachable {
        /// `host:port`.
        addr: String,
        /// What the socket said.
        why: String,
    },
    /// Redis is out of memory (`maxmemory` with `noeviction`): back-pressure.
    #[error("redis at {addr} is out of memory (maxmemory): {why}")]
    OutOfMemory {
        /// `host:port`.
        addr: String,
        /// Redis's message.
        why: String,
    },
    /// Any other answer that is an error.
    #[error("redis at {addr}: {why}")]
    Server {
        /// `host:port`.
        addr: String,
        /// Redis's message.
        why: String,
    },
    /// The URL is not one.
    #[error("invalid redis URL '{0}': it must be redis://host[:port][/db]")]
    Url(String),
}

/// One entry read back.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The stream entry id (`1700000000000-0`).
    pub entry: String,
    /// The batch id.
    pub batch: BatchId,
    /// The job identifier.
    pub job: Vec<u8>,
    /// The host that forwarded it.
    pub host: String,
    /// The items.
    pub items: Batch,
}

/// Why an entry cannot be read (it is dead-lettered as it is).
#[derive(Debug, Clone, PartialEq, Error)]
#[error("not an asyncbatch stream entry: {0}")]
pub struct BadEntry(pub &'static str);

/// A connection to Redis, made again after any socket error.
pub struct Streams {
    client: redis::Client,
    addr: String,
    con: Option<redis::Connection>,
    timeout: Duration,
}

impl std::fmt::Debug for Streams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Streams").field("addr", &self.addr).finish()
    }
}

impl Streams {
    /// A client for `url` (`redis://host[:port][/db]`, user and password allowed);
    /// it connects at the first call. `timeout` bounds connecting and each reply.
    pub fn open(url: &str, timeout: Duration) -> Result<Streams, RedisFailure> {
        let bad = || RedisFailure::Url(crate::http::config::redacted_url(url));
        if !url.starts_with("redis://") {
            return Err(bad());
        }
        use redis::IntoConnectionInfo;
        let info = url.into_connection_info().map_err(|_| bad())?;
        let addr = info.addr().to_string();
        let info = info.set_tcp_settings(redis::io::tcp::TcpSettings::default().set_nodelay(true));
        let client = redis::Client::open(info).map_err(|_| bad())?;
        Ok(Streams { client, addr, con: None, timeout })
    }

    /// `host:port`, for messages.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    fn failure(&self, e: &redis::RedisError) -> RedisFailure {
        let why = e.to_string();
        let addr = self.addr.clone();
        if e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal() || e.is_timeout() {
            RedisFailure::Unreachable { addr, why }
        } else if e.code() == Some("OOM") {
            RedisFailure::OutOfMemory { addr, why }
        } else {
            RedisFailure::Server { addr, why }
        }
    }

    /// Runs `f` on the connection (made now if there is none, bounded by `read`
    /// for replies); a socket error drops it, so the next call connects again.
    fn with<T>(
        &mut self,
        read: Duration,
        f: impl FnOnce(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> Result<T, RedisFailure> {
        if self.con.is_none() {
            let con = self.client.get_connection_with_timeout(self.timeout).map_err(|e| self.failure(&e))?;
            con.set_write_timeout(Some(self.timeout)).map_err(|e| self.failure(&e))?;
            self.con = Some(con);
        }
        let con = self.con.as_mut().expect("connected");
        let result = con.set_read_timeout(Some(read)).and_then(|()| f(con));
        result.map_err(|e| {
            let failure = self.failure(&e);
            if matches!(failure, RedisFailure::Unreachable { .. }) {
                self.con = None;
            }
            failure
        })
    }

    /// Appends one batch to its job's stream; returns the entry id.
    pub fn add(
        &mut self,
        prefix: &str,
        job: &[u8],
        id: &BatchId,
        host: &str,
        items: &Batch,
    ) -> Result<String, RedisFailure> {
        let key = stream_key(prefix, job);
        let mut payload = Vec::with_capacity(items.byte_len() + 8);
        items.write_array(&mut payload);
        let count = items.len().to_string();
        let text = id.text();
        let fields: [(&str, &[u8]); 6] = [
            ("v", b"1"),
            ("id", text.as_bytes()),
            ("job", job),
            ("host", host.as_bytes()),
            ("count", count.as_bytes()),
            ("items", &payload),
        ];
        let stats = stats_key(prefix, job);
        let timeout = self.timeout;
        // One round trip: the entry, then the counter, whose failure is ignored (it
        // is for `status`; a batch is not added again because it failed).
        let replies: Vec<redis::RedisResult<Value>> = self.with(timeout, |c| {
            redis::pipe().ignore_errors().xadd(&key, "*", &fields).hincr(&stats, "forwarded", 1).query(c)
        })?;
        match replies.into_iter().next() {
            Some(Ok(v)) => Ok(redis::from_redis_value::<String>(v).unwrap_or_default()),
            Some(Err(e)) => Err(self.failure(&e)),
            None => Err(RedisFailure::Server { addr: self.addr.clone(), why: "no reply to XADD".into() }),
        }
    }

    /// Adds `n` to a job's shared counter `field`.
    pub fn count(&mut self, prefix: &str, job: &[u8], field: &str, n: u64) -> Result<(), RedisFailure> {
        let key = stats_key(prefix, job);
        let timeout = self.timeout;
        self.with(timeout, |c| c.hincr::<_, _, _, i64>(&key, field, n as i64)).map(|_| ())
    }

    /// Makes the consumer group of a job's stream (and the stream) unless they are
    /// there; a new group starts at the stream's first entry, so what was forwarded
    /// before any consumer ran is consumed too.
    pub fn ensure_group(&mut self, prefix: &str, job: &[u8], group: &str) -> Result<(), RedisFailure> {
        let key = stream_key(prefix, job);
        let timeout = self.timeout;
        match self.with(timeout, |c| c.xgroup_create_mkstream::<_, _, _, ()>(&key, group, "0")) {
            Err(RedisFailure::Server { why, .. }) if why.contains("BUSYGROUP") => Ok(()),
            // At maxmemory a group cannot be made, but one that is there will do.
            Err(e @ RedisFailure::OutOfMemory { .. }) => {
                let groups: Result<redis::streams::StreamInfoGroupsReply, _> =
                    self.with(timeout, |c| c.xinfo_groups(&key));
                match groups {
                    Ok(g) if g.groups.iter().any(|g| g.name == group) => Ok(()),
                    _ => Err(e),
                }
            }
            other => other,
        }
    }

    /// New entries of the jobs' streams for `consumer`, waiting up to `block` for one.
    pub fn read(
        &mut self,
        prefix: &str,
        jobs: &[Vec<u8>],
        group: &str,
        consumer: &str,
        count: usize,
        block: Duration,
    ) -> Result<Vec<(Vec<u8>, StreamId)>, RedisFailure> {
        let keys: Vec<Vec<u8>> = jobs.iter().map(|j| stream_key(prefix, j)).collect();
        let ids: Vec<&str> = keys.iter().map(|_| ">").collect();
        let opts = StreamReadOptions::default()
            .group(group, consumer)
            .count(count)
            .block(block.as_millis() as usize);
        // The socket waits longer than the server blocks: a reply read late is lost.
        let read = block + self.timeout;
        let reply: Value = self.with(read, |c| c.xread_options(&keys, &ids, &opts))?;
        Ok(read_reply(reply, prefix.len()))
    }

    /// Takes over up to `count` entries of a job's stream pending longer than `idle`
    /// for other consumers (crashed, or killed); also returns the ids of pending
    /// entries whose data is gone.
    pub fn claim(
        &mut self,
        prefix: &str,
        job: &[u8],
        group: &str,
        consumer: &str,
        idle: Duration,
        count: usize,
    ) -> Result<(Vec<StreamId>, Vec<String>), RedisFailure> {
        let key = stream_key(prefix, job);
        let timeout = self.timeout;
        let opts = StreamAutoClaimOptions::default().count(count);
        let reply: StreamAutoClaimReply = self.with(timeout, |c| {
            c.xautoclaim_options(&key, group, consumer, idle.as_millis() as u64, "0-0", opts)
        })?;
        Ok((reply.claimed, reply.deleted_ids))
    }

    /// How many times each of `entries` was delivered (read or claimed).
    pub fn deliveries(
        &mut self,
        prefix: &str,
        job: &[u8],
        group: &str,
        entries: &[String],
    ) -> Result<Vec<usize>, RedisFailure> {
        let key = stream_key(prefix, job);
        let timeout = self.timeout;
        let mut out = Vec::with_capacity(entries.len());
        for e in entries {
            let reply: redis::streams::StreamPendingCountReply =
                self.with(timeout, |c| c.xpending_count(&key, group, e, e, 1))?;
            out.push(reply.ids.first().map_or(0, |p| p.times_delivered));
        }
        Ok(out)
    }

    /// Deletes entries, then acknowledges them: what is delivered leaves the stream.
    /// Not a MULTI (Redis at maxmemory refuses a transaction, and deleting is what
    /// frees it); a crash in between leaves a pending id without its entry, which the
    /// next claim acknowledges.
    pub fn done(
        &mut self,
        prefix: &str,
        job: &[u8],
        group: &str,
        entries: &[String],
    ) -> Result<(), RedisFailure> {
        if entries.is_empty() {
            return Ok(());
        }
        let key = stream_key(prefix, job);
        let timeout = self.timeout;
        self.with(timeout, |c| {
            redis::pipe().xdel(&key, entries).ignore().xack(&key, group, entries).ignore().query::<()>(c)
        })
    }

    /// Acknowledges entries, leaving them in the stream.
    pub fn ack(
        &mut self,
        prefix: &str,
        job: &[u8],
        group: &str,
        entries: &[String],
    ) -> Result<(), RedisFailure> {
        let key = stream_key(prefix, job);
        let timeout = self.timeout;
        self.with(timeout, |c| c.xack::<_, _, _, ()>(&key, group, entries))
    }

    /// The jobs that have a stream (`{prefix}{job}` keys of type stream).
    pub fn jobs(&mut self, prefix: &str) -> Result<Vec<Vec<u8>>, RedisFailure> {
        let pattern = format!("{prefix}*");
        let timeout = self.timeout;
        let mut cursor: u64 = 0;
        let mut jobs = Vec::new();
        loop {
            let (next, keys): (u64, Vec<Vec<u8>>) = self.with(timeout, |c| {
                redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(&pattern)
                    .arg("COUNT")
                    .arg(1000)
                    .arg("TYPE")
                    .arg("stream")
                    .query(c)
            })?;
            jobs.extend(keys.into_iter().filter_map(|k| k.get(prefix.len()..).map(<[u8]>::to_vec)));
            if next == 0 {
                break;
            }
            cursor = next;
        }
        jobs.sort();
        Ok(jobs)
    }

    /// What `status` shows of a job's stream.
    pub fn stream_state(
        &mut self,
        prefix: &str,
        job: &[u8],
        group: &str,
    ) -> Result<StreamState, RedisFailure> {
        let key = stream_key(prefix, job);
        let stats = stats_key(prefix, job);
        let timeout = self.timeout;
        let length: usize = self.with(timeout, |c| c.xlen(&key))?;
        let mut state = StreamState { length, ..StreamState::default() };
        let groups: Result<redis::streams::StreamInfoGroupsReply, _> =
            self.with(timeout, |c| c.xinfo_groups(&key));
        if let Ok(groups) = groups {
            if let Some(g) = groups.groups.iter().find(|g| g.name == group) {
                state.lag = g.lag.map(|l| l as u64);
                state.pending = g.pending as u64;
            }
        }
        let pending: Result<redis::streams::StreamPendingReply, _> =
            self.with(timeout, |c| c.xpending(&key, group));
        if let Ok(redis::streams::StreamPendingReply::Data(d)) = pending {
            state.oldest_pending_ms = entry_millis(&d.start_id);
        }
        let counters: std::collections::HashMap<String, u64> = self.with(timeout, |c| c.hgetall(&stats))?;
        state.forwarded = counters.get("forwarded").copied().unwrap_or(0);
        state.claims = counters.get("claims").copied().unwrap_or(0);
        state.dead_letters = counters.get("deadLetters").copied().unwrap_or(0);
        Ok(state)
    }
}

/// A job's stream as `status` shows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StreamState {
    /// Entries in the stream (not yet delivered, or pending).
    pub length: usize,
    /// Entries the group has not read yet (Redis 7+).
    pub lag: Option<u64>,
    /// Entries read and not acknowledged.
    pub pending: u64,
    /// When the oldest pending entry was added (Unix ms).
    pub oldest_pending_ms: Option<u64>,
    /// Batches forwarded, claims and dead letters, by every host.
    pub forwarded: u64,
    /// Entries claimed from consumers that stopped.
    pub claims: u64,
    /// Entries delivered too many times, moved to a failure store.
    pub dead_letters: u64,
}

/// The entries of an XREADGROUP reply (RESP2: `[[key, [[id, [field, value, ...]],
/// ...]], ...]`, or nil), by the job (the key less the prefix), the values moved out
/// of the reply rather than copied (the crate's typed reply copies them twice).
fn read_reply(reply: Value, prefix_len: usize) -> Vec<(Vec<u8>, StreamId)> {
    fn bytes(v: Value) -> Option<Vec<u8>> {
        match v {
            Value::BulkString(b) => Some(b),
            Value::SimpleString(s) => Some(s.into_bytes()),
            _ => None,
        }
    }
    let mut out = Vec::new();
    let Value::Array(keys) = reply else { return out };
    for key in keys {
        let Value::Array(pair) = key else { continue };
        let mut pair = pair.into_iter();
        let (Some(name), Some(Value::Array(entries))) = (pair.next().and_then(bytes), pair.next()) else {
            continue;
        };
        let job = name.get(prefix_len..).unwrap_or_default().to_vec();
        for entry in entries {
            let Value::Array(entry) = entry else { continue };
            let mut entry = entry.into_iter();
            let Some(id) = entry.next().and_then(bytes).map(|b| String::from_utf8_lossy(&b).into_owned())
            else {
                continue;
            };
            let mut map = std::collections::HashMap::new();
            if let Some(Value::Array(fields)) = entry.next() {
                let mut fields = fields.into_iter();
                while let (Some(k), Some(v)) = (fields.next(), fields.next()) {
                    if let Some(k) = bytes(k) {
                        map.insert(String::from_utf8_lossy(&k).into_owned(), v);
                    }
                }
            }
            out.push((job.clone(), StreamId { id, map, ..Default::default() }));
        }
    }
    out
}

/// The Unix ms an entry id starts with.
pub fn entry_millis(entry: &str) -> Option<u64> {
    entry.split_once('-').and_then(|(ms, _)| ms.parse().ok())
}

/// Reads a stream entry.
pub fn decode_entry(job: &[u8], mut id: StreamId) -> Result<Entry, (String, BadEntry)> {
    let entry = id.id.clone();
    let mut field = |name: &str| match id.map.remove(name) {
        Some(Value::BulkString(b)) => Some(b),
        Some(Value::SimpleString(s)) => Some(s.into_bytes()),
        _ => None,
    };
    let bad = |why| (entry.clone(), BadEntry(why));
    if field("v").as_deref() != Some(b"1") {
        return Err(bad("no format version 1"));
    }
    let batch = field("id").and_then(|t| BatchId::parse(&t)).ok_or_else(|| bad("no batch id"))?;
    let items = field("items").ok_or_else(|| bad("no items"))?;
    let mut r = Reader::new(&items);
    let items = Batch::read_array(&mut r).map_err(|_| bad("items that do not decode"))?;
    if r.remaining() != 0 {
        return Err(bad("bytes after the items"));
    }
    let host = field("host").map(|h| String::from_utf8_lossy(&h).into_owned()).unwrap_or_default();
    let entry_job = field("job").unwrap_or_else(|| job.to_vec());
    Ok(Entry { entry, batch, job: entry_job, host, items })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::Value as Item;
    use std::collections::HashMap;

    fn stream_id(fields: &[(&str, Vec<u8>)]) -> StreamId {
        let map: HashMap<String, Value> =
            fields.iter().map(|(k, v)| (k.to_string(), Value::BulkString(v.clone()))).collect();
        StreamId { id: "1700000000000-0".into(), map, ..Default::default() }
    }

    #[test]
    fn entries_read_back_what_was_added() {
        let mut items = Batch::new();
        items.push(&Item::str("a").encode());
        items.push(&Item::Int(2).encode());
        let mut payload = Vec::new();
        items.write_array(&mut payload);
        let id = BatchId::new();
        let e = decode_entry(
            b"logs",
            stream_id(&[
                ("v", b"1".to_vec()),
                ("id", id.text().into_bytes()),
                ("job", b"logs".to_vec()),
                ("host", b"web-1".to_vec()),
                ("count", b"2".to_vec()),
                ("items", payload),
            ]),
        )
        .unwrap();
        assert_eq!((e.batch, e.items, e.host.as_str(), e.job.as_slice()), (id, items, "web-1", &b"logs"[..]));
        assert_eq!(entry_millis(&e.entry), Some(1_700_000_000_000));
    }

    #[test]
    fn read_replies_give_each_entry_with_its_job() {
        let b = |s: &[u8]| Value::BulkString(s.to_vec());
        let reply = Value::Array(vec![Value::Array(vec![
            b(b"asyncbatch:lo\xffgs"),
            Value::Array(vec![
                Value::Array(vec![b(b"1-0"), Value::Array(vec![b(b"v"), b(b"1"), b(b"items"), b(b"\x90")])]),
                Value::Array(vec![b(b"2-0"), Value::Nil]),
            ]),
        ])]);
        let got = read_reply(reply, "asyncbatch:".len());
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, b"lo\xffgs");
        assert_eq!(got[0].1.id, "1-0");
        assert_eq!(got[0].1.map.get("items"), Some(&b(b"\x90")));
        assert!(got[1].1.map.is_empty());
        assert!(read_reply(Value::Nil, 11).is_empty());
    }

    #[test]
    fn foreign_entries_are_refused_with_why() {
        let e = decode_entry(b"logs", stream_id(&[("v", b"1".to_vec()), ("id", b"x".to_vec())])).unwrap_err();
        assert_eq!(e.1, BadEntry("no batch id"));
        let e = decode_entry(b"logs", stream_id(&[("msg", b"hi".to_vec())])).unwrap_err();
        assert_eq!(e.1, BadEntry("no format version 1"));
    }

    #[test]
    fn urls_are_checked_without_showing_passwords() {
        assert!(Streams::open("redis://127.0.0.1:6379/0", Duration::from_secs(1)).is_ok());
        let e = Streams::open("http://u:secret@h/", Duration::from_secs(1)).unwrap_err();
        assert_eq!(e.to_string(), "invalid redis URL 'http://***@h/': it must be redis://host[:port][/db]");
    }
}
