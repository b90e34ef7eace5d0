package app

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"

	"github.com/congso/congso/internal/catalog"
	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/platform/search"
)

// demoAccount is a named demo login printed at start-up.
type demoAccount struct {
	username, name, roleLabel string
	kind                      identity.PersonKind
	role                      identity.Role
	unit                      string // unit e-ID; "" = province-wide
	agency                    string // the unit's agency e-ID
	title                     string
	personalID                string
}

// The construction department is the demo's main processing agency; its
// division and office e-IDs follow the catalog's demo numbering.
const (
	demoConstruction       = "000.00.07.H99" // Sở Xây dựng
	demoConstructionOffice = "000.01.07.H99" // Văn phòng Sở Xây dựng
	demoConstructionDiv    = "000.02.07.H99" // Phòng Quản lý hoạt động xây dựng
	demoCenterDesk         = "000.01.13.H99" // Bộ phận Tiếp nhận và Trả kết quả
	demoCenter             = catalog.DemoCenterEID
)

var demoAccounts = []demoAccount{
	{"admin", "Quản Trị Hệ Thống", "quản trị hệ thống / system administrator", identity.KindOfficial, identity.RoleSysadmin, "", "", "Quản trị hệ thống", ""},
	{"danhmuc", "Lê Thị Danh Mục", "quản trị danh mục / catalog administrator", identity.KindOfficial, identity.RoleCatalogAdmin, "", "", "Chuyên viên Phòng Kiểm soát TTHC", ""},
	{"lanhdao", "Phạm Minh Lãnh", "lãnh đạo tỉnh / provincial leader (viewer)", identity.KindOfficial, identity.RoleLeader, "", "", "Phó Chủ tịch UBND tỉnh", ""},
	{"motcua", "Nguyễn Thị Mai", "cán bộ một cửa / one-stop officer", identity.KindOfficial, identity.RoleOfficer, demoCenterDesk, demoCenter, "Cán bộ tiếp nhận", ""},
	{"truongphong", "Trần Văn Hùng", "trưởng phòng / head of division (Sở Xây dựng)", identity.KindOfficial, identity.RoleDivisionHead, demoConstructionDiv, demoConstruction, "Trưởng phòng", ""},
	{"chuyenvien", "Võ Thị Lan", "chuyên viên thụ lý / handler (Sở Xây dựng)", identity.KindOfficial, identity.RoleHandler, demoConstructionDiv, demoConstruction, "Chuyên viên", ""},
	{"giamdoc", "Đặng Quốc Bảo", "giám đốc sở / agency head (Sở Xây dựng)", identity.KindOfficial, identity.RoleAgencyHead, demoConstruction, demoConstruction, "Giám đốc Sở", ""},
	// The clerk works in the office but numbers and stamps for the agency, where
	// the process puts the issuing step: the role is granted on the agency.
	{"vanthu", "Hoàng Thị Thu", "văn thư / clerk (Sở Xây dựng)", identity.KindOfficial, identity.RoleClerk, demoConstruction, demoConstruction, "Văn thư", ""},
	{"congdan", "Nguyễn Văn Dân", "công dân / citizen", identity.KindApplicant, "", "", "", "", "099201001234"},
}

func init() {
	for _, a := range demoAccounts {
		demoLogins = append(demoLogins, DemoLogin{Username: a.username, Password: DemoPassword, Role: a.roleLabel})
	}
}

var (
	demoFamily = []string{"Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý"}
	demoMiddle = []string{"Văn", "Thị", "Minh", "Ngọc", "Quốc", "Thanh", "Hữu", "Thu", "Đức", "Kim"}
	demoGiven  = []string{"An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Hải", "Hạnh", "Khoa", "Lan", "Linh", "Long", "Nam", "Nga", "Phúc", "Quân", "Sơn", "Tâm", "Thảo", "Trang", "Tuấn", "Uyên", "Việt", "Yến"}
)

