package load

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// The operator's install (operator/config): its namespace and ServiceAccount.
const (
	OperatorNamespace      = "kubeopencode-system"
	OperatorServiceAccount = "kubeopencode-operator"
)

// OperatorKubeconfig writes a kubeconfig that authenticates ONLY as the operator's ServiceAccount
// (a TokenRequest token), as hack/run.sh does, to dir/operator.kubeconfig, and returns its path.
func OperatorKubeconfig(ctx context.Context, c *Clients, dir string) (string, error) {
	tr, err := c.Kube.CoreV1().ServiceAccounts(OperatorNamespace).CreateToken(ctx, OperatorServiceAccount,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: new(int64(24 * 3600))}},
		metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("requesting a token for %s/%s (is operator/config installed?): %w", OperatorNamespace, OperatorServiceAccount, err)
	}
	ca := c.Config.CAData
	if len(ca) == 0 && c.Config.CAFile != "" {
		if ca, err = os.ReadFile(c.Config.CAFile); err != nil {
			return "", fmt.Errorf("reading the cluster CA: %w", err)
		}
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["c"] = &clientcmdapi.Cluster{Server: c.Config.Host, CertificateAuthorityData: ca}
	kc.AuthInfos["op"] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	kc.Contexts["c"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "op", Namespace: OperatorNamespace}
	kc.CurrentContext = "c"
	path := filepath.Join(dir, "operator.kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	return path, os.Chmod(path, 0o600)
}

// metricsReader is the harness's own identity for the operator's metrics endpoint, which serves
// HTTPS and authenticates and authorizes a bearer token for get /metrics.
const metricsReader = "kubeopencode-load-metrics-reader"

// MetricsToken creates (idempotently) a ServiceAccount allowed only get /metrics and returns a
// token for it.
func MetricsToken(ctx context.Context, c *Clients) (string, error) {
	ignoreExists := func(err error) error {
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		return err
	}
	_, err := c.Kube.CoreV1().ServiceAccounts(OperatorNamespace).Create(ctx, &corev1.ServiceAccount{
		ObjectMeta: metav1.ObjectMeta{Name: metricsReader, Namespace: OperatorNamespace}}, metav1.CreateOptions{})
	if err = ignoreExists(err); err != nil {
		return "", fmt.Errorf("creating the metrics reader ServiceAccount: %w", err)
	}
	_, err = c.Kube.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: metricsReader},
		Rules:      []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}},
	}, metav1.CreateOptions{})
	if err = ignoreExists(err); err != nil {
		return "", fmt.Errorf("creating the metrics reader ClusterRole: %w", err)
	}
	_, err = c.Kube.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: metricsReader},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: metricsReader},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: metricsReader, Namespace: OperatorNamespace}},
	}, metav1.CreateOptions{})
	if err = ignoreExists(err); err != nil {
		return "", fmt.Errorf("creating the metrics reader ClusterRoleBinding: %w", err)
	}
	tr, err := c.Kube.CoreV1().ServiceAccounts(OperatorNamespace).CreateToken(ctx, metricsReader,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: new(int64(24 * 3600))}},
		metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("requesting a metrics reader token: %w", err)
	}
	return tr.Status.Token, nil
}

// metricsClient talks to the operator's loopback metrics endpoint, whose certificate is
// self-signed by default: it is not verified (the harness started the process itself).
var metricsClient = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
	TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // loopback, our own child process
}}

// OperatorProcess is the operator binary running as a child process with its production flags.
type OperatorProcess struct {
	cmd         *exec.Cmd
	exited      chan struct{}
	MetricsAddr string
	// MetricsToken authenticates the harness to the metrics endpoint (HTTPS).
	MetricsToken string
	// plainHTTP is set when the endpoint turned out to speak plain HTTP (older builds).
	plainHTTP bool
	LogPath   string
	Started   time.Time
}

// OperatorGOMEMLIMIT is the operator Deployment's GOMEMLIMIT (operator/config/manager), set for
// the process as in production.
const OperatorGOMEMLIMIT = "200MiB"

// OperatorArgs are the production flags of `kubeopencode controller` the harness runs with:
// leader election on (the default), all namespaces, plain metrics on a loopback port, probes off.
// concurrency 0 keeps the binary's default.
// pprofAddr, when set, adds --pprof-bind-address (a loopback address) for CPU and heap profiles.
func OperatorArgs(kubeconfig, metricsAddr string, concurrency int, pprofAddr string) []string {
	args := []string{"controller", "--kubeconfig", kubeconfig,
		"--leader-election-namespace", OperatorNamespace,
		"--metrics-bind-address", metricsAddr, "--health-probe-bind-address", "0"}
	if concurrency > 0 {
		args = append(args, "--concurrency", fmt.Sprint(concurrency))
	}
	if pprofAddr != "" {
		args = append(args, "--pprof-bind-address", pprofAddr)
	}
	return args
}

