package plugintest

// The loopback HTTPS proxy, test code only, for plugins that cannot be
// given an endpoint (googlecompute, oracle-oci): their SDKs call the
// cloud's public host names but honour HTTPS_PROXY and SSL_CERT_FILE. The
// proxy answers CONNECT only for host names under one domain, ends TLS
// with a certificate for the asked host (by SNI) signed by a CA made for
// this test alone, and hands the requests to the double. Any other request
// is refused, and fails the test when it ends. Nothing leaves 127.0.0.1.

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Proxy is a running loopback HTTPS proxy in front of a double.
type Proxy struct {
	// URL is the proxy's address, for HTTPS_PROXY.
	URL string
	// CAFile holds the test CA's certificate, for SSL_CERT_FILE.
	CAFile string
	dir    string

	mu      sync.Mutex
	refused []string
}

// Env is what a packer run needs to go through the proxy: HTTPS_PROXY,
// the CA as the only trusted one, and loopback addresses reached directly.
func (p *Proxy) Env() []string {
	return []string{
		"HTTPS_PROXY=" + p.URL, "https_proxy=" + p.URL, "NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost",
		"SSL_CERT_FILE=" + p.CAFile, "SSL_CERT_DIR=" + p.dir,
	}
}

// StartProxy starts a proxy that tunnels CONNECT to host names ending in
// domain (e.g. ".googleapis.com") to the double at doubleURL, writes the
// CA into dir and stops with t. The test fails if anything else was asked.
func StartProxy(t *testing.T, domain, doubleURL, dir string) *Proxy {
	t.Helper()
	target, err := url.Parse(doubleURL)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := newTestCA(domain)
	if err != nil {
		t.Fatalf("plugintest: test CA: %v", err)
	}
	p := &Proxy{CAFile: filepath.Join(dir, "plugintest-ca.pem"), dir: dir}
	if err := os.WriteFile(p.CAFile, ca.pem, 0o600); err != nil {
		t.Fatal(err)
	}
	inner := &connListener{conns: make(chan net.Conn), done: make(chan struct{})}
	api := &http.Server{Handler: httputil.NewSingleHostReverseProxy(target), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = api.Serve(inner) }()
	tlsConf := &tls.Config{GetCertificate: ca.certificate, NextProtos: []string{"http/1.1"}, MinVersion: tls.VersionTLS12}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("plugintest: proxy: %v", err)
	}
	front := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.Host)
		if r.Method != http.MethodConnect || !strings.HasSuffix(host, domain) {
			p.refuse(r.Method + " " + r.Host)
			http.Error(w, "plugintest proxy: only CONNECT to *"+domain, http.StatusForbidden)
			return
		}
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		if _, err := rw.WriteString("HTTP/1.1 200 Connection established\r\n\r\n"); err != nil || rw.Flush() != nil {
			conn.Close()
			return
		}
		inner.push(tls.Server(bufferedConn{Conn: conn, r: rw.Reader}, tlsConf))
	})}
	go func() { _ = front.Serve(ln) }()
	p.URL = "http://" + ln.Addr().String()
	t.Cleanup(func() {
		_ = front.Close()
		_ = api.Close()
		inner.Close()
		if r := p.Refused(); len(r) > 0 {
			t.Errorf("the plugin tried to reach beyond the double: %v", r)
		}
	})
	return p
}

func (p *Proxy) refuse(what string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refused = append(p.refused, what)
}

// Refused lists the requests the proxy refused.
func (p *Proxy) Refused() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.refused...)
}

// testCA issues a certificate for each host under its domain a client
// asks for by SNI (a wildcard would not cover iaas.<region>.oraclecloud.com).
type testCA struct {
	domain string
	cert   *x509.Certificate
	key    *ecdsa.PrivateKey
	pem    []byte
	mu     sync.Mutex
	hosts  map[string]*tls.Certificate
}

func newTestCA(domain string) (*testCA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "plugintest CA (never trust outside a test)"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &testCA{domain: domain, cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), hosts: map[string]*tls.Certificate{}}, nil
}

func (ca *testCA) certificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	host := hello.ServerName
	if !strings.HasSuffix(host, ca.domain) {
		return nil, errors.New("plugintest proxy: no certificate for " + host)
	}
	ca.mu.Lock()
	defer ca.mu.Unlock()
	if c, ok := ca.hosts[host]; ok {
		return c, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(int64(len(ca.hosts) + 2)), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, err
	}
	c := &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	ca.hosts[host] = c
	return c, nil
}

// connListener hands the proxied TLS connections to the API server.
type connListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *connListener) push(c net.Conn) {
	select {
	case l.conns <- c:
	case <-l.done:
		c.Close()
	}
}

func (l *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *connListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *connListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

// bufferedConn reads first what the CONNECT parser had buffered.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
