package cluster

import (
	"crypto/tls"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// RedisConfig says how to reach the pool's Redis: one address, or a
// Sentinel master name with the sentinels' addresses.
type RedisConfig struct {
	Addrs      []string // host:port; with MasterName, the sentinels
	MasterName string   // Sentinel's name for the master; "" = plain Redis
	Username   string
	Password   string
	// SentinelPassword authenticates to the sentinels themselves; "" = Password.
	SentinelPassword string
	DB               int
	TLS              *tls.Config // nil = plain TCP
	DialTimeout      time.Duration
	IOTimeout        time.Duration
}

// NewClient opens a go-redis client for the pool. Nothing is dialled yet.
func NewClient(c RedisConfig) (redis.UniversalClient, error) {
	if len(c.Addrs) == 0 {
		return nil, errors.New("cluster: no Redis address")
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = 2 * time.Second
	}
	if c.IOTimeout <= 0 {
		c.IOTimeout = 2 * time.Second
	}
	sp := c.SentinelPassword
	if sp == "" && c.MasterName != "" {
		sp = c.Password
	}
	return redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs:            c.Addrs,
		MasterName:       c.MasterName,
		Username:         c.Username,
		Password:         c.Password,
		SentinelPassword: sp,
		DB:               c.DB,
		TLSConfig:        c.TLS,
		DialTimeout:      c.DialTimeout,
		ReadTimeout:      c.IOTimeout,
		WriteTimeout:     c.IOTimeout,
		// A script is run once: a retry after a timeout could apply it twice.
		MaxRetries:      -1,
		Protocol:        2,
		DisableIdentity: true,
		MaintNotificationsConfig: &maintnotifications.Config{
			Mode: maintnotifications.ModeDisabled,
		},
	}), nil
}
