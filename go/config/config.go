// Package config turns the <param name value> pairs of nwayacd.conf.xml
// (passed through by the shim) into typed settings, naming every bad value.
// REST defaults are package api's (one place for each default).
package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/api"
	"github.com/nwayacd/mod_nwayacd/go/ident"
)

// Config is one node's settings.
type Config struct {
	RESTListen    string
	RESTUser      string
	RESTPassword  string
	TokenTTL      time.Duration
	RESTMaxConns  int           // open REST connections in all (api caps it by RLIMIT_NOFILE)
	RESTMaxPerIP  int           // open REST connections from one address
	RESTReadLimit time.Duration // to read one request
	RESTIdle      time.Duration // a keep-alive connection between requests
	CORSOrigins   []string      // browser pages from these origins may use REST
	CTIIP         string        // "" = the node's primary address
	Redis         bool
	AMQP          bool
	RedisAddr     string
	RedisPass     string
	RedisDB       int
	AMQPURL       string
	AMQPExchange  string
	DBDSN         string // "" = embedded store
	WrapUp        time.Duration
	NoAnswerMax   int
	MemoryExpiry  time.Duration
	BusyRings     int
	MaxWait       time.Duration
	// OverloadIdleCPU (percent, 0 = off): below this idle CPU of the switch,
	// a call that finds no idle agent is refused as full rather than queued
	// (admission control: waiting callers cost the saturated switch more).
	OverloadIdleCPU int
	// NoAnswerIdleCPU (percent, 0 = off): below this idle CPU of the
	// switch, an offer that fails is not counted toward no-answer-limit
	// (acd.Config.NoAnswerIdleCPU): the saturated switch, not the agent,
	// is the likely cause.
	NoAnswerIdleCPU int
	DialTemplate    string
	Context         string
	HoldMusic       string
	EarlyOffer      bool // a freed agent's INVITE leaves from a switch thread at once (default true)
	// SIPCapture is where the module takes sofia-sip's HEP3 capture
	// (loopback host:port; "" = off): an agent's BYE ends its bridge as it
	// arrives, a media frame before the switch's own session handles it.
	SIPCapture string
	CrashLog   string
	// GoMaxProcs is how many cores the module's Go code runs on at once
	// inside FreeSWITCH (0, the default: every core, as Go chooses). See
	// the conf file.
	GoMaxProcs int
	DBDir      string // FreeSWITCH's db folder (embedded store, CDR spool)
	LogDir     string
	// Observability (issue 14).
	MetricsToken string        // "" = /metrics needs no token
	ServiceLevel time.Duration // T of "answered within T"; default 20 s
	ShortAbandon time.Duration // abandoned within this is abandoned-short; default 5 s
	StreamMaxLen int           // Redis Stream entries kept per family (~); 0 = no stream
	// PublishLinger: an idle transport sends at the next multiple of this
	// after the first message, with what came meanwhile, and lesser channel
	// events wait for the same instant (publish.Config.Linger,
	// bridge.SetEventPacing); 0: at once.
	PublishLinger time.Duration
	Cluster       Cluster // cluster-*: membership of an active-active cluster (cluster.go)
}

// Known lists every parameter name the module reads.
var Known = []string{
	"rest-listen", "rest-user", "rest-password", "token-ttl",
	"rest-max-connections", "rest-max-connections-per-ip", "rest-read-timeout-seconds", "rest-idle-timeout-seconds", "rest-cors-origins",
	"cti-ip", "publisher",
	"redis-addr", "redis-password", "redis-db", "amqp-url", "amqp-exchange", "db-dsn",
	"wrapup-seconds", "no-answer-limit", "memory-expiry-hours", "default-busy-ring-times",
	"default-max-wait-seconds", "overload-idle-cpu", "no-answer-idle-cpu", "dial-template", "transfer-context", "hold-music", "early-offer", "sip-capture-listen", "crash-log",
	"go-max-procs",
	"fs-log-dir", "fs-db-dir", "fs-conf-dir", "fs-recordings-dir",
	"metrics-token", "service-level-seconds", "abandon-short-seconds", "stream-maxlen",
	"publish-linger-ms",
}

