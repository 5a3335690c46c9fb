package redispub

import (
	"context"
	"errors"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nwayacd/mod_nwayacd/go/internal/testsvc"
)

const addr = "127.0.0.1:6379"

func needRedis(t *testing.T) {
	t.Helper()
	testsvc.Need(t, "redis", addr)
}

func TestSendAndNeedReceiver(t *testing.T) {
	needRedis(t)
	ctx := context.Background()
	// Not cdr_…: other packages' tests pattern-subscribe to the families on the same server.
	ch := "redispubtest_" + strconv.Itoa(os.Getpid())
	sub := redis.NewClient(&redis.Options{Addr: addr})
	defer sub.Close()
	ps := sub.Subscribe(ctx, ch)
	defer ps.Close()
	if _, err := ps.Receive(ctx); err != nil {
		t.Fatal(err)
	}

	c := New(Config{Addr: addr})
	defer c.Close()
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	msgs := []Msg{
		{Channel: ch, Payload: []byte("one"), NeedReceiver: true},
		{Channel: ch + "_nobody", Payload: []byte("two"), NeedReceiver: true},
		{Channel: ch + "_nobody", Payload: []byte("three")},
	}
	ok := make([]bool, 3)
	if err := c.Send(ctx, msgs, ok); err != nil {
		t.Fatal(err)
	}
	if !ok[0] || ok[1] || !ok[2] {
		t.Errorf("ok = %v, want [true false true]", ok)
	}
	m, err := ps.ReceiveMessage(ctx)
	if err != nil || m.Payload != "one" || m.Channel != ch {
		t.Errorf("subscriber got %+v, %v", m, err)
	}
}

func TestDeadServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close()
	c := New(Config{Addr: dead, DialTimeout: 200 * time.Millisecond})
	ctx := context.Background()
	if err := c.Connect(ctx); err == nil {
		t.Fatal("Connect to a closed port succeeded")
	}
	ok := []bool{true}
	if err := c.Send(ctx, []Msg{{Channel: "x", Payload: []byte("y")}}, ok); err == nil || ok[0] {
		t.Fatalf("Send to a closed port: err=%v ok=%v", err, ok)
	}
	c.Close()
	if err := c.Connect(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Connect after Close = %v, want ErrClosed", err)
	}
}
