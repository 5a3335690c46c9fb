package publish

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/event"
	amqp "github.com/rabbitmq/amqp091-go"
)

var (
	vhostOnce sync.Once
	vhostName string
	vhostErr  error
)

// vhost returns a private RabbitMQ vhost for guest, created once per test
// binary (rabbitmqctl takes seconds) and deleted by TestMain, so that closing
// its connections cannot disturb anybody else's.
func vhost(t testing.TB) string {
	t.Helper()
	needService(t, "rabbitmq", amqpAddr)
	ctl := needBinary(t, "rabbitmqctl")
	vhostOnce.Do(func() {
		name := "nwayacd_test_" + token()
		for _, args := range [][]string{
			{"add_vhost", name},
			{"set_permissions", "-p", name, "guest", ".*", ".*", ".*"},
		} {
			if out, err := exec.Command(ctl, args...).CombinedOutput(); err != nil {
				vhostErr = fmt.Errorf("rabbitmqctl %v: %v\n%s", args, err, out)
				return
			}
			vhostName = name
		}
	})
	if vhostErr != nil {
		t.Fatal(vhostErr)
	}
	return vhostName
}

func TestMain(m *testing.M) {
	code := m.Run()
	if vhostName != "" {
		exec.Command("rabbitmqctl", "delete_vhost", vhostName).Run()
	}
	os.Exit(code)
}

func amqpURL(vh string) string { return "amqp://guest:guest@" + amqpAddr + "/" + vh }

// bindQueue declares a durable queue bound to exchange with key and returns
// a channel on a separate connection for reading it.
func bindQueue(t testing.TB, url, exchange, queue, key string) *amqp.Channel {
	t.Helper()
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatalf("consumer dial: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.ExchangeDeclare(exchange, "topic", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare(queue, true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(queue, key, exchange, false, nil); err != nil {
		t.Fatal(err)
	}
	return ch
}

type amqpBody struct {
	Type  string `json:"type"`
	CTIIP string `json:"cti_ip"`
	Tok   string `json:"tok"`
	ID    int    `json:"id"`
}

func TestAMQPDeliversEveryFamily(t *testing.T) {
	vh := vhost(t)
	url := amqpURL(vh)
	ch := bindQueue(t, url, "nwayacd", "agents", "agent.#")
	bindQueue(t, url, "nwayacd", "all", "#")
	h, err := New(Config{AMQP: &AMQPConfig{URL: url}, SpoolPath: spoolPath(t), CTIIP: "10.1.213.29"})
	if err != nil {
		t.Fatal(err)
	}
	defer closeHub(t, h)
	tok := token()
	msgs := []*testMsg{
		{fam: event.FamilyEvent, ent: "1001", tok: tok, id: 1},
		{fam: event.FamilyCDR, ent: "120", tok: tok, id: 2},
		{fam: event.FamilyQueue, ent: "120", tok: tok, id: 3},
		{fam: event.FamilyAgent, ent: "1002", tok: tok, id: 4},
	}
	for _, m := range msgs {
		if !h.Publish(m) {
			t.Fatalf("Publish(%d) = false", m.id)
		}
	}
	if !eventually(10*time.Second, func() bool {
		st := transportStats(h, "amqp")
		return st.Published.Total() == 4 && st.Spooled == 0
	}) {
		t.Fatalf("not all confirmed: %+v", transportStats(h, "amqp"))
	}
	// "all" holds every family in publish order per family; check bodies,
	// keys and properties.
	got := map[int]amqp.Delivery{}
	for len(got) < 4 {
		d, ok, err := ch.Get("all", true)
		if err != nil || !ok {
			t.Fatalf("get all: ok=%v err=%v (have %d)", ok, err, len(got))
		}
		var b amqpBody
		if err := json.Unmarshal(d.Body, &b); err != nil {
			t.Fatalf("body %q: %v", d.Body, err)
		}
		got[b.ID] = d
	}
	for _, m := range msgs {
		d := got[m.id]
		if want := string(m.AppendJSON(nil, "10.1.213.29")); string(d.Body) != want {
			t.Errorf("body %q, want %q", d.Body, want)
		}
		if d.RoutingKey != m.RoutingKey() || d.Exchange != "nwayacd" {
			t.Errorf("id %d: exchange %q key %q, want nwayacd %q", m.id, d.Exchange, d.RoutingKey, m.RoutingKey())
		}
		if d.ContentType != "application/json" || d.DeliveryMode != amqp.Persistent {
			t.Errorf("id %d: content-type %q delivery mode %d", m.id, d.ContentType, d.DeliveryMode)
		}
	}
	// The agent.# binding sees the agent message only.
	d, ok, err := ch.Get("agents", true)
	if err != nil || !ok || d.RoutingKey != "agent.1002" {
		t.Fatalf("agents queue: ok=%v err=%v key=%q", ok, err, d.RoutingKey)
	}
	if _, ok, _ := ch.Get("agents", true); ok {
		t.Errorf("agents queue holds more than the agent message")
	}
}

func TestAMQPRealEventTypes(t *testing.T) {
	vh := vhost(t)
	url := amqpURL(vh)
	ch := bindQueue(t, url, "acdx", "all2", "#")
	h, err := New(Config{AMQP: &AMQPConfig{URL: url, Exchange: "acdx"}, SpoolPath: spoolPath(t), CTIIP: "10.0.0.7"})
	if err != nil {
		t.Fatal(err)
	}
	defer closeHub(t, h)
	msgs := []Message{
		&event.Call{Name: event.EventHangup, CallinNumber: "18638737767", DestNumber: "4000", Direction: "inbound", AUUID: "a1", BUUID: "b1"},
		&event.Offer{Method: event.OfferCallout, UUID: "a1", Number: "18638737767", Group: "120", Extension: "1018", Level: "normal", CallinTime: "2021-05-30 17:00:02"},
		&event.CDR{UUID: "c1", ACallerIDNumber: "18638737767", Group: "120", Flag: "单座席无应答"},
		&event.Queue{Method: event.QueueRemove, UUID: "a1", Number: "18638737767", Group: "120", Level: "vip"},
		&event.Agent{Number: "1002", Status: "ready", Time: "2021-05-30 17:00:02"},
	}
	want := map[string]string{}
	for _, m := range msgs {
		want[string(m.AppendJSON(nil, "10.0.0.7"))] = m.RoutingKey()
		if !h.Publish(m) {
			t.Fatalf("Publish(%T) = false", m)
		}
	}
	if !eventually(10*time.Second, func() bool { return transportStats(h, "amqp").Published.Total() == 5 }) {
		t.Fatalf("not all confirmed: %+v", transportStats(h, "amqp"))
	}
	for range msgs {
		d, ok, err := ch.Get("all2", true)
		if err != nil || !ok {
			t.Fatalf("get: ok=%v err=%v", ok, err)
		}
		key, found := want[string(d.Body)]
		if !found || key != d.RoutingKey {
			t.Errorf("unexpected body %q key %q (want key %q)", d.Body, d.RoutingKey, key)
		}
		delete(want, string(d.Body))
	}
}
