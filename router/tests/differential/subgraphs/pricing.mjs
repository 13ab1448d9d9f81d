// pricing: @requires of fields with arguments (the same field with other
// arguments than inventory's) and of a union selected with inline fragments.
import gql from 'graphql-tag';

export const name = 'pricing';

export const typeDefs = gql`
  extend schema
    @link(url: "https://specs.apollo.dev/federation/v2.7",
          import: ["@key", "@external", "@requires"])

  type Product @key(fields: "id") {
    id: ID!
    price(currency: Currency): Float @external
    bundle: BundleItem @external
    shippingEstimate: Float @requires(fields: "price(currency: EUR)")
    importDuty(rate: Int = 10): Float @requires(fields: "price(currency: USD)")
    bundleSummary: String @requires(fields: "bundle { ... on Book { pages } ... on Movie { runtime } }")
  }

  union BundleItem = Book | Movie

  type Book @key(fields: "id", resolvable: false) {
    id: ID!
    pages: Int @external
  }

  type Movie @key(fields: "id", resolvable: false) {
    id: ID!
    runtime: Int @external
  }

  enum Currency {
    USD
    EUR
    GBP
  }
`;

export const resolvers = {
  Product: {
    __resolveReference: (ref) => ({ ...ref }),
    shippingEstimate: (p) => (p.price == null ? null : p.price + 1),
    importDuty: (p, { rate }) => (p.price == null ? null : (p.price * rate) / 100),
    bundleSummary: (p) => {
      const b = p.bundle;
      if (b == null) return 'empty';
      return b.pages != null ? `book of ${b.pages} pages` : `movie of ${b.runtime} minutes`;
    },
  },
};
