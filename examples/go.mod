module example.com/unleak/examples

go 1.22
