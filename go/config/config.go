// Package config turns the <param name value> pairs of nwayacd.conf.xml
// (passed through by the shim) into typed settings, naming every bad value.
package config

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Config is one node's settings.
type Config struct {
	RESTListen   string
	RESTUser     string
	RESTPassword string
	TokenTTL     time.Duration
	CTIIP        string // "" = the node's primary address
	Redis        bool
	AMQP         bool
	RedisAddr    string
	RedisPass    string
	RedisDB      int
	AMQPURL      string
	AMQPExchange string
	DBDSN        string // "" = embedded store
	WrapUp       time.Duration
	NoAnswerMax  int
	MemoryExpiry time.Duration
	BusyRings    int
	MaxWait      time.Duration
	DialTemplate string
	Context      string
	HoldMusic    string
	CrashLog     string
	DBDir        string // FreeSWITCH's db folder (embedded store, CDR spool)
	LogDir       string
	// Observability (issue 14).
	MetricsToken string        // "" = /metrics needs no token
	ServiceLevel time.Duration // T of "answered within T"; default 20 s
	ShortAbandon time.Duration // abandoned within this is abandoned-short; default 5 s
	StreamMaxLen int           // Redis Stream entries kept per family (~); 0 = no stream
}

// Known lists every parameter name the module reads.
var Known = []string{
	"rest-listen", "rest-user", "rest-password", "token-ttl", "cti-ip", "publisher",
	"redis-addr", "redis-password", "redis-db", "amqp-url", "amqp-exchange", "db-dsn",
	"wrapup-seconds", "no-answer-limit", "memory-expiry-hours", "default-busy-ring-times",
	"default-max-wait-seconds", "dial-template", "transfer-context", "hold-music", "crash-log",
	"fs-log-dir", "fs-db-dir", "fs-conf-dir", "fs-recordings-dir",
	"metrics-token", "service-level-seconds", "abandon-short-seconds", "stream-maxlen",
}

// Parse reads the parameters; unknown names are returned as warnings, bad
// values as one error naming each of them.
func Parse(p map[string]string) (Config, []string, error) {
	c := Config{
		RESTListen: "127.0.0.1:8085", RESTUser: "admin", RESTPassword: "admin", TokenTTL: time.Hour,
		Redis: true, RedisAddr: "127.0.0.1:6379", AMQPURL: "amqp://guest:guest@127.0.0.1:5672/", AMQPExchange: "nwayacd",
		WrapUp: 300 * time.Second, NoAnswerMax: 3, DialTemplate: "user/%s", Context: "default",
		HoldMusic: "local_stream://moh", DBDir: "/usr/local/freeswitch/db", LogDir: "/usr/local/freeswitch/log",
		ServiceLevel: 20 * time.Second, ShortAbandon: 5 * time.Second, StreamMaxLen: 100000,
	}
	var errs []error
	bad := func(name, v, why string) { errs = append(errs, fmt.Errorf("%s=%q: %s", name, v, why)) }
	seconds := func(name string, dst *time.Duration, unit time.Duration, allowZero bool) {
		v, ok := p[name]
		if !ok || strings.TrimSpace(v) == "" {
			return
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 0 || (!allowZero && n == 0) || n > 1_000_000 {
			bad(name, v, "want a whole number of "+strings.TrimSuffix(unit.String(), "0s"))
			return
		}
		*dst = time.Duration(n) * unit
	}
	integer := func(name string, dst *int, lo, hi int) {
		v, ok := p[name]
		if !ok || strings.TrimSpace(v) == "" {
			return
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < lo || n > hi {
			bad(name, v, fmt.Sprintf("want a whole number from %d to %d", lo, hi))
			return
		}
		*dst = n
	}
	str := func(name string, dst *string) {
		if v, ok := p[name]; ok {
			*dst = strings.TrimSpace(v)
		}
	}
	str("rest-listen", &c.RESTListen)
	if _, _, err := net.SplitHostPort(c.RESTListen); err != nil {
		bad("rest-listen", c.RESTListen, "want host:port")
	}
	str("rest-user", &c.RESTUser)
	if v, ok := p["rest-password"]; ok {
		c.RESTPassword = v
	}
	if c.RESTUser == "" || c.RESTPassword == "" {
		bad("rest-user/rest-password", "", "must not be empty")
	}
	seconds("token-ttl", &c.TokenTTL, time.Second, false)
	str("cti-ip", &c.CTIIP)
	if c.CTIIP != "" && net.ParseIP(c.CTIIP) == nil {
		bad("cti-ip", c.CTIIP, "want an IP address")
	}
	if v, ok := p["publisher"]; ok {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "redis":
			c.Redis, c.AMQP = true, false
		case "amqp", "rabbitmq":
			c.Redis, c.AMQP = false, true
		case "both":
			c.Redis, c.AMQP = true, true
		case "none", "":
			c.Redis, c.AMQP = false, false
		default:
			bad("publisher", v, "want redis, amqp, both or none")
		}
	}
	str("redis-addr", &c.RedisAddr)
	if v, ok := p["redis-password"]; ok {
		c.RedisPass = v
	}
	integer("redis-db", &c.RedisDB, 0, 15)
	str("amqp-url", &c.AMQPURL)
	if c.AMQP && !strings.HasPrefix(c.AMQPURL, "amqp://") && !strings.HasPrefix(c.AMQPURL, "amqps://") {
		bad("amqp-url", c.AMQPURL, "want amqp://user:pass@host:port/vhost")
	}
	str("amqp-exchange", &c.AMQPExchange)
	str("db-dsn", &c.DBDSN)
	seconds("wrapup-seconds", &c.WrapUp, time.Second, true)
	integer("no-answer-limit", &c.NoAnswerMax, 0, 1000)
	seconds("memory-expiry-hours", &c.MemoryExpiry, time.Hour, true)
	integer("default-busy-ring-times", &c.BusyRings, 0, 1000)
	seconds("default-max-wait-seconds", &c.MaxWait, time.Second, true)
	str("dial-template", &c.DialTemplate)
	if c.DialTemplate == "" {
		bad("dial-template", "", "must not be empty (default user/%s)")
	}
	str("transfer-context", &c.Context)
	str("hold-music", &c.HoldMusic)
	str("crash-log", &c.CrashLog)
	str("fs-db-dir", &c.DBDir)
	str("fs-log-dir", &c.LogDir)
	str("metrics-token", &c.MetricsToken)
	seconds("service-level-seconds", &c.ServiceLevel, time.Second, false)
	seconds("abandon-short-seconds", &c.ShortAbandon, time.Second, false)
	integer("stream-maxlen", &c.StreamMaxLen, 0, 100_000_000)
	if c.CrashLog == "" {
		c.CrashLog = filepath.Join(c.LogDir, "nwayacd-crash.log")
	}
	var warn []string
	known := map[string]bool{}
	for _, k := range Known {
		known[k] = true
	}
	for k := range p {
		if !known[k] {
			warn = append(warn, fmt.Sprintf("unknown parameter %q ignored", k))
		}
	}
	sort.Strings(warn)
	return c, warn, errors.Join(errs...)
}

// Loopback reports whether the REST address only listens on loopback.
func (c Config) Loopback() bool {
	host, _, err := net.SplitHostPort(c.RESTListen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
