// Package redispub sends batches of PUBLISH commands to one Redis server over
// a single connection. It holds no queue and starts no goroutine: the caller
// (package publish) owns the one goroutine that drives it, so connection state
// is never shared.
package redispub

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Config says where the server is.
type Config struct {
	Addr     string // host:port; default 127.0.0.1:6379
	Username string
	Password string
	DB       int

	DialTimeout time.Duration // default 2s
	IOTimeout   time.Duration // read and write; default 5s
}

// Msg is one PUBLISH.
type Msg struct {
	Channel string
	Payload []byte
	// NeedReceiver makes a PUBLISH that reached no subscriber count as not
	// delivered (ok=false), so that a durable message can be kept and retried.
	NeedReceiver bool
}

// ErrClosed is returned after Close.
var ErrClosed = errors.New("redispub: closed")

// Conn is one Redis connection. Not safe for concurrent use.
type Conn struct {
	c      *redis.Client
	closed bool
}

// New prepares a connection; nothing is dialled until Connect or Send.
func New(cfg Config) *Conn {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:6379"
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 2 * time.Second
	}
	if cfg.IOTimeout <= 0 {
		cfg.IOTimeout = 5 * time.Second
	}
	c := redis.NewClient(&redis.Options{
		Addr:         cfg.Addr,
		Username:     cfg.Username,
		Password:     cfg.Password,
		DB:           cfg.DB,
		DialTimeout:  cfg.DialTimeout,
		ReadTimeout:  cfg.IOTimeout,
		WriteTimeout: cfg.IOTimeout,
		// One connection, no hidden retries: the owner decides when to
		// reconnect and whether a failed batch is re-sent.
		PoolSize:         1,
		PipelinePoolSize: -1,
		MaxRetries:       -1,
		DialerRetries:    1,
		Protocol:         2,
		DisableIdentity:  true,
		MaintNotificationsConfig: &maintnotifications.Config{
			Mode: maintnotifications.ModeDisabled,
		},
	})
	return &Conn{c: c}
}

// Connect checks that the server answers; go-redis dials on demand, so this
// is also how a broken connection is replaced.
func (c *Conn) Connect(ctx context.Context) error {
	if c.closed {
		return ErrClosed
	}
	if err := c.c.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis ping: %w", err)
	}
	return nil
}

// Send publishes msgs in one pipeline and sets ok[i] for each message the
// server accepted (ok must be at least len(msgs) long). A non-nil error means
// the connection failed; messages without ok may or may not have reached the
// server.
func (c *Conn) Send(ctx context.Context, msgs []Msg, ok []bool) error {
	ok = ok[:len(msgs)]
	clear(ok)
	if c.closed {
		return ErrClosed
	}
	if len(msgs) == 0 {
		return nil
	}
	pipe := c.c.Pipeline()
	cmds := make([]*redis.IntCmd, len(msgs))
	for i := range msgs {
		cmds[i] = pipe.Publish(ctx, msgs[i].Channel, msgs[i].Payload)
	}
	_, err := pipe.Exec(ctx)
	for i, cmd := range cmds {
		if cmd.Err() != nil {
			continue
		}
		ok[i] = !msgs[i].NeedReceiver || cmd.Val() > 0
	}
	if err != nil {
		// A reply error on one command (e.g. a wrong-type error) is not a
		// connection failure; only I/O-level errors are.
		var rerr redis.Error
		if errors.As(err, &rerr) {
			return nil
		}
		return fmt.Errorf("redis publish: %w", err)
	}
	return nil
}

// Close releases the connection.
func (c *Conn) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	if err := c.c.Close(); err != nil {
		return fmt.Errorf("redis close: %w", err)
	}
	return nil
}
