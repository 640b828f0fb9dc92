#!/usr/bin/env node
// `npm start`: the bot, from dist/ when built and current, else from the sources (see entry.js).
import { importEntry } from './entry.js';

const { run } = await importEntry('main');
await run();
