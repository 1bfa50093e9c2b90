// Composes schema/supergraph.graphql from the subgraphs' SDL in schema/ with
// @theguild/federation-composition (a Federation v2 composer), or with --check
// fails when the committed supergraph differs from a fresh composition.
//
// The subgraphs come as `name=url` arguments from `echostream schema` (the one list
// of subgraphs is `Subgraph::ALL`); their URLs are the embedded defaults, which the
// gateway overrides from EchoStream's configuration at start.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../tests/node/package.json', import.meta.url));
const { composeServices } = await import(require.resolve('@theguild/federation-composition'));
const { parse } = await import(require.resolve('graphql'));

const subgraphs = process.argv.slice(2).filter((arg) => arg.includes('=')).map((arg) => arg.split('='));
if (subgraphs.length === 0) {
  console.error('usage: node scripts/compose.mjs name=url... [--check] (run `echostream schema`)');
  process.exit(2);
}
const services = subgraphs.map(([name, url]) => ({
  name,
  url,
  typeDefs: parse(readFileSync(`schema/${name}.graphql`, 'utf8')),
}));

const result = composeServices(services);
if (result.errors && result.errors.length > 0) {
  for (const error of result.errors) console.error(`composition error: ${error.message}`);
  process.exit(1);
}
const supergraph = result.supergraphSdl.endsWith('\n') ? result.supergraphSdl : `${result.supergraphSdl}\n`;
const path = 'schema/supergraph.graphql';
if (process.argv.includes('--check')) {
  let current = '';
  try { current = readFileSync(path, 'utf8'); } catch { /* missing counts as stale */ }
  if (current !== supergraph) {
    console.error(`${path} is stale: run \`cargo run -- schema\``);
    process.exit(1);
  }
  console.log(`${path} is up to date`);
} else {
  writeFileSync(path, supergraph);
  console.log(`wrote ${path}`);
}
