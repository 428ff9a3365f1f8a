module github.com/libsecdet/libsecdet/examples/go

go 1.24

require github.com/libsecdet/libsecdet/bindings/go v0.0.0

// The binding from this checkout (no network needed). Outside the
// repository, drop this line and require a released version.
replace github.com/libsecdet/libsecdet/bindings/go => ../../bindings/go
