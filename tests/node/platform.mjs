// What the node tests share: starting the platform on embedded defaults, GraphQL
// over fetch, and signing people up (the mailed code read from the local outbox).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';

const root = new URL('../..', import.meta.url).pathname;
const bin = process.env.TEST_ECHOSTREAM_BIN ?? join(root, 'target/debug/echostream');

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function eventually(what, probe, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/// Starts the platform on embedded defaults; `gatewayPort` and further `env` (a
/// configuration file, say) when given.
export async function startPlatform({ gatewayPort, env: extra = {} } = {}) {
  const dataDir = join(mkdtempSync(join(tmpdir(), 'echostream-node-')), 'data');
  gatewayPort ??= await freePort();
  // Tests drive users far faster than people do: the per-user rate limits are lifted
  // (as the Rust test kit does).
  const unlimited = Object.fromEntries(
    ['SEND_MESSAGE_PER_10S', 'MARKS_PER_MINUTE', 'GROUPS_PER_HOUR', 'FRIEND_REQUESTS_PER_HOUR',
      'EMAIL_CHANGES_PER_HOUR', 'SEARCHES_PER_MINUTE', 'EXPORTS_PER_HOUR', 'OTHER_WRITES_PER_MINUTE']
      .map((key) => [`ECHOSTREAM_RATE_LIMITS__${key}`, '1000000']),
  );
  const env = { ...process.env, ECHOSTREAM_PROFILE: 'embedded', ECHOSTREAM_DATA_DIR: dataDir, ECHOSTREAM_GATEWAY__PORT: String(gatewayPort), LOG_LEVEL: 'warn', ...unlimited, ...extra };
  for (const name of ['auth', 'profile', 'chat', 'presence', 'notification']) {
    env[`ECHOSTREAM_LISTEN__${name.toUpperCase()}_PORT`] = String(await freePort());
  }
  const child = spawn(bin, [], { cwd: root, env, stdio: ['ignore', 'ignore', 'inherit'] });
  const url = `http://127.0.0.1:${gatewayPort}/graphql`;
  let exited = null;
  child.on('exit', (code) => { exited = code; });
  await eventually('the gateway', async () => {
    if (exited !== null) throw new Error(`the platform exited with ${exited} before becoming ready`);
    try {
      const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __typename }' }) });
      return r.ok ? true : undefined;
    } catch { return undefined; }
  }, 90000);
  return { url, dataDir, stop: () => child.kill('SIGKILL') };
}

export async function gql(url, query, variables = {}, token) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const r = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  return r.json();
}

export async function signUp(platform, name) {
  const username = `${name}_${Math.random().toString(36).slice(2, 8)}`;
  const email = `${username}@example.com`;
  const password = 'correct horse battery';
  const reg = await gql(platform.url, 'mutation($i: RegisterInput!) { register(input: $i) { id } }', { i: { email, username, password } });
  assert.equal(reg.errors, undefined, JSON.stringify(reg));
  const code = await eventually('the mailed code', () => {
    const outbox = join(platform.dataDir, 'mail/outbox.jsonl');
    if (!existsSync(outbox)) return undefined;
    const mails = readFileSync(outbox, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((m) => m.to === email);
    return mails.at(-1)?.text.match(/\b(\d{6})\b/)?.[1];
  });
  const verified = await gql(platform.url, 'mutation($e: String!, $c: String!) { verifyEmail(email: $e, code: $c) { id } }', { e: email, c: code });
  assert.equal(verified.errors, undefined, JSON.stringify(verified));
  const login = await gql(platform.url, 'mutation($i: LoginInput!) { login(input: $i) { accessToken user { id } } }', { i: { login: username, password } });
  return { username, id: login.data.login.user.id, token: login.data.login.accessToken };
}


/// Makes `a` and `b` friends and returns their direct conversation's id.
export async function friendsWithConversation(platform, a, b) {
  await eventually('a to be searchable', async () => {
    const r = await gql(platform.url, 'query($q: String!) { searchUsers(query: $q) { edges { node { id } } } }', { q: a.username }, b.token);
    return r.data?.searchUsers?.edges?.some((e) => e.node.id === a.id) ? true : undefined;
  });
  const request = await gql(platform.url, 'mutation($u: String!) { sendFriendRequest(username: $u) { id } }', { u: a.username }, b.token);
  await gql(platform.url, 'mutation($id: ID!) { acceptFriendRequest(id: $id) { id } }', { id: request.data.sendFriendRequest.id }, a.token);
  return eventually('the direct conversation', async () => {
    const r = await gql(platform.url, 'mutation($u: ID!) { startDirectConversation(userId: $u) { id } }', { u: b.id }, a.token);
    return r.data?.startDirectConversation?.id;
  });
}
