//! Encoding: values in the encodings Redis 7.0 itself chooses, and [`Encoder`], which streams a
//! `REDIS0010` file into any `Write`.

use std::io::{self, Write};

use crate::crc64::crc64;
use crate::listpack;
use crate::model::{Entry, Item, ModuleAux, ModuleElem, RdbValue, StreamValue};
use crate::num::{canonical_i64, d2string};
use crate::types::*;
use crate::{intset, lzf, stream};

/// The RDB version this crate writes (Redis 7.0's).
pub const RDB_VERSION: u32 = 10;

/// Encoder settings; the defaults are Redis 7.0's.
#[derive(Debug, Clone)]
pub struct EncodeOptions {
    /// `rdbcompression`: LZF-compress strings longer than 20 bytes when it saves at least 4.
    pub compression: bool,
    /// `rdbchecksum`: write the CRC-64 after EOF (else 8 zero bytes).
    pub checksum: bool,
    /// `hash-max-listpack-entries` (the compiled-in default is 512, not the sample config's 128).
    pub hash_max_listpack_entries: usize,
    /// `hash-max-listpack-value`.
    pub hash_max_listpack_value: usize,
    /// `zset-max-listpack-entries`.
    pub zset_max_listpack_entries: usize,
    /// `zset-max-listpack-value`.
    pub zset_max_listpack_value: usize,
    /// `set-max-intset-entries`.
    pub set_max_intset_entries: usize,
    /// `list-max-listpack-size` (negative: node byte limit 4/8/16/32/64 KiB; positive: entries).
    pub list_max_listpack_size: i64,
    /// Elements at least this long get a PLAIN quicklist node of their own (Redis: 1 GiB).
    pub list_packed_threshold: usize,
    /// `stream-node-max-bytes`.
    pub stream_node_max_bytes: usize,
    /// `stream-node-max-entries`.
    pub stream_node_max_entries: usize,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions {
            compression: true,
            checksum: true,
            hash_max_listpack_entries: 512,
            hash_max_listpack_value: 64,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            set_max_intset_entries: 512,
            list_max_listpack_size: -2,
            list_packed_threshold: 1 << 30,
            stream_node_max_bytes: 4096,
            stream_node_max_entries: 100,
        }
    }
}

