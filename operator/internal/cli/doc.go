// Package cli is the task author's command line, kubectl-kubeopencode (a kubectl plugin: "kubectl
// kubeopencode ...") and the same commands under the kubeopencode binary:
//
//	run --agent [NAMESPACE/]NAME [--context FILE]... [--timeout 30m] [--wait] "prompt"
//	list
//	describe NAME        phase, exit code, result, conditions, Events
//	logs NAME [-f]       the agent's log, through the log server (T23)
//	stop NAME            sets the kubeopencode.io/stop annotation
//
// It acts with the caller's kubeconfig only (client-go loading rules, --kubeconfig,
// --kube-context, -n), needs no privilege the caller lacks, and prints the API server's errors
// as they are (an admission policy's refusal included). logs sends the caller's bearer token to
// the log server (--log-server, $KUBEOPENCODE_LOG_SERVER), which checks it with the API server;
// kubeconfigs that authenticate with client certificates only cannot read logs this way.
package cli
