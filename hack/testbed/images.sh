#!/usr/bin/env bash
# Builds the test images offline (no registry): static Go binaries on an empty base, written as
# docker-archive tarballs that `ctr images import` accepts. Rebuilt every time (seconds), because
# they come from this repository's code, not from pinned versions.
#   example.local/pause:v1     the sandbox image of the real node
#   example.local/kubeopencode:dev  the operator's own image (the kubeopencode binary, static, at
#                              /usr/local/bin/kubeopencode, where agent Pods' init steps call it)
#   example.local/agent:v1     an "agent image": its entrypoint installs the probe as /tools/opencode,
#                              as a real agent image installs OpenCode
#   example.local/probe:v1     test workload that reports what a container can see and do; it also
#                              carries /stage-credentials, the credentials module's staging program
# and the project's own images (hack/images/build.sh, `make image`): kubeopencode.local/operator,
# agent-opencode (the real OpenCode binary) and executor, linked here so node-up.sh imports them.
set -euo pipefail
. "$(dirname "$0")/env.sh"
mkdir -p "$TESTBED_IMAGES"
tools=$REPO_ROOT/hack/tools
(cd "$REPO_ROOT/e2e" && GOWORK=off CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "$TESTBED_BIN/probe" ./cmd/probe)
(cd "$REPO_ROOT/credentials" && GOWORK=off CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "$TESTBED_BIN/stage-credentials" ./cmd/stage-credentials)
(cd "$tools" && GOWORK=off go build -o "$TESTBED_BIN/mkimage" ./cmd/mkimage)
"$TESTBED_BIN/mkimage" -tag example.local/pause:v1 -out "$TESTBED_IMAGES/pause.tar" -entrypoint /probe,pause "$TESTBED_BIN/probe:/probe"
"$TESTBED_BIN/mkimage" -tag example.local/agent:v1 -out "$TESTBED_IMAGES/agent.tar" -entrypoint /probe,install,/tools "$TESTBED_BIN/probe:/probe"
"$TESTBED_BIN/mkimage" -tag example.local/probe:v1 -out "$TESTBED_IMAGES/probe.tar" -entrypoint /probe "$TESTBED_BIN/probe:/probe" "$TESTBED_BIN/stage-credentials:/stage-credentials"
(cd "$REPO_ROOT/operator" && GOWORK=off CGO_ENABLED=0 go build -trimpath \
  -ldflags="-s -w -X main.version=$(cat "$REPO_ROOT/VERSION")" -o "$TESTBED_BIN/kubeopencode" ./cmd/kubeopencode)
"$TESTBED_BIN/mkimage" -tag example.local/kubeopencode:dev -out "$TESTBED_IMAGES/kubeopencode.tar" \
  -entrypoint /usr/local/bin/kubeopencode "$TESTBED_BIN/kubeopencode:/usr/local/bin/kubeopencode"
IMAGE_OUT=$KUBEOPENCODE_CACHE/images/testbed "$REPO_ROOT/hack/images/build.sh"
for i in operator agent-opencode executor; do
  ln -sf "$KUBEOPENCODE_CACHE/images/testbed/$i.tar" "$TESTBED_IMAGES/kubeopencode-$i.tar"
done
log "images ready in $TESTBED_IMAGES"
