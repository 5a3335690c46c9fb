package writeback

import (
	"context"
	"fmt"

	"github.com/nwayacd/mod_nwayacd/go/event"
	"github.com/nwayacd/mod_nwayacd/go/store"
)

// Op kinds. They are written to the journal file: never renumber.
const (
	opUpsertExtension = iota + 1
	opDeleteExtension
	opUpsertGroup
	opDeleteGroup
	opSetCurrentExt
	opReplaceMemberships
	opAddListEntry
	opRemoveListEntry
	opPutMemory
	opInsertCDR
	opAppendAgentLog
	opPutPendingCDR
	opDeletePendingCDR
	// Routing records (store.RoutingWriter), appended: older files decode.
	opPutMemberConfig
	opPutSkill
	opDeleteSkill
	opPutGroupOptions
	opClearExtensionRouting
	opClearGroupRouting
	// Pending callbacks (store.CallbackWriter), appended.
	opPutCallback
	opDeleteCallback
	opPutAgentStats // store.StatsWriter
)

// op is one queued write, in the form the journal file keeps (JSON).
type op struct {
	Seq    uint64           `json:"s"`
	Kind   int              `json:"k"`
	Key    string           `json:"n,omitempty"` // a number: extension, group
	Arg    string           `json:"a,omitempty"` // SetCurrentExt's extension; PutPendingCDR's node
	Groups []string         `json:"g,omitempty"`
	Ext    *store.Extension `json:"e,omitempty"`
	Group  *store.Group     `json:"gr,omitempty"`
	List   *store.ListEntry `json:"l,omitempty"`
	Memory *store.Memory    `json:"m,omitempty"`
	CDR    *event.CDR       `json:"c,omitempty"`
	Log    *store.AgentLog  `json:"al,omitempty"`

	MemberCfg *store.MemberConfig `json:"mc,omitempty"`
	Skill     *store.Skill        `json:"sk,omitempty"`
	Options   *store.GroupOptions `json:"go,omitempty"`
	Callback  *store.Callback     `json:"cb,omitempty"`
	Stats     *store.AgentStats   `json:"as,omitempty"`
}

func (o *op) apply(ctx context.Context, t store.Writer) error {
	if ok, err := o.applyConfig(ctx, t); ok {
		return err
	}
	switch o.Kind {
	case opInsertCDR:
		return t.InsertCDR(ctx, *o.CDR)
	case opAppendAgentLog:
		return t.AppendAgentLog(ctx, *o.Log)
	case opPutPendingCDR:
		return t.PutPendingCDR(ctx, o.Arg, *o.CDR)
	case opDeletePendingCDR:
		return t.DeletePendingCDR(ctx, o.Key)
	case opPutMemberConfig, opPutSkill, opDeleteSkill, opPutGroupOptions, opClearExtensionRouting, opClearGroupRouting:
		return o.applyRouting(ctx, t)
	case opPutCallback, opDeleteCallback, opPutAgentStats:
		return o.applyCallback(ctx, t)
	}
	return fmt.Errorf("%w: journal op kind %d unknown to this build", store.ErrRejected, o.Kind)
}

// replay applies o to t when it changes a snapshot; CDRs, agent logs and
// kinds unknown to this build do not.
func (o *op) replay(ctx context.Context, t SnapshotWriter) error {
	if ok, err := o.applyConfig(ctx, t); ok {
		return err
	}
	switch o.Kind {
	case opPutMemberConfig, opPutSkill, opDeleteSkill, opPutGroupOptions, opClearExtensionRouting, opClearGroupRouting:
		if _, ok := t.(store.RoutingWriter); ok { // store.Overlay keeps them
			return o.applyRouting(ctx, t)
		}
	case opPutCallback, opDeleteCallback:
		if _, ok := t.(store.CallbackWriter); ok {
			return o.applyCallback(ctx, t)
		}
	case opPutAgentStats:
		if _, ok := t.(store.StatsWriter); ok {
			return o.applyCallback(ctx, t)
		}
	}
	return nil
}

// applyConfig applies the ops that change the configuration snapshot (both a
// store and a snapshot take them); ok is false for any other kind.
func (o *op) applyConfig(ctx context.Context, t SnapshotWriter) (ok bool, err error) {
	switch o.Kind {
	case opUpsertExtension:
		return true, t.UpsertExtension(ctx, *o.Ext)
	case opDeleteExtension:
		return true, t.DeleteExtension(ctx, o.Key)
	case opUpsertGroup:
		return true, t.UpsertGroup(ctx, *o.Group)
	case opDeleteGroup:
		return true, t.DeleteGroup(ctx, o.Key)
	case opSetCurrentExt:
		return true, t.SetCurrentExt(ctx, o.Key, o.Arg)
	case opReplaceMemberships:
		return true, t.ReplaceMemberships(ctx, o.Key, o.Groups)
	case opAddListEntry:
		return true, t.AddListEntry(ctx, *o.List)
	case opRemoveListEntry:
		return true, t.RemoveListEntry(ctx, *o.List)
	case opPutMemory:
		return true, t.PutMemory(ctx, *o.Memory)
	}
	return false, nil
}

// valid reports whether a decoded op has what its kind needs (a record from
// a damaged or newer file must not panic the applier).
func (o *op) valid() bool {
	switch o.Kind {
	case opUpsertExtension:
		return o.Ext != nil
	case opUpsertGroup:
		return o.Group != nil
	case opAddListEntry, opRemoveListEntry:
		return o.List != nil
	case opPutMemory:
		return o.Memory != nil
	case opInsertCDR, opPutPendingCDR:
		return o.CDR != nil
	case opAppendAgentLog:
		return o.Log != nil
	case opPutMemberConfig:
		return o.MemberCfg != nil
	case opPutSkill:
		return o.Skill != nil
	case opPutGroupOptions:
		return o.Options != nil
	case opPutCallback:
		return o.Callback != nil
	case opPutAgentStats:
		return o.Stats != nil
	}
	return true
}

