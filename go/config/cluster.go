package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

// Cluster is a node's membership of an active-active cluster (docs/cluster.md).
// Without cluster-redis the node is single-node: no Redis on the call path.
type Cluster struct {
	Addrs      []string // cluster-redis: host:port, comma-separated (the sentinels with SentinelMaster)
	Node       string   // cluster-node-id; default the host name
	Sentinel   string   // cluster-sentinel-master: Sentinel's name of the master
	Username   string   // cluster-redis-username
	Password   string   // cluster-redis-password
	SentinelPW string   // cluster-sentinel-password; "" = cluster-redis-password
	DB         int      // cluster-redis-db
	TLS        *tls.Config
	Prefix     string        // cluster-key-prefix; "" = the pool's default
	Lease      time.Duration // cluster-lease-seconds: a dead node is reaped within it (+1/3)
}

// Enabled reports whether the node is a cluster member.
func (c Cluster) Enabled() bool { return len(c.Addrs) > 0 }

var clusterParams = []string{
	"cluster-redis", "cluster-node-id", "cluster-sentinel-master", "cluster-redis-username",
	"cluster-redis-password", "cluster-sentinel-password", "cluster-redis-db", "cluster-redis-tls",
	"cluster-redis-tls-ca", "cluster-redis-tls-server-name", "cluster-key-prefix", "cluster-lease-seconds",
}

func init() { Known = append(Known, clusterParams...) }

// cluster reads the cluster-* parameters. It runs after publishers (it
// needs db-dsn: the embedded store is single-node only).
func (r *reader) cluster(c *Config) {
	v, ok := r.value("cluster-redis")
	if !ok {
		for _, p := range clusterParams[1:] {
			if _, set := r.value(p); set {
				r.bad(p, r.p[p], "needs cluster-redis (the node is not a cluster member without it)")
			}
		}
		return
	}
	cl := &c.Cluster
	for _, a := range strings.Split(v, ",") {
		a = strings.TrimSpace(a)
		if _, _, err := net.SplitHostPort(a); err != nil || a == "" {
			r.bad("cluster-redis", a, "want host:port[,host:port…]")
			continue
		}
		cl.Addrs = append(cl.Addrs, a)
	}
	if c.DBDSN == "" {
		r.bad("cluster-redis", v, "needs db-dsn (PostgreSQL): the embedded store is single-node only, its configuration cannot be shared by several nodes")
	}
	cl.Node, _ = os.Hostname()
	r.str("cluster-node-id", &cl.Node)
	if cl.Node == "" || strings.ContainsAny(cl.Node, "\t:, ") || len(cl.Node) > 64 {
		r.bad("cluster-node-id", cl.Node, "want a name of up to 64 characters without blanks, ':' or ','")
	}
	r.str("cluster-sentinel-master", &cl.Sentinel)
	r.str("cluster-redis-username", &cl.Username)
	r.raw("cluster-redis-password", &cl.Password)
	r.raw("cluster-sentinel-password", &cl.SentinelPW)
	r.integer("cluster-redis-db", &cl.DB, 0, 15)
	r.str("cluster-key-prefix", &cl.Prefix)
	secs := 3
	r.integer("cluster-lease-seconds", &secs, 1, 60)
	cl.Lease = time.Duration(secs) * time.Second
	tlsOn, _ := r.value("cluster-redis-tls")
	switch strings.ToLower(tlsOn) {
	case "", "false", "no", "off":
		if _, set := r.value("cluster-redis-tls-ca"); set {
			r.bad("cluster-redis-tls-ca", r.p["cluster-redis-tls-ca"], "needs cluster-redis-tls=true")
		}
	case "true", "yes", "on":
		cl.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
		r.str("cluster-redis-tls-server-name", &cl.TLS.ServerName)
		if ca, set := r.value("cluster-redis-tls-ca"); set {
			pem, err := os.ReadFile(ca)
			pool := x509.NewCertPool()
			if err != nil || !pool.AppendCertsFromPEM(pem) {
				r.bad("cluster-redis-tls-ca", ca, fmt.Sprintf("want a readable PEM file of CA certificates (%v)", err))
			}
			cl.TLS.RootCAs = pool
		}
	default:
		r.bad("cluster-redis-tls", tlsOn, "want true or false")
	}
}
