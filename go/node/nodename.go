package node

import (
	"os"

	"github.com/nwayacd/mod_nwayacd/go/config"
)

// nodeName names this node on what it keeps in a shared database (pending
// callbacks): its host name, else its cti-ip, as the sequencer names it.
func nodeName(cfg config.Config) string {
	node, err := os.Hostname()
	if err != nil || node == "" {
		node = cfg.CTIIP
	}
	return node
}

// nodeID names this node on its pending CDRs and callbacks: its cluster-node-id in
// cluster mode (cluster nodes may share a host), else its nodeName.
func nodeID(cfg config.Config) string {
	if cfg.Cluster.Enabled() {
		return cfg.Cluster.Node
	}
	return nodeName(cfg)
}
