#!lua name=coupon

-- The coupon service's server-side steps. Each runs atomically on the primary and is
-- replicated as its effects, so a replica promoted by a failover holds exactly what
-- the old primary had acknowledged to it.

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- KEYS: state, remaining, requests, campaigns set
-- ARGV: campaign id, quantity, starts ms, ends ms ('' for none), closed (0/1), already issued
-- Creates the campaign's issuance state unless it exists; returns 1 if created, 0 if not.
local function create(keys, args)
  if redis.call('EXISTS', keys[1]) == 1 then
    return 0
  end
  local quantity = tonumber(args[2])
  local issued = tonumber(args[6] or '0')
  redis.call('HSET', keys[1], 'quantity', args[2], 'starts_ms', args[3], 'ends_ms', args[4],
    'closed', args[5])
  redis.call('SET', keys[2], math.max(quantity - issued, 0))
  if redis.call('EXISTS', keys[3]) == 0 then
    redis.call('XGROUP', 'CREATE', keys[3], 'persisters', '0', 'MKSTREAM')
  end
  redis.call('SADD', keys[4], args[1])
  return 1
end

-- KEYS: state
-- ARGV: starts ms, ends ms ('' for none), closed (0/1)
-- Changes the window of an existing campaign; returns 0 if it does not exist.
local function update(keys, args)
  if redis.call('EXISTS', keys[1]) == 0 then
    return 0
  end
  redis.call('HSET', keys[1], 'starts_ms', args[1], 'ends_ms', args[2], 'closed', args[3])
  return 1
end

-- KEYS: state, remaining, holders, requests, the user's hash
-- ARGV: campaign id, user id, idempotency key, attempt nonce
-- Returns {outcome, coupon, issued ms, seq, nonce}; outcome is one of issued, replayed (the
-- same request again; nonce tells which attempt issued it), duplicate (the user holds one
-- from another request), unknown, closed, not-started, ended, sold-out.
local function issue(keys, args)
  local campaign, user, key, nonce = args[1], args[2], args[3], args[4] or ''
  local state = redis.call('HMGET', keys[1], 'quantity', 'starts_ms', 'ends_ms', 'closed')
  if not state[1] then
    return {'unknown'}
  end
  local held = redis.call('HGET', keys[3], user)
  if held then
    local coupon, held_key, at, seq, by = string.match(held, '^([^|]*)|([^|]*)|([^|]*)|([^|]*)|?([^|]*)$')
    if held_key == key then
      return {'replayed', coupon, at, seq, by}
    end
    return {'duplicate', coupon, at, seq, by}
  end
  if state[4] == '1' then
    return {'closed'}
  end
  local now = now_ms()
  if now < tonumber(state[2]) then
    return {'not-started'}
  end
  if state[3] ~= '' and now >= tonumber(state[3]) then
    return {'ended'}
  end
  local remaining = tonumber(redis.call('GET', keys[2]) or '0')
  if remaining <= 0 then
    return {'sold-out'}
  end
  redis.call('DECR', keys[2])
  local seq = tonumber(state[1]) - remaining + 1
  local coupon = campaign .. '-' .. seq
  redis.call('HSET', keys[3], user, coupon .. '|' .. key .. '|' .. now .. '|' .. seq .. '|' .. nonce)
  redis.call('HSET', keys[5], campaign, coupon)
  redis.call('XADD', keys[4], '*', 'campaign', campaign, 'user', user, 'coupon', coupon,
    'seq', seq, 'key', key, 'at', now)
  return {'issued', coupon, tostring(now), tostring(seq), nonce}
end

redis.register_function('coupon_create', create)
redis.register_function('coupon_update', update)
redis.register_function('coupon_issue', issue)
