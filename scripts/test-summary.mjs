#!/usr/bin/env node
// Prints vitest's JSON report as one plain closing line ("Tests: N passed, N failed, N skipped"),
// the form CI logs read; exits non-zero if any test failed or none ran.
import { readFileSync } from 'node:fs';

const path = process.argv[2] ?? 'test-output/vitest.json';
const r = JSON.parse(readFileSync(path, 'utf8'));
const skipped = r.numPendingTests + r.numTodoTests;
console.log(`Tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
process.exit(r.numFailedTests > 0 || r.numPassedTests === 0 ? 1 : 0);
