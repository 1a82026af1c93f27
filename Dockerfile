# syntax=docker/dockerfile:1
# The images of helmrelease-webhook and helmrelease-controller: statically linked binaries on
# distroless/static, as the non-root user 65532, meant for a read-only root filesystem (the
# chart mounts /tmp where a program writes). Build one with its target:
#   docker build --target webhook -t helmrelease-webhook:0.1.0 .
#   docker build --target controller -t helmrelease-controller:0.1.0 .
# Without a container engine, scripts/build-image.sh builds the same images as OCI layouts.

ARG RUST_VERSION=1.89

FROM docker.io/library/rust:${RUST_VERSION}-bookworm AS build
WORKDIR /src
COPY . .
# glibc linked statically: the runtime image has no libc. --target keeps the flag away from
# build scripts and proc-macros, which run on the build machine.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    RUSTFLAGS="-C target-feature=+crt-static" \
    cargo build --release --locked --target x86_64-unknown-linux-gnu \
      -p helmrelease-webhook -p helmrelease-controller && \
    mkdir -p /out && \
    cp target/x86_64-unknown-linux-gnu/release/helmrelease-webhook \
       target/x86_64-unknown-linux-gnu/release/helmrelease-controller /out/

FROM gcr.io/distroless/static-debian12:nonroot AS base
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.source="https://github.com/helmrelease/helmrelease" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0"
USER 65532:65532

FROM base AS webhook
LABEL org.opencontainers.image.title="helmrelease-webhook" \
      org.opencontainers.image.description="Admission webhook for Flux HelmReleases and Helm sources"
COPY --from=build /out/helmrelease-webhook /usr/local/bin/helmrelease-webhook
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/helmrelease-webhook"]

FROM base AS controller
LABEL org.opencontainers.image.title="helmrelease-controller" \
      org.opencontainers.image.description="Reconciles Flux HelmReleases, a drop-in for Flux's helm-controller"
COPY --from=build /out/helmrelease-controller /usr/local/bin/helmrelease-controller
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/helmrelease-controller"]
