#!/bin/bash
set -euo pipefail
echo "second user script"
