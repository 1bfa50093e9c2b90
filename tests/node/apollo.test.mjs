// Apollo Client 4 against EchoStream, as a web app uses it: history paged backwards
// into a normalised cache with relayStylePagination, and the event stream resumed
// with `since` after the client went away.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql as tag } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { relayStylePagination } from '@apollo/client/utilities';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { startPlatform, gql, signUp, friendsWithConversation } from './platform.mjs';

const platform = await startPlatform();
after(() => platform.stop());

function apollo(token) {
  const http = new HttpLink({ uri: platform.url, headers: { authorization: `Bearer ${token}` } });
  const sockets = createClient({
    url: platform.url.replace('http', 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: `Bearer ${token}` },
  });
  const isSubscription = ({ query }) =>
    query.definitions.some((d) => d.kind === 'OperationDefinition' && d.operation === 'subscription');
  const client = new ApolloClient({
    link: ApolloLink.split(isSubscription, new GraphQLWsLink(sockets), http),
    cache: new InMemoryCache({
      typePolicies: { Conversation: { fields: { messages: relayStylePagination() } } },
    }),
  });
  return { client, close: () => { client.stop(); return sockets.dispose(); } };
}

const HISTORY = tag`query History($id: ID!, $before: String) {
  conversation(id: $id) {
    id
    messages(last: 10, before: $before) {
      edges { cursor node { id seq body } }
      pageInfo { hasPreviousPage startCursor }
    }
  }
}`;

const EVENTS = tag`subscription Events($since: String) {
  chatEvents(since: $since) {
    __typename
    position
    ... on MessageAdded { message { id seq body } }
  }
}`;

async function send(ann, conversationId, body) {
  const r = await gql(platform.url, 'mutation($i: SendMessageInput!) { sendMessage(input: $i) { seq } }',
    { i: { conversationId, body, idempotencyKey: body } }, ann.token);
  assert.equal(r.errors, undefined, JSON.stringify(r));
  return r.data.sendMessage.seq;
}

/// Collects MessageAdded events until `count` arrived; returns them and the last position.
function collect(client, since, count) {
  const got = [];
  let position = since;
  return new Promise((resolve, reject) => {
    const subscription = client.subscribe({ query: EVENTS, variables: { since } }).subscribe({
      next: ({ data, error }) => {
        if (error) { reject(error); return; }
        const event = data.chatEvents;
        position = event.position;
        if (event.__typename === 'MessageAdded') got.push(event.message.seq);
        if (got.length === count) {
          subscription.unsubscribe();
          resolve({ got, position });
        }
      },
      error: reject,
    });
    setTimeout(() => reject(new Error(`only ${got.length} of ${count} events`)), 30000);
  });
}

test('Apollo Client pages history backwards and resumes the stream with since', async () => {
  const ann = await signUp(platform, 'ann');
  const bob = await signUp(platform, 'bob');
  const conversationId = await friendsWithConversation(platform, ann, bob);
  for (let i = 1; i <= 25; i += 1) await send(ann, conversationId, `m${i}`);

  // History: the newest page, then the one before it, merged by the cache.
  const web = apollo(bob.token);
  const watched = web.client.watchQuery({ query: HISTORY, variables: { id: conversationId } });
  const first = await new Promise((resolve, reject) => {
    watched.subscribe({
      next: (result) => { if (result.data?.conversation) resolve(result); },
      error: reject,
    });
  });
  const page = first.data.conversation.messages;
  assert.deepEqual(page.edges.map((e) => e.node.seq), [16, 17, 18, 19, 20, 21, 22, 23, 24, 25]);
  assert.equal(page.pageInfo.hasPreviousPage, true);
  await watched.fetchMore({ variables: { before: page.pageInfo.startCursor } });
  const merged = web.client.readQuery({ query: HISTORY, variables: { id: conversationId } });
  assert.deepEqual(merged.conversation.messages.edges.map((e) => e.node.seq),
    Array.from({ length: 20 }, (_, i) => i + 6), 'older page merged before the newer one');

  // The stream: from a position, three messages, then the client goes away.
  const start = await web.client.query({ query: tag`{ streamPosition }`, fetchPolicy: 'no-cache' });
  const live = collect(web.client, start.data.streamPosition, 3);
  // The position makes timing irrelevant: what is sent before the subscription is
  // live is replayed to it.
  for (const body of ['a1', 'a2', 'a3']) await send(ann, conversationId, body);
  const { got, position } = await live;
  assert.deepEqual(got, [26, 27, 28]);
  await web.close();

  // Missed while away, then one live: exactly those, in order, nothing twice.
  for (const body of ['b1', 'b2', 'b3', 'b4']) await send(ann, conversationId, body);
  const back = apollo(bob.token);
  const resumed = collect(back.client, position, 5);
  await send(ann, conversationId, 'live');
  const again = await resumed;
  assert.deepEqual(again.got, [29, 30, 31, 32, 33]);
  await back.close();
});

