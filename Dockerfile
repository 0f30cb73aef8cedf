# faas-gitops container image.
#
# Two stages on the same base: `build` installs the package into a virtualenv at
# /opt/venv, `runtime` copies that virtualenv next to git and runs as a non-root,
# numeric UID. Everything is done through `python3 -m venv` and /opt/venv/bin so the
# file works both on the official python:*-slim images (python in /usr/local/bin)
# and on the Debian-built stand-in that scripts/container-smoke imports when no
# registry is reachable (python in /usr/bin).
#
# Build:  podman build -t faas-gitops .      (or docker build)
# Run:    podman run --read-only -v faas-state:/var/lib/faas-gitops \
#           -v ./repo:/repo:ro faas-gitops --sync-once --repo /repo ...
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python3 -m venv /opt/venv

WORKDIR /src
# .dockerignore admits only what the wheel needs (pyproject, README, LICENSE, src/).
COPY . .
# Behind a TLS-intercepting proxy, pass the CA bundle that proxy needs as a build
# secret (`--secret id=ca-bundle,src=/etc/ssl/certs/ca-certificates.crt`): it is used
# for this step only and never lands in a layer. Without it, pip's own CAs are used.
# The project is a local path (its dependencies are ranged in pyproject.toml), so
# there is no version to pin here.
# hadolint ignore=DL3013
RUN --mount=type=secret,id=ca-bundle,required=false \
    if [ -s /run/secrets/ca-bundle ]; then export PIP_CERT=/run/secrets/ca-bundle; fi \
    && /opt/venv/bin/pip install . \
    && /opt/venv/bin/python -c "import faas_gitops"

# ---------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

# git is what faas-gitops shells out to (GitPython); gnupg and openssh-client are what
# git runs to check OpenPGP and SSH signatures (--verify-signatures). bookworm is a
# stable release: pinning exact Debian revisions would block its security updates, so
# the versions float within bookworm on purpose.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends git ca-certificates gnupg openssh-client \
    && rm -rf /var/lib/apt/lists/*

# Numeric UID/GID so Kubernetes' runAsNonRoot can verify it without /etc/passwd.
# safe.directory: the repository is mounted from a volume written by someone else
# (the host user, or git-sync's UID); git >= 2.35.2 refuses such a repository as of
# "dubious ownership". The container only ever reads repositories it was pointed
# at, so the system config trusts every path. It lives in /etc/gitconfig so it holds
# on a read-only root filesystem and whatever environment the process is given.
RUN groupadd --gid 10001 faas-gitops \
    && useradd --uid 10001 --gid 10001 --no-create-home --no-log-init \
       --home-dir /var/lib/faas-gitops --shell /usr/sbin/nologin faas-gitops \
    && install -d -o 10001 -g 10001 -m 0750 /var/lib/faas-gitops \
    && git config --system --add safe.directory '*'

COPY --from=build /opt/venv /opt/venv

# HOME and the working directory are the state volume: git, and Python's tempfile
# (which falls back to the working directory), then have somewhere to write when the
# root filesystem is read-only and /tmp is not a writable mount.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/var/lib/faas-gitops \
    FAAS_GITOPS_STATE_DIR=/var/lib/faas-gitops

WORKDIR /var/lib/faas-gitops
VOLUME ["/var/lib/faas-gitops"]
USER 10001:10001
EXPOSE 8080

# Labels last: the build arguments change on every build and would otherwise
# invalidate the cached layers above.
ARG PYTHON_IMAGE
ARG VERSION=0.0.0+dev
ARG REVISION=unknown
ARG CREATED=unknown
ARG SOURCE=https://example.invalid/faas-gitops
LABEL org.opencontainers.image.title="faas-gitops" \
      org.opencontainers.image.description="GitOps reconciler: syncs a git repository of PubNub Functions packages into the FaaS v2 admin API" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="${PYTHON_IMAGE}" \
      org.opencontainers.image.source="${SOURCE}"

# No CMD: without arguments faas-gitops runs as a daemon configured from its
# FAAS_GITOPS_* environment variables (see deploy/kubernetes).
ENTRYPOINT ["faas-gitops"]
