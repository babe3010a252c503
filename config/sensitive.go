package config

import "strings"

// sensitiveParts are the parts of a key that make its value a secret:
// Flink's list (GlobalConfiguration's SENSITIVE_KEYS) and "credentials".
var sensitiveParts = []string{
	"password", "secret", "token", "apikey", "api-key", "api_key", "credentials",
	"fs.azure.account.key", "auth-params", "service-key", "basic-auth", "jaas.config", "http-headers",
}

// HiddenValue is what is shown in place of the value of a sensitive key.
const HiddenValue = "******"

// Sensitive reports whether the value of key is a secret that must not be
// shown (by the REST API's /jobmanager/config) nor logged: whether the
// key, in lower case, contains one of Flink's sensitive parts, "password",
// "secret", "token", "apikey", "api-key", "credentials" and a few more.
//
// The rule is one substring match, without exceptions: a key that names
// a file holding a secret, such as rest.authentication.token-file, is
// sensitive too. Its value is only a path, but it tells where the secret
// lies, and no client needs it; a rule with exceptions is one that a new
// key slips through.
func Sensitive(key string) bool {
	k := strings.ToLower(key)
	for _, p := range sensitiveParts {
		if strings.Contains(k, p) {
			return true
		}
	}
	return false
}

// Masked is values with the value of every Sensitive key replaced by
// HiddenValue; values is not changed.
func Masked(values map[string]string) map[string]string {
	out := make(map[string]string, len(values))
	for k, v := range values {
		if Sensitive(k) {
			v = HiddenValue
		}
		out[k] = v
	}
	return out
}
