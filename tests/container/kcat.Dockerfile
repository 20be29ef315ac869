# tests/container/kcat.Dockerfile - the client container test-container.sh
# produces and consumes through: kcat from Debian.
ARG BASE=debian:bookworm-slim
FROM ${BASE}
RUN apt-get update -qq && \
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends kcat && \
    rm -rf /var/lib/apt/lists/*
