package config

import "testing"

func TestSensitive(t *testing.T) {
	for key, want := range map[string]bool{
		"rest.authentication.token-file":           true,
		"security.ssl.rest.key-password":           true,
		"s3.secret-key":                            true,
		"metrics.reporter.dd.apikey":               true,
		"metrics.reporter.x.api-key":               true,
		"gcs.Credentials":                          true,
		"fs.azure.account.key.acc.blob":            true,
		"env.java.opts.http-headers":               true,
		"SECURITY.KERBEROS.LOGIN.PASSWORD":         true,
		"rest.port":                                false,
		"security.ssl.rest.key":                    false,
		"security.ssl.rest.trust":                  false,
		"security.ssl.rest.cert":                   false,
		"state.savepoints.dir":                     false,
		"security.ssl.rest.authentication-enabled": false,
	} {
		if got := Sensitive(key); got != want {
			t.Errorf("Sensitive(%q) = %v, want %v", key, got, want)
		}
	}
	in := map[string]string{"rest.port": "8081", "s3.secret-key": "hunter2"}
	out := Masked(in)
	if out["rest.port"] != "8081" || out["s3.secret-key"] != HiddenValue {
		t.Errorf("Masked = %v", out)
	}
	if in["s3.secret-key"] != "hunter2" {
		t.Errorf("Masked changed its argument: %v", in)
	}
}
