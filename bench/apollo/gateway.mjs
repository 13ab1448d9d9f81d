// @apollo/gateway composing the four benchmark subgraphs itself (its own
// composition), served by @apollo/server's standalone HTTP server.
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { ApolloGateway, IntrospectAndCompose } from '@apollo/gateway';

const port = Number(process.env.PORT ?? 4000);
const base = Number(process.env.SUBGRAPH_BASE_PORT ?? 4001);
const names = ['accounts', 'inventory', 'products', 'reviews'];
const gateway = new ApolloGateway({
  supergraphSdl: new IntrospectAndCompose({
    subgraphs: names.map((name, i) => ({ name, url: `http://127.0.0.1:${base + i}/graphql` })),
  }),
});
const server = new ApolloServer({ gateway });
const { url } = await startStandaloneServer(server, { listen: { port, host: '127.0.0.1' } });
console.log(`apollo gateway on ${url}`);
