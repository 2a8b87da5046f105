//! Scripting end to end, against Debian's redis-server 7.0 in the same run: EVAL and its
//! conversions, errors and sandbox, SCRIPT, FUNCTION and FCALL, -BUSY with SCRIPT KILL /
//! FUNCTION KILL / SHUTDOWN NOSAVE, effects propagation into the AOF, and libraries that
//! survive DEBUG RELOAD and restarts (and load in redis-server from our RDB).

mod common;

use common::{Raw, Server};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Sends every command of `corpus` to both servers and returns the differing replies.
fn differences(ours: &mut Raw, redis: &mut Raw, corpus: &[&[&str]]) -> Vec<String> {
    let mut diffs = Vec::new();
    for args in corpus {
        let a = ours.call(args);
        let b = redis.call(args);
        if a != b {
            diffs.push(format!(
                "{:?}\n   ours:  {:?}\n   redis: {:?}",
                args,
                String::from_utf8_lossy(&a),
                String::from_utf8_lossy(&b)
            ));
        }
    }
    diffs
}

fn assert_same(ours: &mut Raw, redis: &mut Raw, corpus: &[&[&str]]) {
    let diffs = differences(ours, redis, corpus);
    assert!(
        diffs.is_empty(),
        "{} of {} replies differ:\n{}",
        diffs.len(),
        corpus.len(),
        diffs.join("\n")
    );
}

/// Our server and redis-server with the same arguments.
fn pair(args: &[&str]) -> (Server, Server) {
    (Server::start(args), Server::start_redis(args))
}

