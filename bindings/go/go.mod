module github.com/libsecdet/libsecdet/bindings/go

go 1.24
