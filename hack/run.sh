#!/usr/bin/env bash
# `make run`: the operator demo.
#
# Without KUBECONFIG: builds the test bed (first time ~11 min), starts a local control plane with a
# kwok fake node, installs the CRDs, the generated RBAC and the admission policy, runs the operator
# as a local process authenticated ONLY as its ServiceAccount, applies a sample, shows a Task going
# to Completed and the hardened Pod it ran as. As root, it then starts the real node and runs the
# real OpenCode agent (the project's images) against a scripted model server on this host for a
# Task of alice's, and prints what the agent printed. Then it waits for Ctrl-C and tears everything
# down. RUN_ONCE=1 skips the wait (used by tests); DEMO_REAL_AGENT=0 skips the real agent;
# DEMO_MODEL_BASE_URL, DEMO_MODEL_NAME and DEMO_MODEL_API_KEY point the real agent at a real
# OpenAI-compatible provider instead (the Pod must be able to reach it: the test bed's bridge does
# no masquerading, so on the local test bed only this host is reachable).
#
# With KUBECONFIG set: installs the same manifests into that cluster and runs the operator against
# it in the foreground (Ctrl-C stops it); nothing else is changed.
set -euo pipefail
. "$(dirname "$0")/testbed/env.sh"
cd "$REPO_ROOT"
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
kubectl() { "$TESTBED_BIN/kubectl" --kubeconfig "$KC" "$@"; }
started=$(date +%s)

if [ -n "${KUBECONFIG:-}" ]; then
  KC=$KUBECONFIG; local_cluster=0
  step "using the cluster of KUBECONFIG=$KUBECONFIG"
  [ -x "$TESTBED_BIN/kubectl" ] || "$TESTBED_HACK/build.sh"   # only kubectl is needed here
else
  local_cluster=1
  step "building the test bed (cached after the first run, which takes ~11 minutes on 2 cores)"
  "$TESTBED_HACK/build.sh"
  [ -f "$TESTBED_KUBECONFIG" ] && "$TESTBED_HACK/down.sh"
  RUN_DIR=$TESTBED_DIR
  trap '"$TESTBED_HACK/down.sh"' EXIT
  step "starting a local control plane with a kwok fake node"
  "$TESTBED_HACK/cluster-up.sh"
  KC=$TESTBED_KUBECONFIG
fi
RUN_DIR=${RUN_DIR:-$(mktemp -d)}
mkdir -p "$RUN_DIR"

step "installing CRDs, the operator's generated RBAC and the admission policy (operator/config)"
kubectl apply -f operator/config/manager/namespace.yaml >/dev/null
kubectl apply -k operator/config/crd >/dev/null
kubectl apply -k operator/config/rbac >/dev/null
kubectl apply -k operator/config/policy >/dev/null
policies_at=$(date +%s)
kubectl wait --for condition=Established crd/agents.kubeopencode.io crd/tasks.kubeopencode.io \
  crd/kubeopencodeconfigs.kubeopencode.io --timeout=60s >/dev/null

step "building the operator and starting it as its ServiceAccount (no cluster-admin)"
GOWORK=off go build -C operator -o "$RUN_DIR/kubeopencode" ./cmd/kubeopencode
token=$(kubectl -n kubeopencode-system create token kubeopencode-operator --duration=24h)
server=$(kubectl config view --minify --raw -o jsonpath='{.clusters[0].cluster.server}')
kubectl config view --minify --flatten -o jsonpath='{.clusters[0].cluster.certificate-authority-data}' | base64 -d >"$RUN_DIR/ca.crt"
cat >"$RUN_DIR/operator.kubeconfig" <<EOC
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "$server", certificate-authority: $RUN_DIR/ca.crt}}]
users: [{name: kubeopencode-operator, user: {token: "$token"}}]
contexts: [{name: c, context: {cluster: c, user: kubeopencode-operator, namespace: kubeopencode-system}}]
current-context: c
EOC
chmod 0600 "$RUN_DIR/operator.kubeconfig"
operator=("$RUN_DIR/kubeopencode" controller --kubeconfig "$RUN_DIR/operator.kubeconfig"
  --leader-election-namespace kubeopencode-system --metrics-bind-address 0 --health-probe-bind-address 0
  --log-format console)
if [ "$local_cluster" = 0 ]; then
  step "running the operator in the foreground (Ctrl-C stops it)"
  exec "${operator[@]}"
fi
"${operator[@]}" >"$RUN_DIR/operator.log" 2>&1 &
operator_pid=$!
trap 'kill $operator_pid 2>/dev/null; wait $operator_pid 2>/dev/null; "$TESTBED_HACK/down.sh"' EXIT
echo "operator log: $RUN_DIR/operator.log"

step "applying the sample: Agent platform-agents/demo-agent (env credential, allows team-*) and alice's rights"
kubectl apply -f hack/run/sample.yaml >/dev/null
# The admission policy is enforced a moment after it is created; mallory (no "use") proves it.
for _ in $(seq 100); do
  if ! kubectl --as mallory --as-group system:authenticated create --dry-run=server -f hack/run/task.yaml >/dev/null 2>&1; then break; fi
  sleep 0.2
done
echo "mallory may create Tasks in team-a but may not use demo-agent; the admission policy refuses her:"
kubectl --as mallory --as-group system:authenticated create -f hack/run/task.yaml 2>&1 | sed 's/^/  /' || true

