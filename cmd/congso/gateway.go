package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/congso/congso/internal/app"
	"github.com/congso/congso/internal/config"
	"github.com/congso/congso/internal/gateway"
	"github.com/congso/congso/internal/platform/db"
)

const gatewayUsage = `usage:
  congso gateway verify [-archive FILE] [-key BASE64]... [-tsa-ca FILE]
                                                          prove the message log's integrity (hash chains, signed
                                                          Merkle roots, RFC 3161 time-stamps); exit 1 on any tampering
  congso gateway export                                   write the message log as a verifiable archive to standard output
  congso gateway doctor                                   check certificates, clock skew, peers, database, configuration age
  congso gateway keygen                                   print a new signing key (PKCS#8 PEM) for CONGSO_GATEWAY_SIGNING_KEY
  congso gateway retire NODE                              take a stopped node out of service for good: sign the records it
                                                          left unsigned (with CONGSO_GATEWAY_SIGNING_KEY) and drop it
                                                          from the node list
  congso gateway bind-client CLIENT_ID SUBSYSTEM          let an OAuth client of the SSO call as a subsystem (bearer tokens)`

type keyList []string

func (k *keyList) String() string     { return strings.Join(*k, ",") }
func (k *keyList) Set(v string) error { *k = append(*k, v); return nil }