const CHANGES = tag`subscription Changes($since: String) {
  chatEvents(since: $since) {
    __typename
    position
    ... on MessageChanged { messageId current { id body editedAt deletedAt reactions { emoji count reactedByMe } } }
  }
}`;

const MESSAGE = tag`fragment Shown on Message { id body editedAt deletedAt reactions { emoji count reactedByMe } }`;

/// Polls `probe` until it answers something truthy (or fails after 30 s).
async function until(what, probe) {
  const deadline = Date.now() + 30000;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('Apollo Client updates a cached message by id as it is edited, reacted to and deleted', async () => {
  const ann = await signUp(platform, 'ann');
  const bob = await signUp(platform, 'bob');
  const conversationId = await friendsWithConversation(platform, ann, bob);
  const sent = await gql(platform.url, 'mutation($i: SendMessageInput!) { sendMessage(input: $i) { id } }',
    { i: { conversationId, body: 'helo', idempotencyKey: 'e1' } }, ann.token);
  const id = sent.data.sendMessage.id;

  const web = apollo(bob.token);
  const shown = await web.client.query({
    query: tag`query One($id: ID!) { message(id: $id) { ...Shown } } ${MESSAGE}`,
    variables: { id },
  });
  assert.equal(shown.data.message.body, 'helo');
  const start = await web.client.query({ query: tag`{ streamPosition }`, fetchPolicy: 'no-cache' });
  const subscription = web.client.subscribe({ query: CHANGES, variables: { since: start.data.streamPosition } })
    .subscribe({ next: () => {}, error: (e) => { throw e; } });
  const cached = () => web.client.readFragment({ id: web.client.cache.identify({ __typename: 'Message', id }), fragment: MESSAGE });
  const change = async (query, variables) => {
    const r = await gql(platform.url, query, variables, ann.token);
    assert.equal(r.errors, undefined, JSON.stringify(r));
  };

  await change('mutation($m: ID!) { editMessage(messageId: $m, body: "hello") { id } }', { m: id });
  await until('the edit in the cache', () => cached()?.body === 'hello' && cached().editedAt);
  await change('mutation($m: ID!) { addReaction(messageId: $m, emoji: "👍") { id } }', { m: id });
  const reacted = await until('the reaction in the cache', () => cached()?.reactions.length === 1 && cached());
  assert.deepEqual(reacted.reactions.map(({ emoji, count, reactedByMe }) => ({ emoji, count, reactedByMe })),
    [{ emoji: '👍', count: 1, reactedByMe: false }]);
  await change('mutation($m: ID!) { deleteMessageForEveryone(messageId: $m) { id } }', { m: id });
  const gone = await until('the tombstone in the cache', () => cached()?.deletedAt && cached());
  assert.equal(gone.body, null);
  assert.deepEqual(gone.reactions, []);
  subscription.unsubscribe();
  await web.close();
});
