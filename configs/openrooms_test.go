package configs

import "testing"

// TestAuthAppsOpenRooms: auth.apps[].open_rooms loads from a file and defaults to false.
func TestAuthAppsOpenRooms(t *testing.T) {
	file := writeFile(t, `auth:
  dev_mode: true
  apps:
    - sdk_app_id: 1400000007
      secret: an-app-secret-of-thirty-two-bytes
      open_rooms: true
    - sdk_app_id: 1400000008
      secret: another-app-secret-of-32-bytes!!
`)
	cfg, err := load(file, nil, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Auth.Apps) != 2 || !cfg.Auth.Apps[0].OpenRooms || cfg.Auth.Apps[1].OpenRooms {
		t.Fatalf("auth.apps = %+v, want open_rooms true then false", cfg.Auth.Apps)
	}
	for _, app := range Default().Auth.Apps {
		if app.OpenRooms {
			t.Fatalf("default app %d has open_rooms", app.SDKAppID)
		}
	}
}
