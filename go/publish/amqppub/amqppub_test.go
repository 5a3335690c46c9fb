package amqppub

import (
	"context"
	"errors"
	"os"
	"strconv"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/nwayacd/mod_nwayacd/go/internal/testsvc"
)

const url = "amqp://guest:guest@127.0.0.1:5672/"

func needRabbit(t *testing.T) {
	t.Helper()
	testsvc.Need(t, "rabbitmq", "127.0.0.1:5672")
}

func admin(t *testing.T) *amqp.Channel {
	t.Helper()
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func TestSendConfirmsAndRoutes(t *testing.T) {
	needRabbit(t)
	ex := "amqppub_test_" + strconv.Itoa(os.Getpid())
	ch := admin(t)
	defer ch.ExchangeDelete(ex, false, false)
	c := New(Config{URL: url, Exchange: ex})
	defer c.Close()
	ok := []bool{true}
	if err := c.Send(context.Background(), []Msg{{RoutingKey: "a", Body: []byte("{}")}}, ok); !errors.Is(err, ErrNotConnected) || ok[0] {
		t.Fatalf("Send before Connect: %v %v", err, ok)
	}
	if err := c.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(q.Name, "agent.*", ex, false, nil); err != nil {
		t.Fatal(err)
	}
	msgs := []Msg{{RoutingKey: "agent.1002", Body: []byte(`{"n":1}`)}, {RoutingKey: "cdr.120", Body: []byte(`{"n":2}`)}}
	ok = make([]bool, 2)
	if err := c.Send(context.Background(), msgs, ok); err != nil {
		t.Fatal(err)
	}
	if !ok[0] || !ok[1] {
		t.Errorf("ok = %v; an unrouted message is still confirmed", ok)
	}
	d, got, err := ch.Get(q.Name, true)
	if err != nil || !got || string(d.Body) != `{"n":1}` || d.ContentType != "application/json" || d.DeliveryMode != amqp.Persistent {
		t.Fatalf("get: %v %v %+v", got, err, d)
	}
	if _, more, _ := ch.Get(q.Name, true); more {
		t.Errorf("cdr.120 reached an agent.* binding")
	}
}

func TestConnectErrors(t *testing.T) {
	needRabbit(t)
	ex := "amqppub_fanout_" + strconv.Itoa(os.Getpid())
	ch := admin(t)
	if err := ch.ExchangeDeclare(ex, amqp.ExchangeFanout, false, true, false, false, nil); err != nil {
		t.Fatal(err)
	}
	defer ch.ExchangeDelete(ex, false, false)
	c := New(Config{URL: url, Exchange: ex})
	defer c.Close()
	// The exchange exists with another type: the declare must fail loudly.
	var aerr *amqp.Error
	if err := c.Connect(context.Background()); !errors.As(err, &aerr) || aerr.Code != amqp.PreconditionFailed {
		t.Errorf("Connect to a fanout exchange = %v, want PRECONDITION_FAILED", err)
	}
	bad := New(Config{URL: "amqp://guest:wrong@127.0.0.1:5672/"})
	if err := bad.Connect(context.Background()); err == nil {
		t.Errorf("Connect with a wrong password succeeded")
	}
}
