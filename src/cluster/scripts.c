/* The Lua scripts that change the cluster's shared state in Redis: one a
 * kind of change. Each updates the keys (named in cluster_int.h) and
 * publishes the event on the users' channel with a global sequence it
 * takes (INCR) in the same step, so a snapshot read by a script (which
 * runs alone, as every script does) and the stream of events cannot
 * disagree: an event is in the snapshot exactly when its sequence is at
 * most the snapshot's.
 *
 * Every script takes ARGV[1] the key prefix and ARGV[2] the encoded event
 * (empty for the snapshot), and builds its key names from them: the
 * state is kept on one Redis (a Redis Cluster would need every key in one
 * slot); only rooms' traffic is sharded (docs/cluster.md). What a script
 * publishes is a frame: "S<seq> <member modes> " and the event's bytes
 * (apply.c reads it). Names arrive folded (chat/names.c); a nickname in a
 * MODE's text is folded here by the same rule (ASCII letters only, as
 * string.lower does in Redis's C locale). */
#include "cluster/cluster_int.h"

#include <openssl/evp.h>
#include <stdio.h>

/* What every script starts with: the prefix, and publish(modes), the
 * event's frame out with the next global sequence, which the script
 * returns as {seq, modes}. */
#define PROLOGUE \
	"local P = ARGV[1]\n" \
	"local function publish(modes)\n" \
	"  local seq = redis.call('INCR', P .. 'seq')\n" \
	"  redis.call('PUBLISH', P .. 'u', 'S' .. seq .. ' ' .. modes .. ' ' .. ARGV[2])\n" \
	"  return {seq, modes}\n" \
	"end\n" \
	/* A room's keys are gone with its last member. */ \
	"local function leave(f, nick)\n" \
	"  local R = P .. 'room:' .. f\n" \
	"  redis.call('HDEL', R .. ':m', nick)\n" \
	"  if redis.call('HLEN', R .. ':m') == 0 then\n" \
	"    redis.call('DEL', R, R .. ':b', R .. ':e', R .. ':I')\n" \
	"    redis.call('SREM', P .. 'rooms', f)\n" \
	"  end\n" \
	"end\n"

/* JOIN. ARGV: 3 room folded, 4 room as spelled, 5 joiner folded, 6 its
 * node, 7 the room's flags if it is made now, 8 now (s), 9 "1" when the
 * JOIN is told again (health.c: the joiner is in the room since before),
 * 10 its modes on its node, 11 "1" when the room is registered there. The
 * first joiner of a room nobody is in is its operator: decided here, so
 * two first joiners on two nodes at once give one operator. A JOIN told
 * again keeps the modes Redis has (the Redis copy wins), or its node's
 * when Redis has none (Redis restarted empty). A registered room's
 * operators are its accounts' (ChanServ's MODE follows the JOIN), as on
 * a single server: its first joiner gets what its node gave. */
static const char join_lua[] = PROLOGUE
	"local R = P .. 'room:' .. ARGV[3]\n"
	"local modes = 0\n"
	"local cur = redis.call('HGET', R .. ':m', ARGV[5])\n"
	"if redis.call('HLEN', R .. ':m') == 0 then\n"
	"  modes = 1\n"
	"  redis.call('DEL', R, R .. ':b', R .. ':e', R .. ':I')\n"
	"  redis.call('HSET', R, 'name', ARGV[4], 'created', ARGV[8], 'modes', ARGV[7])\n"
	"  redis.call('SADD', P .. 'rooms', ARGV[3])\n"
	"end\n"
	"if ARGV[9] == '1' then\n"
	"  modes = cur and tonumber(string.match(cur, ' (%d+)$')) or tonumber(ARGV[10])\n"
	"elseif ARGV[11] == '1' then\n"
	"  modes = tonumber(ARGV[10])\n"
	"end\n"
	"redis.call('HSET', R .. ':m', ARGV[5], ARGV[6] .. ' ' .. modes)\n"
	"return publish(modes)\n";

/* PART and KICK. ARGV: 3 room folded, 4 who leaves, folded. */
static const char leave_lua[] = PROLOGUE
	"leave(ARGV[3], ARGV[4])\n"
	"return publish(0)\n";

/* TOPIC. ARGV: 3 room folded, 4 "1" set or "0" cleared, 5 the topic,
 * 6 by (nick!ident@host), 7 at (s). */
static const char topic_lua[] = PROLOGUE
	"local R = P .. 'room:' .. ARGV[3]\n"
	"if redis.call('EXISTS', R) == 1 then\n"
	"  if ARGV[4] == '1' then\n"
	"    redis.call('HSET', R, 'topic', ARGV[5], 'topic_by', ARGV[6], 'topic_at', ARGV[7])\n"
	"  else\n"
	"    redis.call('HDEL', R, 'topic', 'topic_by', 'topic_at')\n"
	"  end\n"
	"end\n"
	"return publish(0)\n";

