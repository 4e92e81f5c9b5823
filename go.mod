module porthunter

go 1.24
