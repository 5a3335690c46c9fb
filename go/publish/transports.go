package publish

import (
	"context"

	"github.com/nwayacd/mod_nwayacd/go/publish/amqppub"
	"github.com/nwayacd/mod_nwayacd/go/publish/redispub"
)

// transport is one broker connection, used only by its worker goroutine.
type transport interface {
	connect(ctx context.Context) error
	// send delivers frames and sets ok[i] for each one the broker accepted.
	// An error means the connection is unusable until connect succeeds.
	send(ctx context.Context, fs []frame, ok []bool) error
	// alive checks an idle connection, so that Stats reports an outage
	// before traffic runs into it.
	alive(ctx context.Context) error
	close() error
}

type redisTransport struct {
	c       *redispub.Conn
	needSub bool
	msgs    []redispub.Msg
}

func (r *redisTransport) connect(ctx context.Context) error { return r.c.Connect(ctx) }
func (r *redisTransport) close() error                      { return r.c.Close() }
func (r *redisTransport) alive(ctx context.Context) error   { return r.c.Connect(ctx) }

func (r *redisTransport) send(ctx context.Context, fs []frame, ok []bool) error {
	r.msgs = r.msgs[:0]
	for i := range fs {
		r.msgs = append(r.msgs, redispub.Msg{
			Channel:      fs[i].key,
			Payload:      fs[i].body,
			NeedReceiver: r.needSub && fs[i].seq != 0,
		})
	}
	err := r.c.Send(ctx, r.msgs, ok)
	clear(r.msgs)
	return err
}

type amqpTransport struct {
	c    *amqppub.Conn
	msgs []amqppub.Msg
}

func (a *amqpTransport) connect(ctx context.Context) error { return a.c.Connect(ctx) }
func (a *amqpTransport) close() error                      { return a.c.Close() }
func (a *amqpTransport) alive(context.Context) error       { return a.c.Alive() }

func (a *amqpTransport) send(ctx context.Context, fs []frame, ok []bool) error {
	a.msgs = a.msgs[:0]
	for i := range fs {
		a.msgs = append(a.msgs, amqppub.Msg{RoutingKey: fs[i].key, Body: fs[i].body, MessageID: fs[i].id})
	}
	err := a.c.Send(ctx, a.msgs, ok)
	clear(a.msgs)
	return err
}
