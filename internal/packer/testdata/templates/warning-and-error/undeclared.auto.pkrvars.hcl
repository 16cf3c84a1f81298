undeclared = "1"
