#!/usr/bin/env node
// The operator CLI, from dist/ when built and current, else from the sources (see entry.js).
import { importEntry } from './entry.js';

const { runCli } = await importEntry('cli');
process.exitCode = await runCli(process.argv.slice(2));
