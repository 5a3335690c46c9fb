// Package api serves the REST API of SPEC §5 (default port 8085) with fasthttp.
//
// It is transport only: it checks syntax, authenticates, and calls the service;
// the domain rules live behind the Service interface.
//
// Wire decisions the original leaves open:
//   - every successful mutation answers 200 {"result":"ok"};
//   - every error answers {"error":"<message>"} with a status from the error's
//     class (400 bad input, 401 auth, 404 unknown, 405 method, 409 state,
//     413 body too large, 429 login rate limit, 503 unavailable, 500 bug),
//     except a wrong login, which answers 401 with the original's plain body
//     "Not Authorized";
//   - tokens expire after Config.TokenTTL without use;
//   - connections are limited per address and in all, idle and slow clients
//     are timed out, and the server keeps accepting whatever Accept returns
//     (see Serve).
package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/logx"
	"github.com/valyala/fasthttp"
)

// Service is the part of *service.Service the REST API calls.
type Service interface {
	Login(ext string, groups []string) error
	Logout(ext string) error
	SetReady(ext string) error
	SetBusy(ext string) error
	SetCallState(ext string, st acd.CallState) error
	SetDialString(ext, dial string) error
	Waiting() []acd.WaitingInfo
	Extensions() []acd.ExtensionInfo
	Extension(ext string) (acd.ExtensionInfo, error)
	Groups() []acd.GroupInfo
	Group(number string) (acd.GroupInfo, error)
	Transfer(ext, to, gateway string) error
	Answer(ext string) error
	Hangup(ext string) error
	Hold(ext string) error
	Unhold(ext string) error
	PhoneHold(ext string) error
	PhoneUnhold(ext string) error
	Eavesdrop(target, listener, gateway string) error
	ThreeWay(invitee, inCall, gateway string) error
	Subscribe(buf int) (<-chan []byte, func())
}

// Config configures the REST server; zero fields take the defaults.
type Config struct {
	Listen          string        // default "127.0.0.1:8085"
	Username        string        // default "admin"
	Password        string        // default "admin"; must be changed to listen beyond loopback
	TokenTTL        time.Duration // a token expires after this long unused; default 1h
	MaxBodySize     int           // request body limit in bytes; default 64 KiB
	LoginBurst      int           // failed logins one (address, user) may make back to back; default 5
	LoginRefill     time.Duration // one more failed login is allowed per this; default 10s
	MaxEventStreams int           // concurrent GET /api/events streams; default 64
	Heartbeat       time.Duration // SSE keep-alive comment interval; default 15s

	// Connection limits: inside FreeSWITCH the process's descriptor table is
	// the switch's too, so REST must never use up what SIP and RTP need.
	MaxConns      int           // open connections in all; default 1024, at most a quarter of RLIMIT_NOFILE
	MaxConnsPerIP int           // open connections from one address; default 128
	ReadTimeout   time.Duration // to read a request, from its first byte, and to wait for the first; default 10s
	IdleTimeout   time.Duration // a keep-alive connection between requests; default 60s

	Logger *slog.Logger // nil: discard
}

// Defaults: the one place each REST default is kept (package config refers
// to these).
const (
	DefaultListen          = "127.0.0.1:8085"
	DefaultUsername        = "admin"
	DefaultPassword        = "admin"
	DefaultTokenTTL        = time.Hour
	DefaultMaxBodySize     = 64 << 10
	DefaultLoginBurst      = 5
	DefaultLoginRefill     = 10 * time.Second
	DefaultMaxEventStreams = 64
	DefaultHeartbeat       = 15 * time.Second
	DefaultMaxConns        = 1024
	DefaultMaxConnsPerIP   = 128
	DefaultReadTimeout     = 10 * time.Second
	DefaultIdleTimeout     = 60 * time.Second

	// The global ceiling on failed logins (all addresses and users): past
	// it, keys that failed recently are refused without a check; a key with
	// no recent failure is still checked, so nobody's right password is
	// refused for someone else's failures.
	loginGlobalBurst  = 100
	loginGlobalRefill = 500 * time.Millisecond
)

func (c *Config) setDefaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.Username == "" {
		c.Username = DefaultUsername
	}
	if c.Password == "" {
		c.Password = DefaultPassword
	}
	defDur(&c.TokenTTL, DefaultTokenTTL)
	def(&c.MaxBodySize, DefaultMaxBodySize)
	def(&c.LoginBurst, DefaultLoginBurst)
	defDur(&c.LoginRefill, DefaultLoginRefill)
	def(&c.MaxEventStreams, DefaultMaxEventStreams)
	defDur(&c.Heartbeat, DefaultHeartbeat)
	def(&c.MaxConns, DefaultMaxConns)
	def(&c.MaxConnsPerIP, DefaultMaxConnsPerIP)
	defDur(&c.ReadTimeout, DefaultReadTimeout)
	defDur(&c.IdleTimeout, DefaultIdleTimeout)
	if budget := connBudget(); c.MaxConns > budget {
		c.MaxConns = budget
	}
	c.MaxConnsPerIP = min(c.MaxConnsPerIP, c.MaxConns)
}

// connBudget is the most connections REST may hold: a quarter of the
// process's descriptor limit, so the switch keeps the rest.
func connBudget() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur == 0 {
		return DefaultMaxConns
	}
	return int(max(min(rl.Cur/4, 1<<20), 16))
}

