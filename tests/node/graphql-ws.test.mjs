// A real third-party client against EchoStream: the graphql-ws library (the
// reference graphql-transport-ws client that Apollo Client's GraphQLWsLink uses)
// subscribes through the gateway, and plain fetch drives the mutations.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const root = new URL('../..', import.meta.url).pathname;
const bin = process.env.TEST_ECHOSTREAM_BIN ?? join(root, 'target/debug/echostream');

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function eventually(what, probe, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

async function startPlatform() {
  const dataDir = join(mkdtempSync(join(tmpdir(), 'echostream-node-')), 'data');
  const gatewayPort = await freePort();
  const env = { ...process.env, ECHOSTREAM_PROFILE: 'embedded', ECHOSTREAM_DATA_DIR: dataDir, ECHOSTREAM_GATEWAY__PORT: String(gatewayPort), LOG_LEVEL: 'warn' };
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

async function gql(url, query, variables = {}, token) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const r = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  return r.json();
}

async function signUp(platform, name) {
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

const platform = await startPlatform();
after(() => platform.stop());

test('graphql-ws receives a message sent through the gateway, with the sender profile resolved', async () => {
  const ann = await signUp(platform, 'ann');
  const bob = await signUp(platform, 'bob');
  await eventually('ann to be searchable', async () => {
    const r = await gql(platform.url, 'query($q: String!) { searchUsers(query: $q) { edges { node { id } } } }', { q: ann.username }, bob.token);
    return r.data?.searchUsers?.edges?.some((e) => e.node.id === ann.id) ? true : undefined;
  });
  const request = await gql(platform.url, 'mutation($u: String!) { sendFriendRequest(username: $u) { id } }', { u: ann.username }, bob.token);
  await gql(platform.url, 'mutation($id: ID!) { acceptFriendRequest(id: $id) { id } }', { id: request.data.sendFriendRequest.id }, ann.token);
  const conversationId = await eventually('the direct conversation', async () => {
    const r = await gql(platform.url, 'mutation($u: ID!) { startDirectConversation(userId: $u) { id } }', { u: bob.id }, ann.token);
    return r.data?.startDirectConversation?.id;
  });

  // Bob's present device says it is away, and the subscription runs on a new
  // device: Bob shows online exactly when it is live.
  const away = await gql(platform.url, 'mutation { setPresence(status: AWAY) { status } }', {}, bob.token);
  assert.equal(away.data?.setPresence?.status, 'AWAY', JSON.stringify(away));
  const tablet = await gql(platform.url, 'mutation($i: LoginInput!) { login(input: $i) { accessToken } }',
    { i: { login: bob.username, password: 'correct horse battery', deviceId: 'node-tablet' } });
  const client = createClient({
    url: platform.url.replace('http', 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: `Bearer ${tablet.data.login.accessToken}` },
  });
  const received = new Promise((resolve, reject) => {
    const dispose = client.subscribe(
      { query: 'subscription { messageAdded { id body sender { id username displayName } } }' },
      { next: (value) => { dispose(); resolve(value); }, error: reject, complete: () => {} },
    );
  });
  // Wait until the subscription is live (Bob shows online), then send.
  await eventually('bob online', async () => {
    const r = await gql(platform.url, 'query($id: ID!) { user(id: $id) { presence { status } } }', { id: bob.id }, ann.token);
    return r.data?.user?.presence?.status === 'ONLINE' ? true : undefined;
  });
  const sent = await gql(platform.url, 'mutation($i: SendMessageInput!) { sendMessage(input: $i) { id } }',
    { i: { conversationId, body: 'hi from node', idempotencyKey: 'node-1' } }, ann.token);
  assert.equal(sent.errors, undefined, JSON.stringify(sent));
  const event = await Promise.race([received, sleep(30000).then(() => { throw new Error('no event'); })]);
  assert.equal(event.data.messageAdded.id, sent.data.sendMessage.id);
  assert.equal(event.data.messageAdded.body, 'hi from node');
  assert.equal(event.data.messageAdded.sender.username, ann.username);
  assert.equal(event.data.messageAdded.sender.displayName, ann.username);
  await client.dispose();
});
