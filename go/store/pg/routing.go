package pg

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nwayacd/mod_nwayacd/go/store"
)

// Routing records (store.RoutingWriter), in sql/0007_routing.sql's tables.

var _ store.RoutingWriter = (*Store)(nil)

// loadRouting reads the routing records inside Load's snapshot transaction.
func loadRouting(ctx context.Context, tx pgx.Tx, snap *store.Snapshot) error {
	rows, _ := tx.Query(ctx, `SELECT ext, group_number, tier, weight FROM nwayacd_member_config`)
	var err error
	snap.MemberConfigs, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.MemberConfig, error) {
		var m store.MemberConfig
		err := r.Scan(&m.Ext, &m.Group, &m.Tier, &m.Weight)
		return m, err
	})
	if err != nil {
		return fmt.Errorf("member configs: %w", err)
	}
	rows, _ = tx.Query(ctx, `SELECT ext, skill, level FROM nwayacd_skill`)
	snap.Skills, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Skill, error) {
		var s store.Skill
		err := r.Scan(&s.Ext, &s.Name, &s.Level)
		return s, err
	})
	if err != nil {
		return fmt.Errorf("skills: %w", err)
	}
	rows, _ = tx.Query(ctx, `SELECT group_number, memory_first, tier_wait_seconds, tier_skip, skills,
			relax_every_seconds, max_waiting, overflow_group, overflow_after_seconds, overflow_waiting,
			exit_key, announce, callback_key, callback_agent_first, callback_retries, callback_retry_seconds,
			callback_gateway, announce_every_seconds, announce_sounds, full_overflow, exit_to, ring_wait_seconds
		FROM nwayacd_group_option`)
	snap.GroupOptions, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.GroupOptions, error) {
		var o store.GroupOptions
		var tw, re, oa, crd, ae, rw int64
		err := r.Scan(&o.Group, &o.MemoryFirst, &tw, &o.TierSkip, &o.Skills, &re, &o.MaxWaiting, &o.OverflowGroup,
			&oa, &o.OverflowWaiting, &o.ExitKey, &o.Announce, &o.CallbackKey, &o.CallbackAgentFirst,
			&o.CallbackRetries, &crd, &o.CallbackGateway, &ae, &o.AnnounceSounds, &o.FullOverflow, &o.ExitTo, &rw)
		o.AnnounceEvery, o.RingWait = secs(ae), secs(rw)
		o.TierWait, o.RelaxEvery = secs(tw), secs(re)
		o.OverflowAfter, o.CallbackRetryDelay = secs(oa), secs(crd)
		return o, err
	})
	if err != nil {
		return fmt.Errorf("group options: %w", err)
	}
	rows, _ = tx.Query(ctx, `SELECT uuid, group_number, caller, real_caller, callback, level, callin_time, tries, skills, node
		FROM nwayacd_callback ORDER BY callin_time, uuid`)
	snap.Callbacks, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Callback, error) {
		var c store.Callback
		err := r.Scan(&c.UUID, &c.Group, &c.Number, &c.RealNumber, &c.Callback, &c.Level, &c.CallinTime, &c.Tries, &c.Skills, &c.Node)
		return c, err
	})
	if err != nil {
		return fmt.Errorf("callbacks: %w", err)
	}
	rows, _ = tx.Query(ctx, `SELECT ext, day, answered, talk_seconds, last_call_end FROM nwayacd_agent_stats ORDER BY ext`)
	snap.AgentStats, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.AgentStats, error) {
		var a store.AgentStats
		var talk int64
		var end *time.Time
		err := r.Scan(&a.Ext, &a.Day, &a.Answered, &talk, &end)
		a.TalkTime = secs(talk)
		if end != nil {
			a.LastCallEnd = *end
		}
		return a, err
	})
	if err != nil {
		return fmt.Errorf("agent stats: %w", err)
	}
	return nil
}

func secs(n int64) time.Duration { return time.Duration(n) * time.Second }

// PutMemberConfig sets an extension's tier and weight in a group.
func (s *Store) PutMemberConfig(ctx context.Context, m store.MemberConfig) error {
	if err := m.Validate(); err != nil {
		return err
	}
	return s.configExec(ctx, "put member config", `INSERT INTO nwayacd_member_config (ext, group_number, tier, weight)
		VALUES ($1, $2, $3, $4)
		ON CONFLICT (ext, group_number) DO UPDATE SET tier = EXCLUDED.tier, weight = EXCLUDED.weight`,
		m.Ext, m.Group, m.Tier, m.Weight)
}

// PutSkill gives an extension a skill at a level.
func (s *Store) PutSkill(ctx context.Context, k store.Skill) error {
	if err := k.Validate(); err != nil {
		return err
	}
	return s.configExec(ctx, "put skill", `INSERT INTO nwayacd_skill (ext, skill, level) VALUES ($1, $2, $3)
		ON CONFLICT (ext, skill) DO UPDATE SET level = EXCLUDED.level`, k.Ext, k.Name, k.Level)
}

// DeleteSkill takes a skill from an extension; absent is fine.
func (s *Store) DeleteSkill(ctx context.Context, ext, name string) error {
	return s.configExec(ctx, "delete skill", `DELETE FROM nwayacd_skill WHERE ext = $1 AND skill = $2`, ext, name)
}

