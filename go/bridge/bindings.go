package bridge

import "github.com/nwayacd/mod_nwayacd/go/session"

// The shim's applications and event bindings are declared here and written
// into include/nwayacd_commands.h by go generate (see shimgen), with the API
// commands of console.Commands: the C side never keeps a list of its own.

//go:generate go run ./shimgen -o ../../include/nwayacd_commands.h

// Application is a dialplan application the shim registers.
type Application struct {
	Name   string
	Kind   session.Kind
	Args   int    // words the shim requires before it enters Go
	Syntax string // arguments only, as FreeSWITCH's `show application` prints it
	Short  string
	Long   string
}

// Applications are the shim's dialplan applications, in registration order.
var Applications = []Application{
	{Name: "nwayacd", Kind: session.Queue, Args: 1, Syntax: "<group>",
		Short: "queue a call", Long: "Queue the call into an nwayacd group until an agent answers."},
	{Name: "nwaycallout", Kind: session.Callout, Args: 3, Syntax: "<number> <gateway> <group>",
		Short: "outbound call for a group", Long: "Call an outside number via a gateway, accounted to a group."},
	{Name: "nway_bridge", Kind: session.Direct, Args: 1, Syntax: "<extension>",
		Short: "bridge to an agent", Long: "Bridge to an agent's extension, keeping its agent state, events and CDR."},
}

// EventBinding is one switch_event_bind of the shim: the FreeSWITCH event
// (its switch_event_types_t name and, for CUSTOM, the subclass) and the
// session.EventKind the shim stamps on its blocks.
type EventBinding struct {
	Kind     session.EventKind
	Event    string // switch_event_types_t constant
	Subclass string // SWITCH_EVENT_CUSTOM only
}

// EventBindings are the events the module consumes; every EventKind exactly
// once (TestEventBindingsCoverEveryKind).
var EventBindings = []EventBinding{
	{session.ChannelCreate, "SWITCH_EVENT_CHANNEL_CREATE", ""},
	{session.ChannelProgress, "SWITCH_EVENT_CHANNEL_PROGRESS", ""},
	{session.ChannelProgressMedia, "SWITCH_EVENT_CHANNEL_PROGRESS_MEDIA", ""},
	{session.ChannelAnswer, "SWITCH_EVENT_CHANNEL_ANSWER", ""},
	{session.ChannelBridge, "SWITCH_EVENT_CHANNEL_BRIDGE", ""},
	{session.ChannelUnbridge, "SWITCH_EVENT_CHANNEL_UNBRIDGE", ""},
	{session.ChannelHold, "SWITCH_EVENT_CHANNEL_HOLD", ""},
	{session.ChannelUnhold, "SWITCH_EVENT_CHANNEL_UNHOLD", ""},
	{session.ChannelDTMF, "SWITCH_EVENT_DTMF", ""},
	{session.ChannelPark, "SWITCH_EVENT_CHANNEL_PARK", ""},
	{session.ChannelUnpark, "SWITCH_EVENT_CHANNEL_UNPARK", ""},
	{session.PlaybackStart, "SWITCH_EVENT_PLAYBACK_START", ""},
	{session.PlaybackStop, "SWITCH_EVENT_PLAYBACK_STOP", ""},
	{session.ChannelHangup, "SWITCH_EVENT_CHANNEL_HANGUP", ""},
	{session.ChannelHangupComplete, "SWITCH_EVENT_CHANNEL_HANGUP_COMPLETE", ""},
	{session.ChannelDestroy, "SWITCH_EVENT_CHANNEL_DESTROY", ""},
	{session.SIPRegister, "SWITCH_EVENT_CUSTOM", "sofia::register"},
	{session.SIPUnregister, "SWITCH_EVENT_CUSTOM", "sofia::unregister"},
	{session.SIPExpire, "SWITCH_EVENT_CUSTOM", "sofia::expire"},
}
