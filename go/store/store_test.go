package store_test

import (
	"errors"
	"testing"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/store"
)

// The store does not import the core; its mode bound must follow it.
func TestMaxModeFollowsCore(t *testing.T) {
	if store.MaxMode != int(acd.MaxMode) {
		t.Fatalf("store.MaxMode %d, acd.MaxMode %d", store.MaxMode, acd.MaxMode)
	}
	for m := 0; m <= store.MaxMode; m++ {
		if err := (store.Group{Number: "110", Mode: m}).Validate(); err != nil {
			t.Fatalf("mode %d refused: %v", m, err)
		}
	}
	for _, m := range []int{-1, store.MaxMode + 1} {
		if err := (store.Group{Number: "110", Mode: m}).Validate(); !errors.Is(err, store.ErrRejected) {
			t.Fatalf("mode %d: %v, want ErrRejected", m, err)
		}
	}
}

// The routing limits must follow the core's.
func TestRoutingLimitsFollowCore(t *testing.T) {
	if store.MaxTier != acd.MaxTier || store.MaxWeight != acd.MaxWeight || store.MaxSkillLevel != acd.MaxSkillLevel {
		t.Fatalf("store limits %d %d %d, core %d %d %d", store.MaxTier, store.MaxWeight, store.MaxSkillLevel,
			acd.MaxTier, acd.MaxWeight, acd.MaxSkillLevel)
	}
}
