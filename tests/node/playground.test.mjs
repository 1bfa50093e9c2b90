// The playground in a real browser: headless Chromium (Debian's package) opens the
// gateway's page, signs up and in with its helper, runs a query, starts a live
// subscription and sees a message another client sends appear, then finds the
// supergraph in the docs and the autocompletion. Every request the page makes must
// stay on this machine; screenshots are saved (playground-live.png when the message
// shows, playground.png at the end, whatever happened).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { chromium } from 'playwright-core';
import { startPlatform, gql, signUp, eventually, friendsWithConversation, freePort } from './platform.mjs';

const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const platform = await startPlatform();
const base = platform.url.replace(/\/graphql$/, '');
const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
after(async () => { await browser.close(); platform.stop(); });

// The text of one of GraphiQL's CodeMirror editors.
const areas = {
  query: '.graphiql-query-editor .CodeMirror',
  headers: '.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror',
  response: '.graphiql-response .CodeMirror',
};
const editor = (page, area) => page.evaluate(
  (selector) => document.querySelector(selector)?.CodeMirror?.getValue() ?? '', areas[area]);

// Where screenshots go (scripts/test.sh: $CARGO_TARGET_DIR/artifacts).
function artifacts() {
  const dir = process.env.TEST_ARTIFACTS_DIR ?? tmpdir();
  mkdirSync(dir, { recursive: true });
  return dir;
}

// Whether `url` stays on this machine.
const local = (url) => url.startsWith('data:') || ['127.0.0.1', 'localhost'].includes(new URL(url).hostname);

function mailedCode(email) {
  const outbox = join(platform.dataDir, 'mail/outbox.jsonl');
  if (!existsSync(outbox)) return undefined;
  const mails = readFileSync(outbox, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((m) => m.to === email);
  return mails.at(-1)?.text.match(/\b(\d{6})\b/)?.[1];
}

test('the playground signs in, queries, and shows a live message, all from this machine', async () => {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const offMachine = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (local(url)) return route.continue();
    offMachine.push(url);
    return route.abort();
  });
  const page = await context.newPage();
  const shot = join(artifacts(), 'playground.png');
  try {
    await drive(page, offMachine);
  } finally {
    // Saved whatever happened: the page as the test left it.
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`playground screenshot: ${shot}`);
    await context.close();
  }
});

async function drive(page, offMachine) {
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('websocket', (ws) => { if (!local(ws.url())) offMachine.push(ws.url()); });
  page.on('requestfailed', (r) => { if (local(r.url())) problems.push(`failed: ${r.url()}`); });

  await page.goto(`${base}/`);
  // GraphiQL is up with the schema: its docs know the supergraph's Query type.
  await page.waitForSelector('.graphiql-query-editor .CodeMirror');

  // Sign up and in with the helper; the mailed code comes from the local outbox.
  const username = `pw_${Math.random().toString(36).slice(2, 8)}`;
  const email = `${username}@example.com`;
  await page.fill('input[name=email]', email);
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', 'correct horse battery');
  await page.getByRole('button', { name: 'Register', exact: true }).click();
  await page.getByText(`Registered ${username}`).waitFor();
  const code = await eventually('the mailed code', () => mailedCode(email));
  await page.fill('input[name=code]', code);
  await page.getByRole('button', { name: 'Verify', exact: true }).click();
  await page.getByText('Email verified').waitFor();
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByTestId('signed-in').waitFor();
  assert.equal(await page.getByTestId('signed-in').textContent(), `Signed in as ${username}`);
  const headers = await editor(page, 'headers');
  const session = JSON.parse(await page.evaluate(() => localStorage.getItem('echostream:session')));
  assert.match(headers, new RegExp(`"Authorization": "Bearer ${session.accessToken}"`), 'the token is in the headers');

  // A query, with the token the helper put in the headers.
  await page.locator('.graphiql-execute-button').click();
  await eventually('the Me answer', async () => ((await editor(page, 'response')).includes(`"username": "${username}"`) ? true : undefined));

  // A live subscription (the second tab), then a message from another client.
  const ann = { username, id: session.user.id, token: session.accessToken };
  const bob = await signUp(platform, 'pwbob');
  const conversationId = await friendsWithConversation(platform, ann, bob);
  await page.locator('.graphiql-tab', { hasText: 'Events' }).click();
  await eventually('the subscription tab', async () => ((await editor(page, 'query')).includes('chatEvents') ? true : undefined));
  await page.locator('.graphiql-execute-button').click();
  let sent = 0;
  await eventually('the message to show in the page', async () => {
    const shown = await editor(page, 'response');
    if (shown.includes('"body": "hello from bob')) return true;
    // Until the subscription is live, each try sends one more message.
    sent += 1;
    const r = await gql(platform.url, 'mutation($i: SendMessageInput!) { sendMessage(input: $i) { id } }',
      { i: { conversationId, body: `hello from bob ${sent}`, idempotencyKey: `pw-${sent}` } }, bob.token);
    assert.equal(r.errors, undefined, JSON.stringify(r));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    return undefined;
  }, 60000);
  const shown = await editor(page, 'response');
  assert.match(shown, /"__typename": "MessageAdded"/);
  assert.match(shown, new RegExp(`"username": "${bob.username}"`));
  await page.screenshot({ path: join(artifacts(), 'playground-live.png') });

  // Stop the subscription: the execute button is now its stop button.
  await page.locator('.graphiql-execute-button').click();

  // The docs and the autocompletion know the supergraph.
  await page.locator('.graphiql-sidebar button[aria-label="Show Documentation Explorer"]').click();
  const docs = page.locator('.graphiql-doc-explorer');
  await docs.getByText('Subscription', { exact: false }).first().waitFor();
  await docs.getByText('Subscription', { exact: true }).first().click();
  await docs.getByText('chatEvents').first().waitFor();
  await page.locator('.graphiql-tab', { hasText: 'Me' }).click();
  await page.evaluate((selector) => {
    const cm = document.querySelector(selector).CodeMirror;
    cm.setValue('query Probe {\n  conversat\n}');
    cm.focus();
    cm.setCursor({ line: 1, ch: 11 });
  }, areas.query);
  await page.keyboard.press('Control+Space');
  const hints = page.locator('.CodeMirror-hints');
  await hints.getByText('conversations', { exact: true }).waitFor();
  assert.deepEqual(offMachine, [], 'the page asked for nothing outside this machine');
  assert.deepEqual(problems, [], 'no page errors and no failed requests');
}

