// Command mod_nwayacd is built with -buildmode=c-archive and linked into the
// FreeSWITCH module by mod/module.mk. It holds only the C entry points of
// include/nwayacd.h; each forwards to package bridge, which recovers panics.
// (nwayacd_channel_event is plain C in go/bridge/ring.c: events never enter
// the Go runtime on FreeSWITCH's thread.)
package main

/*
#cgo CFLAGS: -I${SRCDIR}/../../../include
#define NWAYACD_NO_PROTOTYPES
#include <stdlib.h>
#include "nwayacd.h"
*/
import "C"

import (
	"runtime"
	"unsafe"

	"github.com/nwayacd/mod_nwayacd/go/bridge"
)

func init() { bridge.SetFactory(newHandler) }

// pin marks the calling FreeSWITCH thread as locked for the call, so that a
// thread the Go runtime makes meanwhile comes from its template thread, not
// a clone of this realtime one (runtime.newm; the shim starts Go's own
// threads SCHED_OTHER with a coarse timer slack). Use: defer pin()().
func pin() func() {
	runtime.LockOSThread()
	return runtime.UnlockOSThread
}

//export nwayacd_start
func nwayacd_start(host *C.nwayacd_host_t, kv **C.char, nkv C.int, err *C.char, errlen C.size_t) C.int {
	defer pin()()
	return C.int(bridge.Start(unsafe.Pointer(host), unsafe.Pointer(kv), int(nkv), unsafe.Pointer(err), int(errlen)))
}

//export nwayacd_stop
func nwayacd_stop() {
	defer pin()()
	bridge.Stop()
}

//export nwayacd_api
func nwayacd_api(name, args *C.char) *C.char {
	defer pin()()
	return (*C.char)(bridge.API(unsafe.Pointer(name), unsafe.Pointer(args)))
}

//export nwayacd_reload
func nwayacd_reload(kv **C.char, nkv C.int) *C.char {
	defer pin()()
	return (*C.char)(bridge.Reload(unsafe.Pointer(kv), int(nkv)))
}

//export nwayacd_names
func nwayacd_names(list *C.char) *C.char {
	defer pin()()
	return (*C.char)(bridge.Names(unsafe.Pointer(list)))
}

//export nwayacd_enter
func nwayacd_enter(call *C.nwayacd_call_t, out *C.nwayacd_directive_t) C.int {
	defer pin()()
	return C.int(bridge.Enter(unsafe.Pointer(call), unsafe.Pointer(out)))
}

//export nwayacd_next
func nwayacd_next(uuid *C.char, out *C.nwayacd_directive_t) C.int {
	defer pin()()
	return C.int(bridge.Next(unsafe.Pointer(uuid), unsafe.Pointer(out)))
}

//export nwayacd_offer_result
func nwayacd_offer_result(r *C.nwayacd_offer_result_t) {
	defer pin()()
	bridge.OfferResult(unsafe.Pointer(r))
}

//export nwayacd_transferring
func nwayacd_transferring(uuid, dest *C.char) {
	defer pin()()
	bridge.Transferring(unsafe.Pointer(uuid), unsafe.Pointer(dest))
}

//export nwayacd_bridge_ended
func nwayacd_bridge_ended(uuid *C.char) {
	defer pin()()
	bridge.BridgeEnded(unsafe.Pointer(uuid))
}

//export nwayacd_leave
func nwayacd_leave(uuid *C.char) {
	defer pin()()
	bridge.Leave(unsafe.Pointer(uuid))
}

func main() {}
