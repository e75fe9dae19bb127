#!/usr/bin/env bash
# `make verify MODULES...`: everything a reviewer would otherwise check by hand. Prints every
# failure, then exits non-zero if there was one.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export GOWORK=off GOFLAGS=-buildvcs=false
LIBRARIES=(api podspec credentials policy rbac)
failed=()
fail() { failed+=("$1"); printf 'FAIL: %s\n' "$1" >&2; }
step() { printf '== %s\n' "$*"; }

step "gofmt"
unformatted=$(git ls-files -co --exclude-standard '*.go' | xargs gofmt -l)
[ -z "$unformatted" ] || fail "gofmt needed: $unformatted"

for m in "$@"; do
  step "$m: build, vet, staticcheck, tidy"
  tags=""
  [ "$m" = e2e ] && tags="-tags=e2e"
  (cd "$m" && go build $tags ./...) || fail "$m: GOWORK=off go build"
  (cd "$m" && go vet $tags ./...) || fail "$m: go vet"
  (cd "$m" && "$ROOT/bin/staticcheck" $tags ./...) || fail "$m: staticcheck"
  (cd "$m" && go mod tidy -diff >/dev/null) || fail "$m: go mod tidy changes go.mod/go.sum (run: cd $m && GOWORK=off go mod tidy)"
done
for d in hack/tools/testbin/*/; do
  (cd "$d" && go mod tidy -diff >/dev/null) || fail "$d: go mod tidy changes go.mod/go.sum"
done

step "library dependencies"
for m in "${LIBRARIES[@]}"; do
  [ -d "$m" ] || continue
  if grep -q 'sigs.k8s.io/controller-runtime' "$m/go.mod"; then
    fail "$m/go.mod requires controller-runtime: libraries and api must not"
  fi
  # Libraries import only the shared contract (api/contract) of this repository, never each other,
  # the API types or the operator.
  bad=$(cd "$m" && go list -deps ./... 2>/dev/null | grep -E '^(sigs.k8s.io/controller-runtime|github.com/kubeopencode/kubeopencode/)' |
    grep -v "^github.com/kubeopencode/kubeopencode/$m\(/\|$\)" | grep -vx 'github.com/kubeopencode/kubeopencode/api/contract')
  [ -z "$bad" ] || fail "$m imports what a library must not: $(echo $bad)"
done
# taskpod (the pure Task→Pod translation) may import the API types and the libraries, never
# controller-runtime, client-go or the operator: it does no I/O.
if [ -d taskpod ]; then
  if grep -qE 'sigs.k8s.io/controller-runtime|k8s.io/client-go' taskpod/go.mod; then
    fail "taskpod/go.mod requires controller-runtime or client-go: taskpod must not"
  fi
  deps=$(cd taskpod && go list -deps ./...) || fail "taskpod: go list -deps failed"
  bad=$(echo "$deps" | grep -E '^(sigs.k8s.io/controller-runtime|k8s.io/client-go|github.com/kubeopencode/kubeopencode/)' |
    grep -vE '^github.com/kubeopencode/kubeopencode/(taskpod|api|podspec|credentials|policy)(/|$)')
  [ -z "$bad" ] || fail "taskpod imports what it must not: $(echo $bad)"
  # No library imports taskpod: it sits above them.
  for m in "${LIBRARIES[@]}"; do
    if [ -d "$m" ] && grep -q 'github.com/kubeopencode/kubeopencode/taskpod' "$m/go.mod"; then
      fail "$m requires taskpod: libraries must not"
    fi
  done
fi
# The contract imports only the standard library, so importing it costs a library nothing.
nonstd=$(cd api && go list -deps -f '{{if not .Standard}}{{.ImportPath}}{{end}}' ./contract | grep -vx 'github.com/kubeopencode/kubeopencode/api/contract')
[ -z "$nonstd" ] || fail "api/contract imports more than the standard library: $(echo $nonstd)"

step "generated files up to date"
# Compare the tree before and after generation, so unrelated local edits do not count.
# go.work.sum is excluded: any workspace-mode go command may touch it, generation or not.
snapshot() { git status --porcelain --untracked-files=all -- . ":!go.work.sum"; git diff -- . ":!go.work.sum"; }
before=$(snapshot)
make -s generate >/dev/null || fail "make generate failed"
if [ "$before" != "$(snapshot)" ]; then
  fail "make generate changed files (commit the regenerated files): $(git status --porcelain --untracked-files=all | head -20)"
fi

if [ ${#failed[@]} -gt 0 ]; then
  printf '\nverify: %d problem(s)\n' "${#failed[@]}" >&2
  exit 1
fi
echo "verify: all checks passed"
