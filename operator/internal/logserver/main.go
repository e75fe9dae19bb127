package logserver

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/client/config"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
)

// Main is "kubeopencode log-server": it serves Server over HTTPS until ctx ends, and returns
// the process exit code (0 after a clean shutdown, 1 on failure, 2 on bad flags).
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kubeopencode log-server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig file; empty: $KUBECONFIG, ~/.kube/config or the in-cluster ServiceAccount")
	addr := fs.String("bind-address", ":8443", "HTTPS address to serve on")
	certFile := fs.String("tls-cert-file", "", "serving certificate (PEM); required: the server receives bearer tokens and never serves plain HTTP")
	keyFile := fs.String("tls-key-file", "", "private key of --tls-cert-file (PEM); required")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: kubeopencode log-server [flags]\n\nServes the logs of a Task's agent Pod to whoever may get tasks/log on the Task:\n  GET %s\n\nFlags:\n", LogPath("{namespace}", "{name}"))
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 || *certFile == "" || *keyFile == "" {
		fmt.Fprintln(stderr, "--tls-cert-file and --tls-key-file are required, and no arguments")
		return 2
	}
	log := zap.New(zap.WriteTo(stderr))
	var cfg *rest.Config
	var err error
	if *kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", *kubeconfig)
	} else {
		cfg, err = ctrlconfig.GetConfig()
	}
	if err != nil {
		log.Error(err, "loading the Kubernetes client configuration")
		return 1
	}
	scheme := runtime.NewScheme()
	if err := errors.Join(clientgoscheme.AddToScheme(scheme), v1alpha1.AddToScheme(scheme)); err != nil {
		log.Error(err, "building the scheme")
		return 1
	}
	tasks, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		log.Error(err, "creating the client")
		return 1
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		log.Error(err, "creating the client")
		return 1
	}
	srv := &http.Server{
		Addr:              *addr,
		Handler:           (&Server{Kube: kube, Tasks: tasks, Log: log}).Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12},
	}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Info("serving Task logs", "address", *addr)
	if err := srv.ListenAndServeTLS(*certFile, *keyFile); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error(err, "serving")
		return 1
	}
	return 0
}
