# ICMM Registry: build with the Swift toolchain image, run on slim Debian.
# Every command below was run by hand in this order on Debian bookworm (no Docker engine here).

FROM swift:6.3-bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libmicrohttpd-dev libsqlite3-dev libpq-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --product icmm --static-swift-stdlib --scratch-path .build-docker \
 && mkdir -p /out \
 && cp "$(swift build -c release --static-swift-stdlib --scratch-path .build-docker --show-bin-path)/icmm" /out/icmm

FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libmicrohttpd12 libsqlite3-0 libpq5 libstdc++6 curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin icmm \
 && mkdir -p /app /data \
 && chown icmm:icmm /data
COPY --from=build /out/icmm /usr/local/bin/icmm
COPY Migrations /app/Migrations
COPY openapi.yaml /app/openapi.yaml
COPY fhir-terminology.tsv /app/fhir-terminology.tsv
WORKDIR /app
USER icmm
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["icmm"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080", "--db", "/data/icmm.sqlite", "--migrations", "/app/Migrations", "--openapi", "/app/openapi.yaml"]
