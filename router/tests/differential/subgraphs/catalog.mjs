// catalog: owns Product (keys `id` and `sku region`), the Media entity
// interface (Book, Movie), the Account interface, the shelf of entities with
// nullable key fields, and the enums with @inaccessible values.
import gql from 'graphql-tag';

export const name = 'catalog';

export const typeDefs = gql`
  extend schema
    @link(url: "https://specs.apollo.dev/federation/v2.7",
          import: ["@key", "@shareable", "@inaccessible"])

  type Query {
    products: [Product!]!
    catalogProducts: [Product]
    product(id: ID!): Product
    productBySku(sku: String!, region: String!): Product
    productsFiltered(first: Int, after: String, filter: ProductFilter): [Product!]!
    media: [Media!]!
    search(term: String!): [SearchResult!]!
    accounts: [Account]
    shelf: Shelf
    genres: [Genre]
    strictGenres: [Genre!]
    genreOf(id: ID!): Genre!
    statuses: [Status]
    legacyCode: String @inaccessible
    hiddenProducts(limit: Int, includeHidden: Boolean @inaccessible): [Product!]!
    secretThing: SecretThing @inaccessible
  }

  type Product @key(fields: "id") @key(fields: "sku region") {
    id: ID!
    sku: String!
    region: String!
    name: String @shareable
    status: Status
    genre: Genre
    price(currency: Currency): Float
    media: Media
    bundle: BundleItem
    dimensions: Dimensions @shareable
    slogan: String
    badge: String
    tagline: String
    secretNote: String @inaccessible
    edition: Edition
  }

  type Dimensions @shareable {
    width: Int!
    height: Int
  }

  enum Genre {
    FICTION
    SCIENCE
    POETRY @inaccessible
    HISTORY
  }

  enum Status {
    ACTIVE
    DISCONTINUED
    ARCHIVED @inaccessible
  }

  enum Currency {
    USD
    EUR
    GBP
  }

  input ProductFilter {
    year: Int
    genre: Genre
    name: String
    hidden: Boolean @inaccessible
  }

  interface Media @key(fields: "id") {
    id: ID!
    title: String
  }

  type Book implements Media @key(fields: "id") {
    id: ID!
    title: String! @shareable
    pages: Int
    author: Author
  }

  type Movie implements Media @key(fields: "id") {
    id: ID!
    title: String @shareable
    runtime: Int
  }

  union SearchResult = Product | Book | Movie

  union BundleItem = Book | Movie

  interface Account {
    id: ID
    name: String
  }

  type Admin implements Account @key(fields: "id") {
    id: ID!
    name: String
    level: Int
  }

  type Guest implements Account {
    id: ID
    name: String
  }

  type Shelf {
    label: String
    editions: [Edition]
    authors: [Author]
    suppliers: [Supplier]
  }

  type Edition @key(fields: "isbn") {
    isbn: String
    format: String
  }

  type Author @key(fields: "firstName lastName") {
    firstName: String
    lastName: String
    born: Int
  }

  type Supplier @key(fields: "code country { iso }") {
    code: String
    country: Country
    since: Int
  }

  type Country @shareable {
    iso: String
    name: String
  }

  type SecretThing @inaccessible {
    value: Int
  }
`;

const books = {
  b1: { __typename: 'Book', id: 'b1', title: 'Dune', pages: 412, author: { firstName: 'Frank', lastName: 'Herbert', born: 1920 } },
  b2: { __typename: 'Book', id: 'b2', title: 'Odes', pages: 96, author: { firstName: null, lastName: 'Keats', born: 1795 } },
};
const movies = {
  v1: { __typename: 'Movie', id: 'v1', title: 'Alien', runtime: 117 },
  v2: { __typename: 'Movie', id: 'v2', title: null, runtime: 90 },
};
const products = [
  { id: 'p1', sku: 'S1', region: 'EU', name: 'Atlas', status: 'ACTIVE', genre: 'FICTION', price: 10, media: books.b1, bundle: movies.v1, dimensions: { width: 10, height: 20 }, edition: { isbn: 'i1', format: 'hardcover' } },
  { id: 'p2', sku: 'S2', region: 'US', name: 'Beacon', status: 'ARCHIVED', genre: 'SCIENCE', price: 20, media: movies.v1, bundle: books.b1, dimensions: { width: 5, height: null }, edition: { isbn: null, format: 'draft' } },
  { id: 'p3', sku: 'S3', region: 'EU', name: 'Compass', status: 'DISCONTINUED', genre: 'POETRY', price: 30, media: books.b2, bundle: null, dimensions: null, edition: { isbn: 'i2', format: 'paperback' } },
  { id: 'p4', sku: 'S4', region: 'APAC', name: null, status: 'ACTIVE', genre: 'HISTORY', price: null, media: movies.v2, bundle: movies.v2, dimensions: { width: 1, height: 2 }, edition: null },
];
const rates = { USD: 1, EUR: 0.5, GBP: 0.25 };
const byId = (id) => products.find((p) => p.id === id) ?? null;

