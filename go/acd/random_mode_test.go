package acd

import (
	"strconv"
	"testing"
)

// Mode 1 spreads calls evenly over the idle agents (and mode 4 falls back to
// it): 4,000 calls over 4 agents land 1,000 ± 20% on each.
func TestRandomModeIsUniform(t *testing.T) {
	for _, mode := range []Mode{ModeRandom, ModeMemoryRandom} {
		e := New(Config{Seed: 42}, &fakeClock{t: epoch})
		if err := e.AddGroup(GroupSpec{Number: "1", Mode: mode}); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 4; i++ {
			ext := strconv.Itoa(100 + i)
			_ = e.AddExtension(ExtensionSpec{Extension: ext, JobEnabled: true})
			_ = e.SetRegistered(ext, true)
			_ = e.Login(ext, []string{"1"})
		}
		got := map[string]int{}
		for i := 0; i < 4000; i++ {
			u := "c" + strconv.Itoa(i)
			st, err := e.Enter(CallIn{UUID: u, Group: "1"}) // no caller number: no memory
			if err != nil || st.Kind != StepOffer {
				t.Fatalf("%v %+v", err, st)
			}
			got[st.Agent]++
			e.Leave(u)
			e.Decisions()
		}
		for ext, n := range got {
			if n < 800 || n > 1200 {
				t.Fatalf("mode %d: %s got %d of 4000 calls: %v", mode, ext, n, got)
			}
		}
		if len(got) != 4 {
			t.Fatalf("mode %d: only %d agents got calls: %v", mode, len(got), got)
		}
	}
}