// loadDemoStaff creates the named demo logins (named) and, for every demo unit,
// staff in the roles that unit needs (bulk: reception: one-stop officers;
// divisions: a head and a handler; offices: a clerk; each agency: its head).
// Only the named logins get a password; the others exist for assignment lists
// and can be given one by an administrator. It is idempotent per account.
func (a *App) loadDemoStaff(ctx context.Context, named, bulk bool) error {
	type job struct {
		username, name, password, personalID, unit, agency, title string
		kind                                                      identity.PersonKind
		role                                                      identity.Role
	}
	// One hash for the shared demo password instead of one per account.
	demoHash, err := identity.HashPassword(DemoPassword, identity.DefaultPasswordParams)
	if err != nil {
		return err
	}
	var jobs []job
	for _, d := range demoAccounts {
		if named {
			jobs = append(jobs, job{d.username, d.name, demoHash, d.personalID, d.unit, d.agency, d.title, d.kind, d.role})
		}
	}
	n := 0
	heads := map[string]bool{demoConstruction: true}
	for _, u := range catalog.DemoUnits() {
		var roles []identity.Role
		var title string
		switch u.Purpose {
		case catalog.PurposeReception:
			roles, title = []identity.Role{identity.RoleOfficer, identity.RoleOfficer}, "Cán bộ tiếp nhận"
		case catalog.PurposeOffice:
			roles, title = []identity.Role{identity.RoleClerk}, "Văn thư"
		default:
			roles = []identity.Role{identity.RoleDivisionHead, identity.RoleHandler}
		}
		if u.EID == demoConstructionDiv || u.EID == demoConstructionOffice || !bulk {
			roles = nil // the named logins hold these
		}
		for _, r := range roles {
			t := title
			if t == "" {
				t = map[identity.Role]string{identity.RoleDivisionHead: "Trưởng phòng", identity.RoleHandler: "Chuyên viên"}[r]
			}
			n++
			unit := u.EID
			if r == identity.RoleClerk {
				unit = u.AgencyEID // clerks issue for the agency (see vanthu)
			}
			jobs = append(jobs, job{fmt.Sprintf("cb%03d", n), demoName(n), "", "", unit, u.AgencyEID, t, identity.KindOfficial, r})
		}
		if bulk && !heads[u.AgencyEID] {
			heads[u.AgencyEID] = true
			n++
			jobs = append(jobs, job{fmt.Sprintf("cb%03d", n), demoName(n), "", "", u.AgencyEID, u.AgencyEID, "Thủ trưởng cơ quan", identity.KindOfficial, identity.RoleAgencyHead})
		}
	}
	// A few workers overlap the per-account work; the database serialises the
	// writes.
	work := make(chan job)
	errs := make(chan error, len(jobs))
	var wg sync.WaitGroup
	for i := 0; i < runtime.NumCPU()+1; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				errs <- a.demoPerson(ctx, j.username, j.name, j.password, j.kind, j.personalID, j.role, j.unit, j.agency, j.title)
			}
		}()
	}
	for _, j := range jobs {
		work <- j
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func demoName(n int) string {
	return demoFamily[n%len(demoFamily)] + " " + demoMiddle[(n/3)%len(demoMiddle)] + " " + demoGiven[(n*7)%len(demoGiven)]
}

func (a *App) demoPerson(ctx context.Context, username, name, passwordHash string, kind identity.PersonKind, personalID string, role identity.Role, unit, agency, title string) error {
	svc := a.Identity
	// Idempotent per account, so an interrupted load completes on the next start.
	if _, err := svc.PersonByUsername(ctx, username); err == nil {
		return nil
	} else if !errors.Is(err, identity.ErrNotFound) {
		return err
	}
	email := strings.ReplaceAll(search.Fold(username), " ", "") + "@demo.congso.vn"
	p, err := svc.CreatePerson(ctx, nil, identity.NewPerson{Kind: kind, Username: username, FullName: name, Email: email,
		PersonalID: personalID, PasswordHash: passwordHash})
	if err != nil {
		return fmt.Errorf("demo account %s: %w", username, err)
	}
	if role == "" {
		return nil
	}
	if _, err := svc.Grant(ctx, nil, p.ID, role, unit); err != nil {
		return fmt.Errorf("demo grant %s: %w", username, err)
	}
	if unit != "" {
		if _, err := svc.AddPosition(ctx, nil, p.ID, identity.NewPosition{Title: title, UnitID: unit, AgencyID: agency}); err != nil {
			return fmt.Errorf("demo position %s: %w", username, err)
		}
	}
	return nil
}
