module byron.local/e2e-probe

go 1.22