// defaults is the configuration with no parameter given.
func defaults() Config {
	return Config{
		RESTListen: api.DefaultListen, RESTUser: api.DefaultUsername, RESTPassword: api.DefaultPassword,
		TokenTTL: api.DefaultTokenTTL, RESTMaxConns: api.DefaultMaxConns, RESTMaxPerIP: api.DefaultMaxConnsPerIP,
		RESTReadLimit: api.DefaultReadTimeout, RESTIdle: api.DefaultIdleTimeout,
		Redis: true, RedisAddr: "127.0.0.1:6379", AMQPURL: "amqp://guest:guest@127.0.0.1:5672/", AMQPExchange: "nwayacd",
		WrapUp: acd.DefaultWrapUp, NoAnswerMax: acd.DefaultNoAnswerLimit, DialTemplate: acd.DefaultDialTemplate, Context: "default",
		HoldMusic: "local_stream://moh", EarlyOffer: true, DBDir: "/usr/local/freeswitch/db", LogDir: "/usr/local/freeswitch/log",
		ServiceLevel: 20 * time.Second, ShortAbandon: 5 * time.Second, StreamMaxLen: 100000,
		PublishLinger: 40 * time.Millisecond, NoAnswerIdleCPU: acd.DefaultNoAnswerIdleCPU,
	}
}

// Parse reads the parameters; unknown names are returned as warnings, bad
// values as one error naming each of them.
func Parse(p map[string]string) (Config, []string, error) {
	c := defaults()
	r := &reader{p: p}
	r.rest(&c)
	r.publishers(&c)
	r.policies(&c)
	r.calls(&c)
	r.paths(&c)
	r.observability(&c)
	r.cluster(&c)
	return c, unknown(p), errors.Join(r.errs...)
}

// reader reads typed values out of the parameters, collecting every bad one.
type reader struct {
	p    map[string]string
	errs []error
}

func (r *reader) bad(name, v, why string) {
	r.errs = append(r.errs, fmt.Errorf("%s=%q: %s", name, v, why))
}

// value returns the trimmed parameter and whether it was given non-blank.
func (r *reader) value(name string) (string, bool) {
	v, ok := r.p[name]
	v = strings.TrimSpace(v)
	return v, ok && v != ""
}

func (r *reader) seconds(name string, dst *time.Duration, unit time.Duration, allowZero bool) {
	v, ok := r.value(name)
	if !ok {
		return
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || (!allowZero && n == 0) || n > 1_000_000 {
		r.bad(name, v, "want a whole number of "+strings.TrimSuffix(unit.String(), "0s"))
		return
	}
	*dst = time.Duration(n) * unit
}

func (r *reader) integer(name string, dst *int, lo, hi int) {
	v, ok := r.value(name)
	if !ok {
		return
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		r.bad(name, v, fmt.Sprintf("want a whole number from %d to %d", lo, hi))
		return
	}
	*dst = n
}

func (r *reader) boolean(name string, dst *bool) {
	v, ok := r.value(name)
	if !ok {
		return
	}
	switch strings.ToLower(v) {
	case "true", "yes", "on":
		*dst = true
	case "false", "no", "off":
		*dst = false
	default:
		r.bad(name, v, "want true or false")
	}
}

func (r *reader) str(name string, dst *string) {
	if v, ok := r.p[name]; ok {
		*dst = strings.TrimSpace(v)
	}
}

// raw reads a value as given (passwords may have blanks at either end).
func (r *reader) raw(name string, dst *string) {
	if v, ok := r.p[name]; ok {
		*dst = v
	}
}

// rest reads the REST server's address, credentials and limits.
func (r *reader) rest(c *Config) {
	r.str("rest-listen", &c.RESTListen)
	if _, _, err := net.SplitHostPort(c.RESTListen); err != nil {
		r.bad("rest-listen", c.RESTListen, "want host:port")
	}
	r.str("rest-user", &c.RESTUser)
	r.raw("rest-password", &c.RESTPassword)
	if c.RESTUser == "" || c.RESTPassword == "" {
		r.bad("rest-user/rest-password", "", "must not be empty")
	} else if err := api.CheckPassword(c.RESTPassword, c.RESTListen); err != nil {
		r.errs = append(r.errs, fmt.Errorf("rest-password: %w", err))
	}
	r.seconds("token-ttl", &c.TokenTTL, time.Second, false)
	r.integer("rest-max-connections", &c.RESTMaxConns, 1, 1<<20)
	r.integer("rest-max-connections-per-ip", &c.RESTMaxPerIP, 1, 1<<20)
	r.seconds("rest-read-timeout-seconds", &c.RESTReadLimit, time.Second, false)
	r.seconds("rest-idle-timeout-seconds", &c.RESTIdle, time.Second, false)
	if v, ok := r.value("rest-cors-origins"); ok {
		for _, o := range strings.Split(v, ",") {
			o = strings.TrimSpace(o)
			if u, err := url.Parse(o); o != "*" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "") {
				r.bad("rest-cors-origins", o, "want origins like https://wallboard.example:8443, comma-separated, or *")
				continue
			}
			c.CORSOrigins = append(c.CORSOrigins, o)
		}
	}
	r.str("cti-ip", &c.CTIIP)
	if c.CTIIP != "" && net.ParseIP(c.CTIIP) == nil {
		r.bad("cti-ip", c.CTIIP, "want an IP address")
	}
}

