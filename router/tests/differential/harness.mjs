// Starts the differential test's subgraphs (@apollo/subgraph) on free ports
// and @apollo/gateway, the reference, over a supergraph @apollo/composition
// composes from them. Writes each subgraph's SDL and a supergraph.yaml for
// the router into the directory given as the first argument, then prints one
// JSON line: {"gateway": url, "supergraph": path}. Runs until its stdin
// closes, so it never outlives the test that spawned it.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema, printSubgraphSchema } from '@apollo/subgraph';
import { composeServices } from '@apollo/composition';
import { ApolloGateway } from '@apollo/gateway';

import * as accounts from './subgraphs/accounts.mjs';
import * as catalog from './subgraphs/catalog.mjs';
import * as inventory from './subgraphs/inventory.mjs';
import * as pricing from './subgraphs/pricing.mjs';
import * as reviews from './subgraphs/reviews.mjs';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node harness.mjs <output directory>');
  process.exit(2);
}

const listen = { port: 0, host: '127.0.0.1' };
const services = [];
let yaml = 'federation_version: =2.7.0\nsubgraphs:\n';
// Name order, as both compositions order subgraphs.
for (const subgraph of [accounts, catalog, inventory, pricing, reviews]) {
  const schema = buildSubgraphSchema({ typeDefs: subgraph.typeDefs, resolvers: subgraph.resolvers });
  const server = new ApolloServer({
    schema,
    includeStacktraceInErrorResponses: false,
    plugins: [ApolloServerPluginInlineTraceDisabled()],
  });
  const { url } = await startStandaloneServer(server, { listen });
  const file = join(dir, `${subgraph.name}.graphql`);
  writeFileSync(file, printSubgraphSchema(schema));
  services.push({ name: subgraph.name, url, typeDefs: subgraph.typeDefs });
  yaml += `  ${subgraph.name}:\n    routing_url: ${url}\n    schema:\n      file: ./${subgraph.name}.graphql\n`;
}
const supergraphYaml = join(dir, 'supergraph.yaml');
writeFileSync(supergraphYaml, yaml);

const composed = composeServices(services);
if (composed.errors) {
  console.error(composed.errors.map((e) => e.message).join('\n'));
  process.exit(1);
}
writeFileSync(join(dir, 'apollo-supergraph.graphql'), composed.supergraphSdl);

const gateway = new ApolloGateway({ supergraphSdl: composed.supergraphSdl, logger: quietLogger() });
const server = new ApolloServer({ gateway, includeStacktraceInErrorResponses: false });
const { url } = await startStandaloneServer(server, { listen });

console.log(JSON.stringify({ gateway: url, supergraph: supergraphYaml }));
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));

function quietLogger() {
  const none = () => {};
  return { debug: none, info: none, warn: none, error: (m) => console.error(m) };
}
