package node

import (
	"context"
	"fmt"
	"math/rand/v2"
	"regexp"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nwayacd/mod_nwayacd/go/session"
)

var legOf = regexp.MustCompile(`origination_uuid=([^,}]+)`)

// TestClusterRandomizedFaults is TestClusterRandomizedAcrossNodes with
// faults: a node's Redis connection cut (its TCP proxy) for 0.3–2 s, on
// both sides of the 1 s lease, then restored; a node dropped without
// cleanup (cut from Redis, stopped: no leave) and a new incarnation of it
// started at once, its agents registering again. The calls the dropped node
// held end with it (the caller's switch died), and so do the rings and
// talks of the agents registered on it (their legs went through it).
// Checked throughout: no agent is rung for a second call while a ring or
// talk of its first is live (a ring its node took back — uuid_kill of the
// leg — is over); at the end every call has one CDR (at most one for a
// call that died with its node), the pool holds nothing and its audit is
// clean.
func TestClusterRandomizedFaults(t *testing.T) {
	p := startPool3Proxied(t)
	ids := []string{"a", "b", "c"}
	agents := map[string]int{}
	for i := 0; i < 6; i++ {
		agents[fmt.Sprintf("10%02d", i+1)] = i % 3
	}
	p.setup("5", agents)
	node := map[string]*Node{"a": p.nodes[0], "b": p.nodes[1], "c": p.nodes[2]}
	run := 10 * time.Second // a fault every 1.5 s
	if testing.Short() {
		run = 5 * time.Second
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(17, seed))
	type live struct {
		node    string
		agent   string // rung or talking
		leg     string // the agent's leg while it rings
		talking bool
	}
	calls := map[string]*live{}
	var all []string
	died := map[string]bool{} // calls that ended with their node
	holder := map[string]string{}
	busyWith := map[string]string{} // agent → the call it rings or talks on
	seat := map[string]bool{}
	exts := make([]string, 0, len(agents))
	for e := range agents {
		exts = append(exts, e)
	}
	free := func(l *live) {
		if l.agent != "" {
			delete(busyWith, l.agent)
			l.agent, l.leg, l.talking = "", "", false
		}
	}
	gone := func(u string, l *live) {
		free(l)
		node[l.node].Service.Leave(u)
		delete(calls, u)
	}
	// revoked: the node holding the call killed the ring's leg (the pool
	// may have lost it): the phone stopped ringing, the call waits again.
	revoked := func(l *live) bool {
		return l.agent != "" && !l.talking && l.leg != "" && p.sw[l.node].has("uuid_kill "+l.leg+" ORIGINATOR_CANCEL")
	}
	var cutNode string

	var cutUntil time.Time
	cuts, drops, seen, cross, revokes := 0, 0, 0, 0, 0
	drop := func(id string) {
		p.px[id].Cut()
		p.stop[id]() // no leave: Redis is unreachable
		for u, l := range calls {
			if l.node == id {
				free(l)
				delete(calls, u)
				died[u] = true
			}
		}
		// The legs of its agents went through its switch.
		for u, l := range calls {
			if l.agent == "" || ids[agents[l.agent]] != id {
				continue
			}
			n := node[l.node]
			if l.talking {
				n.Service.BridgeEnded(u)
				gone(u, l)
			} else {
				n.Service.OfferResult(session.OfferResult{UUID: u, Agent: l.agent, Outcome: session.Failed})
				free(l)
			}
		}
		p.px[id].Restore()
		n := p.start(id)
		node[id] = n
		for e, i := range agents {
			if ids[i] == id {
				must(t, n.Service.SetRegistered(e, true))
			}
		}
		drops++
	}
	end := time.Now().Add(run)
	nextFault := time.Now().Add(time.Second)
	ops := 0
	for i := 0; time.Now().Before(end); i++ {
		ops++
		if cutNode != "" && time.Now().After(cutUntil) {
			p.px[cutNode].Restore()
			cutNode = ""
		}
		if time.Now().After(nextFault) {
			nextFault = time.Now().Add(1500 * time.Millisecond)
			id := ids[rng.IntN(3)]
			switch {
			case cutNode == id:
			// The first fault is a cut and the next one a node can take is a
			// drop, so that every run has both; after that, chance decides.
			case cutNode != "" || (cuts > 0 && (drops == 0 || rng.IntN(2) == 0)):
				drop(id)
			default:
				cutNode, cutUntil = id, time.Now().Add(time.Duration(300+rng.IntN(1700))*time.Millisecond)
				p.px[id].Cut()
				cuts++
			}
		}
		switch r := rng.IntN(100); {
		case r < 15 && len(calls) < 12:
			u := fmt.Sprintf("66666666-0000-4000-8000-%012d", len(all)+1)
			id := ids[rng.IntN(3)]
			lvl := ""
			if rng.IntN(5) == 0 {
				lvl = "vip"
			}
			d := node[id].Service.Enter(session.Call{Kind: session.Queue, UUID: u, Group: "120", CallerNumber: fmt.Sprintf("1390000%04d", rng.IntN(50)), DestNumber: "120", Level: lvl})
			if d.Action == session.Hangup || d.Action == session.Done {
				t.Fatalf("enter %s: %+v", u, d)
			}
			calls[u] = &live{node: id}
			holder[u] = fmt.Sprintf("%s (incarnation %d)", id, drops)
			all = append(all, u)
		case r < 75:
			if len(calls) == 0 {
				continue
			}
			u, l := anyCall(rng, calls)
			if revoked(l) {
				free(l)
				revokes++
			}
			n := node[l.node]
			if l.talking {
				if rng.IntN(3) == 0 {
					n.Service.BridgeEnded(u)
					gone(u, l)
				}
				continue
			}
			if l.agent == "" {
				d := n.Service.Next(u)
				if d.Action != session.Offer {
					if rng.IntN(25) == 0 {
						gone(u, l)
					}
					continue
				}
				if other, ok := busyWith[d.Agent]; ok && other != u {
					if o := calls[other]; o != nil && revoked(o) {
						free(o)
						revokes++
					} else {
						t.Fatalf("op %d: agent %s rung for %s on %s while on %s (%+v)", i, d.Agent, u, l.node, other, o)
					}
				}
				busyWith[d.Agent] = u
				l.agent = d.Agent
				if m := legOf.FindStringSubmatch(d.Dial); m != nil {
					l.leg = m[1]
				}
				seen++
				if ids[agents[d.Agent]] != l.node {
					cross++
				}
				continue
			}
			switch rng.IntN(4) {
			case 0, 1:
				n.Service.OfferResult(session.OfferResult{UUID: u, Agent: l.agent, Outcome: session.Answered})
				l.talking = true
				if revoked(l) { // taken back before the answer arrived: the leg is gone
					l.talking = false
					free(l)
					revokes++
				}
			case 2:
				n.Service.OfferResult(session.OfferResult{UUID: u, Agent: l.agent, Outcome: session.NoAnswer})
				free(l)
			case 3:
				n.Service.OfferResult(session.OfferResult{UUID: u, Agent: l.agent, Outcome: session.Canceled})
				gone(u, l)
			}
		case r < 80:
			e := exts[rng.IntN(len(exts))]
			n := node[ids[agents[e]]]
			if seat[e] {
				cmd(t, n, "nway_ready", e)
			} else {
				cmd(t, n, "nway_busy", e)
			}
			seat[e] = !seat[e]
		default:
			time.Sleep(time.Millisecond)
		}
	}
	if cutNode != "" {
		p.px[cutNode].Restore()
	}
	for u, l := range calls {
		n := node[l.node]
		if l.talking {
			n.Service.BridgeEnded(u)
		} else if l.agent != "" {
			n.Service.OfferResult(session.OfferResult{UUID: u, Agent: l.agent, Outcome: session.Canceled})
		}
		gone(u, l)
	}
	t.Logf("%d operations, %d calls, %d offers seen (%d across nodes), %d rings taken back, %d cuts, %d drops, %d calls died with their node",
		ops, len(all), seen, cross, revokes, cuts, drops, len(died))
	if cross == 0 || cuts == 0 || drops == 0 {
		t.Fatal("the run did not exercise offers across nodes, cuts and drops")
	}
	ctx := context.Background()
	for _, u := range all {
		if died[u] {
			continue
		}
		for k := 0; p.cdrs(u) != 1; k++ {
			if k == 200 {
				conn, err := pgx.Connect(ctx, p.dsn)
				must(t, err)
				var pend int
				must(t, conn.QueryRow(ctx, "SELECT count(*) FROM nwayacd_pending_cdr WHERE uuid=$1", u).Scan(&pend))
				conn.Close(ctx)
				t.Fatalf("no CDR for %s (%d pending), held by %s", u, pend, holder[u])
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitFor(t, "the pool empty", func() bool {
		w, _ := p.view.Waiting(ctx, "120")
		return len(w) == 0
	})
	for _, e := range exts {

		waitFor(t, e+" not on a call in the pool", func() bool {
			av, _ := p.view.AgentView(ctx, e)

			if av.Call == "" && av.State != "offered" && av.State != "talking" {
				return true
			}
			t.Logf("%s in the pool: %+v", e, av)
			return false
		})
	}
	if probs, err := p.view.Audit(ctx, []string{"120"}); err != nil || len(probs) > 0 {
		t.Fatalf("audit: %v %v", probs, err)
	}
	time.Sleep(100 * time.Millisecond)
	for _, u := range all {
		if k := p.cdrs(u); k > 1 || (k != 1 && !died[u]) {
			t.Fatalf("%d CDRs for %s (died with its node: %v)", k, u, died[u])
		}
	}
}
