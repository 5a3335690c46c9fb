package writeback

import (
	"context"
	"fmt"

	"github.com/nwayacd/mod_nwayacd/go/store"
)

// applyRouting writes a routing op; a target without store.RoutingWriter
// refuses it for good (retrying cannot help).
func (o *op) applyRouting(ctx context.Context, t any) error {
	rw, ok := t.(store.RoutingWriter)
	if !ok {
		return fmt.Errorf("%w: %s: the store does not keep routing settings", store.ErrRejected, o.name())
	}
	switch o.Kind {
	case opPutMemberConfig:
		return rw.PutMemberConfig(ctx, *o.MemberCfg)
	case opPutSkill:
		return rw.PutSkill(ctx, *o.Skill)
	case opDeleteSkill:
		return rw.DeleteSkill(ctx, o.Key, o.Arg)
	case opPutGroupOptions:
		return rw.PutGroupOptions(ctx, *o.Options)
	case opClearExtensionRouting:
		return rw.ClearExtensionRouting(ctx, o.Key)
	case opClearGroupRouting:
		return rw.ClearGroupRouting(ctx, o.Key)
	}
	return fmt.Errorf("%w: journal op kind %d is not a routing op", store.ErrRejected, o.Kind)
}

// PutMemberConfig queues store.RoutingWriter.PutMemberConfig.
func (j *Journal) PutMemberConfig(m store.MemberConfig) {
	j.enqueue(&op{Kind: opPutMemberConfig, MemberCfg: &m})
}

// PutSkill queues store.RoutingWriter.PutSkill.
func (j *Journal) PutSkill(s store.Skill) { j.enqueue(&op{Kind: opPutSkill, Skill: &s}) }

// DeleteSkill queues store.RoutingWriter.DeleteSkill.
func (j *Journal) DeleteSkill(ext, name string) {
	j.enqueue(&op{Kind: opDeleteSkill, Key: ext, Arg: name})
}

// PutGroupOptions queues store.RoutingWriter.PutGroupOptions.
func (j *Journal) PutGroupOptions(o store.GroupOptions) {
	j.enqueue(&op{Kind: opPutGroupOptions, Options: &o})
}

// ClearExtensionRouting queues store.RoutingWriter.ClearExtensionRouting.
func (j *Journal) ClearExtensionRouting(ext string) {
	j.enqueue(&op{Kind: opClearExtensionRouting, Key: ext})
}

// ClearGroupRouting queues store.RoutingWriter.ClearGroupRouting.
func (j *Journal) ClearGroupRouting(group string) {
	j.enqueue(&op{Kind: opClearGroupRouting, Key: group})
}
