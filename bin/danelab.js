#!/usr/bin/env node
// The `danelab` command: runs the compiled CLI (build with `npm run build`; `npm install` builds it too).
import "../dist/cli/main.js";
