package api

// EventLog is an optional part of Service: a stream of complete
// Server-Sent Events frames carrying ids ("id: <seq>"), which replays what
// came after lastID (the Last-Event-ID a reconnecting browser sends).
type EventLog interface {
	SubscribeSSE(lastID string, buf int) (<-chan []byte, func())
}
