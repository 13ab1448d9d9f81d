# One image for every Marquee process: `marquee router`, `marquee subgraph NAME`,
# `marquee migrate`, `marquee dev`.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin marquee \
    && cp target/release/marquee /usr/local/bin/marquee

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/marquee --create-home marquee
COPY --from=build /usr/local/bin/marquee /usr/local/bin/marquee
COPY schema /etc/marquee/schema
COPY deploy/supergraph.yaml /etc/marquee/supergraph.yaml
USER marquee
WORKDIR /var/lib/marquee
ENV MARQUEE__LISTEN__HOST=0.0.0.0 \
    MARQUEE__DATA_DIR=/var/lib/marquee \
    MARQUEE__LOG__FORMAT=json
EXPOSE 3001 3002 3003 3004
ENTRYPOINT ["marquee"]
CMD ["dev"]
