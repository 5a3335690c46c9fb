package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestClusterOffByDefault(t *testing.T) {
	c, _, err := Parse(map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Cluster.Enabled() {
		t.Fatal("cluster mode without cluster-redis")
	}
}

func TestClusterParams(t *testing.T) {
	host, _ := os.Hostname()
	c, warn, err := Parse(map[string]string{
		"db-dsn": "postgres://x@db/acd", "cluster-redis": "10.0.0.1:26379, 10.0.0.2:26379",
		"cluster-sentinel-master": "acd", "cluster-redis-password": " pw ", "cluster-redis-db": "3",
		"cluster-redis-tls": "true", "cluster-redis-tls-server-name": "redis.example", "cluster-lease-seconds": "5",
	})
	if err != nil || len(warn) > 0 {
		t.Fatal(err, warn)
	}
	cl := c.Cluster
	if !cl.Enabled() || len(cl.Addrs) != 2 || cl.Addrs[1] != "10.0.0.2:26379" || cl.Sentinel != "acd" ||
		cl.Password != " pw " || cl.DB != 3 || cl.TLS == nil || cl.TLS.ServerName != "redis.example" ||
		cl.Lease != 5*time.Second || cl.Node != host {
		t.Fatalf("%+v", cl)
	}
}

func TestClusterRefusesTheEmbeddedStore(t *testing.T) {
	_, _, err := Parse(map[string]string{"cluster-redis": "127.0.0.1:6379"})
	if err == nil || !strings.Contains(err.Error(), "embedded store is single-node only") {
		t.Fatalf("%v", err)
	}
}

func TestClusterBadParams(t *testing.T) {
	ca := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(ca, []byte("not a certificate"), 0o600)
	_, _, err := Parse(map[string]string{
		"db-dsn": "postgres://x@db/acd", "cluster-redis": "nohostport", "cluster-node-id": "a b",
		"cluster-lease-seconds": "0", "cluster-redis-tls": "maybe",
	})
	for _, name := range []string{"cluster-redis=", "cluster-node-id", "cluster-lease-seconds", "cluster-redis-tls="} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s not named in %v", name, err)
		}
	}
	_, _, err = Parse(map[string]string{"db-dsn": "postgres://x@db/acd", "cluster-redis": "r:6379", "cluster-redis-tls": "on", "cluster-redis-tls-ca": ca})
	if err == nil || !strings.Contains(err.Error(), "cluster-redis-tls-ca") {
		t.Errorf("bad CA file: %v", err)
	}
	_, _, err = Parse(map[string]string{"cluster-node-id": "n1"})
	if err == nil || !strings.Contains(err.Error(), "needs cluster-redis") {
		t.Errorf("cluster-node-id alone: %v", err)
	}
}
