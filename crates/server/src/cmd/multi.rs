//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.

use crate::client::Session;
use crate::commands::flag;
use crate::dispatch::{execute, resolve, Exec};
use crate::state::State;
use bytes::Bytes;

/// Leaves MULTI state, dropping queued commands.
pub fn discard_transaction(st: &mut State, sess: &mut Session) {
    sess.multi = None;
    sess.multi_error = false;
    if let Some(c) = st.clients.get_mut(&sess.id) {
        c.multi = -1;
    }
}

/// Forgets every WATCHed key of the client.
pub fn unwatch_all(st: &mut State, sess: &mut Session) {
    for (db, key, _) in sess.watched.drain(..) {
        st.ks.unwatch(sess.id, db, &key);
    }
    if let Some(c) = st.clients.get_mut(&sess.id) {
        c.dirty_cas = false;
    }
}

/// MULTI
pub fn multi(ex: &mut Exec) {
    if ex.sess.multi.is_some() {
        return ex.out.error("ERR MULTI calls can not be nested");
    }
    ex.sess.multi = Some(Vec::new());
    ex.sess.multi_error = false;
    if let Some(c) = ex.st.clients.get_mut(&ex.sess.id) {
        c.multi = 0;
    }
    ex.out.ok();
}

/// DISCARD
pub fn discard(ex: &mut Exec) {
    if ex.sess.multi.is_none() {
        return ex.out.error("ERR DISCARD without MULTI");
    }
    discard_transaction(ex.st, ex.sess);
    unwatch_all(ex.st, ex.sess);
    ex.out.ok();
}

/// WATCH key [key ...]
pub fn watch(ex: &mut Exec) {
    if ex.sess.multi.is_some() {
        return ex.out.error("ERR WATCH inside MULTI is not allowed");
    }
    let already_dirty = ex.st.clients.get(&ex.sess.id).is_some_and(|c| c.dirty_cas);
    for key in &ex.argv[1..] {
        let db = ex.sess.db;
        if ex.sess.watched.iter().any(|(d, k, _)| *d == db && k == key) {
            continue;
        }
        let expired = ex.st.ks.is_logically_expired(db, key);
        ex.st.ks.watch(ex.sess.id, db, key);
        ex.sess.watched.push((db, key.clone(), expired));
    }
    let _ = already_dirty;
    ex.out.ok();
}

/// UNWATCH
pub fn unwatch(ex: &mut Exec) {
    unwatch_all(ex.st, ex.sess);
    ex.out.ok();
}

/// True if a WATCHed key that existed when watched has expired since.
fn watched_key_expired(st: &State, sess: &Session) -> bool {
    sess.watched.iter().any(|(db, key, was_expired)| {
        !was_expired
            && st.ks.dbs[*db].data.contains_key(&key[..])
            && st.ks.is_logically_expired(*db, key)
    })
}

/// EXEC
pub fn exec(ex: &mut Exec) {
    let Some(queued) = ex.sess.multi.take() else {
        return ex.out.error("ERR EXEC without MULTI");
    };
    let aborted = ex.sess.multi_error;
    let dirty = ex.st.clients.get(&ex.sess.id).is_some_and(|c| c.dirty_cas)
        || watched_key_expired(ex.st, ex.sess);
    discard_transaction(ex.st, ex.sess);
    unwatch_all(ex.st, ex.sess);
    if aborted {
        return ex
            .out
            .error("EXECABORT Transaction discarded because of previous errors.");
    }
    if dirty {
        return ex.out.null_array();
    }
    ex.out.array(queued.len());
    ex.sess.in_exec = true;
    for argv in queued {
        run_queued(ex, argv);
    }
    ex.sess.in_exec = false;
}

fn run_queued(ex: &mut Exec, argv: Vec<Bytes>) {
    let mut sink = resp::Out::new(ex.out.proto);
    let resolved = resolve(ex.st, ex.sess, &mut sink, &argv);
    match resolved {
        Some((parent, cmd)) => {
            let _ = cmd.has(flag::WRITE);
            std::mem::swap(ex.out, &mut sink);
            let before = ex.out.len();
            let _ = before;
            execute(ex.st, ex.sess, ex.out, parent, cmd, &argv, ex.now_ms);
            std::mem::swap(ex.out, &mut sink);
            ex.out.raw(&sink.buf);
            ex.out.proto = sink.proto;
        }
        None => ex.out.raw(&sink.buf),
    }
}