/// EVAL, EVALSHA, EVAL_RO, SCRIPT, conversions, errors with line numbers, the sandbox,
/// redis.* helpers, shebang flags (recorded from redis-server 7.0.15 by difftest runs).
const EVAL_CORPUS: &[&[&str]] = &[
    &["EVAL", "return x", "0"],
    &["EVAL", "x = 1", "0"],
    &["EVAL", "return redis.call('nosuch')", "0"],
    &["EVAL", "return redis.call('incr','a','b')", "0"],
    &["EVAL", "return redis.pcall('incr','a','b')", "0"],
    &["EVAL", "return redis.call('set','a','x') and redis.call('incr','a')", "0"],
    &["EVAL", "return redis.pcall('incr','a')", "0"],
    &["EVAL", "syntax error here", "0"],
    &["EVAL", "error('boom')", "0"],
    &["EVAL", "error({err='MYERR boom'})", "0"],
    &["EVAL", "return {err='MYERR x'}", "0"],
    &["EVAL", "return {ok='fine'}", "0"],
    &["EVAL", "return redis.error_reply('bad thing')", "0"],
    &["EVAL", "return redis.error_reply('-bad thing')", "0"],
    &["EVAL", "return redis.status_reply('ok thing')", "0"],
    &["EVAL", "return redis.sha1hex('')", "0"],
    &["EVAL", "return os", "0"],
    &["EVAL", "return loadfile", "0"],
    &["EVAL", "return dofile", "0"],
    &["EVAL", "return print", "0"],
    &["EVAL", "return type(debug)", "0"],
    &["EVAL", "return loadstring", "0"],
    &["EVAL", "return type(loadstring)", "0"],
    &["EVAL", "return type(require)", "0"],
    &["EVAL", "return type(setfenv)", "0"],
    &["EVAL", "return type(getfenv)", "0"],
    &["EVAL", "return type(newproxy)", "0"],
    &["EVAL", "return type(collectgarbage)", "0"],
    &["EVAL", "return type(io)", "0"],
    &["EVAL", "return 1 end", "0"],
    &["EVAL", "return (", "0"],
    &["EVAL", "if true then", "0"],
    &["EVAL", "return 'a' .. {}", "0"],
    &["EVAL", "local t = nil; return t.x", "0"],
    &["EVAL", "return redis.call()", "0"],
    &["EVAL", "return redis.call({})", "0"],
    &["EVAL", "return redis.pcall({})", "0"],
    &["EVAL", "return redis.call('get', {})", "0"],
    &["EVAL", "return redis.call('echo', 1.5)", "0"],
    &["EVAL", "return redis.call('echo', 3)", "0"],
    &["EVAL", "return redis.call('echo', 0.1)", "0"],
    &["EVAL", "return redis.call('echo', 1e20)", "0"],
    &["EVAL", "return redis.call('echo', true)", "0"],
    &["EVAL", "return {1, {2, {3}}, 'x', true, false, nil, 5}", "0"],
    &["EVAL", "return true", "0"],
    &["EVAL", "return false", "0"],
    &["EVAL", "return nil", "0"],
    &["EVAL", "return 3.99", "0"],
    &["EVAL", "return -3.99", "0"],
    &["EVAL", "return 1e30", "0"],
    &["EVAL", "return 0/0", "0"],
    &["EVAL", "return {map={a=1}}", "0"],
    &["EVAL", "return {set={a=true}}", "0"],
    &["EVAL", "return {double=1.5}", "0"],
    &["EVAL", "return {big_number='123'}", "0"],
    &["EVAL", "return {verbatim_string={format='txt', string='hi'}}", "0"],
    &["EVAL", "return {err=3}", "0"],
    &["EVAL", "return {ok=3}", "0"],
    &["EVAL", "return {'a', err='x'}", "0"],
    &["EVAL", "local function f()\n  error('deep')\nend\nf()", "0"],
    &["SET", "h", "x"],
    &["EVAL", "\nlocal x = 1\nreturn redis.call('incr', 'h')", "0"],
    &["EVAL", "error(42)", "0"],
    &["EVAL", "error()", "0"],
    &["EVAL", "error({err='no code'})", "0"],
    &["EVAL", "error('x', 0)", "0"],
    &["EVAL", "error('x', 2)", "0"],
    &["EVAL", "local r = redis.pcall('incr', 'h'); return type(r) .. ':' .. r.err", "0"],
    &["EVAL", "local ok, e = pcall(redis.call, 'incr', 'h'); return {tostring(ok), type(e), e}", "0"],
    &["EVAL", "local ok, e = pcall(error, 'x'); return {tostring(ok), type(e), e}", "0"],
    &["EVAL", "local ok, e = pcall(function() return nil + 1 end); return {tostring(ok), type(e), e}", "0"],
    &["EVAL", "return redis.error_reply('MY')", "0"],
    &["EVAL", "return redis.error_reply('')", "0"],
    &["EVAL", "return redis.error_reply()", "0"],
    &["EVAL", "return redis.status_reply()", "0"],
    &["EVAL", "return redis.error_reply(1)", "0"],
    &["EVAL", "return redis.sha1hex()", "0"],
    &["EVAL", "return redis.sha1hex(1)", "0"],
    &["EVAL", "return redis.sha1hex({})", "0"],
    &["EVAL", "local t = redis.error_reply('X y'); return {t.err, type(t.ignore_error_stats_update)}", "0"],
    &["EVAL", "return {err='ERR with\nnewline'}", "0"],
    &["EVAL", "return {ok='with\r\nnewline'}", "0"],
    &["EVAL", "return redis.status_reply('a\nb')", "0"],
    &["EVAL", "return {err=''}", "0"],
    &["EVAL", "error(\"a\nb\")", "0"],
    &["EVAL", "return type(string.dump)", "0"],
    &["EVAL", "local f = loadstring(string.dump(function() return 1 end)); return type(f)", "0"],
    &["EVAL", "local f, e = loadstring(string.dump(function() return 1 end)); return e", "0"],
    &["EVAL", "local f = loadstring('return 5'); return f()", "0"],
    &["EVAL", "string.x = 1", "0"],
    &["EVAL", "redis.call = nil", "0"],
    &["EVAL", "rawset(_G, 'x', 1)", "0"],
    &["EVAL", "setmetatable(_G, nil)", "0"],
    &["EVAL", "local t = {} ; t.x = 1; return t.x", "0"],
    &["EVAL", "KEYS = 1", "0"],
    &["EVAL", "KEYS[1] = 'x'; return KEYS[1]", "0"],
    &["EVAL", "return _VERSION", "0"],
    &["EVAL", "return type(coroutine)", "0"],
    &["EVAL", "return math.random(1000)", "0"],
    &["EVAL", "return math.random(1000)", "0"],
    &["EVAL", "return {math.random(), math.random(10), math.random(5,8)}", "0"],
    &["EVAL", "math.randomseed(7); return tostring(math.random())", "0"],
    &["EVAL", "return tostring(math.random())", "0"],
    &["EVAL", "return collectgarbage('count') > 0", "0"],
    &["EVAL", "return redis.REDIS_VERSION", "0"],
    &["EVAL", "return redis.REDIS_VERSION_NUM", "0"],
    &["EVAL", "return redis.LOG_WARNING", "0"],
    &["EVAL", "return redis.REPL_ALL", "0"],
    &["EVAL", "return {redis.breakpoint(), redis.debug('x'), redis.replicate_commands()}", "0"],
    &["EVAL", "redis.set_repl(9)", "0"],
    &["EVAL", "redis.set_repl()", "0"],
    &["EVAL", "local r = {} for k,v in pairs(_G) do r[#r+1]=k..':'..type(v) end table.sort(r) return r", "0"],
    &["EVAL", "local r = {} for k,v in pairs(redis) do r[#r+1]=k end table.sort(r) return r", "0"],
    &["EVAL", "return getmetatable(_G) == nil", "0"],
    &["EVAL", "return getmetatable('').__index == string", "0"],
    &["EVAL", "local g = getmetatable(_G); g.__index = {}", "0"],
    &["EVAL", "_G = {}", "0"],
    &["EVAL", "return ('abc'):upper()", "0"],
    &["EVAL", "return 1"],
    &["EVAL", "return 1", "x"],
    &["EVAL", "return 1", "-1"],
    &["EVAL", "return 1", "2", "a"],
    &["EVAL", "return {KEYS, ARGV}", "2", "a", "b", "c", "d"],
    &["EVALSHA", "abc", "0"],
    &["EVALSHA", "ffffffffffffffffffffffffffffffffffffffff", "0"],
    &["SCRIPT", "LOAD", "return 1"],
    &["EVALSHA", "E0E1F9FABFC9D4800C877A703B823AC0578FF8DB", "0"],
    &["SCRIPT", "EXISTS", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "E0E1F9FABFC9D4800C877A703B823AC0578FF8DB", "abc"],
    &["SCRIPT", "LOAD", "return ("],
    &["SCRIPT", "FLUSH", "x"],
    &["SCRIPT", "KILL"],
    &["FUNCTION", "KILL"],
    &["SCRIPT"],
    &["SCRIPT", "FOO"],
    &["SCRIPT", "LOAD"],
    &["SCRIPT", "EXISTS"],
    &["SCRIPT", "HELP"],
    &["SCRIPT", "FLUSH", "ASYNC"],
    &["SCRIPT", "EXISTS", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"],
    &["EVAL_RO", "return redis.call('set','a','b')", "0"],
    &["EVAL_RO", "return redis.call('get','a')", "0"],
    &["EVAL", "#!lua flags=no-writes\nreturn redis.call('set','a','b')", "0"],
    &["EVAL", "#!lua\nreturn redis.call('set','a','b')", "0"],
    &["EVAL_RO", "#!lua\nreturn 1", "0"],
    &["EVAL", "#!lua flags=bad\nreturn 1", "0"],
    &["EVAL", "#!lua foo=bar\nreturn 1", "0"],
    &["EVAL", "#!python\nreturn 1", "0"],
    &["EVAL", "#!lua flags=no-writes,allow-oom,allow-stale,no-cluster\nreturn 1", "0"],
    &["EVAL", "#!lua flags=\nreturn 1", "0"],
    &["EVAL", "#!lua", "0"],
    &["EVAL", "#!lua  flags=no-writes\nreturn 2", "0"],
    &["EVAL", "#! lua\nreturn 2", "0"],
    &["EVAL", "#!lua\nerror('x')", "0"],
    &["EVAL", "return redis.call('eval', 'return 1', 0)", "0"],
    &["EVAL", "return redis.call('multi')", "0"],
    &["EVAL", "return redis.call('blpop', 'l', 0)", "0"],
    &["EVAL", "return redis.call('subscribe', 'c')", "0"],
    &["EVAL", "return redis.call('script', 'load', 'return 1')", "0"],
    &["EVAL", "return redis.call('function', 'list')", "0"],
    &["EVAL", "return redis.call('select', 1)", "0"],
    &["EVAL", "redis.call('select', 1); return redis.call('set', 'dbkey', 'v')", "0"],
    &["GET", "dbkey"],
    &["EVAL", "return redis.call('client', 'id')", "0"],
    &["EVAL", "return redis.call('ping')", "0"],
    &["EVAL", "return redis.call('hello')", "0"],
    &["EVAL", "return redis.call('auth', 'x')", "0"],
    &["EVAL", "return redis.call('config', 'get', 'maxmemory')", "0"],
    &["EVAL", "return redis.call('wait', 0, 0)", "0"],
    &["EVAL", "return redis.call('debug', 'sleep', 0)", "0"],
    &["EVAL", "return redis.call('object', 'help')[1]", "0"],
    &["EVAL", "return redis.call('publish', 'ch', 'm')", "0"],
    &["EVAL", "return redis.call('xread', 'block', 0, 'streams', 's', '$')", "0"],
    &["EVAL", "return redis.call('config')", "0"],
    &["EVAL", "return redis.call('config', 'nosub')", "0"],
    &["EVAL", "return redis.acl_check_cmd('get', 'x')", "0"],
    &["EVAL", "return redis.acl_check_cmd('nosuch')", "0"],
    &["EVAL", "return redis.setresp(4)", "0"],
    &["EVAL", "return redis.setresp()", "0"],
    &["HSET", "hh", "a", "1", "b", "2"],
    &["EVAL", "redis.setresp(3); return redis.call('hgetall','hh')", "0"],
    &["EVAL", "return redis.call('hgetall','hh')", "0"],
    &["EVAL", "redis.setresp(3); local r = redis.call('hgetall','hh'); return type(r.map)", "0"],
    &["EVAL", "redis.setresp(3); return redis.call('get','nokey')", "0"],
    &["EVAL", "redis.setresp(3); return {redis.call('get','nokey')}", "0"],
    &["ZADD", "z", "1.5", "m"],
    &["EVAL", "redis.setresp(3); return redis.call('zscore','z','m')", "0"],
    &["EVAL", "return redis.call('zscore','z','m')", "0"],
    &["EVAL", "return redis.call('lrange','nokey', 0, -1)", "0"],
    &["EVAL", "return redis.call('get','nokey')", "0"],
    &["EVAL", "return tostring(redis.call('get','nokey'))", "0"],
    &["EVAL", "return redis.call('hmget','hh','a','zz')", "0"],
    &["EVAL", "return table.concat({1,2,3}, ',')", "0"],
    &["EVAL", "return string.format('%5.2f', 3.14159)", "0"],
    &["EVAL", "return tostring(1/3)", "0"],
    &["EVAL", "return tonumber('0x10')", "0"],
    &["EVAL", "return #ARGV", "0", "a", "b", "c"],
    &["EVAL", "return unpack({1,2,3})", "0"],
    &["EVAL", "return select('#', 1, 2, 3)", "0"],
    &["EVAL", "local t = {} for i=1,100 do t[i]=i end return #t", "0"],
    &["EVAL", "return table.insert(string, 1)", "0"],
    &["EVAL", "return rawget(string, 'len') == string.len", "0"],
    &["EVAL", "local n = 0 for k,v in pairs(math) do n = n + 1 end return n", "0"],
    &["EVAL", "local n = 0 for k,v in ipairs(KEYS) do n = n + 1 end return n", "2", "a", "b"],
    &["EVAL", "return coroutine.wrap(function() return redis.call('ping') end)()", "0"],
    // Stack overflow inside Lua, writes after non-deterministic commands (effects replication).
    &["EVAL", "local function f() return 1 + f() end return f()", "0"],
    &["EVAL", "redis.call('time'); return redis.call('set', 'after_time', '1')", "0"],
    &["EVAL", "redis.call('randomkey'); return redis.call('incr', 'after_random')", "0"],
    // A script that errors half-way keeps the writes it made before.
    &["EVAL", "redis.call('set', 'half', 'done'); redis.call('incr', 'h'); redis.call('set', 'half', 'never')", "0"],
    &["GET", "half"],
    // KEYS and ARGV.
    &["EVAL", "return {#KEYS, #ARGV, KEYS[1], ARGV[2]}", "1", "k1", "a1", "a2"],
    &["EVAL", "return redis.call('mset', KEYS[1], ARGV[1], KEYS[2], ARGV[2])", "2", "{t}1", "{t}2", "x", "y"],
    &["EVAL", "return redis.call('mget', KEYS[1], KEYS[2], 'nope')", "2", "{t}1", "{t}2"],
];

/// The bit, struct, cjson and cmsgpack libraries.
const LIBS_CORPUS: &[&[&str]] = &[
    &["EVAL", "return cjson.encode({a=1})", "0"],
    &["EVAL", "return cjson.encode({})", "0"],
    &["EVAL", "return cjson.encode(1/3)", "0"],
    &["EVAL", "return cjson.encode(1e100)", "0"],
    &["EVAL", "return cjson.encode(math.huge)", "0"],
    &["EVAL", "return cjson.encode(0/0)", "0"],
    &["EVAL", "return cjson.encode({[1]=1,[3]=3})", "0"],
    &["EVAL", "return cjson.encode({[1]=1,[30]=3})", "0"],
    &["EVAL", "return cjson.encode({[1.5]=1})", "0"],
    &["EVAL", "return cjson.encode({[true]=1})", "0"],
    &["EVAL", "return cjson.encode(function() end)", "0"],
    &["EVAL", "return cjson.encode(cjson.null)", "0"],
    &["EVAL", "return cjson.encode(nil)", "0"],
    &["EVAL", "return cjson.encode()", "0"],
    &["EVAL", "return cjson.encode(1,2)", "0"],
    &["EVAL", "local t = {} t[1] = t return cjson.encode(t)", "0"],
    &["EVAL", "return cjson.decode('[1,]')", "0"],
    &["EVAL", "return cjson.decode('')", "0"],
    &["EVAL", "return cjson.decode('x')", "0"],
    &["EVAL", "return cjson.decode('0x10')", "0"],
    &["EVAL", "return cjson.decode('1e2')", "0"],
    &["EVAL", "return cjson.decode('[1] x')", "0"],
    &["EVAL", "return type(cjson.decode('null'))", "0"],
    &["EVAL", "return cjson.decode('null') == cjson.null", "0"],
    &["EVAL", "return {cjson._NAME, cjson._VERSION}", "0"],
    &["EVAL", "return cjson.decode('tru')", "0"],
    &["EVAL", "return cjson.decode('{1:2}')", "0"],
    &["EVAL", "return cjson.decode('[1 2]')", "0"],
    &["EVAL", "return cjson.encode(123456789012345678)", "0"],
    &["EVAL", "return cjson.encode(-1.5e-7)", "0"],
    &["EVAL", "return cjson.decode('Infinity')", "0"],
    &["EVAL", "return cjson.decode('-inf')", "0"],
    &["EVAL", "return cjson.decode('+5')", "0"],
    &["EVAL", "return cjson.decode('007')", "0"],
    &["EVAL", "return cjson.encode_max_depth()", "0"],
    &["EVAL", "return cjson.decode(string.rep('[', 1001) .. string.rep(']', 1001))", "0"],
    &["EVAL", "return cjson.encode(cjson.decode(string.rep('[', 1000) .. string.rep(']', 1000)))", "0"],
    &["EVAL", "return cjson.encode({a={b={c={d=1}}}})", "0"],
    &["EVAL", "return cjson.encode(true)", "0"],
    &["EVAL", "return cjson.encode('x')", "0"],
    &["EVAL", "return cjson.encode(-5)", "0"],
    &["EVAL", "return cjson.decode('  {  } ')", "0"],
    &["EVAL", "return cjson.decode(' [ 1 , 2 ] ')", "0"],
    &["EVAL", "return {cjson.encode_sparse_array()}", "0"],
    &["EVAL", "return cjson.encode_number_precision()", "0"],
    &["EVAL", "return cjson.decode(5)", "0"],
    &["EVAL", "return cjson.decode({})", "0"],
    &["EVAL", "return cmsgpack.pack(1, -1, 127, 128, -33, 255, 256, 65535, 65536, 4294967296, -129, -32769, -2147483649, 1.5, 0.1, 'abc', true, false, nil)", "0"],
    &["EVAL", "return cmsgpack.pack({1,2,3}, {a=1}, {})", "0"],
    &["EVAL", "return cmsgpack.pack(string.rep('x', 40), string.rep('y', 300))", "0"],
    &["EVAL", "return cmsgpack.pack()", "0"],
    &["EVAL", "local t = {} local c = t for i=1,20 do c[1] = {} c = c[1] end return cmsgpack.pack(t)", "0"],
    &["EVAL", "return {cmsgpack.unpack(cmsgpack.pack(1, 'a', {1,2}, {x=1}))}", "0"],
    &["EVAL", "local t = cmsgpack.unpack(cmsgpack.pack({x=1,y={1,2,{z='w'}}})) return {t.x, t.y[3].z}", "0"],
    &["EVAL", "return cmsgpack.unpack(string.char(0xc1))", "0"],
    &["EVAL", "return cmsgpack.unpack(string.char(0x92, 1))", "0"],
    &["EVAL", "return {cmsgpack.unpack_one(cmsgpack.pack(1,2,3))}", "0"],
    &["EVAL", "return {cmsgpack.unpack_one(cmsgpack.pack(1,2,3), 2)}", "0"],
    &["EVAL", "return {cmsgpack.unpack_limit(cmsgpack.pack(1,2,3), 2)}", "0"],
    &["EVAL", "return {cmsgpack.unpack_limit(cmsgpack.pack(1,2,3), 2, 10)}", "0"],
    &["EVAL", "return {cmsgpack.unpack_one(cmsgpack.pack(1,2,3), -1)}", "0"],
    &["EVAL", "return cmsgpack.unpack('')", "0"],
    &["EVAL", "return tostring(cmsgpack.unpack(cmsgpack.pack(0.1)))", "0"],
    &["EVAL", "return tostring(cmsgpack.unpack(cmsgpack.pack(1.5)))", "0"],
    &["EVAL", "return cmsgpack.pack(1/0, -1/0)", "0"],
    &["EVAL", "return cmsgpack.pack(function() end)", "0"],
    &["EVAL", "return struct.pack('>hI2', -2, 513)", "0"],
    &["EVAL", "return {struct.unpack('>hI2', struct.pack('>hI2', -2, 513))}", "0"],
    &["EVAL", "return struct.pack('<i16', -1)", "0"],
    &["EVAL", "return struct.size('i4dB')", "0"],
    &["EVAL", "return struct.size('!4i1d')", "0"],
    &["EVAL", "return struct.size('s')", "0"],
    &["EVAL", "return struct.size('c0')", "0"],
    &["EVAL", "return struct.pack('q')", "0"],
    &["EVAL", "return struct.pack('i')", "0"],
    &["EVAL", "return struct.unpack('i4', 'ab')", "0"],
    &["EVAL", "return struct.pack('i33', 1)", "0"],
    &["EVAL", "return struct.pack('!3i')", "0"],
    &["EVAL", "return struct.pack('bBhHlLiIfdxc3s', -1, 255, -300, 60000, -5, 7, 1, 2, 1.5, 2.5, 'abcdef', 'zz')", "0"],
    &["EVAL", "return {struct.unpack('bBhHlLiIfdxc3s', struct.pack('bBhHlLiIfdxc3s', -1, 255, -300, 60000, -5, 7, 1, 2, 1.5, 2.5, 'abcdef', 'zz'))}", "0"],
    &["EVAL", "return {struct.unpack('Bc0', struct.pack('Bc0', 3, 'abc'))}", "0"],
    &["EVAL", "return {struct.unpack('c0', 'abc')}", "0"],
    &["EVAL", "return {struct.unpack('s', 'abc')}", "0"],
    &["EVAL", "return {struct.unpack('b', 'abc', 2)}", "0"],
    &["EVAL", "return {struct.unpack('b', 'abc', 0)}", "0"],
    &["EVAL", "return {struct.unpack('b', 'abc', 5)}", "0"],
    &["EVAL", "return struct.pack('c5', 'ab')", "0"],
    &["EVAL", "return struct.pack('!4 b i', 1, 2)", "0"],
    &["EVAL", "return struct.pack('>!4 b d', 1, 2)", "0"],
    &["EVAL", "return struct.pack('>i3', 65536*2+3)", "0"],
    &["EVAL", "return {struct.unpack('>i3', string.char(255,255,254))}", "0"],
    &["EVAL", "return {struct.unpack('<I9', string.char(1,0,0,0,0,0,0,0,1))}", "0"],
    &["EVAL", "return struct.pack('b', 3.7)", "0"],
    &["EVAL", "return struct.pack('b', -3.7)", "0"],
    &["EVAL", "return struct.pack('i', 1e20)", "0"],
    &["EVAL", "return {bit.tobit(0xffffffff), bit.tobit(2^32+5), bit.tobit(1.5), bit.tobit(2.5), bit.tobit(-1.5)}", "0"],
    &["EVAL", "return {bit.band(0xff, 0x0f, 0x3), bit.bor(1,2,4), bit.bxor(5,3), bit.bnot(0)}", "0"],
    &["EVAL", "return {bit.lshift(1, 31), bit.rshift(-1, 28), bit.arshift(-256, 4), bit.rol(0x12345678, 8), bit.ror(0x12345678, 8), bit.bswap(0x12345678)}", "0"],
    &["EVAL", "return {bit.tohex(255), bit.tohex(-1, -4), bit.tohex(0x12345678, 2), bit.tohex(1, 20), bit.tohex(255, 0)}", "0"],
    &["EVAL", "return bit.band()", "0"],
    &["EVAL", "return bit.band('x')", "0"],
    &["EVAL", "return bit.band('12')", "0"],
    &["EVAL", "return bit.tohex(65535, -2147483648)", "0"],
    &["EVAL", "return cjson.decode(string.char(34, 92, 120, 34))", "0"],
    &["EVAL", "return cjson.encode({1,2,3,\"a/b\",[[\"q\"]], string.char(92), string.char(1,8,9,10,12,13,31,127,128,255)})", "0"],
    &["EVAL", "return cjson.decode([[[1,2,{\"a\":[true,false,null]}]]])[3].a[1]", "0"],
    &["EVAL", "return cjson.decode([[{\"a\":1]])", "0"],
    &["EVAL", "return cjson.decode([[\"\\u00e9\\ud83d\\ude00\"]])", "0"],
    &["EVAL", "return cjson.decode([[\"abc]])", "0"],
    &["EVAL", "return cjson.decode([[{1:2}]])", "0"],
    &["EVAL", "return cjson.decode([[{\"a\" 2}]])", "0"],
    &["EVAL", "return cjson.encode(cjson.decode([[{\"a\":-0.0}]]))", "0"],
    &["EVAL", "return cjson.encode(cjson.decode([[{\"k\":{\"n\":[1,2.5,\"x\"]},\"e\":[]}]]))", "0"],
    &["EVAL", "return cjson.decode([[[\"a\\/b\",\"\\t\"]]])", "0"],
    &["EVAL", "return cjson.decode([[\"\\ud83d\"]])", "0"],
    &["EVAL", "return cjson.decode([[\"\\u12\"]])", "0"],
    &["EVAL", "return cjson.decode([[{\"a\":1}]], 2)", "0"],
    &["EVAL", "return cmsgpack.unpack(string.char(0xc1))", "0"],
    &["EVAL", "return cmsgpack.unpack(string.char(0x92, 1))", "0"],
    &["EVAL", "return {struct.unpack(\">i3\", string.char(255,255,254))}", "0"],
    &["EVAL", "return {struct.unpack(\"<I9\", string.char(1,0,0,0,0,0,0,0,1))}", "0"],
    &["EVAL", "return {struct.unpack(\"<i9\", string.char(1,0,0,0,0,0,0,0,1))}", "0"],
];

/// FUNCTION and FCALL.
const FUNCTION_CORPUS: &[&[&str]] = &[
    &["FUNCTION", "FLUSH"],
    &["FUNCTION", "LOAD", "#!lua name=mylib\nredis.register_function('myfunc', function(keys, args) return args[1] end)\nredis.register_function{function_name='ro', callback=function(keys, args) return redis.call('get', keys[1]) end, flags={'no-writes'}, description='a ro func'}"],
    &["FUNCTION", "LIST", "LIBRARYNAME", "my"],
    &["FUNCTION", "LIST", "LIBRARYNAME"],
    &["FUNCTION", "LIST", "foo"],
    &["FCALL", "myfunc", "0", "hello"],
    &["SET", "h", "x"],
    &["FCALL", "ro", "1", "h"],
    &["FCALL_RO", "ro", "1", "h"],
    &["FCALL_RO", "myfunc", "0", "x"],
    &["FCALL", "nosuch", "0"],
    &["FUNCTION", "STATS"],
    &["FUNCTION", "DUMP"],
    &["FUNCTION", "LOAD", "#!lua name=mylib\nredis.register_function('f2', function() return 1 end)"],
    &["FUNCTION", "LOAD", "return 1"],
    &["FUNCTION", "LOAD", "#!lua"],
    &["FUNCTION", "LOAD", "#!lua name=x\nreturn 1"],
    &["FUNCTION", "LOAD", "#!lua name=x\n"],
    &["FUNCTION", "LOAD", "#!lua name=x\nredis.register_function('f2', function() return 1 end) redis.call('ping')"],
    &["FUNCTION", "LOAD", "#!lua name=x foo=bar\nredis.register_function('f2', function() return 1 end)"],
    &["FUNCTION", "LOAD", "#!js name=x\n"],
    &["FUNCTION", "LOAD", "#!lua name=x\nredis.register_function('myfunc', function() return 1 end)"],
    &["FUNCTION", "LOAD", "#!lua name=x\nredis.register_function('bad name!', function() return 1 end)"],
    &["FUNCTION", "LOAD", "#!lua name=x\nredis.register_function('f3', function() return 1 end)\nredis.register_function('f3', function() return 1 end)"],
    &["FUNCTION", "LOAD", "#!lua name=bad-name\nredis.register_function('f3', function() return 1 end)"],
    &["FUNCTION", "LOAD", "#!lua name=x name=y\nredis.register_function('f3', function() return 1 end)"],
    &["FUNCTION", "LOAD", "#!lua name=x\nfunction("],
    &["FUNCTION", "LOAD", "FOO", "#!lua name=x\n"],
    &["FUNCTION", "LOAD"],
    &["FUNCTION", "FLUSH"],
    &["FUNCTION", "LOAD", "#!lua name=lib1\nlocal function helper() return 'h' end\nredis.register_function('f1', function(keys, args) return {keys, args, helper()} end)\nredis.register_function('ferr', function(keys, args) error('boom') end)\nredis.register_function('fcallerr', function(keys, args) return redis.call('incr', 'h') end)\nredis.register_function('fglob', function(keys, args) return x end)\nredis.register_function('fset', function(keys, args) y = 1 end)\nredis.register_function('fkeys', function(keys, args) return KEYS end)\nredis.register_function('fg', function(keys, args) local r = {} for k,v in pairs(_G) do r[#r+1]=k end table.sort(r) return r end)\nredis.register_function('fw', function(keys, args) return redis.call('set', keys[1], args[1]) end)\nredis.register_function{function_name='fro', callback=function(keys, args) return redis.call('set', keys[1], args[1]) end, flags={'no-writes'}}\nredis.register_function('freg', function(keys, args) redis.register_function('x', function() end) end)\nredis.register_function('fr', function(keys, args) local r = {} for k,v in pairs(redis) do r[#r+1]=k end table.sort(r) return r end)\n"],
    &["FCALL", "f1", "2", "a", "b", "c"],
    &["FCALL", "ferr", "0"],
    &["FCALL", "fcallerr", "0"],
    &["FCALL", "fglob", "0"],
    &["FCALL", "fset", "0"],
    &["FCALL", "fkeys", "0"],
    &["FCALL", "fg", "0"],
    &["FCALL", "fr", "0"],
    &["FCALL", "fw", "1", "k", "v"],
    &["FCALL", "fro", "1", "k", "v"],
    &["FCALL", "freg", "0"],
    &["FCALL", "f1"],
    &["FCALL", "f1", "x"],
    &["FCALL", "f1", "5"],
    &["FCALL", "f1", "-1"],
    &["FCALL", "F1", "0"],
    &["FUNCTION", "STATS"],
    &["FUNCTION", "DELETE", "lib1"],
    &["FUNCTION", "DELETE", "lib1"],
    &["FUNCTION", "LOAD", "#!lua name=lib2\nlocal s = string.format('%d', 5)\nredis.register_function('f', function() return s end)"],
    &["FUNCTION", "LOAD", "#!lua name=lib3\nredis.log(redis.LOG_WARNING, 'hi')\nredis.register_function('f3', function() return redis.REDIS_VERSION end)"],
    &["FCALL", "f3", "0"],
    &["FUNCTION", "LOAD", "#!lua name=lib4\nlocal r = {} for k,v in pairs(redis) do r[#r+1]=k end\ntable.sort(r)\nredis.register_function('f4', function() return r end)"],
    &["FUNCTION", "LOAD", "#!lua name=lib5\nredis.register_function('f5', function() return 1 end)\nlocal x = redis.setresp"],
    &["FUNCTION", "LOAD", "#!lua name=lib6\nredis.register_function('f6', 'notfn')"],
    &["FUNCTION", "LOAD", "#!lua name=lib6\nredis.register_function()"],
    &["FUNCTION", "LOAD", "#!lua name=lib6\nredis.register_function{function_name='f', callback=function() end, flags={'bad'}}"],
    &["FUNCTION", "LOAD", "#!lua name=lib6\nredis.register_function{function_name='f', callback=function() end, foo=1}"],
    &["FUNCTION", "LOAD", "#!lua name=lib6\nredis.register_function{callback=function() end}"],
    &["FUNCTION", "LOAD", "#!lua name=lib6\nredis.register_function{function_name='f'}"],
    &["FUNCTION", "LOAD", "#!lua name=lib6\nredis.register_function(1, function() end)"],
    &["FUNCTION", "LOAD", "#!lua name=lib7\nredis.register_function('a', 'b', 'c')"],
    &["FUNCTION", "LOAD", "#!lua name=lib7\nredis.register_function('a')"],
    &["FUNCTION", "LOAD", "#!lua name=lib7\nredis.register_function(nil, function() end)"],
    &["FUNCTION", "LOAD", "#!lua name=lib7\nredis.register_function{function_name=1, callback=function() end}"],
    &["FUNCTION", "LOAD", "#!lua name=lib7\nredis.register_function{function_name='x', callback=1}"],
    &["FUNCTION", "LOAD", "#!lua name=lib7\nredis.register_function{function_name='x', callback=function() end, flags='no-writes'}"],
    &["FUNCTION", "LOAD", "#!lua name=lib7\nredis.register_function{function_name='x', callback=function() end, description=1}"],
    &["FUNCTION", "LOAD", "#!lua name=lib7\nredis.register_function('x', function() end)\nx = 1"],
    &["FUNCTION", "LOAD", "#!lua name=lib7\nredis.register_function('x', function() end)\nredis.x = 1"],
    &["FUNCTION", "LOAD", "#!lua name=lib7\nredis.register_function('x', function() end)\nreturn _G"],
    &["FUNCTION", "LOAD", "#!lua name=lib7\nerror('boom')"],
    &["FUNCTION", "LOAD", "#!lua name=lib7\nerror({err='MY custom'})"],
    &["FUNCTION", "LOAD", "REPLACE", "#!lua name=lib3\nredis.register_function('f3', function() return 'replaced' end)"],
    &["FCALL", "f3", "0"],
    &["FUNCTION", "LOAD", "REPLACE", "#!lua name=lib3\nredis.register_function('f', function() return 'clash' end)"],
    &["FCALL", "f3", "0"],
    &["FUNCTION", "RESTORE", "bad"],
    &["FUNCTION", "RESTORE", "bad", "FOO"],
    &["FUNCTION", "RESTORE", "bad", "FLUSH", "extra"],
    &["FUNCTION", "FLUSH", "FOO"],
    &["FUNCTION", "FLUSH", "SYNC", "EXTRA"],
    &["FUNCTION", "HELP"],
    &["FUNCTION"],
    &["FUNCTION", "FOO"],
    &["FUNCTION", "DELETE"],
    &["FCALL_RO", "f3", "0"],

];

#[test]
fn eval_replies_match_redis_byte_for_byte() {
    let (ours, redis) = pair(&[]);
    let (mut a, mut b) = (ours.raw(), redis.raw());
    assert_same(&mut a, &mut b, EVAL_CORPUS);
}

#[test]
fn lua_libraries_match_redis() {
    let (ours, redis) = pair(&[]);
    let (mut a, mut b) = (ours.raw(), redis.raw());
    assert_same(&mut a, &mut b, LIBS_CORPUS);
}

#[test]
fn resp3_conversions_match_redis() {
    let (ours, redis) = pair(&[]);
    let (mut a, mut b) = (ours.raw(), redis.raw());
    assert!(a.call(&["HELLO", "3"]).starts_with(b"%7"));
    assert!(b.call(&["HELLO", "3"]).starts_with(b"%7"));
    assert_same(
        &mut a,
        &mut b,
        &[
            &["HSET", "h", "a", "1", "b", "2"],
            &["SADD", "s", "x"],
            &["ZADD", "z", "1.5", "m"],
            &["EVAL", "return {map={a=1}}", "0"],
            &["EVAL", "return {set={a=true}}", "0"],
            &["EVAL", "return {double=1.5}", "0"],
            &["EVAL", "return {big_number='123'}", "0"],
            &["EVAL", "return {verbatim_string={format='txt', string='hi'}}", "0"],
            &["EVAL", "return true", "0"],
            &["EVAL", "return false", "0"],
            &["EVAL", "return nil", "0"],
            &["EVAL", "redis.setresp(3); return true", "0"],
            &["EVAL", "redis.setresp(3); return false", "0"],
            &["EVAL", "redis.setresp(3); return redis.call('hgetall', 'h')", "0"],
            &["EVAL", "redis.setresp(3); return redis.call('smembers', 's')", "0"],
            &["EVAL", "redis.setresp(3); return redis.call('zscore', 'z', 'm')", "0"],
            &["EVAL", "redis.setresp(3); return redis.call('get', 'nokey')", "0"],
            &["EVAL", "redis.setresp(3); return {redis.call('exists', 'h')}", "0"],
            &["EVAL", "redis.setresp(3); local r = redis.call('hgetall', 'h'); return {r.map.a, r.map.b}", "0"],
            &["EVAL", "redis.setresp(3); local r = redis.call('zscore', 'z', 'm'); return tostring(r.double)", "0"],
            &["EVAL", "return redis.call('hgetall', 'h')", "0"],
            &["EVAL", "return redis.call('get', 'nokey')", "0"],
            &["EVAL", "return {1, 'two', {3, {map={k='v'}}}}", "0"],
            &["EVAL", "return {err='MYERR raised'}", "0"],
            &["EVAL", "return redis.status_reply('fine')", "0"],
            &["EVAL", "error('x')", "0"],
            &["FUNCTION", "LOAD", "#!lua name=r3\nredis.register_function('r3', function(keys, args) redis.setresp(3) return redis.call('hgetall', keys[1]) end)"],
            &["FCALL", "r3", "1", "h"],
            &["FUNCTION", "LIST"],
            &["FUNCTION", "STATS"],
        ],
    );
}

#[test]
fn functions_match_redis() {
    let (ours, redis) = pair(&[]);
    let (mut a, mut b) = (ours.raw(), redis.raw());
    assert_same(&mut a, &mut b, FUNCTION_CORPUS);
    // LIST, DUMP and RESTORE with single-function libraries (a library's functions come in
    // hash order in Redis).
    assert_same(
        &mut a,
        &mut b,
        &[
            &["FUNCTION", "FLUSH"],
            &["FUNCTION", "LOAD", "#!lua name=lib_a\nredis.register_function{function_name='fa', callback=function(keys, args) return redis.call('incrby', keys[1], args[1]) end, description='adds'}"],
            &["FUNCTION", "LIST"],
            &["FUNCTION", "LIST", "WITHCODE"],
            &["FUNCTION", "LIST", "LIBRARYNAME", "lib_*"],
            &["FUNCTION", "LIST", "LIBRARYNAME", "zz*"],
            &["FCALL", "fa", "1", "counter", "5"],
            &["FCALL", "fa", "1", "counter", "5"],
            &["FCALL_RO", "fa", "1", "counter", "5"],
            &["FUNCTION", "STATS"],
            &["FUNCTION", "DELETE", "lib_a"],
            &["FUNCTION", "LIST"],
            &["FCALL", "fa", "1", "counter", "5"],
        ],
    );
    // DUMP then RESTORE with each policy.
    for c in [&mut a, &mut b] {
        c.call(&["FUNCTION", "FLUSH"]);
        let r = c.call(&[
            "FUNCTION",
            "LOAD",
            "#!lua name=dumped\nredis.register_function('dumped_f', function() return 'from dump' end)",
        ]);
        assert_eq!(r, b"$6\r\ndumped\r\n");
    }
    let dump_a = a.call(&["FUNCTION", "DUMP"]);
    let dump_b = b.call(&["FUNCTION", "DUMP"]);
    assert_eq!(dump_a, dump_b, "FUNCTION DUMP payloads differ");
    let payload = resp::parse_frame(&dump_a).unwrap().unwrap().0;
    let resp::Frame::Bulk(payload) = payload else {
        panic!("dump is a bulk string")
    };
    for c in [&mut a, &mut b] {
        let restore = |c: &mut Raw, policy: Option<&str>| {
            let mut args: Vec<&[u8]> = vec![b"FUNCTION", b"RESTORE", &payload];
            if let Some(p) = policy {
                args.push(p.as_bytes());
            }
            c.cmd(&args);
            c.read_reply()
        };
        assert_eq!(
            restore(c, None),
            b"-ERR Library dumped already exists\r\n".to_vec()
        );
        assert_eq!(restore(c, Some("REPLACE")), b"+OK\r\n".to_vec());
        assert_eq!(restore(c, Some("FLUSH")), b"+OK\r\n".to_vec());
        assert_eq!(
            restore(c, Some("bogus")),
            b"-ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.\r\n".to_vec()
        );
        c.call(&["FUNCTION", "FLUSH"]);
        assert_eq!(restore(c, None), b"+OK\r\n".to_vec());
        assert_eq!(c.call(&["FCALL", "dumped_f", "0"]), b"$9\r\nfrom dump\r\n");
        let mut bad = payload.clone();
        let n = bad.len();
        bad[n - 1] ^= 0xff;
        c.cmd(&[b"FUNCTION", b"RESTORE", &bad]);
        assert_eq!(
            c.read_reply(),
            b"-ERR DUMP payload version or checksum are wrong\r\n"
        );
    }
}

/// Runs the -BUSY scenario against one server and returns every reply seen.
fn busy_scenario(port: u16) -> Vec<String> {
    let mut out = Vec::new();
    let mut b = Raw::connect(port);
    b.s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    assert_eq!(
        b.call(&["CONFIG", "SET", "busy-reply-threshold", "100"]),
        b"+OK\r\n"
    );
    // A read-only busy script: SCRIPT KILL stops it.
    let runner = std::thread::spawn(move || {
        let mut a = Raw::connect(port);
        a.s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        a.call_str(&["EVAL", "local i = 0 while true do i = i + 1 end", "0"])
    });
    wait_busy(&mut b);
    out.push(b.call_str(&["GET", "x"]));
    out.push(b.call_str(&["FUNCTION", "KILL"]));
    out.push(b.call_str(&["FUNCTION", "STATS"]));
    out.push(Raw::connect(port).call_str(&["PING"]));
    out.push(b.call_str(&["SCRIPT", "KILL"]));
    out.push(runner.join().unwrap());
    out.push(b.call_str(&["PING"]));
    out.push(b.call_str(&["SCRIPT", "KILL"]));
    // A busy function: FUNCTION KILL stops it, SCRIPT KILL refuses.
    b.call(&[
        "FUNCTION",
        "LOAD",
        "#!lua name=spin\nredis.register_function{function_name='spin', callback=function() while true do end end, flags={'no-writes'}}",
    ]);
    let runner = std::thread::spawn(move || {
        let mut a = Raw::connect(port);
        a.s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        a.call_str(&["FCALL", "spin", "0"])
    });
    wait_busy(&mut b);
    out.push(b.call_str(&["SCRIPT", "KILL"]));
    let stats = b.call_str(&["FUNCTION", "STATS"]);
    // The duration varies: keep the shape up to it.
    out.push(stats[..stats.find("duration_ms").unwrap_or(stats.len())].to_string());
    out.push(b.call_str(&["FUNCTION", "KILL"]));
    out.push(runner.join().unwrap());
    // A script that wrote cannot be killed; SHUTDOWN NOSAVE ends the server.
    let runner = std::thread::spawn(move || {
        let mut a = Raw::connect(port);
        a.s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        a.cmd(&[
            b"EVAL",
            b"redis.call('set', 'x', '1') while true do end",
            b"0",
        ]);
        a.is_closed()
    });
    wait_busy(&mut b);
    out.push(b.call_str(&["SCRIPT", "KILL"]));
    b.cmd(&[b"SHUTDOWN", b"NOSAVE"]);
    out.push(format!("shutdown closed: {}", b.is_closed()));
    out.push(format!("writer closed: {}", runner.join().unwrap()));
    out
}

/// Waits until the server answers -BUSY.
fn wait_busy(c: &mut Raw) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if c.call_str(&["PING"]).starts_with("-BUSY") {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the script never became busy");
}

#[test]
fn busy_scripts_script_kill_function_kill_and_shutdown_nosave() {
    let ours = Server::start(&[]);
    let redis = Server::start_redis(&[]);
    let a = busy_scenario(ours.port);
    let b = busy_scenario(redis.port);
    assert_eq!(a, b);
    assert!(a[0].starts_with(
        "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
    ));
    assert!(a[5].starts_with("-ERR Script killed by user with SCRIPT KILL..."));
    assert!(a.iter().any(|r| r.starts_with("-UNKILLABLE")));
}

/// The incr AOF file of a server started with `--appendonly yes` in `dir`.
fn incr_aof(dir: &std::path::Path) -> Vec<u8> {
    let aof = dir.join("appendonlydir");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&aof)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".incr.aof"))
        .collect();
    files.sort();
    std::fs::read(files.last().expect("an incr file")).unwrap()
}