// publishers reads where events go (Redis, RabbitMQ) and the database.
func (r *reader) publishers(c *Config) {
	if v, ok := r.p["publisher"]; ok {
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
			r.bad("publisher", v, "want redis, amqp, both or none")
		}
	}
	r.str("redis-addr", &c.RedisAddr)
	r.raw("redis-password", &c.RedisPass)
	r.integer("redis-db", &c.RedisDB, 0, 15)
	r.str("amqp-url", &c.AMQPURL)
	if c.AMQP && !strings.HasPrefix(c.AMQPURL, "amqp://") && !strings.HasPrefix(c.AMQPURL, "amqps://") {
		r.bad("amqp-url", c.AMQPURL, "want amqp://user:pass@host:port/vhost")
	}
	r.str("amqp-exchange", &c.AMQPExchange)
	r.str("db-dsn", &c.DBDSN)
}

// policies reads the routing policies a reload applies.
func (r *reader) policies(c *Config) {
	r.seconds("wrapup-seconds", &c.WrapUp, time.Second, true)
	r.integer("no-answer-limit", &c.NoAnswerMax, 0, 1000)
	r.seconds("memory-expiry-hours", &c.MemoryExpiry, time.Hour, true)
	r.integer("default-busy-ring-times", &c.BusyRings, 0, 1000)
	r.seconds("default-max-wait-seconds", &c.MaxWait, time.Second, true)
	r.integer("overload-idle-cpu", &c.OverloadIdleCPU, 0, 99)
	r.integer("no-answer-idle-cpu", &c.NoAnswerIdleCPU, 0, 99)
}

// calls reads how agents are dialled, where transfers go and what callers hear.
func (r *reader) calls(c *Config) {
	r.str("dial-template", &c.DialTemplate)
	if c.DialTemplate == "" {
		r.bad("dial-template", "", "must not be empty (default user/%s)")
	} else if err := ident.Dial(c.DialTemplate); err != nil {
		r.bad("dial-template", c.DialTemplate, err.Error())
	}
	r.str("transfer-context", &c.Context)
	r.str("hold-music", &c.HoldMusic)
	r.boolean("early-offer", &c.EarlyOffer)
	r.str("sip-capture-listen", &c.SIPCapture)
	if c.SIPCapture != "" {
		// Loopback only: the capture comes from the switch this module is
		// loaded in, and a packet from anywhere else could end a bridge.
		ap, err := netip.ParseAddrPort(c.SIPCapture)
		if err != nil || !ap.Addr().IsLoopback() || ap.Port() == 0 {
			r.bad("sip-capture-listen", c.SIPCapture, "want a loopback ip:port, e.g. 127.0.0.1:9060")
		}
	}
}

// paths reads FreeSWITCH's folders and the crash log, and the process's
// share of the cores.
func (r *reader) paths(c *Config) {
	r.integer("go-max-procs", &c.GoMaxProcs, 0, 1024)
	r.str("crash-log", &c.CrashLog)
	r.str("fs-db-dir", &c.DBDir)
	r.str("fs-log-dir", &c.LogDir)
	if c.CrashLog == "" {
		c.CrashLog = filepath.Join(c.LogDir, "nwayacd-crash.log")
	}
}

// observability reads the metrics token, the service-level figures, the
// event streams' length (issue 14) and how long the publisher gathers.
func (r *reader) observability(c *Config) {
	r.str("metrics-token", &c.MetricsToken)
	r.seconds("service-level-seconds", &c.ServiceLevel, time.Second, false)
	r.seconds("abandon-short-seconds", &c.ShortAbandon, time.Second, false)
	r.integer("stream-maxlen", &c.StreamMaxLen, 0, 100_000_000)
	ms := int(c.PublishLinger / time.Millisecond)
	r.integer("publish-linger-ms", &ms, 0, 1000)
	c.PublishLinger = time.Duration(ms) * time.Millisecond
}

// unknown warns about every parameter the module does not read.
func unknown(p map[string]string) []string {
	known := make(map[string]bool, len(Known))
	for _, k := range Known {
		known[k] = true
	}
	var warn []string
	for k := range p {
		if !known[k] {
			warn = append(warn, fmt.Sprintf("unknown parameter %q ignored", k))
		}
	}
	sort.Strings(warn)
	return warn
}

// REST is the REST server's configuration (the logger is the caller's).
func (c Config) REST() api.Config {
	return api.Config{
		Listen: c.RESTListen, Username: c.RESTUser, Password: c.RESTPassword, TokenTTL: c.TokenTTL,
		MaxConns: c.RESTMaxConns, MaxConnsPerIP: c.RESTMaxPerIP, ReadTimeout: c.RESTReadLimit, IdleTimeout: c.RESTIdle,
		CORSOrigins: c.CORSOrigins,
	}
}
