from_file = "a, b"
