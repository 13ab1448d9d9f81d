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
    && groupadd --system --gid 10001 marquee \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/marquee --create-home marquee
COPY --from=build /usr/local/bin/marquee /usr/local/bin/marquee
COPY schema /etc/marquee/schema
COPY deploy/supergraph.yaml /etc/marquee/supergraph.yaml
# Numeric, so Kubernetes' runAsNonRoot can verify it without /etc/passwd.
USER 10001:10001
WORKDIR /var/lib/marquee
ENV MARQUEE__LISTEN__HOST=0.0.0.0 \
    MARQUEE__DATA_DIR=/var/lib/marquee \
    MARQUEE__LOG__FORMAT=json \
    HEALTHCHECK_PORT=3001
# Only the router is public; subgraphs listen on 3002-3005 inside the network.
EXPOSE 3001
# Liveness of the process on HEALTHCHECK_PORT (the router's by default; set it
# to 3002-3005 for a subgraph container). Readiness (`/health/ready`) is the
# orchestrator's business: compose and Kubernetes probe it themselves.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["sh", "-c", "curl -fsS -o /dev/null http://127.0.0.1:${HEALTHCHECK_PORT}/health || exit 1"]
ENTRYPOINT ["marquee"]
CMD ["dev"]
