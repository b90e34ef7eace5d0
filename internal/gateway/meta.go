package gateway

import (
	"encoding/json"
	"net/http"
	"strings"
)

// xroadID is an identifier in the JSON of the X-Road REST metadata services.
type xroadID struct {
	Instance    string `json:"xroad_instance"`
	MemberClass string `json:"member_class"`
	MemberCode  string `json:"member_code"`
	Subsystem   string `json:"subsystem_code,omitempty"`
	ServiceCode string `json:"service_code,omitempty"`
	ServiceType string `json:"service_type,omitempty"`
	ObjectType  string `json:"object_type"`
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// listClients answers GET /listClients: the members and subsystems
// registered on this gateway.
func (rt *Runtime) listClients(w http.ResponseWriter, r *http.Request, snap *snapshot) *Fault {
	type client struct {
		ID   xroadID `json:"id"`
		Name string  `json:"name"`
	}
	out := struct {
		Member []client `json:"member"`
	}{Member: []client{}}
	for _, m := range snap.reg.Members {
		out.Member = append(out.Member, client{ID: xroadID{Instance: m.ID.Instance, MemberClass: m.ID.Class, MemberCode: m.ID.Member, ObjectType: "MEMBER"}, Name: m.Name})
	}
	for _, s := range snap.reg.Subsystems {
		name := s.Name
		if m := snap.members[s.ID.MemberID().String()]; m != nil {
			name = m.Name
		}
		out.Member = append(out.Member, client{ID: xroadID{Instance: s.ID.Instance, MemberClass: s.ID.Class, MemberCode: s.ID.Member, Subsystem: s.ID.Subsystem, ObjectType: "SUBSYSTEM"}, Name: name})
	}
	writeJSON(w, out)
	return nil
}

// metaservice answers listMethods, allowedMethods and getOpenAPI of a
// provider subsystem (/r1/{subsystem}/{code}).
func (rt *Runtime) metaservice(w http.ResponseWriter, r *http.Request, snap *snapshot, ex *exchange) *Fault {
	if r.Method != http.MethodGet {
		return fault(http.StatusMethodNotAllowed, FaultBadRequest, "metadata services answer GET only")
	}
	provider := ex.service.Provider
	if snap.subsystems[provider.String()] == nil {
		return fault(http.StatusNotFound, FaultUnknownService, "no subsystem "+provider.String()+" is registered")
	}
	now := rt.cfg.Now()
	var list []*Service
	switch ex.service.Code {
	case "listMethods":
		for i := range snap.reg.Services {
			if snap.reg.Services[i].ID.Provider == provider {
				list = append(list, &snap.reg.Services[i])
			}
		}
	case "allowedMethods":
		for _, s := range snap.allowedServices(ex.client, now) {
			if s.ID.Provider == provider {
				list = append(list, s)
			}
		}
	case "getOpenAPI":
		code := r.URL.Query().Get("serviceCode")
		svc := snap.services[provider.String()+"/"+code]
		if svc == nil || !ValidIDPart(code) {
			return fault(http.StatusNotFound, FaultUnknownService, "no service "+code+" on "+provider.String())
		}
		v, ok := svc.Current()
		if !ok || v.Spec == "" {
			return fault(http.StatusNotFound, FaultUnknownService, "service "+code+" publishes no description")
		}
		if svc.Kind == SOAP {
			w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		} else if strings.HasPrefix(strings.TrimSpace(v.Spec), "{") {
			w.Header().Set("Content-Type", "application/json")
		} else {
			w.Header().Set("Content-Type", "application/yaml")
		}
		_, _ = w.Write([]byte(v.Spec))
		return nil
	}
	out := struct {
		Service []xroadID `json:"service"`
	}{Service: []xroadID{}}
	for _, s := range list {
		if _, ok := s.Current(); !ok {
			continue // drafts and retired services are not listed
		}
		out.Service = append(out.Service, xroadID{Instance: provider.Instance, MemberClass: provider.Class, MemberCode: provider.Member,
			Subsystem: provider.Subsystem, ServiceCode: s.ID.Code, ServiceType: strings.ToUpper(string(s.Kind)), ObjectType: "SERVICE"})
	}
	writeJSON(w, out)
	return nil
}