#[test]
fn script_effects_reach_the_aof_wrapped_in_multi_exec() {
    let args = ["--appendonly", "yes", "--appendfsync", "always"];
    let (ours, redis) = pair(&args);
    let script: &[&[&str]] = &[
        &["EVAL", "redis.call('set','a','1'); redis.call('incr','a'); return 1", "0"],
        &["EVAL", "redis.call('set','b','1'); return 1", "0"],
        &["EVAL", "return redis.call('get','a')", "0"],
        &["EVAL", "redis.call('select', 2); redis.call('set','c','1'); redis.call('set','d','1'); return 1", "0"],
        &["SET", "e", "1"],
        &["EVAL", "redis.call('set','f','1'); redis.call('incr','g'); redis.call('hset','f','x','y')", "0"],
        &["EVAL", "redis.set_repl(redis.REPL_NONE); redis.call('set','h','1'); redis.set_repl(redis.REPL_ALL); redis.call('set','i','1')", "0"],
        &["EVAL", "redis.set_repl(redis.REPL_REPLICA); redis.call('set','j','1'); redis.set_repl(redis.REPL_AOF); redis.call('set','k','1')", "0"],
        &["MULTI"],
        &["EVAL", "redis.call('set','l','1'); return 1", "0"],
        &["SET", "m", "1"],
        &["EXEC"],
        &["FUNCTION", "LOAD", "#!lua name=w\nredis.register_function('w', function(keys, args) redis.call('set', keys[1], args[1]) return redis.call('incr', keys[2]) end)"],
        &["FCALL", "w", "2", "n", "o", "v"],
        &["FUNCTION", "DELETE", "w"],
    ];
    let (mut a, mut b) = (ours.raw(), redis.raw());
    assert_same(&mut a, &mut b, script);
    let (fa, fb) = (incr_aof(&ours.dir), incr_aof(&redis.dir));
    assert_eq!(
        String::from_utf8_lossy(&fa),
        String::from_utf8_lossy(&fb),
        "AOF contents differ"
    );
    let text = String::from_utf8_lossy(&fa);
    assert!(text.contains("MULTI\r\n*3\r\n$3\r\nset\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$4\r\nincr"));
    assert!(!text.contains("EVAL"));
}

