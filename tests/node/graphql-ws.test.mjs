// A real third-party client against EchoStream: the graphql-ws library (the
// reference graphql-transport-ws client that Apollo Client's GraphQLWsLink uses)
// subscribes through the gateway, and plain fetch drives the mutations.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { startPlatform, gql, signUp, eventually, sleep, friendsWithConversation } from './platform.mjs';

const platform = await startPlatform();
after(() => platform.stop());

test('graphql-ws receives a message sent through the gateway, with the sender profile resolved', async () => {
  const ann = await signUp(platform, 'ann');
  const bob = await signUp(platform, 'bob');
  const conversationId = await friendsWithConversation(platform, ann, bob);

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
