package writeback

import (
	"context"
	"fmt"

	"github.com/nwayacd/mod_nwayacd/go/store"
)

// applyCallback writes a pending-callback op; a target without
// store.CallbackWriter refuses it for good.
func (o *op) applyCallback(ctx context.Context, t any) error {
	if o.Kind == opPutAgentStats {
		sw, ok := t.(store.StatsWriter)
		if !ok {
			return fmt.Errorf("%w: %s: the store does not keep agent stats", store.ErrRejected, o.name())
		}
		return sw.PutAgentStats(ctx, *o.Stats)
	}
	cw, ok := t.(store.CallbackWriter)
	if !ok {
		return fmt.Errorf("%w: %s: the store does not keep callbacks", store.ErrRejected, o.name())
	}
	if o.Kind == opPutCallback {
		return cw.PutCallback(ctx, *o.Callback)
	}
	return cw.DeleteCallback(ctx, o.Key)
}

// PutCallback queues store.CallbackWriter.PutCallback.
func (j *Journal) PutCallback(c store.Callback) { j.enqueue(&op{Kind: opPutCallback, Callback: &c}) }

// DeleteCallback queues store.CallbackWriter.DeleteCallback.
func (j *Journal) DeleteCallback(uuid string) { j.enqueue(&op{Kind: opDeleteCallback, Key: uuid}) }

// PutAgentStats queues store.StatsWriter.PutAgentStats.
func (j *Journal) PutAgentStats(a store.AgentStats) { j.enqueue(&op{Kind: opPutAgentStats, Stats: &a}) }