/// Appends a length in its smallest form.
pub(crate) fn write_len(out: &mut Vec<u8>, n: u64) {
    if n < 1 << 6 {
        out.push(n as u8);
    } else if n < 1 << 14 {
        out.push(0x40 | (n >> 8) as u8);
        out.push((n & 0xFF) as u8);
    } else if n <= u32::MAX as u64 {
        out.push(0x80);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// Appends a string as Redis's `rdbSaveRawString` does: integer-encoded when it is the
/// canonical text of an int32, else LZF when `compress` and longer than 20 bytes and at least
/// 4 bytes are saved, else raw.
pub(crate) fn write_string(out: &mut Vec<u8>, s: &[u8], compress: bool) {
    if s.len() <= 11 {
        if let Some(v) = canonical_i64(s) {
            if let Ok(v8) = i8::try_from(v) {
                out.extend_from_slice(&[0xC0, v8 as u8]);
                return;
            } else if let Ok(v16) = i16::try_from(v) {
                out.push(0xC1);
                out.extend_from_slice(&v16.to_le_bytes());
                return;
            } else if let Ok(v32) = i32::try_from(v) {
                out.push(0xC2);
                out.extend_from_slice(&v32.to_le_bytes());
                return;
            }
        }
    }
    if compress && s.len() > 20 {
        if let Some(z) = lzf::compress(s, s.len() - 4) {
            out.push(0xC3);
            write_len(out, z.len() as u64);
            write_len(out, s.len() as u64);
            out.extend_from_slice(&z);
            return;
        }
    }
    write_len(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// Whether a quicklist node of `node_bytes` and `count` entries accepts an element of `sz`
/// bytes (Redis 7.0 `_quicklistNodeAllowInsert`).
fn node_allows(node_bytes: usize, count: usize, fill: i64, sz: usize) -> bool {
    const LEVELS: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
    const SAFETY_LIMIT: usize = 8192;
    let fill = fill.clamp(-5, 32767);
    let new_sz = node_bytes + sz + 8;
    if fill < 0 && new_sz <= LEVELS[(-fill - 1) as usize] {
        return true;
    }
    if new_sz > SAFETY_LIMIT {
        return false;
    }
    (count as i64) < fill
}

/// A quicklist node being built.
enum QlNode<'a> {
    Plain(&'a [u8]),
    Packed(listpack::Builder),
}

/// Writes a list as a quicklist of listpacks (type 18), filling nodes as `RPUSH` would.
fn write_list(out: &mut Vec<u8>, items: &[Vec<u8>], opts: &EncodeOptions) {
    let mut nodes: Vec<QlNode<'_>> = Vec::new();
    for e in items {
        if e.len() >= opts.list_packed_threshold {
            nodes.push(QlNode::Plain(e));
            continue;
        }
        match nodes.last_mut() {
            Some(QlNode::Packed(b))
                if node_allows(
                    b.total_bytes(),
                    b.len(),
                    opts.list_max_listpack_size,
                    e.len(),
                ) =>
            {
                b.push(e)
            }
            _ => {
                let mut b = listpack::Builder::new();
                b.push(e);
                nodes.push(QlNode::Packed(b));
            }
        }
    }
    write_len(out, nodes.len() as u64);
    for n in nodes {
        match n {
            QlNode::Plain(e) => {
                write_len(out, QUICKLIST_NODE_PLAIN);
                write_string(out, e, opts.compression);
            }
            QlNode::Packed(b) => {
                write_len(out, QUICKLIST_NODE_PACKED);
                write_string(out, &b.finish(), opts.compression);
            }
        }
    }
}

/// Orders sorted-set pairs by (score, member) as Redis's skiplist and listpack do.
fn zset_order(a: &(Vec<u8>, f64), b: &(Vec<u8>, f64)) -> std::cmp::Ordering {
    a.1.partial_cmp(&b.1)
        .unwrap_or(std::cmp::Ordering::Equal)
        .then_with(|| a.0.cmp(&b.0))
}

/// Writes module payload elements followed by the EOF opcode.
fn write_module_elems(out: &mut Vec<u8>, elems: &[ModuleElem], compress: bool) {
    for e in elems {
        match e {
            ModuleElem::SInt(v) => {
                write_len(out, 1);
                write_len(out, *v as u64);
            }
            ModuleElem::UInt(v) => {
                write_len(out, 2);
                write_len(out, *v);
            }
            ModuleElem::Float(v) => {
                write_len(out, 3);
                out.extend_from_slice(&v.to_le_bytes());
            }
            ModuleElem::Double(v) => {
                write_len(out, 4);
                out.extend_from_slice(&v.to_le_bytes());
            }
            ModuleElem::String(s) => {
                write_len(out, 5);
                write_string(out, s, compress);
            }
        }
    }
    write_len(out, 0);
}

/// The object type Redis 7.0 would use for `value` under `opts`.
pub fn value_type(value: &RdbValue, opts: &EncodeOptions) -> u8 {
    match value {
        RdbValue::String(_) => STRING,
        RdbValue::List(_) => LIST_QUICKLIST_2,
        RdbValue::Set(m) => {
            let small = m.len() <= opts.set_max_intset_entries.min(1 << 30);
            if small && m.iter().all(|x| canonical_i64(x).is_some()) {
                SET_INTSET
            } else {
                SET
            }
        }
        RdbValue::ZSet(z) => {
            let v = opts.zset_max_listpack_value;
            if z.len() <= opts.zset_max_listpack_entries && z.iter().all(|(m, _)| m.len() <= v) {
                ZSET_LISTPACK
            } else {
                ZSET_2
            }
        }
        RdbValue::Hash(h) => {
            let v = opts.hash_max_listpack_value;
            if h.len() <= opts.hash_max_listpack_entries
                && h.iter().all(|(f, x)| f.len() <= v && x.len() <= v)
            {
                HASH_LISTPACK
            } else {
                HASH
            }
        }
        RdbValue::Stream(_) => STREAM_LISTPACKS_2,
        RdbValue::Module(_) => MODULE_2,
    }
}

/// Appends the encoding of `value` (without type byte) and returns its object type.
pub fn encode_value(value: &RdbValue, opts: &EncodeOptions, out: &mut Vec<u8>) -> u8 {
    let t = value_type(value, opts);
    let z = opts.compression;
    match value {
        RdbValue::String(s) => write_string(out, s, z),
        RdbValue::List(items) => write_list(out, items, opts),
        RdbValue::Set(m) if t == SET_INTSET => {
            let mut v: Vec<i64> = m.iter().filter_map(|x| canonical_i64(x)).collect();
            v.sort_unstable();
            v.dedup();
            write_string(out, &intset::build(&v), z);
        }
        RdbValue::Set(m) => {
            write_len(out, m.len() as u64);
            for x in m {
                write_string(out, x, z);
            }
        }
        RdbValue::ZSet(pairs) => {
            let mut sorted: Vec<&(Vec<u8>, f64)> = pairs.iter().collect();
            sorted.sort_by(|a, b| zset_order(a, b));
            if t == ZSET_LISTPACK {
                let mut b = listpack::Builder::new();
                for (m, s) in sorted {
                    b.push(m);
                    b.push(d2string(*s).as_bytes());
                }
                write_string(out, &b.finish(), z);
            } else {
                write_len(out, sorted.len() as u64);
                for (m, s) in sorted.into_iter().rev() {
                    write_string(out, m, z);
                    out.extend_from_slice(&s.to_le_bytes());
                }
            }
        }
        RdbValue::Hash(pairs) if t == HASH_LISTPACK => {
            let mut b = listpack::Builder::new();
            for (f, v) in pairs {
                b.push(f);
                b.push(v);
            }
            write_string(out, &b.finish(), z);
        }
        RdbValue::Hash(pairs) => {
            write_len(out, pairs.len() as u64);
            for (f, v) in pairs {
                write_string(out, f, z);
                write_string(out, v, z);
            }
        }
        RdbValue::Stream(s) => write_stream(out, s, opts),
        RdbValue::Module(m) => {
            write_len(out, m.type_id);
            write_module_elems(out, &m.elems, z);
        }
    }
    t
}

/// Appends a stream as type 19.
fn write_stream(out: &mut Vec<u8>, s: &StreamValue, opts: &EncodeOptions) {
    stream::write(
        out,
        s,
        opts.compression,
        opts.stream_node_max_bytes,
        opts.stream_node_max_entries,
    )
}

/// Replication information saved in the aux fields of a primary with a backlog, or a replica.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplAux {
    /// `repl-stream-db`: the DB selected in the replication stream.
    pub stream_db: i64,
    /// `repl-id`: the 40-hex replication ID.
    pub repl_id: String,
    /// `repl-offset`: the replication offset.
    pub repl_offset: i64,
}

/// The aux fields Redis 7.0 writes at the start of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuxFields {
    /// `redis-ver`, e.g. `7.0.15`.
    pub redis_ver: String,
    /// `ctime`: unix seconds at save.
    pub ctime: i64,
    /// `used-mem`: bytes in use.
    pub used_mem: u64,
    /// `repl-stream-db`, `repl-id`, `repl-offset`, when there is replication information.
    pub repl: Option<ReplAux>,
    /// `aof-base`: whether the file is the base of a multi-part AOF.
    pub aof_base: bool,
}

/// Writes an RDB file into `W`: the header on creation, items as given, EOF and checksum on
/// [`finish`](Encoder::finish). Item order is the caller's (Redis: aux fields, module aux,
/// functions, then per non-empty DB `SELECTDB`, `RESIZEDB` and its keys).
#[derive(Debug)]
pub struct Encoder<W: Write> {
    w: W,
    crc: u64,
    opts: EncodeOptions,
    buf: Vec<u8>,
    finished: bool,
}

impl<W: Write> Encoder<W> {
    /// Starts a file: writes `REDIS0010`.
    pub fn new(w: W, opts: EncodeOptions) -> io::Result<Encoder<W>> {
        let mut e = Encoder {
            w,
            crc: 0,
            opts,
            buf: Vec::new(),
            finished: false,
        };
        e.buf
            .extend_from_slice(format!("REDIS{RDB_VERSION:04}").as_bytes());
        e.flush_buf()?;
        Ok(e)
    }

    /// The options in use.
    pub fn options(&self) -> &EncodeOptions {
        &self.opts
    }

    /// Writes the staged bytes, adding them to the checksum.
    fn flush_buf(&mut self) -> io::Result<()> {
        if self.finished {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "RDB encoder already finished",
            ));
        }
        self.crc = crc64(self.crc, &self.buf);
        let r = self.w.write_all(&self.buf);
        self.buf.clear();
        r
    }

    /// Writes an `AUX` field.
    pub fn write_aux(&mut self, key: &[u8], value: &[u8]) -> io::Result<()> {
        self.buf.push(OP_AUX);
        write_string(&mut self.buf, key, self.opts.compression);
        write_string(&mut self.buf, value, self.opts.compression);
        self.flush_buf()
    }

    /// Writes the standard aux fields in Redis 7.0's order.
    pub fn write_aux_fields(&mut self, aux: &AuxFields) -> io::Result<()> {
        self.write_aux(b"redis-ver", aux.redis_ver.as_bytes())?;
        self.write_aux(b"redis-bits", b"64")?;
        self.write_aux(b"ctime", aux.ctime.to_string().as_bytes())?;
        self.write_aux(b"used-mem", aux.used_mem.to_string().as_bytes())?;
        if let Some(r) = &aux.repl {
            self.write_aux(b"repl-stream-db", r.stream_db.to_string().as_bytes())?;
            self.write_aux(b"repl-id", r.repl_id.as_bytes())?;
            self.write_aux(b"repl-offset", r.repl_offset.to_string().as_bytes())?;
        }
        self.write_aux(b"aof-base", if aux.aof_base { b"1" } else { b"0" })
    }

    /// Writes a `MODULE_AUX` record.
    pub fn write_module_aux(&mut self, m: &ModuleAux) -> io::Result<()> {
        self.buf.push(OP_MODULE_AUX);
        write_len(&mut self.buf, m.module_id);
        write_len(&mut self.buf, 2);
        write_len(&mut self.buf, m.when);
        write_module_elems(&mut self.buf, &m.elems, self.opts.compression);
        self.flush_buf()
    }

    /// Writes a `FUNCTION2` record (one library's source code).
    pub fn write_function(&mut self, code: &[u8]) -> io::Result<()> {
        self.buf.push(OP_FUNCTION2);
        write_string(&mut self.buf, code, self.opts.compression);
        self.flush_buf()
    }

    /// Writes `SELECTDB`.
    pub fn write_select_db(&mut self, db: u64) -> io::Result<()> {
        self.buf.push(OP_SELECTDB);
        write_len(&mut self.buf, db);
        self.flush_buf()
    }

    /// Writes `RESIZEDB`.
    pub fn write_resize_db(&mut self, db_size: u64, expires_size: u64) -> io::Result<()> {
        self.buf.push(OP_RESIZEDB);
        write_len(&mut self.buf, db_size);
        write_len(&mut self.buf, expires_size);
        self.flush_buf()
    }

    /// Writes a key with its prefixes (`EXPIRETIME_MS`, `IDLE`, `FREQ`) and value.
    pub fn write_entry(&mut self, e: &Entry) -> io::Result<()> {
        if let Some(ms) = e.expire_ms {
            self.buf.push(OP_EXPIRETIME_MS);
            self.buf.extend_from_slice(&ms.to_le_bytes());
        }
        if let Some(idle) = e.lru_idle {
            self.buf.push(OP_IDLE);
            write_len(&mut self.buf, idle);
        }
        if let Some(f) = e.lfu_freq {
            self.buf.extend_from_slice(&[OP_FREQ, f]);
        }
        let type_at = self.buf.len();
        self.buf.push(0);
        write_string(&mut self.buf, &e.key, self.opts.compression);
        let mut body = std::mem::take(&mut self.buf);
        let t = encode_value(&e.value, &self.opts, &mut body);
        body[type_at] = t;
        self.buf = body;
        self.flush_buf()
    }

    /// Writes any item; [`Item::Eof`] ends the file like [`finish`](Encoder::finish).
    pub fn write_item(&mut self, item: &Item) -> io::Result<()> {
        match item {
            Item::Aux { key, value } => self.write_aux(key, value),
            Item::ModuleAux(m) => self.write_module_aux(m),
            Item::Function(code) => self.write_function(code),
            Item::SelectDb(db) => self.write_select_db(*db),
            Item::ResizeDb {
                db_size,
                expires_size,
            } => self.write_resize_db(*db_size, *expires_size),
            Item::Entry(e) => self.write_entry(e),
            Item::Eof => self.write_eof(),
        }
    }

    /// Writes EOF and the checksum (once).
    fn write_eof(&mut self) -> io::Result<()> {
        self.buf.push(OP_EOF);
        self.flush_buf()?;
        let sum = if self.opts.checksum { self.crc } else { 0 };
        self.w.write_all(&sum.to_le_bytes())?;
        self.finished = true;
        self.w.flush()
    }

    /// Ends the file (EOF and checksum, unless an [`Item::Eof`] was written) and returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        if !self.finished {
            self.write_eof()?;
        }
        Ok(self.w)
    }
}

/// Encodes items into a complete file in memory (EOF appended if the items lack it).
pub fn encode_to_vec(items: &[Item], opts: &EncodeOptions) -> Vec<u8> {
    let mut e = Encoder::new(Vec::new(), opts.clone()).expect("writing to a Vec cannot fail");
    for it in items {
        if !e.finished {
            e.write_item(it).expect("writing to a Vec cannot fail");
        }
    }
    e.finish().expect("writing to a Vec cannot fail")
}
