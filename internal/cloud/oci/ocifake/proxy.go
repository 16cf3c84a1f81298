package ocifake

// The loopback HTTPS proxy, test code only. The oracle-oci Packer plugin
// has no endpoint setting: its OCI SDK calls https://iaas.<region>.
// oraclecloud.com. It does honour HTTPS_PROXY (the SDK's transport uses
// http.ProxyFromEnvironment) and SSL_CERT_FILE, so a test points it here:
// the proxy answers CONNECT for *.oraclecloud.com only, ends TLS with a
// certificate for that host signed by a CA made for this test alone, and
// serves the fake's API on the connection. Nothing leaves 127.0.0.1.

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
	"strings"
	"sync"
	"testing"
	"time"
)

// ProxyDomain is the only domain the proxy lets a client CONNECT to.
const ProxyDomain = ".oraclecloud.com"

// StartProxy starts the loopback HTTPS proxy in front of the fake and
// returns its URL (for HTTPS_PROXY) and the test CA's certificate in PEM
// (for SSL_CERT_FILE); both stop with t.
func (s *Fake) StartProxy(t testing.TB) (proxyURL string, caPEM []byte) {
	t.Helper()
	ca, err := newTestCA()
	if err != nil {
		t.Fatalf("ocifake: test CA: %v", err)
	}
	inner := &connListener{conns: make(chan net.Conn), done: make(chan struct{})}
	api := &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = api.Serve(inner) }()
	tlsConf := &tls.Config{GetCertificate: ca.certificate, NextProtos: []string{"http/1.1"}, MinVersion: tls.VersionTLS12}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("ocifake: proxy: %v", err)
	}
	front := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.Host)
		if r.Method != http.MethodConnect || !strings.HasSuffix(host, ProxyDomain) {
			http.Error(w, "ocifake proxy: only CONNECT to *"+ProxyDomain, http.StatusForbidden)
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
	t.Cleanup(func() {
		_ = front.Close()
		_ = api.Close()
		inner.Close()
	})
	return "http://" + ln.Addr().String(), ca.pem
}

// testCA issues a certificate for each host a client asks for by SNI.
type testCA struct {
	cert  *x509.Certificate
	key   *ecdsa.PrivateKey
	pem   []byte
	mu    sync.Mutex
	hosts map[string]*tls.Certificate
}

func newTestCA() (*testCA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ocifake test CA (never trust outside a test)"},
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
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), hosts: map[string]*tls.Certificate{}}, nil
}

func (ca *testCA) certificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	host := hello.ServerName
	if !strings.HasSuffix(host, ProxyDomain) {
		return nil, errors.New("ocifake proxy: no certificate for " + host)
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
