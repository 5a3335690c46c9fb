package config

import (
	"strings"
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/api"
)

func TestDefaults(t *testing.T) {
	c, warn, err := Parse(nil)
	if err != nil || len(warn) != 0 {
		t.Fatal(err, warn)
	}
	if c.RESTListen != "127.0.0.1:8085" || !api.IsLoopback(c.RESTListen) || c.WrapUp != 300*time.Second || c.NoAnswerMax != 3 ||
		!c.Redis || c.AMQP || c.DialTemplate != "user/%s" || c.BusyRings != 0 || !c.EarlyOffer || c.GoMaxProcs != 0 ||
		c.PublishLinger != 40*time.Millisecond || c.NoAnswerIdleCPU != 10 {
		t.Fatalf("defaults %+v", c)
	}
}

func TestValues(t *testing.T) {
	c, warn, err := Parse(map[string]string{
		"rest-listen": "0.0.0.0:9000", "rest-password": "s3cret!", "publisher": "both", "wrapup-seconds": "0", "memory-expiry-hours": "24",
		"default-max-wait-seconds": "120", "redis-db": "2", "cti-ip": "10.1.213.29", "fs-db-dir": "/tmp/x", "mystery": "1",
		"early-offer": " Off ", "sip-capture-listen": "127.0.0.1:9060", "overload-idle-cpu": "10",
		"go-max-procs": "1", "publish-linger-ms": "0", "no-answer-idle-cpu": "0",
	})
	if err != nil {
		t.Fatal(err)
	}
	if api.IsLoopback(c.RESTListen) || !c.Redis || !c.AMQP || c.WrapUp != 0 || c.MemoryExpiry != 24*time.Hour || c.MaxWait != 2*time.Minute ||
		c.RedisDB != 2 || c.CTIIP != "10.1.213.29" || c.DBDir != "/tmp/x" || c.EarlyOffer || c.SIPCapture != "127.0.0.1:9060" ||
		c.OverloadIdleCPU != 10 || c.GoMaxProcs != 1 || c.PublishLinger != 0 || c.NoAnswerIdleCPU != 0 {
		t.Fatalf("%+v", c)
	}
	if len(warn) != 1 || !strings.Contains(warn[0], "mystery") {
		t.Fatalf("warnings %q", warn)
	}
}

func TestBadValuesAreNamed(t *testing.T) {
	_, _, err := Parse(map[string]string{
		"rest-listen": "8085", "publisher": "kafka", "wrapup-seconds": "-1", "redis-db": "99",
		"cti-ip": "not-an-ip", "token-ttl": "0", "dial-template": " ", "rest-password": "",
		"early-offer": "maybe", "sip-capture-listen": "0.0.0.0:9060", "overload-idle-cpu": "100", "no-answer-idle-cpu": "-5",
		"go-max-procs": "-1", "publish-linger-ms": "1001",
	})
	if err == nil {
		t.Fatal("no error")
	}
	for _, name := range []string{"rest-listen", "publisher", "wrapup-seconds", "redis-db", "cti-ip", "token-ttl", "dial-template", "rest-password", "early-offer", "sip-capture-listen", "overload-idle-cpu", "no-answer-idle-cpu", "go-max-procs", "publish-linger-ms"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
}

func TestRESTLimits(t *testing.T) {
	c, _, err := Parse(map[string]string{"rest-max-connections": "500", "rest-max-connections-per-ip": "20",
		"rest-read-timeout-seconds": "5", "rest-idle-timeout-seconds": "30", "token-ttl": "7200"})
	if err != nil {
		t.Fatal(err)
	}
	r := c.REST()
	if r.MaxConns != 500 || r.MaxConnsPerIP != 20 || r.ReadTimeout != 5*time.Second || r.IdleTimeout != 30*time.Second || r.TokenTTL != 2*time.Hour {
		t.Fatalf("%+v", r)
	}
	d, _, _ := Parse(nil)
	if d.TokenTTL != api.DefaultTokenTTL || d.RESTMaxConns != api.DefaultMaxConns || d.RESTPassword != api.DefaultPassword {
		t.Fatalf("defaults are not api's: %+v", d)
	}
	_, _, err = Parse(map[string]string{"rest-max-connections": "0", "rest-max-connections-per-ip": "x"})
	for _, name := range []string{"rest-max-connections=", "rest-max-connections-per-ip"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
}

func TestDialTemplateChecked(t *testing.T) {
	if _, _, err := Parse(map[string]string{"dial-template": "user/%s &park()"}); err == nil || !strings.Contains(err.Error(), "dial-template") {
		t.Fatalf("injecting template accepted: %v", err)
	}
	if c, _, err := Parse(map[string]string{"dial-template": "{ignore_early_media=true}sofia/gateway/gw1/%s"}); err != nil || c.DialTemplate != "{ignore_early_media=true}sofia/gateway/gw1/%s" {
		t.Fatalf("good template: %v", err)
	}
}

func TestDefaultPasswordOnlyOnLoopback(t *testing.T) {
	if _, _, err := Parse(map[string]string{"rest-listen": "0.0.0.0:8085"}); err == nil || !strings.Contains(err.Error(), "rest-password") {
		t.Fatalf("public address with the default password: %v", err)
	}
	if _, _, err := Parse(map[string]string{"rest-listen": "[::1]:8085"}); err != nil {
		t.Fatalf("loopback with the default password: %v", err)
	}
}

func TestCORSOrigins(t *testing.T) {
	c, _, err := Parse(map[string]string{"rest-cors-origins": "https://a.example, http://b.example:8080"})
	if err != nil || len(c.CORSOrigins) != 2 || c.REST().CORSOrigins[1] != "http://b.example:8080" {
		t.Fatalf("%v %v", c.CORSOrigins, err)
	}
	for _, bad := range []string{"a.example", "ftp://a.example", "https://a.example/path", "https://"} {
		if _, _, err := Parse(map[string]string{"rest-cors-origins": bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
