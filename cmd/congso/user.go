package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/congso/congso/internal/config"
	"io"
	"strings"

	"github.com/congso/congso/internal/app"
	"github.com/congso/congso/internal/identity"
)

const userUsage = `usage:
  congso user create -username U -name "Full Name" [-kind official|applicant] [-email E] [-phone P] [-password-stdin]
  congso user grant -username U -role ROLE [-unit UNIT_ID]      (no -unit: province-wide)
  congso user revoke -username U -role ROLE [-unit UNIT_ID]
  congso user reset-password -username U [-password-stdin]      (otherwise a random one is printed)
  congso user list [-q TEXT]
roles: officer, division_head, handler, agency_head, clerk, catalog_admin, sysadmin, leader`

func cmdUser(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{userUsage}
	}
	action, rest := args[0], args[1:]
	var username, name, kind, email, phone, role, unit, q string
	var pwStdin bool
	cfg, _, err := loadConfig("user "+action, rest, stderr, func(fs *flag.FlagSet, _ *config.Config) {
		fs.StringVar(&username, "username", "", "account name")
		fs.StringVar(&name, "name", "", "full name")
		fs.StringVar(&kind, "kind", "official", "official or applicant")
		fs.StringVar(&email, "email", "", "e-mail address")
		fs.StringVar(&phone, "phone", "", "phone number")
		fs.StringVar(&role, "role", "", "role to grant or revoke")
		fs.StringVar(&unit, "unit", "", "unit id the role applies to (empty: whole province)")
		fs.StringVar(&q, "q", "", "search text")
		fs.BoolVar(&pwStdin, "password-stdin", false, "read the password from the first line of standard input")
	})
	if err != nil {
		return err
	}
	ctx := context.Background()
	a, err := app.Open(ctx, cfg, newLogger(cfg, io.Discard))
	if err != nil {
		return err
	}
	defer a.Close()
	svc := a.Identity
	readPassword := func() (string, error) {
		if !pwStdin {
			return "", nil
		}
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", err
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	person := func() (identity.Person, error) {
		if username == "" {
			return identity.Person{}, usageError{"-username is required"}
		}
		p, err := svc.PersonByUsername(ctx, username)
		if errors.Is(err, identity.ErrNotFound) {
			return p, fmt.Errorf("no account %q", username)
		}
		return p, err
	}
	switch action {
	case "create":
		if username == "" || name == "" {
			return usageError{"-username and -name are required"}
		}
		pw, err := readPassword()
		if err != nil {
			return err
		}
		generated := false
		if pw == "" {
			pw, generated = app.RandomPassword(), true
		}
		p, err := svc.CreatePerson(ctx, nil, identity.NewPerson{Kind: identity.PersonKind(kind), Username: username, FullName: name,
			Email: email, Phone: phone, Password: pw, MustChangePassword: generated})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created %s (%s)\n", p.Username, p.ID)
		if generated {
			fmt.Fprintf(stdout, "temporary password (must be changed at first sign-in): %s\n", pw)
		}
	case "grant", "revoke":
		if role == "" {
			return usageError{"-role is required"}
		}
		p, err := person()
		if err != nil {
			return err
		}
		if action == "grant" {
			g, err := svc.Grant(ctx, nil, p.ID, identity.Role(role), unit)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "granted %s to %s (%s)\n", g.Role, p.Username, scope(unit))
			return nil
		}
		full, err := svc.GetPerson(ctx, p.ID)
		if err != nil {
			return err
		}
		for _, g := range full.Grants {
			if string(g.Role) == role && g.UnitID == unit && g.Active() {
				if err := svc.RevokeGrant(ctx, nil, p.ID, g.ID); err != nil {
					return err
				}
				fmt.Fprintf(stdout, "revoked %s from %s (%s)\n", role, p.Username, scope(unit))
				return nil
			}
		}
		return fmt.Errorf("%s holds no active %s grant for %s", p.Username, role, scope(unit))
	case "reset-password":
		p, err := person()
		if err != nil {
			return err
		}
		pw, err := readPassword()
		if err != nil {
			return err
		}
		generated := pw == ""
		if generated {
			pw = app.RandomPassword()
		}
		if err := svc.SetPassword(ctx, nil, p.ID, pw, generated); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "password reset for %s; all its sessions ended\n", p.Username)
		if generated {
			fmt.Fprintf(stdout, "temporary password (must be changed at first sign-in): %s\n", pw)
		}
	case "list":
		page, err := svc.ListPeople(ctx, identity.PeopleFilter{Text: q, Limit: 500})
		if err != nil {
			return err
		}
		for _, p := range page.People {
			fmt.Fprintf(stdout, "%-20s %-10s %-9s %s\n", p.Username, p.Kind, p.Status, p.FullName)
		}
	default:
		return usageError{userUsage}
	}
	return nil
}

func scope(unit string) string {
	if unit == "" {
		return "province-wide"
	}
	return "unit " + unit
}
