// accounts: owns User; Admin by `id` where its `id` is nullable (catalog has
// it non-null), so the supergraph's Admin.id is `ID`.
import gql from 'graphql-tag';

export const name = 'accounts';

export const typeDefs = gql`
  extend schema
    @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@shareable"])

  type Query {
    me: User
    users: [User]
    admins: [Admin]
  }

  type User @key(fields: "id") {
    id: ID!
    name: String @shareable
    email: String
  }

  type Admin @key(fields: "id") {
    id: ID
    permissions: [String]
  }
`;

const users = {
  u1: { id: 'u1', name: 'Ann', email: 'ann@example.com' },
  u2: { id: 'u2', name: 'Bob', email: null },
  u3: { id: 'u3', name: 'Cid', email: 'cid@example.com' },
};

export const resolvers = {
  Query: {
    me: () => users.u1,
    users: () => [users.u1, null, users.u3],
    admins: () => [{ id: 'a1', permissions: ['all'] }, { id: null, permissions: null }, { id: 'a2', permissions: ['read'] }],
  },
  User: { __resolveReference: (ref) => users[ref.id] ?? null },
  Admin: { __resolveReference: (ref) => ({ id: ref.id, permissions: ref.id === 'a1' ? ['all'] : ['read'] }) },
};