/* MODE. ARGV: 3 room folded, 4 the change as the hub told it ("+o-v bob
 * carol"), 5 by (nick), 6 at (s). Read by hub_modes_apply's rules: o, v,
 * b, e, I and k take an argument, l when set. */
static const char mode_lua[] = PROLOGUE
	"local R = P .. 'room:' .. ARGV[3]\n"
	"if redis.call('EXISTS', R) == 0 then return publish(0) end\n"
	"local text = ARGV[4]\n"
	"local sp = string.find(text, ' ', 1, true)\n"
	"local letters = sp and string.sub(text, 1, sp - 1) or text\n"
	"local args = {}\n"
	"if sp then\n"
	"  for a in string.gmatch(string.sub(text, sp + 1), '%S+') do args[#args + 1] = a end\n"
	"end\n"
	"local flags = redis.call('HGET', R, 'modes') or ''\n"
	"local on, ai = true, 1\n"
	"for i = 1, #letters do\n"
	"  local c = string.sub(letters, i, i)\n"
	"  if c == '+' then on = true\n"
	"  elseif c == '-' then on = false\n"
	"  else\n"
	"    local arg\n"
	"    if string.find('ovbeIk', c, 1, true) or (c == 'l' and on) then\n"
	"      arg = args[ai]\n"
	"      ai = ai + 1\n"
	"      if arg == nil then break end\n"
	"    end\n"
	"    if c == 'o' or c == 'v' then\n"
	"      local f = string.lower(arg)\n"
	"      local cur = redis.call('HGET', R .. ':m', f)\n"
	"      if cur then\n"
	"        local node, m = string.match(cur, '^(%d+) (%d+)$')\n"
	"        m = tonumber(m)\n"
	"        local b = c == 'o' and 1 or 2\n"
	"        local has = m % (2 * b) >= b\n"
	"        if on and not has then m = m + b elseif not on and has then m = m - b end\n"
	"        redis.call('HSET', R .. ':m', f, node .. ' ' .. m)\n"
	"      end\n"
	"    elseif c == 'b' or c == 'e' or c == 'I' then\n"
	"      if on then redis.call('HSET', R .. ':' .. c, arg, ARGV[6] .. ' ' .. ARGV[5])\n"
	"      else redis.call('HDEL', R .. ':' .. c, arg) end\n"
	"    elseif c == 'k' then\n"
	"      if on then redis.call('HSET', R, 'key', arg) else redis.call('HDEL', R, 'key') end\n"
	"    elseif c == 'l' then\n"
	"      if on then redis.call('HSET', R, 'limit', arg) else redis.call('HDEL', R, 'limit') end\n"
	"    elseif string.find('imnst', c, 1, true) then\n"
	"      flags = string.gsub(flags, c, '')\n"
	"      if on then flags = flags .. c end\n"
	"    end\n"
	"  end\n"
	"end\n"
	"redis.call('HSET', R, 'modes', flags)\n"
	"return publish(0)\n";

/* A user's event (MSG_CONNECT, NICK, QUIT, AWAY, SETNAME, CHGHOST, UMODE,
 * ACCOUNT): its directory entry, user:<nick folded>, is the MSG_CONNECT
 * that makes it as it is now (a node that starts later decodes it).
 * ARGV: 3 its nick folded, 4 its entry ("" when it quit), 5 its old nick
 * folded (a NICK; else ""), 6 its node, 7 onwards the rooms it is in,
 * folded (a NICK moves its membership there; a QUIT takes it out). */
static const char user_lua[] = PROLOGUE
	"local U = P .. 'user:'\n"
	"local old, quit = ARGV[5], ARGV[4] == ''\n"
	"if old ~= '' and old ~= ARGV[3] then\n"
	"  redis.call('DEL', U .. old)\n"
	"  redis.call('HDEL', P .. 'users', old)\n"
	"end\n"
	"if quit then\n"
	"  redis.call('DEL', U .. ARGV[3])\n"
	"  redis.call('HDEL', P .. 'users', ARGV[3])\n"
	"else\n"
	"  redis.call('SET', U .. ARGV[3], ARGV[4])\n"
	"  redis.call('HSET', P .. 'users', ARGV[3], ARGV[6])\n"
	"end\n"
	"for i = 7, #ARGV do\n"
	"  local M = P .. 'room:' .. ARGV[i] .. ':m'\n"
	"  if quit then\n"
	"    leave(ARGV[i], ARGV[3])\n"
	"  elseif old ~= '' then\n"
	"    local v = redis.call('HGET', M, old)\n"
	"    if v then\n"
	"      redis.call('HDEL', M, old)\n"
	"      redis.call('HSET', M, ARGV[3], v)\n"
	"    end\n"
	"  end\n"
	"end\n"
	"return publish(0)\n";