step "alice creates Task team-a/fix-bug"
# The operator starts no Task created within 5 s of its admission policies (they load
# asynchronously; docs/security.md T22).
wait_s=$(( policies_at + 6 - $(date +%s) ))
[ "$wait_s" -le 0 ] || sleep "$wait_s"
kubectl --as alice --as-group system:authenticated create -f hack/run/task.yaml
phase=""
for _ in $(seq 600); do
  phase=$(kubectl -n team-a get task fix-bug -o jsonpath='{.status.phase}' 2>/dev/null || true)
  case "$phase" in Completed|Failed) break ;; esac
  sleep 0.1
done
kubectl -n team-a get task fix-bug
[ "$phase" = Completed ] || { echo "Task ended $phase; operator log:"; tail -20 "$RUN_DIR/operator.log"; exit 1; }

step "the agent Pod it ran as (in the Agent's namespace; note the securityContext)"
pod=$(kubectl -n team-a get task fix-bug -o jsonpath='{.status.podName}')
kubectl -n platform-agents get pod "$pod" -o yaml | sed -n '/^spec:/,/^status:/p' | grep -v '^status:'

if [ "$(id -u)" = 0 ] && [ "${DEMO_REAL_AGENT:-1}" = 1 ]; then
  step "the real agent: starting the real node (kubelet + containerd, the project's images imported) and a scripted model"
  "$TESTBED_HACK/node-up.sh"
  model_key=${DEMO_MODEL_API_KEY:-demo-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')}
  if [ -n "${DEMO_MODEL_BASE_URL:-}" ]; then
    model_url=$DEMO_MODEL_BASE_URL model_name=${DEMO_MODEL_NAME:?DEMO_MODEL_NAME names the model of DEMO_MODEL_BASE_URL}
    echo "model: $model_name at $model_url (DEMO_MODEL_BASE_URL), key: $([ -n "${DEMO_MODEL_API_KEY:-}" ] && echo "DEMO_MODEL_API_KEY" || echo "none given, a random one")"
  else
    GOWORK=off go build -C e2e -o "$RUN_DIR/scripted-model" ./cmd/scripted-model
    "$RUN_DIR/scripted-model" -listen :0 -key "$model_key" -script hack/run/model-script.json \
      -log "$RUN_DIR/model-requests.jsonl" 2>"$RUN_DIR/model.log" &
    model_pid=$!
    trap 'kill $operator_pid $model_pid 2>/dev/null; wait $operator_pid 2>/dev/null; "$TESTBED_HACK/down.sh"' EXIT
    for _ in $(seq 50); do grep -q listening "$RUN_DIR/model.log" && break; sleep 0.1; done
    port=$(sed -n 's#.*listening on http://.*:\([0-9]*\)/v1#\1#p' "$RUN_DIR/model.log")
    # Pods reach this host through the node's bridge (hack/testbed/node-up.sh: 10.244.0.1).
    model_url=http://10.244.0.1:$port/v1 model_name=scripted
    echo "model: the scripted model server (e2e/modelserver) at $model_url, replaying hack/run/model-script.json"
  fi
  # The key goes into the Secret through the environment (never a command line: ps shows those);
  # demoagent quotes each value and checks where it landed.
  GOWORK=off go build -C hack/tools -o "$RUN_DIR/demoagent" ./cmd/demoagent
  DEMO_MODEL_API_KEY=$model_key "$RUN_DIR/demoagent" -base-url "$model_url" -model "$model_name" hack/run/real-agent.yaml |
    kubectl apply -f - >/dev/null
  kubectl --as alice --as-group system:authenticated create -f hack/run/real-task.yaml
  phase=""
  for _ in $(seq 1500); do
    phase=$(kubectl -n team-a get task add-hello -o jsonpath='{.status.phase}' 2>/dev/null || true)
    case "$phase" in Completed|Failed) break ;; esac
    sleep 0.2
  done
  kubectl -n team-a get task add-hello
  pod=$(kubectl -n team-a get task add-hello -o jsonpath='{.status.podName}')
  step "what the real OpenCode agent printed (kubectl -n platform-agents logs $pod -c agent)"
  kubectl -n platform-agents logs "$pod" -c agent 2>&1 | sed 's/\x1b\[[0-9;]*m//g; s/^/  /'
  if [ -n "${model_pid:-}" ]; then
    n=$(wc -l <"$RUN_DIR/model-requests.jsonl")
    wrong=$(grep -vc "\"Authorization\":\"Bearer $model_key\"" "$RUN_DIR/model-requests.jsonl" || true)
    echo "the model server got $n requests, $wrong without the Agent's key (log: $RUN_DIR/model-requests.jsonl)"
  fi
  [ "$phase" = Completed ] || { echo "the real agent's Task ended $phase; operator log:"; tail -20 "$RUN_DIR/operator.log"; exit 1; }
elif [ "${DEMO_REAL_AGENT:-1}" = 1 ]; then
  step "the real agent needs the test bed's real node, which needs root: skipped (running as $(id -un)); the Task above ran on the kwok fake node"
fi

step "done in $(( $(date +%s) - started ))s. Try next:"
cat <<MSG
  export KUBECONFIG=$KC
  kubectl get agents,tasks -A
  kubectl -n team-a get events --field-selector involvedObject.name=fix-bug
  kubectl --as alice -n team-b create -f hack/run/task.yaml   # namespace team-b is not there yet
  kubectl annotate -n team-a task fix-bug kubeopencode.io/stop=true
MSG
if [ -n "${model_url:-}" ]; then
  echo "  kubectl -n platform-agents logs $pod -c agent            # the real agent's output"
  echo "  kubectl -n platform-agents get pod $pod -o yaml          # its hardened Pod"
fi
if [ "${RUN_ONCE:-0}" = 1 ]; then exit 0; fi
echo; echo "Ctrl-C tears the cluster down."
while kill -0 "$operator_pid" 2>/dev/null; do sleep 1; done
echo "the operator exited; see $RUN_DIR/operator.log"
