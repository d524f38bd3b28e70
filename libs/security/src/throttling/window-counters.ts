/** One fixed-window policy: at most `limit` hits per `ttlMs`. */
export interface PolicyWindow {
  name: string;
  limit: number;
  ttlMs: number;
}

/** Where a policy's window stands after a request. */
export interface PolicyCount extends PolicyWindow {
  hits: number;
  /** Milliseconds until the window starts again. */
  resetMs: number;
}

/** Every policy's count, and the first policy that refused the request (nothing counted then). */
export interface ThrottleOutcome {
  counts: PolicyCount[];
  refusedBy?: PolicyCount;
}

/**
 * Lua, for the scripts that count a policy's fixed window (this one's and the per-IP layer's,
 * on the same counters): adds `n` admitted hits to a counter that holds `hits` after them, and
 * returns the ms left in its window — which starts with its first hit, `window` ms long.
 */
export const ADD_HITS_LUA = `
local function add_hits(key, n, hits, window)
  if n > 0 then redis.call('INCRBY', key, n) end
  local ttl = redis.call('PTTL', key)
  if ttl < 0 and hits > 0 then
    redis.call('PEXPIRE', key, window)
    return window
  end
  if ttl < 0 then return 0 end
  return ttl
end`;

/**
 * All or nothing over one tracker's policies, in one Redis script, for `n` requests in arrival
 * order — exactly as `n` calls one after the other would count them: while every window has
 * room, each counts the request; when one is full, none does (a refused request uses no
 * budget). KEYS: one counter per policy; ARGV: limit and window (ms) per policy, then `n`.
 * Returns, per request, the index of the refusing policy (0: admitted), then its hits and
 * ms-to-reset per policy.
 */
export const THROTTLE_SCRIPT = `${ADD_HITS_LUA}
local n = tonumber(ARGV[2 * #KEYS + 1]) or 1
local hits, rows, admitted = {}, {}, 0
for i = 1, #KEYS do hits[i] = tonumber(redis.call('GET', KEYS[i]) or '0') end
for r = 1, n do
  local refused = 0
  for i = 1, #KEYS do
    if refused == 0 and hits[i] >= tonumber(ARGV[2 * i - 1]) then refused = i end
  end
  if refused == 0 then
    admitted = admitted + 1
    for i = 1, #KEYS do hits[i] = hits[i] + 1 end
  end
  local row = { refused }
  for i = 1, #KEYS do row[i + 1] = hits[i] end
  rows[r] = row
end
local ttls = {}
for i = 1, #KEYS do ttls[i] = add_hits(KEYS[i], admitted, hits[i], tonumber(ARGV[2 * i])) end
local out = {}
for r = 1, n do
  out[#out + 1] = rows[r][1]
  for i = 1, #KEYS do
    out[#out + 1] = rows[r][i + 1]
    out[#out + 1] = ttls[i]
  end
end
return out
`;

/** The script's reply for one request (the `request`-th of the call), read back into counts. */
export function outcomeOf(windows: PolicyWindow[], reply: number[], request = 0): ThrottleOutcome {
  const at = request * (1 + 2 * windows.length);
  const counts = windows.map((window, index) => ({
    ...window,
    hits: reply[at + 1 + 2 * index],
    resetMs: reply[at + 2 + 2 * index],
  }));
  const refused = reply[at];
  return { counts, refusedBy: refused > 0 ? counts[refused - 1] : undefined };
}

/** Counters beyond which expired windows are swept from memory. */
const SWEEP_ABOVE = 10_000;

/**
 * The same all-or-nothing fixed windows in one process's memory: what the per-key layer counts
 * with while Redis cannot answer (each replica then limits on its own, never not at all).
 */
export class MemoryWindows {
  private readonly windows = new Map<string, { hits: number; resetAt: number }>();

  consume(keys: string[], windows: PolicyWindow[], now = Date.now()): ThrottleOutcome {
    if (this.windows.size > SWEEP_ABOVE) this.sweep(now);
    const current = keys.map((key) => {
      const window = this.windows.get(key);
      return window && window.resetAt > now ? window : undefined;
    });
    const refused = windows.findIndex(
      (window, index) => (current[index]?.hits ?? 0) >= window.limit,
    );
    const reply: number[] = [refused + 1];
    keys.forEach((key, index) => {
      let window = current[index];
      if (refused < 0) {
        window ??= { hits: 0, resetAt: now + windows[index].ttlMs };
        window.hits += 1;
        this.windows.set(key, window);
      }
      reply.push(window?.hits ?? 0, window ? window.resetAt - now : 0);
    });
    return outcomeOf(windows, reply);
  }

  private sweep(now: number): void {
    for (const [key, window] of this.windows) if (window.resetAt <= now) this.windows.delete(key);
  }
}
