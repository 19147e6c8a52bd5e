package channel

import "crypto/tls"

type tlsConfig struct{ host string }

func (t tlsConfig) config() *tls.Config {
	return &tls.Config{ServerName: t.host, MinVersion: tls.VersionTLS12}
}
