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
//   - tokens expire after Config.TokenTTL without use.
package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
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
	TokenTTL        time.Duration // a token expires after this long unused; default 24h
	MaxBodySize     int           // request body limit in bytes; default 64 KiB
	LoginBurst      int           // failed logins one IP may make back to back; default 5
	LoginRefill     time.Duration // one more failed login is allowed per this; default 10s
	MaxEventStreams int           // concurrent GET /api/events streams; default 64
	Heartbeat       time.Duration // SSE keep-alive comment interval; default 15s
}

// Defaults.
const (
	DefaultListen          = "127.0.0.1:8085"
	DefaultUsername        = "admin"
	DefaultPassword        = "admin"
	DefaultTokenTTL        = 24 * time.Hour
	DefaultMaxBodySize     = 64 << 10
	DefaultLoginBurst      = 5
	DefaultLoginRefill     = 10 * time.Second
	DefaultMaxEventStreams = 64
	DefaultHeartbeat       = 15 * time.Second
)

func (c *Config) setDefaults() {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.Username == "" {
		c.Username = DefaultUsername
	}
	if c.Password == "" {
		c.Password = DefaultPassword
	}
	if c.TokenTTL <= 0 {
		c.TokenTTL = DefaultTokenTTL
	}
	if c.MaxBodySize <= 0 {
		c.MaxBodySize = DefaultMaxBodySize
	}
	if c.LoginBurst <= 0 {
		c.LoginBurst = DefaultLoginBurst
	}
	if c.LoginRefill <= 0 {
		c.LoginRefill = DefaultLoginRefill
	}
	if c.MaxEventStreams <= 0 {
		c.MaxEventStreams = DefaultMaxEventStreams
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = DefaultHeartbeat
	}
}

// Server is the REST API server.
type Server struct {
	cfg     Config
	svc     Service
	logf    func(string, ...any)
	srv     *fasthttp.Server
	tokens  *tokenStore
	limiter *loginLimiter
	now     func() time.Time // tests move the clock

	// One shared encoding per batch of concurrent list requests.
	queuesC, extsC, groupsC coalescer

	obs atomic.Pointer[Observability] // statistics, metrics, pages (observe.go)

	bootID string // distinguishes this server's ETags from a previous run's

	stop     chan struct{} // closed by Shutdown: ends event streams
	stopOnce sync.Once
	streams  atomic.Int32
}

// New checks cfg and builds a server; it does not listen yet.
func New(cfg Config, svc Service, logf func(string, ...any)) (*Server, error) {
	if svc == nil {
		return nil, errors.New("api: nil service")
	}
	if logf == nil {
		logf = func(string, ...any) {}
	}
	cfg.setDefaults()
	host, _, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("api: listen address %q: %w", cfg.Listen, err)
	}
	if cfg.Password == DefaultPassword && !isLoopbackHost(host) {
		return nil, fmt.Errorf("api: refusing to listen on %s with the default password \"admin\": set rest-password in nwayacd.conf.xml (or listen on 127.0.0.1)", cfg.Listen)
	}
	var boot [4]byte
	_, _ = rand.Read(boot[:])
	s := &Server{
		bootID: hex.EncodeToString(boot[:]),
		cfg:    cfg,
		svc:    svc,
		logf:   logf,
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
		ReadTimeout:          30 * time.Second,
		IdleTimeout:          90 * time.Second,
		CloseOnShutdown:      true,
		NoDefaultDate:        true,
		NoDefaultContentType: true,
		ReadBufferSize:       8 << 10,
		Logger:               fasthttpLogger{logf},
	}
	return s, nil
}

type fasthttpLogger struct{ logf func(string, ...any) }

func (l fasthttpLogger) Printf(format string, args ...any) { l.logf("api: "+format, args...) }

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Serve answers requests on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	if s.cfg.Password == DefaultPassword {
		if ta, ok := ln.Addr().(*net.TCPAddr); ok && !ta.IP.IsLoopback() {
			return fmt.Errorf("api: refusing to serve on %s with the default password \"admin\": set rest-password in nwayacd.conf.xml", ta)
		}
	}
	if err := s.srv.Serve(ln); err != nil {
		return fmt.Errorf("api: serve: %w", err)
	}
	return nil
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
