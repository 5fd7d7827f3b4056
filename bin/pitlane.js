#!/usr/bin/env node
// Entry point: the CLI bundle built into dist/bundle on `npm install` (scripts/bundle.mjs).
import { main } from '../dist/bundle/main.js';

process.exitCode = await main(process.argv.slice(2));
