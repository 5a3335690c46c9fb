package reports

import (
	"context"
	"time"
)

// GroupsRaw and AgentsRaw compute the reports from the raw rows, the
// definition the rollups are checked against.
func (r *Reports) GroupsRaw(ctx context.Context, q Query) ([]GroupRow, error) {
	return r.groups(ctx, groupRawSQL, local(q.From), local(q.To), q.Interval, q.ServiceLevel, q.ShortAbandon)
}

func (r *Reports) AgentsRaw(ctx context.Context, q Query, now time.Time) ([]AgentRow, error) {
	return r.agents(ctx, agentRawSQL, q, now)
}

// UsesRollups tells which path Groups and Agents take for q.
func UsesRollups(q Query) bool { return groupRollups(q) }
