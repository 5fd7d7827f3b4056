#!/usr/bin/env node
// Entry point: the compiled CLI lives in dist/ (built on `npm install`).
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
