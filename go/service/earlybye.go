package service

import (
	"net/netip"
	"sync"

	"github.com/nwayacd/mod_nwayacd/go/hep"
)

// Early BYE. FreeSWITCH hands an agent's BYE to the leg's session thread,
// which takes it at its next media frame: about 20 ms pass before any module
// hears that the agent hung up, and a caller waiting for that agent waits
// them too. sofia-sip mirrors every SIP message to a capture server (HEP3)
// the moment it arrives; with Options.SIPCapture the node listens for that
// mirror (Capture) and ends the bridge on the agent's BYE itself, exactly as
// the leg's CHANNEL_HANGUP would have, which then changes nothing.
//
// Only the agent legs the service dialled are followed, by their SIP
// Call-ID, which the service chose (sip_invite_call_id = the leg's uuid):
// a BYE for any other dialog is ignored. A BYE counts only on its way into
// the switch (to the address our INVITE left from), and not after a REFER
// on the dialog (the phone transferred the caller: the session reports the
// transfer). What the switch itself would accept (a BYE with the dialog's
// Call-ID) is what is acted on, no less.

// CaptureMethods are the SIP methods Capture acts on; the capture listener
// has the kernel drop every other message (hep.AttachFilter).
var CaptureMethods = []string{"INVITE", "REFER", "BYE"}

// legWatch is one agent leg's dialog as the capture shows it.
type legWatch struct {
	call     string
	fs       netip.AddrPort // the switch's side: where our INVITE left from
	referred bool
}

type byeWatch struct {
	mu     sync.Mutex
	legs   map[string]*legWatch // by Call-ID (the leg's uuid)
	byCall map[string][]string  // a call's legs, so its end needs no scan
}

// maxWatchedLegs bounds the legs followed (each ends with its hang-up).
const maxWatchedLegs = 1 << 16

func (s *Service) watchLeg(leg, call string) {
	w := &s.bye
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.legs == nil {
		w.legs, w.byCall = map[string]*legWatch{}, map[string][]string{}
	}
	// The same offer is dialled twice over (the early offer, then the woken
	// session taking it over): what the capture showed of it stays.
	if lw := w.legs[leg]; lw != nil && lw.call == call {
		return
	}
	if len(w.legs) < maxWatchedLegs {
		w.remove(leg)
		w.legs[leg] = &legWatch{call: call}
		w.byCall[call] = append(w.byCall[call], leg)
	}
}

// remove forgets leg. Called with mu held.
func (w *byeWatch) remove(leg string) {
	lw := w.legs[leg]
	if lw == nil {
		return
	}
	delete(w.legs, leg)
	rest := w.byCall[lw.call][:0]
	for _, l := range w.byCall[lw.call] {
		if l != leg {
			rest = append(rest, l)
		}
	}
	if len(rest) == 0 {
		delete(w.byCall, lw.call)
	} else {
		w.byCall[lw.call] = rest
	}
}

func (s *Service) unwatchLeg(leg string) {
	w := &s.bye
	w.mu.Lock()
	w.remove(leg)
	w.mu.Unlock()
}

// unwatchCall forgets the legs of a call that is over (a leg whose
// originate failed before it had a channel never reports a hang-up).
func (s *Service) unwatchCall(call string) {
	w := &s.bye
	w.mu.Lock()
	for _, leg := range w.byCall[call] {
		delete(w.legs, leg)
	}
	delete(w.byCall, call)
	w.mu.Unlock()
}

// Capture takes one packet of the switch's SIP capture (HEP3). Called from
// the node's capture listener; never from a FreeSWITCH thread.
func (s *Service) Capture(pkt []byte) {
	s.captured.Add(1)
	p, err := hep.Parse(pkt)
	if err != nil {
		s.captureBad.Add(1)
		return
	}
	h, ok := hep.SIPHead(p.Payload)
	if !ok || h.Method == "" {
		return
	}
	w := &s.bye
	w.mu.Lock()
	lw := w.legs[h.CallID]
	fire := false
	if lw != nil {
		switch h.Method {
		case "INVITE":
			if !lw.fs.IsValid() {
				lw.fs = p.Src
			}
		case "REFER":
			lw.referred = true
		case "BYE":
			fire = lw.fs.IsValid() && p.Dst == lw.fs && !lw.referred
			if fire {
				w.remove(h.CallID)
			}
		}
	}
	w.mu.Unlock()
	if fire {
		s.earlyBye(lw.call, h.CallID)
	}
}

// earlyBye ends the bridge of call with its agent leg leg, as that leg's
// CHANNEL_HANGUP does.
func (s *Service) earlyBye(call, leg string) {
	s.lock()
	defer s.unlock()
	if s.calls[call] == nil {
		return
	}
	if s.eng.AgentLegEnded(call, leg, false) {
		s.earlyByes.Add(1)
	}
}

// SetCaptureReader names, for status, what reads the capture for Capture
// (the switch's event reader, or a goroutine of the node's).
func (s *Service) SetCaptureReader(by string) { s.captureBy.Store(&by) }

// EarlyByes counts the bridges ended by an agent's BYE seen in the
// capture, the capture packets taken and those that were not HEP3.
func (s *Service) EarlyByes() (ended, packets, bad uint64) {
	return s.earlyByes.Load(), s.captured.Load(), s.captureBad.Load()
}