func (o *op) name() string {
	switch o.Kind {
	case opUpsertExtension:
		return "upsert extension " + o.Ext.Number
	case opDeleteExtension:
		return "delete extension " + o.Key
	case opUpsertGroup:
		return "upsert group " + o.Group.Number
	case opDeleteGroup:
		return "delete group " + o.Key
	case opSetCurrentExt:
		return "set current ext of " + o.Key
	case opReplaceMemberships:
		return "memberships of " + o.Key
	case opAddListEntry:
		return "add " + string(o.List.Kind) + " entry"
	case opRemoveListEntry:
		return "remove " + string(o.List.Kind) + " entry"
	case opPutMemory:
		return "memory"
	case opInsertCDR:
		return "cdr " + o.CDR.UUID
	case opAppendAgentLog:
		return "agent log of " + o.Log.Ext
	case opPutPendingCDR:
		return "pending cdr " + o.CDR.UUID
	case opDeletePendingCDR:
		return "delete pending cdr " + o.Key
	case opPutMemberConfig:
		return "member config of " + o.MemberCfg.Ext + " in " + o.MemberCfg.Group
	case opPutSkill:
		return "skill " + o.Skill.Name + " of " + o.Skill.Ext
	case opDeleteSkill:
		return "delete skill " + o.Arg + " of " + o.Key
	case opPutGroupOptions:
		return "options of group " + o.Options.Group
	case opClearExtensionRouting:
		return "clear routing of extension " + o.Key
	case opClearGroupRouting:
		return "clear routing of group " + o.Key
	case opPutCallback:
		return "callback " + o.Callback.UUID
	case opDeleteCallback:
		return "delete callback " + o.Key
	case opPutAgentStats:
		return "stats of agent " + o.Stats.Ext
	}
	return fmt.Sprintf("op kind %d", o.Kind)
}

// UpsertExtension queues store.UpsertExtension.
func (j *Journal) UpsertExtension(e store.Extension) {
	j.enqueue(&op{Kind: opUpsertExtension, Ext: &e})
}

// DeleteExtension queues store.DeleteExtension.
func (j *Journal) DeleteExtension(number string) {
	j.enqueue(&op{Kind: opDeleteExtension, Key: number})
}

// UpsertGroup queues store.UpsertGroup.
func (j *Journal) UpsertGroup(g store.Group) { j.enqueue(&op{Kind: opUpsertGroup, Group: &g}) }

// DeleteGroup queues store.DeleteGroup.
func (j *Journal) DeleteGroup(number string) { j.enqueue(&op{Kind: opDeleteGroup, Key: number}) }

// SetCurrentExt queues store.SetCurrentExt.
func (j *Journal) SetCurrentExt(group, ext string) {
	j.enqueue(&op{Kind: opSetCurrentExt, Key: group, Arg: ext})
}

// ReplaceMemberships queues store.ReplaceMemberships; groups is copied.
func (j *Journal) ReplaceMemberships(ext string, groups []string) {
	j.enqueue(&op{Kind: opReplaceMemberships, Key: ext, Groups: append([]string(nil), groups...)})
}

// AddListEntry queues store.AddListEntry.
func (j *Journal) AddListEntry(l store.ListEntry) { j.enqueue(&op{Kind: opAddListEntry, List: &l}) }

// RemoveListEntry queues store.RemoveListEntry.
func (j *Journal) RemoveListEntry(l store.ListEntry) {
	j.enqueue(&op{Kind: opRemoveListEntry, List: &l})
}

// PutMemory queues store.PutMemory.
func (j *Journal) PutMemory(m store.Memory) { j.enqueue(&op{Kind: opPutMemory, Memory: &m}) }

// InsertCDR queues store.InsertCDR; NoAnswerAgents is copied.
func (j *Journal) InsertCDR(c event.CDR) {
	c.NoAnswerAgents = append([]string(nil), c.NoAnswerAgents...)
	if len(c.NoAnswerAgents) == 0 {
		c.NoAnswerAgents = nil
	}
	j.enqueue(&op{Kind: opInsertCDR, CDR: &c})
}

// PutPendingCDR queues store.PutPendingCDR of node's c; NoAnswerAgents is
// copied. (A journal file of before this names no node: its CDRs are
// emitted by the first node to start, as they were.)
func (j *Journal) PutPendingCDR(node string, c event.CDR) {
	c.NoAnswerAgents = append([]string(nil), c.NoAnswerAgents...)
	if len(c.NoAnswerAgents) == 0 {
		c.NoAnswerAgents = nil
	}
	j.enqueue(&op{Kind: opPutPendingCDR, Arg: node, CDR: &c})
}

// DeletePendingCDR queues store.DeletePendingCDR.
func (j *Journal) DeletePendingCDR(uuid string) {
	j.enqueue(&op{Kind: opDeletePendingCDR, Key: uuid})
}

// AppendAgentLog queues store.AppendAgentLog, giving a an ID first when it
// has none so that a retry or a replay cannot add the row twice.
func (j *Journal) AppendAgentLog(a store.AgentLog) {
	if a.ID == "" {
		a.ID = store.NewID()
	}
	j.enqueue(&op{Kind: opAppendAgentLog, Log: &a})
}