test('the provider button signs in through a configured OpenID provider', async () => {
  // A provider of its own that knows this gateway's page as a web callback.
  const modules = process.env.OIDC_PROVIDER_MODULES;
  assert.ok(modules, 'OIDC_PROVIDER_MODULES (scripts/services.sh start) names the installed oidc-provider');
  const gatewayPort = await freePort();
  const oidcPort = await freePort();
  const issuer = `http://127.0.0.1:${oidcPort}`;
  const callback = `http://127.0.0.1:${gatewayPort}/`;
  const root = new URL('../..', import.meta.url).pathname;
  const provider = spawn('node', [join(root, 'scripts/oidc-provider.mjs'), String(oidcPort)], {
    env: { ...process.env, OIDC_PROVIDER_MODULES: modules, OIDC_EXTRA_REDIRECT_URIS: callback },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const config = join(mkdtempSync(join(tmpdir(), 'echostream-oidc-')), 'echostream.toml');
  writeFileSync(config, `[[auth.oidc]]
name = "local"
issuer = "${issuer}"
client_id = "echostream-web"
client_secret = "echostream-web-secret"
redirect_uris = ["${callback}"]
`);
  let oauthPlatform;
  const context = await browser.newContext();
  try {
    await eventually('the provider', async () => {
      try { return (await fetch(`${issuer}/.well-known/openid-configuration`)).ok ? true : undefined; } catch { return undefined; }
    });
    oauthPlatform = await startPlatform({ gatewayPort, env: { ECHOSTREAM_CONFIG: config } });
    // Our page must ask nothing of another host; the provider's development login
    // pages ask Google for a font, which is refused (no network here) and not ours.
    const offMachine = [];
    const ours = `http://127.0.0.1:${gatewayPort}`;
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (local(url)) return route.continue();
      const from = route.request().frame().url();
      if (!from.startsWith(issuer)) offMachine.push(`${url} (from ${from || ours})`);
      return route.abort();
    });
    const page = await context.newPage();
    await page.goto(callback);
    await page.getByRole('button', { name: 'Sign in with local' }).click();
    // The provider's own login and consent pages (its development interactions).
    await page.waitForURL((url) => url.origin === issuer);
    await page.fill('input[name=login]', 'oauthpw');
    await page.fill('input[name=password]', 'any');
    await page.locator('button[type=submit]').click();
    await page.locator('button[type=submit]', { hasText: 'Continue' }).click();
    // Back on the playground, which completes the sign-in once.
    await page.waitForURL((url) => url.origin === ours && !url.search);
    await page.getByTestId('signed-in').waitFor();
    const session = JSON.parse(await page.evaluate(() => localStorage.getItem('echostream:session')));
    assert.ok(session.accessToken, 'a token');
    const me = await gql(oauthPlatform.url, '{ me { username email emailVerified } }', {}, session.accessToken);
    assert.equal(me.data?.me?.email, 'oauthpw@oidc.example', JSON.stringify(me));
    assert.equal(me.data.me.emailVerified, true);
    assert.equal(await page.getByTestId('signed-in').textContent(), `Signed in as ${me.data.me.username}`);
    await eventually('the token in the headers', async () => ((await editor(page, 'headers')).includes(session.accessToken) ? true : undefined));
    assert.deepEqual(offMachine, [], 'the playground asked nothing of another host');
    await page.screenshot({ path: join(artifacts(), 'playground-oauth.png') });
  } finally {
    await context.close();
    oauthPlatform?.stop();
    provider.kill();
  }
});
