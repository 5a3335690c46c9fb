package sim

import (
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/session"
)

// switchAPI is what engineBoard needs of the switch.
type switchAPI interface {
	API(cmd, args string) (string, error)
}

// engineBoard drives an *acd.Engine as a Board: Steps become Directives,
// DWake and DKill decisions become uuid_break and uuid_kill.
type engineBoard struct {
	e     *acd.Engine
	sw    switchAPI
	dials map[string]string
}

func newEngineBoard(cfg acd.Config, clock acd.Clock, sw switchAPI) *engineBoard {
	return &engineBoard{e: acd.New(cfg, clock), sw: sw, dials: map[string]string{}}
}

var resultVars = map[acd.Result][][2]string{}

func init() {
	for _, r := range []acd.Result{acd.ResultAnswered, acd.ResultBlacklisted, acd.ResultAbandoned,
		acd.ResultGaveUp, acd.ResultTimeout, acd.ResultNoGroup} {
		resultVars[r] = [][2]string{{"nwayacd_result", string(r)}}
	}
}

func (b *engineBoard) directive(st acd.Step, err error) session.Directive {
	b.flush()
	if err != nil {
		return session.Directive{Action: session.Hangup, Cause: "NORMAL_TEMPORARY_FAILURE"}
	}
	ms := int(st.Timeout / time.Millisecond)
	switch st.Kind {
	case acd.StepPlay:
		return session.Directive{Action: session.Play, File: st.File, Loops: st.Loops}
	case acd.StepWait:
		return session.Directive{Action: session.Wait, File: st.File, Loops: st.Loops, TimeoutMS: ms}
	case acd.StepOffer:
		dial := st.Dial
		if dial == "" {
			if dial = b.dials[st.Agent]; dial == "" {
				dial = "user/" + st.Agent
				b.dials[st.Agent] = dial
			}
		}
		return session.Directive{Action: session.Offer, Dial: dial, Agent: st.Agent, TimeoutMS: ms}
	case acd.StepHangup:
		return session.Directive{Action: session.Hangup, File: st.File, Cause: st.Cause, Vars: resultVars[st.Result]}
	}
	return session.Directive{Action: session.Done, Vars: resultVars[st.Result]}
}

// flush turns the engine's decisions into switch commands.
func (b *engineBoard) flush() {
	for _, d := range b.e.Decisions() {
		switch d.Kind {
		case acd.DWake:
			_, _ = b.sw.API("uuid_break", d.Call.UUID)
		case acd.DKill:
			if d.Call.AgentUUID != "" {
				_, _ = b.sw.API("uuid_kill", d.Call.AgentUUID)
			}
		}
	}
}

func (b *engineBoard) Enter(c session.Call) session.Directive {
	st, err := b.e.Enter(acd.CallIn{UUID: c.UUID, Group: c.Group, Number: c.CallerNumber, Level: acd.Level(c.Level)})
	return b.directive(st, err)
}

func (b *engineBoard) Next(uuid string) session.Directive {
	st, err := b.e.Next(uuid)
	return b.directive(st, err)
}

func (b *engineBoard) OfferResult(r session.OfferResult) {
	_ = b.e.OfferResult(r.UUID, r.Agent, acd.Outcome(r.Outcome), r.AgentUUID)
	b.flush()
}

func (b *engineBoard) BridgeEnded(uuid string) { _ = b.e.BridgeEnded(uuid); b.flush() }
func (b *engineBoard) Leave(uuid string)       { b.e.Leave(uuid); b.flush() }
func (b *engineBoard) Tick()                   { b.e.Tick(); b.flush() }

func (b *engineBoard) NextDeadline() (time.Time, bool) { return b.e.NextDeadline() }

func (b *engineBoard) AddExtension(ext, job string) error {
	return b.e.AddExtension(acd.ExtensionSpec{Extension: ext, JobNumber: job, JobEnabled: true})
}

func (b *engineBoard) AddGroup(number string, mode acd.Mode) error {
	return b.e.AddGroup(acd.GroupSpec{Number: number, Mode: mode})
}

func (b *engineBoard) SetRegistered(ext string, reged bool) error {
	err := b.e.SetRegistered(ext, reged)
	b.flush()
	return err
}

func (b *engineBoard) Login(ext string, groups []string) error {
	err := b.e.Login(ext, groups)
	b.flush()
	return err
}

func (b *engineBoard) SetReady(ext string) error { err := b.e.SetReady(ext); b.flush(); return err }
func (b *engineBoard) SetBusy(ext string) error  { err := b.e.SetBusy(ext); b.flush(); return err }
