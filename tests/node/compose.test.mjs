// docker-compose.yml as shipped, read as compose reads it (anchors, merge keys,
// `${VAR}` from `.env`): every EchoStream service's configuration is checked by the
// binary itself with exactly the environment the file gives it, so a missing or
// unknown key fails here; and the file keeps its secrets out, its operator consoles
// on 127.0.0.1, and Redis from evicting anything. No Docker engine runs here.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { parse } from 'yaml';

const root = new URL('../..', import.meta.url).pathname;
const bin = process.env.TEST_ECHOSTREAM_BIN ?? join(root, 'target/debug/echostream');
const text = readFileSync(join(root, 'docker-compose.yml'), 'utf8');
const compose = parse(text, { merge: true });

/** `.env.example` filled in as a user would: every empty value gets one. */
function filledEnv() {
  const env = {};
  for (const line of readFileSync(join(root, '.env.example'), 'utf8').split('\n')) {
    const m = line.match(/^([A-Z0-9_]+)=(.*)$/);
    if (m) {
      const filled = m[1] === 'ECHOSTREAM_KEY_ENCRYPTION_KEY'
        ? randomBytes(32).toString('base64')
        : `filled-${m[1].toLowerCase()}`;
      env[m[1]] = m[2] || filled;
    }
  }
  return env;
}

/** Compose's interpolation: `${VAR}`, `${VAR:-default}`, `${VAR:?error}`. */
function interpolate(value, env) {
  return String(value).replace(/\$\{([A-Z0-9_]+)(?::([-?])([^}]*))?\}/g, (_, name, op, arg) => {
    const set = env[name] !== undefined && env[name] !== '';
    if (set) return env[name];
    if (op === '?') throw new Error(`${name} is required: ${arg}`);
    return op === '-' ? arg : '';
  });
}

/** The services that run EchoStream, with their command's service name. */
function echostreamServices() {
  return Object.entries(compose.services)
    .filter(([, s]) => Array.isArray(s.command) && s.command[0] === 'serve')
    .map(([name, s]) => ({ name, service: s.command[1], environment: s.environment ?? {} }));
}

function check(service, environment) {
  return spawnSync(bin, ['check', service], {
    env: { PATH: process.env.PATH, ...environment },
    encoding: 'utf8',
  });
}

function environmentOf(service, env) {
  return Object.fromEntries(
    Object.entries(service.environment).map(([k, v]) => [k, interpolate(v, env)]),
  );
}

test('every service starts with exactly the environment compose gives it', () => {
  const services = echostreamServices();
  assert.deepEqual(
    services.map((s) => s.service).sort(),
    ['auth', 'chat', 'gateway', 'notification', 'presence', 'profile'],
  );
  const env = filledEnv();
  for (const s of services) {
    const run = check(s.service, environmentOf(s, env));
    assert.equal(run.status, 0, `${s.name}: ${run.stderr}`);
    assert.match(run.stdout, /configuration ok/);
  }
});

test('a missing secret or an unknown key fails, naming it', () => {
  const [first] = echostreamServices();
  // Compose itself refuses to start without the secrets of .env.
  assert.throws(() => environmentOf(first, {}), /ECHOSTREAM_SUBGRAPH_SECRET|POSTGRES_PASSWORD|MINIO_ROOT_PASSWORD/);
  const environment = environmentOf(first, filledEnv());
  const { ECHOSTREAM_GATEWAY__SUBGRAPH_SECRET: _, ...withoutSecret } = environment;
  const missing = check(first.service, withoutSecret);
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /gateway\.subgraph_secret/);
  const unknown = check(first.service, { ...environment, ECHOSTREAM_GATEWAY__PORTT: '4000' });
  assert.notEqual(unknown.status, 0);
  assert.match(unknown.stderr, /portt/);
});

test('secrets come from .env, consoles listen on loopback, Redis never evicts', () => {
  const env = compose['x-echostream'].environment;
  for (const key of ['ECHOSTREAM_GATEWAY__SUBGRAPH_SECRET', 'ECHOSTREAM_S3__SECRET_KEY', 'ECHOSTREAM_AUTH__KEY_ENCRYPTION_KEY']) {
    assert.match(String(env[key]), /^\$\{[A-Z_]+:\?/, `${key} comes from .env`);
  }
  assert.match(String(env.ECHOSTREAM_DATABASE__URL), /\$\{POSTGRES_PASSWORD:\?/);
  assert.match(String(compose.services.postgres.environment.POSTGRES_PASSWORD), /^\$\{POSTGRES_PASSWORD:\?/);
  assert.match(String(compose.services.minio.environment.MINIO_ROOT_PASSWORD), /^\$\{MINIO_ROOT_PASSWORD:\?/);
  assert.deepEqual(compose.services.mail.ports, ['127.0.0.1:1080:1080']);
  assert.ok(compose.services.minio.ports.includes('127.0.0.1:9001:9001'));
  assert.ok(!compose.services.minio.ports.some((p) => p.endsWith(':9001') && !p.startsWith('127.0.0.1:')));
  const redis = compose.services.redis.command;
  assert.equal(redis[redis.indexOf('--maxmemory-policy') + 1], 'noeviction');
  assert.ok(redis.includes('--maxmemory'));
});
