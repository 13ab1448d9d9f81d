// reviews: owns Review; extends Product (by `id`), Book, Edition, Author and
// Supplier (keys with nullable parts); `@provides` the author's name; a
// union across subgraphs; a mutation counter
// whose results show the order mutations ran in.
import gql from 'graphql-tag';
import { GraphQLError } from 'graphql';

export const name = 'reviews';

export const typeDefs = gql`
  extend schema
    @link(url: "https://specs.apollo.dev/federation/v2.7",
          import: ["@key", "@shareable", "@external", "@provides", "@inaccessible"])

  type Query {
    reviews: [Review!]!
    latestReview: Review
    reviewsByGenre(genre: Genre): [Review!]!
    feed: [FeedItem!]!
  }

  type Mutation {
    resetCounter: Int!
    add(amount: Int!): Tally!
    multiply(factor: Int!): Tally!
  }

  type Tally {
    value: Int!
    product: Product
  }

  type Review @key(fields: "id") {
    id: ID!
    body: String
    stars: Int
    genre: Genre
    product: Product
    author: User @provides(fields: "name")
  }

  type Product @key(fields: "id") {
    id: ID!
    reviews: [Review!]!
    reviewCount: Int!
    topReview: Review
  }

  type User @key(fields: "id") {
    id: ID!
    name: String @external
  }

  type Book @key(fields: "id") {
    id: ID!
    title: String @shareable
  }

  enum Genre {
    FICTION
    SCIENCE
    POETRY @inaccessible
    HISTORY
  }

  union FeedItem = Review | Book

  type Edition @key(fields: "isbn") {
    isbn: String
    rating: Int
  }

  type Author @key(fields: "firstName lastName") {
    firstName: String
    lastName: String
    bio: String
  }

  type Supplier @key(fields: "code country { iso }") {
    code: String
    country: Country
    rating: Int!
  }

  type Country @shareable {
    iso: String
    name: String
  }
`;

const reviews = [
  { id: 'r1', body: 'Great', stars: 5, genre: 'FICTION', productId: 'p1', authorId: 'u1' },
  { id: 'r2', body: 'Fine', stars: 3, genre: 'SCIENCE', productId: 'p2', authorId: 'u2' },
  { id: 'r3', body: 'Meh', stars: 2, genre: 'HISTORY', productId: 'p2', authorId: 'u1' },
  { id: 'r4', body: 'Lost', stars: 1, genre: 'FICTION', productId: 'p3', authorId: 'u3' },
];
const names = { u1: 'Ann', u2: 'Bob', u3: 'Cid' };
const countries = { DE: 'Germany', FR: 'France', JP: 'Japan' };
let counter = 0;

export const resolvers = {
  Query: {
    reviews: () => reviews,
    latestReview: () => reviews[3],
    reviewsByGenre: (_, { genre }) => reviews.filter((r) => !genre || r.genre === genre),
    feed: () => [reviews[0], { __typename: 'Book', id: 'b1', title: 'Dune' }, reviews[1], { __typename: 'Book', id: 'b2', title: 'Odes' }],
  },
  Mutation: {
    resetCounter: () => (counter = 0),
    add: (_, { amount }) => ({ value: (counter += amount), product: { id: 'p1' } }),
    multiply: (_, { factor }) => ({ value: (counter *= factor), product: { id: 'p2' } }),
  },
  FeedItem: { __resolveType: (x) => x.__typename ?? 'Review' },
  Review: {
    __resolveReference: (ref) => reviews.find((r) => r.id === ref.id) ?? null,
    product: (r) => ({ id: r.productId }),
    author: (r) => ({ id: r.authorId, name: names[r.authorId] }),
  },
  Product: {
    __resolveReference: (ref) => ({ id: ref.id }),
    reviews: (p) => reviews.filter((r) => r.productId === p.id),
    reviewCount: (p) => {
      if (p.id === 'p3') throw new GraphQLError('review count unavailable');
      return reviews.filter((r) => r.productId === p.id).length;
    },
    topReview: (p) => reviews.find((r) => r.productId === p.id) ?? null,
  },
  Book: { __resolveReference: (ref) => ({ id: ref.id, title: ref.id === 'b1' ? 'Dune' : 'Odes' }) },
  Edition: {
    __resolveReference: (ref) => (ref.isbn == null ? null : { isbn: ref.isbn, rating: ref.isbn === 'i1' ? 5 : 3 }),
  },
  Author: {
    __resolveReference: (ref) => (ref.firstName == null || ref.lastName == null ? null : { ...ref, bio: `${ref.firstName} ${ref.lastName} wrote things` }),
  },
  Supplier: {
    __resolveReference: (ref) => (ref.code == null || ref.country?.iso == null
        ? null
        : { ...ref, country: { iso: ref.country.iso, name: countries[ref.country.iso] ?? null }, rating: ref.code.length }),
  },
};