func cmdGateway(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{gatewayUsage}
	}
	action, rest := args[0], args[1:]
	if action == "keygen" {
		pem, err := gateway.GenerateKeyPEM()
		if err != nil {
			return err
		}
		_, err = stdout.Write(pem)
		return err
	}
	var archive, tsaCA string
	var keys keyList
	cfg, pos, err := loadConfig("gateway "+action, rest, stderr, func(fs *flag.FlagSet, _ *config.Config) {
		if action == "verify" {
			fs.StringVar(&archive, "archive", "", "verify this exported archive instead of the database")
			fs.Var(&keys, "key", "a trusted public signing key (base64 PKIX DER); repeat for several; default: the keys in the log")
			fs.StringVar(&tsaCA, "tsa-ca", "", "PEM file of the CAs the time-stamp authority must chain to (default: CONGSO_GATEWAY_TSA_CA; none: stamps' own signatures only)")
		}
	})
	if err != nil {
		return err
	}
	ctx := context.Background()
	opt := gateway.VerifyOptions{Trusted: keys}
	if action == "verify" && len(keys) == 0 {
		fmt.Fprintln(stderr, "note: no -key given: the keys stored in the log are trusted; this finds accidents and inconsistent edits, not someone able to write the database. Pin each node's public key with -key for an independent check.")
	}
	if action == "verify" {
		if tsaCA == "" {
			tsaCA = os.Getenv("CONGSO_GATEWAY_TSA_CA")
		}
		if tsaCA != "" {
			b, err := os.ReadFile(tsaCA)
			if err != nil {
				return err
			}
			if opt.TSARoots, err = gateway.ParseCertsPEM(b); err != nil {
				return err
			}
		}
	}
	if action == "verify" && archive != "" {
		f, err := os.Open(archive)
		if err != nil {
			return err
		}
		defer f.Close()
		rep, err := gateway.VerifyWith(f, opt)
		return verifyReport(stdout, rep, err)
	}
	d, err := db.Open(ctx, cfg.DatabaseURL, db.Options{})
	if err != nil {
		return err
	}
	defer d.Close()
	switch action {
	case "verify":
		rep, err := gateway.VerifyDBWith(ctx, d, opt)
		return verifyReport(stdout, rep, err)
	case "export":
		return gateway.Export(ctx, d, stdout)
	case "doctor":
		s, err := app.GatewaySettingsFromEnv(os.Getenv)
		if err != nil {
			return err
		}
		dc := gateway.DoctorConfig{DB: d, PollInterval: s.Poll, Node: s.Node, JournalDir: s.Journal, Instance: s.Instance, WebhookHTTP: s.WebhookHTTP}
		if s.Journal == "" {
			dc.JournalDir = filepath.Join(cfg.DataDir, "gateway-journal")
		} else if s.Journal == "off" {
			dc.JournalDir = ""
		}
		if s.TLSCert != "" {
			cert, err := tls.LoadX509KeyPair(s.TLSCert, s.TLSKey)
			if err != nil {
				return fmt.Errorf("gateway certificate: %w", err)
			}
			for _, der := range cert.Certificate {
				c, err := x509.ParseCertificate(der)
				if err != nil {
					return err
				}
				dc.Certificate = append(dc.Certificate, c)
			}
		}
		if s.ClientCA != "" {
			pem, err := os.ReadFile(s.ClientCA)
			if err != nil {
				return err
			}
			dc.Roots = x509.NewCertPool()
			dc.Roots.AppendCertsFromPEM(pem)
		}
		if s.TLSCert != "" {
			// Peers are asked as the gateway asks them: with its
			// certificate, their servers verified against the CA bundle.
			cert, err := tls.LoadX509KeyPair(s.TLSCert, s.TLSKey)
			if err != nil {
				return fmt.Errorf("gateway certificate: %w", err)
			}
			dc.PeerClient = &http.Client{Transport: gateway.NewTransport(&tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: dc.Roots,
				MinVersion: tls.VersionTLS12})}
		}
		if s.TSAURL != "" {
			pem, err := os.ReadFile(s.TSACA)
			if err != nil {
				return err
			}
			roots, err := gateway.ParseCertsPEM(pem)
			if err != nil {
				return err
			}
			dc.TSA = &gateway.TSAConfig{URL: s.TSAURL, Roots: roots}
		}
		checks := gateway.Doctor(ctx, dc)
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		bad := false
		for _, c := range checks {
			fmt.Fprintf(w, "%s\t%s\t%s\n", c.Health, c.Name, c.Detail)
			bad = bad || c.Health == gateway.Fail
		}
		w.Flush()
		if bad {
			return errors.New("gateway doctor found problems")
		}
		return nil
	case "retire":
		if len(pos) != 1 {
			return usageError{gatewayUsage}
		}
		s, err := app.GatewaySettingsFromEnv(os.Getenv)
		if err != nil {
			return err
		}
		if s.SigningKey == "" {
			return errors.New("gateway retire signs with CONGSO_GATEWAY_SIGNING_KEY: set it (a node's key, or one that verify is given with -key)")
		}
		keyPEM := []byte(s.SigningKey)
		if !strings.Contains(s.SigningKey, "-----BEGIN") {
			if keyPEM, err = os.ReadFile(s.SigningKey); err != nil {
				return fmt.Errorf("gateway signing key: %w", err)
			}
		}
		key, err := gateway.ParseKeyPEM(keyPEM)
		if err != nil {
			return fmt.Errorf("gateway signing key: %w", err)
		}
		opt := gateway.RetireOptions{LiveFor: max(5*s.Poll, 10*time.Second), JournalDir: filepath.Join(cfg.DataDir, "gateway-journal")}
		if s.Journal == "off" {
			opt.JournalDir = ""
		} else if s.Journal != "" {
			opt.JournalDir = s.Journal
		}
		r, err := gateway.RetireNode(ctx, d, pos[0], key, opt)
		if err != nil {
			return err
		}
		if r.Signed > 0 {
			fmt.Fprintf(stdout, "node %s: records %d–%d were not signed; now signed as one batch with key %s\n", r.Node, r.FirstSeq, r.LastSeq, key.ID)
		}
		if len(r.DamagedSegments) > 0 {
			fmt.Fprintf(stderr, "warning: node %s's journal has damaged segments kept aside (records after the damage never reached the log): %s\n", r.Node, strings.Join(r.DamagedSegments, ", "))
		}
		fmt.Fprintf(stdout, "node %s retired: its message log (%d records) is closed and signed", r.Node, r.Records)
		if r.Listed {
			fmt.Fprint(stdout, "; it is no longer in the node list")
		}
		fmt.Fprintln(stdout)
		return nil
	case "bind-client":
		if len(pos) != 2 {
			return usageError{gatewayUsage}
		}
		if _, err := gateway.ParseSubsystemID(pos[1]); err != nil {
			return fmt.Errorf("subsystem %q: %w", pos[1], err)
		}
		m := gateway.NewManager(gateway.NewStore(d, nil), nil)
		if err := m.PutCertificate(ctx, "cli", gateway.Certificate{Fingerprint: app.OAuthBindingFingerprint(pos[0]), Owner: pos[1],
			Subject: "OAuth client " + pos[0]}); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "OAuth client %s now calls the gateway as %s\n", pos[0], pos[1])
		return nil
	}
	return usageError{gatewayUsage}
}

func verifyReport(stdout io.Writer, rep gateway.Report, err error) error {
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "records %d, signed batches %d, not yet signed %d\n", rep.Records, rep.Batches, rep.Unsigned)
	if rep.Stamps > 0 {
		fmt.Fprintf(stdout, "time-stamped: %d records under %d stamps, the newest at %s\n", rep.Stamped, rep.Stamps, rep.LastStamp.Format(time.RFC3339))
	}
	for _, p := range rep.Problems {
		fmt.Fprintln(stdout, "PROBLEM:", p)
	}
	if !rep.OK() {
		return errors.New("message log integrity broken")
	}
	fmt.Fprintln(stdout, "message log intact")
	return nil
}
