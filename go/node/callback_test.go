package node

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nwayacd/mod_nwayacd/go/session"
	"github.com/nwayacd/mod_nwayacd/go/store/pgtest"
)

// askCallback: a caller in group 110 presses the callback key and #, and
// hangs up to be called back.
func askCallback(t *testing.T, n *Node, uuid, caller string) {
	t.Helper()
	s := n.Service
	d := s.Enter(session.Call{Kind: session.Queue, UUID: uuid, Group: "110", CallerNumber: caller})
	for d.Action == session.Play {
		d = s.Next(uuid)
	}
	for _, k := range []string{"9", "#"} {
		s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelDTMF, UUID: uuid, DTMF: k})
	}
	if d := s.Next(uuid); d.Action != session.Hangup {
		t.Fatalf("after the callback key: %+v", d)
	}
	s.Leave(uuid)
}

func checkCallbackRestored(t *testing.T, n *Node, uuid string, in time.Time) {
	t.Helper()
	w := n.Service.Waiting()
	if len(w) != 1 || w[0].UUID != uuid || w[0].Number != "13900000001" || w[0].CallinTime.Unix() != in.Unix() {
		t.Fatalf("waiting after the restart: %+v", w)
	}
}

// A pending callback survives an unload and load of the module (embedded
// store, through the journal) in its place; once it connects it is gone
// from the store.
func TestCallbackSurvivesRestart(t *testing.T) {
	p := params(t, nil)
	n := start(t, p)
	cmd(t, n, "nway_add_group", "110 0")
	cmd(t, n, "nway_set_group", "110 callback_key 9")
	cmd(t, n, "nway_add_ext", "1000")
	cmd(t, n, "nway_login", "1000 110")
	cmd(t, n, "nway_busy", "1000")
	in := time.Now()
	askCallback(t, n, "cbn1", "13900000001")
	n.Stop()
	n = start(t, p)
	checkCallbackRestored(t, n, "cbn1", in)
	// It connects: the callback leg enters; after the next restart it is gone.
	cmd(t, n, "nway_ready", "1000")
	_ = n.Service.SetRegistered("1000", true)
	waitFor(t, "callback placed", func() bool {
		x, _ := n.Service.Extension("1000")
		return x.CallState == "ring"
	})
	if d := n.Service.Enter(session.Call{Kind: session.Queue, UUID: "cbn1", Group: "110", CallerNumber: "110"}); d.Action != session.Offer {
		t.Fatalf("callback leg: %+v", d)
	}
	n.Service.Leave("cbn1")
	n.Stop()
	n = start(t, p)
	defer n.Stop()
	if w := n.Service.Waiting(); len(w) != 0 {
		t.Fatalf("a connected callback came back: %+v", w)
	}
}

// With PostgreSQL: the pending callback is a row of nwayacd_callback and
// survives a restart.
func TestCallbackPostgres(t *testing.T) {
	ctx := context.Background()
	_, dsn := pgtest.DB(t)
	p := params(t, map[string]string{"db-dsn": dsn})
	n := start(t, p)
	cmd(t, n, "nway_add_group", "110 0")
	cmd(t, n, "nway_set_group", "110 callback_key 9")
	cmd(t, n, "nway_set_group", "110 callback_gateway carrier")
	in := time.Now()
	askCallback(t, n, "cbp1", "13900000001")
	n.Stop()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var number, gw string
	if err := conn.QueryRow(ctx, `SELECT callback FROM nwayacd_callback WHERE uuid = 'cbp1'`).Scan(&number); err != nil || number != "13900000001" {
		t.Fatalf("nwayacd_callback row: %q %v", number, err)
	}
	if err := conn.QueryRow(ctx, `SELECT callback_gateway FROM nwayacd_group_option WHERE group_number = '110'`).Scan(&gw); err != nil || gw != "carrier" {
		t.Fatalf("callback_gateway: %q %v", gw, err)
	}
	n = start(t, p)
	defer n.Stop()
	checkCallbackRestored(t, n, "cbp1", in)
}

// Today's counters (mode 7, fewest calls) survive a restart: the agent
// that answered more today is still passed over after it.
func TestTodayCountersSurviveRestart(t *testing.T) {
	p := params(t, map[string]string{"wrapup-seconds": "0"})
	n := start(t, p)
	cmd(t, n, "nway_add_group", "170 7")
	cmd(t, n, "nway_add_ext", "1000")
	cmd(t, n, "nway_add_ext", "1001")
	cmd(t, n, "nway_login", "1000 170")
	cmd(t, n, "nway_login", "1001 170")
	s := n.Service
	_ = s.SetRegistered("1000", true)
	_ = s.SetRegistered("1001", true)
	answer := func(n *Node, uuid string) string {
		s := n.Service
		d := s.Enter(session.Call{Kind: session.Queue, UUID: uuid, Group: "170", CallerNumber: "13900000009"})
		if d.Action != session.Offer {
			t.Fatalf("%s: %+v", uuid, d)
		}
		s.OfferResult(session.OfferResult{UUID: uuid, Agent: d.Agent, Outcome: session.Answered})
		time.Sleep(1100 * time.Millisecond) // a talk time of whole seconds
		s.BridgeEnded(uuid)
		s.Leave(uuid)
		return d.Agent
	}
	first := answer(n, "td1")
	second := answer(n, "td2") // the other agent: fewest calls
	if first == second {
		t.Fatalf("mode 7 gave both calls to %s", first)
	}
	third := answer(n, "td3") // a tie: the first again
	n.Stop()
	n = start(t, p)
	defer n.Stop()
	x, _ := n.Service.Extension(third)
	if x.Stats.Answered != 2 || x.Stats.TalkTime < 2*time.Second {
		t.Fatalf("%s after the restart: %+v", third, x.Stats)
	}
	_ = n.Service.SetRegistered("1000", true)
	_ = n.Service.SetRegistered("1001", true)
	if got := answer(n, "td4"); got == third {
		t.Fatalf("after the restart mode 7 chose %s, who answered 2 calls today", got)
	}
}