export const resolvers = {
  Query: {
    products: () => products,
    catalogProducts: () => products,
    product: (_, { id }) => byId(id),
    productBySku: (_, { sku, region }) => products.find((p) => p.sku === sku && p.region === region) ?? null,
    productsFiltered: (_, { first, after, filter }) => {
      let list = products.filter((p) => !filter?.genre || p.genre === filter.genre);
      if (after) list = list.slice(list.findIndex((p) => p.id === after) + 1);
      return first == null ? list : list.slice(0, first);
    },
    media: () => [books.b1, movies.v1, books.b2, movies.v2],
    search: (_, { term }) => [products[0], books.b1, movies.v1, products[2]].filter((x) => term !== 'none' && x),
    accounts: () => [
      { __typename: 'Admin', id: 'a1', name: 'Ada', level: 3 },
      { __typename: 'Guest', id: null, name: 'Anonymous' },
      { __typename: 'Guest', id: 'g2', name: 'Gus' },
      { __typename: 'Admin', id: 'a2', name: 'Alan', level: 1 },
    ],
    shelf: () => ({
      label: 'Front',
      editions: [products[0].edition, products[1].edition, products[2].edition, null],
      authors: [books.b1.author, books.b2.author, { firstName: 'Mary', lastName: null, born: 1797 }],
      suppliers: [
        { code: 'ACME', country: { iso: 'DE', name: 'Germany' }, since: 1990 },
        { code: 'NOPE', country: null, since: 2001 },
        { code: null, country: { iso: 'FR', name: 'France' }, since: 2010 },
        { code: 'ZEN', country: { iso: null, name: 'Nowhere' }, since: 2020 },
        { code: 'OK', country: { iso: 'JP', name: 'Japan' }, since: 2022 },
      ],
    }),
    genres: () => ['FICTION', 'POETRY', 'HISTORY', 'SCIENCE'],
    strictGenres: () => ['FICTION', 'POETRY'],
    genreOf: (_, { id }) => byId(id)?.genre ?? 'FICTION',
    statuses: () => products.map((p) => p.status),
    legacyCode: () => 'L-1',
    hiddenProducts: (_, { limit }) => products.slice(0, limit ?? 2),
    secretThing: () => ({ value: 7 }),
  },
  Product: {
    __resolveReference: (ref) => ref.id ? byId(ref.id) : products.find((p) => p.sku === ref.sku && p.region === ref.region) ?? null,
    price: (p, { currency }) => (p.price == null ? null : p.price * rates[currency ?? 'USD']),
    slogan: () => 'slogan from catalog',
    badge: () => 'badge from catalog',
    tagline: () => 'tagline from catalog',
    secretNote: (p) => `secret ${p.id}`,
  },
  Media: { __resolveReference: (ref) => books[ref.id] ?? movies[ref.id] ?? null },
  Book: { __resolveReference: (ref) => books[ref.id] ?? null },
  Movie: { __resolveReference: (ref) => movies[ref.id] ?? null },
  Admin: { __resolveReference: (ref) => ({ id: ref.id, name: `Admin ${ref.id}`, level: 2 }) },
  Edition: {
    __resolveReference: (ref) => products.map((p) => p.edition).find((e) => e && e.isbn === ref.isbn) ?? null,
  },
  Author: { __resolveReference: (ref) => ({ ...ref, born: 1900 }) },
  Supplier: { __resolveReference: (ref) => ({ ...ref, since: 2000 }) },
};