/* An event that changes no key (INVITE: the only node that ever checks an
 * invitation is the invited user's own, which holds it). */
static const char event_lua[] = PROLOGUE
	"return publish(0)\n";

/* The snapshot: {seq, users, rooms}, read at once, so it holds exactly
 * the events up to seq. users: each user's entry; rooms: for each, the
 * flat HGETALLs of its hash, members, +b, +e and +I. */
static const char snapshot_lua[] = PROLOGUE
	"local seq = tonumber(redis.call('GET', P .. 'seq') or '0')\n"
	"local users = {}\n"
	"for _, f in ipairs(redis.call('HKEYS', P .. 'users')) do\n"
	"  local v = redis.call('GET', P .. 'user:' .. f)\n"
	"  if v then users[#users + 1] = v end\n"
	"end\n"
	"local rooms = {}\n"
	"for _, f in ipairs(redis.call('SMEMBERS', P .. 'rooms')) do\n"
	"  local R = P .. 'room:' .. f\n"
	"  rooms[#rooms + 1] = { redis.call('HGETALL', R), redis.call('HGETALL', R .. ':m'),\n"
	"    redis.call('HGETALL', R .. ':b'), redis.call('HGETALL', R .. ':e'),\n"
	"    redis.call('HGETALL', R .. ':I') }\n"
	"end\n"
	"return {seq, users, rooms}\n";

/* The rooms alone, as the snapshot has them: {seq, {}, rooms}, for a node
 * whose link blipped (snapshot.c). */
static const char rooms_lua[] = PROLOGUE
	"local seq = tonumber(redis.call('GET', P .. 'seq') or '0')\n"
	"local rooms = {}\n"
	"for _, f in ipairs(redis.call('SMEMBERS', P .. 'rooms')) do\n"
	"  local R = P .. 'room:' .. f\n"
	"  rooms[#rooms + 1] = { redis.call('HGETALL', R), {},\n"
	"    redis.call('HGETALL', R .. ':b'), redis.call('HGETALL', R .. ':e'),\n"
	"    redis.call('HGETALL', R .. ':I') }\n"
	"end\n"
	"return {seq, {}, rooms}\n";

/* A dead node's users leave the shared state (its reaper runs it; every
 * node told its own users of their QUITs: health.c). ARGV: 3 the node.
 * Publishes nothing. Not once the node's heartbeat is back: it came back
 * since it was found gone, and told its users again behind its key. */
static const char reap_lua[] = PROLOGUE
	"if redis.call('EXISTS', P .. 'node:' .. ARGV[3]) == 1 then return 0 end\n"
	"local gone = {}\n"
	"local users = redis.call('HGETALL', P .. 'users')\n"
	"for i = 1, #users, 2 do\n"
	"  if users[i + 1] == ARGV[3] then\n"
	"    redis.call('DEL', P .. 'user:' .. users[i])\n"
	"    redis.call('HDEL', P .. 'users', users[i])\n"
	"  end\n"
	"end\n"
	"for _, f in ipairs(redis.call('SMEMBERS', P .. 'rooms')) do\n"
	"  local m = redis.call('HGETALL', P .. 'room:' .. f .. ':m')\n"
	"  for i = 1, #m, 2 do\n"
	"    if string.match(m[i + 1], '^(%d+) ') == ARGV[3] then leave(f, m[i]) end\n"
	"  end\n"
	"end\n"
	"return 0\n";

static const char *const texts[SCRIPT_COUNT] = {
	[SCRIPT_REAP] = reap_lua,
	[SCRIPT_JOIN] = join_lua,
	[SCRIPT_LEAVE] = leave_lua,
	[SCRIPT_TOPIC] = topic_lua,
	[SCRIPT_MODE] = mode_lua,
	[SCRIPT_USER] = user_lua,
	[SCRIPT_EVENT] = event_lua,
	[SCRIPT_SNAPSHOT] = snapshot_lua,
	[SCRIPT_ROOMS] = rooms_lua,
};

const char *
cluster_script_text(enum cluster_script s)
{
	return texts[s];
}

int
cluster_script_sha(enum cluster_script s, char out[CLUSTER_SHA_LEN + 1])
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	const char *t = texts[s];
	if (EVP_Digest(t, strlen(t), digest, &n, EVP_sha1(), NULL) != 1 ||
	    n * 2 != CLUSTER_SHA_LEN)
		return -1;
	for (unsigned i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", digest[i]);
	return 0;
}
