package node

import (
	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/service"
)

// durableService is the service as REST drives it: a change is refused
// while the journal cannot take it, and answered (2xx) only once the
// journal holds it on disk, so an acknowledged change survives kill -9.
// Call control (hold, transfer …) persists nothing and passes through.
type durableService struct {
	*service.Service
	n *Node
}

func (d durableService) change(fn func() error) error {
	if err := d.n.journal.Admit(); err != nil {
		return acd.Errorf(acd.ErrUnavailable, "change refused, nothing was changed: %v", err)
	}
	if err := fn(); err != nil {
		return err
	}
	if err := d.n.sync(); err != nil {
		return acd.Errorf(acd.ErrUnavailable, "%v", err)
	}
	return nil
}

func (d durableService) Login(ext string, groups []string) error {
	return d.change(func() error { return d.Service.Login(ext, groups) })
}

func (d durableService) Logout(ext string) error {
	return d.change(func() error { return d.Service.Logout(ext) })
}

func (d durableService) SetReady(ext string) error {
	return d.change(func() error { return d.Service.SetReady(ext) })
}

func (d durableService) SetBusy(ext string) error {
	return d.change(func() error { return d.Service.SetBusy(ext) })
}

func (d durableService) SetCallState(ext string, st acd.CallState) error {
	return d.change(func() error { return d.Service.SetCallState(ext, st) })
}

func (d durableService) SetDialString(ext, dial string) error {
	return d.change(func() error { return d.Service.SetDialString(ext, dial) })
}
