# syntax=docker/dockerfile:1
# upshift in a container, for hosts where installing a binary is not wanted. The container drives the HOST's
# Docker engine through its socket, so it needs three things from `docker run`:
#   -v /var/run/docker.sock:/var/run/docker.sock   the engine that runs the deployment
#   -v "$PWD:$PWD" -w "$PWD"                        the project folder at the SAME path as on the host: compose
#                                                   and upshift's helper containers hand host paths to the engine
#   --network host                                  upshift reads the database through libpq on the host's
#                                                   127.0.0.1 (the port it publishes for itself during a run)
#
# Build (scripts/release writes dist/upshift first; the build context is only that file, see .dockerignore):
#   scripts/release && docker build -t upshift .
# Use, in the project folder:
#   docker run --rm -it --network host -v /var/run/docker.sock:/var/run/docker.sock \
#       -v "$PWD:$PWD" -w "$PWD" upshift doctor
#
# Not built in this repository's CI: the test machine cannot pull base images (no Docker Hub).

# The docker CLI and its compose v2 plugin: static Go binaries, copied from Docker's own CLI image.
ARG DOCKER_CLI_IMAGE=docker:27-cli
FROM ${DOCKER_CLI_IMAGE} AS docker-cli

FROM debian:bookworm-slim
# libpq5 is upshift's only shared dependency besides glibc (the Swift runtime is linked in); tar and gzip,
# used for media archives, are part of the base image.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq5 ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=docker-cli /usr/local/bin/docker /usr/local/bin/docker
COPY --from=docker-cli /usr/local/libexec/docker/cli-plugins/docker-compose /usr/local/libexec/docker/cli-plugins/docker-compose
COPY dist/upshift /usr/local/bin/upshift
# Fail the image build, not the first real run, when a library or the compose plugin is missing.
RUN upshift --version && docker --version && docker compose version
ENTRYPOINT ["upshift"]
CMD ["--help"]