#[test]
fn libraries_survive_debug_reload_restart_and_load_in_redis() {
    let dir = common::scratch_dir("fn-persist");
    let d = dir.to_str().unwrap();
    let lib = "#!lua name=keep\nredis.register_function('keep', function(keys, args) return 'kept ' .. args[1] end)";
    {
        let srv = Server::start(&["--dir", d, "--enable-debug-command", "yes"]);
        let mut c = srv.raw();
        assert_eq!(c.call(&["FUNCTION", "LOAD", lib]), b"$4\r\nkeep\r\n");
        assert_eq!(c.call(&["SCRIPT", "LOAD", "return 'cached'"]).len(), 47);
        assert_eq!(c.call(&["DEBUG", "RELOAD"]), b"+OK\r\n");
        assert_eq!(c.call(&["FCALL", "keep", "0", "x"]), b"$6\r\nkept x\r\n");
        assert_eq!(c.call(&["SAVE"]), b"+OK\r\n");
    }
    {
        // Restart from the RDB: the library is back, cached scripts are not (as Redis 7.0).
        let srv = Server::start(&["--dir", d]);
        let mut c = srv.raw();
        assert_eq!(c.call(&["FCALL", "keep", "0", "y"]), b"$6\r\nkept y\r\n");
        assert_eq!(
            c.call(&[
                "SCRIPT",
                "EXISTS",
                "e3c2c0ff4d2c9b6e7b4c3b2f1f5d3a6f8f0b1c2d"
            ]),
            b"*1\r\n:0\r\n"
        );
    }
    {
        // redis-server reads our RDB, library included.
        let srv = Server::start_bin(&common::require_redis(), &["--dir", d, "--save", ""]);
        let mut c = srv.raw();
        assert_eq!(c.call(&["FCALL", "keep", "0", "z"]), b"$6\r\nkept z\r\n");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn functions_replay_from_the_aof() {
    let dir = common::scratch_dir("fn-aof");
    let d = dir.to_str().unwrap();
    let lib = "#!lua name=aofl\nredis.register_function('aofl', function() return 'replayed' end)";
    {
        let srv = Server::start(&[
            "--dir",
            d,
            "--appendonly",
            "yes",
            "--aof-use-rdb-preamble",
            "no",
        ]);
        let mut c = srv.raw();
        assert_eq!(c.call(&["FUNCTION", "LOAD", lib]), b"$4\r\naofl\r\n");
        assert_eq!(c.call(&["BGREWRITEAOF"]).first(), Some(&b'+'));
        common::wait_field(&mut c, "persistence", "aof_rewrite_in_progress", "0");
        std::thread::sleep(Duration::from_millis(200));
    }
    let srv = Server::start(&["--dir", d, "--appendonly", "yes"]);
    let mut c = srv.raw();
    assert_eq!(c.call(&["FCALL", "aofl", "0"]), b"$8\r\nreplayed\r\n");
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn scripts_cannot_exhaust_memory_or_crash_the_server() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    c.s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    // The Lua heap is bounded.
    let r = c.call_str(&[
        "EVAL",
        "local s = 'x' for i = 1, 40 do s = s .. s end return #s",
        "0",
    ]);
    assert!(r.starts_with("-ERR Error running script"), "{r}");
    assert!(r.contains("not enough memory"), "{r}");
    // Redis crashes on error({}); we answer.
    let r = c.call_str(&["EVAL", "error({})", "0"]);
    assert!(r.starts_with('-'), "{r}");
    // A table that contains itself: nested arrays down to Lua's stack limit, as Redis
    // (deeper than our client's parser accepts, so read raw).
    {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        s.write_all(&resp::encode_command(&[
            "EVAL",
            "local t = {} t[1] = t return t",
            "0",
        ]))
        .unwrap();
        let mut got = Vec::new();
        let mut chunk = [0u8; 65536];
        while !got.ends_with(b"-ERR reached lua stack limit\r\n") {
            let n = s.read(&mut chunk).unwrap();
            assert!(n > 0);
            got.extend_from_slice(&chunk[..n]);
        }
        assert_eq!(got.len(), 7995 * 4 + 30);
    }
    // Deep JSON and msgpack input.
    let r = c.call_str(&["EVAL", "return cjson.decode(string.rep('[', 100000))", "0"]);
    assert!(r.contains("Found too many nested data structures"), "{r}");
    let r = c.call_str(&[
        "EVAL",
        "return #cmsgpack.unpack(string.rep(string.char(0x91), 100000) .. string.char(1))",
        "0",
    ]);
    assert!(r.starts_with('-'), "{r}");
    assert_eq!(c.call(&["PING"]), b"+PONG\r\n");
    assert_eq!(
        c.call(&["EVAL", "return 'still here'", "0"]),
        b"$10\r\nstill here\r\n"
    );
}

#[test]
fn eval_ro_and_no_writes_refuse_writes_everywhere() {
    let (ours, redis) = pair(&[]);
    let (mut a, mut b) = (ours.raw(), redis.raw());
    assert_same(
        &mut a,
        &mut b,
        &[
            &["SET", "k", "v"],
            &["EVAL_RO", "return redis.call('del', KEYS[1])", "1", "k"],
            &[
                "EVALSHA_RO",
                "0000000000000000000000000000000000000000",
                "0",
            ],
            &["SCRIPT", "LOAD", "return redis.call('get', KEYS[1])"],
            &[
                "EVALSHA_RO",
                "b17d7d2d1c8c9f1c9b0e9e5e8a0f3b9e0a7f6c5d",
                "1",
                "k",
            ],
            &[
                "EVAL_RO",
                "#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])",
                "1",
                "k",
            ],
            &["EVAL_RO", "#!lua\nreturn 1", "0"],
            &[
                "EVAL",
                "#!lua flags=no-writes\nreturn redis.pcall('publish', 'c', 'm')",
                "0",
            ],
            &[
                "EVAL",
                "#!lua flags=no-writes\nreturn redis.pcall('set', 'k', 'w')",
                "0",
            ],
            &["GET", "k"],
            &["MULTI"],
            &["EVAL", "return redis.call('incr', 'n')", "0"],
            &["EVAL_RO", "return redis.call('incr', 'n')", "0"],
            &["EXEC"],
        ],
    );
}
