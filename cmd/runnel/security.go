package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/runnel-io/runnel/cluster/security"
	"github.com/runnel-io/runnel/examples/jobs"
)

// The security command holds what helps secure a cluster: today, the
// certificates that security.ssl.internal.* and security.ssl.rest.* name.
func newSecurityCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "security create-certificates",
		Short: "Create the certificates that secure a cluster with TLS",
	}
	var dir, hosts string
	create := &cobra.Command{
		Use:   "create-certificates --dir DIR --hosts HOST[,HOST...]",
		Short: "Write a new CA and a certificate per host (server and client) as PEM files",
		Long: "Write a new certificate authority (DIR/ca.pem, DIR/ca-key.pem) and, for each\n" +
			"host, a certificate it signed for server and client use (DIR/HOST.pem,\n" +
			"DIR/HOST-key.pem), valid for a year. A host is a DNS name or an IP address;\n" +
			"localhost also covers 127.0.0.1 and ::1. Keys are readable by their owner only,\n" +
			"and no file is overwritten. Each host's files are its security.ssl.*.cert and\n" +
			"security.ssl.*.key; ca.pem is the trust of every host. Keep ca-key.pem apart.",
		Args: usage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				return jobs.UsageError{Err: errors.New("runnel security create-certificates: --dir is required")}
			}
			var list []string
			for _, h := range strings.Split(hosts, ",") {
				if h = strings.TrimSpace(h); h != "" {
					list = append(list, h)
				}
			}
			if len(list) == 0 {
				return jobs.UsageError{Err: errors.New("runnel security create-certificates: --hosts names no host")}
			}
			certs, err := security.CreateCertificates(dir, list)
			if err != nil {
				return fmt.Errorf("runnel security create-certificates: %w", err)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "CA: %s (its key: %s)\n", certs.CA, certs.CAKey)
			for _, h := range certs.Hosts {
				fmt.Fprintf(w, "%s: %s, key %s\n", h.Host, h.Cert, h.Key)
			}
			fmt.Fprintf(w, "\nOn each host, for example for %s:\n", certs.Hosts[0].Host)
			for _, kind := range []string{"internal", "rest"} {
				fmt.Fprintf(w, "  security.ssl.%s.enabled: true\n", kind)
				fmt.Fprintf(w, "  security.ssl.%s.cert: %s\n", kind, certs.Hosts[0].Cert)
				fmt.Fprintf(w, "  security.ssl.%s.key: %s\n", kind, certs.Hosts[0].Key)
				fmt.Fprintf(w, "  security.ssl.%s.trust: %s\n", kind, certs.CA)
			}
			return nil
		},
	}
	create.Flags().StringVar(&dir, "dir", "", "`directory` to write the PEM files to (created if missing)")
	create.Flags().StringVar(&hosts, "hosts", "", "comma-separated `hosts` (names or addresses) to create certificates for")
	cmd.AddCommand(create)
	return cmd
}
