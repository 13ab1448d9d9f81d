// inventory: knows Product only by its second key (`sku region`); a non-null
// `stock` that fails for one product; the @override cases (plain, and with
// labels that stay with the original subgraph); a shareable value type whose
// fields differ in nullability from catalog's; a @requires of a field with an
// argument; a mutation.
import gql from 'graphql-tag';
import { GraphQLError } from 'graphql';

export const name = 'inventory';

export const typeDefs = gql`
  extend schema
    @link(url: "https://specs.apollo.dev/federation/v2.7",
          import: ["@key", "@shareable", "@external", "@requires", "@override", "@interfaceObject"])

  type Query {
    warehouses: [Warehouse!]!
  }

  type Mutation {
    restock(sku: String!, amount: Int!): Int!
  }

  type Warehouse {
    code: String!
    products: [Product]
  }

  type Product @key(fields: "sku region") {
    sku: String!
    region: String!
    stock: Int!
    inStock: Boolean
    dimensions: Dimensions @shareable
    slogan: String @override(from: "catalog")
    badge: String @override(from: "catalog", label: "percent(0)")
    tagline: String @override(from: "catalog", label: "new-taglines")
    price(currency: Currency): Float @external
    insuranceValue: Float @requires(fields: "price(currency: GBP)")
  }

  type Dimensions @shareable {
    width: Int
    height: Int
  }

  enum Currency {
    USD
    EUR
    GBP
  }

  type Media @key(fields: "id") @interfaceObject {
    id: ID!
    popularity: Int
  }
`;

const stock = { S1: 4, S2: 0, S3: 12, S4: 1 };
// The same dimensions catalog has: a shareable field answers alike everywhere.
const dimensions = { S1: { width: 10, height: 20 }, S2: { width: 5, height: null }, S3: null, S4: { width: 1, height: 2 } };

export const resolvers = {
  Query: {
    warehouses: () => [
      { code: 'W1', products: [{ sku: 'S1', region: 'EU' }, { sku: 'S2', region: 'US' }] },
      { code: 'W2', products: [{ sku: 'S3', region: 'EU' }, null, { sku: 'S4', region: 'APAC' }] },
    ],
  },
  Mutation: {
    restock: (_, { amount }) => amount * 2,
  },
  Product: {
    __resolveReference: (ref) => ({ ...ref }),
    stock: (p) => {
      if (p.sku === 'S2') throw new GraphQLError('stock unavailable');
      return stock[p.sku];
    },
    inStock: (p) => (stock[p.sku] ?? 0) > 0,
    dimensions: (p) => dimensions[p.sku] ?? null,
    slogan: () => 'slogan from inventory',
    badge: () => 'badge from inventory',
    tagline: () => 'tagline from inventory',
    insuranceValue: (p) => (p.price == null ? null : p.price * 2),
  },
  Media: { __resolveReference: (ref) => ({ id: ref.id, popularity: ref.id === 'v2' ? null : 42 }) },
};
