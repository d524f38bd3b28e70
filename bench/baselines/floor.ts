import { createHash } from 'node:crypto';
import { createServer, ServerResponse } from 'node:http';
import { Pool } from 'pg';

/**
 * The cost floor of the authenticated read in Node, for `npm run bench`: plain `node:http` and
 * `pg` doing the same work as the api's `GET /api/v1/generations/:id` — the key's SHA-256 looked
 * up in an in-memory cache (PostgreSQL on a miss, trusted for 30 s), the same SELECT, the same
 * JSON — and nothing else: no logging, no headers, no limits, no framework.
 */
const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
const KEY_CACHE_MS = 30_000;
const keys = new Map<string, { userId: string; until: number }>();
const READ = /^\/api\/v1\/generations\/([0-9a-f-]{36})$/;

const COLUMNS = `id, status, prompt, model, result, error, attempts, prompt_tokens, completion_tokens,
  created_at, started_at, completed_at, callback_url, callback_state, callback_attempts,
  callback_last_status`;

interface Row {
  id: string;
  status: string;
  prompt: string;
  model: string;
  result: string | null;
  error: string | null;
  attempts: number;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  created_at: Date;
  started_at: Date | null;
  completed_at: Date | null;
  callback_url: string | null;
  callback_state: string | null;
  callback_attempts: number;
  callback_last_status: number | null;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

async function userOf(authorization: string | undefined): Promise<string | undefined> {
  if (!authorization?.startsWith('Bearer ')) return undefined;
  const hash = createHash('sha256').update(authorization.slice(7)).digest('hex');
  const cached = keys.get(hash);
  if (cached && cached.until > Date.now()) return cached.userId;
  const { rows } = await pool.query<{ user_id: string }>(
    'SELECT user_id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL',
    [hash],
  );
  if (!rows[0]) return undefined;
  keys.set(hash, { userId: rows[0].user_id, until: Date.now() + KEY_CACHE_MS });
  return rows[0].user_id;
}

const server = createServer((req, res) => {
  if (req.url === '/health') return send(res, 200, { status: 'ok' });
  const id = READ.exec(req.url ?? '')?.[1];
  if (req.method !== 'GET' || !id) return send(res, 404, { status: 404 });
  userOf(req.headers.authorization)
    .then(async (userId) => {
      if (!userId) return send(res, 401, { status: 401 });
      const { rows } = await pool.query<Row>(
        `SELECT ${COLUMNS} FROM generations WHERE id = $1 AND owner_id = $2`,
        [id, userId],
      );
      const row = rows[0];
      if (!row) return send(res, 404, { status: 404 });
      send(res, 200, {
        id: row.id,
        status: row.status,
        prompt: row.prompt,
        model: row.model,
        result: row.result,
        error: row.error,
        attempts: row.attempts,
        usage: { promptTokens: row.prompt_tokens, completionTokens: row.completion_tokens },
        createdAt: row.created_at.toISOString(),
        startedAt: row.started_at?.toISOString() ?? null,
        completedAt: row.completed_at?.toISOString() ?? null,
        callback: row.callback_url
          ? {
              url: row.callback_url,
              state: row.callback_state,
              attempts: row.callback_attempts,
              lastStatus: row.callback_last_status,
            }
          : null,
      });
    })
    .catch(() => send(res, 500, { status: 500 }));
});

server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
process.once('SIGTERM', () => server.close(() => void pool.end().then(() => process.exit(0))));