// Server is the REST API server.
type Server struct {
	cfg     Config
	svc     Service
	log     *slog.Logger
	srv     *fasthttp.Server
	tokens  *tokenStore
	limiter *loginLimiter
	now     func() time.Time // tests move the clock

	// One shared encoding per batch of concurrent list requests.
	queuesC, extsC, groupsC coalescer

	obs atomic.Pointer[Observability] // statistics, metrics, pages (observe.go)

	bootID string // distinguishes this server's ETags from a previous run's

	stop     chan struct{} // closed by Shutdown: ends event streams and Serve's retries
	stopOnce sync.Once
	streams  atomic.Int32
}

// New checks cfg and builds a server; it does not listen yet.
func New(cfg Config, svc Service) (*Server, error) {
	if svc == nil {
		return nil, errors.New("api: nil service")
	}
	cfg.setDefaults()
	if _, _, err := net.SplitHostPort(cfg.Listen); err != nil {
		return nil, fmt.Errorf("api: listen address %q: %w", cfg.Listen, err)
	}
	if err := CheckPassword(cfg.Password, cfg.Listen); err != nil {
		return nil, err
	}
	var boot [4]byte
	_, _ = rand.Read(boot[:])
	s := &Server{
		bootID: hex.EncodeToString(boot[:]),
		cfg:    cfg,
		svc:    svc,
		log:    logx.OrDiscard(cfg.Logger),
		now:    time.Now,
		stop:   make(chan struct{}),
	}
	s.tokens = newTokenStore()
	s.limiter = newLoginLimiter(cfg.LoginBurst, cfg.LoginRefill)
	s.srv = &fasthttp.Server{
		Handler:              s.handle,
		ErrorHandler:         s.handleParseError,
		Name:                 "nwayacd",
		MaxRequestBodySize:   cfg.MaxBodySize,
		Concurrency:          cfg.MaxConns + 16, // a backstop: Serve's listener refuses past MaxConns with JSON
		ReadTimeout:          cfg.ReadTimeout,
		IdleTimeout:          cfg.IdleTimeout,
		CloseOnShutdown:      true,
		NoDefaultDate:        true,
		NoDefaultContentType: true,
		ReadBufferSize:       8 << 10,
		Logger:               fasthttpLogger{s.log},
	}
	return s, nil
}

// fasthttpLogger forwards fasthttp's own messages, cut before any copy of
// the request it may carry ("Buffer size=…, contents: …"): a request holds
// the Authorization token.
type fasthttpLogger struct{ log *slog.Logger }

func (l fasthttpLogger) Printf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	for _, cut := range []string{"Buffer size=", "contents:", "Authorization"} {
		if i := strings.Index(msg, cut); i >= 0 {
			msg = msg[:i] + "[request withheld]"
		}
	}
	l.log.Warn("rest: " + msg)
}

// IsLoopback reports whether a listen address (host:port, or a bare host)
// only reaches this machine.
func IsLoopback(addr string) bool {
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// CheckPassword refuses the default password anywhere but loopback:
// the one place this rule is kept (New checks the configured address, Serve
// the listener it is given).
func CheckPassword(password, addr string) error {
	if password == DefaultPassword && !IsLoopback(addr) {
		return fmt.Errorf("api: refusing to listen on %s with the default password \"admin\": set rest-password in nwayacd.conf.xml (or listen on 127.0.0.1)", addr)
	}
	return nil
}

// Serve answers requests on ln until Shutdown. It never gives up before
// then: a failing Accept (EMFILE when descriptors run out, ECONNABORTED, …)
// is retried with backoff, and should fasthttp's loop still end, it is
// started again.
func (s *Server) Serve(ln net.Listener) error {
	if err := CheckPassword(s.cfg.Password, ln.Addr().String()); err != nil {
		return err
	}
	s.log.Info("rest: serving", "addr", ln.Addr().String(), "max_conns", s.cfg.MaxConns,
		"max_conns_per_ip", s.cfg.MaxConnsPerIP, "read_timeout", s.cfg.ReadTimeout, "idle_timeout", s.cfg.IdleTimeout)
	rl := newPerAddrListener(&retryListener{Listener: ln, stop: s.stop, log: s.log}, s.cfg.MaxConnsPerIP, s.cfg.MaxConns, s.log)
	bo := backoff{min: 10 * time.Millisecond, max: time.Second}
	for {
		err := s.srv.Serve(rl)
		select {
		case <-s.stop:
			return nil
		default:
		}
		if err == nil || errors.Is(err, net.ErrClosed) {
			return nil // the listener was closed under us: nothing to accept from
		}
		s.log.Error("rest: serving stopped; restarting", "err", err)
		if !bo.sleep(s.stop) {
			return nil
		}
	}
}

// ListenAndServe listens on Config.Listen and serves until ctx ends, then
// shuts down, giving open requests five seconds.
func (s *Server) ListenAndServe(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("api: listen: %w", err)
	}
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = s.Shutdown(sctx)
	if serr := <-errc; serr != nil && err == nil {
		err = serr
	}
	return err
}

// Shutdown ends event streams, stops listening and waits for open requests
// until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopOnce.Do(func() { close(s.stop) })
	if err := s.srv.ShutdownWithContext(ctx); err != nil {
		return fmt.Errorf("api: shutdown: %w", err)
	}
	return nil
}
