// Prints "N passed, M failed[, K skipped]" from vitest's JUnit report, so CI sees what ran
// (a run that executed no test prints "0 passed, 0 failed"). Exit code 1 when the report is missing.
import { existsSync, readFileSync } from 'node:fs';

const path = process.argv[2] ?? 'test-results/junit.xml';
if (!existsSync(path)) {
  console.log('0 passed, 0 failed');
  console.error(`no test report at ${path}: the test run did not finish`);
  process.exit(1);
}
const xml = readFileSync(path, 'utf8');
const sum = (attribute) =>
  [...xml.matchAll(new RegExp(`<testsuite\\s[^>]*\\b${attribute}="(\\d+)"`, 'g'))].reduce((total, match) => total + Number(match[1]), 0);
const tests = sum('tests');
const failed = sum('failures') + sum('errors');
const skipped = sum('skipped');
console.log(`${tests - failed - skipped} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