// SaveProfile fetches path (e.g. "/debug/pprof/heap" or "/debug/pprof/profile?seconds=20")
// from the operator's pprof endpoint at addr into file.
func SaveProfile(ctx context.Context, addr, path, file string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{}).Do(req)
	if err != nil {
		return fmt.Errorf("profile %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("profile %s: HTTP %d", path, resp.StatusCode)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("profile %s: %w", path, err)
	}
	return os.WriteFile(file, b, 0o644)
}

// StartOperator starts binary with args, logging to logPath, and returns once the process runs.
func StartOperator(binary string, args []string, metricsAddr, metricsToken, logPath string) (*OperatorProcess, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("creating the operator log: %w", err)
	}
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "GOMEMLIMIT="+OperatorGOMEMLIMIT)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s: %w", binary, err)
	}
	p := &OperatorProcess{cmd: cmd, exited: make(chan struct{}), MetricsAddr: metricsAddr, MetricsToken: metricsToken, LogPath: logPath, Started: time.Now()}
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(p.exited)
	}()
	return p, nil
}

// Pid of the operator process.
func (p *OperatorProcess) Pid() int { return p.cmd.Process.Pid }

// Stats reads the operator's peak RSS and CPU time so far.
func (p *OperatorProcess) Stats() (peakRSS int64, cpuSeconds float64, err error) {
	select {
	case <-p.exited:
		return 0, 0, fmt.Errorf("the operator exited; see %s", p.LogPath)
	default:
	}
	return ProcessStats(p.Pid())
}

// Stop sends SIGTERM (the operator releases its Lease) and waits up to 20 s, then kills it.
func (p *OperatorProcess) Stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// Kill sends SIGKILL (a crash: nothing is cleaned up, the leader-election Lease is not
// released) and waits until the process is gone.
func (p *OperatorProcess) Kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// Exited is closed once the process has exited, whatever ended it.
func (p *OperatorProcess) Exited() <-chan struct{} { return p.exited }

// IsLeader reports whether the operator says it is the leader now
// (leader_election_master_status 1); false when it cannot be asked.
func (p *OperatorProcess) IsLeader(ctx context.Context) bool {
	text, err := p.Metrics(ctx)
	if err != nil {
		return false
	}
	s, _ := ParseSamples(text, "leader_election_master_status")
	return len(s) > 0 && s[0].Value == 1
}

// Metrics fetches the operator's Prometheus exposition, over HTTPS with the bearer token (or
// plain HTTP when the endpoint speaks only that).
func (p *OperatorProcess) Metrics(ctx context.Context) (string, error) {
	scheme := "https://"
	if p.plainHTTP {
		scheme = "http://"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+p.MetricsAddr+"/metrics", nil)
	if err != nil {
		return "", err
	}
	if p.MetricsToken != "" && !p.plainHTTP {
		req.Header.Set("Authorization", "Bearer "+p.MetricsToken)
	}
	resp, err := metricsClient.Do(req)
	if err != nil && !p.plainHTTP && strings.Contains(err.Error(), "server gave HTTP response to HTTPS client") {
		p.plainHTTP = true
		return p.Metrics(ctx)
	}
	if err != nil {
		return "", fmt.Errorf("reading the operator's metrics: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return "", errors.Join(err, fmt.Errorf("operator metrics: HTTP %d", resp.StatusCode))
	}
	return string(b), nil
}

// ClientWrites sums the operator's own rest_client_requests_total by write method (POST, PUT,
// PATCH, DELETE): every write it sent, whatever the resource (Events and Lease renewals included).
func (p *OperatorProcess) ClientWrites(ctx context.Context) (map[string]float64, error) {
	text, err := p.Metrics(ctx)
	if err != nil {
		return nil, err
	}
	return ClientWrites(text)
}

// ClientWrites sums rest_client_requests_total of an exposition by write method.
func ClientWrites(text string) (map[string]float64, error) {
	samples, err := ParseSamples(text, "rest_client_requests_total")
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, s := range samples {
		if m := strings.ToUpper(s.Labels["method"]); isWrite(m) {
			out[m] += s.Value
		}
	}
	return out, nil
}

// WaitLeader waits until the operator reports itself leader (leader_election_master_status 1).
func (p *OperatorProcess) WaitLeader(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		select {
		case <-p.exited:
			return fmt.Errorf("the operator exited; see %s", p.LogPath)
		default:
		}
		if text, err := p.Metrics(ctx); err == nil {
			if s, _ := ParseSamples(text, "leader_election_master_status"); len(s) > 0 && s[0].Value == 1 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the operator did not become leader within %s; see %s", timeout, p.LogPath)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
