package gateway

import (
	"net/url"
	"strings"
	"time"
)

// snapshot is the registry as a node serves it: indexed for the request
// path and never modified after it is built (a new one replaces it).
type snapshot struct {
	reg        *Registry
	loadedAt   time.Time
	services   map[string]*Service      // unversioned service id
	certs      map[string]Certificate   // fingerprint
	subsystems map[string]*Subsystem    // subsystem id
	members    map[string]*Member       // member id
	rights     map[string][]AccessRight // service id
	groupsOf   map[string][]string      // client id → "group:CODE"
	quotas     map[string]Quota         // client|service
	peers      map[string]Peer          // instance
	backends   map[string]*url.URL      // backend URL as registered → parsed
}

func newSnapshot(r *Registry, now time.Time) *snapshot {
	s := &snapshot{reg: r, loadedAt: now,
		services: map[string]*Service{}, certs: map[string]Certificate{}, subsystems: map[string]*Subsystem{},
		members: map[string]*Member{}, rights: map[string][]AccessRight{}, groupsOf: map[string][]string{},
		quotas: map[string]Quota{}, peers: map[string]Peer{}, backends: map[string]*url.URL{}}
	for i := range r.Services {
		s.services[r.Services[i].ID.String()] = &r.Services[i]
		for _, v := range r.Services[i].Versions {
			if u, err := url.Parse(v.BackendURL); err == nil {
				s.backends[v.BackendURL] = u
			}
		}
	}
	for _, c := range r.Certificates {
		s.certs[c.Fingerprint] = c
	}
	for i := range r.Subsystems {
		s.subsystems[r.Subsystems[i].ID.String()] = &r.Subsystems[i]
	}
	for i := range r.Members {
		s.members[r.Members[i].ID.String()] = &r.Members[i]
	}
	for _, a := range r.Rights {
		k := a.Service.String()
		s.rights[k] = append(s.rights[k], a)
	}
	for _, g := range r.Groups {
		for _, m := range g.Members {
			s.groupsOf[m.String()] = append(s.groupsOf[m.String()], GroupPrefix+g.Code)
		}
	}
	for _, q := range r.Quotas {
		s.quotas[q.Client.String()+"|"+q.Service.String()] = q
	}
	for _, p := range r.Peers {
		s.peers[p.Instance] = p
	}
	return s
}

// allowed reports whether client cs may call method on path of the
// (unversioned) service us at now.
func (s *snapshot) allowed(cs, us, method, path string, now time.Time) bool {
	groups := s.groupsOf[cs]
	rights := s.rights[us]
	for i := range rights {
		a := &rights[i]
		if a.Client != cs {
			if !strings.HasPrefix(a.Client, GroupPrefix) || !contains(groups, a.Client) {
				continue
			}
		}
		if a.Allows(method, path, now) {
			return true
		}
	}
	return false
}

// allowedServices lists the services client may call at least partly.
func (s *snapshot) allowedServices(client ClientID, now time.Time) []*Service {
	var out []*Service
	cs := client.String()
	groups := s.groupsOf[cs]
	for i := range s.reg.Services {
		sv := &s.reg.Services[i]
		for _, a := range s.rights[sv.ID.String()] {
			if (a.Client == cs || contains(groups, a.Client)) && !now.Before(a.ValidFrom) && (a.ValidUntil == nil || now.Before(*a.ValidUntil)) {
				out = append(out, sv)
				break
			}
		}
	}
	return out
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
