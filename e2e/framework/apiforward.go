package framework

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"time"
)

// APIForwarder lets Pods of the real node reach the test bed's API server, which listens on
// 127.0.0.1 only (there is no kube-proxy and no Service routing). It listens on an address of
// this host that the API server's serving certificate names (kwokctl puts every interface address
// of the host in it), so a Pod that sets KUBERNETES_SERVICE_HOST/PORT to Host/Port verifies the
// real certificate with the cluster CA from its ServiceAccount volume. It copies bytes only: TLS
// runs end to end between the Pod and the API server, which authenticates every request.
type APIForwarder struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]bool
	closed bool
}

// StartAPIForwarder starts forwarding to the API server at serverURL (https://127.0.0.1:port),
// whose certificate caPEM verifies.
func StartAPIForwarder(ctx context.Context, serverURL string, caPEM []byte) (*APIForwarder, error) {
	u, err := url.Parse(serverURL)
	if err != nil {
		return nil, fmt.Errorf("parsing the API server address %q: %w", serverURL, err)
	}
	ip, err := reachableCertifiedIP(ctx, u.Host, caPEM)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(ip.String(), "0"))
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", ip, err)
	}
	return forward(ln, u.Host), nil
}

// forward serves ln, copying every connection to and from target.
func forward(ln net.Listener, target string) *APIForwarder {
	f := &APIForwarder{ln: ln, target: target, conns: map[net.Conn]bool{}}
	f.wg.Add(1)
	go f.serve()
	return f
}

// Host and Port are what a Pod puts in KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT.
func (f *APIForwarder) Host() string {
	h, _, _ := net.SplitHostPort(f.ln.Addr().String())
	return h
}

// Port is the listening port; see Host.
func (f *APIForwarder) Port() string {
	_, p, _ := net.SplitHostPort(f.ln.Addr().String())
	return p
}

// Close stops listening, ends every forwarded connection and waits for them.
func (f *APIForwarder) Close() {
	f.mu.Lock()
	f.closed = true
	for c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
	f.ln.Close()
	f.wg.Wait()
}

func (f *APIForwarder) track(c net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		c.Close()
		return false
	}
	f.conns[c] = true
	return true
}

func (f *APIForwarder) untrack(c net.Conn) {
	f.mu.Lock()
	delete(f.conns, c)
	f.mu.Unlock()
	c.Close()
}

func (f *APIForwarder) serve() {
	defer f.wg.Done()
	for {
		in, err := f.ln.Accept()
		if err != nil {
			return
		}
		if !f.track(in) {
			continue
		}
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			defer f.untrack(in)
			out, err := net.DialTimeout("tcp", f.target, 5*time.Second)
			if err != nil || !f.track(out) {
				return
			}
			defer f.untrack(out)
			var pipes sync.WaitGroup
			pipes.Add(2)
			for _, p := range [][2]net.Conn{{out, in}, {in, out}} {
				go func() {
					defer pipes.Done()
					_, _ = io.Copy(p[0], p[1])
					if tc, ok := p[0].(*net.TCPConn); ok {
						_ = tc.CloseWrite()
					}
				}()
			}
			pipes.Wait()
		}()
	}
}

// reachableCertifiedIP returns a non-loopback IPv4 address of this host that the API server's
// certificate names.
func reachableCertifiedIP(ctx context.Context, hostport string, caPEM []byte) (net.IP, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("the API server CA holds no PEM certificate")
	}
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return nil, err
	}
	d := tls.Dialer{Config: &tls.Config{RootCAs: pool, ServerName: host, MinVersion: tls.VersionTLS12}}
	conn, err := d.DialContext(ctx, "tcp", hostport)
	if err != nil {
		return nil, fmt.Errorf("reading the API server's certificate: %w", err)
	}
	certs := conn.(*tls.Conn).ConnectionState().PeerCertificates
	conn.Close()
	local, err := net.InterfaceAddrs()
	if err != nil {
		return nil, fmt.Errorf("listing this host's addresses: %w", err)
	}
	for _, ip := range certs[0].IPAddresses {
		if ip.IsLoopback() || ip.To4() == nil {
			continue
		}
		for _, a := range local {
			if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
				return ip, nil
			}
		}
	}
	return nil, fmt.Errorf("the API server's certificate names no non-loopback IPv4 address of this host (it names %v)", certs[0].IPAddresses)
}
