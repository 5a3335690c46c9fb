package api

// JSONRaw lets the external tests (package api_test) build the same hostile
// bodies as the internal ones.
var JSONRaw = jsonEscapeRaw
