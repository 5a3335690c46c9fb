package embedded

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/nwayacd/mod_nwayacd/go/store"
)

// Routing records (store.RoutingWriter), one bucket each.
var (
	bMemberCfg   = []byte("member_config") // ext \0 group → MemberConfig
	bSkill       = []byte("skill")         // ext \0 skill → Skill
	bGroupOption = []byte("group_option")  // group → GroupOptions
	bCallback    = []byte("callback")      // uuid → Callback (pending)
	bAgentStats  = []byte("agent_stats")   // ext → AgentStats
)

var _ store.RoutingWriter = (*Store)(nil)

func loadRouting(tx *bolt.Tx, snap *store.Snapshot) error {
	if err := tx.Bucket(bMemberCfg).ForEach(func(_, v []byte) error {
		snap.MemberConfigs = append(snap.MemberConfigs, store.MemberConfig{})
		return json.Unmarshal(v, &snap.MemberConfigs[len(snap.MemberConfigs)-1])
	}); err != nil {
		return fmt.Errorf("member configs: %w", err)
	}
	if err := tx.Bucket(bSkill).ForEach(func(_, v []byte) error {
		snap.Skills = append(snap.Skills, store.Skill{})
		return json.Unmarshal(v, &snap.Skills[len(snap.Skills)-1])
	}); err != nil {
		return fmt.Errorf("skills: %w", err)
	}
	if err := tx.Bucket(bGroupOption).ForEach(func(_, v []byte) error {
		snap.GroupOptions = append(snap.GroupOptions, store.GroupOptions{})
		return json.Unmarshal(v, &snap.GroupOptions[len(snap.GroupOptions)-1])
	}); err != nil {
		return fmt.Errorf("group options: %w", err)
	}
	if err := tx.Bucket(bCallback).ForEach(func(_, v []byte) error {
		snap.Callbacks = append(snap.Callbacks, store.Callback{})
		return json.Unmarshal(v, &snap.Callbacks[len(snap.Callbacks)-1])
	}); err != nil {
		return fmt.Errorf("callbacks: %w", err)
	}
	if err := tx.Bucket(bAgentStats).ForEach(func(_, v []byte) error {
		snap.AgentStats = append(snap.AgentStats, store.AgentStats{})
		return json.Unmarshal(v, &snap.AgentStats[len(snap.AgentStats)-1])
	}); err != nil {
		return fmt.Errorf("agent stats: %w", err)
	}
	slices.SortFunc(snap.Callbacks, func(a, b store.Callback) int { // oldest first, as pg
		return cmp.Or(a.CallinTime.Compare(b.CallinTime), cmp.Compare(a.UUID, b.UUID))
	})
	return nil
}

// PutMemberConfig sets an extension's tier and weight in a group.
func (s *Store) PutMemberConfig(ctx context.Context, m store.MemberConfig) error {
	if err := m.Validate(); err != nil {
		return err
	}
	return s.update(ctx, "put member config", func(tx *bolt.Tx) error {
		return put(tx.Bucket(bMemberCfg), key(m.Ext, m.Group), m)
	})
}

// PutSkill gives an extension a skill at a level.
func (s *Store) PutSkill(ctx context.Context, k store.Skill) error {
	if err := k.Validate(); err != nil {
		return err
	}
	return s.update(ctx, "put skill", func(tx *bolt.Tx) error {
		return put(tx.Bucket(bSkill), key(k.Ext, k.Name), k)
	})
}

// DeleteSkill takes a skill from an extension; absent is fine.
func (s *Store) DeleteSkill(ctx context.Context, ext, name string) error {
	return s.update(ctx, "delete skill", func(tx *bolt.Tx) error {
		return tx.Bucket(bSkill).Delete(key(ext, name))
	})
}

// PutGroupOptions replaces a group's options (durations kept in whole
// seconds, as pg keeps them).
func (s *Store) PutGroupOptions(ctx context.Context, o store.GroupOptions) error {
	if err := o.Validate(); err != nil {
		return err
	}
	for _, d := range []*time.Duration{&o.TierWait, &o.RelaxEvery, &o.OverflowAfter, &o.CallbackRetryDelay, &o.AnnounceEvery, &o.RingWait} {
		*d = d.Truncate(time.Second)
	}
	return s.update(ctx, "put group options", func(tx *bolt.Tx) error {
		return put(tx.Bucket(bGroupOption), []byte(o.Group), o)
	})
}

// ClearExtensionRouting forgets a removed extension's skills and tiers.
func (s *Store) ClearExtensionRouting(ctx context.Context, ext string) error {
	prefix := append([]byte(ext), 0)
	return s.update(ctx, "clear extension routing", func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bSkill, bMemberCfg} {
			if err := deleteWhere(tx.Bucket(b), func(k, _ []byte) (bool, error) {
				return bytes.HasPrefix(k, prefix), nil
			}); err != nil {
				return err
			}
		}
		return nil
	})
}

// ClearGroupRouting forgets a removed group's options and tiers.
func (s *Store) ClearGroupRouting(ctx context.Context, group string) error {
	suffix := append([]byte{0}, group...)
	return s.update(ctx, "clear group routing", func(tx *bolt.Tx) error {
		if err := deleteWhere(tx.Bucket(bMemberCfg), func(k, _ []byte) (bool, error) {
			return bytes.HasSuffix(k, suffix), nil
		}); err != nil {
			return err
		}
		return tx.Bucket(bGroupOption).Delete([]byte(group))
	})
}

var _ store.CallbackWriter = (*Store)(nil)

// PutCallback keeps a pending callback.
func (s *Store) PutCallback(ctx context.Context, c store.Callback) error {
	if err := c.Validate(); err != nil {
		return err
	}
	return s.update(ctx, "put callback", func(tx *bolt.Tx) error {
		return put(tx.Bucket(bCallback), []byte(c.UUID), c)
	})
}

// DeleteCallback forgets a pending callback; absent is fine.
func (s *Store) DeleteCallback(ctx context.Context, uuid string) error {
	return s.update(ctx, "delete callback", func(tx *bolt.Tx) error {
		return tx.Bucket(bCallback).Delete([]byte(uuid))
	})
}

var _ store.StatsWriter = (*Store)(nil)

// PutAgentStats keeps an agent's counters (talk time in whole seconds, as
// pg keeps it).
func (s *Store) PutAgentStats(ctx context.Context, a store.AgentStats) error {
	if err := a.Validate(); err != nil {
		return err
	}
	a.TalkTime = a.TalkTime.Truncate(time.Second)
	return s.update(ctx, "put agent stats", func(tx *bolt.Tx) error {
		return put(tx.Bucket(bAgentStats), []byte(a.Ext), a)
	})
}
