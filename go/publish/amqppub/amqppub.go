// Package amqppub publishes persistent JSON messages to a durable RabbitMQ
// topic exchange with publisher confirms. Like redispub it holds no queue and
// starts no goroutine of its own; one owner goroutine drives a Conn.
package amqppub

import (
	"context"
	"errors"
	"fmt"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Config says where the broker is and which exchange to use.
type Config struct {
	URL            string        // default amqp://guest:guest@127.0.0.1:5672/
	Exchange       string        // durable topic exchange; default "nwayacd"
	ConnectionName string        // shown in the management UI; default "nwayacd"
	DialTimeout    time.Duration // default 2s
	ConfirmTimeout time.Duration // wait for confirms of one batch; default 10s
}

// Msg is one message.
type Msg struct {
	RoutingKey string
	Body       []byte
	MessageID  string // optional AMQP message-id, for consumer-side dedupe
}

// ErrNotConnected is returned by Send before Connect or after the broker
// closed the connection.
var ErrNotConnected = errors.New("amqp: not connected")

// Conn is one AMQP connection with one confirming channel. Not safe for
// concurrent use.
type Conn struct {
	cfg     Config
	conn    *amqp.Connection
	ch      *amqp.Channel
	closing chan *amqp.Error
	dcs     []*amqp.DeferredConfirmation
}

// New prepares a connection; nothing is dialled until Connect.
func New(cfg Config) *Conn {
	if cfg.URL == "" {
		cfg.URL = "amqp://guest:guest@127.0.0.1:5672/"
	}
	if cfg.Exchange == "" {
		cfg.Exchange = "nwayacd"
	}
	if cfg.ConnectionName == "" {
		cfg.ConnectionName = "nwayacd"
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 2 * time.Second
	}
	if cfg.ConfirmTimeout <= 0 {
		cfg.ConfirmTimeout = 10 * time.Second
	}
	return &Conn{cfg: cfg}
}

// Exchange is the exchange messages go to.
func (c *Conn) Exchange() string { return c.cfg.Exchange }

// Connect dials, puts a channel in confirm mode and declares the exchange.
// A previous connection is dropped first.
func (c *Conn) Connect(ctx context.Context) error {
	c.drop()
	props := amqp.NewConnectionProperties()
	props.SetClientConnectionName(c.cfg.ConnectionName)
	dial := amqp.DefaultDial(c.cfg.DialTimeout)
	if dl, ok := ctx.Deadline(); ok {
		if d := time.Until(dl); d < c.cfg.DialTimeout {
			dial = amqp.DefaultDial(max(d, time.Millisecond))
		}
	}
	conn, err := amqp.DialConfig(c.cfg.URL, amqp.Config{Properties: props, Dial: dial})
	if err != nil {
		return fmt.Errorf("amqp dial: %w", err)
	}
	ch, err := conn.Channel()
	if err != nil {
		conn.Close()
		return fmt.Errorf("amqp channel: %w", err)
	}
	if err := ch.Confirm(false); err != nil {
		conn.Close()
		return fmt.Errorf("amqp confirm mode: %w", err)
	}
	if err := ch.ExchangeDeclare(c.cfg.Exchange, amqp.ExchangeTopic, true, false, false, false, nil); err != nil {
		conn.Close()
		return fmt.Errorf("amqp declare exchange %q: %w", c.cfg.Exchange, err)
	}
	c.conn, c.ch = conn, ch
	c.closing = ch.NotifyClose(make(chan *amqp.Error, 1))
	return nil
}

// Send publishes msgs and waits for their confirms; ok[i] is set for each
// message the broker acked (ok must be at least len(msgs) long). All of a
// batch is written before the first confirm is awaited, so a batch costs one
// round trip. A non-nil error means the connection is gone or stalled; the
// caller should Connect again.
func (c *Conn) Send(ctx context.Context, msgs []Msg, ok []bool) error {
	ok = ok[:len(msgs)]
	clear(ok)
	if c.ch == nil {
		return ErrNotConnected
	}
	select {
	case e := <-c.closing:
		c.drop()
		return fmt.Errorf("amqp: connection closed: %w", asErr(e))
	default:
	}
	c.dcs = c.dcs[:0]
	var perr error
	for i := range msgs {
		dc, err := c.ch.PublishWithDeferredConfirmWithContext(ctx, c.cfg.Exchange, msgs[i].RoutingKey, false, false, amqp.Publishing{
			ContentType:  "application/json",
			DeliveryMode: amqp.Persistent,
			MessageId:    msgs[i].MessageID,
			Body:         msgs[i].Body,
		})
		if err != nil {
			perr = fmt.Errorf("amqp publish: %w", err)
			break
		}
		c.dcs = append(c.dcs, dc)
	}
	wctx, cancel := context.WithTimeout(ctx, c.cfg.ConfirmTimeout)
	defer cancel()
	for i, dc := range c.dcs {
		// A channel that shuts down nacks every outstanding confirm, so
		// this wait ends on disconnect as well as on a confirm.
		acked, err := dc.WaitContext(wctx)
		if err != nil {
			if perr == nil {
				perr = fmt.Errorf("amqp confirm: %w", err)
			}
			break
		}
		ok[i] = acked
	}
	clear(c.dcs)
	if perr == nil {
		select {
		case e := <-c.closing:
			perr = fmt.Errorf("amqp: connection closed: %w", asErr(e))
		default:
		}
	}
	if perr != nil {
		c.drop()
	}
	return perr
}

// Alive reports whether the broker has closed the connection, without
// blocking.
func (c *Conn) Alive() error {
	if c.ch == nil {
		return ErrNotConnected
	}
	select {
	case e := <-c.closing:
		c.drop()
		return fmt.Errorf("amqp: connection closed: %w", asErr(e))
	default:
		return nil
	}
}

func asErr(e *amqp.Error) error {
	if e == nil {
		return amqp.ErrClosed
	}
	return e
}

func (c *Conn) drop() {
	if c.conn != nil {
		c.conn.Close()
	}
	c.conn, c.ch, c.closing = nil, nil, nil
}

// Close closes the connection.
func (c *Conn) Close() error {
	if c.conn == nil {
		return nil
	}
	err := c.conn.Close()
	c.conn, c.ch, c.closing = nil, nil, nil
	if err != nil && !errors.Is(err, amqp.ErrClosed) {
		return fmt.Errorf("amqp close: %w", err)
	}
	return nil
}