// PutGroupOptions replaces a group's options.
func (s *Store) PutGroupOptions(ctx context.Context, o store.GroupOptions) error {
	if err := o.Validate(); err != nil {
		return err
	}
	return s.configExec(ctx, "put group options", `INSERT INTO nwayacd_group_option (group_number, memory_first,
			tier_wait_seconds, tier_skip, skills, relax_every_seconds, max_waiting, overflow_group,
			overflow_after_seconds, overflow_waiting, exit_key, announce, callback_key, callback_agent_first,
			callback_retries, callback_retry_seconds, callback_gateway, announce_every_seconds, announce_sounds, full_overflow, exit_to,
			ring_wait_seconds)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)
		ON CONFLICT (group_number) DO UPDATE SET memory_first = EXCLUDED.memory_first,
			tier_wait_seconds = EXCLUDED.tier_wait_seconds, tier_skip = EXCLUDED.tier_skip,
			skills = EXCLUDED.skills, relax_every_seconds = EXCLUDED.relax_every_seconds,
			max_waiting = EXCLUDED.max_waiting, overflow_group = EXCLUDED.overflow_group,
			overflow_after_seconds = EXCLUDED.overflow_after_seconds, overflow_waiting = EXCLUDED.overflow_waiting,
			exit_key = EXCLUDED.exit_key, announce = EXCLUDED.announce, callback_key = EXCLUDED.callback_key,
			callback_agent_first = EXCLUDED.callback_agent_first, callback_retries = EXCLUDED.callback_retries,
			callback_retry_seconds = EXCLUDED.callback_retry_seconds, callback_gateway = EXCLUDED.callback_gateway,
			announce_every_seconds = EXCLUDED.announce_every_seconds, announce_sounds = EXCLUDED.announce_sounds,
			full_overflow = EXCLUDED.full_overflow, exit_to = EXCLUDED.exit_to,
			ring_wait_seconds = EXCLUDED.ring_wait_seconds`,
		o.Group, o.MemoryFirst, int64(o.TierWait/time.Second), o.TierSkip, o.Skills, int64(o.RelaxEvery/time.Second),
		o.MaxWaiting, o.OverflowGroup, int64(o.OverflowAfter/time.Second), o.OverflowWaiting, o.ExitKey, o.Announce,
		o.CallbackKey, o.CallbackAgentFirst, o.CallbackRetries, int64(o.CallbackRetryDelay/time.Second), o.CallbackGateway,
		int64(o.AnnounceEvery/time.Second), o.AnnounceSounds, o.FullOverflow, o.ExitTo, int64(o.RingWait/time.Second))
}

// ClearExtensionRouting forgets a removed extension's skills and tiers.
func (s *Store) ClearExtensionRouting(ctx context.Context, ext string) error {
	if err := s.configExec(ctx, "clear extension routing", `DELETE FROM nwayacd_skill WHERE ext = $1`, ext); err != nil {
		return err
	}
	return s.configExec(ctx, "clear extension routing", `DELETE FROM nwayacd_member_config WHERE ext = $1`, ext)
}

// ClearGroupRouting forgets a removed group's options and tiers (deleting
// its ext_group row cascades to them too).
func (s *Store) ClearGroupRouting(ctx context.Context, group string) error {
	if err := s.configExec(ctx, "clear group routing", `DELETE FROM nwayacd_group_option WHERE group_number = $1`, group); err != nil {
		return err
	}
	return s.configExec(ctx, "clear group routing", `DELETE FROM nwayacd_member_config WHERE group_number = $1`, group)
}

// configExec runs one write tagged with this node's origin, so that Watch
// skips its echo (the routing tables notify nwayacd_config, sql/0007).
func (s *Store) configExec(ctx context.Context, op, sql string, args ...any) error {
	return s.configTx(ctx, op, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, sql, args...)
		return err
	})
}

var _ store.CallbackWriter = (*Store)(nil)

// PutCallback keeps a pending callback (sql/0012_callbacks.sql).
func (s *Store) PutCallback(ctx context.Context, c store.Callback) error {
	if err := c.Validate(); err != nil {
		return err
	}
	return s.exec(ctx, "put callback", `INSERT INTO nwayacd_callback (uuid, group_number, caller, real_caller, callback, level,
			callin_time, tries, skills, node)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (uuid) DO UPDATE SET group_number = EXCLUDED.group_number, caller = EXCLUDED.caller,
			real_caller = EXCLUDED.real_caller, callback = EXCLUDED.callback, level = EXCLUDED.level,
			callin_time = EXCLUDED.callin_time, tries = EXCLUDED.tries, skills = EXCLUDED.skills, node = EXCLUDED.node`,
		c.UUID, c.Group, c.Number, c.RealNumber, c.Callback, c.Level, c.CallinTime, c.Tries, c.Skills, c.Node)
}

// DeleteCallback forgets a pending callback; absent is fine.
func (s *Store) DeleteCallback(ctx context.Context, uuid string) error {
	return s.exec(ctx, "delete callback", `DELETE FROM nwayacd_callback WHERE uuid = $1`, uuid)
}

var _ store.StatsWriter = (*Store)(nil)

// PutAgentStats keeps an agent's counters.
func (s *Store) PutAgentStats(ctx context.Context, a store.AgentStats) error {
	if err := a.Validate(); err != nil {
		return err
	}
	var end *time.Time
	if !a.LastCallEnd.IsZero() {
		end = &a.LastCallEnd
	}
	// In the batch's transaction, with the journal's other writes.
	return s.exec(ctx, "put agent stats", `INSERT INTO nwayacd_agent_stats (ext, day, answered, talk_seconds, last_call_end)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (ext) DO UPDATE SET day = EXCLUDED.day, answered = EXCLUDED.answered,
			talk_seconds = EXCLUDED.talk_seconds, last_call_end = EXCLUDED.last_call_end`,
		a.Ext, a.Day, a.Answered, int64(a.TalkTime/time.Second), end)
}
