package acd

import (
	"strings"
	"time"
)

// CalloutTimeout is how long a callout's outside number may ring.
const CalloutTimeout = 60 * time.Second

// CalloutIn is a phone dialling an outside number through the module
// (nwaycallout <number> <gateway> <group>).
type CalloutIn struct {
	UUID    string // the dialling phone's channel
	Ext     string // its caller number: the agent dialling out, when it is one
	Group   string // the group the call is accounted to
	Target  string // the outside number
	Gateway string
}

// newLeg names the agent leg an offer over dial will create: only a dial
// string that rings exactly one leg can be named in advance.
func (e *Engine) newLeg(dial string) string {
	if e.cfg.NewUUID == nil {
		return ""
	}
	if dial == "" {
		dial = e.cfg.DialTemplate
	}
	if strings.ContainsAny(dial, ",|") || strings.Contains(dial, ":_:") {
		return ""
	}
	return e.cfg.NewUUID()
}

func (e *Engine) directGroup() *group {
	if e.direct == nil {
		e.direct = &group{timeout: e.cfg.DefaultTimeout}
	}
	return e.direct
}

// EnterDirect is a call placed straight to one extension (nway_bridge): no
// queue, but the agent's state, offer events and CDR work as for a queued
// call. An agent already holding another call answers ErrState (busy). A
// transferred call entering again (its transfer route runs nway_bridge)
// continues as this direct call: its target may be the agent it was
// transferred to.
func (e *Engine) EnterDirect(in CallIn, ext string) (Step, error) {
	if err := validUUID(in.UUID); err != nil {
		return Step{}, err
	}
	a, err := e.agent(ext)
	if err != nil {
		return Step{}, err
	}
	c := e.calls[in.UUID]
	if c != nil && c.phase != phaseTransferred {
		return Step{}, Errorf(ErrExists, "call %s is already in a queue", in.UUID)
	}
	if a.call != nil && a.call != c {
		return Step{}, Errorf(ErrState, "extension %s is busy", ext)
	}
	if c != nil {
		e.continueDirect(c, a)
		return e.step(c), nil
	}
	if in.RealNumber == "" {
		in.RealNumber = in.Number
	}
	c = e.newCall()
	*c = call{uuid: in.UUID, number: in.Number, real: in.RealNumber, g: e.directGroup(), in: e.now(), seq: e.gen(),
		level: LevelNormal, kind: kindDirect}
	e.calls[in.UUID] = c
	e.offer(c, a)
	return e.step(c), nil
}

// continueDirect turns transferred call c into a direct offer to a.
func (e *Engine) continueDirect(c *call, a *agent) {
	if old := c.agent; old == a {
		e.release(c) // offered again at once
	} else if old != nil {
		e.dropAgent(c)
	}
	c.kind = kindDirect
	c.g = e.directGroup()
	c.left = false
	e.offer(c, a)
}

// EnterCallout is a phone dialling an outside number (nwaycallout). When the
// phone is an agent's and that agent holds no call, the agent is talking
// from now on and offered nothing until its phone leaves the application;
// otherwise the call goes out all the same. The step rings the outside
// number through the gateway for CalloutTimeout.
func (e *Engine) EnterCallout(in CalloutIn) (Step, error) {
	if err := ValidNumber("number", in.Target); err != nil {
		return Step{}, err
	}
	if err := ValidNumber("gateway", in.Gateway); err != nil {
		return Step{}, err
	}
	if _, err := e.group(in.Group); err != nil {
		return Step{}, err
	}
	if err := validUUID(in.UUID); err != nil {
		return Step{}, err
	}
	if e.calls[in.UUID] != nil {
		return Step{}, Errorf(ErrExists, "call %s is already in a queue", in.UUID)
	}
	now := e.now()
	dial := "sofia/gateway/" + in.Gateway + "/" + in.Target
	c := e.newCall()
	*c = call{uuid: in.UUID, number: in.Target, real: in.Target, g: e.directGroup(), in: now, seq: e.gen(),
		level: LevelNormal, kind: kindCallout, phase: phaseDialing, from: in.Ext, account: in.Group}
	c.legUUID = e.newLeg(dial)
	e.calls[in.UUID] = c
	e.emit(Decision{Kind: DOfferCallout, Ext: in.Ext, Call: c.view(), At: now})
	if a := e.agents[in.Ext]; a != nil && a.call == nil {
		a.call = c
		c.agent = a
		e.setState(a, CallTalking)
	}
	return Step{Kind: StepOffer, Agent: in.Target, Dial: dial, Leg: c.legUUID, Timeout: CalloutTimeout, Outside: true}, nil
}

// calloutResult: the outside number answered, did not, or the dialling
// phone hung up first. The dialling agent stays held until Leave.
func (e *Engine) calloutResult(c *call, target string, o Outcome, legUUID string) error {
	if c.phase != phaseDialing || target != c.number {
		return Errorf(ErrState, "call %s is not dialling %s", c.uuid, target)
	}
	if legUUID != "" {
		c.legUUID = legUUID
	}
	now := e.now()
	switch o {
	case Answered:
		c.phase = phaseBridged
		e.emit(Decision{Kind: DOfferAnswered, Ext: c.from, Call: c.view(), At: now})
	case Canceled:
		// The desk still hears "noanswer"; Result tells the record that the
		// outside party was not at fault.
		v := c.view()
		v.Result = ResultAbandoned
		e.emit(Decision{Kind: DOfferNoAnswer, Ext: c.from, Call: v, At: now})
		e.finish(c, ResultAbandoned)
	default:
		e.emit(Decision{Kind: DOfferNoAnswer, Ext: c.from, Call: c.view(), At: now})
		e.finish(c, ResultNoAnswer)
	}
	return nil
}
