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

// UsesRollups tells which path Groups and Agents take for q: "raw",
// "quarter" or "hour" (agents).
func UsesRollups(q Query) (groups bool, agents string) {
	switch agentSQL(q) {
	case agentQuarterSQL:
		agents = "quarter"
	case agentHourSQL:
		agents = "hour"
	default:
		agents = "raw"
	}
	return groupRollups(q), agents
}
